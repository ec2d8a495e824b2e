/**
 * Pion decay in flight, π± → μ± ν (branching fraction 99.988 %, so every π decay here is μν).
 * The decay probability over a path and the two-body kinematics in the lab (physics.md §2.5).
 *
 * Two ways to decide where a pion decays:
 *  - at constant momentum: `sampleDecayDistance` (lab distance, exponential with mean βγcτ);
 *  - while the pion slows down (what the transport does): draw a proper-length budget once with
 *    `sampleProperDecayLength` and spend `properLengthOfStep(stepLength, p, mass)` per step; the pion
 *    decays in the step where the budget runs out. Both give the same distribution at constant p.
 */
import type { ParticleState } from "./types.js";
import { PDG } from "./types.js";
import type { Random } from "./random.js";
import { MUON_MASS, PION_MASS } from "../constants.js";
import { InputError } from "../errors.js";
import { hypot3 } from "../math/hypot.js";
import { cos, expm1, sin } from "../math/ieee754.js";

/** Mean lab decay length βγcτ = (p/m)·cτ, cm (p in GeV/c, mass in GeV/c², ctau in cm). */
export function decayLengthCm(p: number, mass: number, ctau: number): number {
  if (!(p >= 0) || !(mass > 0) || !(ctau > 0)) {
    throw new InputError(`decayLengthCm: need p ≥ 0, mass > 0, ctau > 0 (got p=${p}, mass=${mass}, ctau=${ctau})`);
  }
  return (p / mass) * ctau;
}

/** Probability to decay within a lab path length (cm) at constant momentum: 1 − exp(−L/βγcτ). */
export function decayProbability(pathLength: number, p: number, mass: number, ctau: number): number {
  if (pathLength <= 0) return 0;
  const lambda = decayLengthCm(p, mass, ctau);
  // −expm1 keeps the precision of the small probabilities (0.7 % at 3 GeV/c).
  return -expm1(-pathLength / lambda);
}

/** Lab distance (cm) to the decay of a particle that keeps momentum p: exponential with mean βγcτ. */
export function sampleDecayDistance(p: number, mass: number, ctau: number, rng: Random): number {
  return rng.exponential(decayLengthCm(p, mass, ctau));
}

/** Proper decay length c·t (cm) of one particle: exponential with mean cτ. */
export function sampleProperDecayLength(ctau: number, rng: Random): number {
  if (!(ctau > 0)) throw new InputError(`sampleProperDecayLength: ctau must be > 0 (got ${ctau})`);
  return rng.exponential(ctau);
}

/** Proper length c·dt = stepLength / βγ = stepLength·m/p (cm) that a lab step of stepLength consumes. */
export function properLengthOfStep(stepLength: number, p: number, mass: number): number {
  if (p <= 0) return Infinity; // a stopped particle decays at once
  return (stepLength * mass) / p;
}

/** Muon momentum in the pion rest frame, GeV/c: p* = (m_π² − m_μ²)/(2 m_π) ≈ 29.79 MeV/c. */
export function pionDecayMomentum(): number {
  return (PION_MASS * PION_MASS - MUON_MASS * MUON_MASS) / (2 * PION_MASS);
}

/**
 * Decays a π± at its current position and momentum: the muon is emitted isotropically in the pion
 * rest frame with p* (pionDecayMomentum) and boosted along the pion direction into the lab. Returns
 * the muon (same charge, same position); the neutrino is not tracked. A pion at rest gives a muon of
 * 4.1 MeV kinetic energy in a random direction (the π⁺ → μ⁺ end deposit of physics.md §5.2).
 */
export function decayPionToMuon(state: ParticleState, rng: Random): ParticleState {
  if (Math.abs(state.pdg) !== PDG.piPlus) {
    throw new InputError(`decayPionToMuon: particle pdg ${state.pdg} is not a charged pion`);
  }
  const mPi = state.mass;
  const pStar = (mPi * mPi - MUON_MASS * MUON_MASS) / (2 * mPi);
  const eStar = (mPi * mPi + MUON_MASS * MUON_MASS) / (2 * mPi);

  // isotropic direction in the rest frame, relative to the pion flight direction
  const cosStar = 2 * rng.uniform() - 1;
  const sinStar = Math.sqrt(Math.max(0, 1 - cosStar * cosStar));
  const phiStar = 2 * Math.PI * rng.uniform();

  const p = hypot3(state.px, state.py, state.pz);
  // boost along the flight direction: γ = E/m, βγ = p/m
  const gamma = Math.sqrt(p * p + mPi * mPi) / mPi;
  const betaGamma = p / mPi;
  const pParallel = gamma * pStar * cosStar + betaGamma * eStar;
  const pPerp = pStar * sinStar;

  // orthonormal frame (e1, e2, n) with n along the pion momentum (any n when the pion is at rest)
  let nx = 0, ny = 0, nz = 1;
  if (p > 0) {
    nx = state.px / p;
    ny = state.py / p;
    nz = state.pz / p;
  }
  // e1 ⟂ n: cross n with the coordinate axis it is least aligned with
  let e1x: number, e1y: number, e1z: number;
  if (Math.abs(nx) < 0.6) {
    // n × x̂ = (0, nz, −ny)
    e1x = 0; e1y = nz; e1z = -ny;
  } else {
    // n × ŷ = (−nz, 0, nx)
    e1x = -nz; e1y = 0; e1z = nx;
  }
  const e1n = hypot3(e1x, e1y, e1z);
  e1x /= e1n; e1y /= e1n; e1z /= e1n;
  const e2x = ny * e1z - nz * e1y;
  const e2y = nz * e1x - nx * e1z;
  const e2z = nx * e1y - ny * e1x;

  const c = pPerp * cos(phiStar);
  const s = pPerp * sin(phiStar);
  return {
    // π⁺ (211) → μ⁺ (−13); π⁻ (−211) → μ⁻ (+13)
    pdg: state.pdg > 0 ? PDG.muPlus : PDG.muMinus,
    charge: state.charge,
    mass: MUON_MASS,
    x: state.x, y: state.y, z: state.z,
    px: pParallel * nx + c * e1x + s * e2x,
    py: pParallel * ny + c * e1y + s * e2y,
    pz: pParallel * nz + c * e1z + s * e2z,
  };
}
