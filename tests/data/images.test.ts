import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { data, runtime } from '../../sdk';
import { cleanup, tempDir, tinyDataset } from './helpers';
import { invalid } from '../support';

const tmp = tempDir('images');
const solid = path.join(tmp, 'solid.png');

test.before(async () => {
  await runtime.init();
  await sharp({ create: { width: 50, height: 40, channels: 4, background: { r: 200, g: 100, b: 30, alpha: 1 } } }).png().toFile(solid);
});
test.after(() => cleanup(tmp));

test('CLIP constants', () => {
  assert.equal([...data.CLIP_MEAN], [0.48145466, 0.4578275, 0.40821073]);
  assert.equal([...data.CLIP_STD], [0.26862954, 0.26130258, 0.27577711]);
});

test('a solid colour image: RGB order, CLIP normalisation, [3,H,W], alpha dropped, non-square cropped', async () => {
  data.clearImageCache();
  const t = await data.loadImage(solid, 16);
  assert.equal(t.shape, [3, 16, 16]);
  assert.is(t.dtype, 'float32');
  const v = t.dataSync();
  const want = [200, 100, 30].map((c, k) => (c / 255 - data.CLIP_MEAN[k]) / data.CLIP_STD[k]);
  for (let k = 0; k < 3; k++) {
    for (let i = 0; i < 256; i++) assert.ok(Math.abs(v[k * 256 + i] - want[k]) < 1e-5, `channel ${k} pixel ${i}: ${v[k * 256 + i]} vs ${want[k]}`);
  }
  t.dispose();
});

test('same size: pixels are the decoded bytes, normalised (channel-first)', async () => {
  const dir = await tinyDataset();
  const ds = await data.loadSafeEraser(dir);
  const file = ds.imagePath(ds.train[0].image_path);
  const { data: raw, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  assert.is(info.width, 32);
  const t = await data.loadImage(file, 32);
  const v = t.dataSync();
  let maxErr = 0;
  for (let i = 0; i < 32 * 32; i++) {
    for (let k = 0; k < 3; k++) {
      const want = (raw[i * info.channels + k] / 255 - data.CLIP_MEAN[k]) / data.CLIP_STD[k];
      maxErr = Math.max(maxErr, Math.abs(v[k * 1024 + i] - want));
    }
  }
  assert.ok(maxErr < 1e-5, `max error ${maxErr}`);
  t.dispose();
});

test('bicubic downsizing keeps the mean colour and the LRU cache is keyed by path and size', async () => {
  data.clearImageCache();
  const ds = await data.loadSafeEraser(await tinyDataset());
  const file = ds.imagePath(ds.val[1].image_path);
  const big = await data.loadImage(file, 32);
  const small = await data.loadImage(file, 8);
  assert.equal(small.shape, [3, 8, 8]);
  const m1 = runtime.tf.tidy(() => big.mean([1, 2]).dataSync());
  const m2 = runtime.tf.tidy(() => small.mean([1, 2]).dataSync());
  for (let k = 0; k < 3; k++) assert.ok(Math.abs(m1[k] - m2[k]) < 0.08, `channel ${k}: ${m1[k]} vs ${m2[k]}`);
  assert.equal(data.imageCacheStats().entries, 2);
  assert.is(data.imageCacheStats().misses, 2);
  const again = await data.loadImage(file, 8);
  assert.is(data.imageCacheStats().hits, 1);
  assert.equal(again.dataSync(), small.dataSync());
  // a fresh tensor per call: disposing one does not break the cache
  small.dispose();
  const third = await data.loadImage(file, 8);
  assert.equal(third.dataSync(), again.dataSync());
  runtime.tf.dispose([big, again, third]);
  // the byte limit evicts least recently used entries
  data.setImageCacheLimit(3 * 8 * 8 * 4);
  assert.is(data.imageCacheStats().entries, 1);
  data.setImageCacheLimit(256 * 1024 * 1024);
});

test('loadImages stacks [N,3,H,W] in order and leaks nothing', async () => {
  const ds = await data.loadSafeEraser(await tinyDataset());
  const files = ds.train.slice(0, 5).map((r) => ds.imagePath(r.image_path));
  await runtime.expectNoLeakedTensors(async () => {
    const batch = await data.loadImages(files, 16);
    assert.equal(batch.shape, [5, 3, 16, 16]);
    const one = await data.loadImage(files[3], 16);
    const diff = runtime.tf.tidy(() => batch.slice([3], [1]).squeeze([0]).sub(one).abs().max().dataSync()[0]);
    assert.is(diff, 0);
    runtime.tf.dispose([batch, one]);
  });
});

test('a missing or corrupt file is a DatasetError naming the file', async () => {
  const bad = path.join(tmp, 'bad.png');
  fs.writeFileSync(bad, 'not an image at all');
  for (const f of [bad, path.join(tmp, 'absent.png')]) {
    try {
      await data.loadImage(f, 8);
      assert.unreachable('should throw');
    } catch (e) {
      assert.instance(e, runtime.DatasetError);
      assert.match((e as Error).message, `Cannot read image ${f} (1 problem):\n  - ${f}: not a readable image (`);
    }
  }
});

test('PIL-exact bicubic: resize and CLIP shortest-edge + centre crop match Pillow byte for byte', async () => {
  const fx = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'resize-pil.json'), 'utf8'));
  const src = path.join(__dirname, 'fixtures', fx.source);
  const { data: raw, info } = await sharp(src).raw().toBuffer({ resolveWithObject: true });
  assert.equal([info.width, info.height, info.channels], [40, 30, 3]);
  for (const r of fx.resize) {
    const got = data.resizeBicubic(raw, 40, 30, 3, r.width, r.height);
    assert.ok(Buffer.from(got).equals(Buffer.from(r.rgb, 'base64')), `resize to ${r.width}×${r.height}`);
  }
  for (const c of fx.clip) {
    const want = Buffer.from(c.rgb, 'base64');
    assert.ok(Buffer.from(data.clipResizeCrop(raw, 40, 30, 3, c.size)).equals(want), `clip ${c.size}`);
    // and through loadImage: Pillow's bytes, normalised
    const t = await data.loadImage(src, c.size);
    const v = t.dataSync();
    const hw = c.size * c.size;
    let maxErr = 0;
    for (let i = 0; i < hw; i++) {
      for (let k = 0; k < 3; k++) maxErr = Math.max(maxErr, Math.abs(v[k * hw + i] - (want[i * 3 + k] / 255 - data.CLIP_MEAN[k]) / data.CLIP_STD[k]));
    }
    assert.ok(maxErr < 1e-5, `max error ${maxErr}`);
    t.dispose();
  }
});

test("resize 'sharp' (libvips cubic): same geometry and colours, cached separately", async () => {
  data.clearImageCache();
  const a = await data.loadImage(solid, 12);
  const b = await data.loadImage(solid, 12, { resize: 'sharp' });
  assert.equal(b.shape, [3, 12, 12]);
  assert.is(data.imageCacheStats().entries, 2);
  const diff = runtime.tf.tidy(() => a.sub(b).abs().max().dataSync()[0]);
  assert.ok(diff < 1e-5, `max |pil − sharp| on a solid image = ${diff}`);
  runtime.tf.dispose([a, b]);
  try {
    await data.loadImage(solid, 16, { resize: invalid('lanczos') });
    assert.unreachable('should throw');
  } catch (e) {
    assert.is((e as Error).message, "Unknown resize method 'lanczos'. Must be one of [pil, sharp]");
  }
});

test('bad sizes are refused', async () => {
  try {
    await data.loadImage(solid, 0);
    assert.unreachable('should throw');
  } catch (e) {
    assert.is((e as Error).message, 'image size must be an integer in [1, 4096], got 0');
  }
});

test.run();
