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

// The chain: simulate → reconstruct → features → infer (what the CLI, the demo and the browser page run).
export { defaultDetectorConditions, eventRandom, simulateEvent } from "./sim/event.js";
export { generateBBbarEvent, generateGunEvent, klmStudyGun, eclStudyGun, particleAtIp } from "./sim/generators.js";
export type { DetectorConditions, SimTrackRow, TrackAtIp, KlmHit, EclDigit } from "./sim/types.js";
export { KlmReconstructor, hasKlmDnnValue, type KlmTrackReconstruction } from "./reco/klmChain.js";
export { KlmLikelihood } from "./reco/muidLikelihood.js";
export { eclCnnInput, batchEclCnnInputs, type EclCnnInput } from "./reco/eclImage.js";
export { EclCnnFast } from "./models/eclCnnFast.js";
export { measureChainLatency, type ChainLatency, type ChainModels } from "./eval/latency.js";
export {
  CombinedMuonId, logitDifferences, validateCombinedMuonIdTables, COMBINED_SOURCES,
  type CombinedMuonIdTables, type CombinedTrackInputs, type CombinedMuonProbability, type CombinedSourceName,
} from "./reco/combinedMuonId.js";
