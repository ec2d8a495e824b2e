/**
 * ECL μ/π evaluation (ISSUE 5 item 5): on a sample the models were not trained on, the pion fake rate
 * at 90 % muon efficiency and the ROC of the CNN and of the E/p likelihood, per charge, in bins of
 * the track's pT at the IP (0.28–0.4, 0.4–0.5, 0.5–0.6, 0.6–0.8, 0.8–1.0 GeV/c); the poster's
 * robustness study (arXiv:2301.11654, physics.md §4): pixel thresholds 1, 2, 5 MeV and beam
 * background ×0/×1/×3, each scored by the models trained at the default (1 MeV, ×1); and the
 * fraction of tracks with no cluster, where E/p cannot answer and the CNN can.
 *
 * Tracks: those with a CNN value (thetaId 14..57, 0.2 ≤ pT(ECL) ≤ 1.0 GeV/c, ecl.md §1.6), binned
 * by pT at the IP. The CNN is ranked by its logit difference (see EclScores), E/p by
 * L_μ/(L_μ + L_π) in float64. A track without a cluster has no E/p ID and is never selected by it
 * (score 0, ECL_EP_NO_CLUSTER_SCORE; the choice that favours E/p, see there). Rates are fractions;
 * metrics from src/eval/metrics.ts.
 *
 * Thresholds: the simulated readout applies its threshold as a plain cut on crystal energies
 * (src/sim/eclResponse.ts applyEclReadout), so re-thresholding a 1 MeV sample at 2 or 5 MeV is the
 * same as simulating it at 2 or 5 MeV; the threshold study uses the main sample that way.
 */
import { ECL_THRESHOLD_DEFAULT } from "../constants.js";
import { InputError } from "../errors.js";
import { ECL_WINDOW_PIXELS } from "../geometry/eclWindow.js";
import type { EclCnnFast } from "../models/eclCnnFast.js";
import type { ModelCard } from "../models/card.js";
import { ECL_EP_NO_CLUSTER_SCORE, eclCluster, eclEpMuonProbability, type EclEpPdfs } from "../reco/eclEp.js";
import type { EclNoValueReason } from "../reco/eclImage.js";
import { eclSampleImages, type EclSample } from "../reco/eclSample.js";
import { assignBins, auc, fakeRateAtEfficiency, indicesInBin, sampledRoc, WORKING_POINT_EFFICIENCY } from "./metrics.js";
import { escapeHtml, svgOf } from "./plots.js";

/** pT bins at the IP, GeV/c (issue 5 item 5). */
export const ECL_EVAL_PT_EDGES: readonly number[] = [0.28, 0.4, 0.5, 0.6, 0.8, 1.0];
/** Working point: 90 % muon efficiency. */
export const ECL_EVAL_EFFICIENCY = WORKING_POINT_EFFICIENCY;
/** The poster's threshold variants, MeV, and the background levels (× nominal). */
export const ECL_EVAL_THRESHOLDS_MEV: readonly number[] = [1, 2, 5];
export const ECL_EVAL_BACKGROUND_LEVELS: readonly number[] = [0, 1, 3];
/** "Must show": the CNN beats E/p in every bin below this pT, GeV/c. */
export const ECL_EVAL_LOW_PT = 0.6;
/** Points of the sampled ROC curves in the JSON. */
export const ECL_EVAL_ROC_POINTS = 51;

export interface EclModels {
  cnn: { plus: EclCnnFast; minus: EclCnnFast };
  ep: EclEpPdfs;
}

export interface EclScores {
  /**
   * CNN score per track: the logit difference l1 − l0, which orders tracks as p(μ) = 1/(1 + e^(l0−l1))
   * does but does not saturate (p(μ) in float32 is exactly 1 once l1 − l0 > 17, and ties would hide
   * the ordering of the most muon-like tracks)
   */
  cnn: Float32Array;
  /** E/p P(μ) per track (ECL_EP_NO_CLUSTER_SCORE = 0 without a cluster) */
  ep: Float64Array;
  /** 1 where the window has a crystal above threshold */
  hasCluster: Uint8Array;
}

/** Rows per CNN call while scoring a sample. */
const SCORE_CHUNK = 4096;

/** Scores every track of a sample at a pixel threshold with the CNN of its charge and with E/p. */
export function scoreEcl(sample: EclSample, models: EclModels, threshold: number = ECL_THRESHOLD_DEFAULT): EclScores {
  const images = eclSampleImages(sample, threshold);
  const cnn = new Float32Array(sample.n);
  const ep = new Float64Array(sample.n);
  const hasCluster = new Uint8Array(sample.n);
  for (const charge of [1, -1] as const) {
    const rows: number[] = [];
    for (let i = 0; i < sample.n; i++) if (sample.charge[i] === charge) rows.push(i);
    const model = charge > 0 ? models.cnn.plus : models.cnn.minus;
    for (let start = 0; start < rows.length; start += SCORE_CHUNK) {
      const chunk = rows.slice(start, start + SCORE_CHUNK);
      const b = chunk.length;
      const image = new Float32Array(b * ECL_WINDOW_PIXELS), pt = new Float32Array(b), thetaId = new Int32Array(b), phiId = new Int32Array(b);
      chunk.forEach((i, j) => {
        image.set(images.subarray(i * ECL_WINDOW_PIXELS, (i + 1) * ECL_WINDOW_PIXELS), j * ECL_WINDOW_PIXELS);
        pt[j] = sample.pt[i]!;
        thetaId[j] = sample.thetaId[i]!;
        phiId[j] = sample.phiId[i]!;
      });
      const logits = model.predict({ image, pt, thetaId, phiId }, b).logits;
      chunk.forEach((i, j) => (cnn[i] = logits[2 * j + 1]! - logits[2 * j]!));
    }
  }
  for (let i = 0; i < sample.n; i++) {
    const cluster = eclCluster(images, i * ECL_WINDOW_PIXELS);
    if (cluster === null) {
      ep[i] = ECL_EP_NO_CLUSTER_SCORE;
      continue;
    }
    hasCluster[i] = 1;
    ep[i] = eclEpMuonProbability(models.ep, sample.charge[i]! > 0 ? 1 : -1, sample.pIp[i]!, cluster.energy / sample.pIp[i]!);
  }
  return { cnn, ep, hasCluster };
}

/** One method's figures on a set of tracks; null when a class is missing. */
export interface EclMethodFigures {
  fakeRateAt90: number | null;
  fakeRateAt90Error: number | null;
  /** efficiency actually reached at that cut (≥ 0.9; ties can push it above) */
  efficiencyAt90: number | null;
  cutAt90: number | null;
  auc: number | null;
  roc: { efficiency: number[]; fakeRate: number[] } | null;
}

export interface EclBinFigures {
  ptMin: number;
  ptMax: number;
  charge: 1 | -1;
  muons: number;
  pions: number;
  /** fraction of the bin's tracks without a cluster (E/p cannot answer), and per species */
  noClusterFraction: number;
  muonNoClusterFraction: number;
  pionNoClusterFraction: number;
  cnn: EclMethodFigures;
  ep: EclMethodFigures;
}

export interface EclFigureSet {
  tracks: number;
  noClusterFraction: number;
  byPt: EclBinFigures[];
}

function methodFigures(scores: ArrayLike<number>, labels: Uint8Array, rocPoints: number): EclMethodFigures {
  let muons = 0;
  for (let i = 0; i < labels.length; i++) muons += labels[i]!;
  if (muons === 0 || muons === labels.length) return { fakeRateAt90: null, fakeRateAt90Error: null, efficiencyAt90: null, cutAt90: null, auc: null, roc: null };
  const wp = fakeRateAtEfficiency(scores, labels, ECL_EVAL_EFFICIENCY);
  return {
    fakeRateAt90: wp.fakeRate, fakeRateAt90Error: wp.fakeRateError, efficiencyAt90: wp.efficiency, cutAt90: wp.cut,
    auc: auc(scores, labels),
    roc: rocPoints > 1 ? sampledRoc(scores, labels, rocPoints) : null,
  };
}

/** Figures of a scored sample: per charge (+1 first) and pT bin. */
export function eclFigures(sample: EclSample, scores: EclScores, rocPoints: number = ECL_EVAL_ROC_POINTS): EclFigureSet {
  if (scores.cnn.length !== sample.n || scores.ep.length !== sample.n) throw new InputError(`ECL figures: ${sample.n} tracks but ${scores.cnn.length} scores`);
  const bins = assignBins(sample.ptIp, ECL_EVAL_PT_EDGES);
  const byPt: EclBinFigures[] = [];
  for (const charge of [1, -1] as const) {
    for (let b = 0; b < ECL_EVAL_PT_EDGES.length - 1; b++) {
      const all = indicesInBin(bins, b);
      const idx = all.filter((i) => sample.charge[i] === charge);
      const labels = Uint8Array.from(idx, (i) => sample.isMuon[i]!);
      const muons = labels.reduce((a, v) => a + v, 0);
      let noCluster = 0, muonNoCluster = 0, pionNoCluster = 0;
      for (const i of idx) {
        if (scores.hasCluster[i]) continue;
        noCluster++;
        if (sample.isMuon[i]) muonNoCluster++;
        else pionNoCluster++;
      }
      const n = idx.length;
      byPt.push({
        ptMin: ECL_EVAL_PT_EDGES[b]!, ptMax: ECL_EVAL_PT_EDGES[b + 1]!, charge, muons, pions: n - muons,
        noClusterFraction: n > 0 ? noCluster / n : 0,
        muonNoClusterFraction: muons > 0 ? muonNoCluster / muons : 0,
        pionNoClusterFraction: n - muons > 0 ? pionNoCluster / (n - muons) : 0,
        cnn: methodFigures(Float64Array.from(idx, (i) => scores.cnn[i]!), labels, rocPoints),
        ep: methodFigures(Float64Array.from(idx, (i) => scores.ep[i]!), labels, rocPoints),
      });
    }
  }
  let none = 0;
  for (let i = 0; i < sample.n; i++) if (!scores.hasCluster[i]) none++;
  return { tracks: sample.n, noClusterFraction: sample.n > 0 ? none / sample.n : 0, byPt };
}

/** Per bin below 0.6 GeV/c and charge: does the CNN have the lower fake rate at 90 % efficiency? */
export function cnnBeatsEpAtLowPt(set: EclFigureSet): { all: boolean; bins: { ptMin: number; ptMax: number; charge: 1 | -1; cnn: number | null; ep: number | null; better: boolean }[] } {
  const bins = set.byPt
    .filter((b) => b.ptMax <= ECL_EVAL_LOW_PT + 1e-9)
    .map((b) => ({
      ptMin: b.ptMin, ptMax: b.ptMax, charge: b.charge, cnn: b.cnn.fakeRateAt90, ep: b.ep.fakeRateAt90,
      better: b.cnn.fakeRateAt90 !== null && b.ep.fakeRateAt90 !== null && b.cnn.fakeRateAt90 < b.ep.fakeRateAt90,
    }));
  return { all: bins.length > 0 && bins.every((b) => b.better), bins };
}

export interface EclStudyPoint extends EclFigureSet {
  /** threshold study: MeV; background study: level × nominal */
  thresholdMeV?: number;
  level?: number;
}

export interface EclEvaluation {
  ecl: EclFigureSet & {
    /** rows read or simulated, and why the others have no CNN value */
    rows: number;
    rejected: Record<EclNoValueReason, number>;
    muonEfficiency: number;
    epNoClusterScore: number;
    cnnBeatsEpBelow0p6: ReturnType<typeof cnnBeatsEpAtLowPt>;
    thresholds: EclStudyPoint[];
    background: EclStudyPoint[];
    models: { cnnPlus: string; cnnMinus: string; ep: string };
    samples: { main: string; background: string };
  };
}

export interface EclEvaluationInputs {
  main: EclSample;
  /** background study samples by level (× nominal), all with the same generated particles */
  backgrounds: { level: number; sample: EclSample }[];
  thresholdsMeV?: readonly number[];
  models: EclModels;
  modelNames: { cnnPlus: string; cnnMinus: string; ep: string };
  sampleNames: { main: string; background: string };
  rocPoints?: number;
}

/** The whole evaluation: main figures, threshold study on the main sample, background study. */
export function evaluateEcl(inputs: EclEvaluationInputs): EclEvaluation {
  const rocPoints = inputs.rocPoints ?? ECL_EVAL_ROC_POINTS;
  const main = eclFigures(inputs.main, scoreEcl(inputs.main, inputs.models), rocPoints);
  const thresholds = (inputs.thresholdsMeV ?? ECL_EVAL_THRESHOLDS_MEV).map((mev) => ({
    thresholdMeV: mev,
    ...eclFigures(inputs.main, scoreEcl(inputs.main, inputs.models, mev / 1000), rocPoints),
  }));
  const background = inputs.backgrounds.map(({ level, sample }) => ({ level, ...eclFigures(sample, scoreEcl(sample, inputs.models), rocPoints) }));
  return {
    ecl: {
      ...main,
      rows: inputs.main.rows,
      rejected: { ...inputs.main.rejected },
      muonEfficiency: ECL_EVAL_EFFICIENCY,
      epNoClusterScore: ECL_EP_NO_CLUSTER_SCORE,
      cnnBeatsEpBelow0p6: cnnBeatsEpAtLowPt(main),
      thresholds,
      background,
      models: inputs.modelNames,
      samples: inputs.sampleNames,
    },
  };
}

// ─────────────── text and HTML ───────────────

const percent = (v: number | null): string => (v === null ? "—" : `${(100 * v).toFixed(1)} %`);

/** A plain-text table of a figure set (for the terminal). */
export function eclSummaryTable(set: EclFigureSet): string {
  const lines = ["charge  pT (GeV/c)   μ/π          CNN fake@90  E/p fake@90  CNN AUC  E/p AUC  no cluster"];
  for (const b of set.byPt) {
    lines.push(
      `${b.charge > 0 ? "+1" : "-1"}      ${b.ptMin.toFixed(2)}–${b.ptMax.toFixed(2)}  ${`${b.muons}/${b.pions}`.padEnd(11)}  ${percent(b.cnn.fakeRateAt90).padStart(10)}  ${percent(b.ep.fakeRateAt90).padStart(11)}  ` +
      `${(b.cnn.auc?.toFixed(4) ?? "—").padStart(7)}  ${(b.ep.auc?.toFixed(4) ?? "—").padStart(7)}  ${percent(b.noClusterFraction).padStart(9)}`,
    );
  }
  return lines.join("\n");
}

function figureTable(title: string, set: EclFigureSet): string {
  const head = "<tr><th>charge</th><th>p<sub>T</sub> (GeV/c)</th><th>μ / π</th><th>CNN fake @ 90 %</th><th>E/p fake @ 90 %</th><th>CNN AUC</th><th>E/p AUC</th><th>no cluster</th></tr>";
  const rows = set.byPt.map((b) => {
    const better = b.cnn.fakeRateAt90 !== null && b.ep.fakeRateAt90 !== null && b.cnn.fakeRateAt90 < b.ep.fakeRateAt90;
    return `<tr><td>${b.charge > 0 ? "+" : "−"}</td><td>${b.ptMin.toFixed(2)}–${b.ptMax.toFixed(2)}</td><td>${b.muons} / ${b.pions}</td>` +
      `<td${better ? ' class="better"' : ""}>${percent(b.cnn.fakeRateAt90)} ± ${percent(b.cnn.fakeRateAt90Error)}</td><td>${percent(b.ep.fakeRateAt90)} ± ${percent(b.ep.fakeRateAt90Error)}</td>` +
      `<td>${b.cnn.auc?.toFixed(4) ?? "—"}</td><td>${b.ep.auc?.toFixed(4) ?? "—"}</td><td>${percent(b.noClusterFraction)}</td></tr>`;
  });
  return `<h3>${escapeHtml(title)}</h3><p>${set.tracks} tracks; ${percent(set.noClusterFraction)} without a cluster</p><table>${head}${rows.join("")}</table>`;
}

/** Fake rate at 90 % vs pT bin, one line per method and charge, for a set of study points. */
async function studyPlot(title: string, points: { label: string; set: EclFigureSet }[]): Promise<string> {
  const values = points.flatMap(({ label, set }) =>
    set.byPt.flatMap((b) => (["cnn", "ep"] as const).filter((m) => b[m].fakeRateAt90 !== null).map((m) => ({
      pt: (b.ptMin + b.ptMax) / 2, fakeRate: b[m].fakeRateAt90, series: `${m === "cnn" ? "CNN" : "E/p"} ${label}`, charge: b.charge > 0 ? "positive" : "negative",
    }))));
  if (values.length === 0) return "";
  return svgOf({
    title, data: { values },
    facet: { column: { field: "charge", type: "nominal", title: "charge" } },
    spec: {
      width: 320, height: 240, mark: { type: "line", point: true },
      encoding: {
        x: { field: "pt", type: "quantitative", title: "pT at the IP (GeV/c, bin centre)", scale: { domain: [0.25, 1.0] } },
        y: { field: "fakeRate", type: "quantitative", title: "pion fake rate at 90 % muon efficiency", scale: { domain: [0, 1] } },
        color: { field: "series", type: "nominal", title: null },
      },
    },
  });
}

/** ROC curves (fake rate vs efficiency) of both methods in every bin, one panel per bin and charge. */
async function rocPlot(set: EclFigureSet): Promise<string> {
  const values = set.byPt.flatMap((b) => (["cnn", "ep"] as const).flatMap((m) => {
    const r = b[m].roc;
    if (r === null) return [];
    return r.efficiency.map((e, k) => ({ efficiency: e, fakeRate: r.fakeRate[k], method: m === "cnn" ? "CNN" : "E/p", bin: `${b.charge > 0 ? "+" : "−"} ${b.ptMin.toFixed(2)}–${b.ptMax.toFixed(2)}` })).filter((p) => p.efficiency >= 0.5);
  }));
  if (values.length === 0) return "";
  return svgOf({
    title: "ROC per charge and pT bin (GeV/c)", data: { values },
    facet: { field: "bin", type: "nominal", title: null, sort: null }, columns: 5,
    spec: {
      width: 170, height: 150, mark: "line",
      encoding: {
        x: { field: "efficiency", type: "quantitative", title: "muon efficiency", scale: { domain: [0.5, 1] } },
        y: { field: "fakeRate", type: "quantitative", title: "pion fake rate", scale: { domain: [0, 1] } },
        color: { field: "method", type: "nominal" },
      },
    },
  });
}

/** The self-contained HTML report: tables, fake-rate plots (thresholds, background) and ROC curves as inline SVG. */
export async function eclReportHtml(evaluation: EclEvaluation): Promise<string> {
  const e = evaluation.ecl;
  const thresholdSvg = await studyPlot("Pixel threshold (model trained at 1 MeV)", e.thresholds.map((t) => ({ label: `${t.thresholdMeV} MeV`, set: t })));
  const backgroundSvg = await studyPlot("Beam background (model trained at ×1)", e.background.map((t) => ({ label: `×${t.level}`, set: t })));
  const rocSvg = await rocPlot(e);
  const verdict = e.cnnBeatsEpBelow0p6.all
    ? "The CNN has the lower pion fake rate at 90 % muon efficiency in every pT bin below 0.6 GeV/c, for both charges."
    : "The CNN does NOT have the lower fake rate in every pT bin below 0.6 GeV/c: " +
      e.cnnBeatsEpBelow0p6.bins.filter((b) => !b.better).map((b) => `${b.charge > 0 ? "+" : "−"} ${b.ptMin}–${b.ptMax}`).join(", ");
  return `<!doctype html><html><head><meta charset="utf-8"><title>muid ECL μ/π evaluation</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px 8px;text-align:right}td.better{background:#dfd}</style></head><body>
<h1>ECL μ/π: CNN vs E/p</h1>
<p>${e.tracks} tracks with a CNN value out of ${e.rows} rows (rejected: ${escapeHtml(JSON.stringify(e.rejected))}). Working point ${percent(e.muonEfficiency)} muon efficiency.
Tracks without a cluster get the E/p score ${e.epNoClusterScore}. Models: ${escapeHtml(JSON.stringify(e.models))}. Samples: ${escapeHtml(JSON.stringify(e.samples))}.</p>
<p><b>${escapeHtml(verdict)}</b></p>
${figureTable("Main sample (1 MeV, background ×1)", e)}
${rocSvg}
<h2>Threshold study</h2>${thresholdSvg}${e.thresholds.map((t) => figureTable(`threshold ${t.thresholdMeV} MeV`, t)).join("")}
<h2>Background study</h2>${backgroundSvg}${e.background.map((t) => figureTable(`background ×${t.level}`, t)).join("")}
</body></html>
`;
}
