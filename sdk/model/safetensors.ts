/**
 * Our own safetensors reader and writer (no dependency): an 8-byte little-endian header length,
 * a JSON header `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {str: str}}`,
 * then the raw little-endian bytes (offsets are relative to the end of the header).
 * Float types (F32 / F16 / BF16 / F64) read as Float32Array; integer and bool types as
 * Int32Array (I64 must fit in 53 bits). Sharded checkpoints use `model.safetensors.index.json`
 * (`{metadata, weight_map: {name: shardFile}}`), as Hugging Face writes them.
 * Every problem is a CheckpointError naming the file and, where there is one, the tensor key.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CheckpointError } from '../runtime/errors';
import { writeFileAtomic } from '../runtime/fsutil';

export const SAFETENSORS_DTYPES = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL'] as const;
export type SafetensorsDtype = (typeof SAFETENSORS_DTYPES)[number];

const BYTES: Record<SafetensorsDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export interface TensorEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  /** [begin, end) byte offsets relative to the start of the data section. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  file: string;
  /** Absolute byte position of the data section (8 + header length). */
  dataStart: number;
  fileSize: number;
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
}

/** A tensor as plain data: float types as Float32Array, integer/bool types as Int32Array. */
export interface TensorData {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array | Int32Array;
}

const MAX_HEADER = 100 * 1024 * 1024;

function isFloat(d: SafetensorsDtype): boolean {
  return d === 'F64' || d === 'F32' || d === 'F16' || d === 'BF16';
}

function openOrThrow(file: string): number {
  if (!fs.existsSync(file)) throw new CheckpointError(`Checkpoint file not found: ${file}`, { file });
  try {
    return fs.openSync(file, 'r');
  } catch (e) {
    throw new CheckpointError(`Cannot open checkpoint file ${file}: ${(e as Error).message}`, { file });
  }
}

function readExact(fd: number, file: string, buf: Uint8Array, position: number, what: string, key?: string): void {
  let got = 0;
  while (got < buf.length) {
    const n = fs.readSync(fd, buf, got, buf.length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  if (got !== buf.length) {
    throw new CheckpointError(
      `Truncated safetensors file ${file}: ${what} needs bytes ${position}..${position + buf.length} but the file ends at ${position + got}`,
      { file, key },
    );
  }
}

/** Parse and validate the header (dtype known, shape × itemsize = byte span, offsets inside the file). */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const fd = openOrThrow(file);
  try {
    const fileSize = fs.fstatSync(fd).size;
    if (fileSize < 8) {
      throw new CheckpointError(`Truncated safetensors file ${file}: ${fileSize} bytes, too short for the 8-byte header length`, { file });
    }
    const lenBuf = Buffer.alloc(8);
    readExact(fd, file, lenBuf, 0, 'the header length');
    const len = Number(lenBuf.readBigUInt64LE(0));
    if (len > MAX_HEADER) throw new CheckpointError(`Invalid safetensors file ${file}: header length ${len} is implausible (not a safetensors file?)`, { file });
    if (8 + len > fileSize) {
      throw new CheckpointError(`Truncated safetensors file ${file}: header of ${len} bytes but the file has only ${fileSize - 8} after the length`, { file });
    }
    const hb = Buffer.alloc(len);
    readExact(fd, file, hb, 8, 'the header');
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(hb.toString('utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new CheckpointError(`Invalid safetensors header in ${file}: not JSON (${(e as Error).message})`, { file });
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json)) {
      throw new CheckpointError(`Invalid safetensors header in ${file}: expected a JSON object`, { file });
    }
    const dataStart = 8 + len;
    const dataSize = fileSize - dataStart;
    const tensors = new Map<string, TensorEntry>();
    let metadata: Record<string, string> = {};
    for (const [key, raw] of Object.entries(json)) {
      if (key === '__metadata__') {
        metadata = (raw ?? {}) as Record<string, string>;
        continue;
      }
      const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      if (!e || typeof e !== 'object') throw new CheckpointError(`Invalid safetensors header in ${file}: entry '${key}' is not an object`, { file, key });
      const dtype = e.dtype as SafetensorsDtype;
      if (!(SAFETENSORS_DTYPES as readonly string[]).includes(String(e.dtype))) {
        throw new CheckpointError(
          `Unknown dtype '${String(e.dtype)}' for tensor '${key}' in ${file}. Must be one of [${SAFETENSORS_DTYPES.join(', ')}]`,
          { file, key },
        );
      }
      const shape = e.shape as number[];
      if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
        throw new CheckpointError(`Invalid shape ${JSON.stringify(e.shape)} for tensor '${key}' in ${file}`, { file, key });
      }
      const off = e.data_offsets as [number, number];
      if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[1] < off[0]) {
        throw new CheckpointError(`Invalid data_offsets ${JSON.stringify(e.data_offsets)} for tensor '${key}' in ${file}`, { file, key });
      }
      const n = shape.reduce((a, b) => a * b, 1);
      if ((off[1] - off[0]) !== n * BYTES[dtype]) {
        throw new CheckpointError(
          `Tensor '${key}' in ${file}: shape [${shape.join(', ')}] of ${dtype} needs ${n * BYTES[dtype]} bytes but data_offsets span ${off[1] - off[0]}`,
          { file, key },
        );
      }
      if (off[1] > dataSize) {
        throw new CheckpointError(
          `Truncated safetensors file ${file}: tensor '${key}' ends at data byte ${off[1]} but the data section has only ${dataSize} bytes`,
          { file, key },
        );
      }
      tensors.set(key, { dtype, shape: shape.slice(), dataOffsets: [off[0], off[1]] });
    }
    return { file, dataStart, fileSize, tensors, metadata };
  } finally {
    fs.closeSync(fd);
  }
}

const f16Table = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) t[h] = s * m * 2 ** -24;
    else if (e === 31) t[h] = m ? NaN : s * Infinity;
    else t[h] = s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return t;
})();

/** Decode raw little-endian bytes of `dtype` into f32 (floats) or i32 (ints, bool). */
export function decodeTensorBytes(bytes: Uint8Array, dtype: SafetensorsDtype, n: number, where: { file: string; key: string }): Float32Array | Int32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32': {
      const out = new Float32Array(n);
      new Uint8Array(out.buffer).set(bytes.subarray(0, n * 4));
      return out;
    }
    case 'F16': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = f16Table[dv.getUint16(i * 2, true)];
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(n);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = dv.getUint16(i * 2, true) << 16;
      return out;
    }
    case 'F64': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
      return out;
    }
    case 'I32': {
      const out = new Int32Array(n);
      new Uint8Array(out.buffer).set(bytes.subarray(0, n * 4));
      return out;
    }
    case 'I64': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = dv.getBigInt64(i * 8, true);
        if (v > 2147483647n || v < -2147483648n) {
          throw new CheckpointError(`Tensor '${where.key}' in ${where.file}: I64 value ${v} at index ${i} does not fit in int32`, where);
        }
        out[i] = Number(v);
      }
      return out;
    }
    case 'I16': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt16(i * 2, true);
      return out;
    }
    case 'I8': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt8(i);
      return out;
    }
    case 'U8':
    case 'BOOL': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = bytes[i];
      return out;
    }
  }
}

/** Read one tensor (only its bytes are read from disk). */
export function readSafetensorsTensor(header: SafetensorsHeader, key: string): TensorData {
  const e = header.tensors.get(key);
  if (!e) {
    throw new CheckpointError(`Tensor '${key}' is not in ${header.file}`, { file: header.file, key });
  }
  const fd = openOrThrow(header.file);
  try {
    const bytes = new Uint8Array(e.dataOffsets[1] - e.dataOffsets[0]);
    readExact(fd, header.file, bytes, header.dataStart + e.dataOffsets[0], `tensor '${key}'`, key);
    const n = e.shape.reduce((a, b) => a * b, 1);
    return { dtype: e.dtype, shape: e.shape.slice(), data: decodeTensorBytes(bytes, e.dtype, n, { file: header.file, key }) };
  } finally {
    fs.closeSync(fd);
  }
}

/** Read every tensor of one file. */
export function readSafetensors(file: string): { tensors: Map<string, TensorData>; metadata: Record<string, string> } {
  const h = readSafetensorsHeader(file);
  const out = new Map<string, TensorData>();
  for (const key of h.tensors.keys()) out.set(key, readSafetensorsTensor(h, key));
  return { tensors: out, metadata: h.metadata };
}

/** A tensor to write. Float32Array → F32 (or `dtype` F16/BF16), Int32Array → I32. */
export interface TensorToWrite {
  shape: number[];
  data: Float32Array | Int32Array;
  dtype?: 'F32' | 'F16' | 'BF16' | 'I32';
}

function f32ToF16(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

function encode(t: TensorToWrite): { dtype: string; bytes: Uint8Array } {
  const dtype = t.dtype ?? (t.data instanceof Int32Array ? 'I32' : 'F32');
  const n = t.data.length;
  if (dtype === 'F32' || dtype === 'I32') {
    const src = dtype === 'F32' && t.data instanceof Int32Array ? Float32Array.from(t.data) : dtype === 'I32' && t.data instanceof Float32Array ? Int32Array.from(t.data) : t.data;
    return { dtype, bytes: new Uint8Array(src.buffer, src.byteOffset, src.byteLength) };
  }
  const out = new Uint8Array(n * 2);
  const dv = new DataView(out.buffer);
  if (dtype === 'F16') {
    for (let i = 0; i < n; i++) dv.setUint16(i * 2, f32ToF16(t.data[i]), true);
  } else {
    const f = Float32Array.from(t.data);
    const u = new Uint32Array(f.buffer);
    for (let i = 0; i < n; i++) {
      const x = u[i];
      // round to nearest even, as torch does
      const r = ((x >>> 16) & 1) + 0x7fff;
      dv.setUint16(i * 2, Number.isNaN(f[i]) ? 0x7fc0 : ((x + r) >>> 16) & 0xffff, true);
    }
  }
  return { dtype, bytes: out };
}

/** Serialise tensors (keys sorted, like the Python library) into one buffer. */
export function encodeSafetensors(tensors: Map<string, TensorToWrite> | Record<string, TensorToWrite>, metadata?: Record<string, string>): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const parts: Uint8Array[] = [];
  let off = 0;
  for (const [key, t] of entries) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new CheckpointError(`Cannot write tensor '${key}': shape [${t.shape.join(', ')}] has ${n} elements but data has ${t.data.length}`, { key });
    const { dtype, bytes } = encode(t);
    header[key] = { dtype, shape: t.shape, data_offsets: [off, off + bytes.length] };
    parts.push(bytes);
    off += bytes.length;
  }
  let hjson = JSON.stringify(header);
  // Pad the header with spaces so the data section starts 8-byte aligned (as the Rust writer does).
  const pad = (8 - ((Buffer.byteLength(hjson) + 8) % 8)) % 8;
  hjson += ' '.repeat(pad);
  const hbytes = Buffer.from(hjson, 'utf8');
  const out = new Uint8Array(8 + hbytes.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hbytes.length), true);
  out.set(hbytes, 8);
  let p = 8 + hbytes.length;
  for (const b of parts) {
    out.set(b, p);
    p += b.length;
  }
  return out;
}

/** Write one safetensors file atomically (temp file + rename). */
export function writeSafetensors(file: string, tensors: Map<string, TensorToWrite> | Record<string, TensorToWrite>, metadata?: Record<string, string>): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

export const SAFETENSORS_INDEX = 'model.safetensors.index.json';
export const SAFETENSORS_SINGLE = 'model.safetensors';

/**
 * The tensors of a checkpoint folder: `model.safetensors`, or the shards named by
 * `model.safetensors.index.json`. Returns key → (header, entry) without reading any data.
 */
export function openCheckpointFolder(dir: string): { files: string[]; lookup: Map<string, SafetensorsHeader> } {
  const single = path.join(dir, SAFETENSORS_SINGLE);
  const index = path.join(dir, SAFETENSORS_INDEX);
  const lookup = new Map<string, SafetensorsHeader>();
  if (fs.existsSync(index)) {
    let idx: { weight_map?: Record<string, string> };
    try {
      idx = JSON.parse(fs.readFileSync(index, 'utf8'));
    } catch (e) {
      throw new CheckpointError(`Invalid ${index}: ${(e as Error).message}`, { file: index });
    }
    if (!idx || typeof idx.weight_map !== 'object' || idx.weight_map === null) {
      throw new CheckpointError(`Invalid ${index}: missing "weight_map" (tensor name → shard file)`, { file: index });
    }
    const headers = new Map<string, SafetensorsHeader>();
    for (const [key, shard] of Object.entries(idx.weight_map)) {
      const f = path.join(dir, shard);
      let h = headers.get(f);
      if (!h) {
        if (!fs.existsSync(f)) throw new CheckpointError(`Shard ${f} named by ${index} for tensor '${key}' is missing`, { file: f, key });
        h = readSafetensorsHeader(f);
        headers.set(f, h);
      }
      if (!h.tensors.has(key)) throw new CheckpointError(`Tensor '${key}' is listed in ${index} but not found in shard ${f}`, { file: f, key });
      lookup.set(key, h);
    }
    return { files: [...headers.keys()], lookup };
  }
  if (!fs.existsSync(single)) {
    throw new CheckpointError(`No checkpoint weights in ${dir}: expected ${SAFETENSORS_SINGLE} or ${SAFETENSORS_INDEX}`, { file: single });
  }
  const h = readSafetensorsHeader(single);
  for (const key of h.tensors.keys()) lookup.set(key, h);
  return { files: [single], lookup };
}

/**
 * Write tensors into `dir` as `model.safetensors`, or as shards of at most `maxShardBytes`
 * plus `model.safetensors.index.json` when they do not fit in one (names like Hugging Face:
 * `model-00001-of-00003.safetensors`). The caller makes the folder write atomic.
 */
export function writeCheckpointTensors(
  dir: string,
  tensors: Map<string, TensorToWrite>,
  opts: { maxShardBytes?: number; metadata?: Record<string, string> } = {},
): string[] {
  const max = opts.maxShardBytes ?? 4 * 1024 ** 3;
  const metadata = opts.metadata ?? { format: 'pt' };
  const keys = [...tensors.keys()].sort();
  const shards: string[][] = [[]];
  let size = 0;
  let total = 0;
  for (const k of keys) {
    const t = tensors.get(k)!;
    const b = t.data.length * (t.dtype === 'F16' || t.dtype === 'BF16' ? 2 : 4);
    if (size > 0 && size + b > max) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1].push(k);
    size += b;
    total += b;
  }
  if (shards.length === 1) {
    writeSafetensors(path.join(dir, SAFETENSORS_SINGLE), tensors, metadata);
    return [SAFETENSORS_SINGLE];
  }
  const names: string[] = [];
  const weightMap: Record<string, string> = {};
  const pad = (i: number) => String(i).padStart(5, '0');
  shards.forEach((ks, i) => {
    const name = `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`;
    const m = new Map<string, TensorToWrite>();
    for (const k of ks) {
      m.set(k, tensors.get(k)!);
      weightMap[k] = name;
    }
    writeSafetensors(path.join(dir, name), m, metadata);
    names.push(name);
  });
  writeFileAtomic(path.join(dir, SAFETENSORS_INDEX), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2) + '\n');
  return names;
}
