/**
 * `muid eval --task klm`: the KLM muon-ID evaluation (src/eval/klm.ts) as a command.
 *
 *   muid eval --task klm [--data FILE | --events N --seed S] [--json OUT.json] [--report OUT.html]
 *             [--likelihood FILE] [--dnn FILE] [--dnn-global FILE] [--belle2 FILE]
 *             [--robustness-events N] [--quiet]
 *
 * The sample: --data FILE (a KLM sample cache written by `muid train --model klm-dnn --sample-cache`,
 * or simulated rows, Arrow/JSONL, reconstructed here), else --events N of the KLM study gun simulated in
 * process with --seed S (default 2; the shipped models were trained with seed 1, so the default sample
 * is independent). Models: weights/klm-likelihood.json, weights/klm-dnn.safetensors,
 * weights/klm-dnn-global.safetensors and the Belle II weight file in ../shared when present (a missing
 * one is skipped with a note; a file named explicitly must exist). Robustness: --robustness-events N
 * events (default a third of --events; 0: none) for each of background ×3, efficiency −10 %, and the
 * extrapolation's field ×0.9 and ×1.1, all with the same seed as the main sample.
 *
 * Wiring (src/cli/eval.ts belongs to the ECL helper): `registerEvalKlm(evalCommand)` adds the options
 * this task reads that the command lacks; its action calls `runKlmEvalCommand(opts)` for --task klm.
 */
import * as fs from "node:fs";
import type { Command } from "commander";
import { OptionError } from "../errors.js";
import { importBasf2KlmDnn } from "../models/importBasf2.js";
import { loadModel } from "../models/load.js";
import type { ModelBundle } from "../models/card.js";
import { Model } from "../models/runtime.js";
import { KlmLikelihood } from "../reco/muidLikelihood.js";
import { readSimRows } from "../sim/io.js";
import { defaultDetectorConditions } from "../sim/event.js";
import { buildKlmSample, decodeKlmSample, klmSampleFromRows, type KlmSample, type KlmSampleOptions } from "../train/klmSample.js";
import { evaluateKlm, KLM_METHODS, type KlmEvaluation, type KlmFigureSet, type KlmRobustnessInput } from "../eval/klm.js";
import { escapeHtml, svgOf } from "../eval/plots.js";
import { readInputFile, writeFileAtomic } from "./files.js";

export const DEFAULT_KLM_LIKELIHOOD = "weights/klm-likelihood.json";
export const DEFAULT_KLM_DNN = "weights/klm-dnn.safetensors";
export const DEFAULT_KLM_DNN_GLOBAL = "weights/klm-dnn-global.safetensors";
export const DEFAULT_BELLE2_DNN = "../shared/reference/basf2/KLMMuonIDDNNWeightFile.xml";
export const DEFAULT_KLM_EVAL_EVENTS = 13000;
export const DEFAULT_KLM_EVAL_SEED = 2;
/** Robustness variations (ISSUE 4 item 7). Efficiency −10 % is relative: 0.96 → 0.864. */
export const KLM_ROBUSTNESS_BACKGROUND = 3;
export const KLM_ROBUSTNESS_EFFICIENCY_FACTOR = 0.9;
export const KLM_ROBUSTNESS_FIELD_SCALES: readonly number[] = [0.9, 1.1];

export interface KlmEvalCliOptions {
  task?: string;
  data?: string;
  events?: string;
  seed?: string;
  json?: string;
  report?: string;
  likelihood?: string;
  dnn?: string;
  dnnGlobal?: string;
  belle2?: string;
  robustnessEvents?: string;
  quiet?: boolean;
}

const OPTIONS: readonly [string, string][] = [
  ["--data <file>", "klm: a KLM sample cache or simulated rows (default: simulate --events in process)"],
  ["--events <n>", `klm: events of the KLM study gun to simulate (default ${DEFAULT_KLM_EVAL_EVENTS})`],
  ["--seed <s>", `klm: seed of the simulated sample (default ${DEFAULT_KLM_EVAL_SEED})`],
  ["--json <file>", "write the figures as JSON"],
  ["--report <file>", "write an HTML report with plots"],
  ["--likelihood <file>", `klm: Muid likelihood tables (default ${DEFAULT_KLM_LIKELIHOOD} when present)`],
  ["--dnn <file>", `klm: the 121-input DNN (default ${DEFAULT_KLM_DNN} when present)`],
  ["--dnn-global <file>", `klm: the global-only DNN (default ${DEFAULT_KLM_DNN_GLOBAL} when present)`],
  ["--belle2 <file>", `klm: the Belle II DNN weight file (default ${DEFAULT_BELLE2_DNN} when present)`],
  ["--robustness-events <n>", "klm: events per robustness variation (default a third of --events; 0: none)"],
];

/** Adds the options of the KLM task that `evalCommand` does not have yet. */
export function registerEvalKlm(evalCommand: Command): Command {
  const have = new Set(evalCommand.options.map((o) => o.long));
  for (const [flags, description] of OPTIONS) {
    const long = flags.split(" ")[0]!;
    if (!have.has(long)) evalCommand.option(flags, description);
  }
  return evalCommand;
}

function parseInteger(option: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text.trim());
  if (text.trim() === "" || !Number.isSafeInteger(v) || v < min || v > max) throw new OptionError(`${option} must be an integer in [${min}, ${max}] (got ${JSON.stringify(text)})`);
  return v;
}

/** An explicitly named file must exist; a default one is used only when present. */
function resolveFile(option: string, given: string | undefined, fallback: string): string | null {
  if (given !== undefined) {
    if (!fs.existsSync(given)) throw new OptionError(`${option} ${given}: no such file`);
    return given;
  }
  return fs.existsSync(fallback) ? fallback : null;
}

export interface KlmEvalSettings {
  data: string | null;
  events: number;
  seed: number;
  json: string | null;
  report: string | null;
  likelihood: string | null;
  dnn: string | null;
  dnnGlobal: string | null;
  belle2: string | null;
  robustnessEvents: number;
  quiet: boolean;
}

/** Validates the options (OptionError naming the bad one). */
export function parseKlmEvalOptions(opts: KlmEvalCliOptions): KlmEvalSettings {
  if (opts.task !== undefined && opts.task !== "klm") throw new OptionError(`--task must be klm here (got ${JSON.stringify(opts.task)})`);
  if (opts.data !== undefined && !fs.existsSync(opts.data)) throw new OptionError(`--data ${opts.data}: no such file`);
  if (opts.data !== undefined && opts.events !== undefined) throw new OptionError("--data and --events exclude each other (the sample is read or simulated)");
  const events = parseInteger("--events", opts.events, 1, 1e8) ?? DEFAULT_KLM_EVAL_EVENTS;
  const seed = parseInteger("--seed", opts.seed, 0, 4294967295) ?? DEFAULT_KLM_EVAL_SEED;
  const robustnessEvents = parseInteger("--robustness-events", opts.robustnessEvents, 0, 1e8) ?? Math.ceil(events / 3);
  for (const [option, file] of [["--json", opts.json], ["--report", opts.report]] as const) {
    if (file !== undefined && (file.trim() === "" || (fs.existsSync(file) && fs.statSync(file).isDirectory()))) throw new OptionError(`${option} must name a file (got ${JSON.stringify(file)})`);
  }
  return {
    data: opts.data ?? null, events, seed,
    json: opts.json ?? null, report: opts.report ?? null,
    likelihood: resolveFile("--likelihood", opts.likelihood, DEFAULT_KLM_LIKELIHOOD),
    dnn: resolveFile("--dnn", opts.dnn, DEFAULT_KLM_DNN),
    dnnGlobal: resolveFile("--dnn-global", opts.dnnGlobal, DEFAULT_KLM_DNN_GLOBAL),
    belle2: resolveFile("--belle2", opts.belle2, DEFAULT_BELLE2_DNN),
    robustnessEvents, quiet: opts.quiet === true,
  };
}

function isSampleCache(file: string): boolean {
  const fd = fs.openSync(file, "r");
  try {
    const head = Buffer.alloc(8);
    fs.readSync(fd, head, 0, 8, 0);
    return head.toString("latin1") === "MUIDKLMS";
  } finally {
    fs.closeSync(fd);
  }
}

/** Runs a validated evaluation; returns the JSON object (also written to --json) and writes --report. */
export async function runKlmEval(settings: KlmEvalSettings, progress: NodeJS.WritableStream = process.stderr): Promise<KlmEvaluation> {
  const say = (text: string) => {
    if (!settings.quiet) progress.write(`muid eval klm: ${text}\n`);
  };
  const started = performance.now();
  const likelihood = settings.likelihood ? KlmLikelihood.fromJsonText(new TextDecoder().decode(readInputFile(settings.likelihood))) : null;
  const load = async (file: string | null): Promise<Model | null> => (file ? loadModel(readInputFile(file)) : null);
  const dnn = await load(settings.dnn);
  const dnnGlobal = await load(settings.dnnGlobal);
  let belle2Bundle: ModelBundle | null = null;
  let belle2Dnn: Model | null = null;
  if (settings.belle2) {
    belle2Bundle = await importBasf2KlmDnn(readInputFile(settings.belle2), { sourcePath: settings.belle2 });
    belle2Dnn = await Model.create(belle2Bundle);
  }
  const notes: string[] = [];
  if (!likelihood) notes.push(`likelihood: no tables (--likelihood or ${DEFAULT_KLM_LIKELIHOOD})`);
  if (!dnn) notes.push(`dnn: no model (--dnn or ${DEFAULT_KLM_DNN})`);
  if (!dnnGlobal) notes.push(`dnnGlobal: no model (--dnn-global or ${DEFAULT_KLM_DNN_GLOBAL})`);

  const simulate = async (what: string, options: Omit<KlmSampleOptions, "seed" | "onProgress">): Promise<KlmSample> => {
    const sample = await buildKlmSample({
      seed: settings.seed, ...options, progressEvery: Math.max(500, Math.ceil((options.events ?? 0) / 10)),
      reconstruction: { likelihood, ...options.reconstruction },
      onProgress: (p) => say(`${what}: ${p.events} events, ${p.tracks} tracks, ${p.selected} with a KLM value (${p.seconds.toFixed(0)} s)`),
    });
    return sample;
  };
  let sample: KlmSample;
  if (settings.data !== null) {
    if (isSampleCache(settings.data)) {
      sample = decodeKlmSample(readInputFile(settings.data));
      if (sample.n > 0 && Number.isNaN(sample.likelihoodScore[0]!) && likelihood) notes.push("likelihood: the sample cache was made without likelihood tables, so the likelihood is skipped");
      say(`read ${sample.n} tracks from ${settings.data}`);
    } else {
      const rows = readSimRows(settings.data);
      sample = await klmSampleFromRows(rows, { likelihood });
      say(`reconstructed ${rows.length} rows from ${settings.data}: ${sample.n} with a KLM value`);
    }
  } else sample = await simulate("sample", { events: settings.events });

  const robustness: KlmRobustnessInput[] = [];
  if (settings.robustnessEvents > 0) {
    const nominal = defaultDetectorConditions();
    const events = settings.robustnessEvents;
    const background = { ...nominal, klmBackground: nominal.klmBackground * KLM_ROBUSTNESS_BACKGROUND };
    robustness.push({ name: "background-x3", description: `KLM beam background ×${KLM_ROBUSTNESS_BACKGROUND} in the simulation`, sample: await simulate("background ×3", { events, conditions: background }) });
    const efficiency = { ...nominal, klmEfficiency: nominal.klmEfficiency * KLM_ROBUSTNESS_EFFICIENCY_FACTOR };
    robustness.push({
      name: "efficiency-10pct", description: `KLM layer efficiency ${nominal.klmEfficiency} → ${efficiency.klmEfficiency.toFixed(3)} (−10 %) in the simulation; reconstruction unchanged`,
      sample: await simulate("efficiency −10 %", { events, conditions: efficiency }),
    });
    for (const scale of KLM_ROBUSTNESS_FIELD_SCALES) {
      const label = `field ${scale > 1 ? "+" : "−"}${Math.round(Math.abs(scale - 1) * 100)} %`;
      robustness.push({
        name: `field-${scale > 1 ? "plus" : "minus"}10pct`, description: `${label} in the extrapolation only (field scale ${scale}); simulation nominal`,
        sample: await simulate(label, { events, reconstruction: { fieldScale: scale } }),
      });
    }
  }

  const evaluation = evaluateKlm({
    sample, scorers: { dnn, dnnGlobal, belle2Dnn }, belle2Bundle, robustness, notes,
    provenance: {
      likelihood: settings.likelihood, dnn: settings.dnn, dnnGlobal: settings.dnnGlobal, belle2Dnn: settings.belle2,
      data: settings.data, seed: settings.data === null ? settings.seed : null, events: settings.data === null ? settings.events : null,
      robustnessEvents: settings.robustnessEvents, seconds: Math.round((performance.now() - started) / 1000),
    },
  });
  if (settings.json) writeFileAtomic(settings.json, JSON.stringify(evaluation, null, 1) + "\n");
  if (settings.report) writeFileAtomic(settings.report, await klmReportHtml(evaluation));
  say(`${evaluation.klm.tracks} tracks (${evaluation.klm.muons} μ, ${evaluation.klm.pions} π) in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  if (!settings.quiet) progress.write(klmSummaryTable(evaluation.klm) + "\n");
  return evaluation;
}

/** `muid eval --task klm` entry point for the eval command's action. */
export async function runKlmEvalCommand(opts: KlmEvalCliOptions, progress: NodeJS.WritableStream = process.stderr): Promise<KlmEvaluation> {
  return runKlmEval(parseKlmEvalOptions(opts), progress);
}

const percent = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(digits)} %`);

/** The main table as text: one line per method. */
export function klmSummaryTable(klm: KlmFigureSet): string {
  const lines = ["method       π fake @ 90 % μ eff   μ eff @ 2 % π fake   AUC"];
  for (const name of KLM_METHODS) {
    const f = klm.methods[name];
    if (!f) continue;
    lines.push(`${name.padEnd(12)} ${percent(f.fakeRateAt90).padStart(10)} ± ${percent(f.fakeRateAt90Error).padEnd(8)} ${percent(f.efficiencyAt2).padStart(10)} ± ${percent(f.efficiencyAt2Error).padEnd(8)} ${f.auc?.toFixed(4) ?? "—"}`);
  }
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------
// HTML report: tables and vega-lite plots rendered to SVG headless (self-contained)

function figureTable(title: string, sets: { label: string; set: KlmFigureSet }[]): string {
  const head = `<tr><th>${escapeHtml(title)}</th><th>tracks (μ/π)</th>${KLM_METHODS.map((m) => `<th>${m}<br>fake @ 90 %</th><th>${m}<br>eff @ 2 %</th><th>${m}<br>AUC</th>`).join("")}</tr>`;
  const rows = sets.map(({ label, set }) => {
    const cells = KLM_METHODS.map((m) => {
      const f = set.methods[m];
      return f ? `<td>${percent(f.fakeRateAt90)}</td><td>${percent(f.efficiencyAt2)}</td><td>${f.auc?.toFixed(4) ?? "—"}</td>` : "<td>—</td><td>—</td><td>—</td>";
    }).join("");
    return `<tr><td>${escapeHtml(label)}</td><td>${set.tracks} (${set.muons}/${set.pions})</td>${cells}</tr>`;
  });
  return `<table>${head}${rows.join("")}</table>`;
}

/** The self-contained HTML report of an evaluation. */
export async function klmReportHtml(evaluation: KlmEvaluation): Promise<string> {
  const klm = evaluation.klm;
  const rocValues = Object.entries(klm.roc).flatMap(([method, r]) => r!.efficiency.map((e, k) => ({ method, efficiency: e, fakeRate: Math.max(r!.fakeRate[k]!, 1e-4) })).filter((p) => p.efficiency >= 0.5));
  const rocSvg = rocValues.length > 0 ? await svgOf({
    width: 480, height: 360, title: "ROC: pion fake rate vs muon efficiency (0.7 < p < 5 GeV/c)",
    data: { values: rocValues }, mark: "line",
    encoding: {
      x: { field: "efficiency", type: "quantitative", title: "muon efficiency", scale: { domain: [0.5, 1] } },
      y: { field: "fakeRate", type: "quantitative", title: "pion fake rate", scale: { type: "log", domain: [1e-4, 1] } },
      color: { field: "method", type: "nominal" },
    },
  }) : "";
  const hp = klm.hitPatterns;
  let hitSvg = "";
  if (hp) {
    const values: { nExt: number; nHit: number; count: number }[] = [];
    hp.fakePionCounts.forEach((row, e) => row.forEach((c, h) => { if (c > 0) values.push({ nExt: e, nHit: h, count: c }); }));
    hitSvg = await svgOf({
      width: 420, height: 360, title: `pions passing the likelihood's 90 % cut: N_hit vs N_ext (${hp.fakePions} pions)`,
      data: { values }, mark: "rect",
      encoding: {
        x: { field: "nExt", type: "ordinal", title: "N_ext (layers with an ext bit)" },
        y: { field: "nHit", type: "ordinal", title: "N_hit (layers with a matched hit)", sort: "descending" },
        color: { field: "count", type: "quantitative" },
      },
    });
  }
  const features = klm.featureStatistics.map((f) => `<tr><td>${f.index}</td><td>${escapeHtml(f.name)}</td><td>${f.mean.toPrecision(4)}</td><td>${f.sd.toPrecision(4)}</td><td>${f.belle2Mean?.toPrecision(4) ?? "—"}</td><td>${f.belle2Sd?.toPrecision(4) ?? "—"}</td></tr>`).join("");
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>muid-wasm KLM muon-ID evaluation</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #bbb;padding:3px 6px;text-align:right}th{background:#eee}</style></head>
<body><h1>KLM muon identification: likelihood vs DNN</h1>
<p>${escapeHtml(klm.selection)}. ${klm.tracks} tracks (${klm.muons} μ, ${klm.pions} π). Rates are fractions shown in per cent.</p>
${figureTable("all", [{ label: "all", set: klm }])}
<h2>By momentum (GeV/c)</h2>${figureTable("p bin", klm.byMomentum.map((b) => ({ label: `${b.pMin}–${b.pMax}`, set: b })))}
<h2>By region</h2>${figureTable("region", klm.byRegion.map((b) => ({ label: b.region, set: b })))}
<h2>Robustness (nominal models)</h2>${figureTable("variation", klm.robustness.map((b) => ({ label: b.description, set: b })))}
<h2>ROC</h2>${rocSvg}
<h2>Where the likelihood fails</h2>${hp ? `<p>Mean N_hit ${hp.fakePionMeanNHit.toFixed(2)}, mean N_ext ${hp.fakePionMeanNExt.toFixed(2)} of the ${hp.fakePions} pions with a likelihood score above the 90 %-efficiency cut.</p>${hitSvg}` : "<p>(no likelihood)</p>"}
<h2>Feature means and spreads (all tracks with a KLM value) vs Belle II BatchNorm statistics</h2>
<table><tr><th>#</th><th>feature</th><th>mean</th><th>sd</th><th>Belle II mean</th><th>Belle II sd</th></tr>${features}</table>
<h2>Notes</h2><ul>${klm.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>
<pre>${escapeHtml(JSON.stringify(klm.provenance, null, 1))}</pre>
</body></html>
`;
}
