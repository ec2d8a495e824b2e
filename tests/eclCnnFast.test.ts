/**
 * The sparse/folded ECL CNN (assembly/eclCnn.ts, src/models/eclCnnFast.ts) against the dense runtime
 * (runtime.ts Model) on the same bundle, and both against a float64 forward pass: sparse, dense,
 * saturated and empty windows, ids at the range edges; SIMD = scalar twin bit for bit; batching and
 * instances do not change a bit; bad inputs are typed errors.
 */
import { existsSync, readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { simulateEclRows } from "../src/cli/eval.js";
import { readModelFile } from "../src/models/modelFile.js";
import { buildEclSample, eclSampleImages } from "../src/reco/eclSample.js";
import { InputError, ModelError } from "../src/errors.js";
import type { ModelBundle } from "../src/models/card.js";
import { EclCnnFast } from "../src/models/eclCnnFast.js";
import { Model } from "../src/models/runtime.js";
import { Random } from "../src/sim/random.js";
import { eclInputs, randomEclCnn } from "./fixtures/eclCnn.js";
import { forwardFloat64 } from "./reference/float64Forward.js";

type Inputs = { image: Float32Array; pt: Float32Array; thetaId: Float32Array; phiId: Float32Array };

/**
 * A random CNN scaled so that its logits are O(10) (the fixture's are O(0.1)) and about half the
 * conv biases are negative (so relu(bias) = 0 for those channels, and δ = 0 is common): the regime
 * of a trained model, where rounding differences would show.
 */
function strongEclCnn(seed: number): ModelBundle {
  const bundle = randomEclCnn(seed, 1);
  const scale = (name: string, f: number): void => {
    const t = bundle.tensors.get(name)!.data as Float32Array;
    for (let i = 0; i < t.length; i++) t[i] *= f;
  };
  scale("conv1.weight", 30);
  scale("fc1.weight", 8);
  scale("fc2.weight", 6);
  return bundle;
}

/** Windows of three kinds: sparse (a few crystals), dense (every pixel 1–50 MeV), saturated (all 1 GeV), plus empty. */
function windows(kind: "sparse" | "dense" | "saturated" | "empty", rows: number, rng: Random): Inputs {
  const base = eclInputs(rows, rng);
  const image = new Float32Array(rows * 49);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < 49; k++) {
      const i = r * 49 + k;
      if (kind === "sparse") image[i] = base.image[i]!;
      else if (kind === "dense") image[i] = rng.range(0.001, 0.05);
      else if (kind === "saturated") image[i] = 1;
    }
  }
  return { ...base, image };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe("sparse/folded ECL CNN", () => {
  const models: { name: string; bundle: ModelBundle }[] = [
    { name: "fixture weights", bundle: randomEclCnn(5) },
    { name: "scaled weights (logits O(10))", bundle: strongEclCnn(11) },
  ];
  const built = new Map<string, { fast: EclCnnFast; scalar: EclCnnFast; dense: Model }>();
  beforeAll(async () => {
    for (const m of models)
      built.set(m.name, { fast: await EclCnnFast.create(m.bundle), scalar: await EclCnnFast.create(m.bundle, { kernels: "scalar" }), dense: await Model.create(m.bundle) });
  });

  for (const m of models) {
    for (const kind of ["sparse", "dense", "saturated", "empty"] as const) {
      it(`${m.name}, ${kind} windows: equals the dense path to ≤ 1e-5, as close to float64 as the dense path is`, () => {
        const { fast, scalar, dense } = built.get(m.name)!;
        const rows = 120;
        const inputs = windows(kind, rows, new Random(kind.length * 101 + 7));
        const f = fast.predict(inputs, rows);
        const d = dense.predict(inputs, rows);
        const exact = forwardFloat64(m.bundle, inputs, rows);
        expect(maxAbsDiff(f.muonProbability, d.muonProbability)).toBeLessThanOrEqual(1e-5);
        // logits: 1e-5 relative to their size (they reach ~20 for the scaled model)
        for (let i = 0; i < rows * 2; i++) expect(Math.abs(f.logits[i]! - d.logits[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(exact.logits[i]!)));
        // not worse than the dense path against exact arithmetic (allowing one more float32 rounding step)
        const fastError = maxAbsDiff(f.logits, exact.logits);
        const denseError = maxAbsDiff(d.logits, exact.logits);
        expect(fastError).toBeLessThanOrEqual(2 * denseError + 4e-7 * Math.max(1, ...Array.from(exact.logits, Math.abs)));
        // SIMD and scalar twin: bit for bit
        const s = scalar.predict(inputs, rows);
        expect(Array.from(s.logits)).toEqual(Array.from(f.logits));
        expect(Array.from(s.muonProbability)).toEqual(Array.from(f.muonProbability));
      });
    }
  }

  it("the scaled model exercises the regime it is meant to (logits beyond ±5, probabilities near 0 and 1)", () => {
    const { dense } = built.get(models[1]!.name)!;
    const inputs = windows("sparse", 200, new Random(3));
    const d = dense.predict(inputs, 200);
    expect(Math.max(...Array.from(d.logits, Math.abs))).toBeGreaterThan(5);
    expect(Math.min(...d.muonProbability)).toBeLessThan(0.05);
    expect(Math.max(...d.muonProbability)).toBeGreaterThan(0.95);
  });

  it("rows are independent: batch of 37 = 37 calls of batch 1, bit for bit; a second instance gives the same bits", async () => {
    const bundle = models[1]!.bundle;
    const { fast } = built.get(models[1]!.name)!;
    const rows = 37;
    const inputs = windows("sparse", rows, new Random(77));
    const all = fast.predict(inputs, rows);
    for (let r = 0; r < rows; r++) {
      const one = fast.predict({ image: inputs.image.slice(r * 49, (r + 1) * 49), pt: inputs.pt.slice(r, r + 1), thetaId: inputs.thetaId.slice(r, r + 1), phiId: inputs.phiId.slice(r, r + 1) }, 1);
      expect(one.muonProbability[0]).toBe(all.muonProbability[r]);
      expect(one.logits[1]).toBe(all.logits[r * 2 + 1]);
    }
    const other = await EclCnnFast.create(bundle);
    expect(Array.from(other.predict(inputs, rows).logits)).toEqual(Array.from(all.logits));
  });

  it("grows its buffers for a large batch (1000 rows) and stays equal to the dense path", () => {
    const { fast, dense } = built.get(models[0]!.name)!;
    const inputs = windows("sparse", 1000, new Random(5));
    expect(maxAbsDiff(fast.predict(inputs, 1000).muonProbability, dense.predict(inputs, 1000).muonProbability)).toBeLessThanOrEqual(1e-5);
  });

  it("a single bright pixel changes only the conv outputs around it: moving it changes the answer", () => {
    const { fast, dense } = built.get(models[1]!.name)!;
    const image = new Float32Array(2 * 49);
    image[24] = 0.2; // centre
    image[49 + 0] = 0.2; // corner: a receptive field cut by the padding
    const inputs = { image, pt: Float32Array.of(0.5, 0.5), thetaId: Float32Array.of(30, 30), phiId: Float32Array.of(10, 10) };
    const f = fast.predict(inputs, 2), d = dense.predict(inputs, 2);
    expect(maxAbsDiff(f.logits, d.logits)).toBeLessThanOrEqual(1e-5 * 20);
    expect(f.logits[0]).not.toBe(f.logits[2]);
  });

  it("rejects bad inputs with typed errors naming the input, and stays usable", () => {
    const { fast } = built.get(models[0]!.name)!;
    const good = windows("sparse", 2, new Random(1));
    expect(() => fast.predict({ ...good, thetaId: Float32Array.of(13, 30) }, 2)).toThrow(InputError);
    expect(() => fast.predict({ ...good, thetaId: Float32Array.of(13, 30) }, 2)).toThrow(/thetaId.*row 0.*14\.\.57/);
    expect(() => fast.predict({ ...good, phiId: Float32Array.of(0, 144) }, 2)).toThrow(/phiId.*row 1/);
    expect(() => fast.predict({ ...good, phiId: Float32Array.of(0, 1.5) }, 2)).toThrow(/not an integer/);
    const nan = good.image.slice();
    nan[60] = NaN;
    expect(() => fast.predict({ ...good, image: nan }, 2)).toThrow(/image.*row 1 column 11/);
    expect(() => fast.predict({ ...good, pt: Float32Array.of(0.5) }, 2)).toThrow(/pt.*1 values, needs 2/);
    expect(() => fast.predict({ ...good, extra: [1] } as never, 2)).toThrow(/unknown input "extra"/);
    expect(() => fast.predict(good, 0)).toThrow(InputError);
    expect(fast.predict(good, 2).muonProbability.length).toBe(2);
  });

  it("refuses a model that is not the ECL CNN architecture", async () => {
    const bundle = randomEclCnn(2);
    const changed: ModelBundle = { card: { ...bundle.card, layers: bundle.card.layers.map((l) => (l.op === "dense" && l.output === "fc1" ? { ...l, activation: "none" as const } : l)) }, tensors: bundle.tensors };
    await expect(EclCnnFast.create(changed)).rejects.toThrow(ModelError);
    await expect(EclCnnFast.create({ card: { ...bundle.card, task: "klm-dnn" }, tensors: bundle.tensors })).rejects.toThrow(/ecl-cnn/);
  });
});

describe("the shipped ECL CNN weights", () => {
  for (const charge of ["minus", "plus"] as const) {
    const file = `weights/ecl-cnn-${charge}.safetensors`;
    it.runIf(existsSync(file))(`${file}: fast = dense to ≤ 1e-5 on simulated windows of its charge`, async () => {
      // a copy: safetensors.ts decodes with bytes.slice(), which on a Node Buffer is a view, not a copy
      const bundle = readModelFile(new Uint8Array(readFileSync(file)));
      expect(bundle.card.charge).toBe(charge === "plus" ? 1 : -1);
      const sample = buildEclSample(simulateEclRows(400, 99), { charge: bundle.card.charge! });
      const inputs = { image: eclSampleImages(sample), pt: sample.pt, thetaId: Float32Array.from(sample.thetaId), phiId: Float32Array.from(sample.phiId) };
      const f = (await EclCnnFast.create(bundle)).predict(inputs, sample.n);
      const d = (await Model.create(bundle)).predict(inputs, sample.n);
      expect(sample.n).toBeGreaterThan(150);
      expect(maxAbsDiff(f.muonProbability, d.muonProbability)).toBeLessThanOrEqual(1e-5);
      for (let i = 0; i < 2 * sample.n; i++) expect(Math.abs(f.logits[i]! - d.logits[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(d.logits[i]!)));
    });
  }
});
