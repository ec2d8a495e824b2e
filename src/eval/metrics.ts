/**
 * Classifier performance figures used by every muid evaluation (ECL and KLM): ROC curves, AUC, the
 * fake rate at a fixed signal efficiency (Belle II quotes μ-ID as "pion fake rate at 90 % muon
 * efficiency", physics.md / ecl.md §5), the efficiency at a fixed fake rate, binomial errors, and
 * binning helpers. Signal = label 1 (the muon), background = label 0; a track is selected when its
 * score is ≥ the cut (or > the cut where stated). Rates are fractions in [0, 1].
 *
 * Ties are handled explicitly and conservatively: tracks with the same score are always selected
 * together, so a working point never splits a tie.
 */
import { InputError } from "../errors.js";

/** The working points every evaluation reports (the paper's): pion fake rate at 90 % muon efficiency, muon efficiency at 2 % pion fake rate. */
export const WORKING_POINT_EFFICIENCY = 0.9;
export const WORKING_POINT_FAKE_RATE = 0.02;

/** One ROC point: selecting score ≥ cut gives this efficiency (signal) and fake rate (background). */
export interface RocPoint {
  cut: number;
  efficiency: number;
  fakeRate: number;
}

/** A working point at a target rate. */
export interface WorkingPoint {
  cut: number;
  efficiency: number;
  fakeRate: number;
  /** binomial standard errors of the two rates */
  efficiencyError: number;
  fakeRateError: number;
  signal: number;
  background: number;
}

function check(scores: ArrayLike<number>, labels: ArrayLike<number>): { nSignal: number; nBackground: number } {
  if (scores.length !== labels.length) throw new InputError(`metrics: ${scores.length} scores but ${labels.length} labels`);
  let nSignal = 0, nBackground = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i]!)) throw new InputError(`metrics: score ${i} is ${scores[i]}`);
    const l = labels[i];
    if (l === 1) nSignal++;
    else if (l === 0) nBackground++;
    else throw new InputError(`metrics: label ${i} is ${l}, expected 0 or 1`);
  }
  return { nSignal, nBackground };
}

/** Binomial standard error of a rate k/n (0 for n = 0). */
export function binomialError(rate: number, n: number): number {
  return n > 0 ? Math.sqrt((rate * (1 - rate)) / n) : 0;
}

/** Indices ordered by descending score (ties by index, so the order is deterministic). */
function descending(scores: ArrayLike<number>): Int32Array {
  const idx = Int32Array.from({ length: scores.length }, (_, i) => i);
  return idx.sort((a, b) => scores[b]! - scores[a]! || a - b);
}

/**
 * The full ROC: one point per distinct score (descending cut), starting at (0, 0) with cut +∞ and
 * ending at (1, 1). Needs at least one signal and one background entry.
 */
export function rocCurve(scores: ArrayLike<number>, labels: ArrayLike<number>): RocPoint[] {
  const { nSignal, nBackground } = check(scores, labels);
  if (nSignal === 0 || nBackground === 0) throw new InputError(`metrics: a ROC needs signal and background (have ${nSignal} and ${nBackground})`);
  const order = descending(scores);
  const points: RocPoint[] = [{ cut: Infinity, efficiency: 0, fakeRate: 0 }];
  let s = 0, b = 0;
  for (let k = 0; k < order.length; ) {
    const cut = scores[order[k]!]!;
    while (k < order.length && scores[order[k]!] === cut) {
      if (labels[order[k]!] === 1) s++;
      else b++;
      k++;
    }
    points.push({ cut, efficiency: s / nSignal, fakeRate: b / nBackground });
  }
  return points;
}

/**
 * Area under the ROC (trapezoids over the tie-grouped points): the probability that a random signal
 * entry scores above a random background entry, ties counting one half (Mann–Whitney U / (n_s·n_b)).
 */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const roc = rocCurve(scores, labels);
  let area = 0;
  for (let k = 1; k < roc.length; k++) area += (roc[k]!.fakeRate - roc[k - 1]!.fakeRate) * (roc[k]!.efficiency + roc[k - 1]!.efficiency) * 0.5;
  return area;
}

/**
 * The working point with efficiency ≥ `efficiency` and the lowest fake rate: the cut is the score of
 * the ⌈efficiency·n_s⌉-th best signal entry, and every entry scoring ≥ it is selected.
 */
export function fakeRateAtEfficiency(scores: ArrayLike<number>, labels: ArrayLike<number>, efficiency: number): WorkingPoint {
  if (!(efficiency > 0 && efficiency <= 1)) throw new InputError(`metrics: target efficiency ${efficiency} must be in (0, 1]`);
  const { nSignal, nBackground } = check(scores, labels);
  if (nSignal === 0 || nBackground === 0) throw new InputError(`metrics: a working point needs signal and background (have ${nSignal} and ${nBackground})`);
  const signalScores = new Float64Array(nSignal);
  let j = 0;
  for (let i = 0; i < scores.length; i++) if (labels[i] === 1) signalScores[j++] = scores[i]!;
  signalScores.sort((a, b) => b - a);
  const need = Math.ceil(efficiency * nSignal - 1e-9);
  const cut = signalScores[Math.max(need, 1) - 1]!;
  return workingPoint(scores, labels, cut, false, nSignal, nBackground);
}

/**
 * The working point with fake rate ≤ `fakeRate` and the highest efficiency: entries scoring strictly
 * above the (⌊fakeRate·n_b⌋ + 1)-th best background score are selected.
 */
export function efficiencyAtFakeRate(scores: ArrayLike<number>, labels: ArrayLike<number>, fakeRate: number): WorkingPoint {
  if (!(fakeRate >= 0 && fakeRate < 1)) throw new InputError(`metrics: target fake rate ${fakeRate} must be in [0, 1)`);
  const { nSignal, nBackground } = check(scores, labels);
  if (nSignal === 0 || nBackground === 0) throw new InputError(`metrics: a working point needs signal and background (have ${nSignal} and ${nBackground})`);
  const backgroundScores = new Float64Array(nBackground);
  let j = 0;
  for (let i = 0; i < scores.length; i++) if (labels[i] === 0) backgroundScores[j++] = scores[i]!;
  backgroundScores.sort((a, b) => b - a);
  const allowed = Math.floor(fakeRate * nBackground + 1e-9);
  const cut = backgroundScores[allowed]!;
  return workingPoint(scores, labels, cut, true, nSignal, nBackground);
}

function workingPoint(scores: ArrayLike<number>, labels: ArrayLike<number>, cut: number, strict: boolean, nSignal: number, nBackground: number): WorkingPoint {
  let s = 0, b = 0;
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i]!;
    if (strict ? v > cut : v >= cut) {
      if (labels[i] === 1) s++;
      else b++;
    }
  }
  const efficiency = s / nSignal, fakeRate = b / nBackground;
  return {
    cut, efficiency, fakeRate,
    efficiencyError: binomialError(efficiency, nSignal), fakeRateError: binomialError(fakeRate, nBackground),
    signal: nSignal, background: nBackground,
  };
}

/**
 * The ROC sampled at `points` evenly spaced efficiencies 0 … 1 (for reports): at each efficiency the
 * lowest fake rate reaching it (fakeRateAtEfficiency), and the fake rate 0 point at efficiency 0.
 */
export function sampledRoc(scores: ArrayLike<number>, labels: ArrayLike<number>, points = 51): { efficiency: number[]; fakeRate: number[] } {
  if (!Number.isInteger(points) || points < 2) throw new InputError(`metrics: a sampled ROC needs ≥ 2 points, got ${points}`);
  const roc = rocCurve(scores, labels);
  const efficiency: number[] = [], fakeRate: number[] = [];
  let k = 0;
  for (let q = 0; q < points; q++) {
    const target = q / (points - 1);
    while (k < roc.length - 1 && roc[k]!.efficiency < target - 1e-12) k++;
    efficiency.push(target);
    fakeRate.push(roc[k]!.fakeRate);
  }
  return { efficiency, fakeRate };
}

/** Bin of each value among ascending `edges` (bin k = [edges[k], edges[k+1])), −1 outside. */
export function assignBins(values: ArrayLike<number>, edges: readonly number[]): Int32Array {
  if (edges.length < 2 || edges.some((e, k) => !Number.isFinite(e) || (k > 0 && e <= edges[k - 1]!)))
    throw new InputError(`metrics: bin edges must be ≥ 2 ascending finite numbers, got [${edges.join(", ")}]`);
  const out = new Int32Array(values.length);
  const n = edges.length - 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    let bin = -1;
    if (v >= edges[0]! && v < edges[n]!) {
      let lo = 0, hi = n;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (edges[mid]! <= v) lo = mid;
        else hi = mid;
      }
      bin = lo;
    }
    out[i] = bin;
  }
  return out;
}

/** The entries of `bins` equal to `bin`, as an index list. */
export function indicesInBin(bins: Int32Array, bin: number): Int32Array {
  let n = 0;
  for (let i = 0; i < bins.length; i++) if (bins[i] === bin) n++;
  const out = new Int32Array(n);
  let j = 0;
  for (let i = 0; i < bins.length; i++) if (bins[i] === bin) out[j++] = i;
  return out;
}

/** Values at the given indices (a typed subset). */
export function pick<T extends ArrayLike<number>>(values: T, indices: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: indices.length }, (_, j) => values[indices[j]!]!);
}
