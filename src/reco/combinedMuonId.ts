/**
 * One calibrated muon probability per track over all momenta (ISSUE 7 item 5), from the two
 * detectors' models:
 *
 *   klmDnn  the KLM DNN (121 inputs) for tracks with a KLM value (klm.md §1.2: an ext bit or a hit)
 *   eclCnn  the ECL CNN of the track's charge for tracks with a CNN value (ecl.md §1.6: thetaId
 *           14..57, 0.2 ≤ pT(ECL) ≤ 1 GeV/c)
 *
 * Each model's score is its logit difference s = z_μ − z_π (does not saturate, unlike float32 p(μ)).
 * A calibration per source, charge and momentum bin (p at the IP) maps s to the log-likelihood
 * ratio λ(s) = ln[f_μ(s)/f_π(s)], i.e. ln[P/(1 − P)] for equal μ/π priors; it was fitted on
 * simulation by src/train/combinedMuonId.ts (isotonic regression with equal class weights, pseudo-
 * counts, clamped) and is stored as knots (s_k, λ_k), linearly interpolated, constant outside.
 *
 * Combination: a track with one calibrated source gets λ = λ_source; a track with both gets
 * λ = w_KLM·λ_KLM + w_ECL·λ_ECL with per-momentum-bin weights fitted on the same simulation (logistic
 * regression without intercept, equal class weights). w = 1 is the naive-Bayes sum of independent
 * detectors; the fitted w < 1 (ECL ≈ 0.5–0.8) because the responses of pions are positively
 * correlated (a pion that does not shower in the ECL also tends to penetrate the KLM), and the plain
 * sum would be over-confident. P(μ) = 1/(1 + e^−λ) for equal μ/π priors. A track with no calibrated
 * source gets P = 0.5 and `noInformation: true`. The reliability on an independent sample is checked
 * by src/eval/combined.ts.
 */
import { FormatError, InputError } from "../errors.js";
import type { Prediction } from "../models/runtime.js";
import { exp } from "../math/ieee754.js";

export const COMBINED_MUON_ID_FORMAT = "muid-combined-muon-id";
export const COMBINED_MUON_ID_FORMAT_VERSION = 1;

/** The detector sources of the combination, in the order they are listed in results. */
export const COMBINED_SOURCES = ["klmDnn", "eclCnn"] as const;
export type CombinedSourceName = (typeof COMBINED_SOURCES)[number];

/** Calibration of one source in one charge and momentum bin: λ at ascending score knots. */
export interface CalibrationBin {
  /** tracks of each species the bin was fitted on */
  muons: number;
  pions: number;
  /** ascending logit-difference knots */
  scores: number[];
  /** ln[f_μ/f_π] at the knots, non-decreasing, |λ| ≤ the file's llrLimit */
  llr: number[];
}

/** One source's calibration: per charge, one entry per momentum bin (null: too few tracks, source unused there). */
export interface SourceCalibration {
  /** what the score is, for people reading the file */
  score: string;
  /** the model file the calibration was made with */
  model: string;
  plus: (CalibrationBin | null)[];
  minus: (CalibrationBin | null)[];
}

/** The file weights/combined-muon-id.json. */
export interface CombinedMuonIdTables {
  format: typeof COMBINED_MUON_ID_FORMAT;
  formatVersion: number;
  /** momentum bin edges at the IP, GeV/c, ascending; a track outside goes to the first or last bin */
  momentumEdges: number[];
  /** largest |λ| of one source (limits the confidence a finite calibration sample can give) */
  llrLimit: number;
  sources: Record<CombinedSourceName, SourceCalibration>;
  /** weights of each source's λ for tracks with both sources, one per momentum bin (1: naive Bayes) */
  bothSourcesWeights: Record<CombinedSourceName, number[]>;
  provenance: Record<string, unknown>;
}

/** Largest weight of a source's λ when both sources answer. */
export const BOTH_SOURCES_WEIGHT_MAX = 2;

/** Per-track inputs of the combination: the momentum and charge, and each source's score when it has one. */
export interface CombinedTrackInputs {
  /** momentum at the IP, GeV/c */
  p: number;
  charge: 1 | -1;
  /** KLM DNN logit difference z_μ − z_π; null/undefined/NaN when the track has no KLM value */
  klmDnn?: number | null;
  /** ECL CNN logit difference; null/undefined/NaN when the track has no CNN value */
  eclCnn?: number | null;
}

export interface CombinedMuonProbability {
  /** P(μ) for equal μ/π priors */
  probability: number;
  /** ln[P/(1 − P)] = Σ of the sources' λ */
  logLikelihoodRatio: number;
  /** the sources that contributed, in COMBINED_SOURCES order */
  sources: CombinedSourceName[];
  /** each contributing source's term of the sum (its λ, times its weight when both sources answer) */
  sourceLlr: Partial<Record<CombinedSourceName, number>>;
  /** true when no source could answer (probability 0.5) */
  noInformation: boolean;
}

/** Logit differences z₁ − z₀ (muon minus pion) of a two-class prediction. */
export function logitDifferences(prediction: Pick<Prediction, "logits">, batch: number): Float32Array {
  const { logits } = prediction;
  if (logits.length !== 2 * batch) throw new InputError(`expected ${batch} rows of 2 logits, got ${logits.length} values`);
  const out = new Float32Array(batch);
  for (let i = 0; i < batch; i++) out[i] = logits[2 * i + 1]! - logits[2 * i]!;
  return out;
}

/** Bin of p among ascending edges, clamped to the first and last bin. */
export function momentumBin(edges: readonly number[], p: number): number {
  const n = edges.length - 1;
  let b = 0;
  while (b < n - 1 && p >= edges[b + 1]!) b++;
  return b;
}

/** λ at score s: linear between knots, the end values outside. */
export function interpolateLlr(bin: CalibrationBin, s: number): number {
  const x = bin.scores, y = bin.llr;
  const n = x.length;
  if (s <= x[0]!) return y[0]!;
  if (s >= x[n - 1]!) return y[n - 1]!;
  let lo = 0, hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x[mid]! <= s) lo = mid;
    else hi = mid;
  }
  const t = (s - x[lo]!) / (x[hi]! - x[lo]!);
  return y[lo]! + t * (y[hi]! - y[lo]!);
}

/** Checks a parsed calibration file; FormatError names the first problem. */
export function validateCombinedMuonIdTables(value: unknown): CombinedMuonIdTables {
  const v = value as CombinedMuonIdTables;
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new FormatError("combined muon-ID file is not a JSON object");
  if (v.format !== COMBINED_MUON_ID_FORMAT) throw new FormatError(`combined muon-ID file format is ${JSON.stringify(v.format)}, expected "${COMBINED_MUON_ID_FORMAT}"`);
  if (v.formatVersion !== COMBINED_MUON_ID_FORMAT_VERSION) throw new FormatError(`combined muon-ID format version ${JSON.stringify(v.formatVersion)} is not supported (this build reads ${COMBINED_MUON_ID_FORMAT_VERSION})`);
  const edges = v.momentumEdges;
  if (!Array.isArray(edges) || edges.length < 2 || !edges.every((e) => typeof e === "number" && Number.isFinite(e) && e >= 0) || edges.some((e, k) => k > 0 && e <= edges[k - 1]!))
    throw new FormatError("combined muon-ID file: momentumEdges must be at least two ascending finite numbers ≥ 0");
  if (!(typeof v.llrLimit === "number" && Number.isFinite(v.llrLimit) && v.llrLimit > 0)) throw new FormatError("combined muon-ID file: llrLimit must be a finite number > 0");
  if (v.sources === null || typeof v.sources !== "object") throw new FormatError("combined muon-ID file has no sources");
  if (v.provenance === null || typeof v.provenance !== "object") throw new FormatError("combined muon-ID file has no provenance object");
  const nBins = edges.length - 1;
  for (const name of COMBINED_SOURCES) {
    const source = v.sources[name];
    if (source === null || typeof source !== "object") throw new FormatError(`combined muon-ID file has no source "${name}"`);
    for (const charge of ["plus", "minus"] as const) {
      const bins = source[charge];
      if (!Array.isArray(bins) || bins.length !== nBins) throw new FormatError(`combined muon-ID file: ${name}.${charge} must have ${nBins} entries (one per momentum bin)`);
      bins.forEach((bin, b) => {
        if (bin === null) return;
        const where = `${name}.${charge}[${b}]`;
        if (typeof bin !== "object") throw new FormatError(`combined muon-ID file: ${where} must be an object or null`);
        for (const count of ["muons", "pions"] as const)
          if (!Number.isSafeInteger(bin[count]) || bin[count] < 0) throw new FormatError(`combined muon-ID file: ${where}.${count} must be a count`);
        const { scores, llr } = bin;
        if (!Array.isArray(scores) || !Array.isArray(llr) || scores.length < 1 || scores.length !== llr.length)
          throw new FormatError(`combined muon-ID file: ${where} needs equally long, non-empty scores and llr`);
        for (let k = 0; k < scores.length; k++) {
          const s = scores[k], l = llr[k];
          if (typeof s !== "number" || !Number.isFinite(s) || (k > 0 && s <= scores[k - 1]!)) throw new FormatError(`combined muon-ID file: ${where}.scores must be ascending finite numbers (index ${k})`);
          if (typeof l !== "number" || !Number.isFinite(l) || Math.abs(l) > v.llrLimit + 1e-9) throw new FormatError(`combined muon-ID file: ${where}.llr[${k}] must be finite with |λ| ≤ ${v.llrLimit}`);
          if (k > 0 && l < llr[k - 1]! - 1e-9) throw new FormatError(`combined muon-ID file: ${where}.llr must be non-decreasing (index ${k})`);
        }
      });
    }
  }
  if (v.bothSourcesWeights === null || typeof v.bothSourcesWeights !== "object") throw new FormatError("combined muon-ID file has no bothSourcesWeights");
  for (const name of COMBINED_SOURCES) {
    const w = v.bothSourcesWeights[name];
    if (!Array.isArray(w) || w.length !== nBins || !w.every((x) => typeof x === "number" && Number.isFinite(x) && x >= 0 && x <= BOTH_SOURCES_WEIGHT_MAX))
      throw new FormatError(`combined muon-ID file: bothSourcesWeights.${name} must be ${nBins} numbers in [0, ${BOTH_SOURCES_WEIGHT_MAX}]`);
  }
  return v;
}

function present(score: number | null | undefined): score is number {
  return typeof score === "number" && !Number.isNaN(score);
}

/**
 * The combined muon ID: `probability(track)` for one track, `probabilities(...)` for columns.
 * Loaded from weights/combined-muon-id.json (fromJsonText) or a parsed object (fromJson).
 */
export class CombinedMuonId {
  readonly tables: Readonly<CombinedMuonIdTables>;

  private constructor(tables: CombinedMuonIdTables) {
    this.tables = tables;
  }

  static fromJson(value: unknown): CombinedMuonId {
    return new CombinedMuonId(validateCombinedMuonIdTables(value));
  }

  static fromJsonText(text: string): CombinedMuonId {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new FormatError(`combined muon-ID file is not valid JSON: ${(e as Error).message}`);
    }
    return CombinedMuonId.fromJson(value);
  }

  /** λ of one source alone for a track, or null when its momentum bin has no calibration. */
  sourceLlr(source: CombinedSourceName, charge: 1 | -1, p: number, score: number): number | null {
    if (!Number.isFinite(score)) throw new InputError(`${source} score ${score} must be finite (use null for "no value")`);
    const bins = charge > 0 ? this.tables.sources[source].plus : this.tables.sources[source].minus;
    const bin = bins[momentumBin(this.tables.momentumEdges, p)];
    return bin ? interpolateLlr(bin, score) : null;
  }

  probability(track: CombinedTrackInputs): CombinedMuonProbability {
    if (!Number.isFinite(track.p) || track.p <= 0) throw new InputError(`momentum ${track.p} GeV/c must be finite and > 0`);
    if (track.charge !== 1 && track.charge !== -1) throw new InputError(`charge must be ±1 (got ${String(track.charge)})`);
    const sources: CombinedSourceName[] = [];
    const sourceLlr: Partial<Record<CombinedSourceName, number>> = {};
    let llr = 0;
    for (const name of COMBINED_SOURCES) {
      const score = track[name];
      if (!present(score)) continue;
      const l = this.sourceLlr(name, track.charge, track.p, score);
      if (l === null) continue;
      sources.push(name);
      sourceLlr[name] = l;
    }
    if (sources.length === COMBINED_SOURCES.length) {
      const b = momentumBin(this.tables.momentumEdges, track.p);
      for (const name of COMBINED_SOURCES) sourceLlr[name]! *= this.tables.bothSourcesWeights[name][b]!;
    }
    for (const name of sources) llr += sourceLlr[name]!;
    return { probability: 1 / (1 + exp(-llr)), logLikelihoodRatio: llr, sources, sourceLlr, noInformation: sources.length === 0 };
  }

  /** Column form: P(μ) for n tracks (NaN in a score column = no value), with the source bit mask (1 KLM, 2 ECL). */
  probabilities(columns: { p: ArrayLike<number>; charge: ArrayLike<number>; klmDnn: ArrayLike<number>; eclCnn: ArrayLike<number> }): { probability: Float64Array; llr: Float64Array; sourceMask: Uint8Array } {
    const n = columns.p.length;
    if (columns.charge.length !== n || columns.klmDnn.length !== n || columns.eclCnn.length !== n) throw new InputError("combined muon ID: the columns must have the same length");
    const probability = new Float64Array(n), llr = new Float64Array(n), sourceMask = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const r = this.probability({ p: columns.p[i]!, charge: columns.charge[i]! > 0 ? 1 : -1, klmDnn: columns.klmDnn[i], eclCnn: columns.eclCnn[i] });
      probability[i] = r.probability;
      llr[i] = r.logLikelihoodRatio;
      sourceMask[i] = (r.sourceLlr.klmDnn !== undefined ? 1 : 0) | (r.sourceLlr.eclCnn !== undefined ? 2 : 0);
    }
    return { probability, llr, sourceMask };
  }
}
