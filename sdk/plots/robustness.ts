/**
 * Robustness figures from the attacks frame (`method, pd, attack, family, metric, split, value,
 * n`): a heatmap of one metric under every attack for every model, and the relearning curve
 * (forget rate against fine-tuning steps k).
 */
import { ConfigError } from '../runtime/errors';
import { axis, Figure, FrameLike, PALETTE, PAPER_CONFIG, paperLayout, titleOf, Trace } from './figure';
import { methodVariant, num, requireColumns, toRows, unique } from './frame';

export interface RobustnessHeatmapOptions {
  title?: string;
  /** The metric shown (default 'forgetRate'; relearning cells use its value after the attack). */
  metric?: string;
  /** Split of prompt / image / baseline cells (default 'train', the forget queries). */
  split?: string;
  /** Split of relearning cells (default 'rest', the forget records outside the slice). */
  relearnSplit?: string;
  /** Models (rows) in order (default: order of appearance). */
  methods?: string[];
  colorscale?: string;
}

/**
 * Models × attacks: the metric (default forget rate) under no attack ('none'), each prompt
 * and image attack and each relearning attack (after its last k). Rows = models, columns =
 * attacks grouped by family.
 */
export function robustnessHeatmap(attacks: FrameLike, opts: RobustnessHeatmapOptions = {}): Figure {
  const what = 'robustnessHeatmap(attacks)';
  const rows = toRows(attacks, what);
  requireColumns(rows, ['method', 'attack', 'family', 'metric', 'split', 'value'], what);
  const metric = opts.metric ?? 'forgetRate';
  const split = opts.split ?? 'train';
  const rsplit = opts.relearnSplit ?? 'rest';
  const cell = (r: Record<string, unknown>) => {
    const fam = String(r.family);
    if (fam === 'relearn') return String(r.metric) === metric && String(r.split) === rsplit;
    if (fam === 'baseline' || fam === 'prompt' || fam === 'image') return String(r.metric) === metric && String(r.split) === split;
    return false;
  };
  const sel = rows.filter(cell);
  if (sel.length === 0) {
    const metrics = unique(rows.filter((r) => ['baseline', 'prompt', 'image', 'relearn'].includes(String(r.family))).map((r) => String(r.metric))).filter((m) => !m.includes('@'));
    throw new ConfigError(`${what}: no rows for metric '${metric}'`, [{ path: 'metric', message: `must be one of [${metrics.join(', ')}]` }]);
  }
  const order = ['baseline', 'prompt', 'image', 'relearn'];
  const attacksOrdered = unique(sel.map((r) => `${r.family}|${r.attack}`)).sort((a, b) => order.indexOf(a.split('|')[0]) - order.indexOf(b.split('|')[0]));
  const methods = opts.methods ?? unique(sel.map((r) => String(r.method)));
  const z = methods.map((m) =>
    attacksOrdered.map((key) => {
      const [fam, att] = key.split('|');
      const v = sel.find((r) => String(r.method) === m && String(r.family) === fam && String(r.attack) === att);
      return v ? num(v.value) : null;
    }),
  );
  const data: Trace[] = [
    {
      type: 'heatmap',
      x: attacksOrdered.map((k) => {
        const [fam, att] = k.split('|');
        return fam === 'baseline' ? 'no attack' : att;
      }),
      y: methods,
      z,
      zmin: 0,
      zmax: 1,
      colorscale: opts.colorscale ?? 'Viridis',
      texttemplate: '%{z:.2f}',
      hovertemplate: '%{y} · %{x}: %{z:.3f}<extra></extra>',
      xgap: 1,
      ygap: 1,
      colorbar: { thickness: 10, outlinewidth: 0, tickformat: '.0%' },
    },
  ];
  // family labels above the columns
  const annotations = order
    .map((fam) => {
      const idx = attacksOrdered.map((k, i) => (k.startsWith(`${fam}|`) ? i : -1)).filter((i) => i >= 0);
      if (idx.length === 0 || fam === 'baseline') return undefined;
      return { x: (idx[0] + idx[idx.length - 1]) / 2, y: 1.0, yanchor: 'bottom', xref: 'x', yref: 'paper', text: fam, showarrow: false, font: { size: 10 } };
    })
    .filter(Boolean);
  const layout = paperLayout({
    title: titleOf(opts.title ?? `${metric === 'forgetRate' ? 'Forget rate' : metric} under attack`),
    xaxis: axis({ showline: false, ticks: '', tickangle: -40 }),
    yaxis: axis({ showline: false, ticks: '', autorange: 'reversed', tickmode: 'array', tickvals: methods, ticktext: methods }),
    annotations,
    margin: { l: 70, r: 15, t: 60, b: 95 },
  });
  return { data, layout, config: { ...PAPER_CONFIG } };
}

export interface RelearningCurveOptions {
  title?: string;
  /** Which relearning attack (default: the first in the frame). */
  attack?: string;
  /** 'forgetRate' (default) or 'asr'. */
  metric?: string;
  /** 'rest' (default) or 'val'. */
  split?: string;
  methods?: string[];
}

/** Forget rate (or ASR) against relearning steps k, one line per model (dotted: with PD). */
export function relearningCurve(attacks: FrameLike, opts: RelearningCurveOptions = {}): Figure {
  const what = 'relearningCurve(attacks)';
  const rows = toRows(attacks, what);
  requireColumns(rows, ['method', 'attack', 'family', 'metric', 'split', 'value'], what);
  const metric = opts.metric ?? 'forgetRate';
  const split = opts.split ?? 'rest';
  const rel = rows.filter((r) => String(r.family) === 'relearn');
  const names = unique(rel.map((r) => String(r.attack)));
  if (names.length === 0) throw new ConfigError(`${what}: the frame has no relearning rows`, [{ path: 'family', message: "run a relearning attack (relearn-forget, relearn-benign) first" }]);
  const attack = opts.attack ?? names[0];
  if (!names.includes(attack)) throw new ConfigError(`${what}: no rows for attack '${attack}'`, [{ path: 'attack', message: `must be one of [${names.join(', ')}]` }]);
  const re = new RegExp(`^${metric.replace(/[+]/g, '\\+')}@(\\d+)$`);
  const pts = rel.filter((r) => String(r.attack) === attack && String(r.split) === split && re.test(String(r.metric)));
  const methods = opts.methods ?? unique(pts.map((r) => String(r.method)));
  const bases = unique(methods.map((m) => methodVariant({ method: m }).base));
  const data: Trace[] = methods.map((m) => {
    const ps = pts
      .filter((r) => String(r.method) === m)
      .map((r) => [Number(re.exec(String(r.metric))![1]), num(r.value)] as [number, number])
      .sort((a, b) => a[0] - b[0]);
    const v = methodVariant({ method: m });
    const special = m === 'vanilla' || m === 'retrained';
    return {
      type: 'scatter',
      mode: 'lines+markers',
      name: m,
      x: ps.map((p) => p[0]),
      y: ps.map((p) => p[1]),
      line: { color: special ? (m === 'vanilla' ? '#000000' : '#777777') : PALETTE[bases.indexOf(v.base) % PALETTE.length], dash: v.pd ? 'dot' : special ? 'dash' : 'solid', width: 1.6 },
      marker: { size: 5, symbol: v.pd ? 'diamond' : 'circle' },
    };
  });
  const layout = paperLayout({
    title: titleOf(opts.title ?? `Relearning (${attack}): ${metric === 'forgetRate' ? 'forget rate' : metric} on the ${split === 'rest' ? 'rest of the forget set' : 'held-out split'}`),
    xaxis: axis({ title: { text: 'fine-tuning steps k' }, rangemode: 'tozero' }),
    yaxis: axis({ title: { text: metric === 'forgetRate' ? 'forget rate' : metric }, range: [-0.03, 1.03], tickformat: '.0%' }),
    margin: { l: 55, r: 10, t: 35, b: 45 },
  });
  return { data, layout, config: { ...PAPER_CONFIG } };
}
