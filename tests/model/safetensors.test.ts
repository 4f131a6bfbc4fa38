// Our safetensors reader / writer: dtypes, header layout, sharding, and the errors for broken files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as model from '../../sdk/model';
import { CheckpointError } from '../../sdk/runtime';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-st-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function rawFile(file: string, header: Record<string, unknown>, data: Uint8Array): void {
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  fs.writeFileSync(file, Buffer.concat([len, h, Buffer.from(data)]));
}

function expectError(fn: () => unknown, message: string, key?: string): void {
  try {
    fn();
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, CheckpointError);
    assert.is((e as Error).message, message);
    if (key !== undefined) assert.is((e as CheckpointError).key, key);
  }
}

test('round trip of F32, I32, F16 and BF16 tensors; data 8-byte aligned; keys sorted', () => {
  const f = path.join(tmp, 'a.safetensors');
  const vals = new Float32Array([1, -2.5, 0.099975586, 65504, 3.140625, 0]);
  model.writeSafetensors(
    f,
    {
      z: { shape: [2, 3], data: vals },
      ids: { shape: [3], data: new Int32Array([7, -1, 2147483647]) },
      half: { shape: [6], data: vals, dtype: 'F16' },
      brain: { shape: [6], data: vals, dtype: 'BF16' },
    },
    { format: 'pt' },
  );
  const h = model.readSafetensorsHeader(f);
  assert.is(h.dataStart % 8, 0);
  assert.equal(h.metadata, { format: 'pt' });
  assert.equal([...h.tensors.keys()], ['brain', 'half', 'ids', 'z']);
  assert.equal(h.tensors.get('half')!.dtype, 'F16');
  const r = model.readSafetensors(f).tensors;
  assert.equal(Array.from(r.get('z')!.data), Array.from(vals));
  assert.equal(r.get('z')!.shape, [2, 3]);
  assert.instance(r.get('ids')!.data, Int32Array);
  assert.equal(Array.from(r.get('ids')!.data), [7, -1, 2147483647]);
  // every value above is exact in f16; bf16 keeps 8 significant bits
  assert.equal(Array.from(r.get('half')!.data), Array.from(vals));
  assert.equal(Array.from(r.get('brain')!.data), [1, -2.5, 0.10009765625, 65536, 3.140625, 0]);
});

test('reads F16 / BF16 / I64 / BOOL bytes as the Python library writes them', () => {
  const f = path.join(tmp, 'b.safetensors');
  const data = new Uint8Array(2 * 2 + 2 * 2 + 8 * 2 + 2);
  const dv = new DataView(data.buffer);
  dv.setUint16(0, 0x3c00, true); // f16 1.0
  dv.setUint16(2, 0xc000, true); // f16 -2.0
  dv.setUint16(4, 0x3f80, true); // bf16 1.0
  dv.setUint16(6, 0x4049, true); // bf16 3.140625
  dv.setBigInt64(8, -5n, true);
  dv.setBigInt64(16, 1234567n, true);
  data[24] = 1;
  data[25] = 0;
  rawFile(f, {
    h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] },
    b: { dtype: 'BF16', shape: [2], data_offsets: [4, 8] },
    l: { dtype: 'I64', shape: [2], data_offsets: [8, 24] },
    m: { dtype: 'BOOL', shape: [2], data_offsets: [24, 26] },
  }, data);
  const r = model.readSafetensors(f).tensors;
  assert.equal(Array.from(r.get('h')!.data), [1, -2]);
  assert.equal(Array.from(r.get('b')!.data), [1, 3.140625]);
  assert.equal(Array.from(r.get('l')!.data), [-5, 1234567]);
  assert.equal(Array.from(r.get('m')!.data), [1, 0]);
});

test('missing file', () => {
  const f = path.join(tmp, 'nope.safetensors');
  expectError(() => model.readSafetensorsHeader(f), `Checkpoint file not found: ${f}`);
});

test('truncated file: the tensor that runs past the end is named', () => {
  const f = path.join(tmp, 'c.safetensors');
  model.writeSafetensors(f, { a: { shape: [4], data: new Float32Array(4) }, b: { shape: [4], data: new Float32Array(4) } });
  const full = fs.readFileSync(f);
  fs.writeFileSync(f, full.subarray(0, full.length - 6));
  expectError(() => model.readSafetensorsHeader(f), `Truncated safetensors file ${f}: tensor 'b' ends at data byte 32 but the data section has only 26 bytes`, 'b');
  fs.writeFileSync(f, full.subarray(0, 5));
  expectError(() => model.readSafetensorsHeader(f), `Truncated safetensors file ${f}: 5 bytes, too short for the 8-byte header length`);
  fs.writeFileSync(f, full.subarray(0, 20));
  const hlen = Number(full.readBigUInt64LE(0));
  expectError(() => model.readSafetensorsHeader(f), `Truncated safetensors file ${f}: header of ${hlen} bytes but the file has only 12 after the length`);
});

test('unknown dtype, bad offsets, non-JSON header', () => {
  const f = path.join(tmp, 'd.safetensors');
  rawFile(f, { w: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2));
  expectError(() => model.readSafetensorsHeader(f), `Unknown dtype 'F8_E4M3' for tensor 'w' in ${f}. Must be one of [F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL]`, 'w');
  rawFile(f, { w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8));
  expectError(() => model.readSafetensorsHeader(f), `Tensor 'w' in ${f}: shape [3] of F32 needs 12 bytes but data_offsets span 8`, 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(3n);
  fs.writeFileSync(f, Buffer.concat([len, Buffer.from('{x:')]));
  assert.throws(() => model.readSafetensorsHeader(f), (e: Error) => e instanceof CheckpointError && e.message.startsWith(`Invalid safetensors header in ${f}: not JSON`));
});

test('sharded folders: writeCheckpointTensors splits, openCheckpointFolder reads them back', () => {
  const dir = path.join(tmp, 'sharded');
  fs.mkdirSync(dir);
  const tensors = new Map<string, model.TensorToWrite>();
  for (let i = 0; i < 5; i++) tensors.set(`t${i}`, { shape: [10], data: Float32Array.from({ length: 10 }, (_, j) => i * 10 + j) });
  const files = model.writeCheckpointTensors(dir, tensors, { maxShardBytes: 100 });
  assert.equal(files, ['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors']);
  const idx = JSON.parse(fs.readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8'));
  assert.is(idx.weight_map.t4, 'model-00003-of-00003.safetensors');
  assert.is(idx.metadata.total_size, 200);
  const { lookup } = model.openCheckpointFolder(dir);
  assert.is(lookup.size, 5);
  const t3 = model.readSafetensorsTensor(lookup.get('t3')!, 't3');
  assert.equal(Array.from(t3.data), Array.from({ length: 10 }, (_, j) => 30 + j));
  // a shard named by the index but missing
  fs.rmSync(path.join(dir, files[1]));
  expectError(() => model.openCheckpointFolder(dir), `Shard ${path.join(dir, files[1])} named by ${path.join(dir, 'model.safetensors.index.json')} for tensor 't2' is missing`, 't2');
  const empty = path.join(tmp, 'empty');
  fs.mkdirSync(empty);
  expectError(() => model.openCheckpointFolder(empty), `No checkpoint weights in ${empty}: expected model.safetensors or model.safetensors.index.json`);
});

test('our reader reads the transformers-written fixture', () => {
  const h = model.readSafetensorsHeader(path.join(__dirname, '..', 'fixtures', 'tiny-llava', 'model.safetensors'));
  assert.equal(h.metadata, { format: 'pt' });
  assert.equal(h.tensors.get('language_model.model.layers.0.self_attn.k_proj.weight')!.shape, [24, 48]);
  assert.is(h.tensors.size, 80);
});

test.run();
