/**
 * ECL response: true energy deposits in the CsI → crystal energies → ECLCalDigit-like digits.
 *
 * Chain (per event): eclDigitsFromDeposits for every track (merge the maps), addEclBackground once,
 * applyEclReadout once (threshold, clip).
 *
 * Deposit kinds (EclEnergyDeposit from the transport; Landau/Vavilov fluctuations and the split of a
 * track between crystals along its path already happened there):
 * - "ionisation": a charged track's step. It goes to the crystal in the direction of the point, except
 *   a δ-ray/bremsstrahlung fraction that leaks sideways (physics.md §5.1, "1–3 % to neighbours" [A]);
 * - "electromagnetic": a photon/electron shower starting at the point, spread laterally with the CsI
 *   Molière radius (physics.md §5.2): radial profile f(r) = 2rR²/(r²+R²)², whose containment
 *   r²/(r²+R²) is 90 % at r = R_M for R = R_M/3 (and 97 % at 2 R_M);
 * - "hadronic": visible energy of hadronic secondaries (nuclear fragments, soft π, π⁰) released at a
 *   vertex: split into a few randomly sized lumps at a random lateral distance, each spread like an EM
 *   shower, which gives the irregular 3×3–5×5 patterns of physics.md §5.2 [A, tunable].
 * Lateral displacements are taken in the plane transverse to the ray from the IP (the crystal axis in
 * the projective model of src/geometry/ecl.ts); the longitudinal position does not change the crystal.
 * Energy that lands in a gap or outside the ECL coverage is lost, as in the real detector.
 *
 * Not modelled: electronics noise (σ ≈ 0.2–0.3 MeV, far below the 1 MeV threshold), the CsI(Tl)
 * photo-statistics term (≈1–2 % at 100 MeV, small against Landau fluctuations), pulse-shape/timing.
 */
import { InputError } from "../errors.js";
import {
  ECL_N_CRYSTALS,
  ECL_RING_OFFSET,
  crystalTowards,
  isValidCellId,
  regionOfCellId,
  type EclRegion,
} from "../geometry/ecl.js";
import { eclNeighbourhood } from "../geometry/eclNeighbours.js";
import type { Random } from "./random.js";
import type { DetectorConditions, EclDigit } from "./types.js";

// TODO(integration): import type { EclEnergyDeposit } from "./transport.js" once the transport lands;
// this is the interface of the issue, structurally identical.
export interface EclEnergyDeposit {
  x: number; y: number; z: number;
  /** GeV */
  energy: number;
  kind: "ionisation" | "hadronic" | "electromagnetic";
}

// TODO(integration): these move to the ECL section of src/constants.ts once that file lands.
/** CsI Molière radius, cm (physics.md §2.1: X0·21.2052 MeV/E_c = 3.53 cm). */
const CSI_MOLIERE_RADIUS = 3.53;
/** Fraction of a MIP step's energy carried sideways by δ rays/bremsstrahlung (physics.md §5.1 "1–3 %", [A]). */
const ECL_DELTA_RAY_LEAKAGE_FRACTION = 0.02;
/** Monte-Carlo spots per EM shower (sampling of the lateral profile) [A]. */
const ECL_EM_SHOWER_SPOTS = 24;
/** Lumps per hadronic deposit and their mean lateral distance from the vertex, cm (physics.md §5.2 [A]). */
const ECL_HADRONIC_LUMPS = 4;
const ECL_HADRONIC_LUMP_DISTANCE = 5.0;
/** Beam background (physics.md §5.3 [A]): mean deposits ≥ 0.5 MeV per barrel crystal per event at ×1. */
const ECL_BACKGROUND_DEPOSITS_PER_CRYSTAL = 0.1;
/** Lower edge and exponential slope of the background deposit spectrum, GeV (physics.md §5.3 "s = 2–3 MeV"). */
const ECL_BACKGROUND_MIN_ENERGY = 0.0005;
const ECL_BACKGROUND_SLOPE = 0.0025;
/** Relative background rate per region: endcaps, the backward one most, are noisier (physics.md §5.3) [A]. */
const ECL_BACKGROUND_REGION_FACTOR: Readonly<Record<"forward" | "barrel" | "backward", number>> = { forward: 1.5, barrel: 1.0, backward: 2.0 };
/** CNN clip, GeV (ecl.md §1.5). */
const ECL_CLIP_ENERGY = 1.0;

export { eclNeighbourhood };

/** Core radius R of the EM lateral profile: 90 % containment inside R_M ⇔ R = R_M/3 (see above). */
export const ECL_EM_PROFILE_RADIUS = CSI_MOLIERE_RADIUS / 3;

/** Containment of the EM lateral profile inside radius r (cm): r²/(r²+R²). */
export function emLateralContainment(r: number): number {
  return (r * r) / (r * r + ECL_EM_PROFILE_RADIUS * ECL_EM_PROFILE_RADIUS);
}

/** Radius (cm) drawn from f(r) = 2rR²/(r²+R²)² by inversion: r = R·√(u/(1−u)). */
function sampleProfileRadius(rng: Random, radius: number): number {
  const u = rng.uniform();
  return radius * Math.sqrt(u / (1 - u));
}

/** Scratch point, to keep the hot loop allocation-free. */
const shifted = { x: 0, y: 0, z: 0 };

/**
 * (x, y, z) moved by r (cm) at azimuth α in the plane transverse to the ray from the IP:
 * components r·cosα along θ-hat = (cosθ cosφ, cosθ sinφ, −sinθ) and r·sinα along φ-hat = (−sinφ, cosφ, 0).
 */
function shiftTransverse(x: number, y: number, z: number, r: number, alpha: number): typeof shifted {
  shifted.x = x; shifted.y = y; shifted.z = z;
  if (r > 0) {
    const rho = Math.hypot(x, y);
    const dist = Math.hypot(rho, z);
    const cosT = z / dist, sinT = rho / dist;
    const cosP = rho > 0 ? x / rho : 1, sinP = rho > 0 ? y / rho : 0;
    const a = r * Math.cos(alpha), b = r * Math.sin(alpha);
    shifted.x += a * cosT * cosP - b * sinP;
    shifted.y += a * cosT * sinP + b * cosP;
    shifted.z -= a * sinT;
  }
  return shifted;
}

/** Adds energy to the crystal in the direction of the point from the IP (lost in gaps / outside the ECL). */
function depositAt(digits: Map<number, number>, x: number, y: number, z: number, energy: number): void {
  const cellId = crystalTowards(x, y, z);
  if (cellId === null) return;
  digits.set(cellId, (digits.get(cellId) ?? 0) + energy);
}

/** An EM shower of the given energy starting at (x, y, z): ECL_EM_SHOWER_SPOTS equal spots from the lateral profile. */
function addEmShower(digits: Map<number, number>, x: number, y: number, z: number, energy: number, rng: Random): void {
  const share = energy / ECL_EM_SHOWER_SPOTS;
  for (let i = 0; i < ECL_EM_SHOWER_SPOTS; i++) {
    const p = shiftTransverse(x, y, z, sampleProfileRadius(rng, ECL_EM_PROFILE_RADIUS), 2 * Math.PI * rng.uniform());
    depositAt(digits, p.x, p.y, p.z, share);
  }
}

function requireDeposit(d: EclEnergyDeposit, i: number): void {
  if (!Number.isFinite(d.x) || !Number.isFinite(d.y) || !Number.isFinite(d.z))
    throw new InputError(`ECL deposit ${i}: position (${d.x}, ${d.y}, ${d.z}) is not finite`);
  if (!Number.isFinite(d.energy) || d.energy < 0) throw new InputError(`ECL deposit ${i}: energy ${d.energy} GeV is not a finite non-negative number`);
  if (d.kind !== "ionisation" && d.kind !== "electromagnetic" && d.kind !== "hadronic")
    throw new InputError(`ECL deposit ${i}: unknown kind ${JSON.stringify(d.kind)}`);
}

const lumpShares = new Float64Array(ECL_HADRONIC_LUMPS);

/**
 * Crystal energies (cellId → GeV, before background, threshold and clip) of one track's deposits.
 * `conditions` is part of the interface for response knobs; none applies at this stage yet.
 */
export function eclDigitsFromDeposits(
  deposits: readonly EclEnergyDeposit[],
  rng: Random,
  _conditions: DetectorConditions,
  into: Map<number, number> = new Map(),
): Map<number, number> {
  for (let i = 0; i < deposits.length; i++) {
    const d = deposits[i]!;
    requireDeposit(d, i);
    if (d.energy === 0) continue;
    if (d.kind === "ionisation") {
      const leak = d.energy * ECL_DELTA_RAY_LEAKAGE_FRACTION;
      depositAt(into, d.x, d.y, d.z, d.energy - leak);
      // δ rays and bremsstrahlung photons start small EM showers off the track: one spot, Molière-radius profile
      const p = shiftTransverse(d.x, d.y, d.z, sampleProfileRadius(rng, CSI_MOLIERE_RADIUS), 2 * Math.PI * rng.uniform());
      depositAt(into, p.x, p.y, p.z, leak);
    } else if (d.kind === "electromagnetic") {
      addEmShower(into, d.x, d.y, d.z, d.energy, rng);
    } else {
      // irregular lumps: random shares (normalised exponentials); the first at the vertex, the others at
      // an exponentially distributed lateral distance; each lump showers like an EM deposit
      let total = 0;
      for (let j = 0; j < ECL_HADRONIC_LUMPS; j++) total += (lumpShares[j] = rng.exponential(1));
      for (let j = 0; j < ECL_HADRONIC_LUMPS; j++) {
        const r = j === 0 ? 0 : rng.exponential(ECL_HADRONIC_LUMP_DISTANCE);
        const p = shiftTransverse(d.x, d.y, d.z, r, 2 * Math.PI * rng.uniform());
        addEmShower(into, p.x, p.y, p.z, (d.energy * lumpShares[j]!) / total, rng);
      }
    }
  }
  return into;
}

function requireBackgroundLevel(conditions: DetectorConditions): number {
  const level = conditions.eclBackground;
  if (!Number.isFinite(level) || level < 0) throw new InputError(`ECL background level ${level} is not a finite non-negative number`);
  return level;
}

const REGIONS: readonly EclRegion[] = ["forward", "barrel", "backward"];

/**
 * Beam-background deposits (physics.md §5.3, parametric [A]): each crystal receives
 * Poisson(ECL_BACKGROUND_DEPOSITS_PER_CRYSTAL × region factor × conditions.eclBackground) deposits,
 * each of energy ECL_BACKGROUND_MIN_ENERGY + Exp(ECL_BACKGROUND_SLOPE). Drawn as a Poisson total per
 * region spread uniformly over its crystals, which is the same distribution and much cheaper.
 * `cells` restricts the background to those crystals (e.g. the union of the stored neighbourhoods):
 * the others never reach the output, and the per-crystal distribution is unchanged.
 */
export function addEclBackground(
  digits: Map<number, number>,
  rng: Random,
  conditions: DetectorConditions,
  cells?: Iterable<number>,
): Map<number, number> {
  const level = requireBackgroundLevel(conditions);
  if (level === 0) return digits;
  const byRegion: Record<EclRegion, number[]> = { forward: [], barrel: [], backward: [] };
  if (cells === undefined) {
    const firstBarrel = 1 + ECL_RING_OFFSET[13]!;
    const firstBackward = 1 + ECL_RING_OFFSET[59]!;
    for (let c = 1; c <= ECL_N_CRYSTALS; c++) (c < firstBarrel ? byRegion.forward : c < firstBackward ? byRegion.barrel : byRegion.backward).push(c);
  } else {
    const unique = [...new Set(cells)].sort((p, q) => p - q);
    for (const c of unique) {
      if (!isValidCellId(c)) throw new InputError(`ECL background: cellId ${c} is out of range (1..${ECL_N_CRYSTALS})`);
      byRegion[regionOfCellId(c)].push(c);
    }
  }
  for (const region of REGIONS) {
    const list = byRegion[region];
    if (list.length === 0) continue;
    const mean = ECL_BACKGROUND_DEPOSITS_PER_CRYSTAL * ECL_BACKGROUND_REGION_FACTOR[region] * level * list.length;
    const count = rng.poisson(mean);
    for (let i = 0; i < count; i++) {
      const c = list[rng.int(list.length)]!;
      const e = ECL_BACKGROUND_MIN_ENERGY + rng.exponential(ECL_BACKGROUND_SLOPE);
      digits.set(c, (digits.get(c) ?? 0) + e);
    }
  }
  return digits;
}

/**
 * Readout: crystals with E ≥ threshold (conditions.eclThreshold, GeV: 1, 2 or 5 MeV) become digits,
 * energies clipped at ECL_CLIP_ENERGY (1 GeV), sorted by cellId. Threshold and clip are those of the
 * CNN preprocessing (ecl.md §1.5: pixels < threshold → 0, clip to [0, 1 GeV]).
 */
export function applyEclReadout(digits: ReadonlyMap<number, number>, conditions: DetectorConditions): EclDigit[] {
  const threshold = conditions.eclThreshold;
  if (!Number.isFinite(threshold) || threshold < 0) throw new InputError(`ECL threshold ${threshold} GeV is not a finite non-negative number`);
  const out: EclDigit[] = [];
  for (const [cellId, energy] of digits) {
    if (!isValidCellId(cellId)) throw new InputError(`ECL readout: cellId ${cellId} is out of range (1..${ECL_N_CRYSTALS})`);
    if (!Number.isFinite(energy)) throw new InputError(`ECL readout: crystal ${cellId} has energy ${energy}`);
    if (energy >= threshold && energy > 0) out.push({ cellId, energy: Math.min(energy, ECL_CLIP_ENERGY) });
  }
  return out.sort((p, q) => p.cellId - q.cellId);
}

/** The digits inside the basf2 "N" neighbourhood of half-width n (default 5: 11×11) of a crystal, by cellId. */
export function eclDigitsAround(digits: readonly EclDigit[], centreCellId: number, n = 5): EclDigit[] {
  const inside = new Set(eclNeighbourhood(centreCellId, n));
  return digits.filter((d) => inside.has(d.cellId));
}
