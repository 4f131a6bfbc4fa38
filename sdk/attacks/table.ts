/**
 * The robustness table: per model, the forget rate with no attack, before and after the
 * relearning attacks, under the strongest prompt and image attack (the one under which the
 * most forgotten knowledge comes back), MIA AUC and the forget quality against the reference.
 */
import type { AttackRow } from './types';

/** The headline of an attacks frame: per model, forget rate before / after each family's strongest attack, and MIA AUC. */
export interface RobustnessRow {
  method: string;
  pd: boolean;
  /** Forget rate with no attack (forget split). */
  forget: number;
  relearnBefore: number;
  relearnAfter: number;
  benignAfter: number;
  prompt: number;
  promptAttack: string;
  image: number;
  imageAttack: string;
  aucLoss: number;
  aucMinKpp: number;
  forgetQuality: number;
}

export function robustnessTable(rows: readonly AttackRow[]): RobustnessRow[] {
  const methods = [...new Set(rows.map((r) => r.method))];
  const get = (m: string, f: (r: AttackRow) => boolean) => rows.filter((r) => r.method === m && f(r));
  return methods.map((m) => {
    const pd = rows.find((r) => r.method === m)?.pd ?? false;
    const base = get(m, (r) => r.family === 'baseline' && r.metric === 'forgetRate' && r.split === 'train')[0]?.value ?? NaN;
    // strongest = the attack under which the most forgotten knowledge comes back (highest forget rate)
    const strongest = (fam: string) => {
      const xs = get(m, (r) => r.family === fam && r.metric === 'forgetRate' && r.split === 'train');
      if (!xs.length) return { attack: '', value: NaN };
      const best = xs.reduce((a, b) => (b.value > a.value ? b : a));
      return { attack: best.attack, value: best.value };
    };
    const rel = get(m, (r) => r.family === 'relearn' && r.attack === 'relearn-forget' && r.split === 'rest');
    const rel0 = rel.find((r) => r.metric === 'forgetRate@0')?.value ?? NaN;
    const relK = rel.find((r) => r.metric === 'forgetRate')?.value ?? NaN;
    const benign = get(m, (r) => r.family === 'relearn' && r.attack === 'relearn-benign' && r.split === 'rest' && r.metric === 'forgetRate')[0]?.value ?? NaN;
    const p = strongest('prompt');
    const i = strongest('image');
    const auc = get(m, (r) => r.family === 'mia' && r.attack === 'loss')[0]?.value ?? NaN;
    const aucPP = get(m, (r) => r.family === 'mia' && r.attack === 'min_k++')[0]?.value ?? NaN;
    const fq = get(m, (r) => r.family === 'reference' && r.metric === 'forgetQuality')[0]?.value ?? NaN;
    return { method: m, pd, forget: base, relearnBefore: rel0, relearnAfter: relK, benignAfter: benign, prompt: p.value, promptAttack: p.attack, image: i.value, imageAttack: i.attack, aucLoss: auc, aucMinKpp: aucPP, forgetQuality: fq };
  });
}

const pct = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? `${(100 * v).toFixed(0)}%` : '—');
const f2 = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(2) : '—');
const fq = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? (v < 0.001 ? v.toExponential(1) : v.toFixed(3)) : '—');

/** The table as Markdown (docs/robustness.md uses it as printed). */
export function robustnessMarkdown(rows: readonly AttackRow[]): string {
  const t = robustnessTable(rows);
  const head = '| model | PD | forget rate | relearn before → after (k max) | benign relearn after | strongest prompt attack | strongest image attack | MIA AUC LOSS / Min-K%++ | forget quality (KS p) |';
  const sep = '|---|---|---|---|---|---|---|---|---|';
  const lines = t.map(
    (r) =>
      `| ${r.method} | ${r.pd ? '✓' : ''} | ${pct(r.forget)} | ${pct(r.relearnBefore)} → ${pct(r.relearnAfter)} | ${pct(r.benignAfter)} | ${pct(r.prompt)}${r.promptAttack ? ` (${r.promptAttack})` : ''} | ${pct(r.image)}${r.imageAttack ? ` (${r.imageAttack})` : ''} | ${f2(r.aucLoss)} / ${f2(r.aucMinKpp)} | ${fq(r.forgetQuality)} |`,
  );
  return [head, sep, ...lines].join('\n');
}

