/**
 * Inelastic π±–nucleus interactions for the truth transport (physics.md §2.4, §5.2, §6).
 *
 * - Interaction lengths from the Geant4 Barashenkov tables of physics.md §2.4: π⁻/π⁺ on Fe from σ_inel,
 *   CsI from the tabulated λ (σ_Cs + σ_I); Al and SiO2 from the Fe table scaled per nucleus by A^0.75
 *   (Geant4's own interpolation rule) [A]. Linear interpolation in ln p; constant outside 0.1–5 GeV/c.
 * - Outcome [A, physics.md §6]: with probability LEADING_PION_PROBABILITY a leading pion survives with a
 *   fraction U(0.3, 0.9) of the kinetic energy and a transverse kick; otherwise the pion is absorbed.
 *   The released energy makes, in the ECL CsI, a visible deposit (Beta-distributed fraction: an EM part
 *   from π⁰ photons at the vertex and hadronic blobs around it); in the KLM iron, shower hits out to the
 *   shower's longitudinal reach (t_max + λ_att·Exp(1), Fabjan–Gianotti) with wider clusters.
 * - Stopped pions in CsI (physics.md §5.2): a π⁻ is captured (a nuclear "star", a few tens of MeV visible),
 *   a π⁺ decays at rest to a 4.1 MeV μ⁺ that stops at once.
 */
import {
  A_IRON,
  AVOGADRO,
  COMPOSITION_ALUMINIUM,
  COMPOSITION_IRON,
  COMPOSITION_QUARTZ,
  DETECTOR_Z_OFFSET,
  EKLM_FORWARD_LAYERS,
  EKLM_BACKWARD_LAYERS,
  BKLM_HALF_LENGTH,
  BKLM_LAYERS,
  HADRONIC_BLOB_DISTANCE,
  HADRONIC_EM_FRACTION,
  HADRONIC_MAX_BLOBS,
  HADRONIC_VISIBLE_BETA,
  BKLM_IRON_THICKNESS,
  BKLM_LAYER_PITCH,
  EKLM_GAP_HEIGHT,
  EKLM_LAYER_PITCH,
  IRON_NUCLEAR_INTERACTION_LENGTH,
  KLM_SHOWER_ATTENUATION_EXPONENT,
  KLM_SHOWER_CORE_SPREAD,
  KLM_SHOWER_EXTRA_HITS,
  KLM_SHOWER_LAYER_PROBABILITY,
  KLM_SHOWER_SPREAD_PER_LAMBDA,
  KLM_SHOWER_TMAX_LOG_SLOPE,
  KLM_SHOWER_TMAX_OFFSET,
  KLM_SHOWER_WIDTH,
  LEADING_PION_ENERGY_FRACTION,
  LEADING_PION_PROBABILITY,
  LEADING_PION_PT_KICK,
  PION_MINUS_CSI_LAMBDA,
  PION_MINUS_FE_XS_MB,
  PION_PLUS_CSI_LAMBDA,
  PION_PLUS_FE_XS_MB,
  PION_STAR_ENERGY,
  PION_STOP_MUON_ENERGY,
  PION_XS_A_EXPONENT,
  PION_XS_MOMENTUM,
  SPEED_OF_LIGHT,
  ALUMINIUM,
  IRON,
  QUARTZ,
  type NuclearComposition,
} from "../constants.js";
import { InputError } from "../errors.js";
import {
  MATERIAL_ALUMINIUM,
  MATERIAL_CSI,
  MATERIAL_IRON,
  MATERIAL_QUARTZ,
  materialAt,
  type MaterialId,
} from "../geometry/propagation.js";
import { barrelLayerRadius, barrelSectorOf, endcapLayerZ, endcapSectorOf, sectorCos, sectorSin } from "../geometry/klm.js";
import type { Random } from "./random.js";
import type { EclEnergyDeposit, KlmCrossing } from "./transport.js";
import { hypot2, hypot3 } from "../math/hypot.js";
import { cos, log, pow, sin } from "../math/ieee754.js";

// ───────────── interaction lengths ─────────────

const MB = 1e-27; // cm²
const LN_P = Float64Array.from(PION_XS_MOMENTUM, (p) => log(p));

/** λ (cm) = M/(ρ N_A Σσ) for a composition whose per-nucleus σ scales from Fe as A^0.75. */
function scaledLambda(composition: NuclearComposition, density: number, sigmaFeMb: number): number {
  let sigma = 0;
  for (const a of composition.nuclei) sigma += sigmaFeMb * pow(a / A_IRON, PION_XS_A_EXPONENT);
  return composition.molarMass / (density * AVOGADRO * sigma * MB);
}

/** λ tables on the PION_XS_MOMENTUM grid: [material id][charge index (0 = π⁻, 1 = π⁺)][i]. */
const LAMBDA_TABLE: Float64Array[][] = [];
{
  const fe = (xs: readonly number[]) => Float64Array.from(xs, (s) => scaledLambda(COMPOSITION_IRON, IRON.density, s));
  const al = (xs: readonly number[]) => Float64Array.from(xs, (s) => scaledLambda(COMPOSITION_ALUMINIUM, ALUMINIUM.density, s));
  const qz = (xs: readonly number[]) => Float64Array.from(xs, (s) => scaledLambda(COMPOSITION_QUARTZ, QUARTZ.density, s));
  LAMBDA_TABLE[MATERIAL_CSI] = [Float64Array.from(PION_MINUS_CSI_LAMBDA), Float64Array.from(PION_PLUS_CSI_LAMBDA)];
  LAMBDA_TABLE[MATERIAL_IRON] = [fe(PION_MINUS_FE_XS_MB), fe(PION_PLUS_FE_XS_MB)];
  LAMBDA_TABLE[MATERIAL_ALUMINIUM] = [al(PION_MINUS_FE_XS_MB), al(PION_PLUS_FE_XS_MB)];
  LAMBDA_TABLE[MATERIAL_QUARTZ] = [qz(PION_MINUS_FE_XS_MB), qz(PION_PLUS_FE_XS_MB)];
}

/** Inelastic interaction length (cm) of a π± of momentum p (GeV/c) in a material (Infinity in vacuum). */
export function pionInteractionLength(material: MaterialId, p: number, charge: 1 | -1): number {
  // a thin layer asks twice at the same momentum (distance to the interaction, then the budget spent)
  if (p === lastLambdaMomentum && material === lastLambdaMaterial && charge === lastLambdaCharge) return lastLambda;
  const tables = LAMBDA_TABLE[material];
  if (tables === undefined) return Infinity;
  if (!(p > 0)) throw new InputError(`pionInteractionLength: momentum ${p} must be > 0`);
  const lambda = interpolatedLambda(tables[charge < 0 ? 0 : 1]!, p);
  lastLambdaMomentum = p;
  lastLambdaMaterial = material;
  lastLambdaCharge = charge;
  lastLambda = lambda;
  return lambda;
}
let lastLambdaMomentum = NaN;
let lastLambdaMaterial = -1;
let lastLambdaCharge = 0;
let lastLambda = 0;

/** λ interpolated linearly in ln p on the PION_XS_MOMENTUM grid, constant outside it. */
function interpolatedLambda(table: Float64Array, p: number): number {
  const n = LN_P.length;
  const lp = log(p);
  if (lp <= LN_P[0]!) return table[0]!;
  if (lp >= LN_P[n - 1]!) return table[n - 1]!;
  let i = 0;
  while (LN_P[i + 1]! < lp) i++;
  const f = (lp - LN_P[i]!) / (LN_P[i + 1]! - LN_P[i]!);
  return table[i]! * (1 - f) + table[i + 1]! * f;
}

// ───────────── outcomes ─────────────

/** Beta(a, b) for integer shapes: ratio of sums of unit exponentials. */
function sampleBetaInteger(a: number, b: number, rng: Random): number {
  let x = 0;
  for (let i = 0; i < a; i++) x += rng.exponential(1);
  let y = 0;
  for (let i = 0; i < b; i++) y += rng.exponential(1);
  return x / (x + y);
}

/** The result of an inelastic interaction. */
export interface InteractionResult {
  /** a leading pion continues with this momentum (GeV/c); null when the pion was absorbed */
  leading: { px: number; py: number; pz: number } | null;
  /** kinetic energy released to the nucleus and the secondaries, GeV */
  released: number;
}

/** Two unit vectors orthogonal to the unit vector (tx, ty, tz) and to each other. */
function transverseBasis(tx: number, ty: number, tz: number): [number, number, number, number, number, number] {
  let ax = -ty, ay = tx, az = 0;
  let n = hypot2(ax, ay);
  if (n < 1e-9) {
    ax = 1; ay = 0; n = 1;
  }
  ax /= n; ay /= n;
  return [ax, ay, az, ty * az - tz * ay, tz * ax - tx * az, tx * ay - ty * ax];
}

/**
 * An inelastic interaction of a pion of momentum (px, py, pz) and mass m: leading-particle survival
 * (energy fraction U(0.3, 0.9), Gaussian transverse kick) or absorption.
 */
export function pionInteraction(px: number, py: number, pz: number, mass: number, rng: Random): InteractionResult {
  const p = hypot3(px, py, pz);
  const t = Math.sqrt(p * p + mass * mass) - mass;
  if (rng.uniform() >= LEADING_PION_PROBABILITY) return { leading: null, released: t };
  const [fMin, fMax] = LEADING_PION_ENERGY_FRACTION;
  const tOut = t * rng.range(fMin, fMax);
  const pOut = Math.sqrt(tOut * (tOut + 2 * mass));
  const tx = px / p, ty = py / p, tz = pz / p;
  const [e1x, e1y, e1z, e2x, e2y, e2z] = transverseBasis(tx, ty, tz);
  // transverse kick, at most pOut; the longitudinal part keeps |p| = pOut
  let k1 = LEADING_PION_PT_KICK * rng.gauss() / Math.SQRT2;
  let k2 = LEADING_PION_PT_KICK * rng.gauss() / Math.SQRT2;
  const kt = hypot2(k1, k2);
  if (kt > 0.95 * pOut) {
    k1 *= (0.95 * pOut) / kt;
    k2 *= (0.95 * pOut) / kt;
  }
  const pl = Math.sqrt(pOut * pOut - k1 * k1 - k2 * k2);
  return {
    leading: {
      px: pl * tx + k1 * e1x + k2 * e2x,
      py: pl * ty + k1 * e1y + k2 * e2y,
      pz: pl * tz + k1 * e1z + k2 * e2z,
    },
    released: t - tOut,
  };
}

/**
 * ECL deposits of `released` GeV set free at (x, y, z) in CsI by a pion moving along (tx, ty, tz):
 * a Beta(4, 5) visible fraction, of which HADRONIC_EM_FRACTION is π⁰ photons at the vertex
 * ("electromagnetic") and the rest 1 + U{0..HADRONIC_MAX_BLOBS} "hadronic" blobs, the first at the
 * vertex, the others displaced by Exp(8 cm) into the forward hemisphere; a blob outside the CsI leaks.
 * Returns the visible energy deposited.
 */
export function eclHadronicDeposits(
  x: number, y: number, z: number, tx: number, ty: number, tz: number,
  released: number, rng: Random, out: EclEnergyDeposit[],
): number {
  if (released <= 0) return 0;
  const visible = released * sampleBetaInteger(HADRONIC_VISIBLE_BETA[0], HADRONIC_VISIBLE_BETA[1], rng);
  const em = visible * HADRONIC_EM_FRACTION;
  let deposited = 0;
  if (em > 0) {
    out.push({ x, y, z, energy: em, kind: "electromagnetic" });
    deposited += em;
  }
  const blobs = 1 + rng.int(HADRONIC_MAX_BLOBS + 1);
  const share = (visible - em) / blobs;
  const [e1x, e1y, e1z, e2x, e2y, e2z] = transverseBasis(tx, ty, tz);
  for (let b = 0; b < blobs; b++) {
    let bx = x, by = y, bz = z;
    if (b > 0) {
      // direction in the forward hemisphere: cos α uniform in [0, 1)
      const d = rng.exponential(HADRONIC_BLOB_DISTANCE);
      const c = rng.uniform();
      const s = Math.sqrt(1 - c * c);
      const phi = 2 * Math.PI * rng.uniform();
      const a1 = s * cos(phi), a2 = s * sin(phi);
      bx += d * (c * tx + a1 * e1x + a2 * e2x);
      by += d * (c * ty + a1 * e1y + a2 * e2y);
      bz += d * (c * tz + a1 * e1z + a2 * e2z);
      if (materialAt(bx, by, bz) !== MATERIAL_CSI) continue;
    }
    out.push({ x: bx, y: by, z: bz, energy: share, kind: "hadronic" });
    deposited += share;
  }
  return deposited;
}

/** End-of-range deposit of a pion stopped in CsI (physics.md §5.2): π⁻ star or π⁺ → μ⁺ (4.1 MeV). */
export function stoppedPionDeposit(x: number, y: number, z: number, charge: 1 | -1, rng: Random, out: EclEnergyDeposit[]): number {
  if (charge < 0) {
    const e = rng.range(PION_STAR_ENERGY[0], PION_STAR_ENERGY[1]);
    out.push({ x, y, z, energy: e, kind: "hadronic" });
    return e;
  }
  out.push({ x, y, z, energy: PION_STOP_MUON_ENERGY, kind: "ionisation" });
  return PION_STOP_MUON_ENERGY;
}

/** Iron per unit path between KLM layer planes: plate over pitch (barrel and endcap share the 9.1 cm pitch). */
const BARREL_IRON_FRACTION = BKLM_IRON_THICKNESS / BKLM_LAYER_PITCH;
const ENDCAP_IRON_FRACTION = (EKLM_LAYER_PITCH - EKLM_GAP_HEIGHT) / EKLM_LAYER_PITCH;

/**
 * The deepest iron depth (cm, along the shower axis) that the charged secondaries of a hadronic shower of
 * `energy` GeV reach: t_max + λ_att · Exp(1), with t_max = (0.2 ln E + 0.7) λ_I (at least 0) and
 * λ_att = λ_I E^0.13 (KLM_SHOWER_* in constants.ts).
 */
export function klmShowerReach(energy: number, rng: Random): number {
  if (!(energy > 0)) return 0;
  const tMax = Math.max(0, KLM_SHOWER_TMAX_LOG_SLOPE * log(energy) + KLM_SHOWER_TMAX_OFFSET);
  const attenuation = pow(energy, KLM_SHOWER_ATTENUATION_EXPONENT);
  return IRON_NUCLEAR_INTERACTION_LENGTH * (tMax + attenuation * rng.exponential(1));
}

/**
 * KLM shower hits of `released` GeV set free at (x, y, z) in KLM iron by a particle moving along
 * (tx, ty, tz) at time `time`. Every detector layer ahead whose iron depth along the axis lies inside the
 * shower's reach (klmShowerReach) fires with probability KLM_SHOWER_LAYER_PROBABILITY: one crossing near
 * the axis (Gaussian lateral spread σ = core + growth per λ_I travelled) and Poisson(KLM_SHOWER_EXTRA_HITS)
 * further ones twice as wide, each with an extra cluster half-width ~ Exp(KLM_SHOWER_WIDTH) [A]. A barrel
 * shower stays in its sector (hits leaving it are dropped).
 */
export function klmShowerCrossings(
  x: number, y: number, z: number, tx: number, ty: number, tz: number,
  released: number, time: number, rng: Random, out: KlmCrossing[],
): void {
  const reach = klmShowerReach(released, rng);
  if (reach <= 0) return;
  const basis = transverseBasis(tx, ty, tz);
  const zeta = z - DETECTOR_Z_OFFSET;
  if (Math.abs(zeta) < BKLM_HALF_LENGTH) {
    const sector = barrelSectorOf(x, y);
    const nx = sectorCos(sector), ny = sectorSin(sector);
    const perp = x * nx + y * ny;
    const cosIn = tx * nx + ty * ny;
    if (cosIn <= 0.05) return;
    for (let layer = 1; layer <= BKLM_LAYERS; layer++) {
      const plane = barrelLayerRadius(layer, sector);
      if (plane <= perp) continue;
      const d = (plane - perp) / cosIn;
      const inReach = showerLayerHits(x, y, z, tx, ty, tz, basis, d, d * BARREL_IRON_FRACTION, reach, rng, (hx, hy, hz) => {
        // back onto the layer plane of the same sector
        const off = hx * nx + hy * ny - plane;
        hx -= off * nx; hy -= off * ny;
        if (Math.abs(hz - DETECTOR_Z_OFFSET) >= BKLM_HALF_LENGTH) return;
        if (barrelSectorOf(hx, hy) !== sector) return;
        out.push(showerCrossing("barrel", sector, layer, hx, hy, hz, time + d / SPEED_OF_LIGHT, released, tx, ty, tz, rng));
      });
      if (!inReach) break;
    }
    return;
  }
  const forward = zeta > 0;
  const section = forward ? "forward" : "backward";
  const layers = forward ? EKLM_FORWARD_LAYERS : EKLM_BACKWARD_LAYERS;
  const cosIn = forward ? tz : -tz;
  if (cosIn <= 0.05) return;
  for (let layer = 1; layer <= layers; layer++) {
    const plane = endcapLayerZ(section, layer);
    const ahead = forward ? plane - z : z - plane;
    if (ahead <= 0) continue;
    const d = ahead / cosIn;
    const inReach = showerLayerHits(x, y, z, tx, ty, tz, basis, d, d * ENDCAP_IRON_FRACTION, reach, rng, (hx, hy) => {
      out.push(showerCrossing(section, endcapSectorOf(hx, hy), layer, hx, hy, plane, time + d / SPEED_OF_LIGHT, released, tx, ty, tz, rng));
    });
    if (!inReach) break;
  }
}

/**
 * The shower hits of one detector layer at distance d along the axis (iron depth `ironDepth`): false when
 * the layer lies beyond the reach (the walk outward stops there); otherwise the layer fires with
 * probability KLM_SHOWER_LAYER_PROBABILITY with 1 + Poisson(KLM_SHOWER_EXTRA_HITS) hits, each point
 * (axis + Gaussian lateral offset) handed to `emit`.
 */
function showerLayerHits(
  x: number, y: number, z: number, tx: number, ty: number, tz: number, basis: readonly number[],
  d: number, ironDepth: number, reach: number, rng: Random, emit: (hx: number, hy: number, hz: number) => void,
): boolean {
  if (ironDepth > reach) return false;
  if (rng.uniform() >= KLM_SHOWER_LAYER_PROBABILITY) return true;
  const hits = 1 + rng.poisson(KLM_SHOWER_EXTRA_HITS);
  for (let h = 0; h < hits; h++) {
    const spread = showerSpread(ironDepth) * (h === 0 ? 1 : 2);
    const g1 = spread * rng.gauss(), g2 = spread * rng.gauss();
    emit(x + d * tx + g1 * basis[0]! + g2 * basis[3]!, y + d * ty + g1 * basis[1]! + g2 * basis[4]!, z + d * tz + g1 * basis[2]! + g2 * basis[5]!);
  }
  return true;
}

/** σ (cm) of a shower hit about the axis after `ironDepth` cm of iron. */
function showerSpread(ironDepth: number): number {
  return KLM_SHOWER_CORE_SPREAD + KLM_SHOWER_SPREAD_PER_LAMBDA * (ironDepth / IRON_NUCLEAR_INTERACTION_LENGTH);
}

/** One shower crossing; its momentum points along the shower axis with |p| = the released energy. */
function showerCrossing(
  section: KlmCrossing["section"], sector: number, layer: number, x: number, y: number, z: number, time: number,
  released: number, tx: number, ty: number, tz: number, rng: Random,
): KlmCrossing {
  return {
    section, sector, layer, x, y, z, time, px: released * tx, py: released * ty, pz: released * tz,
    kind: "shower", clusterHalfWidth: rng.exponential(KLM_SHOWER_WIDTH),
  };
}
