// The 'model' namespace of the public API (see sdk/index.ts): LLaVA-1.5 in tfjs.
export * from './safetensors';
export * from './config';
export * from './keys';
export * from './layers';
export * from './llava';
export * from './checkpoint';
export * from './load';
export * from './generate';
export * from './tokenizer';
export * from './processor';
export * from './lora';
export * from './optim';
export * from './pretrain';
export * from './default';
