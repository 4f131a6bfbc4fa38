import { meanMetric } from '../contract';

/** Mean judge score (factual consistency 0..1) of retain answers; an unknown score counts 0, as officially. */
export const judgeScore = meanMetric({
  name: 'judgeScore',
  description: 'Mean factual-consistency score 0..1 of the UnharmPair answers; unparseable judge replies count 0 (higher is better).',
  kinds: ['retain'],
  higherIsBetter: true,
  unknownKey: 'score',
  unknownAs: 0,
  value: (r) => r.score,
});
