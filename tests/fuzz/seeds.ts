/**
 * Valid seed inputs for the fuzz targets: small models covering every layer op, models of the real
 * architectures with seeded random weights, likelihood tables, and simulated events. All seeded
 * (Random), so a fuzz run is reproducible from its fast-check seed alone.
 *
 * The golden hashes (tests/fixtures/goldenInputs.ts) use randomKlmDnn and syntheticLikelihoodTables:
 * changing either changes tests/fixtures/golden.json (rewrite it with node scripts/golden.mjs --write).
 */
import { klmDnnCard, klmDnnGlobalCard, klmDnnTensorShapes } from "../../src/models/architectures.js";
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, type ModelBundle, type ModelCard, type Tensor } from "../../src/models/card.js";
import { LIKELIHOOD_FORMAT, REDUCED_CHI2_BINS, type LikelihoodTablesJson, type HypothesisTables } from "../../src/reco/muidLikelihood.js";
import { validOutcomeLayers } from "../../src/reco/muidPatterns.js";
import { Random } from "../../src/sim/random.js";

/** A float32 tensor of U(−bound, bound) values. */
function uniformTensor(shape: number[], rng: Random, bound = 0.5, positive = false): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { dtype: "F32", shape, data: Float32Array.from({ length: n }, () => (positive ? rng.range(0.5, 2) : rng.range(-bound, bound))) };
}

/** Every op but conv2d: float input → batchnorm → dense(leakyrelu); index input → embedding; concat → dense logits. */
export function tinyMixedModel(seed: number): ModelBundle {
  const rng = new Random(seed);
  const card: ModelCard = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    name: "fuzz-tiny-mixed",
    task: "fuzz",
    description: "fuzz seed: batchnorm, dense, embedding, concat",
    inputs: [
      { name: "features", shape: [6], kind: "float" },
      { name: "id", shape: [1], kind: "index", range: [0, 3] },
    ],
    layers: [
      { op: "batchnorm", input: "features", output: "bn", weight: "bn.w", bias: "bn.b", runningMean: "bn.m", runningVar: "bn.v", eps: 1e-5 },
      { op: "dense", input: "bn", output: "h", weight: "h.w", bias: "h.b", activation: "leakyrelu", alpha: 0.02 },
      { op: "embedding", input: "id", output: "e", weight: "e.w", indexOffset: 1 },
      { op: "concat", inputs: ["h", "e"], output: "c" },
      { op: "dense", input: "c", output: "logits", weight: "out.w", bias: "out.b", activation: "none" },
    ],
    outputs: [{ name: "logits", shape: [2], classes: ["pion", "muon"], description: "logits" }],
    provenance: { source: "tests/fuzz/seeds.ts" },
  };
  const tensors = new Map<string, Tensor>([
    ["bn.w", uniformTensor([6], rng)],
    ["bn.b", uniformTensor([6], rng)],
    ["bn.m", uniformTensor([6], rng)],
    ["bn.v", uniformTensor([6], rng, 0, true)],
    ["h.w", uniformTensor([8, 6], rng)],
    ["h.b", uniformTensor([8], rng)],
    ["e.w", uniformTensor([5, 3], rng)],
    ["out.w", uniformTensor([2, 11], rng)],
    ["out.b", uniformTensor([2], rng)],
  ]);
  return { card, tensors };
}

/** conv2d 3×3 on a [2, 3, 4] image, relu, then dense logits. */
export function tinyConvModel(seed: number): ModelBundle {
  const rng = new Random(seed);
  const card: ModelCard = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    name: "fuzz-tiny-conv",
    task: "fuzz",
    description: "fuzz seed: conv2d, dense",
    inputs: [{ name: "image", shape: [2, 3, 4], kind: "float" }],
    layers: [
      { op: "conv2d", input: "image", output: "conv", weight: "conv.w", bias: "conv.b", inShape: [2, 3, 4], kernel: 3, padding: 1, stride: 1, activation: "relu" },
      { op: "dense", input: "conv", output: "logits", weight: "out.w", bias: "out.b", activation: "none" },
    ],
    outputs: [{ name: "logits", shape: [2], classes: ["pion", "muon"], description: "logits" }],
    provenance: { source: "tests/fuzz/seeds.ts" },
  };
  const tensors = new Map<string, Tensor>([
    ["conv.w", uniformTensor([3, 2, 3, 3], rng)],
    ["conv.b", uniformTensor([3], rng)],
    ["out.w", uniformTensor([2, 36], rng)],
    ["out.b", uniformTensor([2], rng)],
  ]);
  return { card, tensors };
}

/** The KLM DNN architecture (121 or 5 inputs) with seeded random weights (PyTorch-like scale). */
export function randomKlmDnn(seed: number, globalOnly = false): ModelBundle {
  const rng = new Random(seed);
  const inputs = globalOnly ? 5 : 121;
  const card = (globalOnly ? klmDnnGlobalCard : klmDnnCard)({ source: `seeded random weights (Random(${seed}))` });
  const tensors = new Map<string, Tensor>();
  for (const [name, shape] of klmDnnTensorShapes(inputs)) {
    const fanIn = shape.length > 1 ? shape[1]! : 1;
    if (name.endsWith("running_var")) tensors.set(name, uniformTensor(shape, rng, 0, true));
    else tensors.set(name, uniformTensor(shape, rng, 1 / Math.sqrt(fanIn)));
  }
  return { card, tensors };
}

/** Zero-valued inputs of a card (ids at the bottom of their range), for `batch` rows. */
export function zeroInputs(card: ModelCard, batch: number): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const spec of card.inputs) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    out[spec.name] = new Float32Array(batch * n).fill(spec.kind === "index" ? spec.range![0] : 0);
  }
  return out;
}

/** Likelihood tables of the file format with smooth, distinct values (as tests/muidLikelihood.test.ts builds them). */
export function syntheticLikelihoodTables(longitudinalRows = Infinity): LikelihoodTablesJson {
  const hyp = (muon: boolean): HypothesisTables => ({
    pdg: muon ? 13 : 211,
    longitudinal: validOutcomeLayers().slice(0, longitudinalRows).map(({ outcome, lastLayer }) => ({
      outcome,
      lastLayer,
      layers: Array.from({ length: 29 }, (_, i) => (muon ? 0.8 : 0.4) + 0.01 * (i % 10) + 0.002 * lastLayer + 0.0003 * (outcome % 7)),
    })),
    transverse: [0, 1, 2].flatMap((detector) =>
      Array.from({ length: 18 }, (_, k) => {
        const ndof = 2 * (k + 1);
        const a = (muon ? 0.5 : -0.3) + 0.1 * detector + 0.01 * ndof;
        const b = (muon ? -1.5 : -0.6) - 0.05 * detector - 0.002 * ndof;
        return {
          detector, ndof, threshold: ndof === 14 || ndof === 28 ? 5 : 0.5, scaleX: muon ? 1.1 : 0.7, scaleY: muon ? 2 : 3,
          histogram: Array.from({ length: REDUCED_CHI2_BINS }, (_, i) => a + b * (0.05 + 0.1 * i)),
        };
      }),
    ),
  });
  return { format: LIKELIHOOD_FORMAT, version: 1, efficiency: 0.96, hypotheses: { muon: hyp(true), pion: hyp(false) } };
}
