// The 'boundary' namespace of the public API (see sdk/index.ts): BABERT (docs/babert.md).
export * from './corpus';
export * from './statistics';
export * from './vectors';
export * from './safetensors';
export * from './bert';
export * from './tags';
export * from './f1';
export * from './crf';
export * from './vocab';
export * from './train';
export * from './silver';
export * from './experiment';
export * from './plots';
