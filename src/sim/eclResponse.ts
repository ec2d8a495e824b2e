/**
 * ECL response: true energy deposits in the CsI → crystal energies → ECLCalDigit-like digits.
 *
 * Chain (per event): eclDigitsFromDeposits for every track (merge the maps), addEclBackground once,
 * applyEclReadout once (threshold, clip).
 *
 * Deposit kinds (EclEnergyDeposit from the transport; Landau/Vavilov fluctuations and the split of a
 * track between crystals along its path already happened there):
 * - "ionisation": a charged track's step. It stays in the crystal in the direction of the point, except
 *   a δ-ray/bremsstrahlung fraction f_δ spread sideways with a Molière-radius profile (physics.md §5.1:
 *   "1–3 % to neighbours" [A]; for a track through a crystal centre about half of f_δ leaves the crystal);
 * - "electromagnetic": a photon/electron shower starting at the point, spread laterally with the CsI
 *   Molière radius (physics.md §5.2): radial profile f(r) = 2rR²/(r²+R²)², whose containment
 *   r²/(r²+R²) is 90 % at r = R_M for R = R_M/3 (97 % at 2 R_M); integrated analytically over the
 *   crystals, so small tail energies (the pixels just above 1 MeV) come out right on average;
 * - "hadronic": one blob of visible energy of hadronic secondaries (nuclear fragments, soft charged
 *   hadrons) from an interaction, spread with a wider profile (R = R_M [A]). The irregular 3×3–5×5
 *   patterns of physics.md §5.2 come from the transport's hadronic model, which places 0–3 such blobs
 *   around the vertex (HADRONIC_MAX_BLOBS, HADRONIC_BLOB_DISTANCE) and emits the π⁰ share as
 *   "electromagnetic" deposits (HADRONIC_EM_FRACTION); the response does not spread them a second time.
 * Lateral offsets are measured in the plane transverse to the ray from the IP (the crystal axis in the
 * projective model of src/geometry/ecl.ts); the depth of a deposit does not change its crystal.
 * Energy whose direction is in a gap or outside the ECL coverage is lost, as in the real detector.
 *
 * Not modelled: electronics noise (σ ≈ 0.2–0.3 MeV, far below the 1 MeV threshold), the CsI(Tl)
 * photo-statistics term (≈1–2 % at 100 MeV, small against Landau fluctuations), pulse-shape/timing.
 */
import { InputError } from "../errors.js";
import {
  ECL_BARREL_FIRST_THETA_ID,
  ECL_BARREL_LAST_THETA_ID,
  ECL_CRYSTALS_PER_RING,
  ECL_N_CRYSTALS,
  ECL_N_THETA_RINGS,
  ECL_RING_OFFSET,
  crystalTowards,
  isValidCellId,
  ringThetaDeg,
  thetaIdOf,
  type EclRegion,
} from "../geometry/ecl.js";
import { eclNeighbourhood, eclNeighboursN } from "../geometry/eclNeighbours.js";
import type { Random } from "./random.js";
import type { DetectorConditions, EclDigit } from "./types.js";
import type { EclEnergyDeposit } from "./transport.js";
import { CrystalEnergies, type CrystalEnergySums } from "./crystalEnergies.js";
import {
  CSI_MOLIERE_RADIUS,
  ECL_BACKGROUND_DEPOSITS_PER_CRYSTAL,
  ECL_BACKGROUND_MIN_ENERGY,
  ECL_BACKGROUND_REGION_FACTOR,
  ECL_BACKGROUND_SLOPE,
  ECL_CLIP_ENERGY,
  ECL_DELTA_RAY_LEAKAGE_FRACTION,
  ECL_HADRONIC_PROFILE_RADIUS,
} from "../constants.js";
import { atan, atan2, sin } from "../math/ieee754.js";

export type { EclEnergyDeposit };
export { eclNeighbourhood };

/** Core radius R of the EM lateral profile: 90 % containment inside R_M ⇔ R = R_M/3 (see above). */
export const ECL_EM_PROFILE_RADIUS = CSI_MOLIERE_RADIUS / 3;

/** Containment of a lateral profile of radius R inside radius r (cm): r²/(r²+R²). */
export function lateralContainment(r: number, radius: number = ECL_EM_PROFILE_RADIUS): number {
  return (r * r) / (r * r + radius * radius);
}

/**
 * ∫₀ˣ∫₀ʸ of the 2-D lateral density R²/(π(u²+v²+R²)²) (whose radial form is 2rR²/(r²+R²)²):
 * [x/a·atan(y/a) + y/b·atan(x/b)]/(2π) with a = √(x²+R²), b = √(y²+R²). Odd in x and in y.
 */
function profileQuadrant(x: number, y: number, radius: number): number {
  const a = Math.sqrt(x * x + radius * radius);
  const b = Math.sqrt(y * y + radius * radius);
  return ((x / a) * atan(y / a) + (y / b) * atan(x / b)) / (2 * Math.PI);
}

/** Fraction of the lateral profile (radius R, centred at 0) inside the rectangle [u1,u2]×[v1,v2], cm. */
export function lateralFractionInRectangle(u1: number, u2: number, v1: number, v2: number, radius: number): number {
  return profileQuadrant(u2, v2, radius) - profileQuadrant(u1, v2, radius) - profileQuadrant(u2, v1, radius) + profileQuadrant(u1, v1, radius);
}

/** Half-width of the crystal block that receives a lateral spread: 2 → the basf2 "N" 5×5 around the hit crystal. */
const SPREAD_HALF_WIDTH = 2;
const spreadCells: Array<Int32Array | undefined> = new Array(ECL_N_CRYSTALS + 1);
const ringThetaMin = new Float64Array(ECL_N_THETA_RINGS);
const ringThetaMax = new Float64Array(ECL_N_THETA_RINGS);
const ringThetaSin = new Float64Array(ECL_N_THETA_RINGS);
for (let t = 0; t < ECL_N_THETA_RINGS; t++) {
  const r = ringThetaDeg(t);
  ringThetaMin[t] = (r.min * Math.PI) / 180;
  ringThetaMax[t] = (r.max * Math.PI) / 180;
  ringThetaSin[t] = sin((r.centre * Math.PI) / 180);
}

/**
 * Spreads `energy` over the 5×5 crystals around the crystal in the direction of (x, y, z), with the
 * lateral profile of radius R centred on the point. Each crystal gets the profile integrated over its
 * angular cell, mapped to the transverse plane at the point's distance D from the IP
 * (u = D·Δθ, v = D·sinθ_cell·Δφ, small-angle). The tail outside the 5×5 (< 1 % for R = R_M/3,
 * ≈6 % for R = R_M) is not recorded: it is spread thinner than any threshold.
 * Returns false when the point's direction is in a gap or outside the ECL (energy lost).
 */
function spreadLaterally(digits: CrystalEnergySums, x: number, y: number, z: number, energy: number, radius: number): boolean {
  const centre = crystalTowards(x, y, z);
  if (centre === null) return false;
  const rho = Math.sqrt(x * x + y * y);
  const dist = Math.sqrt(rho * rho + z * z);
  const theta = atan2(rho, z);
  const phi = atan2(y, x);
  let cells = spreadCells[centre];
  if (cells === undefined) cells = spreadCells[centre] = Int32Array.from(eclNeighboursN(centre, SPREAD_HALF_WIDTH));
  const radius2 = radius * radius;
  // The "N" lists walk each ring downwards in φ, so a cell's upper φ edge is the previous cell's lower
  // edge: reuse those two quadrant values (≈40 % fewer atan/sqrt evaluations). The square roots of
  // profileQuadrant depend on one coordinate only: per ring (u edges) and per φ edge (v).
  let prevRing = -1, prevPhiId = -1, gLow1 = 0, gLow2 = 0;
  let u1 = 0, u2 = 0, a1 = 1, a2 = 1;
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i]!;
    const t = thetaIdOf(c);
    const n = ECL_CRYSTALS_PER_RING[t]!;
    const p = c - 1 - ECL_RING_OFFSET[t]!;
    if (t !== prevRing) {
      u1 = dist * (ringThetaMin[t]! - theta);
      u2 = dist * (ringThetaMax[t]! - theta);
      a1 = Math.sqrt(u1 * u1 + radius2);
      a2 = Math.sqrt(u2 * u2 + radius2);
    }
    // lower φ edge of the cell relative to the point, brought into [−π, π] (cells of the 5×5 are near 0)
    let dPhi = (2 * Math.PI * p) / n - phi;
    dPhi -= 2 * Math.PI * Math.round(dPhi / (2 * Math.PI));
    const scale = dist * ringThetaSin[t]!;
    const v1 = scale * dPhi;
    let gHigh1: number, gHigh2: number;
    if (t === prevRing && (p + 1) % n === prevPhiId) {
      gHigh1 = gLow1;
      gHigh2 = gLow2;
    } else {
      const v2 = scale * (dPhi + (2 * Math.PI) / n);
      const b2 = Math.sqrt(v2 * v2 + radius2);
      gHigh1 = quadrant(u1, a1, v2, b2);
      gHigh2 = quadrant(u2, a2, v2, b2);
    }
    const b1 = Math.sqrt(v1 * v1 + radius2);
    gLow1 = quadrant(u1, a1, v1, b1);
    gLow2 = quadrant(u2, a2, v1, b1);
    prevRing = t;
    prevPhiId = p;
    const share = gHigh2 - gHigh1 - gLow2 + gLow1;
    if (share > 0) digits.set(c, (digits.get(c) ?? 0) + energy * share);
  }
  return true;
}

/** profileQuadrant(x, y, R) given a = √(x² + R²) and b = √(y² + R²). */
function quadrant(x: number, a: number, y: number, b: number): number {
  return ((x / a) * atan(y / a) + (y / b) * atan(x / b)) / (2 * Math.PI);
}

function requireDeposit(d: EclEnergyDeposit, i: number): void {
  if (!Number.isFinite(d.x) || !Number.isFinite(d.y) || !Number.isFinite(d.z))
    throw new InputError(`ECL deposit ${i}: position (${d.x}, ${d.y}, ${d.z}) is not finite`);
  if (!Number.isFinite(d.energy) || d.energy < 0) throw new InputError(`ECL deposit ${i}: energy ${d.energy} GeV is not a finite non-negative number`);
  if (d.kind !== "ionisation" && d.kind !== "electromagnetic" && d.kind !== "hadronic")
    throw new InputError(`ECL deposit ${i}: unknown kind ${JSON.stringify(d.kind)}`);
}

/** Per-crystal sums of one track's ionisation: energy and energy-weighted position. */
interface CrystalIonisation { energy: number; x: number; y: number; z: number }

/**
 * Crystal energies (cellId → GeV, before background, threshold and clip) of one track's deposits,
 * added to `into` (the event's map when given). `conditions` is part of the interface for response
 * knobs; none applies at this stage.
 * - ionisation: summed per crystal; (1 − f_δ) stays in the crystal, f_δ is spread with a Molière-radius
 *   profile around the energy-weighted centroid of the track in that crystal (deterministic);
 * - electromagnetic: spread with the EM profile (R = R_M/3) around the point (deterministic);
 * - hadronic: spread with the wider hadronic profile (R = ECL_HADRONIC_PROFILE_RADIUS) around the point.
 * The response is deterministic; `rng` is part of the interface (the stochastic parts, Landau
 * fluctuations and the hadronic blobs, come from the transport).
 */
export function eclDigitsFromDeposits(deposits: readonly EclEnergyDeposit[], rng: Random, conditions: DetectorConditions): Map<number, number>;
export function eclDigitsFromDeposits<T extends CrystalEnergySums>(deposits: readonly EclEnergyDeposit[], rng: Random, conditions: DetectorConditions, into: T): T;
export function eclDigitsFromDeposits(
  deposits: readonly EclEnergyDeposit[],
  _rng: Random,
  _conditions: DetectorConditions,
  into: CrystalEnergySums = new Map<number, number>(),
): CrystalEnergySums {
  const ionisation = new Map<number, CrystalIonisation>();
  for (let i = 0; i < deposits.length; i++) {
    const d = deposits[i]!;
    requireDeposit(d, i);
    if (d.energy === 0) continue;
    if (d.kind === "ionisation") {
      const c = crystalTowards(d.x, d.y, d.z);
      if (c === null) continue;
      const sumOf = ionisation.get(c);
      if (sumOf === undefined) ionisation.set(c, { energy: d.energy, x: d.x * d.energy, y: d.y * d.energy, z: d.z * d.energy });
      else {
        sumOf.energy += d.energy;
        sumOf.x += d.x * d.energy;
        sumOf.y += d.y * d.energy;
        sumOf.z += d.z * d.energy;
      }
    } else if (d.kind === "electromagnetic") {
      spreadLaterally(into, d.x, d.y, d.z, d.energy, ECL_EM_PROFILE_RADIUS);
    } else {
      spreadLaterally(into, d.x, d.y, d.z, d.energy, ECL_HADRONIC_PROFILE_RADIUS);
    }
  }
  for (const [c, sumOf] of ionisation) {
    const leak = sumOf.energy * ECL_DELTA_RAY_LEAKAGE_FRACTION;
    into.set(c, (into.get(c) ?? 0) + sumOf.energy - leak);
    // δ rays and bremsstrahlung photons start small EM showers off the track (physics.md §5.1)
    spreadLaterally(into, sumOf.x / sumOf.energy, sumOf.y / sumOf.energy, sumOf.z / sumOf.energy, leak, CSI_MOLIERE_RADIUS);
  }
  return into;
}

function requireBackgroundLevel(conditions: DetectorConditions): number {
  const level = conditions.eclBackground;
  if (!Number.isFinite(level) || level < 0) throw new InputError(`ECL background level ${level} is not a finite non-negative number`);
  return level;
}

const REGIONS: readonly EclRegion[] = ["forward", "barrel", "backward"];

/** Every cellId in ascending order: the regions are contiguous ranges in REGIONS order (ECLElementNumbers, ecl.md §2.1). */
const ALL_CELLS: Int32Array = Int32Array.from({ length: ECL_N_CRYSTALS }, (_, i) => i + 1);

/** Last cellId of the forward endcap and of the barrel (regions are contiguous cellId ranges, ecl.md §2.1). */
const LAST_FORWARD_CELL = ECL_RING_OFFSET[ECL_BARREL_FIRST_THETA_ID]!;
const LAST_BARREL_CELL = ECL_RING_OFFSET[ECL_BARREL_LAST_THETA_ID + 1]!;

/** Number of crystals of each region (REGIONS order) in a list of cellIds; every cellId is checked. */
function crystalsPerRegion(cells: ArrayLike<number>): [number, number, number] {
  const counts: [number, number, number] = [0, 0, 0];
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i]!;
    if (!isValidCellId(c)) throw new InputError(`ECL background: cellId ${c} is out of range (1..${ECL_N_CRYSTALS})`);
    counts[c <= LAST_FORWARD_CELL ? 0 : c <= LAST_BARREL_CELL ? 1 : 2]++;
  }
  return counts;
}
const ALL_CELLS_PER_REGION = crystalsPerRegion(ALL_CELLS);

/** `cells` as an ascending list without repeats: itself when it already is one (the event's stored crystals), else sorted. */
function ascendingUnique(cells: Iterable<number>): ArrayLike<number> {
  if (Array.isArray(cells) || ArrayBuffer.isView(cells)) {
    const a = cells as unknown as ArrayLike<number>;
    let increasing = true;
    for (let i = 1; i < a.length; i++) {
      if (!(a[i - 1]! < a[i]!)) {
        increasing = false;
        break;
      }
    }
    if (increasing) return a;
  }
  return [...new Set(cells)].sort((p, q) => p - q);
}

/**
 * Beam-background deposits (physics.md §5.3, parametric [A]): each crystal receives
 * Poisson(ECL_BACKGROUND_DEPOSITS_PER_CRYSTAL × region factor × conditions.eclBackground) deposits,
 * each of energy ECL_BACKGROUND_MIN_ENERGY + Exp(ECL_BACKGROUND_SLOPE). Drawn as a Poisson total per
 * region spread uniformly over its crystals, which is the same distribution and much cheaper.
 * `cells` restricts the background to those crystals (e.g. the union of the stored neighbourhoods):
 * the others never reach the output, and the per-crystal distribution is unchanged.
 */
export function addEclBackground<T extends CrystalEnergySums>(
  digits: T,
  rng: Random,
  conditions: DetectorConditions,
  cells?: Iterable<number>,
): T {
  const level = requireBackgroundLevel(conditions);
  if (level === 0) return digits;
  const sorted = cells === undefined ? ALL_CELLS : ascendingUnique(cells);
  const counts = cells === undefined ? ALL_CELLS_PER_REGION : crystalsPerRegion(sorted);
  let start = 0;
  for (let r = 0; r < REGIONS.length; r++) {
    const length = counts[r]!;
    if (length === 0) continue;
    const mean = ECL_BACKGROUND_DEPOSITS_PER_CRYSTAL * ECL_BACKGROUND_REGION_FACTOR[REGIONS[r]!] * level * length;
    const count = rng.poisson(mean);
    for (let i = 0; i < count; i++) {
      const c = sorted[start + rng.int(length)]!;
      const e = ECL_BACKGROUND_MIN_ENERGY + rng.exponential(ECL_BACKGROUND_SLOPE);
      digits.set(c, (digits.get(c) ?? 0) + e);
    }
    start += length;
  }
  return digits;
}

/**
 * Readout: crystals with E ≥ threshold (conditions.eclThreshold, GeV: 1, 2 or 5 MeV) become digits,
 * energies clipped at ECL_CLIP_ENERGY (1 GeV), sorted by cellId. Threshold and clip are those of the
 * CNN preprocessing (ecl.md §1.5: pixels < threshold → 0, clip to [0, 1 GeV]).
 */
export function applyEclReadout(digits: Iterable<[number, number]>, conditions: DetectorConditions): EclDigit[] {
  const threshold = conditions.eclThreshold;
  if (!Number.isFinite(threshold) || threshold < 0) throw new InputError(`ECL threshold ${threshold} GeV is not a finite non-negative number`);
  const out: EclDigit[] = [];
  if (digits instanceof CrystalEnergies) {
    // the event's typed sums: walk them without an entry array per crystal
    for (let i = 0; i < digits.size; i++) readoutCrystal(digits.cellAt(i), digits.energyOf(digits.cellAt(i)), threshold, out);
  } else {
    for (const [cellId, energy] of digits) readoutCrystal(cellId, energy, threshold, out);
  }
  return out.sort((p, q) => p.cellId - q.cellId);
}

/** One crystal of the readout: a digit when E ≥ threshold (and > 0), clipped. */
function readoutCrystal(cellId: number, energy: number, threshold: number, out: EclDigit[]): void {
  if (!isValidCellId(cellId)) throw new InputError(`ECL readout: cellId ${cellId} is out of range (1..${ECL_N_CRYSTALS})`);
  if (!Number.isFinite(energy)) throw new InputError(`ECL readout: crystal ${cellId} has energy ${energy}`);
  if (energy >= threshold && energy > 0) out.push({ cellId, energy: Math.min(energy, ECL_CLIP_ENERGY) });
}

/** The digits inside the basf2 "N" neighbourhood of half-width n (default 5: 11×11) of a crystal, by cellId. */
export function eclDigitsAround(digits: readonly EclDigit[], centreCellId: number, n = 5): EclDigit[] {
  const inside = new Set(eclNeighbourhood(centreCellId, n));
  return digits.filter((d) => inside.has(d.cellId));
}
