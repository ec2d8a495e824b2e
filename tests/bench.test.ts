/**
 * `muid bench` smoke test (no timing assertions: speed is what bench/ measures, not what tests hold):
 * a quick run on 5 BB̄ events writes the JSON document with the agreed structure, and every peer
 * engine that is installed gives the muon probabilities muid gives, within 1e-5, on the same
 * per-event batches. The two hand-written peers (plain JS loops, the TF.js graph with its permuted
 * fc1 columns) are also held against the independent float64 forward pass of tests/reference.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { runBench } from "../src/cli/bench.js";
import { JsForward } from "../src/eval/jsForward.js";
import { buildTfjsForward } from "../src/eval/benchTfjs.js";
import { readModelFile } from "../src/models/modelFile.js";
import { Random } from "../src/sim/random.js";
import { createEngine } from "../src/models/engine.js";
import { forwardFloat64 } from "./reference/float64Forward.js";
import { eclInputs } from "./fixtures/eclCnn.js";

const WEIGHTS = ["weights/klm-dnn.safetensors", "weights/ecl-cnn-plus.safetensors", "weights/ecl-cnn-minus.safetensors", "weights/klm-likelihood.json"];
const haveWeights = WEIGHTS.every((f) => existsSync(f));
if (!haveWeights) console.log("[bench] shipped weights missing in weights/: bench tests skipped");

const REQUIRED_ENGINES = ["muid", "onnxruntimeWeb", "onnxruntimeNode", "tfjsWasm", "tfjsCpu", "js"];

describe.skipIf(!haveWeights)("muid bench", () => {
  const dir = mkdtempSync(join(tmpdir(), "muid-bench-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes the JSON document and every installed peer agrees with muid within 1e-5", async () => {
    const jsonPath = join(dir, "bench.json");
    let printed = "";
    const out = { write: (t: string) => ((printed += t), true) } as unknown as NodeJS.WritableStream;
    const err = { write: () => true } as unknown as NodeJS.WritableStream;
    await runBench({ events: "5", quick: true, warmupSeconds: "0", browser: false, workers: false, json: jsonPath, resultsDir: join(dir, "results"), quiet: true }, out, err);

    const doc = JSON.parse(readFileSync(jsonPath, "utf8"));
    expect(doc.format).toBe("muid-bench");
    expect(doc.events).toBeGreaterThan(0);
    expect(doc.events).toBeLessThanOrEqual(5);
    expect(doc.tracks).toBeGreaterThanOrEqual(doc.events);
    for (const name of REQUIRED_ENGINES) {
      expect(doc.msPerEvent).toHaveProperty(name);
      const v = doc.msPerEvent[name];
      if (v !== null) expect(v).toBeGreaterThan(0);
    }
    expect(doc.msPerEvent.muid).toBeGreaterThan(0);
    expect(doc.msPerEvent.js).toBeGreaterThan(0); // plain JS needs nothing installed
    const shares = ["klmReconstruction", "klmDnn", "eclImage", "eclCnn"].map((s) => doc.stages[s].share as number);
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(Number.isFinite(doc.peakGflops) && doc.peakGflops > 0).toBe(true);
    expect(Number.isFinite(doc.denseGflops) && doc.denseGflops > 0).toBe(true);
    expect(doc.browser).toBeNull();
    expect(doc.workers).toBeNull();
    expect(doc.machine.cores).toBeGreaterThan(0);
    expect(doc.targets.length).toBe(5);

    // the dated results file went to --results-dir, with the same content
    const results = join(dir, "results", `${doc.date.slice(0, 10)}-${doc.machine.host.replace(/[^A-Za-z0-9._-]/g, "_")}.json`);
    expect(JSON.parse(readFileSync(results, "utf8")).date).toBe(doc.date);

    // every engine ran or says why not; those that ran agree with the chain's own probabilities
    for (const e of doc.engines) {
      console.log(`[bench] ${e.name}: ${e.available ? `max |Δp| ${e.agreement.max.toExponential(1)} on ${e.agreement.events} events` : e.unavailable}`);
      if (!e.available) {
        expect(e.unavailable).toMatch(/not installed|failed/);
        continue;
      }
      expect(e.agreement.events).toBe(doc.events);
      expect(e.agreement.max).toBeLessThanOrEqual(1e-5);
      expect(e.agreement.agrees).toBe(true);
      // the KLM DNN ran on KLM tracks: its comparison happened
      expect(e.agreement.maxAbsDiff.klmDnn).not.toBeNull();
    }
    // the ONNX peers are dev dependencies of this repository: present here
    for (const name of ["onnxruntimeWeb", "onnxruntimeNode", "tfjsWasm", "tfjsCpu", "js", "muidDense"])
      expect(doc.engines.find((e: { name: string }) => e.name === name)?.available).toBe(true);
    expect(printed).toContain("| engine");
  });

  it("the plain-JS and TF.js peers give the logits of a float64 forward pass on the shipped weights", async () => {
    await tf.setBackend("cpu");
    const rng = new Random(8);
    const klm = readModelFile(new Uint8Array(readFileSync("weights/klm-dnn.safetensors")));
    const features = Float32Array.from({ length: 16 * 121 }, () => rng.gauss());
    const ecl = readModelFile(new Uint8Array(readFileSync("weights/ecl-cnn-minus.safetensors")));
    const eclRows = eclInputs(16, rng);
    for (const [bundle, inputs] of [[klm, { features }], [ecl, eclRows]] as const) {
      // logits, not probabilities: p(μ) saturates and would hide a wrong column order
      const reference = forwardFloat64(bundle, inputs, 16).logits;
      const js = JsForward.create(bundle).predict(inputs, 16).logits;
      const graph = buildTfjsForward(tf, bundle);
      const tfjs = graph.predict(inputs, 16).logits;
      graph.dispose();
      let worstJs = 0, worstTf = 0, spread = 0;
      for (let i = 0; i < reference.length; i++) {
        const scale = Math.max(1, Math.abs(reference[i]!));
        worstJs = Math.max(worstJs, Math.abs(js[i]! - reference[i]!) / scale);
        worstTf = Math.max(worstTf, Math.abs(tfjs[i]! - reference[i]!) / scale);
        spread = Math.max(spread, Math.abs(reference[i]! - reference[i % 2]!));
      }
      console.log(`[bench] ${bundle.card.name}: largest logit error (relative above 1) plain JS ${worstJs.toExponential(1)}, TF.js ${worstTf.toExponential(1)} vs float64; logits spread ${spread.toFixed(2)}`);
      expect(spread).toBeGreaterThan(0.1); // the rows differ, so a permutation error would show
      expect(worstJs).toBeLessThanOrEqual(1e-5);
      expect(worstTf).toBeLessThanOrEqual(1e-5);
    }
  });
});

describe("the wasm f32x4 peak micro-kernel (assembly/peak.ts)", () => {
  it("does exactly `iterations` float32 mul + add steps on every chain (its FLOP count)", async () => {
    const kernels = (await createEngine()).kernels as unknown as Record<string, (iterations: number, seed: number) => number>;
    // a ← fround(fround(a·m) + c) per lane, emulated in JS (assembly/peak.ts: m = 1 − 2⁻²⁰, c = 2⁻²⁰)
    const m = Math.fround(1 - 2 ** -20), c = Math.fround(2 ** -20);
    const expected = (chains: number, iterations: number, seed: number): number => {
      const f = Math.fround;
      let sum = 0;
      for (let j = 0; j < chains; j++) {
        let a = f(seed + j);
        for (let i = 0; i < iterations; i++) a = f(f(a * m) + c);
        const lanes = f(f(f(a + a) + a) + a); // sum4: ((l0 + l1) + l2) + l3, the four lanes equal
        sum = j === 0 ? lanes : f(sum + lanes);
      }
      return sum;
    };
    for (const [name, chains] of [["peakMulAdd8", 8], ["peakMulAdd12", 12]] as const) {
      for (const iterations of [0, 1, 1000, 20_000]) {
        expect(kernels[name]!(iterations, 0.5)).toBe(expected(chains, iterations, 0.5));
        expect(kernels[name]!(iterations, 0.5)).not.toBe(expected(chains, iterations + 1, 0.5));
      }
    }
  });
});
