/**
 * KLM muon-ID DNN models applied to the chain's features: model files (safetensors + muid card, read by
 * src/models/load.ts) whose single input takes the 121 features (basf2's DNN) or the 5 global ones (the
 * global-only variant of ISSUE 4). Each becomes a "method" of `klm.muonId`.
 *
 * Method names: given explicitly (name=file), or from a weight file's name: weights/klm-dnn.safetensors
 * → "dnn", klm-dnn-global.safetensors → "dnnGlobal" (the "klm-" prefix dropped, the rest camel-cased).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { InputError, ModelError, MuidError } from "../errors.js";
import { loadModel } from "../models/load.js";
import type { Model } from "../models/runtime.js";
import { KLM_FEATURES, KLM_GLOBAL_FEATURES } from "./klmFeatures.js";

export interface KlmDnnMethod {
  name: string;
  file: string;
  model: Model;
  /** features read per track: 121 or 5 */
  inputSize: number;
}

/** "klm-dnn-global.safetensors" → "dnnGlobal". */
export function methodNameFromFile(file: string): string {
  const base = path.basename(file).replace(/\.safetensors$/i, "").replace(/^klm[-_]/i, "");
  const words = base.split(/[-_. ]+/).filter((w) => w !== "");
  if (words.length === 0) throw new InputError(`cannot name a method after ${JSON.stringify(file)}`);
  return words.map((w, i) => (i === 0 ? w.toLowerCase() : w[0]!.toUpperCase() + w.slice(1).toLowerCase())).join("");
}

/** KLM DNN weight files in a folder: klm-dnn*.safetensors, sorted by name. */
export function discoverKlmDnnFiles(folder: string): { name: string; file: string }[] {
  if (!fs.existsSync(folder)) return [];
  return fs.readdirSync(folder)
    .filter((f) => /^klm-dnn.*\.safetensors$/i.test(f))
    .sort()
    .map((f) => ({ name: methodNameFromFile(f), file: path.join(folder, f) }));
}

/** Loads the models and checks that each reads 121 or 5 features. */
export async function loadKlmDnnMethods(specs: readonly { name: string; file: string }[]): Promise<KlmDnnMethod[]> {
  const methods: KlmDnnMethod[] = [];
  const seen = new Set<string>();
  for (const { name, file } of specs) {
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(name)) throw new InputError(`method name ${JSON.stringify(name)} must be letters and digits`);
    if (name === "likelihood" || seen.has(name)) throw new InputError(`method name "${name}" is used twice (or reserved)`);
    seen.add(name);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(fs.readFileSync(file));
    } catch (e) {
      throw new MuidError("IO", `cannot read ${file}: ${(e as Error).message}`);
    }
    const model = await loadModel(bytes);
    const inputs = model.card.inputs;
    const size = inputs.length === 1 ? inputs[0]!.shape.reduce((a, b) => a * b, 1) : -1;
    if (inputs.length !== 1 || inputs[0]!.kind !== "float" || (size !== KLM_FEATURES && size !== KLM_GLOBAL_FEATURES)) {
      throw new ModelError(`${file}: a KLM method needs one float input of ${KLM_FEATURES} or ${KLM_GLOBAL_FEATURES} features`);
    }
    methods.push({ name, file, model, inputSize: size });
  }
  return methods;
}

/** Muon probabilities of a method for tracks given their 121 features. */
export function scoreKlmDnn(method: KlmDnnMethod, features: readonly Float32Array[]): Float32Array {
  const n = features.length;
  if (n === 0) return new Float32Array(0);
  const w = method.inputSize;
  const batch = new Float32Array(n * w);
  for (let i = 0; i < n; i++) batch.set(features[i]!.subarray(0, w), i * w);
  return method.model.predict({ [method.model.card.inputs[0]!.name]: batch }, n).muonProbability;
}
