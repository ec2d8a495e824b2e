/**
 * Event generators: what leaves the interaction point. Particle guns for μ±/π± (fixed or ranged p or
 * pT, θ, φ; the ECL-study and KLM-study presets) and a parametric e⁺e⁻ → Υ(4S) → BB̄ generator for the
 * latency benchmark (physics.md §7 recipe). All particles start at the origin (the nominal IP).
 *
 * Every number comes from src/constants.ts; every random number from the Random passed in, so a seed
 * reproduces the events exactly.
 */
import type { ParticleName, ParticleState } from "./types.js";
import { PDG } from "./types.js";
import type { Random } from "./random.js";
import { InputError } from "../errors.js";
import {
  MUON_MASS,
  PION_MASS,
  ECL_GUN_PT_MIN,
  ECL_GUN_PT_MAX,
  ECL_BARREL_COVERAGE_DEG,
  KLM_GUN_P_MIN,
  KLM_GUN_P_MAX,
  KLM_GUN_THETA_MIN_DEG,
  KLM_GUN_THETA_MAX_DEG,
  KLM_GUN_TRACKS_MIN,
  KLM_GUN_TRACKS_MAX,
  BBBAR_MULTIPLICITY_MEAN,
  BBBAR_MULTIPLICITY_SIGMA,
  BBBAR_MULTIPLICITY_MIN,
  BBBAR_MULTIPLICITY_MAX,
  BBBAR_MUON_FRACTION,
  BBBAR_PION_GAMMA_SHAPE,
  BBBAR_PION_GAMMA_SCALE,
  BBBAR_MUON_GAMMA_SHAPE,
  BBBAR_MUON_GAMMA_SCALE,
  BBBAR_CM_MOMENTUM_MAX,
  UPSILON4S_BETA_GAMMA,
} from "../constants.js";
import { acos, cos, sin } from "../math/ieee754.js";

export const PARTICLE_NAMES: readonly ParticleName[] = ["mu-", "mu+", "pi-", "pi+"];

/** PDG code, charge and mass of a particle name. */
export function particleSpecies(name: ParticleName): { pdg: number; charge: 1 | -1; mass: number } {
  switch (name) {
    case "mu-": return { pdg: PDG.muMinus, charge: -1, mass: MUON_MASS };
    case "mu+": return { pdg: PDG.muPlus, charge: 1, mass: MUON_MASS };
    case "pi-": return { pdg: PDG.piMinus, charge: -1, mass: PION_MASS };
    case "pi+": return { pdg: PDG.piPlus, charge: 1, mass: PION_MASS };
    default: throw new InputError(`unknown particle "${String(name)}" (known: ${PARTICLE_NAMES.join(", ")})`);
  }
}

export function isParticleName(name: string): name is ParticleName {
  return (PARTICLE_NAMES as readonly string[]).includes(name);
}

/** Closed interval; min === max fixes the value. */
export interface Interval {
  min: number;
  max: number;
}

/**
 * A particle gun. Each event has a number of tracks drawn uniformly from tracksPerEvent (inclusive
 * integers); each track a species drawn uniformly from `particles`, a momentum flat in p or in pT,
 * θ uniform in cos θ (isotropic) inside thetaDeg, φ uniform inside phiDeg.
 */
export interface ParticleGun {
  particles: readonly ParticleName[];
  tracksPerEvent: Interval;
  /** flat in "p" (total momentum) or in "pt" (transverse momentum), GeV/c */
  momentum: Interval & { variable: "p" | "pt" };
  thetaDeg: Interval;
  phiDeg: Interval;
}

/** The ECL-study gun (physics.md §4, §9.3): one track, flat in pT 0.28–1.0 GeV/c, into the ECL barrel (32.2°–128.7°, physics.md §1.2). */
export function eclStudyGun(particles: readonly ParticleName[] = PARTICLE_NAMES): ParticleGun {
  return {
    particles,
    tracksPerEvent: { min: 1, max: 1 },
    momentum: { variable: "pt", min: ECL_GUN_PT_MIN, max: ECL_GUN_PT_MAX },
    thetaDeg: { min: ECL_BARREL_COVERAGE_DEG[0], max: ECL_BARREL_COVERAGE_DEG[1] },
    phiDeg: { min: 0, max: 360 },
  };
}

/**
 * The KLM-study gun (physics.md §3.3: 4–16 tracks per event, as the DNN paper trained): uniform
 * phase space over the KLM acceptance (θ 18°–155°, klm.md §4.4), p flat in 0.6–5 GeV/c.
 */
export function klmStudyGun(particles: readonly ParticleName[] = PARTICLE_NAMES): ParticleGun {
  return {
    particles,
    tracksPerEvent: { min: KLM_GUN_TRACKS_MIN, max: KLM_GUN_TRACKS_MAX },
    momentum: { variable: "p", min: KLM_GUN_P_MIN, max: KLM_GUN_P_MAX },
    thetaDeg: { min: KLM_GUN_THETA_MIN_DEG, max: KLM_GUN_THETA_MAX_DEG },
    phiDeg: { min: 0, max: 360 },
  };
}

/** Throws an InputError naming the first inconsistent setting of a gun. */
export function validateParticleGun(gun: ParticleGun): void {
  const check = (ok: boolean, message: string): void => {
    if (!ok) throw new InputError(`particle gun: ${message}`);
  };
  const finite = (v: Interval): boolean => Number.isFinite(v.min) && Number.isFinite(v.max);
  check(gun.particles.length > 0, "no particle species");
  for (const name of gun.particles) check(isParticleName(name), `unknown particle "${String(name)}"`);
  const t = gun.tracksPerEvent;
  check(Number.isInteger(t.min) && Number.isInteger(t.max) && t.min >= 1 && t.max >= t.min,
    `tracks per event must be integers 1 ≤ min ≤ max (got ${t.min}, ${t.max})`);
  const m = gun.momentum;
  check(m.variable === "p" || m.variable === "pt", `momentum variable must be "p" or "pt" (got ${String(m.variable)})`);
  check(finite(m) && m.min > 0 && m.max >= m.min, `${m.variable} range must satisfy 0 < min ≤ max (got ${m.min}, ${m.max})`);
  const th = gun.thetaDeg;
  check(finite(th) && th.min >= 0 && th.max <= 180 && th.max >= th.min,
    `θ range must satisfy 0 ≤ min ≤ max ≤ 180° (got ${th.min}, ${th.max})`);
  if (m.variable === "pt") {
    check(th.min > 0 && th.max < 180, "a pT gun needs 0° < θ < 180° (p = pT / sin θ)");
  }
  const ph = gun.phiDeg;
  check(finite(ph) && ph.max >= ph.min && ph.max - ph.min <= 360, `φ range must satisfy min ≤ max ≤ min + 360° (got ${ph.min}, ${ph.max})`);
}

/** A particle at the origin with momentum p (GeV/c) at polar angle θ and azimuth φ (radians). */
export function particleAtIp(name: ParticleName, p: number, theta: number, phi: number): ParticleState {
  const species = particleSpecies(name);
  const sinTheta = sin(theta);
  return {
    pdg: species.pdg,
    charge: species.charge,
    mass: species.mass,
    x: 0, y: 0, z: 0,
    px: p * sinTheta * cos(phi),
    py: p * sinTheta * sin(phi),
    pz: p * cos(theta),
  };
}

const DEG = Math.PI / 180;

/** One gun event: the particles at the IP, in generation order. */
export function generateGunEvent(gun: ParticleGun, rng: Random): ParticleState[] {
  const n = gun.tracksPerEvent.min + rng.int(gun.tracksPerEvent.max - gun.tracksPerEvent.min + 1);
  const particles: ParticleState[] = [];
  // uniform in cos θ between the two limits (cos decreases with θ)
  const cosHigh = cos(gun.thetaDeg.min * DEG);
  const cosLow = cos(gun.thetaDeg.max * DEG);
  for (let i = 0; i < n; i++) {
    const name = gun.particles[rng.int(gun.particles.length)];
    const value = rng.range(gun.momentum.min, gun.momentum.max);
    const theta = gun.thetaDeg.min === gun.thetaDeg.max
      ? gun.thetaDeg.min * DEG
      : acos(rng.range(cosLow, cosHigh));
    const phi = rng.range(gun.phiDeg.min, gun.phiDeg.max) * DEG;
    const p = gun.momentum.variable === "p" ? value : value / sin(theta);
    particles.push(particleAtIp(name, p, theta, phi));
  }
  return particles;
}

/** Gamma(k, scale) for integer shape k: scale × (sum of k unit exponentials). */
function gammaInteger(shape: number, scale: number, rng: Random): number {
  let sum = 0;
  for (let i = 0; i < shape; i++) sum += rng.exponential(1);
  return scale * sum;
}

/**
 * Charged multiplicity of one BB̄ event (physics.md §7 recipe step 1): an even number from a
 * Gaussian of mean 10.71 and σ 3, rounded to the nearest even value, redrawn outside [2, 24].
 */
export function sampleBBbarMultiplicity(rng: Random): number {
  for (;;) {
    const x = BBBAR_MULTIPLICITY_MEAN + BBBAR_MULTIPLICITY_SIGMA * rng.gauss();
    const n = 2 * Math.round(x / 2);
    if (n >= BBBAR_MULTIPLICITY_MIN && n <= BBBAR_MULTIPLICITY_MAX) return n;
  }
}

/**
 * One e⁺e⁻ → Υ(4S) → BB̄ event (physics.md §7 recipe, an assumption-level parametrisation): an even
 * number of charged tracks, half of each charge; each a μ with probability 0.04, else a π; |p*| in
 * the Υ(4S) frame from Gamma(2, 0.35 GeV/c) for pions and Gamma(2, 0.65 GeV/c) for muons (means
 * 0.7 and 1.3 GeV/c), redrawn above 2.6 GeV/c; isotropic in that frame; boosted with βγ = 0.2835
 * along +z (the 7 GeV e⁻ direction). Only μ± and π± exist in this simulation, so the K±, e± and
 * protons of real BB̄ events are represented by pions.
 */
export function generateBBbarEvent(rng: Random): ParticleState[] {
  const n = sampleBBbarMultiplicity(rng);
  const betaGamma = UPSILON4S_BETA_GAMMA;
  const gamma = Math.sqrt(1 + betaGamma * betaGamma);
  const particles: ParticleState[] = [];
  for (let i = 0; i < n; i++) {
    const positive = i % 2 === 0;
    const muon = rng.uniform() < BBBAR_MUON_FRACTION;
    const name: ParticleName = muon ? (positive ? "mu+" : "mu-") : positive ? "pi+" : "pi-";
    const shape = muon ? BBBAR_MUON_GAMMA_SHAPE : BBBAR_PION_GAMMA_SHAPE;
    const scale = muon ? BBBAR_MUON_GAMMA_SCALE : BBBAR_PION_GAMMA_SCALE;
    let pStar: number;
    do pStar = gammaInteger(shape, scale, rng);
    while (pStar > BBBAR_CM_MOMENTUM_MAX);
    const cosTheta = 2 * rng.uniform() - 1;
    const phi = 2 * Math.PI * rng.uniform();
    const rest = particleAtIp(name, pStar, acos(cosTheta), phi);
    // Lorentz boost along +z: p_z = γ p*_z + βγ E*
    const eStar = Math.sqrt(pStar * pStar + rest.mass * rest.mass);
    rest.pz = gamma * rest.pz + betaGamma * eStar;
    particles.push(rest);
  }
  return particles;
}
