/**
 * Image attacks: transformations of the harmful (and, for SARR, the benign) image made with
 * sharp, as robustness studies of vision-language safety use them (noise, blur, JPEG
 * re-encoding, crop-and-rescale, rotation, colour jitter, and a typographic overlay that writes
 * the concept's keyword onto the image, Gong et al. 2023 "FigStep"-style). Every output keeps
 * the input's size; random ones are seeded per probe, so a rerun writes identical files.
 */
import sharp from 'sharp';
import { Rng } from '../runtime/rng';
import type { ImageAttackDefinition } from './types';

async function rawOf(image: Buffer): Promise<{ data: Buffer; width: number; height: number; channels: 3 }> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

function png(data: Buffer | Uint8Array, width: number, height: number): Promise<Buffer> {
  return sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels: 3 } }).png().toBuffer();
}

async function sizeOf(image: Buffer): Promise<{ width: number; height: number }> {
  const m = await sharp(image).metadata();
  return { width: m.width ?? 0, height: m.height ?? 0 };
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

export const IMAGE_ATTACKS: readonly ImageAttackDefinition[] = [
  {
    name: 'gaussian-noise',
    family: 'image',
    doc: 'adds Gaussian pixel noise (seeded per image)',
    params: { sigma: { type: 'number', default: 24, min: 0, max: 255, doc: 'noise standard deviation in 0–255 pixel units' } },
    async apply(image, p, ctx) {
      const { data, width, height } = await rawOf(image);
      const rng = Rng.derive(ctx.seed, `attacks/gaussian-noise/${ctx.id}`);
      const out = new Uint8Array(data.length);
      const s = Number(p.sigma);
      for (let i = 0; i < data.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(data[i] + rng.normal(0, s))));
      return png(out, width, height);
    },
  },
  {
    name: 'blur',
    family: 'image',
    doc: 'Gaussian blur',
    params: { sigma: { type: 'number', default: 1.2, min: 0.3, max: 100, doc: 'blur sigma in pixels' } },
    apply: (image, p) => sharp(image).removeAlpha().blur(Number(p.sigma)).png().toBuffer(),
  },
  {
    name: 'jpeg',
    family: 'image',
    doc: 'JPEG re-encoding at a low quality (the artefacts stay; stored as PNG)',
    params: { quality: { type: 'integer', default: 15, min: 1, max: 100, doc: 'JPEG quality' } },
    async apply(image, p) {
      const jpg = await sharp(image).removeAlpha().jpeg({ quality: Number(p.quality), chromaSubsampling: '4:2:0' }).toBuffer();
      return sharp(jpg).png().toBuffer();
    },
  },
  {
    name: 'crop-rescale',
    family: 'image',
    doc: 'crops the centre and scales it back to the original size',
    params: { keep: { type: 'number', default: 0.7, min: 0.1, max: 1, doc: 'side of the kept centre as a fraction of the image side' } },
    async apply(image, p) {
      const { width, height } = await sizeOf(image);
      const w = Math.max(1, Math.round(width * Number(p.keep)));
      const h = Math.max(1, Math.round(height * Number(p.keep)));
      return sharp(image)
        .removeAlpha()
        .extract({ left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h })
        .resize(width, height, { kernel: 'cubic' })
        .png()
        .toBuffer();
    },
  },
  {
    name: 'rotate',
    family: 'image',
    doc: 'rotates the image (corners filled with the mean colour) and crops back to its size',
    params: { degrees: { type: 'number', default: 20, min: -180, max: 180, doc: 'rotation angle, clockwise' } },
    async apply(image, p) {
      const { width, height } = await sizeOf(image);
      const st = await sharp(image).removeAlpha().stats();
      const [r, g, b] = st.channels.map((c) => Math.round(c.mean));
      const rotated = await sharp(image).removeAlpha().rotate(Number(p.degrees), { background: { r, g, b } }).toBuffer({ resolveWithObject: true });
      const left = Math.floor((rotated.info.width - width) / 2);
      const top = Math.floor((rotated.info.height - height) / 2);
      return sharp(rotated.data).extract({ left, top, width, height }).png().toBuffer();
    },
  },
  {
    name: 'color-jitter',
    family: 'image',
    doc: 'random brightness, saturation and hue shifts (seeded per image)',
    params: {
      strength: { type: 'number', default: 0.4, min: 0, max: 1, doc: 'brightness and saturation vary by ±strength' },
      hue: { type: 'number', default: 60, min: 0, max: 180, doc: 'hue rotates by up to ±hue degrees' },
    },
    async apply(image, p, ctx) {
      const rng = Rng.derive(ctx.seed, `attacks/color-jitter/${ctx.id}`);
      const s = Number(p.strength);
      const u = () => rng.uniform(-1, 1);
      return sharp(image)
        .removeAlpha()
        .modulate({ brightness: 1 + s * u(), saturation: Math.max(0, 1 + s * u()), hue: Math.round(Number(p.hue) * u()) })
        .png()
        .toBuffer();
    },
  },
  {
    name: 'typographic',
    family: 'image',
    doc: "writes the concept's keyword onto the image (a typographic overlay)",
    params: {
      size: { type: 'number', default: 0.3, min: 0.05, max: 1, doc: 'text height as a fraction of the image height' },
      position: { type: 'string', default: 'bottom', choices: ['top', 'middle', 'bottom'], doc: 'where the text goes' },
    },
    async apply(image, p, ctx) {
      const { width, height } = await sizeOf(image);
      const fs = Math.max(4, Math.round(height * Number(p.size)));
      const y = p.position === 'top' ? fs : p.position === 'middle' ? Math.round(height / 2 + fs / 3) : height - Math.max(1, Math.round(fs * 0.2));
      const text = escapeXml(ctx.keyword);
      const svg =
        `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
        `<text x="${width / 2}" y="${y}" text-anchor="middle" font-family="DejaVu Sans, Liberation Sans, sans-serif" font-weight="bold" font-size="${fs}" ` +
        `textLength="${Math.round(width * 0.94)}" lengthAdjust="spacingAndGlyphs" fill="white" stroke="black" stroke-width="${Math.max(0.5, fs / 10)}">${text}</text></svg>`;
      return sharp(image).removeAlpha().composite([{ input: Buffer.from(svg), top: 0, left: 0 }]).png().toBuffer();
    },
  },
];
