/**
 * The shapes of the attacks layer: one row per (target, attack, metric, split), and the
 * definitions the attack registry holds (one per attack, grouped in families).
 */

/** Where an attack acts: fine-tuning, the text query, the image, or the model's likelihoods. */
export type AttackFamily = 'relearn' | 'prompt' | 'image' | 'mia';

/**
 * Rows of the frame: `family` is an attack family, or 'baseline' (the model before any
 * attack) or 'reference' (distances to the retrained reference model).
 */
export type RowFamily = AttackFamily | 'baseline' | 'reference';

/** One measured number: `n` is what it was computed over (responses, samples, records). */
export interface AttackRow {
  method: string;
  pd: boolean;
  attack: string;
  family: RowFamily;
  metric: string;
  split: string;
  value: number;
  n: number;
}

/** The frame's columns, in order (attacks.csv / attacks.json). */
export const ATTACK_COLUMNS: readonly (keyof AttackRow)[] = ['method', 'pd', 'attack', 'family', 'metric', 'split', 'value', 'n'];

/** One parameter of an attack: type, default, range and meaning (the one place defaults live). */
export interface ParamSpec {
  type: 'number' | 'integer' | 'boolean' | 'string' | 'integer[]';
  default: number | boolean | string | number[];
  min?: number;
  max?: number;
  choices?: readonly string[];
  doc: string;
}

export type AttackParams = Record<string, number | boolean | string | number[]>;

interface AttackBase {
  name: string;
  /** One line: what the attack does (listed by `eraserlab attack --help`). */
  doc: string;
  params: Record<string, ParamSpec>;
}

/** What a prompt or image transformation knows about the probe it rewrites. */
export interface TransformContext {
  /** The record's category (Violence, Weapon, ...). */
  category: string;
  /** The record's concept keyword, or the category when the record has none. */
  keyword: string;
  /** Probe id (`train/3/harmful/1`): transformations seeded per probe stay reproducible. */
  id: string;
  seed: number;
}

/** A rewrite of the harmful query; the image and the expected answer stay the same. */
export interface PromptAttackDefinition extends AttackBase {
  family: 'prompt';
  transform(question: string, params: AttackParams, ctx: TransformContext): string;
}

/** A transformation of the image file (sharp): returns the new image as PNG or JPEG bytes. */
export interface ImageAttackDefinition extends AttackBase {
  family: 'image';
  apply(image: Buffer, params: AttackParams, ctx: TransformContext): Promise<Buffer>;
}

/** Fine-tune the attacked model with LoRA (the Unlearner's trainer) on a slice of data. */
export interface RelearnAttackDefinition extends AttackBase {
  family: 'relearn';
  /** 'forget': a slice of the forget records with their harmful answers; 'benign': their retain pairs only. */
  data: 'forget' | 'benign';
}

/** Per-token statistics of one answer under the model (what membership scores read). */
export interface AnswerStats {
  /** log p of each answer token after the first label position, EOS prediction excluded (OpenUnlearning's tokenwise_logprobs). */
  tokenLogProbs: Float32Array;
  /** Σ_z p(z) log p(z) at each of those positions (Min-K%++'s μ). */
  mu: Float32Array;
  /** Σ_z p(z) (log p(z))² − μ² at each of those positions (Min-K%++'s σ²). */
  sigma2: Float32Array;
  /** Mean token NLL over every answer token (EOS included): OpenUnlearning's avg_loss. */
  avgLoss: number;
  /** The answer text (zlib). */
  text: string;
}

/**
 * A membership-inference score: higher means "less likely a member" (signed like the loss,
 * as OpenUnlearning's attacks are), so AUC = 1 when forget answers are far more likely than
 * held-out ones and 0.5 when the two cannot be told apart.
 */
export interface MiaAttackDefinition extends AttackBase {
  family: 'mia';
  score(stats: AnswerStats, params: AttackParams): number;
}

export type AttackDefinition = PromptAttackDefinition | ImageAttackDefinition | RelearnAttackDefinition | MiaAttackDefinition;

/** An attack with its parameters resolved (defaults filled in, values checked). */
export interface ResolvedAttack<D extends AttackDefinition = AttackDefinition> {
  def: D;
  params: AttackParams;
}
