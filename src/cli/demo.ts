/**
 * `muid demo` (npm start), the main job: simulates the default samples with the embedded generators,
 * runs the whole chain with the shipped weights in weights/, prints the performance tables (KLM:
 * likelihood / DNN-global / DNN / Belle II DNN; ECL: E/p / CNN) and the latency per BB̄ event, and
 * writes an HTML report (KLM and ECL pages with plots, and an index with the latency).
 */
import fs from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { OptionError } from "../errors.js";
import { loadModel } from "../models/load.js";
import { readModelFile } from "../models/modelFile.js";
import { EclCnnFast } from "../models/eclCnnFast.js";
import { KlmLikelihood } from "../reco/muidLikelihood.js";
import { measureChainLatency, LATENCY_STAGES, type ChainLatency } from "../eval/latency.js";
import { DEFAULT_ECL_CNN_MINUS, DEFAULT_ECL_CNN_PLUS, runEclEvalCommand } from "./eval.js";
import { DEFAULT_KLM_DNN, DEFAULT_KLM_LIKELIHOOD, klmSummaryTable, parseKlmEvalOptions, runKlmEval } from "./evalKlm.js";
import { readInputFile, writeFileAtomic } from "./files.js";

interface DemoOptions {
  klmEvents: string;
  eclEvents: string;
  bbbarEvents: string;
  seed: string;
  report: string;
  quiet?: boolean;
}

function positiveInteger(option: string, text: string): number {
  const v = Number(text);
  if (!Number.isSafeInteger(v) || v < 1) throw new OptionError(`${option} must be a positive integer (got ${JSON.stringify(text)})`);
  return v;
}

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("main job: simulate the default samples, run the whole chain with the shipped weights, print the tables and the latency, write an HTML report")
    .option("--klm-events <n>", "KLM study events (4–16 tracks each)", "2000")
    .option("--ecl-events <n>", "ECL study events (one track each)", "12000")
    .option("--bbbar-events <n>", "BB̄ events for the latency", "300")
    .option("--seed <s>", "seed of every sample", "20261124")
    .option("--report <dir>", "folder for the HTML report and JSON figures", "muid-report")
    .option("-q, --quiet", "no progress on stderr")
    .action(async (opts: DemoOptions) => runDemo(opts));
}

async function runDemo(opts: DemoOptions): Promise<void> {
  const klmEvents = positiveInteger("--klm-events", opts.klmEvents);
  const eclEvents = positiveInteger("--ecl-events", opts.eclEvents);
  const bbbarEvents = positiveInteger("--bbbar-events", opts.bbbarEvents);
  const seed = positiveInteger("--seed", opts.seed);
  const dir = opts.report;
  fs.mkdirSync(dir, { recursive: true });
  const out = process.stdout;
  const started = performance.now();
  out.write(`muid demo: Belle II muon ID in WebAssembly — seed ${seed}, report in ${dir}/\n\n`);

  // KLM: likelihood, DNN-global, DNN and (with ../shared) the real Belle II DNN on a fresh sample.
  const klmSettings = parseKlmEvalOptions({ events: String(klmEvents), seed: String(seed), json: join(dir, "klm.json"), report: join(dir, "klm.html"), robustnessEvents: "0", quiet: true });
  if (!opts.quiet) process.stderr.write(`simulating and reconstructing ${klmEvents} KLM study events …\n`);
  const klm = await runKlmEval(klmSettings, process.stderr);
  out.write(`KLM muon ID: ${klm.klm.tracks} tracks (${klm.klm.muons} μ, ${klm.klm.pions} π), ${klm.klm.selection}\n`);
  out.write(klmSummaryTable(klm.klm) + "\n");
  for (const note of klm.klm.notes) out.write(`  note: ${note}\n`);
  out.write("\n");

  // ECL: the CNN against E/p, per charge and pT bin.
  const haveEcl = fs.existsSync(DEFAULT_ECL_CNN_PLUS) && fs.existsSync(DEFAULT_ECL_CNN_MINUS);
  let eclSummary = "ECL: no shipped CNN weights for both charges in weights/; skipped";
  if (haveEcl) {
    if (!opts.quiet) process.stderr.write(`simulating ${eclEvents} ECL study events …\n`);
    const lines: string[] = [];
    const sink = { write: (t: string) => (lines.push(t), true) } as unknown as NodeJS.WritableStream;
    const ecl = await runEclEvalCommand({ events: String(eclEvents), seed: String(seed), json: join(dir, "ecl.json"), report: join(dir, "ecl.html"), robustnessEvents: "0" }, sink);
    eclSummary = `ECL muon ID (pT 0.28–1 GeV/c, barrel): ${ecl.ecl.tracks} tracks\n` + lines.filter((l) => !l.startsWith("eval ecl: simulating") && !l.startsWith("eval ecl: main")).join("");
  }
  out.write(eclSummary + "\n\n");

  // Latency of the whole chain per BB̄ event.
  if (!opts.quiet) process.stderr.write(`timing the chain on ${bbbarEvents} BB̄ events …\n`);
  const likelihood = fs.existsSync(DEFAULT_KLM_LIKELIHOOD) ? KlmLikelihood.fromJsonText(new TextDecoder().decode(readInputFile(DEFAULT_KLM_LIKELIHOOD))) : null;
  const klmDnn = fs.existsSync(DEFAULT_KLM_DNN) ? await loadModel(readInputFile(DEFAULT_KLM_DNN)) : null;
  const eclCnn = async (file: string) => (fs.existsSync(file) ? EclCnnFast.create(readModelFile(readInputFile(file))) : null);
  const latency = await measureChainLatency({ likelihood, klmDnn, eclCnnPlus: await eclCnn(DEFAULT_ECL_CNN_PLUS), eclCnnMinus: await eclCnn(DEFAULT_ECL_CNN_MINUS) }, { events: bbbarEvents, seed });
  out.write(latencyTable(latency) + "\n\n");

  writeFileAtomic(join(dir, "latency.json"), JSON.stringify(latency, null, 1) + "\n");
  writeFileAtomic(join(dir, "index.html"), indexHtml(latency, haveEcl));
  out.write(`report: ${join(dir, "index.html")} (KLM: klm.html${haveEcl ? ", ECL: ecl.html" : ""}); ${((performance.now() - started) / 1000).toFixed(0)} s in all\n`);
}

export function latencyTable(l: ChainLatency): string {
  const ms = (v: number) => v.toFixed(3);
  return [
    `Latency of the full chain per BB̄ event (${l.events} events, ${(l.tracks / l.events).toFixed(1)} tracks/event, ${l.klmTracksPerEvent.toFixed(1)} with a KLM value, ${l.eclTracksPerEvent.toFixed(1)} with an ECL CNN value; one thread):`,
    `  per event: median ${ms(l.msPerEvent.median)} ms (p10 ${ms(l.msPerEvent.p10)}, p90 ${ms(l.msPerEvent.p90)}); per track: median ${ms(l.msPerTrack.median)} ms; ${l.eventsPerSecond.toFixed(0)} events/s`,
    `  stages: ${LATENCY_STAGES.map((s) => `${s} ${(100 * l.stageShare[s]).toFixed(1)} %`).join(", ")}`,
  ].join("\n");
}

function indexHtml(l: ChainLatency, haveEcl: boolean): string {
  const rows = LATENCY_STAGES.map((s) => `<tr><td>${s}</td><td>${(100 * l.stageShare[s]).toFixed(1)} %</td></tr>`).join("");
  return `<!doctype html><html><head><meta charset="utf-8"><title>muid-wasm demo report</title>
<style>body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto}td,th{padding:.2em .8em;text-align:left}</style></head><body>
<h1>muid-wasm demo report</h1>
<ul><li><a href="klm.html">KLM muon ID</a>: likelihood, DNN-global, DNN, Belle II DNN — ROC curves, fake rate vs momentum, penetration of pions that fake muons, feature statistics</li>
${haveEcl ? '<li><a href="ecl.html">ECL muon ID</a>: CNN vs E/p per charge and pT bin</li>' : "<li>ECL: no shipped CNN weights</li>"}</ul>
<h2>Latency per BB̄ event</h2>
<p>${l.events} events, ${(l.tracks / l.events).toFixed(1)} tracks per event; median ${l.msPerEvent.median.toFixed(3)} ms per event (p10 ${l.msPerEvent.p10.toFixed(3)}, p90 ${l.msPerEvent.p90.toFixed(3)}), ${l.eventsPerSecond.toFixed(0)} events/s, one thread.</p>
<table><tr><th>stage</th><th>share</th></tr>${rows}</table>
</body></html>
`;
}
