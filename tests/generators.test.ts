import { describe, expect, it } from "vitest";
import {
  PARTICLE_NAMES, eclStudyGun, generateBBbarEvent, generateGunEvent, klmStudyGun, particleAtIp,
  particleSpecies, sampleBBbarMultiplicity, validateParticleGun, type ParticleGun,
} from "../src/sim/generators.js";
import { Random } from "../src/sim/random.js";
import { PDG, type ParticleState } from "../src/sim/types.js";
import { InputError } from "../src/errors.js";
import { MUON_MASS, PION_MASS } from "../src/constants.js";

const DEG = Math.PI / 180;
const p = (s: ParticleState): number => Math.hypot(s.px, s.py, s.pz);
const pt = (s: ParticleState): number => Math.hypot(s.px, s.py);
const thetaDeg = (s: ParticleState): number => Math.atan2(pt(s), s.pz) / DEG;

function events(generate: (rng: Random) => ParticleState[], seed: number, n: number): ParticleState[][] {
  const rng = new Random(seed);
  return Array.from({ length: n }, () => generate(rng));
}

describe("particle guns", () => {
  it("are reproducible for a seed and differ between seeds", () => {
    const gens: [string, (rng: Random) => ParticleState[]][] = [
      ["klm", (r) => generateGunEvent(klmStudyGun(), r)],
      ["ecl", (r) => generateGunEvent(eclStudyGun(), r)],
      ["bbbar", generateBBbarEvent],
    ];
    for (const [name, gen] of gens) {
      const a = events(gen, 42, 50), b = events(gen, 42, 50), c = events(gen, 43, 50);
      expect(a, name).toEqual(b);
      expect(a, name).not.toEqual(c);
    }
  });

  it("KLM-study gun: 4–16 tracks, p flat in 0.6–5 GeV/c, θ 18°–155° uniform in cos θ, four species", () => {
    const all = events((r) => generateGunEvent(klmStudyGun(), r), 1, 20_000);
    const counts = new Set(all.map((e) => e.length));
    expect([...counts].sort((x, y) => x - y)).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    const tracks = all.flat();
    let sumP = 0, sumCos = 0, minP = Infinity, maxP = -Infinity, minTheta = Infinity, maxTheta = -Infinity, offOrigin = 0;
    const species = new Map<number, number>();
    for (const t of tracks) {
      minP = Math.min(minP, p(t));
      maxP = Math.max(maxP, p(t));
      minTheta = Math.min(minTheta, thetaDeg(t));
      maxTheta = Math.max(maxTheta, thetaDeg(t));
      if (t.x !== 0 || t.y !== 0 || t.z !== 0) offOrigin++;
      sumP += p(t);
      sumCos += t.pz / p(t);
      species.set(t.pdg, (species.get(t.pdg) ?? 0) + 1);
    }
    const n = tracks.length; // ≈ 200 000
    expect(minP).toBeGreaterThanOrEqual(0.6);
    expect(minP).toBeLessThan(0.61);
    expect(maxP).toBeLessThanOrEqual(5);
    expect(maxP).toBeGreaterThan(4.99);
    expect(minTheta).toBeGreaterThanOrEqual(18 - 1e-9);
    expect(minTheta).toBeLessThan(18.5);
    expect(maxTheta).toBeLessThanOrEqual(155 + 1e-9);
    expect(maxTheta).toBeGreaterThan(154.5);
    expect(offOrigin).toBe(0);
    expect(sumP / n).toBeCloseTo((0.6 + 5) / 2, 1); // flat in p
    expect(sumCos / n).toBeCloseTo((Math.cos(18 * DEG) + Math.cos(155 * DEG)) / 2, 2); // flat in cos θ
    for (const code of [PDG.muMinus, PDG.muPlus, PDG.piMinus, PDG.piPlus]) {
      expect(Math.abs(species.get(code)! / n - 0.25)).toBeLessThan(0.01);
    }
  });

  it("ECL-study gun: one track, pT flat in 0.28–1.0 GeV/c, into the ECL barrel (32.2°–128.7°)", () => {
    const all = events((r) => generateGunEvent(eclStudyGun(["mu-"]), r), 2, 50_000);
    let sumPt = 0, minPt = Infinity, maxPt = -Infinity, minTheta = Infinity, maxTheta = -Infinity;
    expect(all.every((e) => e.length === 1 && e[0].pdg === PDG.muMinus && e[0].mass === MUON_MASS)).toBe(true);
    for (const [t] of all) {
      minPt = Math.min(minPt, pt(t));
      maxPt = Math.max(maxPt, pt(t));
      minTheta = Math.min(minTheta, thetaDeg(t));
      maxTheta = Math.max(maxTheta, thetaDeg(t));
      sumPt += pt(t);
    }
    expect(minPt).toBeGreaterThanOrEqual(0.28 - 1e-12);
    expect(maxPt).toBeLessThanOrEqual(1.0 + 1e-12);
    expect(minTheta).toBeGreaterThanOrEqual(32.2 - 1e-9);
    expect(minTheta).toBeLessThan(33);
    expect(maxTheta).toBeLessThanOrEqual(128.7 + 1e-9);
    expect(maxTheta).toBeGreaterThan(128);
    expect(sumPt / all.length).toBeCloseTo(0.64, 2);
  });

  it("a fixed p and θ gun gives exactly that momentum and angle", () => {
    const gun: ParticleGun = { ...klmStudyGun(["pi+"]), tracksPerEvent: { min: 1, max: 1 }, momentum: { variable: "p", min: 1.5, max: 1.5 }, thetaDeg: { min: 90, max: 90 } };
    for (const [t] of events((r) => generateGunEvent(gun, r), 3, 100)) {
      expect(p(t)).toBeCloseTo(1.5, 12);
      expect(t.pz).toBeCloseTo(0, 12);
      expect(t.pdg).toBe(PDG.piPlus);
      expect(t.mass).toBe(PION_MASS);
      expect(t.charge).toBe(1);
    }
    const s = particleAtIp("mu+", 2, 60 * DEG, 30 * DEG);
    expect([s.px, s.py, s.pz].map((v) => +v.toFixed(12))).toEqual([1.5, +(Math.sqrt(3) / 2).toFixed(12), 1]);
    expect(particleSpecies("mu+")).toEqual({ pdg: -13, charge: 1, mass: MUON_MASS });
  });

  it("rejects inconsistent guns with an InputError", () => {
    const base = klmStudyGun();
    expect(() => validateParticleGun(base)).not.toThrow();
    expect(() => validateParticleGun({ ...base, momentum: { variable: "p", min: 3, max: 1 } })).toThrow(InputError);
    expect(() => validateParticleGun({ ...base, thetaDeg: { min: 10, max: 190 } })).toThrow(InputError);
    expect(() => validateParticleGun({ ...base, particles: ["e-" as never] })).toThrow(/unknown particle/);
    expect(() => validateParticleGun({ ...base, tracksPerEvent: { min: 0, max: 3 } })).toThrow(InputError);
    expect(() => validateParticleGun({ ...base, momentum: { variable: "pt", min: 0.5, max: 1 }, thetaDeg: { min: 0, max: 90 } })).toThrow(InputError);
    expect(() => particleSpecies("K+" as never)).toThrow(InputError);
    expect(PARTICLE_NAMES).toEqual(["mu-", "mu+", "pi-", "pi+"]);
  });
});

/** Mean of Gamma(2, scale) truncated at `cap`, by Simpson integration (independent of the sampler). */
function truncatedGamma2Mean(scale: number, cap: number): number {
  const steps = 20_000;
  const h = cap / steps;
  let num = 0, den = 0;
  for (let i = 0; i <= steps; i++) {
    const x = i * h;
    const w = i === 0 || i === steps ? 1 : i % 2 === 1 ? 4 : 2;
    const density = x * Math.exp(-x / scale);
    num += w * x * density;
    den += w * density;
  }
  return num / den;
}

describe("BB̄ generator (physics.md §7)", () => {
  const BETA_GAMMA = 0.2835;
  const all = events(generateBBbarEvent, 17, 20_000);

  it("mean charged multiplicity 10.7 ± 0.3, even, 2–24, charge balanced", () => {
    let sum = 0;
    for (const e of all) {
      expect(e.length % 2).toBe(0);
      expect(e.length).toBeGreaterThanOrEqual(2);
      expect(e.length).toBeLessThanOrEqual(24);
      expect(e.reduce((q, t) => q + t.charge, 0)).toBe(0);
      sum += e.length;
    }
    expect(Math.abs(sum / all.length - 10.7)).toBeLessThan(0.3);
    const rng = new Random(8);
    let s2 = 0;
    for (let i = 0; i < 20_000; i++) s2 += sampleBBbarMultiplicity(rng);
    expect(Math.abs(s2 / 20_000 - 10.71)).toBeLessThan(0.1); // SE 0.02
  });

  it("boost βγ = 0.2835 along +z: ΣE·β = Σp_z, and isotropic, capped CM spectra after boosting back", () => {
    const gamma = Math.sqrt(1 + BETA_GAMMA ** 2);
    const beta = BETA_GAMMA / gamma;
    let maxPStar = 0, sumE = 0, sumPz = 0, sumCosStar = 0, nPi = 0, sumPStarPi = 0, nMu = 0, sumPStarMu = 0, n = 0;
    for (const e of all) {
      for (const t of e) {
        const energy = Math.hypot(p(t), t.mass);
        sumE += energy;
        sumPz += t.pz;
        // back to the Υ(4S) frame
        const pzStar = gamma * t.pz - BETA_GAMMA * energy;
        const pStar = Math.hypot(t.px, t.py, pzStar);
        maxPStar = Math.max(maxPStar, pStar);
        sumCosStar += pzStar / pStar;
        n++;
        if (Math.abs(t.pdg) === 13) { nMu++; sumPStarMu += pStar; } else { nPi++; sumPStarPi += pStar; }
      }
    }
    expect(maxPStar).toBeLessThanOrEqual(2.6 + 1e-9);
    expect(maxPStar).toBeGreaterThan(2.4);
    // with isotropic CM momenta Σp*_z → 0, so Σp_z/ΣE → β = 0.2727
    expect(sumPz / sumE).toBeCloseTo(beta, 2);
    expect(Math.abs(sumCosStar / n)).toBeLessThan(0.01); // SE 0.0012
    expect(Math.abs(nMu / n - 0.04)).toBeLessThan(0.004);
    expect(sumPStarPi / nPi).toBeCloseTo(truncatedGamma2Mean(0.35, 2.6), 2);
    expect(sumPStarMu / nMu).toBeCloseTo(truncatedGamma2Mean(0.65, 2.6), 1);
  });
});
