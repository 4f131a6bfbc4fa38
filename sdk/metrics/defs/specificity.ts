import { meanMetric } from '../contract';

/** Accuracy on the utility split (general VQA the unlearning never touched). */
export const specificity = meanMetric({
  name: 'specificity',
  description: 'Accuracy on the utility split: the answer appears in the response (higher is better).',
  kinds: ['utility'],
  higherIsBetter: true,
  proportion: true,
  value: (r) => r.score,
});
