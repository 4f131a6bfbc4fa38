/**
 * Safetensors for the BABERT encoder: the model module's reader and writer (one implementation
 * of the format in the SDK), with the map-of-tensors shape the encoder code uses.
 */
import * as model from '../model/safetensors';

export interface RawTensor {
  dtype: string;
  shape: number[];
  data: Float32Array | Int32Array;
}

/** Every tensor of a safetensors file: floats as Float32Array, integers as Int32Array. */
export function readSafetensorsMap(file: string): Map<string, RawTensor> {
  return model.readSafetensors(file).tensors;
}

/** Write F32 tensors (I32 for Int32Array data) as a safetensors file, keys sorted, atomically. */
export function writeSafetensorsMap(file: string, tensors: Map<string, { shape: number[]; data: Float32Array | Int32Array }>, metadata?: Record<string, string>): void {
  model.writeSafetensors(file, tensors, metadata);
}
