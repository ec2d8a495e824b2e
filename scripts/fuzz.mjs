#!/usr/bin/env node
// The long fuzz run of issue 8: every target of tests/fuzz/targets.ts (bundled on the fly with
// esbuild, as bench/ does), ≥ 100 000 cases in total by default, split by the targets' weights.
//
//   node scripts/fuzz.mjs [--cases 100000] [--seed 1] [--targets "pickle,torch zip"] [--slow-ms 5000] [--hang-s 60] [--json out.json]
//
// A crash is any exception that is not a MuidError, a failed result check, or a case slower than
// --slow-ms. A case that never returns (a real hang) cannot be interrupted in-process, so the cases
// run in a worker thread that bumps a shared counter after every case; the main thread ends the
// worker and reports a hang when the counter has not moved for --hang-s seconds.
// Exit status: 0 when no crash, 1 otherwise. Progress goes to stderr, the summary to stdout.
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

function parseArgs(argv) {
  const opts = { cases: 100_000, seed: 1, targets: null, slowMs: 5000, hangS: 60, json: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--cases") opts.cases = Number(next());
    else if (a === "--seed") opts.seed = Number(next());
    else if (a === "--targets") opts.targets = next().split(",").map((s) => s.trim());
    else if (a === "--slow-ms") opts.slowMs = Number(next());
    else if (a === "--hang-s") opts.hangS = Number(next());
    else if (a === "--json") opts.json = next();
    else if (a === "--help" || a === "-h") {
      console.log("usage: node scripts/fuzz.mjs [--cases N] [--seed S] [--targets a,b] [--slow-ms MS] [--hang-s S] [--json FILE]");
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  for (const k of ["cases", "seed", "slowMs", "hangS"]) if (!Number.isSafeInteger(opts[k]) || opts[k] < 0) throw new Error(`--${k} must be a non-negative integer`);
  return opts;
}

if (isMainThread) {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`fuzz: ${e.message}`);
    process.exit(2);
  }
  const progress = new Int32Array(new SharedArrayBuffer(8)); // [cases done, target index]
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { opts, progress } });
  const started = Date.now();
  let lastCount = -1;
  let lastMove = Date.now();
  let current = "(starting)";
  let result = null;
  const finished = []; // summary lines of the targets done so far (printed even after a hang)
  const watchdog = setInterval(() => {
    const done = Atomics.load(progress, 0);
    if (done !== lastCount) {
      lastCount = done;
      lastMove = Date.now();
    } else if (Date.now() - lastMove > opts.hangS * 1000) {
      clearInterval(watchdog);
      console.error(`\nfuzz: HANG — no case finished for ${opts.hangS} s in target "${current}" after ${done} cases of it; ending the worker`);
      for (const line of finished) console.log(line);
      console.log(`[fuzz] HANG in target "${current}" (case ${done + 1}, 0-based index ${done} of fc.sample(arbitrary, { seed: ${opts.seed}, numRuns })); rerun with --targets "${current}" --seed ${opts.seed} to reproduce`);
      void worker.terminate().then(() => process.exit(1));
    }
  }, 1000);
  worker.on("message", (m) => {
    if (m.type === "target") current = m.name;
    else if (m.type === "line") {
      console.error(m.text);
      if (m.summary) finished.push(m.text);
    }
    else if (m.type === "done") result = m;
  });
  worker.on("error", (e) => {
    clearInterval(watchdog);
    console.error(`fuzz: the worker failed: ${e.stack ?? e}`);
    process.exit(1);
  });
  worker.on("exit", () => {
    clearInterval(watchdog);
    if (result === null) process.exit(1);
    const { outcomes } = result;
    const seconds = (Date.now() - started) / 1000;
    const cases = outcomes.reduce((s, o) => s + o.cases, 0);
    const typed = outcomes.reduce((s, o) => s + o.typed, 0);
    const crashes = outcomes.flatMap((o) => o.crashes);
    const known = outcomes.reduce((s, o) => s + Object.values(o.known ?? {}).reduce((a, b) => a + b, 0), 0);
    for (const line of result.lines) console.log(line);
    for (const c of crashes.slice(0, 20)) console.log(`[fuzz]   CRASH in ${c.target}: ${c.error}\n[fuzz]     input ${c.input}`);
    console.log(`[fuzz] total: ${cases} cases over ${outcomes.filter((o) => !o.skipped).length} targets, ${typed} typed errors, ${crashes.length} crashes, ${known} known routed findings, ${seconds.toFixed(1)} s wall (seed ${opts.seed}, slowest case ${Math.max(...outcomes.map((o) => o.maxCaseMs)).toFixed(1)} ms, hang guard ${opts.slowMs} ms per case / ${opts.hangS} s watchdog)`);
    if (opts.json) writeFileSync(opts.json, JSON.stringify({ seed: opts.seed, cases, typed, known, crashes, seconds, outcomes }, null, 2) + "\n");
    process.exit(crashes.length === 0 ? 0 : 1);
  });
} else {
  const { opts, progress } = workerData;
  const { importTs } = await import("../bench/bundle.mjs");
  const { FUZZ_TARGETS, runTarget, summaryLine } = await importTs([
    'export { FUZZ_TARGETS } from "./tests/fuzz/targets.ts";',
    'export { runTarget, summaryLine } from "./tests/fuzz/harness.ts";',
  ]);
  const chosen = opts.targets === null ? FUZZ_TARGETS : FUZZ_TARGETS.filter((t) => opts.targets.includes(t.name));
  if (chosen.length === 0) throw new Error(`no target named ${opts.targets}; targets: ${FUZZ_TARGETS.map((t) => t.name).join(", ")}`);
  const totalWeight = chosen.reduce((s, t) => s + t.weight, 0);
  const outcomes = [];
  const lines = [];
  for (const [index, target] of chosen.entries()) {
    const cases = Math.max(1, Math.round((opts.cases * target.weight) / totalWeight));
    parentPort.postMessage({ type: "target", name: target.name });
    Atomics.store(progress, 0, 0);
    Atomics.store(progress, 1, index);
    let lastReport = Date.now();
    const outcome = await runTarget(target, {
      cases,
      seed: opts.seed,
      slowMs: opts.slowMs,
      onCase: (done) => {
        Atomics.store(progress, 0, done);
        if (Date.now() - lastReport > 5000) {
          lastReport = Date.now();
          parentPort.postMessage({ type: "line", text: `[fuzz] ${target.name}: ${done}/${cases} cases` });
        }
      },
    });
    const line = summaryLine(outcome);
    parentPort.postMessage({ type: "line", text: line, summary: true });
    lines.push(line);
    outcomes.push(outcome);
  }
  parentPort.postMessage({ type: "done", outcomes, lines });
}
