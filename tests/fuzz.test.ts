/**
 * The CI fuzz run (issue 8): every target of tests/fuzz/targets.ts with a fixed fast-check seed and a
 * share of FUZZ_CI_CASES cases by weight. Every case must end in a valid result or a typed MuidError;
 * a crash (any other exception, a wasm trap, a failed result check, a case over the hang guard) fails
 * the test with its input printed. The long run (≥ 100 000 cases) is `node scripts/fuzz.mjs`.
 */
import { describe, expect, it } from "vitest";
import { FormatError, UnsafeFileError } from "../src/errors.js";
import { CARD_METADATA_KEY } from "../src/models/card.js";
import { readModelFile } from "../src/models/modelFile.js";
import { writeSafetensors } from "../src/models/safetensors.js";
import { KlmLikelihood } from "../src/reco/muidLikelihood.js";
import { unpickle } from "../src/models/pickle.js";
import { loadTorchZip, torchGlobals } from "../src/models/torchZip.js";
import { contiguousStrides, writeTorchStateDictZip } from "./fixtures/torchZipWriter.js";
import type { ModelBundle } from "../src/models/card.js";
import { exportOnnx } from "../src/models/onnx.js";
import { Model } from "../src/models/runtime.js";
import { Random } from "../src/sim/random.js";
import { randomEclCnn } from "./fixtures/eclCnn.js";
import { randomKlmDnn, tinyConvModel, tinyMixedModel } from "./fuzz/seeds.js";
import { runTarget, summaryLine, type FuzzOutcome } from "./fuzz/harness.js";
import { FUZZ_TARGETS } from "./fuzz/targets.js";

/** Total cases of the CI run (the long run takes --cases). */
const FUZZ_CI_CASES = Number(process.env.MUID_FUZZ_CASES ?? 12_000);
const FUZZ_CI_SEED = 20260508;
/**
 * A case slower than this is a hang finding. Generous, so that load on a shared 2-core CI machine
 * never fails the run (the slowest CI case is ~0.5 s unloaded); real pathologies are far slower (the
 * hash bomb the fuzzer found took 14 s on 30 KB). The long run uses 5 s.
 */
const SLOW_CASE_MS = 10_000;

describe("fuzz (CI run)", () => {
  const outcomes: FuzzOutcome[] = [];
  const totalWeight = FUZZ_TARGETS.reduce((s, t) => s + t.weight, 0);
  for (const target of FUZZ_TARGETS) {
    const cases = Math.round((FUZZ_CI_CASES * target.weight) / totalWeight);
    it(`${target.name}: ${cases} cases, typed errors only`, { timeout: 120_000 }, async () => {
      const outcome = await runTarget(target, { cases, seed: FUZZ_CI_SEED, slowMs: SLOW_CASE_MS });
      outcomes.push(outcome);
      console.log(summaryLine(outcome));
      for (const crash of outcome.crashes.slice(0, 5)) console.log(`[fuzz]   CRASH ${crash.error}\n[fuzz]     input ${crash.input}`);
      if (outcome.skipped === undefined) expect(outcome.cases).toBe(cases);
      expect(outcome.crashes).toEqual([]);
    });
  }
  it("total", () => {
    const cases = outcomes.reduce((s, o) => s + o.cases, 0);
    const typed = outcomes.reduce((s, o) => s + o.typed, 0);
    const crashes = outcomes.reduce((s, o) => s + o.crashes.length, 0);
    const seconds = outcomes.reduce((s, o) => s + o.totalMs, 0) / 1000;
    const known = outcomes.reduce((s, o) => s + Object.values(o.known).reduce((a, b) => a + b, 0), 0);
    console.log(`[fuzz] total: ${cases} cases over ${outcomes.length} targets, ${typed} typed errors, ${crashes} crashes, ${known} known routed findings (docs/security.md), ${seconds.toFixed(1)} s (seed ${FUZZ_CI_SEED})`);
    expect(crashes).toBe(0);
    // the case-count floor applies to the full CI run (not to a -t filtered or MUID_FUZZ_CASES run)
    if (process.env.MUID_FUZZ_CASES === undefined && outcomes.length === FUZZ_TARGETS.length) expect(cases).toBeGreaterThanOrEqual(10_000 - (outcomes.some((o) => o.skipped) ? 2000 : 0));
  });
});

describe("regressions found by the fuzzer", () => {
  it("a model card nested 10⁵ deep in a free-form field is a FormatError at load (JSON.stringify would overflow the stack on export)", () => {
    const bundle = tinyMixedModel(60);
    const text = JSON.stringify({ ...bundle.card, training: { notes: "__DEEP__" } }).replace('"__DEEP__"', "[".repeat(100_000) + "]".repeat(100_000));
    const file = writeSafetensors(bundle.tensors, { [CARD_METADATA_KEY]: text });
    expect(() => readModelFile(file)).toThrow(FormatError);
    expect(() => readModelFile(file)).toThrow(/model card nests deeper than 64 levels/);
    expect(() => KlmLikelihood.fromJsonText(`{"format":"muid-klm-likelihood","version":1,"training":${"[".repeat(100_000)}${"]".repeat(100_000)}}`)).toThrow(/likelihood tables nests deeper than 64 levels/);
  });

  it("a stride-0 view of a 4-byte storage asking for 2^30 elements is an UnsafeFileError, not a 4 GiB allocation", () => {
    const zip = writeTorchStateDictZip([{ name: "w", storage: { key: "0", dtype: "F32", data: new Float32Array(1) }, offset: 0, size: [2 ** 30], stride: [0] }]);
    const globals = torchGlobals(["collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage"]);
    expect(() => loadTorchZip(zip, { globals })).toThrow(UnsafeFileError);
    expect(() => loadTorchZip(zip, { globals })).toThrow(/would materialise 1073741824 elements/);
    // many legal views of one storage draw from one per-archive budget (zip maxTotalBytes)
    const storage = { key: "0", dtype: "F32" as const, data: new Float32Array(1024) };
    const views = Array.from({ length: 8 }, (_, i) => ({ name: `v${i}`, storage, offset: 0, size: [1024], stride: contiguousStrides([1024]) }));
    expect(() => loadTorchZip(writeTorchStateDictZip(views), { globals, zipLimits: { maxTotalBytes: 6 * 4096 } })).toThrow(/materialises more tensor bytes than its limit/);
  });

  it("a 300 KB pickle using one 10⁵-deep tuple 10⁵ times as a frozenset item is checked in linear time (hash bomb)", () => {
    const depth = 100_000, copies = 100_000;
    const bytes = Uint8Array.from([0x80, 2, 0x4e, ...new Array<number>(depth).fill(0x85), 0x71, 0, 0x30, 0x28, ...Array.from({ length: copies }, () => [0x68, 0]).flat(), 0x91, 0x2e]);
    const value = unpickle(bytes) as Set<unknown>;
    expect(value).toBeInstanceOf(Set);
    expect(value.size).toBe(1);
  });
});

describe("ONNX round trip, numerically", () => {
  // The fuzz target checks the exported graph's structure; here every layer op runs in onnxruntime-web.
  const cases: [string, () => ModelBundle][] = [
    ["KLM DNN (batchnorm, dense, leakyrelu)", () => randomKlmDnn(51)],
    ["tiny mixed (embedding with offset, concat)", () => tinyMixedModel(52)],
    ["tiny conv (conv2d on [2, 3, 4], relu, flatten)", () => tinyConvModel(53)],
    ["ECL CNN (conv2d, embeddings, concat)", () => randomEclCnn(54, 1)],
  ];
  for (const [name, make] of cases) {
    it(`${name}: onnxruntime-web equals the wasm runtime to 1e-5`, { timeout: 60_000 }, async () => {
      const ort = await import("onnxruntime-web");
      ort.env.wasm.numThreads = 1;
      const bundle = make();
      const batch = 16;
      const rng = new Random(55);
      const inputs: Record<string, Float32Array> = {};
      const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
      for (const spec of bundle.card.inputs) {
        const n = spec.shape.reduce((a, b) => a * b, 1);
        if (spec.kind === "index") {
          const [lo, hi] = spec.range!;
          inputs[spec.name] = Float32Array.from({ length: batch }, () => lo + rng.int(hi - lo + 1));
          feeds[spec.name] = new ort.Tensor("int64", BigInt64Array.from(inputs[spec.name]!, (v) => BigInt(v)), [batch]);
        } else {
          inputs[spec.name] = Float32Array.from({ length: batch * n }, () => (spec.name === "image" ? Math.max(0, rng.gauss() * 0.1) : rng.gauss()));
          feeds[spec.name] = new ort.Tensor("float32", inputs[spec.name]!, [batch, ...spec.shape]);
        }
      }
      const session = await ort.InferenceSession.create(exportOnnx(bundle));
      const out = await session.run(feeds);
      const ours = (await Model.create(bundle)).predict(inputs, batch);
      const logits = out[bundle.card.outputs[0]!.name]!.data as Float32Array;
      let worst = 0;
      for (let i = 0; i < ours.logits.length; i++) worst = Math.max(worst, Math.abs(logits[i]! - ours.logits[i]!) / Math.max(1, Math.abs(ours.logits[i]!)));
      console.log(`[onnx] ${name}: max relative |logit_onnxruntime − logit_wasm| = ${worst.toExponential(2)}`);
      expect(logits.length).toBe(ours.logits.length);
      expect(worst).toBeLessThanOrEqual(1e-5);
      await session.release();
    });
  }
});
