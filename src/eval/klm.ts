/**
 * KLM muon-ID evaluation (ISSUE 4 item 7): on an independent sample, tracks with 0.7 < p < 5 GeV/c inside
 * the KLM acceptance (θ 18°–155°, klm.md §4.4) that get a DNN value (klm.md §1.2), the pion fake rate
 * at 90 % muon efficiency, the muon efficiency at 2 % fake rate and the AUC of each method:
 *
 *   likelihood  Muid: ln L_μ − ln L_π from the likelihood tables (ordering identical to muonID)
 *   dnnGlobal   our DNN on the 5 global inputs
 *   dnn         our DNN on the 121 inputs
 *   belle2Dnn   the public Belle II DNN (dnnmodelv4.5, klm.md §1.6), trained on Belle II full simulation:
 *               how it scores our tracks measures how close our sample is to Belle II's
 *
 * per momentum bin (0.7–1, 1–1.5, 1.5–2, 2–3, 3–5 GeV/c), per region (barrel, forward, backward), with
 * sampled ROC curves; robustness samples (background ×3, efficiency −10 %, field ±10 % in the
 * extrapolation only) give the same figures. Also: the means and spreads of the 121 features of the
 * mixed μ/π sample next to the Belle II BatchNorm running statistics (klm.md §1.7), and N_hit vs N_ext
 * of the pions that pass the likelihood's 90 %-efficiency cut (where the likelihood fails).
 * Rates are fractions. The metrics come from src/eval/metrics.ts.
 */
import { InputError } from "../errors.js";
import { KLM_GUN_THETA_MAX_DEG, KLM_GUN_THETA_MIN_DEG } from "../constants.js";
import type { ModelBundle } from "../models/card.js";
import type { Model } from "../models/runtime.js";
import { KLM_FEATURE_NAMES, KLM_FEATURES } from "../reco/klmFeatures.js";
import { KLM_REGIONS, type KlmSample } from "../train/klmSample.js";
import { assignBins, auc, efficiencyAtFakeRate, fakeRateAtEfficiency, sampledRoc, WORKING_POINT_EFFICIENCY, WORKING_POINT_FAKE_RATE } from "./metrics.js";

/** The method names of the JSON, in the order of the table. */
export const KLM_METHODS = ["likelihood", "dnnGlobal", "dnn", "belle2Dnn"] as const;
export type KlmMethodName = (typeof KLM_METHODS)[number];

/** Selection of the evaluation (ISSUE 4 item 7). */
export const KLM_EVAL_P_MIN = 0.7;
export const KLM_EVAL_MOMENTUM_EDGES: readonly number[] = [0.7, 1, 1.5, 2, 3, 5];
/** upper end of the evaluated momenta, GeV/c: the last bin edge */
export const KLM_EVAL_P_MAX = KLM_EVAL_MOMENTUM_EDGES[KLM_EVAL_MOMENTUM_EDGES.length - 1]!;
/** Working points: 90 % muon efficiency, 2 % pion fake rate. */
export const KLM_EVAL_EFFICIENCY = WORKING_POINT_EFFICIENCY;
export const KLM_EVAL_FAKE_RATE = WORKING_POINT_FAKE_RATE;
/** Points of the sampled ROC curves in the JSON. */
export const KLM_EVAL_ROC_POINTS = 101;

/** A method's figures on a set of tracks; null figures when a class is missing. */
export interface KlmMethodFigures {
  fakeRateAt90: number | null;
  fakeRateAt90Error: number | null;
  efficiencyAt2: number | null;
  efficiencyAt2Error: number | null;
  auc: number | null;
  /** score cut of the 90 %-efficiency working point */
  cutAt90: number | null;
}

export interface KlmFigureSet {
  tracks: number;
  muons: number;
  pions: number;
  methods: Partial<Record<KlmMethodName, KlmMethodFigures>>;
}

/** Scores of every available method for the tracks of a sample (higher = more muon-like; DNNs: logit difference). */
export type KlmScores = Partial<Record<KlmMethodName, Float32Array>>;

/** The models that score a sample (any may be missing; the likelihood comes from the sample itself). */
export interface KlmScorers {
  dnn?: Model | null;
  dnnGlobal?: Model | null;
  belle2Dnn?: Model | null;
}

/**
 * Tracks of the evaluation: pMin < p < KLM_EVAL_P_MAX (reconstructed; the momentum bins' range, so that the
 * bins add up to the whole: the 5 GeV/c gun edge is smeared past by the tracking resolution) and θ inside
 * the KLM acceptance.
 */
export function klmEvaluationRows(sample: KlmSample, pMin = KLM_EVAL_P_MIN): Int32Array {
  const rows: number[] = [];
  for (let i = 0; i < sample.n; i++) {
    const th = sample.theta[i]!;
    const p = sample.p[i]!;
    if (p > pMin && p < KLM_EVAL_P_MAX && th >= KLM_GUN_THETA_MIN_DEG && th <= KLM_GUN_THETA_MAX_DEG) rows.push(i);
  }
  return Int32Array.from(rows);
}

/**
 * Scores of a model whose single input reads the first n of the 121 features: the logit difference
 * z_μ − z_π = ln(p_μ/(1 − p_μ)), which orders tracks exactly as p_μ does but does not saturate (float32
 * p_μ rounds to exactly 1 for many tracks, and the ties would swallow a 2 % working point).
 */
export function scoreKlmModel(model: Model, sample: Pick<KlmSample, "n" | "features">): Float32Array {
  const input = model.card.inputs[0];
  if (model.card.inputs.length !== 1 || input === undefined) throw new InputError(`model ${model.card.name} must have exactly one input`);
  const n = input.shape.reduce((a, b) => a * b, 1);
  if (n > KLM_FEATURES) throw new InputError(`model ${model.card.name} reads ${n} features; the KLM chain gives ${KLM_FEATURES}`);
  const x = new Float32Array(sample.n * n);
  for (let i = 0; i < sample.n; i++) x.set(sample.features.subarray(i * KLM_FEATURES, i * KLM_FEATURES + n), i * n);
  if (sample.n === 0) return new Float32Array(0);
  const { logits } = model.predict({ [input.name]: x }, sample.n);
  const classes = model.classes;
  return Float32Array.from({ length: sample.n }, (_, i) => logits[i * classes + 1]! - logits[i * classes]!);
}

/** The scores of every available method. The likelihood is left out when the sample has none (NaN). */
export function scoreKlmSample(sample: KlmSample, scorers: KlmScorers): KlmScores {
  const scores: KlmScores = {};
  if (sample.n > 0 && sample.likelihoodScore.every((v) => !Number.isNaN(v))) scores.likelihood = sample.likelihoodScore;
  if (scorers.dnnGlobal) scores.dnnGlobal = scoreKlmModel(scorers.dnnGlobal, sample);
  if (scorers.dnn) scores.dnn = scoreKlmModel(scorers.dnn, sample);
  if (scorers.belle2Dnn) scores.belle2Dnn = scoreKlmModel(scorers.belle2Dnn, sample);
  return scores;
}

/** Figures of one method on the tracks `rows`. */
export function methodFigures(scores: Float32Array, labels: Uint8Array, rows: ArrayLike<number>): KlmMethodFigures {
  const s = Float64Array.from({ length: rows.length }, (_, j) => scores[rows[j]!]!);
  const l = Uint8Array.from({ length: rows.length }, (_, j) => labels[rows[j]!]!);
  let muons = 0;
  for (const v of l) muons += v;
  if (muons === 0 || muons === l.length) return { fakeRateAt90: null, fakeRateAt90Error: null, efficiencyAt2: null, efficiencyAt2Error: null, auc: null, cutAt90: null };
  const at90 = fakeRateAtEfficiency(s, l, KLM_EVAL_EFFICIENCY);
  const at2 = efficiencyAtFakeRate(s, l, KLM_EVAL_FAKE_RATE);
  return {
    fakeRateAt90: at90.fakeRate, fakeRateAt90Error: at90.fakeRateError,
    efficiencyAt2: at2.efficiency, efficiencyAt2Error: at2.efficiencyError,
    auc: auc(s, l), cutAt90: at90.cut,
  };
}

/** Figures of every scored method on the tracks `rows`. */
export function figureSet(sample: KlmSample, scores: KlmScores, rows: ArrayLike<number>): KlmFigureSet {
  let muons = 0;
  for (let j = 0; j < rows.length; j++) muons += sample.isMuon[rows[j]!]!;
  const methods: KlmFigureSet["methods"] = {};
  for (const name of KLM_METHODS) {
    const s = scores[name];
    if (s !== undefined) methods[name] = methodFigures(s, sample.isMuon, rows);
  }
  return { tracks: rows.length, muons, pions: rows.length - muons, methods };
}

/** Mean and standard deviation (population) of each of the 121 features over `rows`. */
export interface KlmFeatureStatistics {
  name: string;
  index: number;
  mean: number;
  sd: number;
  /** the Belle II DNN's BatchNorm running mean and √(running var) (klm.md §1.7), when available */
  belle2Mean: number | null;
  belle2Sd: number | null;
}

export function featureStatistics(sample: KlmSample, rows: ArrayLike<number>, belle2?: ModelBundle | null): KlmFeatureStatistics[] {
  const sum = new Float64Array(KLM_FEATURES), sum2 = new Float64Array(KLM_FEATURES);
  for (let j = 0; j < rows.length; j++) {
    const base = rows[j]! * KLM_FEATURES;
    for (let k = 0; k < KLM_FEATURES; k++) {
      const v = sample.features[base + k]!;
      sum[k]! += v;
      sum2[k]! += v * v;
    }
  }
  const m = rows.length;
  const mean = belle2?.tensors.get("batchnorm.running_mean")?.data as Float32Array | undefined;
  const variance = belle2?.tensors.get("batchnorm.running_var")?.data as Float32Array | undefined;
  return KLM_FEATURE_NAMES.map((name, k) => {
    const mu = m > 0 ? sum[k]! / m : NaN;
    const sd = m > 0 ? Math.sqrt(Math.max(0, sum2[k]! / m - mu * mu)) : NaN;
    return {
      name, index: k, mean: mu, sd,
      belle2Mean: mean !== undefined && mean.length === KLM_FEATURES ? mean[k]! : null,
      belle2Sd: variance !== undefined && variance.length === KLM_FEATURES ? Math.sqrt(variance[k]!) : null,
    };
  });
}

/**
 * N_hit (layers with a matched hit) against N_ext (layers with an ext bit) of the pions that pass a
 * method's 90 %-efficiency cut, and of all pions and muons for comparison: counts[nExt][nHit].
 */
export interface KlmHitPatternStudy {
  method: KlmMethodName;
  cut: number;
  fakePions: number;
  /** counts[nExt][nHit], nExt and nHit 0…29 */
  fakePionCounts: number[][];
  pionCounts: number[][];
  muonCounts: number[][];
  /** N_hit distribution of the fake pions summed over N_ext, and their mean N_hit and N_ext */
  fakePionNHit: number[];
  fakePionMeanNHit: number;
  fakePionMeanNExt: number;
}

export function hitPatternStudy(sample: KlmSample, scores: KlmScores, rows: ArrayLike<number>, method: KlmMethodName = "likelihood"): KlmHitPatternStudy | null {
  const s = scores[method];
  if (s === undefined) return null;
  const f = methodFigures(s, sample.isMuon, rows);
  if (f.cutAt90 === null) return null;
  const size = 30;
  const grid = () => Array.from({ length: size }, () => new Array<number>(size).fill(0));
  const fake = grid(), pions = grid(), muons = grid();
  const nHitDistribution = new Array<number>(size).fill(0);
  let nFake = 0, sumHit = 0, sumExt = 0;
  for (let j = 0; j < rows.length; j++) {
    const i = rows[j]!;
    const e = Math.min(sample.extCount[i]!, size - 1), h = Math.min(sample.hitCount[i]!, size - 1);
    if (sample.isMuon[i] === 1) {
      muons[e]![h]!++;
      continue;
    }
    pions[e]![h]!++;
    if (s[i]! >= f.cutAt90) {
      fake[e]![h]!++;
      nHitDistribution[h]!++;
      nFake++;
      sumHit += h;
      sumExt += e;
    }
  }
  return {
    method, cut: f.cutAt90, fakePions: nFake, fakePionCounts: fake, pionCounts: pions, muonCounts: muons,
    fakePionNHit: nHitDistribution, fakePionMeanNHit: nFake > 0 ? sumHit / nFake : NaN, fakePionMeanNExt: nFake > 0 ? sumExt / nFake : NaN,
  };
}

/** One robustness variation: a sample made under changed conditions, scored by the nominal models. */
export interface KlmRobustnessInput {
  name: string;
  description: string;
  sample: KlmSample;
}

export interface KlmEvaluationInput {
  sample: KlmSample;
  scorers: KlmScorers;
  /** the Belle II model bundle, for the BatchNorm statistics */
  belle2Bundle?: ModelBundle | null;
  robustness?: KlmRobustnessInput[];
  notes?: string[];
  /** free-form provenance of the sample and models */
  provenance?: Record<string, unknown>;
}

export interface KlmEvaluation {
  klm: {
    tracks: number;
    muons: number;
    pions: number;
    selection: string;
    methods: KlmFigureSet["methods"];
    byMomentum: (KlmFigureSet & { pMin: number; pMax: number })[];
    byRegion: (KlmFigureSet & { region: string })[];
    roc: Partial<Record<KlmMethodName, { efficiency: number[]; fakeRate: number[] }>>;
    robustness: (KlmFigureSet & { name: string; description: string })[];
    featureStatistics: KlmFeatureStatistics[];
    hitPatterns: KlmHitPatternStudy | null;
    notes: string[];
    provenance: Record<string, unknown>;
  };
}

/** The whole KLM evaluation of a sample (and its robustness variations). */
export function evaluateKlm(input: KlmEvaluationInput): KlmEvaluation {
  const { sample } = input;
  const rows = klmEvaluationRows(sample);
  if (rows.length === 0) throw new InputError(`no track of the ${sample.n} in the sample has ${KLM_EVAL_P_MIN} < p < ${KLM_EVAL_P_MAX} GeV/c inside the KLM acceptance`);
  const scores = scoreKlmSample(sample, input.scorers);
  const overall = figureSet(sample, scores, rows);

  const pSelected = Float64Array.from(rows, (i) => sample.p[i]!);
  const bins = assignBins(pSelected, KLM_EVAL_MOMENTUM_EDGES);
  const byMomentum = KLM_EVAL_MOMENTUM_EDGES.slice(0, -1).map((pMin, b) => {
    const sub = rows.filter((_, j) => bins[j] === b);
    return { pMin, pMax: KLM_EVAL_MOMENTUM_EDGES[b + 1]!, ...figureSet(sample, scores, sub) };
  });
  const byRegion = KLM_REGIONS.map((region, code) => ({ region, ...figureSet(sample, scores, rows.filter((i) => sample.region[i] === code)) }));

  const roc: KlmEvaluation["klm"]["roc"] = {};
  const labels = Uint8Array.from(rows, (i) => sample.isMuon[i]!);
  if (overall.muons > 0 && overall.pions > 0) {
    for (const name of KLM_METHODS) {
      const s = scores[name];
      if (s !== undefined) roc[name] = sampledRoc(Float64Array.from(rows, (i) => s[i]!), labels, KLM_EVAL_ROC_POINTS);
    }
  }

  const robustness = (input.robustness ?? []).map((r) => {
    const rRows = klmEvaluationRows(r.sample);
    return { name: r.name, description: r.description, ...figureSet(r.sample, scoreKlmSample(r.sample, input.scorers), rRows) };
  });

  const all = Int32Array.from({ length: sample.n }, (_, i) => i);
  const notes = [...(input.notes ?? [])];
  if (scores.likelihood === undefined) notes.push("likelihood: no Muid likelihood tables were given, so the method is skipped");
  if (scores.belle2Dnn === undefined) notes.push("belle2Dnn: the Belle II weight file (../shared/reference/basf2/KLMMuonIDDNNWeightFile.xml) was not available, so the method is skipped");
  return {
    klm: {
      tracks: overall.tracks, muons: overall.muons, pions: overall.pions,
      selection: `tracks with a KLM DNN value (ext bit or matched hit, klm.md §1.2), reconstructed ${KLM_EVAL_P_MIN} < p < ${KLM_EVAL_P_MAX} GeV/c, θ ${KLM_GUN_THETA_MIN_DEG}°–${KLM_GUN_THETA_MAX_DEG}°`,
      methods: overall.methods,
      byMomentum,
      byRegion,
      roc,
      robustness,
      featureStatistics: featureStatistics(sample, all, input.belle2Bundle),
      hitPatterns: hitPatternStudy(sample, scores, rows, "likelihood"),
      notes,
      provenance: { sample: sample.provenance, ...(input.provenance ?? {}) },
    },
  };
}
