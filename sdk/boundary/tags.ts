/**
 * Tag schemes for sequence labelling: BIES for segmentation (and POS as BIES-type), BIOES for
 * NER. Conversions between words / spans and tags, validation that reports the sentence index
 * and position of every invalid tag, and the allowed-transition tables the CRF's constrained
 * Viterbi uses.
 */
import { DatasetError, type DatasetIssue } from '../runtime/errors';

export const BIES = ['B', 'I', 'E', 'S'] as const;
export type BiesTag = (typeof BIES)[number];

/** BIES tags of a segmented sentence (a word of one character is S). */
export function wordsToBies(words: readonly string[]): BiesTag[] {
  const out: BiesTag[] = [];
  for (const w of words) {
    if (w.length === 0) continue;
    if (w.length === 1) out.push('S');
    else {
      out.push('B');
      for (let i = 1; i < w.length - 1; i++) out.push('I');
      out.push('E');
    }
  }
  return out;
}

/**
 * Words from characters and BIES tags. Invalid sequences are repaired leniently (a word ends
 * at E or S, and a new one starts at B or S), so decoded model output always segments.
 */
export function biesToWords(chars: string, tags: readonly string[]): string[] {
  const words: string[] = [];
  let cur = '';
  for (let i = 0; i < chars.length; i++) {
    const t = tags[i];
    if ((t === 'B' || t === 'S') && cur) {
      words.push(cur);
      cur = '';
    }
    cur += chars[i];
    if (t === 'E' || t === 'S') {
      words.push(cur);
      cur = '';
    }
  }
  if (cur) words.push(cur);
  return words;
}

function biesProblem(prev: string | undefined, t: string): string | undefined {
  if (!(BIES as readonly string[]).includes(t)) return `'${t}' is not a BIES tag; must be one of [B, I, E, S]`;
  const open = prev === 'B' || prev === 'I';
  if (open && (t === 'B' || t === 'S')) return `'${t}' after '${prev}': a word that started must continue with I or end with E`;
  if (!open && (t === 'I' || t === 'E')) return `'${t}' ${prev === undefined ? 'at the start' : `after '${prev}'`}: I and E must follow B or I`;
  return undefined;
}

function bioesSplit(t: string): [string, string] {
  if (t === 'O') return ['O', ''];
  const m = /^([BIES])-(.+)$/.exec(t);
  return m ? [m[1], m[2]] : ['?', ''];
}

function bioesProblem(prev: string | undefined, t: string): string | undefined {
  const [p, ty] = bioesSplit(t);
  if (p === '?') return `'${t}' is not a BIOES tag; must be O or one of B-X, I-X, E-X, S-X`;
  const [pp, pty] = prev === undefined ? ['O', ''] : bioesSplit(prev);
  const open = pp === 'B' || pp === 'I';
  if (open && !((p === 'I' || p === 'E') && ty === pty)) return `'${t}' after '${prev}': an entity that started must continue with I-${pty} or end with E-${pty}`;
  if (!open && (p === 'I' || p === 'E')) return `'${t}' ${prev === undefined ? 'at the start' : `after '${prev}'`}: I-X and E-X must follow B-X or I-X of the same type`;
  return undefined;
}

export type TagScheme = 'bies' | 'bioes';

/** Every problem in one tag sequence (empty when valid). */
export function tagProblems(tags: readonly string[], scheme: TagScheme = 'bies'): Array<{ position: number; message: string }> {
  const out: Array<{ position: number; message: string }> = [];
  const check = scheme === 'bies' ? biesProblem : bioesProblem;
  for (let i = 0; i < tags.length; i++) {
    const m = check(i === 0 ? undefined : tags[i - 1], tags[i]);
    if (m) out.push({ position: i, message: m });
  }
  if (tags.length > 0) {
    const last = tags[tags.length - 1];
    const open = scheme === 'bies' ? last === 'B' || last === 'I' : /^[BI]-/.test(last);
    if (open) out.push({ position: tags.length - 1, message: `'${last}' at the end: the sequence ends inside a ${scheme === 'bies' ? 'word' : 'entity'} (must end with ${scheme === 'bies' ? 'E or S' : 'E-X, S-X or O'})` });
  }
  return out;
}

/**
 * Throw a DatasetError listing every invalid tag in `sequences` (path `sentences[i][j]`, with the
 * sentence index in `record`); return nothing when all are valid.
 */
export function validateTags(sequences: ReadonlyArray<readonly string[]>, scheme: TagScheme = 'bies', source = 'sentences'): void {
  const issues: DatasetIssue[] = [];
  sequences.forEach((seq, i) => {
    for (const p of tagProblems(seq, scheme)) issues.push({ path: `${source}[${i}][${p.position}]`, message: `sentence ${i}, position ${p.position}: ${p.message}`, record: i });
  });
  if (issues.length) {
    const sentences = new Set(issues.map((x) => x.record)).size;
    throw new DatasetError(`Invalid ${scheme.toUpperCase()} tag sequences in ${sentences} sentence${sentences === 1 ? '' : 's'}`, issues);
  }
}

/** BIOES tags for typed spans [start, end) over a sentence of `length` characters. */
export function spansToBioes(length: number, spans: ReadonlyArray<{ start: number; end: number; type: string }>): string[] {
  const tags = new Array<string>(length).fill('O');
  for (const s of spans) {
    if (s.end - s.start === 1) tags[s.start] = `S-${s.type}`;
    else {
      tags[s.start] = `B-${s.type}`;
      for (let i = s.start + 1; i < s.end - 1; i++) tags[i] = `I-${s.type}`;
      tags[s.end - 1] = `E-${s.type}`;
    }
  }
  return tags;
}

/** Typed spans from BIOES tags (lenient: an unterminated entity is closed where it breaks). */
export function bioesToSpans(tags: readonly string[]): Array<{ start: number; end: number; type: string }> {
  const out: Array<{ start: number; end: number; type: string }> = [];
  let open: { start: number; type: string } | undefined;
  tags.forEach((t, i) => {
    const [p, ty] = bioesSplit(t);
    if (open && !((p === 'I' || p === 'E') && ty === open.type)) {
      out.push({ start: open.start, end: i, type: open.type });
      open = undefined;
    }
    if (p === 'S') out.push({ start: i, end: i + 1, type: ty });
    else if (p === 'B') open = { start: i, type: ty };
    else if ((p === 'I' || p === 'E') && !open) open = { start: i, type: ty };
    if (p === 'E' && open) {
      out.push({ start: open.start, end: i + 1, type: ty });
      open = undefined;
    }
  });
  if (open) out.push({ start: open.start, end: tags.length, type: open.type });
  return out;
}

/** Full BIOES label list for entity types, ['O', 'B-PER', 'I-PER', 'E-PER', 'S-PER', ...]. */
export function bioesLabels(types: readonly string[]): string[] {
  const out = ['O'];
  for (const t of types) for (const p of ['B', 'I', 'E', 'S']) out.push(`${p}-${t}`);
  return out;
}

/**
 * Allowed transitions for `labels` under `scheme`: `{transitions[i][j], start[j], end[i]}`, true
 * when label j may follow label i / begin / end a sentence. Used by constrained Viterbi.
 */
export function allowedTransitions(labels: readonly string[], scheme: TagScheme = 'bies'): { transitions: boolean[][]; start: boolean[]; end: boolean[] } {
  const check = scheme === 'bies' ? biesProblem : bioesProblem;
  const transitions = labels.map((a) => labels.map((b) => check(a, b) === undefined));
  const start = labels.map((b) => check(undefined, b) === undefined);
  // A sequence may end with label i when that does not leave a word / entity open.
  const end = labels.map((a) => (scheme === 'bies' ? a === 'E' || a === 'S' : !/^[BI]-/.test(a)));
  return { transitions, start, end };
}
