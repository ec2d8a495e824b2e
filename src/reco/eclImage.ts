/**
 * The ECL CNN's input for one track (ecl.md §1.5–1.6): the 7×7 window of crystal energies around the
 * crystal where the extrapolated track enters the ECL, pT at the ECL, thetaId and phiId of that
 * crystal; or a typed "no CNN value" result when basf2's module would give none.
 *
 * Preprocessing (ecl.md §1.5 item 1): energies in GeV, pixels below the threshold (default 1 MeV) set
 * to 0, then clipped to at most 1 GeV. Acceptance (ecl.md §1.6 item 3): 13 < thetaId < 58 and
 * 0.2 ≤ pt ≤ 1.0 GeV/c (basf2 thetaId_range = (13, 58), pt_range = (0.2, 1.0)).
 */
import { ECL_CLIP_ENERGY, ECL_CNN_PT_MAX, ECL_CNN_PT_MIN, ECL_THRESHOLD_DEFAULT } from "../constants.js";
import { InputError } from "../errors.js";
import { ECL_N_CRYSTALS, phiIdOf, thetaIdOf } from "../geometry/ecl.js";
import { ECL_CNN_THETA_ID_MAX, ECL_CNN_THETA_ID_MIN, ECL_WINDOW_PIXELS, eclWindowEnergies } from "../geometry/eclWindow.js";
import type { EclDigit, TrackAtIp } from "../sim/types.js";
import { extrapolateToEcl, type EclEntry } from "./eclExtrapolation.js";

/** The CNN pT acceptance (constants.ts), re-exported where the acceptance is applied. */
export { ECL_CNN_PT_MAX, ECL_CNN_PT_MIN };

/** Why a track has no CNN value. */
export type EclNoValueReason =
  /** the extrapolation never enters the ECL CsI */
  | "no-ecl-entry"
  /** the entry crystal is outside thetaId 14..57 (endcaps and the outermost barrel rings) */
  | "outside-theta-acceptance"
  /** pT at the ECL outside [0.2, 1.0] GeV/c */
  | "outside-pt-acceptance";

/** The CNN inputs of one accepted track. */
export interface EclCnnInput {
  accepted: true;
  /** 49 preprocessed pixel energies, GeV, in the eclWindow.ts order (row = θ, col = φ ascending) */
  image: Float32Array;
  /** pT at the ECL entry, GeV/c */
  pt: number;
  thetaId: number;
  phiId: number;
  /** the entry crystal (window centre) */
  cellId: number;
  entry: EclEntry;
}

export interface EclNoCnnValue {
  accepted: false;
  reason: EclNoValueReason;
  /** the extrapolated entry when there is one */
  entry: EclEntry | null;
}

export type EclImageResult = EclCnnInput | EclNoCnnValue;

export interface EclImageOptions {
  /** pixel threshold, GeV (default 1 MeV, ecl.md §1.5); the poster's studies use 2 and 5 MeV */
  threshold?: number;
  /** field scale of the reconstruction's extrapolation (default 1) */
  fieldScale?: number;
}

/**
 * Applies the CNN pixel preprocessing in place: below `threshold` → 0, then min(·, 1 GeV)
 * (ecl.md §1.5: `energy[energy < threshold] = 0; np.clip(energy, 0, 1.0)`).
 */
export function preprocessEclPixels(pixels: Float32Array, threshold: number = ECL_THRESHOLD_DEFAULT): Float32Array {
  if (!Number.isFinite(threshold) || threshold < 0) throw new InputError(`ECL pixel threshold ${threshold} GeV must be a finite number ≥ 0`);
  for (let k = 0; k < pixels.length; k++) {
    const e = pixels[k]!;
    if (!Number.isFinite(e)) throw new InputError(`ECL pixel ${k} has energy ${e}`);
    pixels[k] = e < threshold ? 0 : Math.min(Math.max(e, 0), ECL_CLIP_ENERGY);
  }
  return pixels;
}

/** True when a pT at the ECL is inside the CNN acceptance [0.2, 1.0] GeV/c. */
export function isInEclCnnPtAcceptance(pt: number): boolean {
  return pt >= ECL_CNN_PT_MIN && pt <= ECL_CNN_PT_MAX;
}

/**
 * The CNN input of one track from its IP state and the ECL digits around it (a SimTrackRow's
 * `ip` and `eclDigits`, or a user's own track and digits). Never throws for a track outside the
 * acceptance: that is an `accepted: false` result with its reason.
 */
export function eclCnnInput(track: TrackAtIp, digits: readonly EclDigit[], options: EclImageOptions = {}): EclImageResult {
  checkTrackAtIp(track);
  checkEclDigits(digits);
  if (options === null || typeof options !== "object") throw new InputError("ECL image options must be an object");
  const threshold = options.threshold ?? ECL_THRESHOLD_DEFAULT;
  if (!Number.isFinite(threshold) || threshold < 0) throw new InputError(`ECL pixel threshold ${threshold} GeV must be a finite number ≥ 0`);
  const entry = extrapolateToEcl(track, { fieldScale: options.fieldScale });
  if (entry === null) return { accepted: false, reason: "no-ecl-entry", entry: null };
  const thetaId = thetaIdOf(entry.cellId);
  if (thetaId < ECL_CNN_THETA_ID_MIN || thetaId > ECL_CNN_THETA_ID_MAX) return { accepted: false, reason: "outside-theta-acceptance", entry };
  if (!isInEclCnnPtAcceptance(entry.pt)) return { accepted: false, reason: "outside-pt-acceptance", entry };
  const image = preprocessEclPixels(eclWindowEnergies(entry.cellId, digits, new Float32Array(ECL_WINDOW_PIXELS)), threshold);
  return { accepted: true, image, pt: entry.pt, thetaId, phiId: phiIdOf(entry.cellId), cellId: entry.cellId, entry };
}

/** API boundary of eclCnnInput: a finite IP state and charge ±1 (the extrapolation assumes both). */
function checkTrackAtIp(track: TrackAtIp): void {
  if (track === null || typeof track !== "object") throw new InputError("ECL image: the track must be an object with x, y, z, px, py, pz, charge");
  const values = [track.x, track.y, track.z, track.px, track.py, track.pz];
  if (!values.every((v) => typeof v === "number" && Number.isFinite(v))) throw new InputError("ECL image: track position and momentum at the IP must be finite numbers");
  if (track.px === 0 && track.py === 0 && track.pz === 0) throw new InputError("ECL image: track momentum is zero");
  if (track.charge !== 1 && track.charge !== -1) throw new InputError(`ECL image: track charge must be ±1 (got ${String(track.charge)})`);
}

/**
 * Every digit must name a crystal (integer cellId 1..8736, ecl.md §2.1) and carry a finite energy.
 * Negative energies are allowed (calibrated noise can be negative): the preprocessing sets every pixel
 * below the threshold to 0 (ecl.md §1.5), so they read as empty crystals. Several digits of one crystal add up.
 */
function checkEclDigits(digits: readonly EclDigit[]): void {
  if (!Array.isArray(digits)) throw new InputError("ECL digits must be an array of {cellId, energy}");
  for (let i = 0; i < digits.length; i++) {
    const d = digits[i] as EclDigit | null | undefined;
    if (d === null || typeof d !== "object") throw new InputError(`ECL digit ${i} is not an object {cellId, energy}`);
    if (!Number.isInteger(d.cellId) || d.cellId < 1 || d.cellId > ECL_N_CRYSTALS) throw new InputError(`ECL digit ${i}: cellId ${String(d.cellId)} is not a crystal (integer 1..${ECL_N_CRYSTALS})`);
    if (typeof d.energy !== "number" || !Number.isFinite(d.energy)) throw new InputError(`ECL digit ${i} (cellId ${d.cellId}): energy ${String(d.energy)} is not a finite number (GeV)`);
  }
}

/** The CNN inputs of many accepted tracks, batched as Model.predict takes them. */
export interface EclCnnBatch {
  image: Float32Array;
  pt: Float32Array;
  thetaId: Float32Array;
  phiId: Float32Array;
  batch: number;
}

/** Packs accepted tracks into batched arrays (image row-major, 49 per track). */
export function batchEclCnnInputs(inputs: readonly EclCnnInput[]): EclCnnBatch {
  const n = inputs.length;
  const out: EclCnnBatch = {
    image: new Float32Array(n * ECL_WINDOW_PIXELS),
    pt: new Float32Array(n),
    thetaId: new Float32Array(n),
    phiId: new Float32Array(n),
    batch: n,
  };
  inputs.forEach((t, r) => {
    out.image.set(t.image, r * ECL_WINDOW_PIXELS);
    out.pt[r] = t.pt;
    out.thetaId[r] = t.thetaId;
    out.phiId[r] = t.phiId;
  });
  return out;
}
