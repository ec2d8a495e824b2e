/**
 * KLM DNN training (src/train/klmDnn.ts) and the shipped models: a tiny smoke training on an
 * in-process sample whose exported model our wasm runtime reproduces against TF.js's own eval-mode
 * predictions; PyTorch's BatchNorm running-statistics update checked on hand-computed batches; the
 * export's [out, in] layout; reproducibility from the seed; the weights in weights/ loaded, validated
 * and run (wasm SIMD and scalar vs the float64 reference) on hand-made inputs.
 */
import { existsSync, readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { InputError, OptionError } from "../src/errors.js";
import { KLM_DNN_HIDDEN_WIDTHS, klmDnnTensorShapes } from "../src/models/architectures.js";
import type { ModelBundle } from "../src/models/card.js";
import { readModelFile, writeModelFile, countParameters } from "../src/models/modelFile.js";
import { Model } from "../src/models/runtime.js";
import { validateModel } from "../src/models/validate.js";
import { KLM_FEATURES } from "../src/reco/klmFeatures.js";
import { Random } from "../src/sim/random.js";
import { klmDnnBundleFromWeights, klmDnnInputRows, KlmDnnNetwork, trainKlmDnn, type KlmDnnTrainResult } from "../src/train/klmDnn.js";
import { buildKlmSample, type KlmSample } from "../src/train/klmSample.js";
import { forwardFloat64 } from "./reference/float64Forward.js";

const PROVENANCE = { source: "test" };

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

describe("smoke training on an in-process sample", () => {
  let sample: KlmSample;
  const results = new Map<string, KlmDnnTrainResult>();

  beforeAll(async () => {
    sample = await buildKlmSample({ seed: 21, events: 40 });
    for (const variant of ["klm-dnn", "klm-dnn-global"] as const) results.set(variant, await trainKlmDnn(sample, { variant, seed: 5, epochs: 1, batchSize: 32 }));
  });

  it("has a few hundred tracks of both species", () => {
    expect(sample.n).toBeGreaterThan(200);
    const muons = sample.isMuon.reduce((a, b) => a + b, 0);
    expect(muons).toBeGreaterThan(0.3 * sample.n);
    expect(muons).toBeLessThan(0.7 * sample.n);
  });

  for (const [variant, inputs] of [["klm-dnn", 121], ["klm-dnn-global", 5]] as const) {
    it(`${variant}: the exported file reproduces TF.js's eval-mode predictions in our runtime to ≤ 1e-5`, async () => {
      const result = results.get(variant)!;
      const bundle = readModelFile(writeModelFile(result.bundle));
      expect(bundle.card.task).toBe(variant);
      expect(bundle.card.inputs[0]!.shape).toEqual([inputs]);
      const model = await Model.create(bundle);
      const rows = result.validationRows;
      expect(rows.length).toBeGreaterThan(10);
      const p = model.predict({ features: klmDnnInputRows(sample, rows, inputs) }, rows.length).muonProbability;
      expect(maxAbsDifference(p, result.validationProbability)).toBeLessThanOrEqual(1e-5);
      // the predictions are not all the same value (the network did something)
      expect(Math.max(...p) - Math.min(...p)).toBeGreaterThan(1e-3);
    });

    it(`${variant}: basf2's state_dict names and PyTorch shapes, running statistics updated`, () => {
      const { bundle, trainSamples } = results.get(variant)!;
      for (const [name, shape] of klmDnnTensorShapes(inputs)) expect(bundle.tensors.get(name)?.shape, name).toEqual(shape);
      expect(bundle.tensors.get("linearin.weight")!.shape).toEqual([KLM_DNN_HIDDEN_WIDTHS[0], inputs]);
      const tracked = bundle.tensors.get("batchnorm.num_batches_tracked")!;
      expect(tracked.dtype).toBe("I64");
      expect(Number((tracked.data as BigInt64Array)[0])).toBe(Math.floor(trainSamples / 32));
      const mean = bundle.tensors.get("batchnorm.running_mean")!.data as Float32Array;
      // input 3 is extLayer (≥ 0 for most tracks): its running mean has moved away from the initial 0
      expect(mean[3]).toBeGreaterThan(1);
      // 64,318 trainable parameters for 121 inputs (klm.md §1.5); the global variant has 116·242 + 2·116 fewer
      expect(countParameters(bundle)).toBe(inputs === 121 ? 64318 : 64318 - 116 * 242 - 2 * 116);
    });
  }

  it("training is reproducible from its seed", async () => {
    const again = await trainKlmDnn(sample, { variant: "klm-dnn-global", seed: 5, epochs: 1, batchSize: 32 });
    const first = results.get("klm-dnn-global")!;
    for (const [name, t] of first.bundle.tensors) {
      if (t.dtype !== "F32") continue;
      expect(Array.from(again.bundle.tensors.get(name)!.data as Float32Array), name).toEqual(Array.from(t.data as Float32Array));
    }
    expect(again.history[0]!.validationLoss).toBe(first.history[0]!.validationLoss);
  });

  it("rejects samples and options it cannot train on with typed errors", async () => {
    await expect(trainKlmDnn(sample, { variant: "klm-dnn", seed: 1, batchSize: 1 })).rejects.toBeInstanceOf(OptionError);
    await expect(trainKlmDnn(sample, { variant: "klm-dnn", seed: 1, batchSize: 100000 })).rejects.toBeInstanceOf(InputError);
    await expect(trainKlmDnn(sample, { variant: "nope" as never, seed: 1 })).rejects.toBeInstanceOf(OptionError);
    const pionsOnly = { ...sample, isMuon: new Uint8Array(sample.n) };
    await expect(trainKlmDnn(pionsOnly, { variant: "klm-dnn", seed: 1, batchSize: 32 })).rejects.toBeInstanceOf(InputError);
    await expect(trainKlmDnn(sample, { variant: "klm-dnn", seed: 1, lrDecayFactor: 0 })).rejects.toBeInstanceOf(OptionError);
    await expect(trainKlmDnn(sample, { variant: "klm-dnn", seed: 1, lrDecayFactor: 1.5 })).rejects.toBeInstanceOf(OptionError);
  });

  it("the plateau schedule multiplies lr by the factor after lrDecayPatience epochs without improvement, and only then", async () => {
    // a tiny sample over-fits within a few epochs, so the validation loss stalls and the schedule acts
    const r = await trainKlmDnn(sample, { variant: "klm-dnn-global", seed: 3, epochs: 12, patience: 12, batchSize: 32, learningRate: 3e-3, lrDecayFactor: 0.5, lrDecayPatience: 1 });
    const lrs = r.history.map((e) => e.learningRate);
    expect(lrs[0]).toBe(3e-3);
    let expected = 3e-3, best = 0, lastChange = 0, decays = 0;
    for (const e of r.history) {
      expect(e.learningRate).toBe(expected);
      if (e.improved) best = e.epoch;
      if (e.epoch - Math.max(best, lastChange) >= 1) {
        expected *= 0.5;
        lastChange = e.epoch;
        decays++;
      }
    }
    expect(decays).toBeGreaterThan(0);
    // the default keeps a constant learning rate
    expect(new Set(results.get("klm-dnn")!.history.map((e) => e.learningRate))).toEqual(new Set([1e-3]));
  });
});

describe("BatchNorm statistics and export layout", () => {
  it("running statistics follow PyTorch: momentum 0.1, unbiased batch variance", async () => {
    const net = await KlmDnnNetwork.create("klm-dnn-global", 1);
    try {
      // two batches of 3 rows × 5 features; feature k of row r is (r + 1)·(k + 1) in batch 1, and 2, 4, 9 × (k + 1) in batch 2
      const b1 = Float32Array.from({ length: 15 }, (_, i) => (Math.floor(i / 5) + 1) * ((i % 5) + 1));
      const b2 = Float32Array.from({ length: 15 }, (_, i) => [2, 4, 9][Math.floor(i / 5)]! * ((i % 5) + 1));
      net.updateRunningStatistics(b1, 3);
      net.updateRunningStatistics(b2, 3);
      for (let k = 0; k < 5; k++) {
        const c = k + 1;
        // batch 1: values c, 2c, 3c → mean 2c, unbiased variance c²; batch 2: 2c, 4c, 9c → mean 5c, unbiased variance 13c²
        const mean = 0.9 * (0.9 * 0 + 0.1 * 2 * c) + 0.1 * 5 * c;
        const variance = 0.9 * (0.9 * 1 + 0.1 * c * c) + 0.1 * 13 * c * c;
        expect(net.runningMean[k]).toBeCloseTo(mean, 10);
        expect(net.runningVar[k]).toBeCloseTo(variance, 10);
      }
      expect(net.batchesTracked).toBe(2);
    } finally {
      net.dispose();
    }
  });

  it("exports dense kernels as PyTorch [out, in] and matches the float64 reference in eval mode", async () => {
    const net = await KlmDnnNetwork.create("klm-dnn", 7);
    try {
      const rng = new Random(3);
      for (let k = 0; k < KLM_FEATURES; k++) {
        net.runningMean[k] = rng.range(-2, 10);
        net.runningVar[k] = rng.range(0.5, 40);
      }
      net.gamma.assign(net.tf.tensor1d(Float32Array.from({ length: KLM_FEATURES }, () => rng.range(0.5, 1.5))));
      net.beta.assign(net.tf.tensor1d(Float32Array.from({ length: KLM_FEATURES }, () => rng.range(-0.5, 0.5))));
      const weights = net.snapshot();
      const bundle = klmDnnBundleFromWeights(weights, PROVENANCE);
      validateModel(bundle);
      const kernel = weights.values.get("kernel1")!; // [242, 100]
      const w = bundle.tensors.get("hidlayers.0.weight")!;
      expect(w.shape).toEqual([100, 242]);
      for (const [o, i] of [[0, 0], [3, 17], [99, 241], [50, 200]] as const) expect((w.data as Float32Array)[o * 242 + i]).toBe(kernel[i * 100 + o]);
      const rows = 64;
      const x = Float32Array.from({ length: rows * KLM_FEATURES }, () => rng.range(-1, 20));
      const tfjs = net.evaluate(x, rows).muonProbability;
      const reference = forwardFloat64(bundle, { features: x }, rows).muonProbability;
      expect(maxAbsDifference(tfjs, reference)).toBeLessThanOrEqual(1e-5);
    } finally {
      net.dispose();
    }
  });
});

/** A hand-made track: `layers` consecutive barrel layers with hits from layer 1 and ext bits up to `extLayers`. */
function handMadeTrack(layers: number, extLayers: number, pt: number): Float32Array {
  const x = new Float32Array(KLM_FEATURES);
  x[0] = 1.2 * layers; // Σχ²
  x[1] = 2 * layers; // ndof
  x[2] = extLayers - layers; // extLayer − hitLayer (0-based layers: (extLayers − 1) − (layers − 1))
  x[3] = extLayers - 1;
  x[4] = pt;
  for (let slot = 0; slot < 29; slot++) {
    const base = 5 + 4 * slot;
    if (slot < layers) {
      x[base] = slot < 2 ? 2.828 : 3.333; // single-strip widths (klm.md §1.4 examples)
      x[base + 1] = slot === 0 ? 0 : 9.1; // layer pitch
      x[base + 2] = 0.8;
    } else x.fill(-1, base, base + 3);
    x[base + 3] = slot < extLayers ? 1 : 0;
  }
  return x;
}

const SHIPPED = [
  ["weights/klm-dnn.safetensors", "klm-dnn", 121],
  ["weights/klm-dnn-global.safetensors", "klm-dnn-global", 5],
] as const;

describe("the shipped KLM DNN weights", () => {
  for (const [file, task, inputs] of SHIPPED) {
    it(`${file}: loads, validates, and gives the same muon probability in wasm (SIMD and scalar) and float64`, async () => {
      expect(existsSync(file), `${file} is missing: train it (docs/klm-training.md)`).toBe(true);
      const bytes = new Uint8Array(readFileSync(file));
      expect(bytes.length).toBeLessThan(1 << 20);
      const bundle: ModelBundle = readModelFile(bytes);
      validateModel(bundle);
      expect(bundle.card.task).toBe(task);
      expect(bundle.card.inputs[0]!.shape).toEqual([inputs]);
      expect(bundle.card.training?.samples).toBeGreaterThanOrEqual(400000);
      // a penetrating muon-like track (14 of 14 layers hit) and a pion-like one (3 hits of 14 crossed)
      const muonLike = handMadeTrack(14, 14, 1.5).subarray(0, inputs);
      const pionLike = handMadeTrack(3, 14, 1.5).subarray(0, inputs);
      const x = new Float32Array(2 * inputs);
      x.set(muonLike, 0);
      x.set(pionLike, inputs);
      const reference = forwardFloat64(bundle, { features: x }, 2).muonProbability;
      for (const kernels of ["simd", "scalar"] as const) {
        const model = await Model.create(bundle, { kernels });
        const p = model.predict({ features: x }, 2).muonProbability;
        expect(maxAbsDifference(p, reference), kernels).toBeLessThanOrEqual(1e-5);
      }
      expect(reference[0]).toBeGreaterThan(reference[1]!);
    });
  }
});
