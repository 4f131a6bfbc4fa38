/**
 * Raw text for BABERT: strict UTF-8 decoding (the first bad byte's offset is reported), Han
 * detection, sentence splitting, and readers for the Debian corpora the experiment uses
 * (`manpages-zh`: gzipped roff; `fortunes-zh`: `%`-separated fortune files). Nothing here is
 * committed to the repository: the packages' licences are GPL-family.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { DatasetError } from '../runtime/errors';

/**
 * True for a UTF-16 code unit that is a Han character of the Basic Multilingual Plane (CJK
 * Unified Ideographs, Extension A, Compatibility Ideographs, and 〇). Astral Han characters
 * (Extension B and later) are rare in modern text and are treated as non-Han, so every Han
 * character is exactly one code unit and strings can be sliced by index.
 */
export function isHanCode(c: number): boolean {
  return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0xf900 && c <= 0xfaff) || c === 0x3007;
}

export function isHan(ch: string): boolean {
  return ch.length === 1 && isHanCode(ch.charCodeAt(0));
}

export function hasHan(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (isHanCode(text.charCodeAt(i))) return true;
  return false;
}

/** Offset of the first byte that does not belong to a well-formed UTF-8 sequence, or -1. */
export function findInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else return i;
    if (i + need >= n) return i; // truncated at the end
    let cp = b & (need === 1 ? 0x1f : need === 2 ? 0x0f : 0x07);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

/**
 * Decode bytes as strict UTF-8. A malformed sequence is a DatasetError naming the source and
 * the byte offset (and the line number) of the first bad byte.
 */
export function decodeUtf8(bytes: Uint8Array, source = '<buffer>'): string {
  const bad = findInvalidUtf8(bytes);
  if (bad >= 0) {
    let line = 1;
    for (let i = 0; i < bad; i++) if (bytes[i] === 0x0a) line++;
    const hex = bytes[bad].toString(16).padStart(2, '0');
    throw new DatasetError(`Invalid UTF-8 in ${source}: byte 0x${hex} at offset ${bad} (line ${line}) is not part of a valid UTF-8 sequence; re-encode the file as UTF-8`, [
      { path: `${source}@${bad}`, message: `byte 0x${hex} at offset ${bad}, line ${line}`, file: source },
    ]);
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/** Read a text file (gzipped if it ends in .gz) as strict UTF-8. */
export function readTextFile(file: string): string {
  let bytes: Uint8Array = fs.readFileSync(file);
  if (file.endsWith('.gz')) bytes = zlib.gunzipSync(bytes);
  return decodeUtf8(bytes, file);
}

/** Accept a string, or bytes (Buffer / Uint8Array, decoded strictly). */
export function asText(input: string | Uint8Array, source = '<buffer>'): string {
  return typeof input === 'string' ? input : decodeUtf8(input, source);
}

const SENTENCE_END = /(?<=[。！？；!?;])|\n/u;

/**
 * Split text into sentences: at line breaks and after 。！？；!?; . Whitespace is trimmed and
 * empty pieces dropped. Sentences longer than `maxLength` are cut at the last comma-like mark
 * before the limit, or hard at the limit.
 */
export function splitSentences(text: string, maxLength = Infinity): string[] {
  const out: string[] = [];
  for (const raw of text.split(SENTENCE_END)) {
    let s = raw.trim();
    while (s.length > maxLength) {
      let cut = -1;
      for (let i = maxLength; i > maxLength / 2; i--) {
        if ('，、：,:'.includes(s[i - 1])) {
          cut = i;
          break;
        }
      }
      if (cut < 0) cut = maxLength;
      out.push(s.slice(0, cut).trim());
      s = s.slice(cut).trim();
    }
    if (s) out.push(s);
  }
  return out.filter((s) => s.length > 0);
}

/** Strip roff markup from one man page; return the lines that contain Han characters. */
export function stripRoff(src: string): string[] {
  const out: string[] = [];
  for (let line of src.split('\n')) {
    if (line.startsWith('.\\"') || line.startsWith("'\\\"") || line.startsWith('\\"')) continue;
    if (line.startsWith('.') || line.startsWith("'")) {
      // A request: keep its text arguments (e.g. `.SH 描述`, `.B 文件`), drop the macro name.
      const m = /^[.'][A-Za-z]{1,3}\s+(.*)$/.exec(line);
      if (!m) continue;
      line = m[1].replace(/"/g, ' ');
    }
    line = line
      .replace(/\\f(\[[^\]]*\]|\(..|.)/g, '') // font changes \fB \fI \fR \fP \f(CW \f[B]
      .replace(/\\\*(\(..|\[[^\]]*\]|.)/g, '') // strings \*(xx
      .replace(/\\\((..)/g, (_m, g: string) => ROFF_GLYPHS[g] ?? '') // glyphs \(em
      .replace(/\\\[[^\]]*\]/g, '')
      .replace(/\\s[-+]?\d+/g, '')
      .replace(/\\[-e]/g, (m) => (m === '\\-' ? '-' : '\\'))
      .replace(/\\[&/,|^~ 0c%:!]/g, '')
      .replace(/\\"/g, '')
      .trim();
    if (line && hasHan(line)) out.push(line);
  }
  return out;
}

const ROFF_GLYPHS: Record<string, string> = { em: '—', en: '–', lq: '“', rq: '”', aq: "'", dq: '"', bu: '•', co: '©', mi: '-', hy: '-' };

/** Split a fortune file into fortunes; strip ANSI colour codes; re-join lines wrapped inside a sentence. */
export function parseFortunes(src: string): string[] {
  const out: string[] = [];
  // eslint-disable-next-line no-control-regex
  const clean = src.replace(/\x1b\[[0-9;]*m/g, '');
  for (const block of clean.split(/^%$/m)) {
    const paras = block.split(/\n\s*\n/);
    for (const p of paras) {
      const lines = p.split('\n').map((l) => l.trim()).filter(Boolean);
      let joined = '';
      for (const l of lines) {
        // Fortunes are hard-wrapped: a line ending in a Han character continues on the next one.
        if (joined && !(isHanCode(joined.charCodeAt(joined.length - 1)) && isHanCode(l.charCodeAt(0)))) joined += '\n';
        joined += l;
      }
      for (const l of joined.split('\n')) if (hasHan(l)) out.push(l);
    }
  }
  return out;
}

export interface DebianCorpusOptions {
  /** Man page roots (default /usr/share/man/zh_CN and zh_TW). */
  manDirs?: string[];
  /** Fortune files (default the `.u8` files of fortunes-zh, else the plain ones). */
  fortuneFiles?: string[];
  /** Stop after this many characters (default: everything). */
  maxChars?: number;
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

function defaultFortunes(): string[] {
  const dir = '/usr/share/games/fortunes';
  const out: string[] = [];
  for (const name of ['chinese', 'tang300', 'song100']) {
    for (const f of [path.join(dir, `${name}.u8`), path.join(dir, name), path.join(dir, 'zh', name)]) {
      if (fs.existsSync(f)) {
        out.push(f);
        break;
      }
    }
  }
  return out;
}

/**
 * Lines of raw Chinese from the Debian packages `manpages-zh` and `fortunes-zh` (Han-containing
 * lines only; roff and ANSI markup removed). Files that are not valid UTF-8 are skipped (a few
 * legacy pages), listed in `skipped`. A DatasetError if nothing is found (packages missing).
 */
export function readDebianCorpus(opts: DebianCorpusOptions = {}): { lines: string[]; chars: number; files: number; skipped: string[] } {
  const manDirs = opts.manDirs ?? ['/usr/share/man/zh_CN', '/usr/share/man/zh_TW'];
  const fortuneFiles = opts.fortuneFiles ?? defaultFortunes();
  const maxChars = opts.maxChars ?? Infinity;
  const lines: string[] = [];
  const skipped: string[] = [];
  let chars = 0;
  let files = 0;
  const add = (ls: string[]) => {
    for (const l of ls) {
      if (chars >= maxChars) return;
      lines.push(l);
      chars += l.length;
    }
  };
  // Fortunes first (shorter, everyday and literary text), then the man pages.
  for (const f of fortuneFiles) {
    try {
      add(parseFortunes(readTextFile(f)));
      files++;
    } catch (e) {
      if (e instanceof DatasetError) skipped.push(f);
      else throw e;
    }
  }
  for (const dir of manDirs) {
    for (const f of listFiles(dir)) {
      if (chars >= maxChars) break;
      try {
        add(stripRoff(readTextFile(f)));
        files++;
      } catch (e) {
        if (e instanceof DatasetError) skipped.push(f);
        else throw e;
      }
    }
  }
  if (lines.length === 0) {
    throw new DatasetError('No Chinese text found in the Debian corpora: install the packages manpages-zh and fortunes-zh (npm run setup)', [
      ...manDirs.map((d) => ({ path: d, message: 'no Han-containing lines', file: d })),
      ...fortuneFiles.map((f) => ({ path: f, message: 'no Han-containing lines', file: f })),
    ]);
  }
  return { lines, chars, files, skipped };
}
