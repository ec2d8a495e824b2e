/**
 * `muid demo` (npm start), the main job: simulates the default samples with the embedded generators,
 * runs the whole chain with the shipped weights in weights/, prints the performance tables (KLM:
 * likelihood / DNN-global / DNN / Belle II DNN; ECL: E/p / CNN; the combined muon probability over
 * all momenta), the robustness scans and the latency per BB̄ event, and writes an HTML report folder:
 *
 *   index.html     summary: fake rate vs momentum (KLM methods and the combined probability), the
 *                  penetration (N_hit) of pions that fake muons, mean μ and π ECL images, robustness
 *                  scans, latency
 *   klm.html, klm.json            the KLM evaluation (src/eval/klm.ts via src/cli/evalKlm.ts)
 *   ecl.html, ecl.json            the ECL evaluation (src/eval/ecl.ts via src/cli/eval.ts)
 *   combined.html, combined.json  the combined probability (src/eval/combined.ts); with the
 *                  robustness scans also combined-background-x3.json
 *   latency.json
 *
 * Plots are Vega-Lite rendered to SVG (src/eval/plots.ts). Sample sizes are options; the defaults
 * keep `npm start` at about a minute on one core.
 */
import fs from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { OptionError } from "../errors.js";
import { loadModel } from "../models/load.js";
import { readModelFile } from "../models/modelFile.js";
import { EclCnnFast } from "../models/eclCnnFast.js";
import { KlmLikelihood } from "../reco/muidLikelihood.js";
import { CombinedMuonId } from "../reco/combinedMuonId.js";
import { eclSampleImages, type EclSample } from "../reco/eclSample.js";
import { ECL_WINDOW_PIXELS, ECL_WINDOW_SIZE } from "../geometry/eclWindow.js";
import { measureChainLatency, LATENCY_STAGES, type ChainLatency } from "../eval/latency.js";
import { COMBINED_METHODS, combinedReportHtml, evaluateCombined, type CombinedEvaluation } from "../eval/combined.js";
import { KLM_METHODS, type KlmEvaluation } from "../eval/klm.js";
import type { EclEvaluation } from "../eval/ecl.js";
import { escapeHtml, svgOf } from "../eval/plots.js";
import { buildCombinedSample, buildCombinedSampleWithProgress, DEFAULT_COMBINED_OUTPUT, loadCombinedModels } from "../train/combinedMuonId.js";
import { DEFAULT_ECL_CNN_MINUS, DEFAULT_ECL_CNN_PLUS, runEclEvalCommand } from "./eval.js";
import { DEFAULT_KLM_DNN, DEFAULT_KLM_LIKELIHOOD, klmSummaryTable, parseKlmEvalOptions, runKlmEval } from "./evalKlm.js";
import { readInputFile, writeFileAtomic } from "./files.js";
import { defaultDetectorConditions } from "../sim/event.js";

interface DemoOptions {
  klmEvents: string;
  eclEvents: string;
  combinedEvents: string;
  bbbarEvents: string;
  seed: string;
  report: string;
  robustness: boolean;
  quiet?: boolean;
}

/** Beam-background level (× nominal, both detectors) of the combined probability's robustness scan. */
export const DEMO_COMBINED_BACKGROUND = 3;

/** pT bins (GeV/c, at the IP) of the mean ECL images. */
export const DEMO_IMAGE_PT_BINS: readonly [number, number][] = [[0.28, 0.4], [0.8, 1.0]];

function positiveInteger(option: string, text: string): number {
  const v = Number(text);
  if (!Number.isSafeInteger(v) || v < 1) throw new OptionError(`${option} must be a positive integer (got ${JSON.stringify(text)})`);
  return v;
}

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("main job (npm start): simulate the default samples, run the whole chain with the shipped weights, print the tables, robustness scans and latency, write an HTML report")
    .option("--klm-events <n>", "KLM study events (4–16 tracks each)", "2000")
    .option("--ecl-events <n>", "ECL study events (one track each)", "12000")
    .option("--combined-events <n>", "events for the combined probability (4–16 tracks, p 0.2–5 GeV/c)", "6000")
    .option("--bbbar-events <n>", "BB̄ events for the latency", "300")
    .option("--seed <s>", "seed of every sample", "20261124")
    .option("--report <dir>", "folder for the HTML report and JSON figures", "muid-report")
    .option("--no-robustness", "skip the robustness scans (KLM background, efficiency, field; ECL background)")
    .option("-q, --quiet", "no progress on stderr")
    .addHelpText("after", "\nWrites <dir>/index.html (summary and plots), klm.html, ecl.html, combined.html and the figures as JSON.")
    .action(async (opts: DemoOptions) => runDemo(opts));
}

const percent = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined ? "—" : `${(100 * v).toFixed(digits)} %`);

export async function runDemo(opts: DemoOptions, out: NodeJS.WritableStream = process.stdout, progress: NodeJS.WritableStream = process.stderr): Promise<void> {
  const klmEvents = positiveInteger("--klm-events", opts.klmEvents);
  const eclEvents = positiveInteger("--ecl-events", opts.eclEvents);
  const combinedEvents = positiveInteger("--combined-events", opts.combinedEvents);
  const bbbarEvents = positiveInteger("--bbbar-events", opts.bbbarEvents);
  const seed = positiveInteger("--seed", opts.seed);
  const robustness = opts.robustness !== false;
  const dir = opts.report;
  if (dir.trim() === "") throw new OptionError("--report must name a folder");
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new OptionError(`--report ${dir} exists and is not a folder`);
  fs.mkdirSync(dir, { recursive: true });
  const started = performance.now();
  const stage = (text: string): void => {
    if (!opts.quiet) progress.write(`muid demo: ${text} (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
  };
  out.write(`muid demo: Belle II muon ID in WebAssembly — seed ${seed}, report in ${dir}/\n\n`);

  // KLM: likelihood, DNN-global, DNN and (with ../shared) the real Belle II DNN on a fresh sample.
  const klmRobustness = robustness ? Math.max(1, Math.ceil(klmEvents / 3)) : 0;
  const klmSettings = parseKlmEvalOptions({ events: String(klmEvents), seed: String(seed), json: join(dir, "klm.json"), report: join(dir, "klm.html"), robustnessEvents: String(klmRobustness), quiet: true });
  stage(`simulating and reconstructing ${klmEvents} KLM study events${robustness ? ` and 4 × ${klmRobustness} for the robustness scans` : ""}`);
  const klm = await runKlmEval(klmSettings, progress);
  out.write(`KLM muon ID: ${klm.klm.tracks} tracks (${klm.klm.muons} μ, ${klm.klm.pions} π), ${klm.klm.selection}\n`);
  out.write(klmSummaryTable(klm.klm) + "\n");
  for (const note of klm.klm.notes) out.write(`  note: ${note}\n`);
  out.write("\n");

  // ECL: the CNN against E/p, per charge and pT bin.
  const haveEcl = fs.existsSync(DEFAULT_ECL_CNN_PLUS) && fs.existsSync(DEFAULT_ECL_CNN_MINUS);
  let ecl: EclEvaluation | null = null;
  const eclKeep: { main?: EclSample } = {};
  if (haveEcl) {
    const eclRobustness = robustness ? Math.max(1, Math.ceil(eclEvents / 3)) : 0;
    stage(`simulating ${eclEvents} ECL study events${robustness ? ` and 3 × ${eclRobustness} for the background scan` : ""}`);
    const lines: string[] = [];
    const sink = { write: (t: string) => (lines.push(t), true) } as unknown as NodeJS.WritableStream;
    ecl = await runEclEvalCommand({ events: String(eclEvents), seed: String(seed), json: join(dir, "ecl.json"), report: join(dir, "ecl.html"), robustnessEvents: String(eclRobustness) }, sink, eclKeep);
    out.write(`ECL muon ID (pT 0.28–1 GeV/c, barrel): ${ecl.ecl.tracks} tracks\n`);
    out.write(lines.filter((l) => !l.startsWith("eval ecl: simulating") && !l.startsWith("eval ecl: main") && !l.startsWith("eval ecl: background")).join("") + "\n");
  } else out.write("ECL: no shipped CNN weights for both charges in weights/; skipped\n\n");

  // The combined probability over all momenta.
  let combined: CombinedEvaluation | null = null;
  let combinedBackground: CombinedEvaluation | null = null;
  const haveCombined = haveEcl && fs.existsSync(DEFAULT_COMBINED_OUTPUT) && fs.existsSync(DEFAULT_KLM_DNN);
  if (haveCombined) {
    stage(`simulating ${combinedEvents} events (p 0.2–5 GeV/c) for the combined muon probability`);
    const calibration = CombinedMuonId.fromJsonText(new TextDecoder().decode(readInputFile(DEFAULT_COMBINED_OUTPUT)));
    const models = await loadCombinedModels({ klmDnn: DEFAULT_KLM_DNN, eclCnnPlus: DEFAULT_ECL_CNN_PLUS, eclCnnMinus: DEFAULT_ECL_CNN_MINUS });
    const sample = await buildCombinedSampleWithProgress("muid demo: combined sample", models, combinedEvents, seed, progress, opts.quiet === true);
    combined = evaluateCombined(sample, calibration, { calibration: DEFAULT_COMBINED_OUTPUT, events: combinedEvents, seed, sample: "combined study guns (p 0.2–5 and 0.2–2 GeV/c, θ 18°–155°, 4–16 tracks)" });
    if (robustness) {
      // the calibration under beam background ×3 in both detectors (it was fitted at ×1)
      const events = Math.max(1, Math.ceil(combinedEvents / 3));
      stage(`simulating ${events} events at beam background ×${DEMO_COMBINED_BACKGROUND} for the combined probability`);
      const nominal = defaultDetectorConditions();
      const conditions = { ...nominal, klmBackground: nominal.klmBackground * DEMO_COMBINED_BACKGROUND, eclBackground: nominal.eclBackground * DEMO_COMBINED_BACKGROUND };
      combinedBackground = evaluateCombined(await buildCombinedSample({ events, seed, models, conditions }), calibration, { calibration: DEFAULT_COMBINED_OUTPUT, events, seed, background: DEMO_COMBINED_BACKGROUND });
    }
    writeFileAtomic(join(dir, "combined.json"), JSON.stringify(combined, null, 1) + "\n");
    writeFileAtomic(join(dir, "combined.html"), await combinedReportHtml(combined));
    out.write(combinedDemoTable(combined) + "\n\n");
  } else out.write(`Combined muon probability: needs ${DEFAULT_COMBINED_OUTPUT}, ${DEFAULT_KLM_DNN} and both ECL CNNs; skipped\n\n`);

  if (robustness) out.write(robustnessTable(klm, ecl, combined && combinedBackground ? { nominal: combined, background: combinedBackground } : null) + "\n\n");

  // Latency of the whole chain per BB̄ event.
  stage(`timing the chain on ${bbbarEvents} BB̄ events`);
  const likelihood = fs.existsSync(DEFAULT_KLM_LIKELIHOOD) ? KlmLikelihood.fromJsonText(new TextDecoder().decode(readInputFile(DEFAULT_KLM_LIKELIHOOD))) : null;
  const klmDnn = fs.existsSync(DEFAULT_KLM_DNN) ? await loadModel(readInputFile(DEFAULT_KLM_DNN)) : null;
  const eclCnn = async (file: string) => (fs.existsSync(file) ? EclCnnFast.create(readModelFile(readInputFile(file))) : null);
  const latency = await measureChainLatency({ likelihood, klmDnn, eclCnnPlus: await eclCnn(DEFAULT_ECL_CNN_PLUS), eclCnnMinus: await eclCnn(DEFAULT_ECL_CNN_MINUS) }, { events: bbbarEvents, seed });
  out.write(latencyTable(latency) + "\n\n");

  stage("writing the report");
  writeFileAtomic(join(dir, "latency.json"), JSON.stringify(latency, null, 1) + "\n");
  if (combinedBackground) writeFileAtomic(join(dir, "combined-background-x3.json"), JSON.stringify(combinedBackground, null, 1) + "\n");
  writeFileAtomic(join(dir, "index.html"), await indexHtml({ latency, klm, ecl, eclSample: eclKeep.main ?? null, combined, combinedBackground, robustness }));
  const pages = ["klm.html", ...(ecl ? ["ecl.html"] : []), ...(combined ? ["combined.html"] : [])];
  out.write(`report: ${join(dir, "index.html")} (also ${pages.join(", ")}); ${((performance.now() - started) / 1000).toFixed(0)} s in all\n`);
}

/** The combined-probability table of the terminal: combined next to each detector alone, per momentum range. */
export function combinedDemoTable(evaluation: CombinedEvaluation): string {
  const e = evaluation.combined;
  const label = { combined: "combined", klmDnn: "KLM DNN", eclCnn: "ECL CNN" } as const;
  const lines = [
    `Combined muon probability (ECL CNN ⊕ KLM DNN, calibrated): ${e.overall.tracks} tracks (${e.overall.muons} μ, ${e.overall.pions} π), p 0.2–5 GeV/c`,
    `${"".padEnd(10)}${COMBINED_METHODS.map((m) => ` │ ${label[m].padEnd(25)}`).join("")}`.trimEnd(),
    `${"p (GeV/c)".padEnd(10)}${COMBINED_METHODS.map(() => ` │ ${"cover".padStart(5)}  ${"fake@90%".padStart(8)}  ${"eff@2%".padStart(8)}`).join("")}`,
  ];
  for (const set of [e.overall, ...e.byMomentum]) {
    const cells = COMBINED_METHODS.map((m) => {
      const f = set.methods[m];
      return ` │ ${percent(f.coverage, 0).padStart(5)}  ${percent(f.fakeRateAt90, 1).padStart(8)}  ${percent(f.efficiencyAt2, 1).padStart(8)}`;
    });
    lines.push(`${`${set.pMin}–${set.pMax}`.padEnd(10)}${cells.join("")}`);
  }
  lines.push(`  reliability: expected calibration error ${percent(e.calibrationError)} (predicted vs observed muon fraction, equal priors); ${e.noInformation.tracks} tracks with no information get P = 0.5`);
  return lines.join("\n");
}

/** Robustness scans: pion fake rate at 90 % muon efficiency under changed conditions, nominal models. */
export function robustnessTable(klm: KlmEvaluation, ecl: EclEvaluation | null, combined: { nominal: CombinedEvaluation; background: CombinedEvaluation } | null = null): string {
  const lines = ["Robustness (nominal models; pion fake rate at 90 % muon efficiency):"];
  lines.push(`  KLM (0.7 < p < 5 GeV/c)   ${KLM_METHODS.map((m) => m.padStart(11)).join("")}`);
  lines.push(`  ${"nominal".padEnd(26)}${KLM_METHODS.map((m) => percent(klm.klm.methods[m]?.fakeRateAt90).padStart(11)).join("")}`);
  for (const r of klm.klm.robustness) lines.push(`  ${r.name.padEnd(26)}${KLM_METHODS.map((m) => percent(r.methods[m]?.fakeRateAt90).padStart(11)).join("")}`);
  if (ecl) {
    const mean = (bins: EclEvaluation["ecl"]["byPt"], m: "cnn" | "ep"): number | null => {
      const v = bins.map((b) => b[m].fakeRateAt90).filter((x): x is number => x !== null);
      return v.length > 0 ? v.reduce((a, b) => a + b, 0) / v.length : null;
    };
    lines.push("  ECL (mean over charge and pT bins)         CNN        E/p");
    for (const t of ecl.ecl.thresholds) lines.push(`  ${`pixel threshold ${t.thresholdMeV} MeV`.padEnd(40)}${percent(mean(t.byPt, "cnn")).padStart(9)}  ${percent(mean(t.byPt, "ep")).padStart(9)}`);
    for (const b of ecl.ecl.background) lines.push(`  ${`beam background ×${b.level}`.padEnd(40)}${percent(mean(b.byPt, "cnn")).padStart(9)}  ${percent(mean(b.byPt, "ep")).padStart(9)}`);
  }
  if (combined) {
    lines.push("  Combined probability (0.2–5 GeV/c)         fake@90%  calibration error");
    for (const [label, e] of [["nominal", combined.nominal], [`beam background ×${DEMO_COMBINED_BACKGROUND} (KLM and ECL)`, combined.background]] as const)
      lines.push(`  ${label.padEnd(40)}${percent(e.combined.overall.methods.combined.fakeRateAt90).padStart(9)}  ${percent(e.combined.calibrationError).padStart(9)}`);
  }
  return lines.join("\n");
}

export function latencyTable(l: ChainLatency): string {
  const ms = (v: number) => v.toFixed(3);
  return [
    `Latency of the full chain per BB̄ event (${l.events} events, ${(l.tracks / l.events).toFixed(1)} tracks/event, ${l.klmTracksPerEvent.toFixed(1)} with a KLM value, ${l.eclTracksPerEvent.toFixed(1)} with an ECL CNN value; one thread):`,
    `  per event: median ${ms(l.msPerEvent.median)} ms (p10 ${ms(l.msPerEvent.p10)}, p90 ${ms(l.msPerEvent.p90)}); per track: median ${ms(l.msPerTrack.median)} ms; ${l.eventsPerSecond.toFixed(0)} events/s`,
    `  stages: ${LATENCY_STAGES.map((s) => `${s} ${(100 * l.stageShare[s]).toFixed(1)} %`).join(", ")}`,
  ].join("\n");
}

/** Mean preprocessed 7×7 image (1 MeV threshold) per species and charge in each pT bin. */
export function meanEclImages(sample: EclSample, ptBins: readonly [number, number][] = DEMO_IMAGE_PT_BINS): { species: string; ptBin: string; tracks: number; mean: Float64Array }[] {
  const images = eclSampleImages(sample);
  const out: { species: string; ptBin: string; tracks: number; mean: Float64Array }[] = [];
  for (const [lo, hi] of ptBins) {
    for (const [isMuon, charge, species] of [[1, 1, "μ+"], [0, 1, "π+"], [1, -1, "μ−"], [0, -1, "π−"]] as const) {
      const mean = new Float64Array(ECL_WINDOW_PIXELS);
      let tracks = 0;
      for (let i = 0; i < sample.n; i++) {
        if (sample.isMuon[i] !== isMuon || sample.charge[i] !== charge || !(sample.ptIp[i]! >= lo && sample.ptIp[i]! < hi)) continue;
        tracks++;
        for (let k = 0; k < ECL_WINDOW_PIXELS; k++) mean[k]! += images[i * ECL_WINDOW_PIXELS + k]!;
      }
      if (tracks > 0) for (let k = 0; k < ECL_WINDOW_PIXELS; k++) mean[k]! /= tracks;
      out.push({ species, ptBin: `pT ${lo}–${hi} GeV/c`, tracks, mean });
    }
  }
  return out;
}

interface IndexInputs {
  latency: ChainLatency;
  klm: KlmEvaluation;
  ecl: EclEvaluation | null;
  eclSample: EclSample | null;
  combined: CombinedEvaluation | null;
  combinedBackground: CombinedEvaluation | null;
  robustness: boolean;
}

async function indexHtml(x: IndexInputs): Promise<string> {
  const l = x.latency;
  // fake rate vs momentum: KLM methods (0.7 < p < 5) and the combined probability with its single-detector parts (0.2–5)
  const fakeValues = [
    ...x.klm.klm.byMomentum.flatMap((b) => KLM_METHODS.filter((m) => b.methods[m]?.fakeRateAt90 != null).map((m) => ({ p: (b.pMin + b.pMax) / 2, pMin: b.pMin, pMax: b.pMax, fakeRate: Math.max(b.methods[m]!.fakeRateAt90!, 1e-4), method: `KLM ${m}`, sample: "KLM study gun" }))),
    ...(x.combined?.combined.byMomentum ?? []).flatMap((b) => COMBINED_METHODS.filter((m) => b.methods[m].fakeRateAt90 !== null && b.methods[m].coverage > 0).map((m) => ({ p: (b.pMin + b.pMax) / 2, pMin: b.pMin, pMax: b.pMax, fakeRate: Math.max(b.methods[m].fakeRateAt90!, 1e-4), method: m === "combined" ? "combined probability" : `${m} (calibrated, alone)`, sample: "combined gun" }))),
  ];
  const fakeSvg = await svgOf({
    title: "Pion fake rate at 90 % muon efficiency vs momentum", width: 520, height: 300, data: { values: fakeValues },
    layer: [
      { mark: { type: "line", point: true }, encoding: {
        x: { field: "p", type: "quantitative", title: "p (GeV/c, bin centre)", scale: { domain: [0, 5] } },
        y: { field: "fakeRate", type: "quantitative", title: "pion fake rate", scale: { type: "log" } },
        color: { field: "method", type: "nominal", title: null, legend: { labelLimit: 320 } },
      } },
      { mark: { type: "rule", opacity: 0.3 }, encoding: { x: { field: "pMin", type: "quantitative" }, x2: { field: "pMax" }, y: { field: "fakeRate", type: "quantitative" }, color: { field: "method", type: "nominal" } } },
    ],
  });
  // penetration of the pions that pass the likelihood's 90 % cut, against all muons and pions
  let penetrationSvg = "<p>(no likelihood tables: no fake-pion study)</p>";
  const hp = x.klm.klm.hitPatterns;
  if (hp) {
    const nHit = (counts: number[][]): number[] => counts[0]!.map((_, h) => counts.reduce((a, row) => a + row[h]!, 0));
    const series = [["muons", nHit(hp.muonCounts)], ["all pions", nHit(hp.pionCounts)], ["fake pions (likelihood 90 % cut)", nHit(hp.fakePionCounts)]] as const;
    const values = series.flatMap(([name, hist]) => {
      const total = hist.reduce((a, b) => a + b, 0);
      return hist.map((c, h) => ({ nHit: h, fraction: total > 0 ? c / total : 0, tracks: name }));
    }).filter((v) => v.nHit <= 22);
    penetrationSvg = await svgOf({
      title: `Penetration: layers with a matched hit (N_hit), ${hp.fakePions} fake pions`, width: 520, height: 260, data: { values },
      mark: { type: "line", point: true, interpolate: "step-after" },
      encoding: {
        x: { field: "nHit", type: "quantitative", title: "N_hit (KLM layers with a matched hit)" },
        y: { field: "fraction", type: "quantitative", title: "fraction of tracks" },
        color: { field: "tracks", type: "nominal", title: null, legend: { labelLimit: 320 } },
      },
    });
  }
  // mean ECL images
  let imagesSvg = "", imagesCaption = "";
  if (x.eclSample) {
    const means = meanEclImages(x.eclSample);
    const values = means.flatMap((m) => Array.from(m.mean, (e, k) => ({
      row: Math.floor(k / ECL_WINDOW_SIZE) - 3, col: (k % ECL_WINDOW_SIZE) - 3, energyMeV: 1000 * e, species: m.species, ptBin: m.ptBin,
    })));
    imagesCaption = `<p>Tracks per panel: ${means.map((m) => `${m.species} ${m.ptBin}: ${m.tracks}`).join("; ")}. Rows are θ, columns φ ascending (the window of the CNN input, ecl.md §1.5).</p>`;
    imagesSvg = await svgOf({
      title: "Mean ECL 7×7 images (1 MeV threshold) around the entry crystal", data: { values },
      facet: { row: { field: "ptBin", type: "nominal", title: null }, column: { field: "species", type: "nominal", title: null, sort: ["μ+", "π+", "μ−", "π−"] } },
      spec: {
        width: 110, height: 110, mark: "rect",
        encoding: {
          x: { field: "col", type: "ordinal", title: "Δφ (crystals)" },
          y: { field: "row", type: "ordinal", title: "Δθ (crystals)" },
          color: { field: "energyMeV", type: "quantitative", title: "MeV", scale: { type: "sqrt", scheme: "viridis" } },
        },
      },
      resolve: { scale: { color: "shared" } },
    });
  }
  const robustnessRows = x.robustness
    ? `<table><tr><th>KLM variation (p &gt; 0.7 GeV/c)</th>${KLM_METHODS.map((m) => `<th>${m}</th>`).join("")}</tr>` +
      [{ name: "nominal", description: "nominal", methods: x.klm.klm.methods }, ...x.klm.klm.robustness].map((r) => `<tr><td title="${escapeHtml(r.description)}">${escapeHtml(r.name)}</td>${KLM_METHODS.map((m) => `<td>${percent(r.methods[m]?.fakeRateAt90)}</td>`).join("")}</tr>`).join("") +
      "</table><p>ECL: threshold and background scans per pT bin in <a href=\"ecl.html\">ecl.html</a>.</p>" +
      (x.combined && x.combinedBackground
        ? `<table><tr><th>combined probability (0.2–5 GeV/c)</th><th>fake @ 90 %</th><th>eff @ 2 %</th><th>calibration error</th></tr>${([["nominal", x.combined], [`beam background ×${DEMO_COMBINED_BACKGROUND} (KLM and ECL)`, x.combinedBackground]] as const).map(([label, e]) => `<tr><td>${label}</td><td>${percent(e.combined.overall.methods.combined.fakeRateAt90)}</td><td>${percent(e.combined.overall.methods.combined.efficiencyAt2)}</td><td>${percent(e.combined.calibrationError)}</td></tr>`).join("")}</table>`
        : "")
    : "<p>(robustness scans skipped: --no-robustness)</p>";
  const rows = LATENCY_STAGES.map((s) => `<tr><td>${s}</td><td>${(100 * l.stageShare[s]).toFixed(1)} %</td></tr>`).join("");
  const c = x.combined?.combined;
  const combinedRows = c
    ? `<table><tr><th>p (GeV/c)</th>${COMBINED_METHODS.map((m) => `<th>${m} coverage</th><th>${m} fake @ 90 %</th><th>${m} eff @ 2 %</th>`).join("")}</tr>` +
      [c.overall, ...c.byMomentum].map((s) => `<tr><td>${s.pMin}–${s.pMax}</td>${COMBINED_METHODS.map((m) => `<td>${percent(s.methods[m].coverage, 1)}</td><td>${percent(s.methods[m].fakeRateAt90)}</td><td>${percent(s.methods[m].efficiencyAt2)}</td>`).join("")}</tr>`).join("") +
      `</table><p>Expected calibration error ${percent(c.calibrationError)}; curves and reliability in <a href="combined.html">combined.html</a>.</p>`
    : "<p>(combined probability skipped: no calibration or models)</p>";
  return `<!doctype html><html><head><meta charset="utf-8"><title>muid-wasm demo report</title>
<style>body{font-family:system-ui,sans-serif;max-width:72em;margin:2em auto}table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #bbb;padding:.2em .6em;text-align:right}th{background:#eee}</style></head><body>
<h1>muid-wasm demo report</h1>
<ul><li><a href="klm.html">KLM muon ID</a>: likelihood, DNN-global, DNN, Belle II DNN — ROC curves, per momentum and region, robustness, N_hit vs N_ext of fake pions, feature statistics</li>
${x.ecl ? '<li><a href="ecl.html">ECL muon ID</a>: CNN vs E/p per charge and pT bin, ROC curves, pixel-threshold and beam-background scans</li>' : "<li>ECL: no shipped CNN weights</li>"}
${c ? '<li><a href="combined.html">Combined muon probability</a>: efficiency / fake-rate curves over all momenta and per momentum bin, reliability</li>' : ""}</ul>
<h2>Pion fake rate vs momentum</h2>${fakeSvg}
<h2>Combined muon probability</h2>${combinedRows}
<h2>Pions that fake muons: penetration</h2>${penetrationSvg}
<h2>Typical μ and π ECL images</h2>${imagesSvg ? imagesSvg + imagesCaption : "<p>(no ECL sample)</p>"}
<h2>Robustness</h2>${robustnessRows}
<h2>Latency per BB̄ event</h2>
<p>${l.events} events, ${(l.tracks / l.events).toFixed(1)} tracks per event; median ${l.msPerEvent.median.toFixed(3)} ms per event (p10 ${l.msPerEvent.p10.toFixed(3)}, p90 ${l.msPerEvent.p90.toFixed(3)}), ${l.eventsPerSecond.toFixed(0)} events/s, one thread.</p>
<table><tr><th>stage</th><th>share</th></tr>${rows}</table>
</body></html>
`;
}
