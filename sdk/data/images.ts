/**
 * Images for the model: sharp decodes, resizes with a bicubic kernel (sharp's `cubic`,
 * Catmull-Rom, as PIL's BICUBIC in CLIP's processor) after CLIP's "shortest side, then centre
 * crop" (`fit: 'cover'`), and we normalise with CLIP's mean/std into a [3, H, W] float32 tensor.
 *
 * Fast path: sharp's raw RGB bytes → one Float32Array (CHW, normalised) → `tf.tensor`. The
 * normalised arrays are kept in an LRU cache keyed by path and size; each call returns a fresh
 * tensor the caller owns (dispose it), so the cache never holds tensors.
 */
import sharp from 'sharp';
import { tf } from '../runtime/tf';
import { DatasetError } from '../runtime/errors';

/** tfjs tensor types, named through the SDK's one tf import. */
export type Tensor3D = ReturnType<typeof tf.tensor3d>;
export type Tensor4D = ReturnType<typeof tf.tensor4d>;

export const CLIP_MEAN: readonly [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: readonly [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

/** Byte-bounded LRU cache of normalised CHW arrays. */
class ImageCache {
  private map = new Map<string, Float32Array>();
  private bytes = 0;
  hits = 0;
  misses = 0;
  constructor(public limitBytes: number) {}
  get(key: string): Float32Array | undefined {
    const v = this.map.get(key);
    if (v) {
      this.map.delete(key);
      this.map.set(key, v);
      this.hits++;
    } else this.misses++;
    return v;
  }
  set(key: string, v: Float32Array): void {
    if (v.byteLength > this.limitBytes) return;
    const old = this.map.get(key);
    if (old) {
      this.bytes -= old.byteLength;
      this.map.delete(key);
    }
    this.map.set(key, v);
    this.bytes += v.byteLength;
    this.evict();
  }
  evict(): void {
    while (this.bytes > this.limitBytes && this.map.size > 0) {
      const k = this.map.keys().next().value as string;
      this.bytes -= (this.map.get(k) as Float32Array).byteLength;
      this.map.delete(k);
    }
  }
  clear(): void {
    this.map.clear();
    this.bytes = 0;
    this.hits = 0;
    this.misses = 0;
  }
  stats(): ImageCacheStats {
    return { entries: this.map.size, bytes: this.bytes, limitBytes: this.limitBytes, hits: this.hits, misses: this.misses };
  }
}

export interface ImageCacheStats {
  entries: number;
  bytes: number;
  limitBytes: number;
  hits: number;
  misses: number;
}

const cache = new ImageCache(256 * 1024 * 1024);
const inflight = new Map<string, Promise<Float32Array>>();

/** Cache statistics (entries, bytes, hits, misses). */
export function imageCacheStats(): ImageCacheStats {
  return cache.stats();
}

/** Empty the image cache and reset its counters. */
export function clearImageCache(): void {
  cache.clear();
}

/** Set the cache's size limit in bytes (default 256 MiB; 0 turns caching off). */
export function setImageCacheLimit(bytes: number): void {
  if (!(bytes >= 0)) throw new RangeError(`image cache limit must be ≥ 0 bytes, got ${bytes}`);
  cache.limitBytes = bytes;
  cache.evict();
}

function checkSize(size: number): void {
  if (!Number.isInteger(size) || size < 1 || size > 4096) {
    throw new RangeError(`image size must be an integer in [1, 4096], got ${size}`);
  }
}

/** Convert interleaved RGB(A)/grey bytes into a normalised CHW Float32Array. */
export function normaliseRgb(raw: Uint8Array, width: number, height: number, channels: number): Float32Array {
  const hw = width * height;
  const out = new Float32Array(3 * hw);
  const s0 = 1 / (255 * CLIP_STD[0]), s1 = 1 / (255 * CLIP_STD[1]), s2 = 1 / (255 * CLIP_STD[2]);
  const b0 = CLIP_MEAN[0] / CLIP_STD[0], b1 = CLIP_MEAN[1] / CLIP_STD[1], b2 = CLIP_MEAN[2] / CLIP_STD[2];
  if (channels >= 3) {
    for (let i = 0, p = 0; i < hw; i++, p += channels) {
      out[i] = raw[p] * s0 - b0;
      out[hw + i] = raw[p + 1] * s1 - b1;
      out[2 * hw + i] = raw[p + 2] * s2 - b2;
    }
  } else {
    for (let i = 0, p = 0; i < hw; i++, p += channels) {
      const g = raw[p];
      out[i] = g * s0 - b0;
      out[hw + i] = g * s1 - b1;
      out[2 * hw + i] = g * s2 - b2;
    }
  }
  return out;
}

async function decode(absPath: string, size: number): Promise<Float32Array> {
  let res: { data: Uint8Array; info: { width: number; height: number; channels: number } };
  try {
    res = await sharp(absPath)
      .resize(size, size, { kernel: 'cubic', fit: 'cover', position: 'centre' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new DatasetError(`Cannot read image ${absPath}`, [
      { path: absPath, file: absPath, message: `not a readable image (${(e as Error).message})` },
    ]);
  }
  return normaliseRgb(res.data, res.info.width, res.info.height, res.info.channels);
}

/** The normalised CHW pixels of an image (cached); what `loadImage` wraps in a tensor. */
export async function loadImageData(absPath: string, size: number): Promise<Float32Array> {
  checkSize(size);
  const key = `${size}\u0000${absPath}`;
  const hit = cache.get(key);
  if (hit) return hit;
  let p = inflight.get(key);
  if (!p) {
    p = decode(absPath, size).then(
      (v) => {
        inflight.delete(key);
        cache.set(key, v);
        return v;
      },
      (e) => {
        inflight.delete(key);
        throw e;
      },
    );
    inflight.set(key, p);
  }
  return p;
}

/**
 * Load one image as a [3, size, size] float32 tensor (bicubic, CLIP mean/std). The caller owns
 * the tensor. A missing or corrupt file is a `DatasetError` naming the file.
 */
export async function loadImage(absPath: string, size: number): Promise<Tensor3D> {
  const data = await loadImageData(absPath, size);
  return tf.tensor3d(data, [3, size, size], 'float32');
}

/** Load several images as one [N, 3, size, size] tensor (decoded a few at a time in parallel). */
export async function loadImages(absPaths: readonly string[], size: number, opts: { concurrency?: number } = {}): Promise<Tensor4D> {
  checkSize(size);
  const per = 3 * size * size;
  const out = new Float32Array(absPaths.length * per);
  const width = Math.max(1, opts.concurrency ?? 8);
  let next = 0;
  const worker = async () => {
    while (next < absPaths.length) {
      const i = next++;
      out.set(await loadImageData(absPaths[i], size), i * per);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, absPaths.length) }, worker));
  return tf.tensor4d(out, [absPaths.length, 3, size, size], 'float32');
}

/** Open an image's header with sharp; returns a problem description or undefined when fine. */
export async function probeImage(absPath: string): Promise<string | undefined> {
  try {
    const m = await sharp(absPath).metadata();
    if (!m.width || !m.height) return 'no width/height';
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
