/**
 * The E/p baseline of the ECL μ/π study: the cluster-based likelihood the CNN is compared with
 * (arXiv:2301.11654 compares with "PID methods … based on track-matched clustering information",
 * physics.md §4; basf2's ECLChargedPID E/p likelihood, ecl.md §4).
 *
 * Cluster (issue 5 item 4): the 3×3 crystals around the most energetic crystal of the track's 7×7
 * window, after the pixel threshold; no crystal above threshold → no cluster → no ID.
 * E/p = cluster energy / track momentum at the IP. The likelihoods L_μ(E/p | p), L_π(E/p | p) are
 * histograms per charge and momentum bin built from simulation (src/train/eclEp.ts), and
 * P(μ) = L_μ/(L_μ + L_π) (equal priors).
 */
import { FormatError, InputError } from "../errors.js";
import { ECL_WINDOW_PIXELS, ECL_WINDOW_SIZE } from "../geometry/eclWindow.js";

export const ECL_EP_FORMAT = "muid-ecl-ep";
export const ECL_EP_FORMAT_VERSION = 1;

/** The 3×3 cluster of a window: its energy and its seed pixel, or null when no pixel is above 0. */
export interface EclCluster {
  /** summed energy of the ≤ 9 crystals around the seed (inside the window), GeV */
  energy: number;
  /** pixel index of the most energetic crystal (first in pixel order on ties) */
  seed: number;
}

/**
 * The cluster of a preprocessed window (threshold already applied: zero pixels are below it).
 * The 3×3 block is cut at the window edge (the window is the only ECL information a row carries).
 */
export function eclCluster(image: ArrayLike<number>, offset = 0): EclCluster | null {
  if (offset < 0 || offset + ECL_WINDOW_PIXELS > image.length) throw new InputError(`ECL window at ${offset} needs ${ECL_WINDOW_PIXELS} values, the array holds ${image.length}`);
  let seed = -1;
  let best = 0;
  for (let k = 0; k < ECL_WINDOW_PIXELS; k++) {
    const e = image[offset + k]!;
    if (e > best) {
      best = e;
      seed = k;
    }
  }
  if (seed < 0) return null;
  const row = Math.floor(seed / ECL_WINDOW_SIZE), col = seed % ECL_WINDOW_SIZE;
  let energy = 0;
  const last = ECL_WINDOW_SIZE - 1;
  for (let r = Math.max(0, row - 1); r <= Math.min(last, row + 1); r++)
    for (let c = Math.max(0, col - 1); c <= Math.min(last, col + 1); c++) energy += image[offset + r * ECL_WINDOW_SIZE + c]!;
  return { energy, seed };
}

/** E/p likelihood histograms of one charge: [pBin][epBin] probability densities (per unit E/p). */
export interface EclEpChargePdfs {
  muon: number[][];
  pion: number[][];
  /** tracks that filled each species' histograms, per p bin */
  muonTracks: number[];
  pionTracks: number[];
}

/** The E/p PDF file (weights/ecl-ep.json). */
export interface EclEpPdfs {
  format: typeof ECL_EP_FORMAT;
  formatVersion: number;
  /** momentum bin edges at the IP, GeV/c, ascending; tracks outside go to the first/last bin */
  pBins: number[];
  /** E/p bin edges, ascending from 0; values above the last edge go to the last bin */
  epBins: number[];
  /** pixel threshold the PDFs were built at, GeV */
  threshold: number;
  plus: EclEpChargePdfs;
  minus: EclEpChargePdfs;
  provenance: { source: string; samples: number; seed?: number; command?: string; notes?: string };
}

/** Index of the bin of v among ascending edges (clamped to the first and last bin). */
export function binIndex(edges: readonly number[], v: number): number {
  const n = edges.length - 1;
  if (!(v >= edges[1]!)) return 0;
  if (v >= edges[n - 1]!) return n - 1;
  let lo = 1, hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (edges[mid]! <= v) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** P(μ) = L_μ/(L_μ + L_π) from the PDFs of the track's charge at momentum p (GeV/c) and E/p. */
export function eclEpMuonProbability(pdfs: EclEpPdfs, charge: 1 | -1, p: number, ep: number): number {
  if (!Number.isFinite(p) || !(p > 0)) throw new InputError(`E/p likelihood: momentum ${p} GeV/c must be finite and > 0`);
  if (!Number.isFinite(ep) || ep < 0) throw new InputError(`E/p likelihood: E/p ${ep} must be finite and ≥ 0`);
  const table = charge > 0 ? pdfs.plus : pdfs.minus;
  const i = binIndex(pdfs.pBins, p);
  const j = binIndex(pdfs.epBins, ep);
  const lm = table.muon[i]![j]!, lp = table.pion[i]![j]!;
  return lm + lp > 0 ? lm / (lm + lp) : 0.5;
}

/**
 * E/p score of a track without a cluster: no cluster → no ID (issue 5 item 4), so the track is never
 * selected as a muon. Such tracks are mostly pions (≈9–20 % of the pions in the acceptance against
 * ≤ 1.4 % of the muons in our simulation), so this is the choice that favours E/p in a comparison; the
 * likelihood-combination convention (equal likelihoods, 0.5) would raise its fake rates.
 */
export const ECL_EP_NO_CLUSTER_SCORE = 0;

/** Checks a parsed E/p PDF file; FormatError names the first problem. */
export function validateEclEpPdfs(value: unknown): EclEpPdfs {
  const v = value as EclEpPdfs;
  if (v === null || typeof v !== "object") throw new FormatError("E/p PDF file is not a JSON object");
  if (v.format !== ECL_EP_FORMAT) throw new FormatError(`E/p PDF file format is ${JSON.stringify(v.format)}, expected "${ECL_EP_FORMAT}"`);
  if (v.formatVersion !== ECL_EP_FORMAT_VERSION) throw new FormatError(`E/p PDF format version ${v.formatVersion} is not supported (this build reads ${ECL_EP_FORMAT_VERSION})`);
  const edges = (name: string, e: unknown): number[] => {
    if (!Array.isArray(e) || e.length < 2 || !e.every((x) => typeof x === "number" && Number.isFinite(x)) || e.some((x, k) => k > 0 && x <= e[k - 1]))
      throw new FormatError(`E/p PDF file: ${name} must be at least two ascending finite numbers`);
    return e as number[];
  };
  const nP = edges("pBins", v.pBins).length - 1;
  const nEp = edges("epBins", v.epBins).length - 1;
  if (!(typeof v.threshold === "number" && v.threshold >= 0)) throw new FormatError("E/p PDF file: threshold must be a number ≥ 0");
  for (const charge of ["plus", "minus"] as const) {
    const t = v[charge];
    if (t === null || typeof t !== "object") throw new FormatError(`E/p PDF file has no "${charge}" tables`);
    for (const species of ["muon", "pion"] as const) {
      const h = t[species];
      if (!Array.isArray(h) || h.length !== nP || !h.every((row) => Array.isArray(row) && row.length === nEp && row.every((x: unknown) => typeof x === "number" && Number.isFinite(x) && x >= 0)))
        throw new FormatError(`E/p PDF file: ${charge}.${species} must be ${nP} × ${nEp} finite non-negative densities`);
    }
  }
  return v;
}
