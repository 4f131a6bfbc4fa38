import { meanMetric } from '../contract';

/** Mean ROUGE-L F-measure (rouge_score, stemmed) of retain answers against the UnharmPair Prediction. */
export const rougeL = meanMetric({
  name: 'rougeL',
  description: 'Mean ROUGE-L F-measure (rouge_score with stemming) of the four UnharmPair answers (higher is better).',
  kinds: ['retain'],
  higherIsBetter: true,
  value: (r) => r.rougeL,
});
