// Reconstruction latency per BB̄ event (issue 6 target: ≤ 0.08 ms per event, median, one core, Node),
// per stage, for the working tree and optionally a baseline commit, interleaved under the same load.
//
//   node bench/reco.mjs [--events N] [--rounds R] [--seed S] [--baseline REF] [--variant DIR] [--models]
//
// N BB̄ events (default 300, seed 8) are simulated once (not timed) with the working tree's simulation.
// Each round runs every event through each variant (the order of the variants alternates between rounds),
// stages timed with performance.now():
//   klmReconstruction  KlmReconstructor.reconstructEvent (Muid swim, association, features, likelihood
//                      from weights/klm-likelihood.json), keepCrossings: false as in measureChainLatency
//   eclImage           eclCnnInput for every track (pion extrapolation to the ECL, 7×7 window)
//   klmDnn, eclCnn     (--models) weights/klm-dnn.safetensors on the tracks with a KLM value and
//                      weights/ecl-cnn-{plus,minus}.safetensors (EclCnnFast) on the accepted tracks
// A variant's figure for an event is its median over the rounds; the table gives the median over events
// (and the mean) per stage and for the sum. With --baseline REF the sources of REF (src/) are extracted
// under bench/.build/ and bundled beside the working tree's; the baseline uses the working tree's
// build/muid.wasm (rebuild it first if the kernels changed; the engines check the layout). --variant DIR
// runs a patched copy of the sources (DIR/src, e.g. a coarser step measured on the side) as the
// baseline instead (its build/muid.wasm is copied in when missing). The KLM
// features of both variants are compared bit for bit on the first round. Figures are printed, never
// asserted.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { importTs, machineInfo, median, repoRoot } from "./bundle.mjs";

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
}
const events = Number(option("--events", "300"));
const rounds = Number(option("--rounds", "5"));
const seed = Number(option("--seed", "8"));
const baselineRef = option("--baseline", null);
const variantDir = option("--variant", null);
const withModels = process.argv.includes("--models");
if (!(events > 0 && rounds > 0)) throw new Error("--events and --rounds must be positive");

const chainExports = (root) => [
  `export { KlmReconstructor, hasKlmDnnValue } from "${root}/src/reco/klmChain.ts";`,
  `export { KlmLikelihood } from "${root}/src/reco/muidLikelihood.ts";`,
  `export { eclCnnInput, batchEclCnnInputs } from "${root}/src/reco/eclImage.ts";`,
  `export { loadModel } from "${root}/src/models/load.ts";`,
  `export { EclCnnFast } from "${root}/src/models/eclCnnFast.ts";`,
  `export { readModelFile } from "${root}/src/models/modelFile.ts";`,
];

/** Extracts src/ of `ref` under bench/.build/ with the working tree's wasm; returns its root. */
function extractBaseline(ref) {
  const commit = execFileSync("git", ["rev-parse", "--short", ref], { cwd: repoRoot, encoding: "utf8" }).trim();
  const dir = join(repoRoot, "bench", ".build", `baseline-${commit}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "build"), { recursive: true });
  const tar = execFileSync("git", ["archive", commit, "src"], { cwd: repoRoot, maxBuffer: 1 << 28 });
  execFileSync("tar", ["-x", "-C", dir], { input: tar });
  copyFileSync(join(repoRoot, "build", "muid.wasm"), join(dir, "build", "muid.wasm"));
  return { dir, commit };
}

async function variant(name, root) {
  const m = await importTs(chainExports(root));
  const likelihood = m.KlmLikelihood.fromJsonText(readFileSync(join(repoRoot, "weights", "klm-likelihood.json"), "utf8"));
  const reconstructor = await m.KlmReconstructor.create({ likelihood, keepCrossings: false });
  let klmDnn = null, eclPlus = null, eclMinus = null;
  if (withModels) {
    const bytes = (f) => new Uint8Array(readFileSync(join(repoRoot, "weights", f)));
    klmDnn = await m.loadModel(bytes("klm-dnn.safetensors"));
    eclPlus = await m.EclCnnFast.create(m.readModelFile(bytes("ecl-cnn-plus.safetensors")));
    eclMinus = await m.EclCnnFast.create(m.readModelFile(bytes("ecl-cnn-minus.safetensors")));
  }
  return { name, m, reconstructor, klmDnn, eclPlus, eclMinus, times: [], features: createHash("sha256") };
}

const STAGES = ["klmReconstruction", "klmDnn", "eclImage", "eclCnn"];

/** Runs one event through a variant; returns the stage times (ms). */
function runEvent(v, rows, hashFeatures) {
  const { m } = v;
  const t0 = performance.now();
  const klm = v.reconstructor.reconstructEvent(rows.map((r) => r.ip), rows[0].klmHits);
  const t1 = performance.now();
  if (v.klmDnn) {
    const withKlm = klm.filter(m.hasKlmDnnValue);
    if (withKlm.length > 0) {
      const features = new Float32Array(withKlm.length * 121);
      withKlm.forEach((r, i) => features.set(r.features, i * 121));
      v.klmDnn.predict({ features }, withKlm.length);
    }
  }
  const t2 = performance.now();
  const plus = [], minus = [];
  for (const row of rows) {
    const input = m.eclCnnInput(row.ip, row.eclDigits);
    if (input.accepted) (row.ip.charge > 0 ? plus : minus).push(input);
  }
  const t3 = performance.now();
  for (const [inputs, model] of [[plus, v.eclPlus], [minus, v.eclMinus]]) {
    if (!model || inputs.length === 0) continue;
    const { image, pt, thetaId, phiId, batch } = m.batchEclCnnInputs(inputs);
    model.predict({ image, pt, thetaId, phiId }, batch);
  }
  const t4 = performance.now();
  if (hashFeatures) {
    for (const r of klm) {
      v.features.update(new Uint8Array(r.features.buffer, r.features.byteOffset, r.features.byteLength));
      v.features.update(new Uint8Array(Float64Array.of(r.chi2, r.ndof, r.outcome, r.extLayerPattern, r.hitLayerPattern, r.likelihood?.muonId ?? -1).buffer));
    }
    for (const x of [...plus, ...minus]) v.features.update(new Uint8Array(Float64Array.of(x.pt, x.thetaId, x.phiId, ...x.image).buffer));
  }
  return [t1 - t0, t2 - t1, t3 - t2, t4 - t3];
}

// ── samples (working tree's simulation, not timed)
const sim = await importTs([
  'export { simulateEvent, eventRandom, defaultDetectorConditions } from "./src/sim/event.ts";',
  'export { generateBBbarEvent } from "./src/sim/generators.ts";',
]);
const conditions = sim.defaultDetectorConditions();
const samples = [];
for (let e = 0; samples.length < events; e++) {
  const rng = sim.eventRandom(seed, e);
  const rows = sim.simulateEvent(sim.generateBBbarEvent(rng), e, rng, conditions);
  if (rows.length > 0) samples.push(rows);
}
const tracks = samples.reduce((a, rows) => a + rows.length, 0);

const variants = [await variant("working tree", repoRoot)];
if (baselineRef) {
  const { dir, commit } = extractBaseline(baselineRef);
  variants.unshift(await variant(`baseline ${commit}`, dir));
  rmSync(dir, { recursive: true, force: true }); // bundled and loaded: the extracted sources are no longer needed
} else if (variantDir) {
  const dir = resolve(variantDir);
  if (!existsSync(join(dir, "build", "muid.wasm"))) {
    mkdirSync(join(dir, "build"), { recursive: true });
    copyFileSync(join(repoRoot, "build", "muid.wasm"), join(dir, "build", "muid.wasm"));
  }
  variants.unshift(await variant(`variant ${variantDir}`.slice(0, 22), dir));
}
for (const v of variants) v.times = samples.map(() => []);

// warm-up (JIT): one pass of every variant
for (const v of variants) for (const rows of samples) runEvent(v, rows, false);
const cpu = variants.map(() => 0);
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? variants.map((_, i) => i) : variants.map((_, i) => variants.length - 1 - i);
  for (const i of order) {
    const v = variants[i];
    const c0 = process.cpuUsage();
    samples.forEach((rows, e) => v.times[e].push(runEvent(v, rows, r === 0)));
    const c = process.cpuUsage(c0);
    cpu[i] += (c.user + c.system) / 1000;
  }
}

// ── report
const info = await machineInfo();
console.log(`# reconstruction latency per BB̄ event: ${samples.length} events (seed ${seed}), ${tracks} tracks (${(tracks / samples.length).toFixed(1)}/event), ${rounds} rounds`);
console.log(`# ${info.cpu}, ${info.cores} cores, Node ${info.node}, ${new Date().toISOString()}${withModels ? "" : "; models not run (--models)"}`);
const fmt = (x) => x.toFixed(4).padStart(8);
console.log(`${"variant".padEnd(22)} ${STAGES.map((s) => s.padStart(18)).join("")} ${"sum".padStart(18)}   ms/event: median (mean)`);
variants.forEach((v, i) => {
  const perEvent = v.times.map((ts) => STAGES.map((_, k) => median(ts.map((t) => t[k]))));
  const cols = STAGES.map((_, k) => {
    const xs = perEvent.map((t) => t[k]);
    return `${fmt(median(xs))} (${fmt(xs.reduce((a, b) => a + b, 0) / xs.length).trim()})`.padStart(18);
  });
  const sums = v.times.map((ts) => median(ts.map((t) => t[0] + t[1] + t[2] + t[3])));
  const sum = `${fmt(median(sums))} (${fmt(sums.reduce((a, b) => a + b, 0) / sums.length).trim()})`.padStart(18);
  console.log(`${v.name.padEnd(22)} ${cols.join("")} ${sum}   cpu ${(cpu[i] / (rounds * samples.length)).toFixed(4)} ms/event`);
});
if (variants.length > 1) {
  const [a, b] = variants.map((v) => v.features.digest("hex"));
  console.log(a === b ? "outputs (features, χ², ndof, outcome, patterns, muonID, ECL inputs): bit-identical" : `OUTPUTS DIFFER: ${a.slice(0, 16)} vs ${b.slice(0, 16)}`);
}
if (!existsSync(join(repoRoot, "build", "muid.wasm"))) console.log("note: build/muid.wasm missing");
