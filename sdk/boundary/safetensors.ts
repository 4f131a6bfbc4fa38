/**
 * A small safetensors reader / writer for the BABERT encoder: an 8-byte little-endian header
 * length, a JSON header `{name: {dtype, shape, data_offsets: [begin, end]}}` (plus an optional
 * `__metadata__`), then the raw little-endian bytes. Floats (F32 / F16 / BF16) are returned as
 * Float32Array, integers (I64 / I32 / I16 / I8 / U8 / BOOL) as Int32Array.
 */
import * as fs from 'fs';
import { CheckpointError } from '../runtime/errors';
import { writeFileAtomic } from '../runtime/fsutil';

export interface RawTensor {
  dtype: string;
  shape: number[];
  data: Float32Array | Int32Array;
}

const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1, F64: 8 };

function f16(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Parse a safetensors buffer. `file` is only used in error messages. */
export function parseSafetensors(buf: Buffer, file = '<buffer>'): Map<string, RawTensor> {
  if (buf.length < 8) throw new CheckpointError(`${file} is not a safetensors file: ${buf.length} bytes, shorter than the 8-byte header length`, { file });
  const hlen = Number(buf.readBigUInt64LE(0));
  if (hlen <= 0 || 8 + hlen > buf.length) {
    throw new CheckpointError(`${file} is not a safetensors file: header length ${hlen} does not fit in ${buf.length} bytes`, { file });
  }
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + hlen).toString('utf8'));
  } catch (e) {
    throw new CheckpointError(`${file} is not a safetensors file: its header is not JSON (${(e as Error).message})`, { file });
  }
  const base = 8 + hlen;
  const out = new Map<string, RawTensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets } = info;
    const width = BYTES[dtype];
    if (!width) throw new CheckpointError(`${file}: tensor '${name}' has dtype ${dtype}; supported: [${Object.keys(BYTES).join(', ')}]`, { key: name, file });
    const n = shape.reduce((a, b) => a * b, 1);
    const [b0, b1] = data_offsets;
    if (b1 - b0 !== n * width || base + b1 > buf.length) {
      throw new CheckpointError(`${file}: tensor '${name}' (${dtype} ${JSON.stringify(shape)}) needs ${n * width} bytes but its offsets span ${b1 - b0}`, { key: name, file });
    }
    const off = base + b0;
    let data: Float32Array | Int32Array;
    if (dtype === 'F32') {
      data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = buf.readFloatLE(off + 4 * i);
    } else if (dtype === 'F64') {
      data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = buf.readDoubleLE(off + 8 * i);
    } else if (dtype === 'F16') {
      data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = f16(buf.readUInt16LE(off + 2 * i));
    } else if (dtype === 'BF16') {
      data = new Float32Array(n);
      const u = new Uint32Array(1);
      const f = new Float32Array(u.buffer);
      for (let i = 0; i < n; i++) {
        u[0] = buf.readUInt16LE(off + 2 * i) << 16;
        data[i] = f[0];
      }
    } else {
      data = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        data[i] =
          dtype === 'I64' ? Number(buf.readBigInt64LE(off + 8 * i)) : dtype === 'I32' ? buf.readInt32LE(off + 4 * i) : dtype === 'I16' ? buf.readInt16LE(off + 2 * i) : dtype === 'I8' ? buf.readInt8(off + i) : buf.readUInt8(off + i);
      }
    }
    out.set(name, { dtype, shape, data });
  }
  return out;
}

export function readSafetensors(file: string): Map<string, RawTensor> {
  if (!fs.existsSync(file)) throw new CheckpointError(`No such safetensors file: ${file}`, { file });
  return parseSafetensors(fs.readFileSync(file), file);
}

/** Write F32 tensors (and I32 for Int32Array data) as a safetensors file, keys sorted. */
export function writeSafetensors(file: string, tensors: Map<string, { shape: number[]; data: Float32Array | Int32Array }>, metadata?: Record<string, string>): void {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  const names = [...tensors.keys()].sort();
  for (const name of names) {
    const t = tensors.get(name)!;
    const bytes = t.data.length * 4;
    header[name] = { dtype: t.data instanceof Int32Array ? 'I32' : 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let hjson = JSON.stringify(header);
  while ((8 + Buffer.byteLength(hjson)) % 8 !== 0) hjson += ' ';
  const hbuf = Buffer.from(hjson, 'utf8');
  const out = Buffer.alloc(8 + hbuf.length + offset);
  out.writeBigUInt64LE(BigInt(hbuf.length), 0);
  hbuf.copy(out, 8);
  let pos = 8 + hbuf.length;
  for (const name of names) {
    const t = tensors.get(name)!;
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, pos);
    pos += t.data.byteLength;
  }
  writeFileAtomic(file, out);
}
