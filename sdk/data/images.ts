/**
 * Images for the model: sharp decodes; the resize follows CLIP's processor (shortest edge to
 * the model's size, centre crop) with bicubic resampling, PIL-exact by default (CLIP / LLaVA
 * preprocess with PIL) or libvips' `cubic` kernel on request (`{resize: 'sharp'}`); then CLIP
 * mean/std normalisation into a [3, H, W] float32 tensor.
 *
 * Fast path: sharp's raw RGB bytes → resize in JS (tiny images: far cheaper than a second
 * libvips pipeline stage) → one Float32Array (CHW, normalised) → `tf.tensor`. The
 * normalised arrays are kept in an LRU cache keyed by path and size; each call returns a fresh
 * tensor the caller owns (dispose it), so the cache never holds tensors.
 */
import sharp from 'sharp';
import { tf, type Tensor3D, type Tensor4D } from '../runtime/tf';
import { DatasetError } from '../runtime/errors';

export type { Tensor3D, Tensor4D } from '../runtime/tf';

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

// ---------------------------------------------------------------------------------------------
// PIL-compatible bicubic resampling (Pillow's Resample.c: antialiased Catmull-Rom, a = −0.5,
// support scaled by the reduction factor, 8-bit fixed-point passes, horizontal then vertical).
// CLIP's image processor and the official LLaVA / SafeEraser code resize with PIL's BICUBIC, so
// this gives the same bytes as the PyTorch side (pinned against Pillow in tests/data/fixtures).

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;

function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

interface Coeffs {
  ksize: number;
  bounds: Int32Array; // [min, count] per output pixel
  kk: Float64Array; // fixed-point integer coefficients (exact in doubles)
}

function precomputeCoeffs(inSize: number, outSize: number): Coeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 2 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Float64Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = bicubic((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < ksize; x++) {
      const v = x < xmax ? (ww !== 0 ? k[x] / ww : k[x]) : 0;
      kk[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * ONE) : Math.trunc(0.5 + v * ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

const HALF = ONE / 2;
const INV_ONE = 1 / ONE;
const coeffCache = new Map<number, Coeffs>();

/** Coefficients per (in, out) size pair, computed once (a dataset has few distinct sizes). */
function coeffsFor(inSize: number, outSize: number): Coeffs {
  const key = inSize * 65536 + outSize;
  let c = coeffCache.get(key);
  if (!c) {
    if (coeffCache.size > 256) coeffCache.clear();
    c = precomputeCoeffs(inSize, outSize);
    coeffCache.set(key, c);
  }
  return c;
}

function clip8(v: number): number {
  if (v <= 0) return 0;
  if (v >= 256 * ONE) return 255;
  return Math.floor(v * INV_ONE);
}

/**
 * Resize interleaved 8-bit pixels (`channels` per pixel) exactly as Pillow's
 * `Image.resize((outW, outH), Image.BICUBIC)` does.
 */
export function resizeBicubic(src: Uint8Array, width: number, height: number, channels: number, outW: number, outH: number): Uint8Array {
  let cur = src;
  let w = width;
  if (outW !== width) {
    const c = coeffsFor(width, outW);
    const out = new Uint8Array(outW * height * channels);
    const { bounds, kk, ksize } = c;
    for (let y = 0; y < height; y++) {
      const row = y * width * channels;
      const orow = y * outW * channels;
      for (let xx = 0; xx < outW; xx++) {
        const xmin = bounds[xx * 2], xmax = bounds[xx * 2 + 1], kb = xx * ksize;
        if (channels === 3) {
          let s0 = HALF, s1 = HALF, s2 = HALF;
          for (let x = 0, p = row + xmin * 3; x < xmax; x++, p += 3) {
            const k = kk[kb + x];
            s0 += cur[p] * k;
            s1 += cur[p + 1] * k;
            s2 += cur[p + 2] * k;
          }
          const o = orow + xx * 3;
          out[o] = clip8(s0);
          out[o + 1] = clip8(s1);
          out[o + 2] = clip8(s2);
        } else {
          for (let ch = 0; ch < channels; ch++) {
            let ss = HALF;
            for (let x = 0; x < xmax; x++) ss += cur[row + (x + xmin) * channels + ch] * kk[kb + x];
            out[orow + xx * channels + ch] = clip8(ss);
          }
        }
      }
    }
    cur = out;
    w = outW;
  }
  if (outH !== height) {
    const { bounds, kk, ksize } = coeffsFor(height, outH);
    const out = new Uint8Array(w * outH * channels);
    const stride = w * channels;
    for (let yy = 0; yy < outH; yy++) {
      const ymin = bounds[yy * 2], ymax = bounds[yy * 2 + 1], kb = yy * ksize;
      const o = yy * stride;
      for (let i = 0; i < stride; i++) {
        let ss = HALF;
        for (let y = 0, p = ymin * stride + i; y < ymax; y++, p += stride) ss += cur[p] * kk[kb + y];
        out[o + i] = clip8(ss);
      }
    }
    cur = out;
  }
  return cur === src ? src.slice() : cur;
}

/**
 * CLIP's processor geometry: resize the shortest edge to `size` (the long edge to
 * ⌊size·long/short⌋) with PIL bicubic, then centre-crop `size`×`size`.
 */
export function clipResizeCrop(src: Uint8Array, width: number, height: number, channels: number, size: number): Uint8Array {
  if (width === size && height === size) return src;
  const short = Math.min(width, height), long = Math.max(width, height);
  const newLong = Math.floor((size * long) / short);
  const nw = width <= height ? size : newLong;
  const nh = width <= height ? newLong : size;
  const resized = resizeBicubic(src, width, height, channels, nw, nh);
  if (nw === size && nh === size) return resized;
  const top = (nh - size) >> 1, left = (nw - size) >> 1;
  const out = new Uint8Array(size * size * channels);
  for (let y = 0; y < size; y++) {
    const from = ((y + top) * nw + left) * channels;
    out.set(resized.subarray(from, from + size * channels), y * size * channels);
  }
  return out;
}

/** How images are resized: 'pil' (default; PIL-exact bicubic in JS after sharp's decode) or 'sharp' (libvips 'cubic'). */
export type ResizeMethod = 'pil' | 'sharp';

export interface ImageOptions {
  resize?: ResizeMethod;
}

function decodeError(absPath: string, e: unknown): DatasetError {
  return new DatasetError(`Cannot read image ${absPath}`, [
    { path: absPath, file: absPath, message: `not a readable image (${(e as Error).message})` },
  ]);
}

async function decode(absPath: string, size: number, method: ResizeMethod): Promise<Float32Array> {
  try {
    if (method === 'sharp') {
      const res = await sharp(absPath)
        .resize(size, size, { kernel: 'cubic', fit: 'cover', position: 'centre' })
        .removeAlpha()
        .toColourspace('srgb')
        .raw()
        .toBuffer({ resolveWithObject: true });
      return normaliseRgb(res.data, res.info.width, res.info.height, res.info.channels);
    }
    // Fast path: one sharp decode to raw bytes (alpha dropped, like PIL's convert('RGB')).
    let res = await sharp(absPath).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    if (res.info.channels === 4) {
      // Four channels left after removeAlpha: CMYK. Let libvips convert to sRGB.
      res = await sharp(absPath).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
    }
    const { width, height, channels } = res.info;
    const px = clipResizeCrop(res.data, width, height, channels, size);
    return normaliseRgb(px, size, size, channels);
  } catch (e) {
    throw decodeError(absPath, e);
  }
}

/** The normalised CHW pixels of an image (cached); what `loadImage` wraps in a tensor. */
export async function loadImageData(absPath: string, size: number, opts: ImageOptions = {}): Promise<Float32Array> {
  checkSize(size);
  const method = opts.resize ?? 'pil';
  if (method !== 'pil' && method !== 'sharp') throw new RangeError(`Unknown resize method '${String(method)}'. Must be one of [pil, sharp]`);
  const key = `${size}\u0000${method}\u0000${absPath}`;
  const hit = cache.get(key);
  if (hit) return hit;
  let p = inflight.get(key);
  if (!p) {
    p = decode(absPath, size, method).then(
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
 * Load one image as a [3, size, size] float32 tensor: sharp decode, CLIP geometry (shortest
 * edge, centre crop), bicubic, CLIP mean/std. The caller owns the tensor. A missing or corrupt
 * file is a `DatasetError` naming the file.
 */
export async function loadImage(absPath: string, size: number, opts: ImageOptions = {}): Promise<Tensor3D> {
  const data = await loadImageData(absPath, size, opts);
  return tf.tensor3d(data, [3, size, size], 'float32');
}

/** Load several images as one [N, 3, size, size] tensor (decoded a few at a time in parallel). */
export async function loadImages(
  absPaths: readonly string[],
  size: number,
  opts: ImageOptions & { concurrency?: number } = {},
): Promise<Tensor4D> {
  checkSize(size);
  const per = 3 * size * size;
  const out = new Float32Array(absPaths.length * per);
  const width = Math.max(1, opts.concurrency ?? 16);
  let next = 0;
  const worker = async () => {
    while (next < absPaths.length) {
      const i = next++;
      out.set(await loadImageData(absPaths[i], size, opts), i * per);
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
