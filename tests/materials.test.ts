import { describe, expect, it } from "vitest";
import {
  csdaRange,
  energyLossVariance,
  highlandAngle,
  landauDensity,
  LANDAU_MOST_PROBABLE,
  landauXi,
  maxEnergyTransfer,
  rangeTable,
  sampleEnergyLoss,
  stoppingPower,
  densityEffect,
  materialByName,
} from "../src/geometry/materials.js";
import { CSI, IRON, MUON_MASS, PION_MASS, ELECTRON_MASS } from "../src/constants.js";
import { Random } from "../src/sim/random.js";
import { InputError } from "../src/errors.js";

/** physics.md §2.2: p (GeV/c), R_Fe (cm), R_CsI (cm), dE/dx Fe (MeV/cm), dE/dx CsI (MeV/cm) for muons. */
const MUON_TABLE: [number, number, number, number, number][] = [
  [0.2, 7.21, 15.17, 12.23, 5.9],
  [0.3, 15.04, 31.29, 11.48, 5.61],
  [0.4, 23.41, 48.34, 11.43, 5.63],
  [0.5, 31.88, 65.49, 11.55, 5.72],
  [0.6, 40.32, 82.5, 11.71, 5.82],
  [0.7, 48.7, 99.3, 11.87, 5.92],
  [0.8, 56.99, 115.88, 12.02, 6.02],
  [0.9, 65.19, 132.25, 12.17, 6.11],
  [1.0, 73.32, 148.42, 12.3, 6.19],
  [1.2, 89.34, 180.23, 12.54, 6.33],
  [1.5, 112.91, 226.83, 12.84, 6.5],
  [2.0, 151.19, 302.23, 13.22, 6.73],
  [2.5, 188.53, 375.51, 13.52, 6.9],
  [3.0, 225.17, 447.21, 13.75, 7.03],
  [4.0, 296.88, 587.14, 14.11, 7.24],
  [5.0, 367.06, 723.68, 14.37, 7.4],
];

describe("Bethe–Bloch with the Sternheimer density effect (physics.md §2.1–2.2)", () => {
  it("muon dE/dx in Fe and CsI within 1 % of physics.md §2.2", () => {
    for (const [p, , , fe, csi] of MUON_TABLE) {
      expect(stoppingPower(IRON, MUON_MASS, p) * 1e3).toBeCloseTo(fe, 0);
      expect(Math.abs(stoppingPower(IRON, MUON_MASS, p) * 1e3 / fe - 1)).toBeLessThan(0.01);
      expect(Math.abs(stoppingPower(CSI, MUON_MASS, p) * 1e3 / csi - 1)).toBeLessThan(0.01);
    }
  });

  it("minimum ionisation within 0.5 % of the PDG values (Fe 1.451, CsI 1.243 MeV cm²/g)", () => {
    const minimum = (m: typeof IRON) => {
      let best = Infinity;
      for (let p = 0.15; p < 1; p += 0.001) best = Math.min(best, stoppingPower(m, MUON_MASS, p));
      return (best * 1e3) / m.density;
    };
    expect(Math.abs(minimum(IRON) / 1.451 - 1)).toBeLessThan(0.005);
    expect(Math.abs(minimum(CSI) / 1.243 - 1)).toBeLessThan(0.005);
  });

  it("the density effect follows the Sternheimer branches (δ0 below x0, 2 ln10·x − C̄ above x1)", () => {
    // Fe: x0 = −0.0012, x1 = 3.1531, δ0 = 0.12, C̄ = 4.2911
    expect(densityEffect(IRON, Math.pow(10, -0.5))).toBeCloseTo(0.12 * Math.pow(10, 2 * (-0.5 + 0.0012)), 10);
    expect(densityEffect(IRON, Math.pow(10, 4))).toBeCloseTo(2 * Math.LN10 * 4 - 4.2911, 10);
    // continuity at x1
    const below = densityEffect(IRON, Math.pow(10, 3.1531 - 1e-9));
    const above = densityEffect(IRON, Math.pow(10, 3.1531 + 1e-9));
    expect(Math.abs(below - above)).toBeLessThan(1e-6);
  });

  it("W_max reduces to 2 m_e β²γ² for a heavy particle", () => {
    expect(maxEnergyTransfer(3, 1e6) / (2 * ELECTRON_MASS * 9)).toBeCloseTo(1, 6);
    expect(maxEnergyTransfer(3, MUON_MASS)).toBeLessThan(2 * ELECTRON_MASS * 9);
  });

  it("materialByName knows the four materials and rejects others with a typed error", () => {
    expect(materialByName("Fe")).toBe(IRON);
    expect(materialByName("CsI")).toBe(CSI);
    expect(() => materialByName("Pb" as never)).toThrow(InputError);
  });
});

describe("CSDA ranges (physics.md §2.2)", () => {
  it("muon range in iron within 3 % of §2.2", () => {
    for (const [p, rangeFe] of MUON_TABLE) expect(Math.abs(csdaRange(IRON, MUON_MASS, p) / rangeFe - 1)).toBeLessThan(0.03);
  });

  it("muon range in CsI within 3 % of §2.2", () => {
    for (const [p, , rangeCsI] of MUON_TABLE) expect(Math.abs(csdaRange(CSI, MUON_MASS, p) / rangeCsI - 1)).toBeLessThan(0.03);
  });

  it("pion ranges (ionisation only) within 3 % of §2.2", () => {
    const pions: [number, number, number][] = [[0.2, 5.2, 11.1], [0.3, 12.2, 25.6], [0.5, 28.5, 59.0], [0.7, 45.4, 93.2], [1.0, 70.6, 143.6], [1.5, 111.2, 224.5], [2.0, 150.5, 302.2]];
    for (const [p, fe, csi] of pions) {
      expect(Math.abs(csdaRange(IRON, PION_MASS, p) / fe - 1)).toBeLessThan(0.03);
      expect(Math.abs(csdaRange(CSI, PION_MASS, p) / csi - 1)).toBeLessThan(0.03);
    }
  });

  it("the range table inverts: kineticAfter(T, R(T)/2) has half the range left", () => {
    const table = rangeTable(IRON, MUON_MASS);
    for (const t of [0.05, 0.3, 1.0, 4.0]) {
      const r = table.range(t);
      expect(table.range(table.kineticAfter(t, r / 2)) / (r / 2)).toBeCloseTo(1, 4);
      expect(table.kineticAfter(t, r * 1.01)).toBe(0);
    }
  });

  it("rejects a non-positive momentum", () => {
    expect(() => csdaRange(IRON, MUON_MASS, 0)).toThrow(InputError);
    expect(() => csdaRange(IRON, MUON_MASS, Number.NaN)).toThrow(InputError);
  });

  it("muon stopping distance in iron with straggling: mean within 3 % of §2.2, range straggling 2–6 %", () => {
    // steps of at most 15 % momentum loss, as the stepper takes them
    const rng = new Random(2024);
    const table = rangeTable(IRON, MUON_MASS);
    for (const [p, rangeFe] of [[0.5, 31.88], [1.0, 73.32], [2.0, 151.19]] as const) {
      const n = 2000;
      const distances: number[] = [];
      for (let k = 0; k < n; k++) {
        let t = Math.hypot(p, MUON_MASS) - MUON_MASS;
        let x = 0;
        while (t > 0.002) {
          const pp = Math.sqrt(t * (t + 2 * MUON_MASS));
          const residual = table.range(t) - table.range(0.002);
          const target = pp * 0.85;
          let step = table.range(t) - table.range(Math.hypot(target, MUON_MASS) - MUON_MASS);
          if (residual < 3) step = residual + 1e-3;
          const mean = t - table.kineticAfter(t, step);
          const e = Math.hypot(pp, MUON_MASS);
          const loss = sampleEnergyLoss(IRON, step, mean, t, { beta: pp / e, betaGamma: pp / MUON_MASS, mass: MUON_MASS }, rng);
          if (loss >= t - 0.002) {
            x += step * ((t - 0.002) / Math.max(loss, 1e-12));
            break;
          }
          t -= loss;
          x += step;
        }
        distances.push(x);
      }
      const mean = distances.reduce((a, b) => a + b, 0) / n;
      const sd = Math.sqrt(distances.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
      expect(Math.abs(mean / rangeFe - 1)).toBeLessThan(0.03);
      expect(sd / mean).toBeGreaterThan(0.02);
      expect(sd / mean).toBeLessThan(0.06);
    }
  });
});

describe("multiple scattering: Highland (physics.md §2.3)", () => {
  it("θ0 for muons within 2 % of the §2.3 table (30 cm CsI, 4.7 cm Fe)", () => {
    const table: [number, number, number][] = [[0.3, 214, 82], [0.5, 124, 47], [0.7, 87, 33], [1.0, 61, 23], [1.5, 40, 15], [2.0, 30, 12], [3.0, 20, 8]];
    for (const [p, csi, fe] of table) {
      const beta = p / Math.hypot(p, MUON_MASS);
      const tCsI = highlandAngle(CSI, 30, p, beta) * 1e3;
      const tFe = highlandAngle(IRON, 4.7, p, beta) * 1e3;
      // the table is rounded to 1 mrad
      expect(Math.abs(tCsI - csi)).toBeLessThan(Math.max(0.02 * csi, 0.5));
      expect(Math.abs(tFe - fe)).toBeLessThan(Math.max(0.02 * fe, 0.5));
    }
  });

  it("is zero for a zero step", () => {
    expect(highlandAngle(IRON, 0, 1, 0.99)).toBe(0);
  });
});

describe("energy-loss fluctuations (physics.md §5.1)", () => {
  it("the Landau density is normalised and peaks at λ ≈ −0.2228", () => {
    let sum = 0;
    let best = -Infinity;
    let argmax = 0;
    for (let v = -6; v < 2e4; v += v < 50 ? 0.001 : 0.05) {
      const h = v < 50 ? 0.001 : 0.05;
      const d = landauDensity(v);
      sum += d * h;
      if (d > best) {
        best = d;
        argmax = v;
      }
    }
    // the tail beyond 2e4 carries ≈ 1/2e4 of the probability
    expect(sum).toBeGreaterThan(0.999);
    expect(sum).toBeLessThan(1.0005);
    expect(argmax).toBeCloseTo(LANDAU_MOST_PROBABLE, 2);
  });

  it("thin-step losses keep the Bethe–Bloch mean (1 %) and the PDG most probable value Δp (5 %)", () => {
    const rng = new Random(99);
    const p = 1.0;
    const e = Math.hypot(p, MUON_MASS);
    const beta = p / e;
    const kin = { beta, betaGamma: p / MUON_MASS, mass: MUON_MASS };
    const step = 5; // cm of CsI
    const mean = stoppingPower(CSI, MUON_MASS, p) * step;
    const n = 200000;
    let sum = 0;
    const bins = new Float64Array(400);
    const binWidth = 0.0002; // 0.2 MeV
    for (let i = 0; i < n; i++) {
      const loss = sampleEnergyLoss(CSI, step, mean, e - MUON_MASS, kin, rng);
      sum += loss;
      const b = Math.floor(loss / binWidth);
      if (b < bins.length) bins[b]! += 1;
    }
    expect(Math.abs(sum / n / mean - 1)).toBeLessThan(0.01);
    let mode = 0;
    for (let b = 1; b < bins.length; b++) if (bins[b]! > bins[mode]!) mode = b;
    const mpv = (mode + 0.5) * binWidth;
    // PDG: Δp = ξ[ln(2mc²β²γ²/I) + ln(ξ/I) + 0.200 − β² − δ]
    const xi = landauXi(CSI, step, beta);
    const bg = p / MUON_MASS;
    const deltaP = xi * (Math.log((2 * ELECTRON_MASS * bg * bg) / CSI.meanExcitation) + Math.log(xi / CSI.meanExcitation) + 0.2 - beta * beta - densityEffect(CSI, bg));
    expect(Math.abs(mpv / deltaP - 1)).toBeLessThan(0.05);
  });

  it("thick, slow steps are Gaussian with the Bohr width", () => {
    const rng = new Random(5);
    const p = 0.25;
    const e = Math.hypot(p, MUON_MASS);
    const kin = { beta: p / e, betaGamma: p / MUON_MASS, mass: MUON_MASS };
    const step = 10; // cm of Fe: κ ≫ 0.3
    const mean = 0.08;
    const n = 50000;
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const l = sampleEnergyLoss(IRON, step, mean, e - MUON_MASS, kin, rng);
      s1 += l;
      s2 += l * l;
    }
    const m = s1 / n;
    const sd = Math.sqrt(s2 / n - m * m);
    expect(m / mean).toBeCloseTo(1, 2);
    expect(sd / Math.sqrt(energyLossVariance(IRON, step, kin))).toBeCloseTo(1, 1);
  });
});
