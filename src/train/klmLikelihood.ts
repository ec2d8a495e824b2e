/**
 * Building the Muid likelihood tables (src/reco/muidLikelihood.ts, klm.md §2.9–2.12) from simulated
 * tracks: each track is reconstructed with the muon hypothesis (src/reco/klmChain.ts) and counted under
 * its true species.
 *
 * Longitudinal: P[outcome][lastLayer][layer] = the probability of a matched hit in a layer whose ext bit
 * is set, for tracks of that outcome and last layer. Sparse cells are shrunk towards coarser estimates
 * (Bayesian pseudo-counts): the cell towards the same layer pooled over all last layers of the outcome,
 * that towards the layer pooled over everything, that towards ½:
 *   P_all[i] = (hit + 1)/(ext + 2),  P_o[i] = (hit + k·P_all[i])/(ext + k),  P[i] = (hit + k·P_o[i])/(ext + k),
 * with k = LONGITUDINAL_PRIOR tracks. P is divided by the layer efficiency ε the tables are declared for
 * (the likelihood multiplies P·ε back in a missing layer, §2.9), and kept in [P_MIN, P_MAX] so that a
 * layer never makes a hypothesis impossible.
 *
 * Transverse, per detector (both / barrel only / endcap only) and ndof = 2k, k = 1…18 (§2.10):
 *  - a scaled χ² model for the reduced χ² x = χ²/ndof, density ∝ x^(k−1) e^(−λx), λ = scaleX·k; scaleX
 *    is fitted to the mean of x above the threshold (the tail the model describes), or to the mean of all x
 *    when the tail has fewer than TAIL_MIN_ENTRIES tracks (a pure χ² when there are none);
 *  - the threshold is the 98 % quantile of x rounded down to a bin edge, within [0.5, 9.9];
 *  - the 100-bin log-PDF histogram (bin centres 0.05 … 9.95) is ln((n_i + α·m_i)/((N + α)·Δx)), m_i the
 *    model's probability in bin i and α = TRANSVERSE_PRIOR pseudo-tracks (finite logs, smooth sparse bins);
 *  - scaleY makes the tail function carry the (equally smoothed) fraction of tracks above the threshold.
 */
import { InputError } from "../errors.js";
import { KLM_SLOTS } from "../geometry/klm.js";
import type { SimTrackRow } from "../sim/types.js";
import { KlmReconstructor, type KlmReconstructionOptions } from "../reco/klmChain.js";
import {
  DETECTORS,
  LIKELIHOOD_FORMAT,
  LIKELIHOOD_FORMAT_VERSION,
  MAXIMAL_HALF_NDOF,
  MAXIMAL_REDUCED_CHI2,
  REDUCED_CHI2_BINS,
  REDUCED_CHI2_DX,
  transverseDetector,
  type HypothesisTables,
  type LikelihoodTablesJson,
  type TransverseEntry,
} from "../reco/muidLikelihood.js";
import { MAXIMAL_BARREL_LAYER, MAXIMAL_OUTCOME, lastLayerOf, validOutcomeLayers, type MuidResult } from "../reco/muidPatterns.js";

/** Pseudo-tracks pulling a longitudinal cell towards its pooled estimate. */
export const LONGITUDINAL_PRIOR = 2;
/** Bounds of a tabulated hit probability. */
export const P_MIN = 0.001;
export const P_MAX = 0.999;
/** Pseudo-tracks of the scaled-χ² model in each reduced-χ² histogram. */
export const TRANSVERSE_PRIOR = 20;
/** Fewest tracks above the threshold to fit the tail's scale on them. */
export const TAIL_MIN_ENTRIES = 20;
/** Quantile of the reduced χ² where the tabulated region ends. */
export const THRESHOLD_QUANTILE = 0.98;

/** The species the tables describe by default: name → |PDG code|. */
export const DEFAULT_HYPOTHESES: Readonly<Record<string, number>> = { muon: 13, pion: 211 };

const ROWS = MAXIMAL_BARREL_LAYER + 1;
const CELLS = (MAXIMAL_OUTCOME + 1) * ROWS * KLM_SLOTS;
const TRANSVERSE_CELLS = DETECTORS * (MAXIMAL_HALF_NDOF + 1);

/** Regularised upper incomplete gamma Q(k, y) = Γ(k, y)/Γ(k) for integer k ≥ 1: e^(−y) Σ_{j<k} y^j/j!. */
export function gammaQ(k: number, y: number): number {
  if (y <= 0) return 1;
  let term = 1;
  let sum = 1;
  for (let j = 1; j < k; j++) {
    term *= y / j;
    sum += term;
  }
  return Math.exp(-y) * sum;
}

/** The file stores 6–8 significant digits (compact, and far below the statistical precision of the tables). */
function significant(v: number, digits: number): number {
  return v === 0 ? 0 : Number(v.toPrecision(digits));
}
function round(v: number, decimals: number): number {
  return Number(v.toFixed(decimals));
}

/** (k − 1)! */
function gammaInteger(k: number): number {
  let g = 1;
  for (let j = 2; j < k; j++) g *= j;
  return g;
}

/** Mean of x above t for the density ∝ x^(k−1) e^(−λx): (k/λ)·Q(k+1, λt)/Q(k, λt). */
function tailMean(k: number, lambda: number, t: number): number {
  const q = gammaQ(k, lambda * t);
  return q > 0 ? ((k / lambda) * gammaQ(k + 1, lambda * t)) / q : t + 1 / lambda;
}

/** λ with the given mean above t (bisection in log λ; the tail mean falls as λ grows). */
function fitTailRate(k: number, t: number, mean: number): number {
  let lo = Math.log(1e-3 * k), hi = Math.log(1e3 * k);
  for (let it = 0; it < 200; it++) {
    const mid = 0.5 * (lo + hi);
    if (tailMean(k, Math.exp(mid), t) > mean) lo = mid;
    else hi = mid;
  }
  return Math.exp(0.5 * (lo + hi));
}

/** Transverse table of one (detector, ndof) from the reduced χ² values of its tracks. */
export function transverseEntry(detector: number, halfNdof: number, values: readonly number[]): TransverseEntry {
  const k = halfNdof;
  const n = values.length;
  const sorted = Float64Array.from(values).sort();
  // threshold: the 98 % quantile, on a bin edge, inside [0.5, 9.9]
  let threshold = 3;
  if (n > 0) {
    const q = sorted[Math.min(n - 1, Math.floor(THRESHOLD_QUANTILE * n))]!;
    threshold = Math.floor(q / REDUCED_CHI2_DX) * REDUCED_CHI2_DX;
  }
  threshold = Math.min(Math.max(threshold, 0.5), MAXIMAL_REDUCED_CHI2 - REDUCED_CHI2_DX);
  let tailSum = 0, tailCount = 0, sum = 0;
  for (const x of sorted) {
    sum += x;
    if (x > threshold) {
      tailSum += x;
      tailCount++;
    }
  }
  let scaleX = 1;
  if (tailCount >= TAIL_MIN_ENTRIES) scaleX = fitTailRate(k, threshold, tailSum / tailCount) / k;
  else if (n > 0 && sum > 0) scaleX = n / sum;
  const lambda = scaleX * k;
  const counts = new Float64Array(REDUCED_CHI2_BINS);
  for (const x of sorted) {
    const i = Math.floor(x / REDUCED_CHI2_DX);
    if (i >= 0 && i < REDUCED_CHI2_BINS) counts[i]!++;
  }
  const histogram: number[] = [];
  for (let i = 0; i < REDUCED_CHI2_BINS; i++) {
    const mass = gammaQ(k, lambda * REDUCED_CHI2_DX * i) - gammaQ(k, lambda * REDUCED_CHI2_DX * (i + 1));
    const density = (counts[i]! + TRANSVERSE_PRIOR * Math.max(mass, 0)) / ((n + TRANSVERSE_PRIOR) * REDUCED_CHI2_DX);
    histogram.push(round(Math.log(Math.max(density, 1e-300)), 6));
  }
  const modelTail = gammaQ(k, lambda * threshold);
  const fraction = (tailCount + TRANSVERSE_PRIOR * modelTail) / (n + TRANSVERSE_PRIOR);
  // ∫_t^∞ scaleY (λx)^(k−1) e^(−λx) dx = scaleY·(k−1)!·Q(k, λt)/λ
  let scaleY = (fraction * lambda) / (gammaInteger(k) * Math.max(modelTail, 1e-300));
  if (!Number.isFinite(scaleY)) scaleY = 0;
  return { detector, ndof: 2 * k, threshold: round(threshold, 1), scaleX: significant(scaleX, 8), scaleY: significant(scaleY, 8), histogram };
}

/** Counts of reconstructed tracks per hypothesis, turned into tables by build(). */
export class KlmLikelihoodAccumulator {
  readonly hypotheses: Readonly<Record<string, number>>;
  private readonly ext = new Map<string, Float64Array>();
  private readonly hit = new Map<string, Float64Array>();
  private readonly reduced = new Map<string, number[][]>();
  private readonly tracks = new Map<string, number>();

  constructor(hypotheses: Readonly<Record<string, number>> = DEFAULT_HYPOTHESES) {
    if (Object.keys(hypotheses).length === 0) throw new InputError("likelihood training needs at least one hypothesis");
    this.hypotheses = { ...hypotheses };
    for (const name of Object.keys(hypotheses)) {
      this.ext.set(name, new Float64Array(CELLS));
      this.hit.set(name, new Float64Array(CELLS));
      this.reduced.set(name, Array.from({ length: TRANSVERSE_CELLS }, () => []));
      this.tracks.set(name, 0);
    }
  }

  /** The hypothesis of a true PDG code (by |pdg|), or null. */
  hypothesisOf(pdg: number): string | null {
    for (const [name, code] of Object.entries(this.hypotheses)) if (Math.abs(pdg) === code) return name;
    return null;
  }

  /** Tracks counted per hypothesis. */
  get counts(): Record<string, number> {
    return Object.fromEntries(this.tracks);
  }

  /** Counts one reconstructed track (tracks that did not reach the KLM carry no information and are skipped). */
  add(hypothesis: string, result: MuidResult): void {
    const ext = this.ext.get(hypothesis);
    if (!ext) throw new InputError(`unknown hypothesis "${hypothesis}"`);
    if (result.outcome <= 0 || result.outcome > MAXIMAL_OUTCOME) return;
    const lastLayer = lastLayerOf(result);
    if (lastLayer < 0 || lastLayer >= ROWS) return;
    const hit = this.hit.get(hypothesis)!;
    const base = (result.outcome * ROWS + lastLayer) * KLM_SLOTS;
    for (let slot = 0; slot < KLM_SLOTS; slot++) {
      if (((result.extLayerPattern >>> slot) & 1) === 0) continue;
      ext[base + slot]!++;
      if (((result.hitLayerPattern >>> slot) & 1) === 1) hit[base + slot]!++;
    }
    const halfNdof = result.ndof >> 1;
    if (halfNdof >= 1 && halfNdof <= MAXIMAL_HALF_NDOF && result.chi2 >= 0) {
      this.reduced.get(hypothesis)![transverseDetector(result) * (MAXIMAL_HALF_NDOF + 1) + halfNdof]!.push(result.chi2 / result.ndof);
    }
    this.tracks.set(hypothesis, this.tracks.get(hypothesis)! + 1);
  }

  /** The table file (format muid-klm-likelihood v1) for hit probabilities declared at efficiency ε. */
  build(efficiency = 1, training: Record<string, unknown> = {}): LikelihoodTablesJson {
    if (!(efficiency > 0 && efficiency <= 1)) throw new InputError(`efficiency ${efficiency} must be in (0, 1]`);
    const hypotheses: Record<string, HypothesisTables> = {};
    for (const [name, pdg] of Object.entries(this.hypotheses)) {
      hypotheses[name] = { pdg, longitudinal: this.longitudinal(name, efficiency), transverse: this.transverse(name) };
    }
    return {
      format: LIKELIHOOD_FORMAT,
      version: LIKELIHOOD_FORMAT_VERSION,
      efficiency,
      hypotheses,
      training: { ...training, tracksInKlm: this.counts },
    };
  }

  private longitudinal(name: string, efficiency: number): HypothesisTables["longitudinal"] {
    const ext = this.ext.get(name)!;
    const hit = this.hit.get(name)!;
    const extAll = new Float64Array(KLM_SLOTS), hitAll = new Float64Array(KLM_SLOTS);
    const extO = new Float64Array((MAXIMAL_OUTCOME + 1) * KLM_SLOTS), hitO = new Float64Array((MAXIMAL_OUTCOME + 1) * KLM_SLOTS);
    for (let o = 0; o <= MAXIMAL_OUTCOME; o++) {
      for (let l = 0; l < ROWS; l++) {
        for (let i = 0; i < KLM_SLOTS; i++) {
          const c = (o * ROWS + l) * KLM_SLOTS + i;
          extO[o * KLM_SLOTS + i]! += ext[c]!;
          hitO[o * KLM_SLOTS + i]! += hit[c]!;
          extAll[i]! += ext[c]!;
          hitAll[i]! += hit[c]!;
        }
      }
    }
    const k = LONGITUDINAL_PRIOR;
    return validOutcomeLayers().map(({ outcome, lastLayer }) => {
      const layers: number[] = [];
      for (let i = 0; i < KLM_SLOTS; i++) {
        const pAll = (hitAll[i]! + 1) / (extAll[i]! + 2);
        const pO = (hitO[outcome * KLM_SLOTS + i]! + k * pAll) / (extO[outcome * KLM_SLOTS + i]! + k);
        const c = (outcome * ROWS + lastLayer) * KLM_SLOTS + i;
        const p = (hit[c]! + k * pO) / (ext[c]! + k) / efficiency;
        layers.push(significant(Math.min(Math.max(p, P_MIN), P_MAX), 6));
      }
      return { outcome, lastLayer, layers };
    });
  }

  private transverse(name: string): TransverseEntry[] {
    const reduced = this.reduced.get(name)!;
    const entries: TransverseEntry[] = [];
    for (let detector = 0; detector < DETECTORS; detector++) {
      for (let k = 1; k <= MAXIMAL_HALF_NDOF; k++) entries.push(transverseEntry(detector, k, reduced[detector * (MAXIMAL_HALF_NDOF + 1) + k]!));
    }
    return entries;
  }
}

export interface KlmLikelihoodTrainingOptions extends Pick<KlmReconstructionOptions, "backend" | "fieldScale" | "maxDistSigma"> {
  /** layer efficiency the hit probabilities are declared for (default 1: P is the observed hit fraction) */
  efficiency?: number;
  hypotheses?: Readonly<Record<string, number>>;
  /** free-form provenance stored in the file */
  training?: Record<string, unknown>;
  /** called after each event with (tracks done, tracks total) */
  onProgress?: (done: number, total: number) => void;
}

/** Reconstructs `rows` with the muon hypothesis and builds the tables from the tracks of known species. */
export async function trainKlmLikelihood(rows: readonly SimTrackRow[], options: KlmLikelihoodTrainingOptions = {}): Promise<LikelihoodTablesJson> {
  const accumulator = new KlmLikelihoodAccumulator(options.hypotheses ?? DEFAULT_HYPOTHESES);
  // the layer efficiency stored per crossed layer does not enter the counts; keepCrossings off saves memory
  const reconstructor = await KlmReconstructor.create({ backend: options.backend, fieldScale: options.fieldScale, maxDistSigma: options.maxDistSigma, keepCrossings: false });
  let start = 0;
  while (start < rows.length) {
    let end = start + 1;
    while (end < rows.length && rows[end]!.event === rows[start]!.event) end++;
    const group = rows.slice(start, end);
    const results = reconstructor.reconstructRows(group);
    results.forEach((r, i) => {
      const name = accumulator.hypothesisOf(group[i]!.truth.pdg);
      if (name !== null) accumulator.add(name, r.muid);
    });
    start = end;
    options.onProgress?.(end, rows.length);
  }
  return accumulator.build(options.efficiency ?? 1, {
    ...options.training,
    rows: rows.length,
    fieldScale: options.fieldScale ?? 1,
    longitudinalPrior: LONGITUDINAL_PRIOR,
    transversePrior: TRANSVERSE_PRIOR,
    thresholdQuantile: THRESHOLD_QUANTILE,
  });
}
