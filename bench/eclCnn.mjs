// ECL CNN inference speed: the sparse/folded kernel (src/models/eclCnnFast.ts, assembly/eclCnn.ts)
// against the dense runtime (src/models/runtime.ts Model) on the same weights, µs per call at batch 1
// and 16, SIMD and scalar, on three kinds of windows:
//   simulated  windows of tracks from the ECL study gun (muid's fast simulation, background ×1, 1 MeV)
//   sparse     the test fixture's windows (0–11 crystals, one saturated window in 25)
//   saturated  every pixel at 1 GeV (the worst case of the sparse kernel: every field is active)
// Measurements are interleaved (dense, fast, dense, fast, …) and the median of 20 ms blocks is
// reported; figures are printed, never asserted (this VM drifts: compare ratios).
//
//   node bench/eclCnn.mjs [--seconds S] [--model FILE]
//
// Weights: --model FILE, else weights/ecl-cnn-minus.safetensors when present (trained: realistic ReLU
// sparsity), else seeded random weights with the ECL CNN card.
import { existsSync, readFileSync } from "node:fs";
import { importTs, machineInfo, median } from "./bundle.mjs";

const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const seconds = Number(arg("--seconds") ?? 1);

const m = await importTs([
  'export { Model } from "./src/models/runtime.ts";',
  'export { EclCnnFast } from "./src/models/eclCnnFast.ts";',
  'export { readModelFile } from "./src/models/modelFile.ts";',
  'export { Random } from "./src/sim/random.ts";',
  'export { randomEclCnn, eclInputs } from "./tests/fixtures/eclCnn.ts";',
  'export { simulateEclRows } from "./src/cli/eval.ts";',
  'export { buildEclSample, eclSampleImages } from "./src/reco/eclSample.ts";',
]);

const modelPath = arg("--model") ?? (existsSync("weights/ecl-cnn-minus.safetensors") ? "weights/ecl-cnn-minus.safetensors" : null);
const bundle = modelPath ? m.readModelFile(new Uint8Array(readFileSync(modelPath))) : m.randomEclCnn(5);
const weights = modelPath ?? "seeded random weights (tests/fixtures/eclCnn.ts, seed 5)";

// Inputs: 256 rows of each kind; a call of batch B takes B consecutive rows, cycling.
const ROWS = 256;
const sample = m.buildEclSample(m.simulateEclRows(400, 12345));
const simulatedImages = m.eclSampleImages(sample);
const charge = bundle.card.charge;
const picked = [];
for (let i = 0; i < sample.n && picked.length < ROWS; i++) if (sample.charge[i] === charge) picked.push(i);
while (picked.length < ROWS) picked.push(...picked.slice(0, ROWS - picked.length));
const simulated = {
  image: Float32Array.from({ length: ROWS * 49 }, (_, k) => simulatedImages[picked[Math.floor(k / 49)] * 49 + (k % 49)]),
  pt: Float32Array.from(picked, (i) => sample.pt[i]),
  thetaId: Float32Array.from(picked, (i) => sample.thetaId[i]),
  phiId: Float32Array.from(picked, (i) => sample.phiId[i]),
};
const sparse = m.eclInputs(ROWS, new m.Random(3));
const saturated = { ...sparse, image: new Float32Array(ROWS * 49).fill(1) };
const kinds = { simulated, sparse, saturated };

function activeFields(inputs) {
  let active = 0;
  for (let r = 0; r < ROWS; r++)
    for (let h = 0; h < 7; h++)
      for (let w = 0; w < 7; w++) {
        let on = false;
        for (let dh = -1; dh <= 1 && !on; dh++) for (let dw = -1; dw <= 1 && !on; dw++) {
          const y = h + dh, x = w + dw;
          if (y >= 0 && y < 7 && x >= 0 && x < 7 && inputs.image[r * 49 + y * 7 + x] !== 0) on = true;
        }
        if (on) active++;
      }
  return active / ROWS;
}

const slice = (inputs, start, batch) => ({
  image: inputs.image.subarray(start * 49, (start + batch) * 49),
  pt: inputs.pt.subarray(start, start + batch),
  thetaId: inputs.thetaId.subarray(start, start + batch),
  phiId: inputs.phiId.subarray(start, start + batch),
});

const engines = {
  dense: await m.Model.create(bundle),
  denseScalar: await m.Model.create(bundle, { kernels: "scalar" }),
  fast: await m.EclCnnFast.create(bundle),
  fastScalar: await m.EclCnnFast.create(bundle, { kernels: "scalar" }),
};

/** One 20 ms block of calls; returns µs per call. */
function block(engine, inputs, batch) {
  let start = 0, n = 0;
  const t0 = performance.now();
  do {
    engine.predict(slice(inputs, start, batch), batch);
    start = (start + batch) % (ROWS - batch + 1);
    n++;
  } while (performance.now() - t0 < 20);
  return ((performance.now() - t0) * 1000) / n;
}

const results = [];
for (const [kind, inputs] of Object.entries(kinds)) {
  for (const batch of [1, 16]) {
    const blocks = Object.fromEntries(Object.keys(engines).map((k) => [k, []]));
    for (const e of Object.values(engines)) block(e, inputs, batch); // warm-up (tier-up)
    const end = performance.now() + seconds * 1000 * 4;
    while (performance.now() < end) for (const [name, e] of Object.entries(engines)) blocks[name].push(block(e, inputs, batch));
    const us = Object.fromEntries(Object.entries(blocks).map(([k, v]) => [k, median(v)]));
    // agreement on this input kind (not asserted here; tests/eclCnnFast.test.ts holds it to 1e-5)
    const all = slice(inputs, 0, ROWS);
    const pd = engines.dense.predict(all, ROWS).muonProbability, pf = engines.fast.predict(all, ROWS).muonProbability;
    let maxDiff = 0;
    for (let i = 0; i < ROWS; i++) maxDiff = Math.max(maxDiff, Math.abs(pd[i] - pf[i]));
    results.push({ kind, batch, activeFieldsPerWindow: activeFields(inputs), us, speedup: us.dense / us.fast, maxProbabilityDiff: maxDiff });
  }
}

const info = await machineInfo();
console.log(`ECL CNN, ${weights}; ${info.cpu}, ${info.cores} cores, Node ${info.node}`);
console.log("inputs     batch  active fields  dense SIMD  fast SIMD  speed-up  dense scalar  fast scalar  max |Δp|");
for (const r of results) {
  const f = (v) => v.toFixed(1).padStart(9);
  console.log(`${r.kind.padEnd(10)} ${String(r.batch).padStart(5)}  ${r.activeFieldsPerWindow.toFixed(1).padStart(13)}  ${f(r.us.dense)}  ${f(r.us.fast)}  ${r.speedup.toFixed(2).padStart(7)}×  ${f(r.us.denseScalar)}    ${f(r.us.fastScalar)}  ${r.maxProbabilityDiff.toExponential(1)}`);
}
console.log(JSON.stringify({ bench: "eclCnn", weights, machine: info, seconds, results }));
