/**
 * End to end on the real Belle II KLM DNN: the basf2 weight file is imported, written to a muid
 * model file, read back and run in wasm; the muon probability must equal PyTorch's (here: an exact
 * float64 forward pass from the independently decoded tensors of klm_dnn_v4.5.json) to 1e-6 on
 * every row, and the ONNX export must give the same in onnxruntime-web.
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import type { ModelBundle, Tensor } from "../src/models/card.js";
import { importBasf2KlmDnn } from "../src/models/importBasf2.js";
import { readModelFile, writeModelFile } from "../src/models/modelFile.js";
import { Model } from "../src/models/runtime.js";
import { exportOnnx } from "../src/models/onnx.js";
import { Random } from "../src/sim/random.js";
import { BASF2_JSON, BASF2_XML, haveBasf2 } from "./fixtures/shared.js";
import { klmInputs } from "./fixtures/klmInputs.js";
import { forwardFloat64 } from "./reference/float64Forward.js";

interface JsonTensor { name: string; shape: string | number[]; values: string | number[] }

describe.skipIf(!haveBasf2)("the public basf2 KLM DNN (dnnmodelv4.5), imported from its weight file", () => {
  let reference: ModelBundle;
  let model: Model;
  let rows: Float32Array;
  const batch = 400;

  beforeAll(async () => {
    const json = JSON.parse(readFileSync(BASF2_JSON, "utf8")) as { tensors: JsonTensor[] };
    const parse = <T>(v: string | T): T => (typeof v === "string" ? JSON.parse(v) : v);
    const tensors = new Map<string, Tensor>();
    for (const t of json.tensors) {
      if (t.name.endsWith("num_batches_tracked")) continue;
      tensors.set(t.name, { dtype: "F32", shape: parse(t.shape), data: Float32Array.from(parse(t.values)) });
    }
    const imported = await importBasf2KlmDnn(readFileSync(BASF2_XML, "utf8"));
    // The reference uses the importer's card (the architecture) with the independently decoded tensors.
    reference = { card: imported.card, tensors };
    model = await Model.create(readModelFile(writeModelFile(imported)));
    rows = klmInputs(tensors.get("batchnorm.running_mean")!.data as Float32Array, tensors.get("batchnorm.running_var")!.data as Float32Array, batch, new Random(2025));
  });

  it("reproduces the exact (float64) forward pass to ≤ 1e-6 max abs on every one of 400 rows", () => {
    const ours = model.predict({ features: rows }, batch);
    const exact = forwardFloat64(reference, { features: rows }, batch);
    let worst = 0;
    for (let r = 0; r < batch; r++) worst = Math.max(worst, Math.abs(ours.muonProbability[r] - exact.muonProbability[r]));
    console.log(`[basf2 DNN] max |p_wasm − p_exact| over ${batch} rows = ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(1e-6);
    // The rows are not trivial: both classes occur.
    const muons = Array.from(ours.muonProbability).filter((p) => p > 0.5).length;
    expect(muons).toBeGreaterThan(batch * 0.05);
    expect(muons).toBeLessThan(batch * 0.95);
  });

  it("the ONNX export gives the same probabilities in onnxruntime-web (≤ 1e-6)", async () => {
    const ort = await import("onnxruntime-web");
    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(exportOnnx(reference));
    const out = await session.run({ features: new ort.Tensor("float32", rows, [batch, 121]) });
    const probabilities = out.probabilities.data as Float32Array;
    const ours = model.predict({ features: rows }, batch);
    let worst = 0;
    for (let r = 0; r < batch; r++) worst = Math.max(worst, Math.abs(probabilities[r * 2 + 1] - ours.muonProbability[r]));
    console.log(`[basf2 DNN] max |p_onnxruntime − p_wasm| = ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(1e-6);
    await session.release();
  });
});
