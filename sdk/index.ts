/**
 * eraserlab: machine-unlearning research on multimodal LLMs (SafeEraser) and boundary-aware
 * Chinese sequence labelling (BABERT). One public entry; every area is a namespace.
 */
export * as runtime from './runtime';
