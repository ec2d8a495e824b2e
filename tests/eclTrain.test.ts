/**
 * ECL CNN training (src/train/eclCnn.ts) — the CI smoke training: a few hundred simulated tracks,
 * one or two epochs on the TF.js wasm backend. The exported model (PyTorch layout, card from
 * eclCnnCard) must reproduce TF.js's own predictions through our runtime (dense and fast paths) to
 * ≤ 1e-5; a seed must reproduce a run bit for bit; the layout conversion is checked element by element.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError, OptionError } from "../src/errors.js";
import { ECL_CNN_FC1_INPUTS } from "../src/models/architectures.js";
import { EclCnnFast } from "../src/models/eclCnnFast.js";
import { readModelFile, writeModelFile } from "../src/models/modelFile.js";
import { Model } from "../src/models/runtime.js";
import { buildEclSample, type EclSample } from "../src/reco/eclSample.js";
import { simulateEclRows } from "../src/cli/eval.js";
import { eclCnnBundleFromTrainingWeights, trainEclCnn, type EclCnnTrainResult } from "../src/train/eclCnn.js";

let sample: EclSample;
let trained: EclCnnTrainResult;

beforeAll(async () => {
  sample = buildEclSample(simulateEclRows(700, 77));
  trained = await trainEclCnn(sample, { charge: -1, seed: 5, epochs: 2, batchSize: 64, keepNetwork: true });
});
afterAll(() => trained?.network?.dispose());

describe("ECL CNN smoke training", () => {
  it("trains on a few hundred tracks of one charge and records what it did in the card", () => {
    expect(trained.trainSamples + trained.validationSamples).toBe(Array.from(sample.charge).filter((c) => c === -1).length);
    expect(trained.trainSamples).toBeGreaterThan(200);
    expect(trained.history.length).toBe(2);
    for (const e of trained.history) {
      expect(Number.isFinite(e.trainLoss) && Number.isFinite(e.validationLoss)).toBe(true);
      expect(e.deadFraction).toBeGreaterThanOrEqual(0);
      expect(e.deadFraction).toBeLessThan(1);
    }
    const card = trained.bundle.card;
    expect(card.name).toBe("ecl-cnn-charge-minus");
    expect(card.charge).toBe(-1);
    expect(card.training).toMatchObject({ samples: trained.trainSamples, epochs: 2, seed: 5 });
    expect(card.training!.framework).toMatch(/TensorFlow\.js 4\.22\.0 \(wasm backend\)/);
    expect(card.training!.notes).toMatch(/validation loss/);
    const again = readModelFile(writeModelFile(trained.bundle));
    expect(again.card).toEqual(card);
  });

  it("the exported weights reproduce TF.js's predictions through the runtime (dense and fast) to ≤ 1e-5", async () => {
    const { network, validation } = trained;
    const tfjs = network!.evaluate(validation!.arrays, validation!.n);
    const inputs = { image: validation!.arrays.image, pt: validation!.arrays.pt, thetaId: Float32Array.from(validation!.arrays.thetaId), phiId: Float32Array.from(validation!.arrays.phiId) };
    const dense = (await Model.create(trained.bundle)).predict(inputs, validation!.n);
    const fast = (await EclCnnFast.create(trained.bundle)).predict(inputs, validation!.n);
    let dp = 0, dl = 0, fp = 0;
    for (let i = 0; i < validation!.n; i++) {
      dp = Math.max(dp, Math.abs(dense.muonProbability[i]! - tfjs.muonProbability[i]!));
      fp = Math.max(fp, Math.abs(fast.muonProbability[i]! - tfjs.muonProbability[i]!));
    }
    for (let i = 0; i < 2 * validation!.n; i++) dl = Math.max(dl, Math.abs(dense.logits[i]! - tfjs.logits[i]!));
    expect(dp).toBeLessThanOrEqual(1e-5);
    expect(fp).toBeLessThanOrEqual(1e-5);
    expect(dl).toBeLessThanOrEqual(1e-5);
    // the predictions are not all alike (the comparison is not trivially satisfied)
    expect(Math.max(...tfjs.muonProbability) - Math.min(...tfjs.muonProbability)).toBeGreaterThan(1e-3);
  });

  it("a seed reproduces the run bit for bit; another seed does not", async () => {
    const a = await trainEclCnn(sample, { charge: 1, seed: 9, epochs: 1, batchSize: 128 });
    const b = await trainEclCnn(sample, { charge: 1, seed: 9, epochs: 1, batchSize: 128 });
    const c = await trainEclCnn(sample, { charge: 1, seed: 10, epochs: 1, batchSize: 128 });
    for (const [name, t] of a.bundle.tensors) expect(Array.from(b.bundle.tensors.get(name)!.data as Float32Array)).toEqual(Array.from(t.data as Float32Array));
    expect(Array.from(c.bundle.tensors.get("fc2.bias")!.data as Float32Array)).not.toEqual(Array.from(a.bundle.tensors.get("fc2.bias")!.data as Float32Array));
    expect(a.bundle.card.charge).toBe(1);
  });

  it("typed errors for bad options and for a sample without tracks of the charge", async () => {
    await expect(trainEclCnn(sample, { charge: -1, seed: 1, epochs: 0 })).rejects.toThrow(OptionError);
    await expect(trainEclCnn(sample, { charge: -1, seed: -1 })).rejects.toThrow(/seed/);
    await expect(trainEclCnn(sample, { charge: -1, seed: 1, validationFraction: 1 })).rejects.toThrow(/validation fraction/);
    const empty: EclSample = { ...sample, n: 0 };
    await expect(trainEclCnn(empty, { charge: -1, seed: 1 })).rejects.toThrow(InputError);
  });
});

describe("training layout → PyTorch state_dict layout", () => {
  it("conv taps, the pixel-major fc1 rows and fc2 land where PyTorch keeps them", () => {
    // every weight holds its own index, so each output element names where it came from
    const ramp = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => i);
    const values = new Map<string, Float32Array>([
      ["convW", ramp(9 * 64)], ["convB", ramp(64)], ["embTheta", ramp(44 * 22)], ["embPhi", ramp(144 * 18)],
      ["fc1W", ramp(ECL_CNN_FC1_INPUTS * 128)], ["fc1B", ramp(128)], ["fc2W", ramp(128 * 2)], ["fc2B", ramp(2)],
    ]);
    const b = eclCnnBundleFromTrainingWeights(values, 1, { source: "test" });
    const get = (name: string): Float32Array => b.tensors.get(name)!.data as Float32Array;
    // conv1.weight[c][0][kh][kw] = convW[(kh·3 + kw)·64 + c]: channel 5, tap (2, 1)
    expect(get("conv1.weight")[5 * 9 + 7]).toBe(7 * 64 + 5);
    // fc1.weight[o][c·49 + pix] = fc1W[(pix·64 + c)·128 + o]: o = 3, c = 10, pix = 20
    expect(get("fc1.weight")[3 * ECL_CNN_FC1_INPUTS + 10 * 49 + 20]).toBe((20 * 64 + 10) * 128 + 3);
    // pt and embedding columns keep their order: column 3136 (pt) and 3176 (last φ dimension)
    expect(get("fc1.weight")[3 * ECL_CNN_FC1_INPUTS + 3136]).toBe(3136 * 128 + 3);
    expect(get("fc1.weight")[127 * ECL_CNN_FC1_INPUTS + 3176]).toBe(3176 * 128 + 127);
    // fc2.weight[k][o] = fc2W[o·2 + k]
    expect(get("fc2.weight")[1 * 128 + 50]).toBe(50 * 2 + 1);
    expect(Array.from(get("emb_phi.weight").slice(0, 3))).toEqual([0, 1, 2]);
    expect(() => eclCnnBundleFromTrainingWeights(new Map(), 1, { source: "x" })).toThrow(/convW/);
  });
});
