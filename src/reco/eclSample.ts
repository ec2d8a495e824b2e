/**
 * A labelled set of ECL CNN inputs built from simulated rows: for every track inside the CNN
 * acceptance its window (before the pixel threshold, so that the threshold studies of the poster can
 * re-threshold without re-extrapolating), pT at the ECL, thetaId, phiId, the IP kinematics used to
 * bin results and to form E/p, its charge and its true species. Training (src/train) and evaluation
 * (src/eval) both read it.
 */
import { ECL_THRESHOLD_DEFAULT } from "../constants.js";
import { InputError } from "../errors.js";
import { ECL_WINDOW_PIXELS } from "../geometry/eclWindow.js";
import type { SimTrackRow } from "../sim/types.js";
import { eclCnnInput, preprocessEclPixels, type EclNoValueReason } from "./eclImage.js";

export interface EclSample {
  /** accepted tracks */
  n: number;
  /** n × 49 window energies in GeV, clipped at 1 GeV, NOT thresholded (eclSampleImages applies it) */
  rawImage: Float32Array;
  /** pT at the ECL entry, GeV/c (the CNN input) */
  pt: Float32Array;
  thetaId: Int32Array;
  phiId: Int32Array;
  /** reconstructed pT and p at the IP, GeV/c (binning, E/p) */
  ptIp: Float32Array;
  pIp: Float32Array;
  /** ±1 */
  charge: Int8Array;
  /** truth: 1 for a generated muon, 0 for a pion (class 1 = muon, ecl.md §1.3) */
  isMuon: Uint8Array;
  /** index of the track among the rows given */
  rowIndex: Int32Array;
  /** rows seen, and why the others have no CNN value */
  rows: number;
  rejected: Record<EclNoValueReason, number>;
  /** rows skipped because they were neither μ± nor π±, or of the other charge when one was asked for */
  skipped: number;
}

export interface EclSampleOptions {
  /** keep only tracks of this reconstructed charge */
  charge?: 1 | -1;
  /** field scale of the extrapolation (default 1) */
  fieldScale?: number;
}

const MUON_PDG = 13;
const PION_PDG = 211;

/** Builds the sample; rows of other species (or another charge, when asked) are skipped. */
export function buildEclSample(rows: readonly SimTrackRow[], options: EclSampleOptions = {}): EclSample {
  const cap = rows.length;
  const rawImage = new Float32Array(cap * ECL_WINDOW_PIXELS);
  const pt = new Float32Array(cap), ptIp = new Float32Array(cap), pIp = new Float32Array(cap);
  const thetaId = new Int32Array(cap), phiId = new Int32Array(cap), rowIndex = new Int32Array(cap);
  const charge = new Int8Array(cap);
  const isMuon = new Uint8Array(cap);
  const rejected: Record<EclNoValueReason, number> = { "no-ecl-entry": 0, "outside-theta-acceptance": 0, "outside-pt-acceptance": 0 };
  let n = 0, skipped = 0;
  rows.forEach((row, i) => {
    const species = Math.abs(row.truth.pdg);
    if ((species !== MUON_PDG && species !== PION_PDG) || (options.charge !== undefined && row.ip.charge !== options.charge)) {
      skipped++;
      return;
    }
    // threshold 0: the raw window (digits are already above the readout threshold), clipped
    const input = eclCnnInput(row.ip, row.eclDigits, { threshold: 0, fieldScale: options.fieldScale });
    if (!input.accepted) {
      rejected[input.reason]++;
      return;
    }
    rawImage.set(input.image, n * ECL_WINDOW_PIXELS);
    pt[n] = input.pt;
    thetaId[n] = input.thetaId;
    phiId[n] = input.phiId;
    ptIp[n] = Math.sqrt(row.ip.px * row.ip.px + row.ip.py * row.ip.py);
    pIp[n] = Math.sqrt(row.ip.px * row.ip.px + row.ip.py * row.ip.py + row.ip.pz * row.ip.pz);
    charge[n] = row.ip.charge;
    isMuon[n] = species === MUON_PDG ? 1 : 0;
    rowIndex[n] = i;
    n++;
  });
  return {
    n,
    rawImage: rawImage.slice(0, n * ECL_WINDOW_PIXELS),
    pt: pt.slice(0, n), thetaId: thetaId.slice(0, n), phiId: phiId.slice(0, n),
    ptIp: ptIp.slice(0, n), pIp: pIp.slice(0, n), charge: charge.slice(0, n), isMuon: isMuon.slice(0, n), rowIndex: rowIndex.slice(0, n),
    rows: rows.length, rejected, skipped,
  };
}

/** The preprocessed CNN images of the sample at a pixel threshold (GeV; default 1 MeV). */
export function eclSampleImages(sample: EclSample, threshold: number = ECL_THRESHOLD_DEFAULT): Float32Array {
  return preprocessEclPixels(sample.rawImage.slice(), threshold);
}

/** The tracks `indices` of a sample as a new sample (e.g. one charge, one split). */
export function subsetEclSample(sample: EclSample, indices: ArrayLike<number>): EclSample {
  const m = indices.length;
  const rawImage = new Float32Array(m * ECL_WINDOW_PIXELS);
  const pick = <T extends Float32Array | Int32Array | Int8Array | Uint8Array>(a: T, make: (n: number) => T): T => {
    const out = make(m);
    for (let j = 0; j < m; j++) out[j] = a[indices[j]!]!;
    return out;
  };
  for (let j = 0; j < m; j++) {
    const i = indices[j]!;
    if (!Number.isInteger(i) || i < 0 || i >= sample.n) throw new InputError(`ECL sample index ${i} is outside 0..${sample.n - 1}`);
    rawImage.set(sample.rawImage.subarray(i * ECL_WINDOW_PIXELS, (i + 1) * ECL_WINDOW_PIXELS), j * ECL_WINDOW_PIXELS);
  }
  return {
    n: m,
    rawImage,
    pt: pick(sample.pt, (k) => new Float32Array(k)),
    thetaId: pick(sample.thetaId, (k) => new Int32Array(k)),
    phiId: pick(sample.phiId, (k) => new Int32Array(k)),
    ptIp: pick(sample.ptIp, (k) => new Float32Array(k)),
    pIp: pick(sample.pIp, (k) => new Float32Array(k)),
    charge: pick(sample.charge, (k) => new Int8Array(k)),
    isMuon: pick(sample.isMuon, (k) => new Uint8Array(k)),
    rowIndex: pick(sample.rowIndex, (k) => new Int32Array(k)),
    rows: sample.rows,
    rejected: { ...sample.rejected },
    skipped: sample.skipped,
  };
}
