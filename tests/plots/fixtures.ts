// Small, deterministic frames in the documented column layouts (history, summary, byCategory,
// samples) shared by the plots tests.
export const CATS = ['Violence', 'Weapon', 'Privacy', 'Sex', 'HateSpeech', 'IllegalActivity'];

/** unlearner.history: step, epoch, loss, lr, gradNorm, term_*, eval columns (NaN where not evaluated). */
export function historyRows(steps = 12, method?: string): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (let s = 1; s <= steps; s++) {
    const evaluated = s % 4 === 0;
    const row: Record<string, unknown> = {
      step: s,
      epoch: Math.floor((s - 1) / 6),
      loss: 2 - s * 0.1,
      lr: 1e-4,
      gradNorm: 1 / s,
      term_forget: 1.5 - s * 0.08,
      term_retain: 0.5 - s * 0.02,
      forgetRate: evaluated ? s / steps : NaN,
      refusalRate: evaluated ? (s / steps) * 0.9 : NaN,
      sarr: evaluated ? (s / steps) * 0.7 : NaN,
      retainRouge: evaluated ? 0.8 : NaN,
      utilityAcc: evaluated ? 0.6 : NaN,
    };
    if (method) row.method = method;
    rows.push(row);
  }
  return rows;
}

export const METHODS = ['ga', 'gd', 'kl', 'po', 'npo'];

/** metrics summary rows concatenated with method + pd columns. */
export function summaryRows(): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  METHODS.forEach((m, i) => {
    for (const pd of [false, true]) {
      const method = pd ? `${m}+pd` : m;
      const sarr = pd ? 0.1 + 0.02 * i : 0.6 + 0.08 * i;
      const vals: Record<string, number> = { asr: 0.05, rr: 0.9, sarr, rougeL: 0.7 - 0.05 * i, specificity: 0.5 + 0.04 * i, forgetRate: 0.9 - 0.02 * i - (pd ? 0.03 : 0) };
      for (const split of ['train', 'val']) {
        for (const [metric, value] of Object.entries(vals)) {
          rows.push({ metric, split, value: split === 'train' ? value : value * 0.95, n: 20, count: Math.round(value * 20), method, pd });
        }
      }
    }
  });
  return rows;
}

export function byCategoryRows(): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  CATS.forEach((category, ci) => {
    for (const metric of ['asr', 'rr', 'sarr', 'forgetRate']) {
      rows.push({ category, metric, value: (ci + 1) / 7 + (metric === 'sarr' ? 0.1 : 0) / 2, n: 8 });
    }
  });
  return rows;
}
