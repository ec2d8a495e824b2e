import { readModelFile } from "./modelFile.js";
import { Model, type ModelOptions } from "./runtime.js";

/** Reads a muid model file (safetensors + model card) and prepares it for inference. */
export async function loadModel(bytes: Uint8Array, options?: ModelOptions): Promise<Model> {
  return Model.create(readModelFile(bytes), options);
}
