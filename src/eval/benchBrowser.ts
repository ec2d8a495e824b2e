/**
 * The same chain in headless Chromium (ISSUE 6 item 3): the release bundle dist/muid.js and the
 * weights are served on 127.0.0.1, a page imports the bundle and runs measureChainLatency (the
 * function the Node chain numbers come from: simulate first, untimed; then KLM reconstruction, KLM
 * DNN, ECL images, ECL CNN per event) with the same weights and seed. Before the timed run the page
 * runs the chain for at least `warmupSeconds` on other events: Chromium tiers wasm up from Liftoff
 * to TurboFan only after a while (toolchain.md, "Reference timings").
 *
 * When onnxruntime-web is installed, the page also runs its wasm build (1 thread) on the same
 * per-event batches the chain produced (measureChainLatency's onEvent), timed in blocks against
 * muid's own model work on those batches (2 rounds, the lower median counts; every block warms up
 * on at least 50 events and for at least warmupSeconds), with the largest |Δp| against the chain's
 * probabilities on the first 20 events.
 *
 * Chromium is Debian's /usr/bin/chromium driven by playwright-core (a dev dependency, imported
 * dynamically): without either the result says why and nothing fails.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { exportOnnx } from "../models/onnx.js";
import { readModelFile } from "../models/modelFile.js";
import { readInputFile } from "../cli/files.js";
import type { ChainLatency, Percentiles } from "./latency.js";
import type { BenchWeightPaths } from "./benchEngines.js";

import { CHROMIUM_PATH, launchChromium, servePages, type PageServer } from "./chromium.js";
export { CHROMIUM_PATH };

export interface BrowserBenchOptions {
  bundle: string;
  weights: BenchWeightPaths;
  events: number;
  seed: number;
  warmupSeconds?: number;
  /** ms the whole page run may take (default 5 minutes) */
  timeoutMs?: number;
}

/** Per-event model work in the page: muid and onnxruntime-web on the same batches. */
export interface BrowserModelWork {
  muid: Percentiles;
  onnxruntimeWeb: Percentiles;
  /** largest |Δp| of onnxruntime-web against the chain's probabilities */
  maxAbsDiff: number;
  agreementEvents: number;
}

export type BrowserBench =
  | {
      available: true;
      browser: string;
      userAgent: string;
      crossOriginIsolated: boolean;
      warmupEvents: number;
      chain: ChainLatency;
      /** null with the reason when onnxruntime-web is not installed */
      modelWork: BrowserModelWork | { unavailable: string };
    }
  | { available: false; unavailable: string };

interface Route {
  file?: string;
  body?: string | Uint8Array;
  type: string;
}

/** Serves fixed routes (URL path → file or bytes) on 127.0.0.1 and an ephemeral port. */
function serve(routes: Record<string, Route>): Promise<PageServer> {
  return servePages((path) => {
    const route = routes[path];
    if (route === undefined) return undefined;
    // Cross-origin isolation: without it Chromium coarsens performance.now() to 100 µs, which
    // would quantise per-event times of a fraction of a millisecond (with it: 5 µs).
    const headers = { "content-type": route.type, "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" };
    return { body: route.file !== undefined ? readFileSync(route.file) : route.body ?? "", headers };
  });
}

/** onnxruntime-web's browser files (the wasm-only ESM build and its SIMD module), or null when not installed. */
function ortWebFiles(): Record<string, Route> | null {
  let dir: string;
  try {
    dir = dirname(createRequire(import.meta.url).resolve("onnxruntime-web"));
  } catch {
    return null;
  }
  const files: Record<string, Route> = {
    "/ort/ort.wasm.min.mjs": { file: join(dir, "ort.wasm.min.mjs"), type: "text/javascript" },
    "/ort/ort-wasm-simd-threaded.mjs": { file: join(dir, "ort-wasm-simd-threaded.mjs"), type: "text/javascript" },
    "/ort/ort-wasm-simd-threaded.wasm": { file: join(dir, "ort-wasm-simd-threaded.wasm"), type: "application/wasm" },
  };
  return Object.values(files).every((f) => existsSync(f.file!)) ? files : null;
}

/** The page's job, run as source text: the page must import the served bundle, not code from this process. */
const PAGE_SCRIPT = `async (job) => {
  const muid = await import(job.url + "/muid.js");
  const bytes = async (path) => new Uint8Array(await (await fetch(job.url + path)).arrayBuffer());
  const models = {
    likelihood: job.likelihood ? muid.KlmLikelihood.fromJsonText(await (await fetch(job.url + "/klm-likelihood.json")).text()) : null,
    klmDnn: await muid.loadModel(await bytes("/klm-dnn.safetensors")),
    eclCnnPlus: await muid.EclCnnFast.create(muid.readModelFile(await bytes("/ecl-cnn-plus.safetensors"))),
    eclCnnMinus: await muid.EclCnnFast.create(muid.readModelFile(await bytes("/ecl-cnn-minus.safetensors"))),
  };
  // Warm-up on other events (other seeds) until the engine has tiered up.
  let warmupEvents = 0;
  const start = performance.now();
  while (performance.now() - start < job.warmupSeconds * 1000) {
    await muid.measureChainLatency(models, { events: 50, seed: job.seed + 1 + warmupEvents, warmup: 0 });
    warmupEvents += 50;
  }
  // warmup 0: events 0 … n−1 of the seed, the events the Node run times.
  const events = [];
  const chain = await muid.measureChainLatency(models, { events: job.events, seed: job.seed, warmup: 0, onEvent: (r) => events.push(r) });
  const result = { chain, warmupEvents, userAgent: navigator.userAgent, crossOriginIsolated: self.crossOriginIsolated, modelWork: { unavailable: "onnxruntime-web not installed" } };
  if (!job.ort) return result;

  const ort = await import(job.url + "/ort/ort.wasm.min.mjs");
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = job.url + "/ort/";
  ort.env.logLevel = "error";
  const options = { executionProviders: ["wasm"], graphOptimizationLevel: "all" };
  const sessions = {
    klm: await ort.InferenceSession.create(await bytes("/klm-dnn.onnx"), options),
    plus: await ort.InferenceSession.create(await bytes("/ecl-cnn-plus.onnx"), options),
    minus: await ort.InferenceSession.create(await bytes("/ecl-cnn-minus.onnx"), options),
  };
  const p1 = (out, batch) => { const p = out.probabilities.data; const m = new Float32Array(batch); for (let r = 0; r < batch; r++) m[r] = p[2 * r + 1]; return m; };
  const ids = (a) => new ort.Tensor("int64", BigInt64Array.from(a, (v) => BigInt(v)), [a.length]);
  const ortEcl = async (s, b) => b === null ? null : p1(await s.run({ image: new ort.Tensor("float32", b.image, [b.batch, 1, 7, 7]), pt: new ort.Tensor("float32", b.pt, [b.batch, 1]), thetaId: ids(b.thetaId), phiId: ids(b.phiId) }), b.batch);
  const engines = {
    muid: (x) => {
      const ecl = (m, b) => b === null ? null : m.predict({ image: b.image, pt: b.pt, thetaId: b.thetaId, phiId: b.phiId }, b.batch).muonProbability;
      return { klm: x.klm ? models.klmDnn.predict({ features: x.klm.features }, x.klm.batch).muonProbability : null, eclPlus: ecl(models.eclCnnPlus, x.eclPlus), eclMinus: ecl(models.eclCnnMinus, x.eclMinus) };
    },
    onnxruntimeWeb: async (x) => ({
      klm: x.klm ? p1(await sessions.klm.run({ features: new ort.Tensor("float32", x.klm.features, [x.klm.batch, x.klm.features.length / x.klm.batch]) }), x.klm.batch) : null,
      eclPlus: await ortEcl(sessions.plus, x.eclPlus),
      eclMinus: await ortEcl(sessions.minus, x.eclMinus),
    }),
  };
  const median = (v) => { const s = [...v].sort((a, b) => a - b); const at = (q) => s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))]; return { median: at(0.5), p10: at(0.1), p90: at(0.9) }; };
  const best = {};
  let maxAbsDiff = 0;
  const agreementEvents = Math.min(20, events.length);
  for (let round = 0; round < 2; round++) {
    for (const [name, run] of Object.entries(engines)) {
      for (let i = 0, t0 = performance.now(); i < 50 || performance.now() - t0 < job.warmupSeconds * 1000; i++) await run(events[i % events.length].inputs);
      const times = [];
      for (let i = 0; i < events.length; i++) {
        const t0 = performance.now();
        const out = await run(events[i].inputs);
        times.push(performance.now() - t0);
        if (round === 0 && name === "onnxruntimeWeb" && i < agreementEvents) {
          for (const k of ["klm", "eclPlus", "eclMinus"]) {
            const a = out[k], b = events[i].outputs[k];
            if (a && b) for (let r = 0; r < a.length; r++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[r] - b[r]));
          }
        }
      }
      const p = median(times);
      if (!best[name] || p.median < best[name].median) best[name] = p;
    }
  }
  result.modelWork = { muid: best.muid, onnxruntimeWeb: best.onnxruntimeWeb, maxAbsDiff, agreementEvents };
  return result;
}`;

export async function runBrowserBench(options: BrowserBenchOptions): Promise<BrowserBench> {
  if (!existsSync(CHROMIUM_PATH)) return { available: false, unavailable: `${CHROMIUM_PATH} not found (apt-get install chromium)` };
  if (!existsSync(options.bundle)) return { available: false, unavailable: `${options.bundle} not found (run npm run build)` };
  try {
    await import("playwright-core");
  } catch {
    return { available: false, unavailable: "playwright-core not installed" };
  }
  const octets = "application/octet-stream";
  const routes: Record<string, Route> = {
    "/index.html": { body: "<!doctype html><meta charset=utf-8><title>muid bench</title>", type: "text/html" },
    "/muid.js": { file: options.bundle, type: "text/javascript" },
    "/klm-dnn.safetensors": { file: options.weights.klmDnn, type: octets },
    "/ecl-cnn-plus.safetensors": { file: options.weights.eclCnnPlus, type: octets },
    "/ecl-cnn-minus.safetensors": { file: options.weights.eclCnnMinus, type: octets },
  };
  if (options.weights.likelihood !== null) routes["/klm-likelihood.json"] = { file: options.weights.likelihood, type: "application/json" };
  const ort = ortWebFiles();
  if (ort !== null) {
    Object.assign(routes, ort);
    const onnx = (path: string) => exportOnnx(readModelFile(readInputFile(path)));
    routes["/klm-dnn.onnx"] = { body: onnx(options.weights.klmDnn), type: octets };
    routes["/ecl-cnn-plus.onnx"] = { body: onnx(options.weights.eclCnnPlus), type: octets };
    routes["/ecl-cnn-minus.onnx"] = { body: onnx(options.weights.eclCnnMinus), type: octets };
  }
  const server = await serve(routes);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(options.timeoutMs ?? 300_000);
    await page.goto(server.url + "/index.html");
    const job = { url: server.url, events: options.events, seed: options.seed, warmupSeconds: options.warmupSeconds ?? 1, likelihood: options.weights.likelihood !== null, ort: ort !== null };
    type PageResult = { chain: ChainLatency; warmupEvents: number; userAgent: string; crossOriginIsolated: boolean; modelWork: BrowserModelWork | { unavailable: string } };
    const result = (await page.evaluate(`(${PAGE_SCRIPT})(${JSON.stringify(job)})`)) as PageResult;
    return { available: true, browser: `Chromium ${browser.version()}`, ...result };
  } finally {
    await browser.close();
    await server.close();
  }
}
