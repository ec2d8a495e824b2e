/**
 * `muid bench` (npm run bench): the full muon-ID chain per BB̄ event with muid-wasm, and the same
 * per-event model work with its peers (onnxruntime-web, onnxruntime-node, tfjs-wasm, tfjs-cpu,
 * plain JS) on the same weights and batches, in one Node process; then the same chain in headless
 * Chromium and the throughput with 1 and 2 worker threads; the wasm f32x4 peak and the dense
 * kernels' share of it. Prints a table, writes --json FILE and bench/results/<date>-<host>.json.
 * Procedure and caveats: src/eval/benchChain.ts. Progress goes to stderr.
 */
import { mkdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { OptionError } from "../errors.js";
import { simulateBBbarEvents } from "../eval/latency.js";
import { ENGINES, PEER_ENGINES, readBenchWeights, type BenchWeightPaths, type EngineName } from "../eval/benchEngines.js";
import { runNodeBench } from "../eval/benchChain.js";
import { measurePeak } from "../eval/benchPeak.js";
import { runBrowserBench } from "../eval/benchBrowser.js";
import { BENCH_WORKER_COMMAND, measureWorkerThroughput, runBenchWorker, type WorkerThroughput } from "../eval/benchWorkers.js";
import { benchDocument, benchTable, machineInfo, sourceInfo, type BenchDocument } from "../eval/benchReport.js";
import { DEFAULT_ECL_CNN_MINUS, DEFAULT_ECL_CNN_PLUS } from "./eval.js";
import { DEFAULT_KLM_DNN, DEFAULT_KLM_LIKELIHOOD } from "./evalKlm.js";
import { writeFileAtomic } from "./files.js";

export const DEFAULT_BENCH_EVENTS = 500;
export const QUICK_BENCH_EVENTS = 100;
export const DEFAULT_BENCH_SEED = 20261124;
/** Engines `--peers` may name: the peers and muid's dense ECL CNN path (muid itself always runs). */
const SELECTABLE: readonly EngineName[] = ENGINES.filter((e) => e !== "muid");

export interface BenchCliOptions {
  events?: string;
  seed?: string;
  peers?: string;
  rounds?: string;
  warmup?: string;
  warmupSeconds?: string;
  browser?: boolean;
  workers?: boolean;
  quick?: boolean;
  json?: string;
  resultsDir?: string;
  results?: boolean;
  klmDnn?: string;
  eclCnnPlus?: string;
  eclCnnMinus?: string;
  likelihood?: string;
  quiet?: boolean;
}

function integer(option: string, text: string | undefined, min: number, fallback: number): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!Number.isSafeInteger(v) || v < min) throw new OptionError(`${option} must be an integer ≥ ${min} (got ${JSON.stringify(text)})`);
  return v;
}

function seconds(option: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!Number.isFinite(v) || v < 0 || v > 60) throw new OptionError(`${option} must be a number of seconds in [0, 60] (got ${JSON.stringify(text)})`);
  return v;
}

export function parsePeers(text: string | undefined): EngineName[] {
  if (text === undefined || text === "all") return [...SELECTABLE];
  if (text === "none") return [];
  const names = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const name of names)
    if (!(SELECTABLE as readonly string[]).includes(name)) throw new OptionError(`--peers: unknown engine "${name}"; choose from ${SELECTABLE.join(", ")}, all, none`);
  return names as EngineName[];
}

export function registerBench(program: Command): void {
  program
    .command("bench")
    .description("time the full chain per BB̄ event with muid-wasm and its peers (onnxruntime-web/-node, tfjs-wasm/-cpu, plain JS) in Node, headless Chromium and worker threads")
    .option("--events <n>", `BB̄ events (default ${DEFAULT_BENCH_EVENTS}; ${QUICK_BENCH_EVENTS} with --quick)`)
    .option("--seed <s>", `seed of the simulated events (default ${DEFAULT_BENCH_SEED})`)
    .option("--peers <list>", `comma-separated engines besides muid: ${SELECTABLE.join(", ")}; or all, none (default all)`)
    .option("--rounds <n>", "timed rounds, the best counts (default 2; 1 with --quick)")
    .option("--warmup <n>", "untimed events at the start of every block (default 50; 10 with --quick)")
    .option("--warmup-seconds <s>", "… run for at least this long (default 0.5; 0.2 with --quick)")
    .option("--no-browser", "skip the headless Chromium run")
    .option("--no-workers", "skip the worker_threads throughput")
    .option("--quick", "fewer events and rounds, a short peak measurement")
    .option("--json <file>", "write the results as JSON")
    .option("--results-dir <dir>", "folder of the dated results file <YYYY-MM-DD>-<host>.json", "bench/results")
    .option("--no-results", "do not write the dated results file")
    .option("--klm-dnn <file>", "KLM DNN model file", DEFAULT_KLM_DNN)
    .option("--ecl-cnn-plus <file>", "ECL CNN model file for charge +1", DEFAULT_ECL_CNN_PLUS)
    .option("--ecl-cnn-minus <file>", "ECL CNN model file for charge −1", DEFAULT_ECL_CNN_MINUS)
    .option("--likelihood <file>", "Muid likelihood tables (JSON)", DEFAULT_KLM_LIKELIHOOD)
    .option("-q, --quiet", "no progress on stderr")
    .action(async (opts: BenchCliOptions) => {
      await runBench(opts, process.stdout, process.stderr);
    });
  // Inside a worker thread of `muid bench` (benchWorkers.ts): not for users.
  program.command(BENCH_WORKER_COMMAND, { hidden: true }).action(runBenchWorker);
}

/** Runs the whole benchmark; prints the table to `out`, progress to `err`; returns the JSON document. */
export async function runBench(opts: BenchCliOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<BenchDocument> {
  const quick = opts.quick === true;
  const events = integer("--events", opts.events, 1, quick ? QUICK_BENCH_EVENTS : DEFAULT_BENCH_EVENTS);
  const seed = integer("--seed", opts.seed, 0, DEFAULT_BENCH_SEED);
  const rounds = integer("--rounds", opts.rounds, 1, quick ? 1 : 2);
  const warmup = integer("--warmup", opts.warmup, 0, quick ? 10 : 50);
  const engines: EngineName[] = ["muid", ...parsePeers(opts.peers)];
  const paths: BenchWeightPaths = {
    klmDnn: opts.klmDnn ?? DEFAULT_KLM_DNN,
    eclCnnPlus: opts.eclCnnPlus ?? DEFAULT_ECL_CNN_PLUS,
    eclCnnMinus: opts.eclCnnMinus ?? DEFAULT_ECL_CNN_MINUS,
    likelihood: opts.likelihood ?? DEFAULT_KLM_LIKELIHOOD,
  };
  const progress = (message: string) => {
    if (!opts.quiet) err.write(`bench: ${message}\n`);
  };
  const machine = machineInfo();
  const source = sourceInfo();
  const weights = readBenchWeights(paths);

  progress(`simulating ${events} BB̄ events (seed ${seed}; not timed) …`);
  const simulated = simulateBBbarEvents(events, seed);
  progress(`${simulated.length} events with tracks; timing the chain and ${engines.length - 1} peer engine(s) in ${rounds} round(s) …`);
  const warmupSeconds = seconds("--warmup-seconds", opts.warmupSeconds, quick ? 0.2 : 0.5);
  const node = await runNodeBench(weights, simulated, { engines, rounds, warmup, warmupSeconds, onProgress: progress });

  progress("measuring the wasm f32x4 peak and the dense kernels …");
  const peak = await measurePeak(weights.bundles.klmDnn, quick ? { calls: 9, targetMs: 3 } : {});

  let workers: BenchDocument["workers"] = null;
  if (opts.workers !== false) {
    const script = fileURLToPath(import.meta.url);
    if (script.endsWith(".ts")) {
      workers = { unavailable: "worker threads need the built CLI (dist/cli.js): run npm run build" };
    } else {
      const runs: WorkerThroughput[] = [];
      for (const k of [1, 2]) {
        progress(`worker_threads: ${k} worker(s) on ${events} events …`);
        runs.push(await measureWorkerThroughput(script, k, { weights: paths, seed, events }));
      }
      workers = runs;
    }
  }

  let browser: BenchDocument["browser"] = null;
  if (opts.browser !== false) {
    const script = fileURLToPath(import.meta.url);
    const bundle = basename(script) === "cli.js" ? join(dirname(script), "muid.js") : join("dist", "muid.js");
    progress(`headless Chromium: ${bundle} on ${events} events …`);
    browser = await runBrowserBench({ bundle, weights: paths, events, seed, warmupSeconds: quick ? 0.5 : 1 });
    if (!browser.available) progress(`Chromium: ${browser.unavailable}`);
  }

  const doc = benchDocument({ machine, source, options: { events, seed, rounds, warmup, warmupSeconds, quick, engines }, node, peak, browser, workers });
  out.write(benchTable(doc) + "\n");
  const text = JSON.stringify(doc, null, 1) + "\n";
  if (opts.json !== undefined) writeFileAtomic(opts.json, text);
  if (opts.results !== false) {
    const dir = opts.resultsDir ?? "bench/results";
    mkdirSync(dir, { recursive: true });
    const host = machine.host.replace(/[^A-Za-z0-9._-]/g, "_");
    const file = join(dir, `${doc.date.slice(0, 10)}-${host}.json`);
    writeFileAtomic(file, text);
    progress(`results: ${file}${opts.json !== undefined ? ` and ${opts.json}` : ""}`);
  }
  return doc;
}
