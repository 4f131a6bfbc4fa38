// The 'attacks' namespace of the public API (see sdk/index.ts): does forgetting survive an
// attacker? Relearning, prompt and image attacks, membership inference, and the distance to a
// retrained reference model, each attack an entry of one typed registry (docs/robustness.md).
import { registerAttack } from './registry';
import { PROMPT_ATTACKS } from './prompt';
import { IMAGE_ATTACKS } from './image';
import { MIA_ATTACKS } from './mia';
import { RELEARN_ATTACKS } from './relearn';

for (const d of [...RELEARN_ATTACKS, ...PROMPT_ATTACKS, ...IMAGE_ATTACKS, ...MIA_ATTACKS]) registerAttack(d, { quiet: true });

export { registerAttack, getAttack, attackNames, attackDefinitions, resolveAttack, describeAttacks, checkParam, FAMILIES } from './registry';
export { PROMPT_ATTACKS, splitQuery } from './prompt';
export { IMAGE_ATTACKS } from './image';
export { MIA_ATTACKS, answerStats } from './mia';
export { RELEARN_ATTACKS, RELEARN_METHOD, relearnSlice, relearnRecords, relearnModel } from './relearn';
export type { RelearnSlice, RelearnRunOptions } from './relearn';
export { rocAuc, ks2samp, ksPvalue } from './stats';
export type { KsResult } from './stats';
export { ImageCache, scoreUnder, attackedResponder, defaultImageDir } from './probe';
export type { ProbeOptions, MetricValues } from './probe';
export { attacksFrame, writeAttacks, readAttacks } from './frame';
export { runAttacks, planAttacks, attackFamilies, RUN_DEFAULTS } from './run';
export type { AttackTarget, AttackModel, RunAttacksOptions, RunAttacksResult } from './run';
export { ATTACK_COLUMNS } from './types';
export type {
  AttackFamily,
  RowFamily,
  AttackRow,
  ParamSpec,
  AttackParams,
  TransformContext,
  PromptAttackDefinition,
  ImageAttackDefinition,
  RelearnAttackDefinition,
  MiaAttackDefinition,
  AnswerStats,
  AttackDefinition,
  ResolvedAttack,
} from './types';
export { sweep, ensureReference, modelRecipe } from './sweep';
export type { SweepOptions, SweepResult } from './sweep';
export { robustnessTable, robustnessMarkdown } from './table';
export type { RobustnessRow } from './table';
