import { meanMetric } from '../contract';

/** Mean LCS / reference length of retain answers: the figure the official SafeEraser script reports as ROUGE-L. */
export const rougeL_official = meanMetric({
  name: 'rougeL_official',
  description: "Mean ROUGE-L as the official SafeEraser script computes it: LCS / reference length (higher is better).",
  kinds: ['retain'],
  higherIsBetter: true,
  value: (r) => r.rougeL_recall,
});
