/**
 * Evaluation of the combined muon probability (ISSUE 7 item 5) on a sample independent of its
 * calibration: the pion fake rate at 90 % muon efficiency, the muon efficiency at 2 % fake rate, the
 * AUC and the ROC of
 *
 *   combined  Σ λ of the available sources (src/reco/combinedMuonId.ts)
 *   klmDnn    the KLM DNN alone (its calibrated λ; tracks without a KLM value score 0 = "no information")
 *   eclCnn    the ECL CNN alone (likewise)
 *
 * over all momenta (0.2–5 GeV/c) and per momentum bin (0.2–0.6, 0.6–1, 1–2, 2–5 GeV/c), with each
 * method's coverage (fraction of tracks it has a value for); and the reliability of the combined
 * probability: in bins of predicted P, the observed muon fraction for equal priors,
 * (n_μ/N_μ)/(n_μ/N_μ + n_π/N_π), which a calibrated P matches. Rates are fractions; the metrics are
 * those of src/eval/metrics.ts (ties always selected together).
 */
import { InputError } from "../errors.js";
import { COMBINED_SOURCES, type CombinedMuonId } from "../reco/combinedMuonId.js";
import type { CombinedSample } from "../train/combinedMuonId.js";
import { assignBins, auc, efficiencyAtFakeRate, fakeRateAtEfficiency, sampledRoc, WORKING_POINT_EFFICIENCY, WORKING_POINT_FAKE_RATE } from "./metrics.js";
import { escapeHtml, svgOf } from "./plots.js";

export const COMBINED_METHODS = ["combined", "klmDnn", "eclCnn"] as const;
export type CombinedMethodName = (typeof COMBINED_METHODS)[number];
export const COMBINED_EVAL_MOMENTUM_EDGES: readonly number[] = [0.2, 0.6, 1, 2, 5];
export const COMBINED_EVAL_EFFICIENCY = WORKING_POINT_EFFICIENCY;
export const COMBINED_EVAL_FAKE_RATE = WORKING_POINT_FAKE_RATE;
export const COMBINED_RELIABILITY_BINS = 10;
export const COMBINED_EVAL_ROC_POINTS = 101;

export interface CombinedMethodFigures {
  /** fraction of the tracks the method has a value for */
  coverage: number;
  fakeRateAt90: number | null;
  fakeRateAt90Error: number | null;
  efficiencyAt2: number | null;
  efficiencyAt2Error: number | null;
  auc: number | null;
  roc: { efficiency: number[]; fakeRate: number[] } | null;
}

export interface CombinedFigureSet {
  pMin: number;
  pMax: number;
  tracks: number;
  muons: number;
  pions: number;
  methods: Record<CombinedMethodName, CombinedMethodFigures>;
  /** expected calibration error of the combined probability on the range's tracks with information */
  calibrationError: number | null;
}

export interface ReliabilityBin {
  /** predicted-probability bin */
  from: number;
  to: number;
  tracks: number;
  muons: number;
  pions: number;
  meanPredicted: number | null;
  /** muon fraction for equal priors, with its standard error (null when empty) */
  observed: number | null;
  observedError: number | null;
}

export interface CombinedEvaluation {
  combined: {
    selection: string;
    overall: CombinedFigureSet;
    byMomentum: CombinedFigureSet[];
    reliability: ReliabilityBin[];
    /** Σ over bins of (tracks/total) × |observed − meanPredicted| (expected calibration error) */
    calibrationError: number;
    noInformation: { tracks: number; muons: number; pions: number };
    provenance: Record<string, unknown>;
  };
}

/** λ of every method for every track (0 where the method has no value) and the coverage masks. */
export function scoreCombinedSample(sample: CombinedSample, calibration: CombinedMuonId): { llr: Record<CombinedMethodName, Float64Array>; has: Record<CombinedMethodName, Uint8Array>; probability: Float64Array } {
  const n = sample.n;
  const llr = { combined: new Float64Array(n), klmDnn: new Float64Array(n), eclCnn: new Float64Array(n) };
  const has = { combined: new Uint8Array(n), klmDnn: new Uint8Array(n), eclCnn: new Uint8Array(n) };
  const probability = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = calibration.probability({ p: sample.p[i]!, charge: sample.charge[i]! > 0 ? 1 : -1, klmDnn: sample.klmDnn[i], eclCnn: sample.eclCnn[i] });
    llr.combined[i] = r.logLikelihoodRatio;
    has.combined[i] = r.noInformation ? 0 : 1;
    probability[i] = r.probability;
    for (const s of COMBINED_SOURCES) {
      const v = r.sourceLlr[s];
      if (v !== undefined) {
        llr[s][i] = v;
        has[s][i] = 1;
      }
    }
  }
  return { llr, has, probability };
}

function figures(rows: ArrayLike<number>, sample: CombinedSample, scored: ReturnType<typeof scoreCombinedSample>, pMin: number, pMax: number, rocPoints: number): CombinedFigureSet {
  const labels = Uint8Array.from({ length: rows.length }, (_, j) => sample.isMuon[rows[j]!]!);
  const muons = labels.reduce((a, v) => a + v, 0);
  const methods = {} as Record<CombinedMethodName, CombinedMethodFigures>;
  for (const m of COMBINED_METHODS) {
    const s = Float64Array.from({ length: rows.length }, (_, j) => scored.llr[m][rows[j]!]!);
    let covered = 0;
    for (let j = 0; j < rows.length; j++) covered += scored.has[m][rows[j]!]!;
    const coverage = rows.length > 0 ? covered / rows.length : 0;
    // no value for any track (e.g. the ECL above 2 GeV/c): every score ties at 0 and the rates mean nothing
    if (muons === 0 || muons === rows.length || covered === 0) {
      methods[m] = { coverage, fakeRateAt90: null, fakeRateAt90Error: null, efficiencyAt2: null, efficiencyAt2Error: null, auc: null, roc: null };
      continue;
    }
    const at90 = fakeRateAtEfficiency(s, labels, COMBINED_EVAL_EFFICIENCY);
    const at2 = efficiencyAtFakeRate(s, labels, COMBINED_EVAL_FAKE_RATE);
    methods[m] = {
      coverage,
      fakeRateAt90: at90.fakeRate, fakeRateAt90Error: at90.fakeRateError,
      efficiencyAt2: at2.efficiency, efficiencyAt2Error: at2.efficiencyError,
      auc: auc(s, labels),
      roc: rocPoints > 1 ? sampledRoc(s, labels, rocPoints) : null,
    };
  }
  const informed = Array.from(rows).filter((i) => scored.has.combined[i] === 1);
  const informedMuons = informed.reduce((a, i) => a + sample.isMuon[i]!, 0);
  const calibrationError = informedMuons > 0 && informedMuons < informed.length ? reliability(scored.probability, sample.isMuon, informed).calibrationError : null;
  return { pMin, pMax, tracks: rows.length, muons, pions: rows.length - muons, methods, calibrationError };
}

/** Reliability of the predicted probabilities of the tracks `rows` that have information. */
export function reliability(probability: ArrayLike<number>, isMuon: ArrayLike<number>, rows: ArrayLike<number>, bins = COMBINED_RELIABILITY_BINS): { bins: ReliabilityBin[]; calibrationError: number } {
  let totalMu = 0, totalPi = 0;
  for (let j = 0; j < rows.length; j++) {
    if (isMuon[rows[j]!] === 1) totalMu++;
    else totalPi++;
  }
  const out: ReliabilityBin[] = Array.from({ length: bins }, (_, b) => ({ from: b / bins, to: (b + 1) / bins, tracks: 0, muons: 0, pions: 0, meanPredicted: 0, observed: null, observedError: null }));
  for (let j = 0; j < rows.length; j++) {
    const i = rows[j]!;
    const p = probability[i]!;
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p * bins)));
    const bin = out[b]!;
    bin.tracks++;
    bin.meanPredicted! += p;
    if (isMuon[i] === 1) bin.muons++;
    else bin.pions++;
  }
  let ece = 0;
  for (const bin of out) {
    if (bin.tracks === 0 || totalMu === 0 || totalPi === 0) {
      bin.meanPredicted = null;
      continue;
    }
    bin.meanPredicted! /= bin.tracks;
    const a = bin.muons / totalMu, c = bin.pions / totalPi;
    const f = a / (a + c);
    bin.observed = f;
    // error propagation of two independent Poisson counts
    const da = Math.sqrt(Math.max(bin.muons, 1)) / totalMu, dc = Math.sqrt(Math.max(bin.pions, 1)) / totalPi;
    bin.observedError = Math.hypot(c * da, a * dc) / ((a + c) * (a + c));
    ece += (bin.tracks / rows.length) * Math.abs(f - bin.meanPredicted!);
  }
  return { bins: out, calibrationError: ece };
}

/** The whole evaluation of a scored sample. */
export function evaluateCombined(sample: CombinedSample, calibration: CombinedMuonId, provenance: Record<string, unknown> = {}, rocPoints = COMBINED_EVAL_ROC_POINTS): CombinedEvaluation {
  const edges = COMBINED_EVAL_MOMENTUM_EDGES;
  const pMin = edges[0]!, pMax = edges[edges.length - 1]!;
  const rows: number[] = [];
  for (let i = 0; i < sample.n; i++) if (sample.p[i]! >= pMin && sample.p[i]! < pMax) rows.push(i);
  if (rows.length === 0) throw new InputError(`no track of the ${sample.n} has ${pMin} ≤ p < ${pMax} GeV/c`);
  const scored = scoreCombinedSample(sample, calibration);
  const bins = assignBins(Float64Array.from(rows, (i) => sample.p[i]!), edges);
  const byMomentum = edges.slice(0, -1).map((lo, b) => figures(rows.filter((_, j) => bins[j] === b), sample, scored, lo, edges[b + 1]!, rocPoints));
  const informed = rows.filter((i) => scored.has.combined[i] === 1);
  const uninformed = rows.filter((i) => scored.has.combined[i] === 0);
  const uninformedMuons = uninformed.reduce((a, i) => a + sample.isMuon[i]!, 0);
  const rel = reliability(scored.probability, sample.isMuon, informed);
  return {
    combined: {
      selection: `μ± and π± with reconstructed ${pMin} ≤ p < ${pMax} GeV/c, θ 18°–155°; a method without a value for a track scores it 0 (P = 0.5)`,
      overall: figures(rows, sample, scored, pMin, pMax, rocPoints),
      byMomentum,
      reliability: rel.bins,
      calibrationError: rel.calibrationError,
      noInformation: { tracks: uninformed.length, muons: uninformedMuons, pions: uninformed.length - uninformedMuons },
      provenance,
    },
  };
}

const percent = (v: number | null, digits = 2): string => (v === null ? "—" : `${(100 * v).toFixed(digits)} %`);
const METHOD_LABEL: Record<CombinedMethodName, string> = { combined: "combined", klmDnn: "KLM DNN only", eclCnn: "ECL CNN only" };

/** Plain-text table: one line per momentum range and method. */
export function combinedSummaryTable(e: CombinedEvaluation["combined"]): string {
  const lines = ["p (GeV/c)  method         coverage   π fake @ 90 % μ eff   μ eff @ 2 % π fake   AUC     calibration error"];
  for (const set of [e.overall, ...e.byMomentum]) {
    for (const m of COMBINED_METHODS) {
      const f = set.methods[m];
      const ece = m === "combined" ? `  ${percent(set.calibrationError)}` : "";
      lines.push(`${`${set.pMin}–${set.pMax}`.padEnd(10)} ${METHOD_LABEL[m].padEnd(13)} ${percent(f.coverage, 1).padStart(8)}   ${percent(f.fakeRateAt90).padStart(9)} ± ${percent(f.fakeRateAt90Error).padEnd(7)}  ${percent(f.efficiencyAt2).padStart(9)} ± ${percent(f.efficiencyAt2Error).padEnd(7)} ${(f.auc?.toFixed(4) ?? "—").padEnd(7)}${ece}`.trimEnd());
    }
  }
  lines.push(`reliability (tracks with information): expected calibration error ${percent(e.calibrationError)}; ${e.noInformation.tracks} tracks without information (P = 0.5)`);
  return lines.join("\n");
}

/** The plots and tables of the evaluation as an HTML fragment (for the eval report and the demo). */
export async function combinedReportSection(e: CombinedEvaluation["combined"]): Promise<string> {
  const rocValues = [e.overall, ...e.byMomentum].flatMap((set) => COMBINED_METHODS.flatMap((m) => {
    const r = set.methods[m].roc;
    if (!r) return [];
    return r.efficiency.map((eff, k) => ({ efficiency: eff, fakeRate: Math.max(r.fakeRate[k]!, 1e-4), method: METHOD_LABEL[m], range: `${set.pMin}–${set.pMax} GeV/c${set === e.overall ? " (all)" : ""}` })).filter((v) => v.efficiency >= 0.5);
  }));
  const rocSvg = rocValues.length === 0 ? "" : await svgOf({
    title: "Efficiency / fake-rate curves: combined vs single detectors", data: { values: rocValues },
    facet: { field: "range", type: "nominal", title: null, sort: [...new Set(rocValues.map((v) => v.range))] }, columns: 3,
    spec: {
      width: 240, height: 200, mark: "line",
      encoding: {
        x: { field: "efficiency", type: "quantitative", title: "muon efficiency", scale: { domain: [0.5, 1] } },
        y: { field: "fakeRate", type: "quantitative", title: "pion fake rate", scale: { type: "log", domain: [1e-4, 1] } },
        color: { field: "method", type: "nominal" },
      },
    },
  });
  const relValues = e.reliability.filter((b) => b.observed !== null).map((b) => ({ predicted: b.meanPredicted, observed: b.observed, low: Math.max(0, b.observed! - b.observedError!), high: Math.min(1, b.observed! + b.observedError!), tracks: b.tracks }));
  const relSvg = relValues.length === 0 ? "" : await svgOf({
    title: "Reliability of the combined probability (equal priors)", width: 320, height: 320,
    layer: [
      { data: { values: [{ x: 0, y: 0 }, { x: 1, y: 1 }] }, mark: { type: "line", color: "#999", strokeDash: [4, 4] }, encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } } },
      { data: { values: relValues }, mark: "rule", encoding: { x: { field: "predicted", type: "quantitative" }, y: { field: "low", type: "quantitative" }, y2: { field: "high" } } },
      {
        data: { values: relValues }, mark: { type: "point", filled: true },
        encoding: {
          x: { field: "predicted", type: "quantitative", title: "mean predicted P(μ)", scale: { domain: [0, 1] } },
          y: { field: "observed", type: "quantitative", title: "observed muon fraction (equal priors)", scale: { domain: [0, 1] } },
          size: { field: "tracks", type: "quantitative", title: "tracks" },
        },
      },
    ],
  });
  const fakeValues = e.byMomentum.flatMap((set) => COMBINED_METHODS.filter((m) => set.methods[m].fakeRateAt90 !== null).map((m) => ({ p: (set.pMin + set.pMax) / 2, range: `${set.pMin}–${set.pMax}`, fakeRate: set.methods[m].fakeRateAt90, method: METHOD_LABEL[m] })));
  const fakeSvg = fakeValues.length === 0 ? "" : await svgOf({
    title: "Pion fake rate at 90 % muon efficiency vs momentum", width: 360, height: 240, data: { values: fakeValues },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "range", type: "ordinal", title: "p (GeV/c)", sort: null },
      y: { field: "fakeRate", type: "quantitative", title: "pion fake rate", scale: { type: "log" } },
      color: { field: "method", type: "nominal" },
    },
  });
  const head = "<tr><th>p (GeV/c)</th><th>μ / π</th>" + COMBINED_METHODS.map((m) => `<th>${METHOD_LABEL[m]}<br>coverage</th><th>fake @ 90 %</th><th>eff @ 2 %</th><th>AUC</th>`).join("") + "<th>calibration error<br>(combined)</th></tr>";
  const rows = [e.overall, ...e.byMomentum].map((set) => `<tr><td>${set.pMin}–${set.pMax}${set === e.overall ? " (all)" : ""}</td><td>${set.muons} / ${set.pions}</td>` +
    COMBINED_METHODS.map((m) => {
      const f = set.methods[m];
      return `<td>${percent(f.coverage, 1)}</td><td>${percent(f.fakeRateAt90)} ± ${percent(f.fakeRateAt90Error)}</td><td>${percent(f.efficiencyAt2)}</td><td>${f.auc?.toFixed(4) ?? "—"}</td>`;
    }).join("") + `<td>${percent(set.calibrationError)}</td></tr>`).join("");
  const relRows = e.reliability.map((b) => `<tr><td>${b.from.toFixed(1)}–${b.to.toFixed(1)}</td><td>${b.tracks}</td><td>${b.muons} / ${b.pions}</td><td>${b.meanPredicted?.toFixed(3) ?? "—"}</td><td>${b.observed === null ? "—" : `${b.observed.toFixed(3)} ± ${b.observedError!.toFixed(3)}`}</td></tr>`).join("");
  return `<p>${escapeHtml(e.selection)}.</p>
<table>${head}${rows}</table>
${rocSvg}
${fakeSvg}
<h3>Reliability</h3>
<p>Tracks with at least one source, by predicted probability; observed = (n<sub>μ</sub>/N<sub>μ</sub>) / (n<sub>μ</sub>/N<sub>μ</sub> + n<sub>π</sub>/N<sub>π</sub>). Expected calibration error ${percent(e.calibrationError)}. ${e.noInformation.tracks} tracks had no source (${e.noInformation.muons} μ, ${e.noInformation.pions} π) and get P = 0.5.</p>
${relSvg}
<table><tr><th>predicted P</th><th>tracks</th><th>μ / π</th><th>mean predicted</th><th>observed</th></tr>${relRows}</table>`;
}

/** The self-contained HTML page of `muid eval --task combined`. */
export async function combinedReportHtml(evaluation: CombinedEvaluation): Promise<string> {
  const e = evaluation.combined;
  return `<!doctype html><html><head><meta charset="utf-8"><title>muid combined muon probability</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #bbb;padding:3px 6px;text-align:right}th{background:#eee}</style></head><body>
<h1>Combined muon probability: ECL CNN + KLM DNN</h1>
${await combinedReportSection(e)}
<pre>${escapeHtml(JSON.stringify(e.provenance, null, 1))}</pre>
</body></html>
`;
}
