/**
 * Throughput of the full chain with worker_threads (ISSUE 6 item 3): k workers each run the muid
 * chain (ChainRunner) over their own contiguous share of the BB̄ events; events/s = all events /
 * wall time from a common start to the last worker's finish.
 *
 * Every worker loads the weights, simulates its events and runs them once untimed (warm-up), then
 * reports ready; the main thread starts all workers together once all are ready. The worker script
 * is the built CLI (dist/cli.js) run with the hidden command `bench-worker`, so workers execute the
 * same bundled code as the main thread; from the TypeScript sources (tests) there is no script to
 * start and the caller skips this mode.
 */
import { parentPort, Worker, workerData } from "node:worker_threads";
import { OptionError } from "../errors.js";
import { ChainRunner, simulateBBbarEvents } from "./latency.js";
import { readBenchWeights, type BenchWeightPaths } from "./benchEngines.js";
import { Model } from "../models/runtime.js";
import { EclCnnFast } from "../models/eclCnnFast.js";

/** The argument that makes the CLI run as a bench worker. */
export const BENCH_WORKER_COMMAND = "bench-worker";

export interface WorkerJob {
  weights: BenchWeightPaths;
  seed: number;
  firstEvent: number;
  events: number;
}

type WorkerMessage = { type: "ready"; events: number } | { type: "done"; events: number; ms: number } | { type: "error"; message: string };

export interface WorkerThroughput {
  workers: number;
  events: number;
  /** wall time from the common start to the last worker's finish, s */
  seconds: number;
  eventsPerSecond: number;
}

/** Runs the chain on `events` events split over `workers` workers; resolves with the throughput. */
export async function measureWorkerThroughput(script: string, workers: number, job: Omit<WorkerJob, "firstEvent" | "events"> & { events: number }): Promise<WorkerThroughput> {
  const threads: Worker[] = [];
  let fail!: (e: Error) => void;
  const failure = new Promise<never>((_, reject) => (fail = reject));
  failure.catch(() => {});
  let finished = false;
  try {
    const ready: Promise<void>[] = [];
    const done: Promise<number>[] = [];
    for (let w = 0; w < workers; w++) {
      const first = Math.floor((w * job.events) / workers), end = Math.floor(((w + 1) * job.events) / workers);
      const data: WorkerJob = { weights: job.weights, seed: job.seed, firstEvent: first, events: end - first };
      const thread = new Worker(script, { argv: [BENCH_WORKER_COMMAND], workerData: data });
      threads.push(thread);
      const message = (type: "ready" | "done") =>
        new Promise<WorkerMessage>((resolve) => {
          const listener = (m: WorkerMessage) => {
            if (m.type === "error") fail(new Error(`bench worker ${w}: ${m.message}`));
            else if (m.type === type) {
              thread.off("message", listener);
              resolve(m);
            }
          };
          thread.on("message", listener);
        });
      ready.push(message("ready").then(() => {}));
      let workerDone = false;
      done.push(message("done").then((m) => ((workerDone = true), m.type === "done" ? m.events : 0)));
      thread.on("error", (e) => fail(e));
      thread.on("exit", (code) => {
        if (!finished && !workerDone) fail(new Error(`bench worker ${w} exited (code ${code}) before finishing`));
      });
    }
    await Promise.race([Promise.all(ready), failure]);
    const t0 = performance.now();
    for (const t of threads) t.postMessage("go");
    const counts = await Promise.race([Promise.all(done), failure]);
    const seconds = (performance.now() - t0) / 1000;
    const events = counts.reduce((a, b) => a + b, 0);
    return { workers, events, seconds, eventsPerSecond: events / seconds };
  } finally {
    finished = true;
    await Promise.all(threads.map((t) => t.terminate()));
  }
}

/** The worker side (run by the hidden CLI command inside a worker thread). */
export async function runBenchWorker(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new OptionError(`${BENCH_WORKER_COMMAND} runs only inside a worker thread started by muid bench`);
  try {
    const job = workerData as WorkerJob;
    const weights = readBenchWeights(job.weights);
    const runner = await ChainRunner.create({
      likelihood: weights.likelihood,
      klmDnn: await Model.create(weights.bundles.klmDnn),
      eclCnnPlus: await EclCnnFast.create(weights.bundles.eclCnnPlus),
      eclCnnMinus: await EclCnnFast.create(weights.bundles.eclCnnMinus),
    });
    const events = simulateBBbarEvents(job.events, job.seed, undefined, job.firstEvent);
    for (const rows of events) runner.runEvent(rows);
    const go = new Promise<void>((resolve) => port.once("message", () => resolve()));
    port.postMessage({ type: "ready", events: events.length } satisfies WorkerMessage);
    await go;
    const t0 = performance.now();
    for (const rows of events) runner.runEvent(rows);
    port.postMessage({ type: "done", events: events.length, ms: performance.now() - t0 } satisfies WorkerMessage);
    // Stay alive until the main thread terminates this worker: a worker that ends on its own could
    // be seen exiting before its "done" arrives.
    await new Promise<void>((resolve) => port.once("message", () => resolve()));
  } catch (e) {
    port.postMessage({ type: "error", message: (e as Error).message } satisfies WorkerMessage);
  }
}
