// muid-wasm public API: one bundle for Node 20 and browsers.
export * from "./errors.js";
export * from "./models/card.js";
export { validateModel } from "./models/validate.js";
export { readSafetensors, writeSafetensors } from "./models/safetensors.js";
export { readModelFile, writeModelFile, countParameters } from "./models/modelFile.js";
export { Model, type ModelOptions, type Prediction } from "./models/runtime.js";
export { loadModel } from "./models/load.js";
export { rowsToInputs } from "./models/jsonRows.js";
export { importBasf2KlmDnn } from "./models/importBasf2.js";
export { importTorchEclCnn } from "./models/importTorchEcl.js";
export { Random } from "./sim/random.js";
