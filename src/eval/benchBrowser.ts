/**
 * The same chain in headless Chromium (ISSUE 6 item 3): the release bundle dist/muid.js and the
 * weights are served on 127.0.0.1, a page imports the bundle and runs measureChainLatency (the
 * function the Node chain numbers come from: simulate first, untimed; then KLM reconstruction, KLM
 * DNN, ECL images, ECL CNN per event) with the same weights and seed. Before the timed run the page
 * runs the chain for at least `warmupSeconds` on other events: Chromium tiers wasm up from Liftoff
 * to TurboFan only after a while (toolchain.md, "Reference timings").
 *
 * Chromium is Debian's /usr/bin/chromium driven by playwright-core (a dev dependency, imported
 * dynamically): without either the result says why and nothing fails.
 */
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { ChainLatency } from "./latency.js";
import type { BenchWeightPaths } from "./benchEngines.js";

/** Debian's Chromium (never a downloaded browser; toolchain.md). */
export const CHROMIUM_PATH = "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"];

export interface BrowserBenchOptions {
  bundle: string;
  weights: BenchWeightPaths;
  events: number;
  seed: number;
  warmupSeconds?: number;
  /** ms the whole page run may take (default 5 minutes) */
  timeoutMs?: number;
}

export type BrowserBench = { available: true; browser: string; userAgent: string; crossOriginIsolated: boolean; warmupEvents: number; chain: ChainLatency } | { available: false; unavailable: string };

/** Serves fixed routes (URL path → file) on 127.0.0.1 and an ephemeral port. */
async function serve(routes: Record<string, { file?: string; body?: string; type: string }>): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const route = routes[new URL(req.url ?? "/", "http://127.0.0.1").pathname];
    if (route === undefined) {
      res.writeHead(404).end();
      return;
    }
    // Cross-origin isolation: without it Chromium coarsens performance.now() to 100 µs, which
    // would quantise per-event times of a fraction of a millisecond (with it: 5 µs).
    res.writeHead(200, { "content-type": route.type, "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" }).end(route.file !== undefined ? readFileSync(route.file) : route.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the bench page server has no port");
  return { url: `http://127.0.0.1:${address.port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export async function runBrowserBench(options: BrowserBenchOptions): Promise<BrowserBench> {
  if (!existsSync(CHROMIUM_PATH)) return { available: false, unavailable: `${CHROMIUM_PATH} not found (apt-get install chromium)` };
  if (!existsSync(options.bundle)) return { available: false, unavailable: `${options.bundle} not found (run npm run build)` };
  let playwright: typeof import("playwright-core");
  try {
    playwright = await import("playwright-core");
  } catch {
    return { available: false, unavailable: "playwright-core not installed" };
  }
  const octets = "application/octet-stream";
  const routes: Record<string, { file?: string; body?: string; type: string }> = {
    "/index.html": { body: "<!doctype html><meta charset=utf-8><title>muid bench</title>", type: "text/html" },
    "/muid.js": { file: options.bundle, type: "text/javascript" },
    "/klm-dnn.safetensors": { file: options.weights.klmDnn, type: octets },
    "/ecl-cnn-plus.safetensors": { file: options.weights.eclCnnPlus, type: octets },
    "/ecl-cnn-minus.safetensors": { file: options.weights.eclCnnMinus, type: octets },
  };
  if (options.weights.likelihood !== null) routes["/klm-likelihood.json"] = { file: options.weights.likelihood, type: "application/json" };
  const server = await serve(routes);
  const browser = await playwright.chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(options.timeoutMs ?? 300_000);
    await page.goto(server.url + "/index.html");
    const job = { url: server.url, events: options.events, seed: options.seed, warmupSeconds: options.warmupSeconds ?? 1, likelihood: options.weights.likelihood !== null };
    // Source text, not a function: the page must import the served bundle, not code from this process.
    const result = (await page.evaluate(`(async (job) => {
      const muid = await import(job.url + "/muid.js");
      const bytes = async (path) => new Uint8Array(await (await fetch(job.url + path)).arrayBuffer());
      const models = {
        likelihood: job.likelihood ? muid.KlmLikelihood.fromJsonText(await (await fetch(job.url + "/klm-likelihood.json")).text()) : null,
        klmDnn: await muid.loadModel(await bytes("/klm-dnn.safetensors")),
        eclCnnPlus: await muid.EclCnnFast.create(muid.readModelFile(await bytes("/ecl-cnn-plus.safetensors"))),
        eclCnnMinus: await muid.EclCnnFast.create(muid.readModelFile(await bytes("/ecl-cnn-minus.safetensors"))),
      };
      // Warm-up on other events (seed + 1) until the engine has tiered up.
      let warmupEvents = 0;
      const start = performance.now();
      while (performance.now() - start < job.warmupSeconds * 1000) {
        await muid.measureChainLatency(models, { events: 50, seed: job.seed + 1 + warmupEvents, warmup: 0 });
        warmupEvents += 50;
      }
      // warmup 0: events 0 … n−1 of the seed, the events the Node run times.
      const chain = await muid.measureChainLatency(models, { events: job.events, seed: job.seed, warmup: 0 });
      return { chain, warmupEvents, userAgent: navigator.userAgent, crossOriginIsolated: self.crossOriginIsolated };
    })(${JSON.stringify(job)})`)) as { chain: ChainLatency; warmupEvents: number; userAgent: string; crossOriginIsolated: boolean };
    return { available: true, browser: `Chromium ${browser.version()}`, userAgent: result.userAgent, crossOriginIsolated: result.crossOriginIsolated, warmupEvents: result.warmupEvents, chain: result.chain };
  } finally {
    await browser.close();
    await server.close();
  }
}
