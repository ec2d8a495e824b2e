// Inference speed of the two architectures, µs per call at batch 1 and 16, muid-wasm next to its
// peers with the same weights in one run: onnxruntime-web (wasm, 1 thread), TF.js wasm backend,
// TF.js cpu backend, and our scalar kernels. Figures are printed, never asserted.
//
//   node bench/kernels.mjs [--seconds S]     (S: time per measurement, default 1)
//
// KLM DNN: the public basf2 weights (../shared/reference/basf2) when present, else seeded random
// weights with the same card. ECL CNN: seeded random weights (the basf2 ones are not public).
import { existsSync, readFileSync } from "node:fs";
import { importTs, machineInfo, median } from "./bundle.mjs";

const secondsArg = process.argv.indexOf("--seconds");
const seconds = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 1;

const m = await importTs([
  'export { Model } from "./src/models/runtime.ts";',
  'export { importBasf2KlmDnn } from "./src/models/importBasf2.ts";',
  'export { exportOnnx } from "./src/models/onnx.ts";',
  'export { Random } from "./src/sim/random.ts";',
  'export { buildTfjsReference } from "./tests/reference/tfjsForward.ts";',
  'export { randomEclCnn, eclInputs } from "./tests/fixtures/eclCnn.ts";',
  'export { klmInputs } from "./tests/fixtures/klmInputs.ts";',
]);
const tf = await import("@tensorflow/tfjs");
const wasmBackend = await import("@tensorflow/tfjs-backend-wasm");
wasmBackend.setWasmPaths(new URL("../node_modules/@tensorflow/tfjs-backend-wasm/dist/", import.meta.url).pathname);
wasmBackend.setThreadsCount?.(1);
const ort = await import("onnxruntime-web");
ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

const XML = "../shared/reference/basf2/KLMMuonIDDNNWeightFile.xml";
if (!existsSync(XML)) {
  console.error(`bench/kernels: ${XML} not found; the KLM DNN benchmark needs the public basf2 weight file`);
  process.exit(2);
}
const klm = await m.importBasf2KlmDnn(readFileSync(XML, "utf8"));
const ecl = m.randomEclCnn(5);
const rng = new m.Random(3);

function inputsFor(name, bundle, batch) {
  if (name === "klm") {
    const features = m.klmInputs(bundle.tensors.get("batchnorm.running_mean").data, bundle.tensors.get("batchnorm.running_var").data, batch, rng);
    return { muid: { features }, ort: { features: new ort.Tensor("float32", features, [batch, 121]) } };
  }
  const e = m.eclInputs(batch, rng);
  const ids = (a) => new ort.Tensor("int64", BigInt64Array.from(a, (v) => BigInt(v)), [batch]);
  return {
    muid: e,
    ort: { image: new ort.Tensor("float32", e.image, [batch, 1, 7, 7]), pt: new ort.Tensor("float32", e.pt, [batch, 1]), thetaId: ids(e.thetaId), phiId: ids(e.phiId) },
  };
}

/** Calls fn repeatedly in blocks for about `seconds`; returns the median µs per call over blocks. */
async function timeIt(fn) {
  const warmEnd = performance.now() + 200;
  while (performance.now() < warmEnd) await fn();
  const blockMeans = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t0 = performance.now();
    let n = 0;
    do {
      await fn();
      n++;
    } while (performance.now() - t0 < 20);
    blockMeans.push(((performance.now() - t0) * 1000) / n);
  }
  return median(blockMeans);
}

const results = [];
for (const [name, bundle] of [["klm", klm], ["ecl", ecl]]) {
  const simd = await m.Model.create(bundle);
  const scalar = await m.Model.create(bundle, { kernels: "scalar" });
  const session = await ort.InferenceSession.create(m.exportOnnx(bundle), { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  await tf.setBackend("cpu");
  const tfjs = await m.buildTfjsReference(bundle);
  for (const batch of [1, 16]) {
    const x = inputsFor(name, bundle, batch);
    const impls = {
      "muid-wasm (SIMD)": () => simd.predict(x.muid, batch),
      "muid-wasm (scalar)": () => scalar.predict(x.muid, batch),
      "onnxruntime-web (wasm)": () => session.run(x.ort),
      "tfjs-wasm": async () => {
        if (tf.getBackend() !== "wasm") await tf.setBackend("wasm");
        return tfjs.predict(x.muid, batch);
      },
      "tfjs-cpu": async () => {
        if (tf.getBackend() !== "cpu") await tf.setBackend("cpu");
        return tfjs.predict(x.muid, batch);
      },
    };
    // Interleave: two rounds over all implementations, keep each one's best median (this VM drifts).
    const best = {};
    for (let round = 0; round < 2; round++) {
      for (const [impl, fn] of Object.entries(impls)) {
        const us = await timeIt(fn);
        best[impl] = Math.min(best[impl] ?? Infinity, us);
      }
    }
    for (const [impl, us] of Object.entries(best)) results.push({ model: name === "klm" ? "KLM DNN" : "ECL CNN", batch, impl, us });
  }
  await session.release();
  tfjs.dispose();
}

const info = await machineInfo();
console.log(`bench/kernels on ${info.cpu} (${info.cores} cores), Node ${info.node}, ${new Date().toISOString()}; median µs per call, single thread`);
const impls = [...new Set(results.map((r) => r.impl))];
const header = ["implementation", "KLM DNN b1", "KLM DNN b16", "ECL CNN b1", "ECL CNN b16"];
const rows = impls.map((impl) => {
  const cell = (model, batch) => results.find((r) => r.impl === impl && r.model === model && r.batch === batch)?.us.toFixed(1) ?? "–";
  return [impl, cell("KLM DNN", 1), cell("KLM DNN", 16), cell("ECL CNN", 1), cell("ECL CNN", 16)];
});
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells) => "| " + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ") + " |";
console.log(line(header));
console.log("|" + widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":")).join("|") + "|");
rows.forEach((r) => console.log(line(r)));
const ratio = (model, batch) => {
  const ours = results.find((r) => r.impl === "muid-wasm (SIMD)" && r.model === model && r.batch === batch).us;
  const peer = results.find((r) => r.impl === "onnxruntime-web (wasm)" && r.model === model && r.batch === batch).us;
  return (peer / ours).toFixed(2);
};
console.log(`onnxruntime-web / muid-wasm: KLM DNN b1 ${ratio("KLM DNN", 1)}×, b16 ${ratio("KLM DNN", 16)}×; ECL CNN b1 ${ratio("ECL CNN", 1)}×, b16 ${ratio("ECL CNN", 16)}×`);
