// The 'runtime' namespace of the public API (see sdk/index.ts): the tfjs engine and backends, seeded
// randomness, named errors, atomic file writes, progress and versions. Every name is listed on purpose.
export { tf } from './tf';
export type { Tensor, Scalar, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Variable, Rank } from './tf';
export { BACKENDS, availableBackends, backendInfo, ensureInit, init } from './backend';
export type { BackendInfo, BackendName, InitOptions } from './backend';
export { CheckpointError, ConfigError, DatasetError, DivergenceError, EraserError, UnknownComponentError, issuesFromZod, joinPath } from './errors';
export type { DatasetIssue, Issue } from './errors';
export { DEFAULT_SEED, Rng } from './rng';
export type { RngState } from './rng';
export { expectNoLeakedTensors, liveTensors } from './leaks';
export { Registry } from './registry';
export { progress, setProgressFactory } from './progress';
export type { OnProgress, ProgressBar, ProgressFactory } from './progress';
export { packageRoot, writeDirAtomic, writeFileAtomic, writeJsonAtomic } from './fsutil';
export { versions } from './versions';
export { wasmThreadsStatus, shutdownWasmThreads } from './wasm-threads';
export type { WasmThreadsStatus } from './wasm-threads';
export { wasmFastMatMulInstalled, wasmNativeMatMulActive } from './wasm-matmul';
export { fusedKernelsActive, setFusedKernels } from './wasm-fused';
export { nativeBlasStatus, nativeBlasFile } from './native-blas';
export type { NativeBlasStatus } from './native-blas';
