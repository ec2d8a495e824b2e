/**
 * Belle II ECL geometry: 8736 CsI(Tl) crystals in 69 θ rings, the basf2 cellId ↔ (thetaId, phiId)
 * mapping, crystal centres and the crystal that contains a point.
 *
 * cellId is 1-based (1..8736) as in ECLCalDigit and the neighbour maps; basf2's ExtHit copyID and
 * ECLGeometryPar::GetCellID() are 0-based (cellId = copyID + 1), ecl.md §2.1.
 *
 * Crystal model used for positions (a fast-simulation model, not basf2's exact solids):
 * - every crystal is projective, its axis points at the IP, and it is ECL_CRYSTAL_LENGTH long
 *   (30 cm, ecl.md §2.5);
 * - barrel crystals start on the cylinder r = ECL_BARREL_FRONT_RADIUS (≈125 cm, physics.md §1.2),
 *   forward ones on the plane z = +196.0 cm, backward ones on z = −102.02 cm (ecl.md §2.5);
 * - barrel ring θ centres are those of crystal_placement_barrel.dat (ecl.md §2.4); ring edges are the
 *   midpoints between neighbouring centres, the outer edges the TDR barrel coverage 32.2° and 128.7°
 *   (the same envelope the transport uses for its CsI);
 * - endcap rings [assumption, no per-ring table is available]: equal θ width between the Belle II
 *   TDR coverage limits, forward 12.4°–31.4° (13 rings), backward 130.7°–155.1° (10 rings);
 * - in every ring φ increases with phiId (ecl.md §2.4) and phiId 0 starts at φ = 0 [assumption:
 *   basf2's exact φ of phiId 0 was not checked].
 * basf2's barrel crystals are tilted by ~1–2° away from exact projectivity; here they are not, so the
 * centre's distance from the beam axis is 125 + 15·sinθ = 133–140 cm against basf2's 136–141 cm.
 * The gaps between the endcaps and the barrel (31.4°–32.2°, 128.7°–130.7°) hold no crystal.
 */
import {
  ECL_BACKWARD_COVERAGE_DEG,
  ECL_BACKWARD_FRONT_PLANE,
  ECL_BARREL_COVERAGE_DEG,
  ECL_CRYSTAL_DEPTH,
  ECL_FORWARD_COVERAGE_DEG,
  ECL_FORWARD_FRONT_PLANE,
  ECL_FRONT_RADIUS,
} from "../constants.js";
import { InputError } from "../errors.js";
import { atan2, cos, sin } from "../math/ieee754.js";

/** Number of ECL crystals (basf2 ECLElementNumbers::c_NCrystals). */
export const ECL_N_CRYSTALS = 8736;
/** Number of θ rings (thetaId 0..68). */
export const ECL_N_THETA_RINGS = 69;
/** First and last barrel thetaId (ecl.md §2.3). */
export const ECL_BARREL_FIRST_THETA_ID = 13;
export const ECL_BARREL_LAST_THETA_ID = 58;
/** Crystals per ring in the barrel (ecl.md §2.2, ECL.xml k_barrel_Nblock 72 × 2). */
export const ECL_BARREL_CRYSTALS_PER_RING = 144;

// The envelope numbers live in src/constants.ts ("ECL envelope"); these names are the geometry's view of them.
/** Crystal length, cm (ECL.xml K_BLL 30 cm, ecl.md §2.5). */
export const ECL_CRYSTAL_LENGTH = ECL_CRYSTAL_DEPTH;
/** Barrel front-face radius, cm (Belle NIM "Barrel: r = 125–162 cm", physics.md §1.2). */
export const ECL_BARREL_FRONT_RADIUS = ECL_FRONT_RADIUS;
/** Forward endcap front plane, cm (ECL.xml k_ForwZnear, ecl.md §2.5). */
export const ECL_FORWARD_FRONT_Z = ECL_FORWARD_FRONT_PLANE;
/** Backward endcap front plane, cm (ECL.xml k_backZnear; the endcap lies at negative z). */
export const ECL_BACKWARD_FRONT_Z = ECL_BACKWARD_FRONT_PLANE;
/** θ coverage, degrees (Belle II TDR, physics.md §1.2): the endcap rings divide their range equally. */
export const ECL_FORWARD_THETA_MIN_DEG = ECL_FORWARD_COVERAGE_DEG[0];
export const ECL_FORWARD_THETA_MAX_DEG = ECL_FORWARD_COVERAGE_DEG[1];
export const ECL_BARREL_THETA_MIN_DEG = ECL_BARREL_COVERAGE_DEG[0];
export const ECL_BARREL_THETA_MAX_DEG = ECL_BARREL_COVERAGE_DEG[1];
export const ECL_BACKWARD_THETA_MIN_DEG = ECL_BACKWARD_COVERAGE_DEG[0];
export const ECL_BACKWARD_THETA_MAX_DEG = ECL_BACKWARD_COVERAGE_DEG[1];

/**
 * Crystals per θ ring, basf2 ECLNeighbours.h m_crystalsPerRing[69] (ecl.md §2.2):
 * forward 48, 48, 64, 64, 64, 96×6, 144×2 | barrel 144×46 | backward 144×2, 96×5, 64×3.
 */
export const ECL_CRYSTALS_PER_RING: readonly number[] = Object.freeze([
  48, 48, 64, 64, 64, 96, 96, 96, 96, 96, 96, 144, 144,
  ...new Array<number>(46).fill(144),
  144, 144, 96, 96, 96, 96, 96, 64, 64, 64,
]);

/** offset[thetaId] = Σ_{t<thetaId} N[t]: cellId (1-based) = 1 + offset[thetaId] + phiId (ecl.md §2.2). */
export const ECL_RING_OFFSET: readonly number[] = Object.freeze(
  ECL_CRYSTALS_PER_RING.reduce<number[]>((acc, n, t) => {
    acc.push(t === 0 ? 0 : acc[t - 1]! + ECL_CRYSTALS_PER_RING[t - 1]!);
    return acc;
  }, []),
);

/**
 * Barrel crystal-centre polar angles for thetaId 13..58, degrees, from
 * ecl/data/crystal_placement_barrel.dat (ecl.md §2.4; types 29→1 then 1→17 mapped in file order).
 */
export const ECL_BARREL_THETA_CENTRE_DEG: readonly number[] = Object.freeze([
  32.94, 34.28, 35.66, 37.09, 38.57, 40.16, 41.74, 43.37, 45.05, 46.85, 48.64, 50.48, 52.38, 54.39, 56.39, 58.45,
  60.55, 62.76, 64.96, 67.2, 69.48, 71.87, 74.23, 76.62, 79.04, 81.55, 84.02, 86.5, 88.87, 91.17, 93.54, 96.02,
  98.49, 100.97, 103.4, 105.79, 108.15, 110.54, 112.82, 115.06, 117.26, 119.45, 121.55, 123.6, 125.6, 127.55,
]);

export type EclRegion = "forward" | "barrel" | "backward";

const DEG = Math.PI / 180;

/** Per ring: θ lower edge, centre and upper edge, radians. */
const ringThetaMin = new Float64Array(ECL_N_THETA_RINGS);
const ringThetaCentre = new Float64Array(ECL_N_THETA_RINGS);
const ringThetaMax = new Float64Array(ECL_N_THETA_RINGS);
{
  const nForward = ECL_BARREL_FIRST_THETA_ID;
  const wForward = (ECL_FORWARD_THETA_MAX_DEG - ECL_FORWARD_THETA_MIN_DEG) / nForward;
  for (let t = 0; t < nForward; t++) {
    ringThetaMin[t] = (ECL_FORWARD_THETA_MIN_DEG + t * wForward) * DEG;
    ringThetaMax[t] = (ECL_FORWARD_THETA_MIN_DEG + (t + 1) * wForward) * DEG;
    ringThetaCentre[t] = (ECL_FORWARD_THETA_MIN_DEG + (t + 0.5) * wForward) * DEG;
  }
  const c = ECL_BARREL_THETA_CENTRE_DEG;
  const nBarrel = c.length;
  for (let i = 0; i < nBarrel; i++) {
    const t = ECL_BARREL_FIRST_THETA_ID + i;
    const lo = i === 0 ? ECL_BARREL_THETA_MIN_DEG : (c[i - 1]! + c[i]!) / 2;
    const hi = i === nBarrel - 1 ? ECL_BARREL_THETA_MAX_DEG : (c[i]! + c[i + 1]!) / 2;
    ringThetaMin[t] = lo * DEG;
    ringThetaMax[t] = hi * DEG;
    ringThetaCentre[t] = c[i]! * DEG;
  }
  const nBackward = ECL_N_THETA_RINGS - 1 - ECL_BARREL_LAST_THETA_ID;
  const wBackward = (ECL_BACKWARD_THETA_MAX_DEG - ECL_BACKWARD_THETA_MIN_DEG) / nBackward;
  for (let j = 0; j < nBackward; j++) {
    const t = ECL_BARREL_LAST_THETA_ID + 1 + j;
    ringThetaMin[t] = (ECL_BACKWARD_THETA_MIN_DEG + j * wBackward) * DEG;
    ringThetaMax[t] = (ECL_BACKWARD_THETA_MIN_DEG + (j + 1) * wBackward) * DEG;
    ringThetaCentre[t] = (ECL_BACKWARD_THETA_MIN_DEG + (j + 0.5) * wBackward) * DEG;
  }
}

/** Per cell (index = cellId, 0 unused): thetaId and phiId, filled once. */
const thetaIdOfCell = new Int8Array(ECL_N_CRYSTALS + 1).fill(-1);
const phiIdOfCell = new Int16Array(ECL_N_CRYSTALS + 1).fill(-1);
for (let t = 0; t < ECL_N_THETA_RINGS; t++) {
  for (let p = 0; p < ECL_CRYSTALS_PER_RING[t]!; p++) {
    const cellId = 1 + ECL_RING_OFFSET[t]! + p;
    thetaIdOfCell[cellId] = t;
    phiIdOfCell[cellId] = p;
  }
}

export function isValidCellId(cellId: number): boolean {
  return Number.isInteger(cellId) && cellId >= 1 && cellId <= ECL_N_CRYSTALS;
}

function requireCellId(cellId: number): void {
  if (!isValidCellId(cellId)) throw new InputError(`ECL cellId ${cellId} is out of range (1..${ECL_N_CRYSTALS})`);
}

/** Number of crystals in a θ ring. */
export function crystalsInRing(thetaId: number): number {
  if (!Number.isInteger(thetaId) || thetaId < 0 || thetaId >= ECL_N_THETA_RINGS)
    throw new InputError(`ECL thetaId ${thetaId} is out of range (0..${ECL_N_THETA_RINGS - 1})`);
  return ECL_CRYSTALS_PER_RING[thetaId]!;
}

/** 1-based cellId of (thetaId, phiId): 1 + offset[thetaId] + phiId (ecl.md §2.2). */
export function cellIdFromThetaPhi(thetaId: number, phiId: number): number {
  const n = crystalsInRing(thetaId);
  if (!Number.isInteger(phiId) || phiId < 0 || phiId >= n)
    throw new InputError(`ECL phiId ${phiId} is out of range for thetaId ${thetaId} (0..${n - 1})`);
  return 1 + ECL_RING_OFFSET[thetaId]! + phiId;
}

/** (thetaId, phiId) of a 1-based cellId. */
export function thetaPhiFromCellId(cellId: number): { thetaId: number; phiId: number } {
  requireCellId(cellId);
  return { thetaId: thetaIdOfCell[cellId]!, phiId: phiIdOfCell[cellId]! };
}

/** thetaId of a 1-based cellId (no object allocation, for hot loops). */
export function thetaIdOf(cellId: number): number {
  requireCellId(cellId);
  return thetaIdOfCell[cellId]!;
}

/** phiId of a 1-based cellId. */
export function phiIdOf(cellId: number): number {
  requireCellId(cellId);
  return phiIdOfCell[cellId]!;
}

export function regionOfThetaId(thetaId: number): EclRegion {
  crystalsInRing(thetaId);
  return thetaId < ECL_BARREL_FIRST_THETA_ID ? "forward" : thetaId > ECL_BARREL_LAST_THETA_ID ? "backward" : "barrel";
}

/** Region of a cellId: forward 1..1152, barrel 1153..7776, backward 7777..8736 (ECLElementNumbers, ecl.md §2.1). */
export function regionOfCellId(cellId: number): EclRegion {
  return regionOfThetaId(thetaIdOf(cellId));
}

/** θ range of a ring, degrees: [lower edge, centre, upper edge]. */
export function ringThetaDeg(thetaId: number): { min: number; centre: number; max: number } {
  crystalsInRing(thetaId);
  return { min: ringThetaMin[thetaId]! / DEG, centre: ringThetaCentre[thetaId]! / DEG, max: ringThetaMax[thetaId]! / DEG };
}

/** Centre of a crystal's φ range, radians in [0, 2π). */
export function crystalPhi(cellId: number): number {
  const t = thetaIdOf(cellId);
  return (2 * Math.PI * (phiIdOfCell[cellId]! + 0.5)) / ECL_CRYSTALS_PER_RING[t]!;
}

/** Polar angle of the crystal axis, radians. */
export function crystalTheta(cellId: number): number {
  return ringThetaCentre[thetaIdOf(cellId)]!;
}

/** Distance from the IP along the crystal axis (direction θ) to the front face, cm. */
function frontDistance(region: EclRegion, theta: number): number {
  if (region === "barrel") return ECL_BARREL_FRONT_RADIUS / sin(theta);
  if (region === "forward") return ECL_FORWARD_FRONT_Z / cos(theta);
  return ECL_BACKWARD_FRONT_Z / cos(theta);
}

/** Crystal centre (half-way along its 30 cm axis), global cm. */
export function crystalCentre(cellId: number): { x: number; y: number; z: number } {
  const t = thetaIdOf(cellId);
  const theta = ringThetaCentre[t]!;
  const phi = crystalPhi(cellId);
  const d = frontDistance(regionOfThetaId(t), theta) + ECL_CRYSTAL_LENGTH / 2;
  const s = sin(theta);
  return { x: d * s * cos(phi), y: d * s * sin(phi), z: d * cos(theta) };
}

/** thetaId of the ring whose θ range holds theta (radians), or −1 in a gap or outside the ECL. */
export function thetaIdAtTheta(theta: number): number {
  if (!(theta >= ringThetaMin[0]!) || !(theta < ringThetaMax[ECL_N_THETA_RINGS - 1]!)) return -1;
  // binary search for the last ring with min ≤ theta
  let lo = 0, hi = ECL_N_THETA_RINGS - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ringThetaMin[mid]! <= theta) lo = mid;
    else hi = mid - 1;
  }
  return theta < ringThetaMax[lo]! ? lo : -1;
}

/**
 * The crystal in the direction (θ, φ) seen from the IP (radians), whatever the distance: the
 * crystals are projective, so this is the crystal whose angular cell holds the direction.
 * null in the endcap–barrel gaps and outside the ECL coverage.
 */
export function crystalInDirection(theta: number, phi: number): number | null {
  const t = thetaIdAtTheta(theta);
  if (t < 0) return null;
  const n = ECL_CRYSTALS_PER_RING[t]!;
  let f = phi / (2 * Math.PI);
  f -= Math.floor(f);
  let p = Math.floor(f * n);
  if (p >= n) p = n - 1; // f just below 1 can round up
  return 1 + ECL_RING_OFFSET[t]! + p;
}

/** The crystal in the direction of the point (x, y, z) from the IP, ignoring depth. */
export function crystalTowards(x: number, y: number, z: number): number | null {
  const rho = Math.sqrt(x * x + y * y);
  if (rho === 0 && z === 0) return null;
  return crystalInDirection(atan2(rho, z), atan2(y, x));
}

/** Depth of the point along its ray from the IP behind the front face of its region, cm (negative in front). */
function depthBehindFront(region: EclRegion, r: number, theta: number): number {
  return r - frontDistance(region, theta);
}

/**
 * cellId (1-based) of the crystal that contains the point (x, y, z) in cm, or null when the point is
 * in no crystal (in front of or behind the CsI, in a gap, outside the coverage).
 */
export function crystalAt(x: number, y: number, z: number): number | null {
  if (!Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(z))
    throw new InputError(`crystalAt: position (${x}, ${y}, ${z}) is not finite`);
  const rho = Math.sqrt(x * x + y * y);
  const r = Math.sqrt(rho * rho + z * z);
  if (r === 0) return null;
  const theta = atan2(rho, z);
  const t = thetaIdAtTheta(theta);
  if (t < 0) return null;
  const depth = depthBehindFront(regionOfThetaId(t), r, theta);
  if (depth < 0 || depth > ECL_CRYSTAL_LENGTH) return null;
  return crystalInDirection(theta, atan2(y, x));
}

/** Depth of a point behind the ECL front face along its ray from the IP, cm (null outside the ECL θ coverage). */
export function eclDepthAt(x: number, y: number, z: number): number | null {
  const rho = Math.sqrt(x * x + y * y);
  const r = Math.sqrt(rho * rho + z * z);
  if (r === 0) return null;
  const theta = atan2(rho, z);
  const t = thetaIdAtTheta(theta);
  if (t < 0) return null;
  return depthBehindFront(regionOfThetaId(t), r, theta);
}
