/**
 * Builds the E/p likelihood PDFs of the ECL baseline (src/reco/eclEp.ts) from a simulated sample:
 * per charge and momentum bin, histograms of E/p for muons and pions with a cluster, normalised to
 * unit area per momentum bin (densities per unit E/p).
 *
 * Empty bins would make the likelihood ratio 0/0 or exactly 0 or 1 on a fresh sample, so each
 * histogram gets a pseudo-count of 0.5 per bin (Jeffreys prior of a multinomial) before it is
 * normalised.
 */
import { ECL_THRESHOLD_DEFAULT } from "../constants.js";
import { InputError } from "../errors.js";
import { ECL_WINDOW_PIXELS } from "../geometry/eclWindow.js";
import { ECL_EP_FORMAT, ECL_EP_FORMAT_VERSION, binIndex, eclCluster, type EclEpChargePdfs, type EclEpPdfs } from "../reco/eclEp.js";
import { eclSampleImages, type EclSample } from "../reco/eclSample.js";

/**
 * Default binning. Momentum at the IP, GeV/c: the ECL study gun has pT 0.28–1.0 GeV/c in the barrel
 * (p ≲ 1.9 GeV/c); 0.1 GeV/c wide below 0.8 where E/p changes fastest (a MIP deposits ≈0.2 GeV,
 * physics.md §5.1). E/p: 0–1.5 in steps of 0.025 (a muon's ≈0.2 GeV over p ≥ 0.28 GeV/c stays below 0.8).
 */
export const ECL_EP_P_BINS: readonly number[] = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.2, 1.5, 2.0];
export const ECL_EP_EP_BINS: readonly number[] = Array.from({ length: 61 }, (_, k) => Math.round(k * 25) / 1000);
const PSEUDO_COUNT = 0.5;

export interface EclEpBuildOptions {
  threshold?: number;
  pBins?: readonly number[];
  epBins?: readonly number[];
  source?: string;
  seed?: number;
  command?: string;
}

/** Cluster energy (GeV) of every track of a sample at a threshold, NaN where there is no cluster. */
export function eclClusterEnergies(sample: EclSample, threshold: number = ECL_THRESHOLD_DEFAULT): Float64Array {
  const images = eclSampleImages(sample, threshold);
  const out = new Float64Array(sample.n);
  for (let i = 0; i < sample.n; i++) out[i] = eclCluster(images, i * ECL_WINDOW_PIXELS)?.energy ?? NaN;
  return out;
}

/** Histograms E/p per charge, species and momentum bin, and normalises them (see above). */
export function buildEclEpPdfs(sample: EclSample, options: EclEpBuildOptions = {}): EclEpPdfs {
  const threshold = options.threshold ?? ECL_THRESHOLD_DEFAULT;
  const pBins = [...(options.pBins ?? ECL_EP_P_BINS)];
  const epBins = [...(options.epBins ?? ECL_EP_EP_BINS)];
  const nP = pBins.length - 1, nEp = epBins.length - 1;
  if (nP < 1 || nEp < 1) throw new InputError("E/p PDFs need at least one momentum bin and one E/p bin");
  const energies = eclClusterEnergies(sample, threshold);
  const empty = (): EclEpChargePdfs => ({
    muon: Array.from({ length: nP }, () => new Array<number>(nEp).fill(0)),
    pion: Array.from({ length: nP }, () => new Array<number>(nEp).fill(0)),
    muonTracks: new Array<number>(nP).fill(0),
    pionTracks: new Array<number>(nP).fill(0),
  });
  const tables = { plus: empty(), minus: empty() };
  let used = 0;
  for (let t = 0; t < sample.n; t++) {
    const e = energies[t]!;
    if (Number.isNaN(e)) continue;
    const p = sample.pIp[t]!;
    const table = sample.charge[t]! > 0 ? tables.plus : tables.minus;
    const i = binIndex(pBins, p), j = binIndex(epBins, e / p);
    if (sample.isMuon[t]) {
      table.muon[i]![j]!++;
      table.muonTracks[i]!++;
    } else {
      table.pion[i]![j]!++;
      table.pionTracks[i]!++;
    }
    used++;
  }
  for (const table of [tables.plus, tables.minus]) {
    for (const species of ["muon", "pion"] as const) {
      for (let i = 0; i < nP; i++) {
        const row = table[species][i]!;
        const total = row.reduce((a, b) => a + b, 0) + PSEUDO_COUNT * nEp;
        for (let j = 0; j < nEp; j++) row[j] = (row[j]! + PSEUDO_COUNT) / total / (epBins[j + 1]! - epBins[j]!);
      }
    }
  }
  return {
    format: ECL_EP_FORMAT,
    formatVersion: ECL_EP_FORMAT_VERSION,
    pBins,
    epBins,
    threshold,
    plus: tables.plus,
    minus: tables.minus,
    provenance: {
      source: options.source ?? "muid-wasm fast simulation",
      samples: used,
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.command !== undefined ? { command: options.command } : {}),
      notes: `3×3 cluster around the most energetic crystal of the 7×7 window, pixel threshold ${(threshold * 1000).toFixed(1)} MeV; E/p with p at the IP; pseudo-count ${PSEUDO_COUNT} per bin`,
    },
  };
}
