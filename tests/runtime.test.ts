import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { Model } from "../src/models/runtime.js";
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, type LayerSpec, type ModelBundle, type ModelCard, type Tensor } from "../src/models/card.js";
import { InputError, ModelError, OptionError } from "../src/errors.js";
import { Random } from "../src/sim/random.js";
import { buildTfjsReference, type TfjsReference } from "./reference/tfjsForward.js";
import { klmInputs } from "./fixtures/klmInputs.js";
import { eclInputs } from "./fixtures/eclCnn.js";

const repoRoot = resolve(fileURLToPath(new URL("..", import.meta.url)));
const klmJsonPath = resolve(repoRoot, "../shared/reference/basf2/klm_dnn_v4.5.json");
const haveBasf2 = existsSync(klmJsonPath);
if (!haveBasf2) console.warn(`SKIPPED: KLM DNN runtime tests need ${klmJsonPath} (../shared/reference/basf2 is absent)`);

function f32Tensor(shape: number[], data: Float32Array): Tensor {
  return { dtype: "F32", shape, data };
}

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** max over i of |a − b| / max(1, |b|): absolute for O(1) values, relative for large ones. */
function scaledDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
}

// ---------------------------------------------------------------------------------------------
// (a) The public Belle II KLM DNN (klm.md §1.5), built from the reference JSON's own structure.

interface KlmJson {
  architecture: { layers: { op: string; name?: string; tensors?: string[]; eps?: number; negative_slope?: number }[]; input_names: string[] };
  tensors: { name: string; shape: number[]; dtype: string; values: number[] }[];
}

function klmBundle(json: KlmJson): ModelBundle {
  const tensors = new Map<string, Tensor>();
  for (const t of json.tensors) if (t.dtype === "float32") tensors.set(t.name, f32Tensor(t.shape, Float32Array.from(t.values)));
  const layers: LayerSpec[] = [];
  let value = "klm";
  const arch = json.architecture.layers;
  for (let i = 0; i < arch.length; i++) {
    const l = arch[i];
    if (l.op === "batchnorm1d_eval") {
      const [weight, bias, runningMean, runningVar] = l.tensors!;
      layers.push({ op: "batchnorm", input: value, output: "normalised", weight, bias, runningMean, runningVar, eps: l.eps! });
      value = "normalised";
    } else if (l.op === "linear") {
      const next = arch[i + 1];
      const leaky = next?.op === "leaky_relu";
      layers.push({ op: "dense", input: value, output: l.name!, weight: `${l.name}.weight`, bias: `${l.name}.bias`, activation: leaky ? "leakyrelu" : "none", ...(leaky ? { alpha: next.negative_slope } : {}) });
      value = l.name!;
    } else if (l.op !== "leaky_relu" && l.op !== "softmax") {
      throw new Error(`klm_dnn_v4.5.json: unexpected layer op ${l.op}`);
    }
  }
  layers[layers.length - 1].output = "logits"; // the last linear layer (linearout) gives the logits
  const card: ModelCard = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    name: "klm-dnn-v4.5",
    task: "klm-dnn",
    description: "basf2 KLMMuonIDDNN v4.5 (public test weight file)",
    inputs: [{ name: "klm", shape: [121], kind: "float", features: json.architecture.input_names }],
    layers,
    outputs: [{ name: "logits", shape: [2], classes: ["pion", "muon"], description: "logits; softmax class 1 = muon" }],
    provenance: { source: "belle2/basf2 mva/methods/tests/KLMMuonIDDNNWeightFile.xml via shared/reference/basf2/klm_dnn_v4.5.json", license: "LGPL-3.0" },
  };
  return { card, tensors };
}


describe.skipIf(!haveBasf2)("KLM DNN v4.5 (public basf2 weights) against TF.js", () => {
  let bundle: ModelBundle;
  let reference: TfjsReference;
  let inputs: Float32Array;
  const rows = 300;

  beforeAll(async () => {
    bundle = klmBundle(JSON.parse(readFileSync(klmJsonPath, "utf8")) as KlmJson);
    reference = await buildTfjsReference(bundle);
    const mean = bundle.tensors.get("batchnorm.running_mean")!.data as Float32Array;
    const variance = bundle.tensors.get("batchnorm.running_var")!.data as Float32Array;
    inputs = klmInputs(mean, variance, rows, new Random(20250311));
  });

  it("builds the 121 → BN → 242 → 100 → 50 → 50 → 50 → 2 card from the file", () => {
    const dense = bundle.card.layers.filter((l) => l.op === "dense");
    expect(dense.map((l) => bundle.tensors.get(l.weight)!.shape)).toEqual([[242, 121], [100, 242], [50, 100], [50, 50], [50, 50], [2, 50]]);
    expect(dense.map((l) => l.activation)).toEqual(["leakyrelu", "leakyrelu", "leakyrelu", "leakyrelu", "leakyrelu", "none"]);
    expect(dense.slice(0, 5).every((l) => l.alpha === 0.01)).toBe(true);
    expect(bundle.card.layers[0]).toMatchObject({ op: "batchnorm", eps: 1e-5 });
  });

  for (const foldBatchNorm of [true, false]) {
    it(`muon probability within 1e-6 of TF.js on every row (foldBatchNorm ${foldBatchNorm})`, async () => {
      const model = await Model.create(bundle, { foldBatchNorm });
      const ours = model.predict({ klm: inputs }, rows);
      const ref = reference.predict({ klm: inputs }, rows);
      const diff = maxAbsDiff(ours.muonProbability, ref.muonProbability);
      const logitDiff = scaledDiff(ours.logits, ref.logits);
      console.log(`KLM DNN fold=${foldBatchNorm}: max |Δp_μ| vs TF.js = ${diff.toExponential(2)}, max |Δlogit|/max(1, |logit|) = ${logitDiff.toExponential(2)} over ${rows} rows`);
      expect(diff).toBeLessThanOrEqual(1e-6);
      // logits are O(1) except on the 1e6 rows (up to ~1e5), where float32 cancellation in the first
      // layer leaves ~1e-5 relative differences: compare relative to max(1, |logit|)
      expect(logitDiff).toBeLessThanOrEqual(1e-4);
      // The inputs are not degenerate: the probabilities span the range.
      const p = Array.from(ours.muonProbability);
      expect(Math.min(...p)).toBeLessThan(0.05);
      expect(Math.max(...p)).toBeGreaterThan(0.95);
      expect(p.every((v) => v >= 0 && v <= 1)).toBe(true);
    });
  }

  it("folded and unfused BatchNorm agree within 1e-6", async () => {
    const folded = (await Model.create(bundle, { foldBatchNorm: true })).predict({ klm: inputs }, rows);
    const unfused = (await Model.create(bundle, { foldBatchNorm: false })).predict({ klm: inputs }, rows);
    const diff = maxAbsDiff(folded.muonProbability, unfused.muonProbability);
    console.log(`KLM DNN folded vs unfused: max |Δp_μ| = ${diff.toExponential(2)}`);
    expect(diff).toBeLessThanOrEqual(1e-6);
  });

  it("SIMD and scalar kernels give identical bits; the batch size does not change a row's bits", async () => {
    const simd = await Model.create(bundle, { maxBatch: 64 });
    const scalar = await Model.create(bundle, { kernels: "scalar" });
    const a = simd.predict({ klm: inputs }, rows); // 300 > 64: re-plans
    const b = scalar.predict({ klm: inputs }, rows);
    expect(bits(a.logits)).toEqual(bits(b.logits));
    expect(bits(a.muonProbability)).toEqual(bits(b.muonProbability));
    for (const r of [0, 1, 17, 299]) {
      const one = simd.predict({ klm: inputs.subarray(r * 121, (r + 1) * 121) }, 1);
      expect(bits(one.logits)).toEqual(bits(a.logits.subarray(2 * r, 2 * r + 2)));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// (b) An ECL-CNN-shaped model (ecl.md §1.2) with seeded random weights.

function eclCard(): ModelCard {
  return {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    name: "ecl-cnn-test",
    task: "ecl-cnn",
    description: "ECL CNN shape with random weights (test)",
    inputs: [
      { name: "image", shape: [1, 7, 7], kind: "float", unit: "GeV" },
      { name: "pt", shape: [1], kind: "float", unit: "GeV/c" },
      { name: "thetaId", shape: [1], kind: "index", range: [14, 57] },
      { name: "phiId", shape: [1], kind: "index", range: [0, 143] },
    ],
    layers: [
      { op: "conv2d", input: "image", output: "conv", weight: "conv1.weight", bias: "conv1.bias", inShape: [1, 7, 7], kernel: 3, padding: 1, stride: 1, activation: "relu" },
      { op: "embedding", input: "thetaId", output: "embTheta", weight: "emb_theta.weight", indexOffset: -14 },
      { op: "embedding", input: "phiId", output: "embPhi", weight: "emb_phi.weight", indexOffset: 0 },
      { op: "concat", inputs: ["conv", "pt", "embTheta", "embPhi"], output: "features" },
      { op: "dense", input: "features", output: "fc1", weight: "fc1.weight", bias: "fc1.bias", activation: "relu" },
      { op: "dense", input: "fc1", output: "logits", weight: "fc2.weight", bias: "fc2.bias", activation: "none" },
    ],
    outputs: [{ name: "logits", shape: [2], classes: ["pion", "muon"], description: "logits; softmax class 1 = muon" }],
    provenance: { source: "random weights, seed 1977" },
  };
}

function uniformTensor(shape: number[], bound: number, rng: Random): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return f32Tensor(shape, Float32Array.from({ length: n }, () => rng.range(-bound, bound)));
}

function eclBundle(seed: number): ModelBundle {
  const rng = new Random(seed);
  const tensors = new Map<string, Tensor>([
    // PyTorch default init bounds 1/√fan_in (conv fan_in = 9, fc1 3177); fc2 ±1 so the
    // probabilities spread over (0, 1) like a trained model's; embeddings N(0, 1).
    ["conv1.weight", uniformTensor([64, 1, 3, 3], 1 / 3, rng)],
    ["conv1.bias", uniformTensor([64], 1 / 3, rng)],
    ["emb_theta.weight", f32Tensor([44, 22], Float32Array.from({ length: 44 * 22 }, () => rng.gauss()))],
    ["emb_phi.weight", f32Tensor([144, 18], Float32Array.from({ length: 144 * 18 }, () => rng.gauss()))],
    ["fc1.weight", uniformTensor([128, 3177], 1 / Math.sqrt(3177), rng)],
    ["fc1.bias", uniformTensor([128], 1 / Math.sqrt(3177), rng)],
    ["fc2.weight", uniformTensor([2, 128], 1, rng)],
    ["fc2.bias", uniformTensor([2], 1 / Math.sqrt(128), rng)],
  ]);
  return { card: eclCard(), tensors };
}

/** ECL-like inputs (ecl.md §1.5): mostly empty 7×7 windows with a few deposits clipped at 1 GeV. */

describe("ECL-CNN-shaped model against TF.js", () => {
  const bundle = eclBundle(1977);
  const rows = 200;
  const inputs = eclInputs(rows, new Random(5));
  let reference: TfjsReference;
  beforeAll(async () => {
    reference = await buildTfjsReference(bundle);
  });

  it("muon probability and logits within 1e-6 of TF.js", async () => {
    const model = await Model.create(bundle);
    const ours = model.predict(inputs, rows);
    const ref = reference.predict(inputs, rows);
    const diff = maxAbsDiff(ours.muonProbability, ref.muonProbability);
    const logitDiff = scaledDiff(ours.logits, ref.logits);
    console.log(`ECL CNN: max |Δp_μ| vs TF.js = ${diff.toExponential(2)}, max |Δlogit|/max(1, |logit|) = ${logitDiff.toExponential(2)}`);
    expect(diff).toBeLessThanOrEqual(1e-6);
    expect(logitDiff).toBeLessThanOrEqual(1e-6);
    const p = Array.from(ours.muonProbability);
    expect(Math.max(...p) - Math.min(...p)).toBeGreaterThan(0.1); // the weights and inputs matter
  });

  it("an off-by-one embedding offset is detected (the comparison can fail)", async () => {
    const shifted = eclBundle(1977);
    (shifted.card.layers[1] as { indexOffset: number }).indexOffset = -13;
    shifted.card.inputs[2].range = [14, 56];
    const few = { image: inputs.image.subarray(0, 2 * 49), pt: inputs.pt.subarray(0, 2), thetaId: [20, 30], phiId: [5, 6] };
    const refFew = reference.predict(few, 2);
    expect(maxAbsDiff((await Model.create(shifted)).predict(few, 2).logits, refFew.logits)).toBeGreaterThan(1e-3);
  });

  it("SIMD and scalar kernels give identical bits", async () => {
    const a = (await Model.create(bundle)).predict(inputs, rows);
    const b = (await Model.create(bundle, { kernels: "scalar" })).predict(inputs, rows);
    expect(bits(a.logits)).toEqual(bits(b.logits));
    expect(bits(a.muonProbability)).toEqual(bits(b.muonProbability));
  });

  it("(c) bad input gives an InputError naming the problem, and the model still predicts correctly", async () => {
    const model = await Model.create(bundle);
    const good = { image: inputs.image.subarray(0, 3 * 49), pt: inputs.pt.subarray(0, 3), thetaId: inputs.thetaId.slice(0, 3), phiId: inputs.phiId.slice(0, 3) };
    const before = model.predict(good, 3);
    const nan = Float32Array.from(good.image);
    nan[49 + 10] = NaN;
    const inf = Float32Array.from(good.pt);
    inf[2] = -Infinity;
    const cases: [Record<string, Float32Array | number[]>, number, RegExp][] = [
      [{ ...good, image: good.image.subarray(0, 100) }, 3, /input "image" has 100 values; batch 3 × 49 per row needs 147/],
      [{ ...good, image: nan }, 3, /input "image" row 1 column 10 is NaN/],
      [{ ...good, pt: inf }, 3, /input "pt" row 2 column 0 is -Infinity/],
      [{ ...good, thetaId: [14, 58, 20] }, 3, /input "thetaId" row 1: id 58 is outside the valid range 14\.\.57/],
      [{ ...good, thetaId: [13, 20, 20] }, 3, /input "thetaId" row 0: id 13 is outside the valid range 14\.\.57/],
      [{ ...good, phiId: [1, 2.5, 3] }, 3, /input "phiId" row 1: id 2.5 is not an integer/],
      [{ ...good, phiId: [1, 2, NaN] }, 3, /input "phiId" row 2: id NaN is not an integer/],
      [{ image: good.image, pt: good.pt, thetaId: good.thetaId }, 3, /input "phiId" is missing/],
      [{ ...good, energy: [1, 2, 3] }, 3, /unknown input "energy"/],
      [good, 0, /batch must be a positive integer/],
      [good, 2.5, /batch must be a positive integer/],
    ];
    for (const [bad, batch, message] of cases) {
      let error: unknown;
      try {
        model.predict(bad, batch);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InputError);
      expect((error as InputError).code).toBe("INPUT");
      expect((error as Error).message).toMatch(message);
      const after = model.predict(good, 3);
      expect(bits(after.logits)).toEqual(bits(before.logits));
    }
  });

  it("(d) 10 000 predictions do not grow wasm memory; a larger batch re-plans once and stays correct", async () => {
    const model = await Model.create(bundle, { maxBatch: 16 });
    const bytes = model.memoryBytes;
    const rng = new Random(11);
    for (let i = 0; i < 10_000; i++) {
      const batch = 1 + (i % 16);
      const start = rng.int(rows - batch);
      const r = model.predict({
        image: inputs.image.subarray(start * 49, (start + batch) * 49), pt: inputs.pt.subarray(start, start + batch),
        thetaId: inputs.thetaId.slice(start, start + batch), phiId: inputs.phiId.slice(start, start + batch),
      }, batch);
      if (r.muonProbability.length !== batch) throw new Error("wrong output length");
    }
    expect(model.memoryBytes).toBe(bytes);
    expect(model.capacity).toBe(16);
    const big = model.predict(inputs, rows);
    expect(model.capacity).toBe(rows);
    const expected = (await Model.create(bundle)).predict(inputs, rows);
    expect(bits(big.logits)).toEqual(bits(expected.logits));
    // outputs are copies, not views into wasm memory
    expect(big.logits.buffer).not.toBe(expected.logits.buffer);
    expect(big.logits.buffer.byteLength).toBe(rows * 2 * 4);
  });
});

// ---------------------------------------------------------------------------------------------
// (e) The paths the two basf2 shapes do not take: an unfused BatchNorm (its output read twice),
// concat segments that must be copied (a padded dense output, a value used twice), three classes.

describe("affine, concat copies and n-class softmax against TF.js", () => {
  const rng = new Random(99);
  const t = (shape: number[], bound: number) => uniformTensor(shape, bound, rng);
  const tensors = new Map<string, Tensor>([
    ["bn.weight", t([5], 2)], ["bn.bias", t([5], 1)], ["bn.mean", t([5], 1)],
    ["bn.var", f32Tensor([5], Float32Array.from({ length: 5 }, () => rng.range(0.1, 3)))],
    ["d1.weight", t([6, 5], 0.5)], ["d1.bias", t([6], 0.5)],
    ["out.weight", t([3, 6 + 5 + 3 + 6], 0.5)], ["out.bias", t([3], 0.5)],
  ]);
  const card: ModelCard = {
    format: MODEL_FORMAT, formatVersion: MODEL_FORMAT_VERSION, name: "paths", task: "test", description: "test",
    inputs: [{ name: "a", shape: [5], kind: "float" }, { name: "b", shape: [3], kind: "float" }],
    layers: [
      { op: "batchnorm", input: "a", output: "bn", weight: "bn.weight", bias: "bn.bias", runningMean: "bn.mean", runningVar: "bn.var", eps: 1e-5 },
      { op: "dense", input: "bn", output: "d1", weight: "d1.weight", bias: "d1.bias", activation: "leakyrelu", alpha: 0.2 },
      { op: "concat", inputs: ["d1", "bn", "b", "d1"], output: "cat" },
      { op: "dense", input: "cat", output: "logits", weight: "out.weight", bias: "out.bias", activation: "none" },
    ],
    outputs: [{ name: "logits", shape: [3], classes: ["pion", "muon", "kaon"], description: "test" }],
    provenance: { source: "test" },
  };
  const bundle: ModelBundle = { card, tensors };

  it("matches TF.js for batch 1, 2, 3 and 17", async () => {
    const reference = await buildTfjsReference(bundle);
    const model = await Model.create(bundle, { maxBatch: 2 });
    for (const batch of [1, 2, 3, 17]) {
      const a = Float32Array.from({ length: batch * 5 }, () => rng.range(-3, 3));
      const b = Array.from({ length: batch * 3 }, () => rng.range(-3, 3));
      const ours = model.predict({ a, b }, batch);
      const ref = reference.predict({ a, b }, batch);
      expect(ours.logits.length).toBe(3 * batch);
      expect(scaledDiff(ours.logits, ref.logits)).toBeLessThanOrEqual(1e-6);
      expect(maxAbsDiff(ours.muonProbability, ref.muonProbability)).toBeLessThanOrEqual(1e-6);
    }
  });
});

describe("Model.create rejects bad options and models", () => {
  it("OptionError for bad options, ModelError for a one-class output or an index read by a dense layer", async () => {
    const bundle = eclBundle(1);
    await expect(Model.create(bundle, { kernels: "gpu" as "simd" })).rejects.toBeInstanceOf(OptionError);
    await expect(Model.create(bundle, { maxBatch: 0 })).rejects.toBeInstanceOf(OptionError);
    const indexToDense: ModelBundle = {
      card: {
        ...eclCard(),
        inputs: [{ name: "id", shape: [1], kind: "index", range: [0, 3] }],
        layers: [{ op: "dense", input: "id", output: "logits", weight: "w", bias: "b", activation: "none" }],
      },
      tensors: new Map([["w", f32Tensor([2, 1], new Float32Array(2))], ["b", f32Tensor([2], new Float32Array(2))]]),
    };
    await expect(Model.create(indexToDense)).rejects.toThrow(/ids can only feed embedding layers/);
    const oneClass: ModelBundle = {
      card: { ...indexToDense.card, inputs: [{ name: "x", shape: [1], kind: "float" }], layers: [{ op: "dense", input: "x", output: "logits", weight: "w", bias: "b", activation: "none" }], outputs: [{ name: "logits", shape: [1], classes: ["muon"], description: "" }] },
      tensors: new Map([["w", f32Tensor([1, 1], new Float32Array(1))], ["b", f32Tensor([1], new Float32Array(1))]]),
    };
    await expect(Model.create(oneClass)).rejects.toBeInstanceOf(ModelError);
  });
});
