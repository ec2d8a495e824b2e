import { describe, expect, it } from "vitest";
import {
  decayLengthCm, decayPionToMuon, decayProbability, pionDecayMomentum, properLengthOfStep,
  sampleDecayDistance, sampleProperDecayLength,
} from "../src/sim/decay.js";
import { Random } from "../src/sim/random.js";
import { PDG, type ParticleState } from "../src/sim/types.js";
import { InputError } from "../src/errors.js";
import { MUON_MASS, PION_CTAU, PION_MASS } from "../src/constants.js";

/** Speed of light factor: radius of curvature R[m] = pT[GeV/c] / (0.299792458 · B[T]). */
const C_LIGHT_GEV_PER_T_M = 0.299792458;
const FIELD_T = 1.5;

/** Helix arc length (cm) from the IP to radius r (cm) at θ = 90°: s = 2R asin(r / 2R), or null if it curls. */
function helixPathToRadius(pt: number, r: number): number | null {
  const radius = (pt / (C_LIGHT_GEV_PER_T_M * FIELD_T)) * 100;
  if (r > 2 * radius) return null;
  return 2 * radius * Math.asin(r / (2 * radius));
}

function pion(px: number, py: number, pz: number, positive = true): ParticleState {
  return { pdg: positive ? PDG.piPlus : PDG.piMinus, charge: positive ? 1 : -1, mass: PION_MASS, x: 1, y: 2, z: 3, px, py, pz };
}

// physics.md §2.5: P(π→μν before reaching r) at θ = 90°, helix path, cτ = 7.8045 m
const TABLE_2_5: { pt: number; ecl: number; klm: number | null }[] = [
  { pt: 0.3, ecl: 0.092, klm: null },
  { pt: 0.5, ecl: 0.046, klm: 0.085 },
  { pt: 0.7, ecl: 0.032, klm: 0.054 },
  { pt: 1.0, ecl: 0.022, klm: 0.036 },
  { pt: 1.5, ecl: 0.015, klm: 0.024 },
  { pt: 2.0, ecl: 0.011, klm: 0.018 },
  { pt: 3.0, ecl: 0.007, klm: 0.012 },
];

describe("decay in flight", () => {
  it("mean decay length of a 1 GeV/c pion is βγcτ = (1/0.13957)·780.45 cm = 55.92 m", () => {
    expect(decayLengthCm(1, PION_MASS, PION_CTAU)).toBeCloseTo(5591.8, 0);
    expect(PION_CTAU).toBeCloseTo(780.45, 2); // physics.md §8 row 66
  });

  it("decay-in-flight fractions to the ECL (1.25 m) and the KLM (2.0 m) within 20 % of physics.md §2.5 (sampled)", () => {
    const rng = new Random(2025);
    const n = 200_000;
    for (const row of TABLE_2_5) {
      for (const [radius, expected] of [[125, row.ecl], [200, row.klm]] as const) {
        const s = helixPathToRadius(row.pt, radius);
        if (expected === null) {
          expect(s).toBeNull(); // pT 0.3 GeV/c curls before r = 2 m (table: "—")
          continue;
        }
        expect(s).not.toBeNull();
        let decayed = 0;
        for (let i = 0; i < n; i++) if (sampleDecayDistance(row.pt, PION_MASS, PION_CTAU, rng) < s!) decayed++;
        const fraction = decayed / n;
        expect(Math.abs(fraction / expected - 1), `pT ${row.pt} r ${radius}: ${fraction} vs ${expected}`).toBeLessThan(0.2);
        // the closed form agrees with the table to its printed precision (0.007 is ±7 %)
        expect(Math.abs(decayProbability(s!, row.pt, PION_MASS, PION_CTAU) / expected - 1)).toBeLessThan(0.1);
      }
    }
  });

  it("a proper-length budget spent step by step gives the same decay distance as the lab exponential", () => {
    const rng = new Random(7);
    const p = 0.8;
    const n = 100_000;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      // spend the budget in 10 cm steps at constant p; the decay point is where it runs out
      let budget = sampleProperDecayLength(PION_CTAU, rng);
      let travelled = 0;
      const step = 10;
      for (;;) {
        const cost = properLengthOfStep(step, p, PION_MASS);
        if (cost >= budget) {
          travelled += (budget / cost) * step;
          break;
        }
        budget -= cost;
        travelled += step;
      }
      sum += travelled;
    }
    const mean = sum / n;
    const expected = decayLengthCm(p, PION_MASS, PION_CTAU);
    // standard error of an exponential mean: λ/√n = 0.32 %
    expect(Math.abs(mean / expected - 1)).toBeLessThan(0.013);
    expect(properLengthOfStep(1, 0, PION_MASS)).toBe(Infinity);
  });
});

describe("π → μν two-body kinematics", () => {
  it("p* = (m_π² − m_μ²)/2m_π = 29.79 MeV/c (PDG)", () => {
    expect(pionDecayMomentum() * 1000).toBeCloseTo(29.79, 2);
  });

  it("conserves four-momentum with a massless neutrino, keeps charge and position, maps the PDG code", () => {
    const rng = new Random(11);
    for (let i = 0; i < 2000; i++) {
      const positive = i % 2 === 0;
      const pi = pion(rng.range(-2, 2), rng.range(-2, 2), rng.range(-2, 2), positive);
      const mu = decayPionToMuon(pi, rng);
      expect(mu.pdg).toBe(positive ? PDG.muPlus : PDG.muMinus);
      expect(mu.charge).toBe(pi.charge);
      expect(mu.mass).toBe(MUON_MASS);
      expect([mu.x, mu.y, mu.z]).toEqual([1, 2, 3]);
      const ePi = Math.hypot(pi.px, pi.py, pi.pz, PION_MASS);
      const eMu = Math.hypot(mu.px, mu.py, mu.pz, MUON_MASS);
      const nuE = ePi - eMu;
      const nuP = Math.hypot(pi.px - mu.px, pi.py - mu.py, pi.pz - mu.pz);
      expect(nuE).toBeGreaterThan(0);
      expect(Math.abs(nuE * nuE - nuP * nuP)).toBeLessThan(1e-12 * Math.max(1, ePi * ePi));
      // the muon's momentum in the pion rest frame is p*: invariant (p_π·p_μ) = m_π E*
      const dot = ePi * eMu - (pi.px * mu.px + pi.py * mu.py + pi.pz * mu.pz);
      const eStar = (PION_MASS ** 2 + MUON_MASS ** 2) / (2 * PION_MASS);
      expect(dot / PION_MASS).toBeCloseTo(eStar, 10);
    }
  });

  it("isotropic decay gives a lab muon energy flat between γ(E* − βp*) and γ(E* + βp*)", () => {
    const rng = new Random(5);
    const p = 1.0;
    const ePi = Math.hypot(p, PION_MASS);
    const gamma = ePi / PION_MASS, beta = p / ePi;
    const eStar = (PION_MASS ** 2 + MUON_MASS ** 2) / (2 * PION_MASS);
    const pStar = (PION_MASS ** 2 - MUON_MASS ** 2) / (2 * PION_MASS);
    const eMin = gamma * (eStar - beta * pStar), eMax = gamma * (eStar + beta * pStar);
    const n = 100_000;
    const bins = new Array<number>(10).fill(0);
    let sum = 0;
    let lowest = Infinity, highest = -Infinity;
    for (let i = 0; i < n; i++) {
      const mu = decayPionToMuon(pion(0, p, 0), rng);
      const e = Math.hypot(mu.px, mu.py, mu.pz, MUON_MASS);
      lowest = Math.min(lowest, e);
      highest = Math.max(highest, e);
      sum += e;
      bins[Math.min(9, Math.floor(((e - eMin) / (eMax - eMin)) * 10))]++;
    }
    expect(lowest).toBeGreaterThanOrEqual(eMin - 1e-12);
    expect(highest).toBeLessThanOrEqual(eMax + 1e-12);
    expect(sum / n / (gamma * eStar)).toBeCloseTo(1, 3);
    for (const b of bins) expect(Math.abs(b / (n / 10) - 1)).toBeLessThan(0.05); // 1 % standard error per bin
  });

  it("a pion at rest gives a 4.1 MeV muon (physics.md §5.2)", () => {
    const mu = decayPionToMuon(pion(0, 0, 0), new Random(3));
    const kinetic = Math.hypot(mu.px, mu.py, mu.pz, MUON_MASS) - MUON_MASS;
    expect(kinetic * 1000).toBeCloseTo(4.12, 2);
  });

  it("is reproducible for a seed and rejects a non-pion", () => {
    const a = decayPionToMuon(pion(0.3, 0.4, 0.5), new Random(99));
    const b = decayPionToMuon(pion(0.3, 0.4, 0.5), new Random(99));
    const c = decayPionToMuon(pion(0.3, 0.4, 0.5), new Random(100));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const muon = { ...pion(1, 0, 0), pdg: PDG.muMinus, mass: MUON_MASS };
    expect(() => decayPionToMuon(muon, new Random(1))).toThrow(InputError);
    expect(() => decayLengthCm(1, 0, PION_CTAU)).toThrow(InputError);
  });
});
