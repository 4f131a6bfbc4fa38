/**
 * Building blocks shared by the vision tower, the projector and the decoder, written to match
 * PyTorch / transformers numerically (float32 throughout). All are differentiable tfjs ops and
 * allocate no tensors outside the caller's tf.tidy.
 */
import { tf } from '../runtime/tf';
import type { Scalar, Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Variable } from '../runtime/tf';
import { ConfigError } from '../runtime/errors';
import { fusedKernelsActive, fusedLayerNorm, fusedLinear, fusedQuickGelu, fusedRmsNorm, fusedSoftmaxCrossEntropy, fusedSwiGlu } from '../runtime/wasm-fused';

/**
 * `tf.gather(x, indices, 0)` whose gradient is a scatterND (duplicates summed) instead of
 * tfjs' UnsortedSegmentSum, which the WASM backend lacks. Indices are constants.
 */
export function gatherRows(x: Tensor, indices: Int32Array | number[]): Tensor {
  const n = indices.length;
  const f = tf.customGrad((...args: unknown[]) => {
    const src = args[0] as Tensor;
    const idx = tf.tensor1d(indices instanceof Int32Array ? indices : Int32Array.from(indices), 'int32');
    const value = tf.gather(src, idx);
    idx.dispose();
    return {
      value,
      gradFunc: (dy: Tensor) => {
        const idx2 = tf.tensor2d(indices instanceof Int32Array ? indices : Int32Array.from(indices), [n, 1], 'int32');
        const g = tf.scatterND(idx2, dy, src.shape);
        idx2.dispose();
        return [g];
      },
    };
  });
  return f(x) as Tensor;
}

/** torch.nn.LayerNorm over the last axis (biased variance). One native kernel when the fused kernels are active. */
export function layerNorm(x: Tensor, w: Tensor, b: Tensor, eps: number): Tensor {
  if (fusedKernelsActive()) return fusedLayerNorm(x, w, b, eps);
  const axis = x.rank - 1;
  const mean = tf.mean(x, axis, true);
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centered), axis, true);
  return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, eps))), w), b);
}

/** LlamaRMSNorm: x · rsqrt(mean(x²) + ε) · w. One native kernel when the fused kernels are active. */
export function rmsNorm(x: Tensor, w: Tensor, eps: number): Tensor {
  if (fusedKernelsActive()) return fusedRmsNorm(x, w, eps);
  const ms = tf.mean(tf.square(x), x.rank - 1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), w);
}

/** CLIP's quick_gelu: x · σ(1.702 x). */
export function quickGelu(x: Tensor): Tensor {
  if (fusedKernelsActive()) return fusedQuickGelu(x);
  return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
}

/** Exact GELU (torch.nn.GELU() default, approximate='none'): ½ x (1 + erf(x / √2)). */
export function gelu(x: Tensor): Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

/** SiLU: x · σ(x). */
export function silu(x: Tensor): Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/** Llama's gated MLP product silu(gate) · up (one native kernel when the fused kernels are active). */
export function swiGlu(gate: Tensor, up: Tensor): Tensor {
  if (fusedKernelsActive()) return fusedSwiGlu(gate, up);
  return tf.mul(silu(gate), up);
}

/** Rotary tables for applyRope. */
export interface RopeTables {
  /** cos(p·f_i) for both halves: [B, T, 1, headDim]. */
  cos: Tensor4D;
  /** −sin(p·f_i) on the first half, +sin(p·f_i) on the second: [B, T, 1, headDim]. */
  sin: Tensor4D;
  /** The [headDim, headDim] permutation that swaps the two halves of a head vector. */
  swap: Tensor2D;
}

/** Rotary tables as plain arrays, [B·T·headDim] each, in the layout of RopeTables. */
export interface RopeArrays {
  cos: Float32Array;
  sin: Float32Array;
}

/**
 * Rotary embedding tables for `positions` ([B][T] absolute positions) as arrays: cos(p·f_i)
 * on both halves, −sin on the first half and +sin on the second (Llama's rotate_half with the
 * sign folded in). The frequencies are computed in float64 on the JS side and rounded once,
 * as torch does in float32.
 */
export function ropeArrays(positions: number[][], headDim: number, theta: number): RopeArrays {
  const half = headDim / 2;
  const B = positions.length;
  const T = positions[0]?.length ?? 0;
  const invFreq = new Float64Array(half);
  // torch: 1 / base ** (arange(0, dim, 2) / dim), in float32
  for (let i = 0; i < half; i++) invFreq[i] = Math.fround(1 / Math.fround(theta ** Math.fround((2 * i) / headDim)));
  const cos = new Float32Array(B * T * headDim);
  const sin = new Float32Array(B * T * headDim);
  let o = 0;
  for (let b = 0; b < B; b++) {
    const row = positions[b];
    for (let t = 0; t < T; t++, o += headDim) {
      const p = row[t];
      for (let i = 0; i < half; i++) {
        const f = Math.fround(p * invFreq[i]);
        const c = Math.cos(f);
        const s = Math.sin(f);
        cos[o + i] = c;
        cos[o + half + i] = c;
        sin[o + i] = -s;
        sin[o + half + i] = s;
      }
    }
  }
  return { cos, sin };
}

/** Rotary embedding tables for `positions` ([B][T] absolute positions), in the layout applyRope uses (see ropeArrays). */
export function ropeTables(positions: number[][], headDim: number, theta: number): RopeTables {
  const half = headDim / 2;
  const B = positions.length;
  const T = positions[0]?.length ?? 0;
  const { cos, sin } = ropeArrays(positions, headDim, theta);
  const swap = new Float32Array(headDim * headDim);
  for (let i = 0; i < half; i++) {
    swap[(half + i) * headDim + i] = 1; // out[i] = x[half + i]
    swap[i * headDim + half + i] = 1; // out[half + i] = x[i]
  }
  return { cos: tf.tensor4d(cos, [B, T, 1, headDim]), sin: tf.tensor4d(sin, [B, T, 1, headDim]), swap: tf.tensor2d(swap, [headDim, headDim]) };
}

/**
 * Apply rotary embeddings to x [B, T, heads, D]: x·cos + rotate_half(x)·sin, where
 * rotate_half(x) = [−x₂, x₁] is computed as (x · swap) with the sign in the sin table. One
 * exact permutation product replaces the split / negate / concat of the textbook form (and
 * their gradients).
 */
export function applyRope(x: Tensor4D, rope: RopeTables): Tensor4D {
  const [B, T, H, D] = x.shape;
  const swapped = tf.reshape(tf.matMul(tf.reshape(x, [B * T * H, D]) as Tensor2D, rope.swap), [B, T, H, D]);
  return tf.add(tf.mul(x, rope.cos), tf.mul(swapped, rope.sin)) as Tensor4D;
}

/**
 * x [M, K] · w [K, N] (+ b [N]), the product of every linear layer (and of LoRA's factors): one
 * fused kernel where the fused kernels run (the same bits as the tfjs ops, fewer kernels),
 * otherwise `tf.matMul` / `tf.fused.matMul`.
 */
export function linearProduct(x: Tensor2D, w: Tensor2D, b?: Tensor): Tensor2D {
  if (fusedKernelsActive() && x.dtype === 'float32' && w.dtype === 'float32') return fusedLinear(x, w, b) as Tensor2D;
  return (b ? tf.fused.matMul({ a: x, b: w, bias: b }) : tf.matMul(x, w)) as Tensor2D;
}

/** Rotary positions from an attention mask: cumsum(mask) − 1 (pads get 1, as transformers' generate does). */
export function positionsFromMask(mask: number[][], past = 0): number[][] {
  return mask.map((row) => {
    let c = 0;
    return row.map((m) => {
      if (m) c++;
      return m ? c - 1 + past : 1;
    });
  });
}

/** Labels as nested arrays (a tensor is read back once). */
export function labelsToArray(labels: number[][] | Tensor2D): number[][] {
  return Array.isArray(labels) ? labels : (labels.arraySync() as number[][]);
}

/**
 * The answer tokens of a batch with Hugging Face label semantics: for each position t < T−1
 * whose next label is not −100, the row `b·T + t` of the flattened logits, its target
 * `labels[b][t+1]` and its sequence `b`. Labels outside [0, V) are a ConfigError.
 */
export function answerPositions(B: number, T: number, V: number, labels: number[][]): { rows: number[]; targets: number[]; seq: number[] } {
  if (labels.length !== B) throw new ConfigError(`labels has ${labels.length} rows but logits has batch ${B}`, [{ path: 'labels', message: `expected ${B} rows` }]);
  const rows: number[] = [];
  const targets: number[] = [];
  const seq: number[] = [];
  for (let b = 0; b < B; b++) {
    const l = labels[b];
    if (l.length !== T) throw new ConfigError(`labels[${b}] has length ${l.length} but logits has ${T} positions`, [{ path: `labels[${b}]`, message: `expected length ${T}` }]);
    // HF shift: logits at t predict labels at t + 1.
    for (let t = 0; t < T - 1; t++) {
      const y = l[t + 1];
      if (y === -100) continue;
      if (!Number.isInteger(y) || y < 0 || y >= V) {
        throw new ConfigError(`labels[${b}][${t + 1}] = ${y} is not a token id in [0, ${V}) nor -100 (ignored)`, [{ path: `labels[${b}][${t + 1}]`, message: 'bad label' }]);
      }
      rows.push(b * T + t);
      targets.push(y);
      seq.push(b);
    }
  }
  return { rows, targets, seq };
}

/** Token negative log-likelihoods [N] of the selected (row, target) pairs: only those rows' log-softmax is computed. */
export function tokenNll(logits: Tensor3D, rows: number[], targets: number[]): Tensor1D {
  const [B, T, V] = logits.shape;
  const flat = tf.reshape(logits, [B * T, V]);
  const sel = gatherRows(flat, rows) as Tensor2D;
  return softmaxCrossEntropyRows(sel, targets);
}

/**
 * Per-row cross-entropy −log softmax(logits)[target] [N] of logits [N, V], with the fused
 * gradient dy·(softmax − onehot). Written out (not `logSumExp` minus a gather) because the
 * gradient of logSumExp's max runs an `Equal` over all N·V logits, the single most expensive
 * kernel of a training step on WASM; and the forward pass keeps exp(x − max) and its row sums,
 * so the backward pass divides instead of exponentiating again (WASM's exp costs ~12 ns).
 */
export function softmaxCrossEntropyRows(logits: Tensor2D, targets: number[] | Int32Array): Tensor1D {
  const [N, V] = logits.shape;
  if (fusedKernelsActive() && logits.dtype === 'float32') return fusedSoftmaxCrossEntropy(logits, targets) as Tensor1D;
  const f = tf.customGrad((...args: unknown[]) => {
    const x = args[0] as Tensor2D;
    const save = args[1] as (ts: Tensor[]) => void;
    const z = tf.sub(x, tf.max(x, 1, true)) as Tensor2D;
    const e = tf.exp(z) as Tensor2D;
    const s = tf.sum(e, 1, true) as Tensor2D;
    const flatIdx = new Int32Array(N);
    for (let i = 0; i < N; i++) flatIdx[i] = i * V + targets[i];
    const idx = tf.tensor1d(flatIdx, 'int32');
    const value = tf.sub(tf.log(tf.reshape(s, [N])), tf.gather(tf.reshape(z, [-1]), idx)) as Tensor1D;
    idx.dispose();
    save([e, s]);
    return {
      value,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const onehot = tf.cast(tf.oneHot(tf.tensor1d(Int32Array.from(targets), 'int32'), V), 'float32');
        return [tf.mul(tf.sub(tf.div(saved[0], saved[1]), onehot), tf.reshape(dy, [N, 1]))];
      },
    };
  });
  return f(logits) as Tensor1D;
}

/**
 * Mean cross-entropy over answer tokens, with Hugging Face label semantics: `labels` are
 * aligned with `inputIds` (the shift happens here: logits at t predict labels[t+1]) and
 * positions labelled -100 are ignored. With no answer token at all the result is 0.
 */
export function answerNll(logits: Tensor3D, labels: number[][] | Tensor2D): Scalar {
  return tf.tidy(() => {
    const [B, T, V] = logits.shape;
    const { rows, targets } = answerPositions(B, T, V, labelsToArray(labels));
    if (rows.length === 0) return tf.mul(tf.sum(logits), 0) as Scalar;
    return tf.mean(tokenNll(logits, rows, targets)) as Scalar;
  });
}

/**
 * Per-sequence mean answer NLL [B] (for methods such as NPO that weigh sequences separately).
 * A sequence without answer tokens gets 0.
 */
export function answerNllPerSequence(logits: Tensor3D, labels: number[][] | Tensor2D): Tensor1D {
  return tf.tidy(() => {
    const [B, T, V] = logits.shape;
    const { rows, targets, seq } = answerPositions(B, T, V, labelsToArray(labels));
    if (rows.length === 0) return tf.mul(tf.sum(logits, [1, 2]), 0) as Tensor1D;
    const counts = new Array(B).fill(0);
    for (const s of seq) counts[s]++;
    // Segment mean as a [B, N] matmul (UnsortedSegmentSum is missing on WASM).
    const w = new Float32Array(B * seq.length);
    seq.forEach((b, i) => (w[b * seq.length + i] = 1 / counts[b]));
    const nll = tf.reshape(tokenNll(logits, rows, targets), [-1, 1]);
    return tf.reshape(tf.matMul(tf.tensor2d(w, [B, seq.length]), nll), [B]) as Tensor1D;
  });
}
