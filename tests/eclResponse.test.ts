import { describe, expect, it } from "vitest";
import { InputError } from "../src/errors.js";
import {
  ECL_BARREL_FRONT_RADIUS,
  cellIdFromThetaPhi,
  crystalCentre,
  crystalPhi,
  crystalTheta,
  crystalTowards,
  ringThetaDeg,
  thetaPhiFromCellId,
} from "../src/geometry/ecl.js";
import { eclNeighboursN } from "../src/geometry/eclNeighbours.js";
import {
  ECL_BACKGROUND_DEPOSITS_PER_CRYSTAL,
  ECL_BACKGROUND_MIN_ENERGY,
  ECL_BACKGROUND_REGION_FACTOR,
  ECL_BACKGROUND_SLOPE,
  ECL_DELTA_RAY_LEAKAGE_FRACTION,
  ECL_HADRONIC_PROFILE_RADIUS,
} from "../src/constants.js";
import {
  ECL_EM_PROFILE_RADIUS,
  addEclBackground,
  applyEclReadout,
  eclDigitsAround,
  eclDigitsFromDeposits,
  lateralContainment,
  type EclEnergyDeposit,
} from "../src/sim/eclResponse.js";
import { Random } from "../src/sim/random.js";
import { transportParticle } from "../src/sim/transport.js";
import { PDG, type DetectorConditions } from "../src/sim/types.js";

const MeV = 0.001;
const DEG = Math.PI / 180;
const CSI_MOLIERE_RADIUS = 3.53; // cm, physics.md §2.1 (X0 · 21.2052 MeV / E_c)

function conditions(over: Partial<DetectorConditions> = {}): DetectorConditions {
  return { fieldScale: 1, klmEfficiency: 0.96, klmBackground: 1, eclBackground: 1, eclThreshold: 1 * MeV, ...over };
}

/** Unit vector of (θ, φ). */
function direction(theta: number, phi: number) {
  return { x: Math.sin(theta) * Math.cos(phi), y: Math.sin(theta) * Math.sin(phi), z: Math.cos(theta) };
}

/**
 * A straight MIP through the barrel: starts on the front face (r = 125 cm) in the direction
 * (θ0, φ0) seen from the IP, travels 30 cm in the direction (θ0, φ0 + tilt), 1 cm steps of dE each.
 */
function mipTrack(theta0: number, phi0: number, tilt: number, dEPerCm: number): EclEnergyDeposit[] {
  const start = direction(theta0, phi0);
  const s = ECL_BARREL_FRONT_RADIUS / Math.sin(theta0);
  const dir = direction(theta0, phi0 + tilt);
  const out: EclEnergyDeposit[] = [];
  for (let i = 0; i < 30; i++) {
    const l = i + 0.5;
    out.push({ x: start.x * s + dir.x * l, y: start.y * s + dir.y * l, z: start.z * s + dir.z * l, energy: dEPerCm * MeV, kind: "ionisation" });
  }
  return out;
}

function sum(m: ReadonlyMap<number, number>): number {
  let s = 0;
  for (const v of m.values()) s += v;
  return s;
}

function countAbove(m: ReadonlyMap<number, number>, threshold: number): number {
  let n = 0;
  for (const v of m.values()) if (v >= threshold) n++;
  return n;
}

/** Energy-weighted rms lateral distance (cm at r = 140 cm) of a crystal map around a centre direction. */
function lateralRms(m: ReadonlyMap<number, number>, theta0: number, phi0: number): number {
  let s = 0, s2 = 0;
  for (const [cellId, e] of m) {
    const dTheta = crystalTheta(cellId) - theta0;
    let dPhi = crystalPhi(cellId) - phi0;
    dPhi -= 2 * Math.PI * Math.round(dPhi / (2 * Math.PI));
    const d2 = (140 * dTheta) ** 2 + (140 * Math.sin(theta0) * dPhi) ** 2;
    s += e;
    s2 += e * d2;
  }
  return Math.sqrt(s2 / s);
}

describe("MIP (muon) deposits in the ECL (physics.md §5.1)", () => {
  const centre = cellIdFromThetaPhi(41, 20); // θ = 88.87°, CNN acceptance
  const theta0 = crystalTheta(centre), phi0 = crystalPhi(centre);

  it("a pointing MIP through a crystal centre keeps ≥ 98 % in that crystal and fills 1–3 crystals above 1 MeV", () => {
    const counts: number[] = [];
    for (let seed = 1; seed <= 300; seed++) {
      const deposits = mipTrack(theta0, phi0, 0, 6.0); // 5.6–6.2 MeV/cm, §5.1
      const m = eclDigitsFromDeposits(deposits, new Random(seed), conditions());
      expect(sum(m)).toBeLessThanOrEqual(0.18 + 1e-12); // never more than deposited
      expect(m.get(centre)!).toBeGreaterThanOrEqual(0.18 * (1 - ECL_DELTA_RAY_LEAKAGE_FRACTION) - 1e-12);
      counts.push(countAbove(m, 1 * MeV));
    }
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...counts)).toBeLessThanOrEqual(3);
    // the δ-ray leakage of 2 % of 180 MeV = 3.6 MeV is shared by the neighbours: mostly just the one crystal
    expect(counts.reduce((a, b) => a + b, 0) / counts.length).toBeLessThan(1.6);
  });

  it("a MIP tilted by 10° in φ crosses into the next crystal: 2–3 crystals above 1 MeV", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const m = eclDigitsFromDeposits(mipTrack(theta0, phi0, 10 * DEG, 6.0), new Random(seed), conditions());
      const n = countAbove(m, 1 * MeV);
      expect(n).toBeGreaterThanOrEqual(2);
      expect(n).toBeLessThanOrEqual(3);
      // 30 cm × tan 10° = 5.3 cm of lateral travel ≈ one crystal pitch: the next crystal holds a good share
      const next = cellIdFromThetaPhi(41, 21);
      expect(m.get(next)! / sum(m)).toBeGreaterThan(0.2);
    }
  });

  it("δ-ray/bremsstrahlung leakage puts of order 1 % of a centred MIP's energy into the neighbours (physics.md §5.1: 1–3 %)", () => {
    const m = eclDigitsFromDeposits(mipTrack(theta0, phi0, 0, 6.0), new Random(1), conditions());
    const outside = (sum(m) - m.get(centre)!) / 0.18;
    expect(outside).toBeGreaterThan(0.008);
    expect(outside).toBeLessThan(0.03);
    // a track 1 cm from the crystal's φ edge leaks more into that neighbour
    const edge = eclDigitsFromDeposits(mipTrack(theta0, phi0 + (1.8 / 140), 0, 6.0), new Random(1), conditions());
    const right = cellIdFromThetaPhi(41, 21);
    expect(edge.get(right)!).toBeGreaterThan(2 * (m.get(right) ?? 0));
    // and none of it is lost beyond the 5×5 except the far tail of the Molière profile
    expect(sum(m)).toBeGreaterThan(0.18 * (1 - ECL_DELTA_RAY_LEAKAGE_FRACTION * (1 - lateralContainment(2.5 * 5.4, CSI_MOLIERE_RADIUS))) - 1e-12);
  });
});

describe("Electromagnetic and hadronic lateral spread (physics.md §5.2)", () => {
  const centre = cellIdFromThetaPhi(41, 20);
  const theta0 = crystalTheta(centre), phi0 = crystalPhi(centre);
  const depth = 5; // cm behind the front face
  const distance = ECL_BARREL_FRONT_RADIUS / Math.sin(theta0) + depth;
  const at = direction(theta0, phi0);
  const point = { x: at.x * distance, y: at.y * distance, z: at.z * distance };

  it("the EM profile holds 90 % of the energy within one CsI Molière radius (3.53 cm) and ~97 % within two", () => {
    expect(ECL_EM_PROFILE_RADIUS).toBeCloseTo(CSI_MOLIERE_RADIUS / 3, 12);
    expect(lateralContainment(CSI_MOLIERE_RADIUS)).toBeCloseTo(0.9, 12);
    expect(lateralContainment(2 * CSI_MOLIERE_RADIUS)).toBeGreaterThan(0.97);
  });

  it("an EM deposit at a crystal centre keeps the fraction the profile predicts between the in- and circumscribed circles", () => {
    // half-widths of the crystal's angular cell at this distance
    const ring = ringThetaDeg(41);
    const halfTheta = (distance * (ring.max - ring.min) * DEG) / 2;
    const halfPhi = (distance * Math.sin(theta0) * Math.PI) / 144;
    const lower = lateralContainment(Math.min(halfTheta, halfPhi));
    const upper = lateralContainment(Math.hypot(halfTheta, halfPhi));
    let central = 0, in3x3 = 0, total = 0;
    const n = 400;
    const block3 = new Set(eclNeighboursN(centre, 1));
    for (let seed = 1; seed <= n; seed++) {
      const m = eclDigitsFromDeposits([{ ...point, energy: 0.5, kind: "electromagnetic" }], new Random(seed), conditions());
      const e = sum(m);
      // all but the profile's tail beyond the 5×5 (half-width ≥ 2.5 crystal pitches ≈ 13 cm) is recorded
      expect(e).toBeLessThanOrEqual(0.5 + 1e-12);
      expect(e).toBeGreaterThan(0.5 * lateralContainment(5 * Math.min(halfTheta, halfPhi)));
      total += e;
      central += m.get(centre) ?? 0;
      for (const [c, v] of m) if (block3.has(c)) in3x3 += v;
    }
    const fCentral = central / total;
    expect(fCentral).toBeGreaterThan(lower - 0.01);
    expect(fCentral).toBeLessThan(upper + 0.01);
    // shower spreads: a visible share leaves the struck crystal, and the 3×3 holds at least the profile inside 1.5 pitches
    expect(fCentral).toBeLessThan(0.95);
    expect(in3x3 / total).toBeGreaterThan(lateralContainment(3 * Math.min(halfTheta, halfPhi)) - 0.01);
  });

  it("the analytic crystal shares agree with Monte-Carlo sampling of the same lateral profile (barrel and endcap)", () => {
    // independent method: sample the 2-D profile in the plane transverse to the IP ray, map each sample to its crystal
    const cases = [
      { theta: 63.3 * DEG, phi: 0.1234, depth: 3, radius: ECL_EM_PROFILE_RADIUS, kind: "electromagnetic" as const },
      { theta: 100.2 * DEG, phi: 2.5, depth: 12, radius: ECL_HADRONIC_PROFILE_RADIUS, kind: "hadronic" as const },
      { theta: 20.7 * DEG, phi: -1.1, depth: 5, radius: ECL_EM_PROFILE_RADIUS, kind: "electromagnetic" as const },
      { theta: 140.0 * DEG, phi: 0.7, depth: 5, radius: ECL_EM_PROFILE_RADIUS, kind: "electromagnetic" as const },
    ];
    for (const c of cases) {
      const front = c.theta < 31.4 * DEG ? 196.0 / Math.cos(c.theta) : c.theta > 130.7 * DEG ? -102.02 / Math.cos(c.theta) : ECL_BARREL_FRONT_RADIUS / Math.sin(c.theta);
      const dist = front + c.depth;
      const u = direction(c.theta, c.phi);
      const thetaHat = { x: Math.cos(c.theta) * Math.cos(c.phi), y: Math.cos(c.theta) * Math.sin(c.phi), z: -Math.sin(c.theta) };
      const phiHat = { x: -Math.sin(c.phi), y: Math.cos(c.phi), z: 0 };
      const p = { x: u.x * dist, y: u.y * dist, z: u.z * dist };
      const analytic = eclDigitsFromDeposits([{ ...p, energy: 1, kind: c.kind }], new Random(1), conditions());
      const rng = new Random(11);
      const n = 200_000;
      const mc = new Map<number, number>();
      for (let i = 0; i < n; i++) {
        const v = rng.uniform();
        const r = c.radius * Math.sqrt(v / (1 - v));
        const a = 2 * Math.PI * rng.uniform();
        const q = {
          x: p.x + r * (Math.cos(a) * thetaHat.x + Math.sin(a) * phiHat.x),
          y: p.y + r * (Math.cos(a) * thetaHat.y + Math.sin(a) * phiHat.y),
          z: p.z + r * (Math.cos(a) * thetaHat.z + Math.sin(a) * phiHat.z),
        };
        const cell = crystalTowards(q.x, q.y, q.z);
        if (cell !== null) mc.set(cell, (mc.get(cell) ?? 0) + 1 / n);
      }
      let compared = 0;
      for (const [cell, share] of analytic) {
        if (share < 0.01) continue;
        const expected = mc.get(cell) ?? 0;
        const sigma = Math.sqrt((expected * (1 - expected)) / n);
        expect(Math.abs(share - expected), `θ ${(c.theta / DEG).toFixed(1)}°, cell ${cell}`).toBeLessThan(5 * sigma + 0.004);
        compared++;
      }
      expect(compared).toBeGreaterThanOrEqual(3);
    }
  });

  it("an EM shower on the φ = 0 seam splits evenly between phiId 143 and phiId 0", () => {
    const theta = crystalTheta(cellIdFromThetaPhi(30, 0));
    const d = ECL_BARREL_FRONT_RADIUS / Math.sin(theta) + 5;
    const m = eclDigitsFromDeposits([{ x: d * Math.sin(theta), y: 0, z: d * Math.cos(theta), energy: 0.4, kind: "electromagnetic" }], new Random(1), conditions());
    const left = m.get(cellIdFromThetaPhi(30, 143))!, right = m.get(cellIdFromThetaPhi(30, 0))!;
    expect(left).toBeCloseTo(right, 12);
    expect(left + right).toBeGreaterThan(0.4 * 0.6);
    expect(m.get(cellIdFromThetaPhi(30, 142))!).toBeCloseTo(m.get(cellIdFromThetaPhi(30, 1))!, 12);
  });

  it("a hadronic blob spreads wider than an EM shower of the same energy (3×3 → 5×5)", () => {
    const stats = (kind: "electromagnetic" | "hadronic") => {
      const m = eclDigitsFromDeposits([{ ...point, energy: 0.3, kind }], new Random(1), conditions());
      const block3 = new Set(eclNeighboursN(centre, 1));
      let out = 0;
      for (const [cell, v] of m) if (!block3.has(cell)) out += v;
      return { crystals: countAbove(m, 1 * MeV), rms: lateralRms(m, theta0, phi0), central: m.get(centre)! / sum(m), outside3x3: out / sum(m) };
    };
    const em = stats("electromagnetic");
    const had = stats("hadronic");
    // an EM shower of 300 MeV lights the whole 3×3 above 1 MeV and keeps ≈87 % in the struck crystal
    expect(em.crystals).toBeGreaterThanOrEqual(9);
    expect(em.outside3x3).toBeLessThan(0.03);
    // the hadronic profile (R = R_M instead of R_M/3) reaches the 5×5 ring
    expect(ECL_HADRONIC_PROFILE_RADIUS).toBeGreaterThan(ECL_EM_PROFILE_RADIUS);
    expect(had.crystals).toBeGreaterThan(em.crystals);
    expect(had.rms).toBeGreaterThan(1.5 * em.rms);
    expect(had.central).toBeLessThan(em.central - 0.3);
    expect(had.outside3x3).toBeGreaterThan(0.05);
    expect(had.outside3x3).toBeGreaterThan(3 * em.outside3x3);
  });

  it("each hadronic blob is spread around its own position (the transport places the blobs)", () => {
    // the transport places 0–3 blobs at an exponential distance (HADRONIC_BLOB_DISTANCE); two placements give different images
    const blob = (shift: number) => {
      // shift along φ-hat = (−sinφ, cosφ, 0)
      const p = { x: point.x - shift * Math.sin(phi0), y: point.y + shift * Math.cos(phi0), z: point.z };
      return eclDigitsFromDeposits([{ ...point, energy: 0.1, kind: "hadronic" }, { ...p, energy: 0.1, kind: "hadronic" }], new Random(1), conditions());
    };
    const a = blob(8), b = blob(-8);
    expect(a.get(cellIdFromThetaPhi(41, 22)) ?? 0).toBeGreaterThan(10 * (b.get(cellIdFromThetaPhi(41, 22)) ?? 0));
  });

  it("is reproducible for a seed and rejects bad deposits with InputError", () => {
    const deposits: EclEnergyDeposit[] = [{ ...point, energy: 0.2, kind: "hadronic" }, { ...point, energy: 0.1, kind: "electromagnetic" }, ...mipTrack(theta0, phi0, 0.1, 6)];
    const a = eclDigitsFromDeposits(deposits, new Random(5), conditions());
    const b = eclDigitsFromDeposits(deposits, new Random(5), conditions());
    expect([...a.entries()]).toEqual([...b.entries()]);
    const bad = (d: Partial<EclEnergyDeposit>) => () =>
      eclDigitsFromDeposits([{ ...point, energy: 0.1, kind: "ionisation", ...d } as EclEnergyDeposit], new Random(1), conditions());
    expect(bad({ x: NaN })).toThrow(InputError);
    expect(bad({ energy: -0.01 })).toThrow(InputError);
    expect(bad({ energy: Infinity })).toThrow(InputError);
    expect(bad({ kind: "nuclear" as "hadronic" })).toThrow(InputError);
  });

  it("energy pointing into a gap or outside the ECL is lost; the map merges several tracks", () => {
    const gap = direction(129.5 * DEG, 0);
    const m = eclDigitsFromDeposits([{ x: gap.x * 170, y: gap.y * 170, z: gap.z * 170, energy: 0.1, kind: "ionisation" }], new Random(1), conditions());
    expect(sum(m)).toBe(0);
    const merged = new Map<number, number>();
    eclDigitsFromDeposits([{ ...point, energy: 0.1, kind: "electromagnetic" }], new Random(1), conditions(), merged);
    eclDigitsFromDeposits([{ ...point, energy: 0.2, kind: "electromagnetic" }], new Random(2), conditions(), merged);
    const single = sum(eclDigitsFromDeposits([{ ...point, energy: 0.1, kind: "electromagnetic" }], new Random(3), conditions()));
    expect(sum(merged)).toBeCloseTo(3 * single, 12);
  });
});

describe("ECL beam background ×0/×1/×3 (physics.md §5.3)", () => {
  const mu1 = ECL_BACKGROUND_DEPOSITS_PER_CRYSTAL; // mean deposits per barrel crystal at ×1
  /** P(crystal energy > thr) for Poisson(μ) deposits of energy E_min + Exp(s), thr < 2 E_min + … : one deposit must exceed thr, two always do when 2·E_min ≥ thr. */
  function pAbove(mu: number, thr: number): number {
    expect(2 * ECL_BACKGROUND_MIN_ENERGY).toBeGreaterThanOrEqual(thr); // true for thr = 1 MeV
    const p0 = Math.exp(-mu), p1 = mu * Math.exp(-mu);
    return p1 * Math.exp(-(thr - ECL_BACKGROUND_MIN_ENERGY) / ECL_BACKGROUND_SLOPE) + (1 - p0 - p1);
  }
  function barrelFractionAbove(level: number, thr: number, events: number, seed: number): number {
    const rng = new Random(seed);
    let above = 0;
    for (let e = 0; e < events; e++) {
      const m = addEclBackground(new Map(), rng, conditions({ eclBackground: level }));
      for (const [c, v] of m) if (c >= 1153 && c <= 7776 && v > thr) above++;
    }
    return above / (events * 6624);
  }

  it("×0 adds nothing", () => {
    const m = new Map([[3611, 0.18]]);
    addEclBackground(m, new Random(1), conditions({ eclBackground: 0 }));
    expect([...m.entries()]).toEqual([[3611, 0.18]]);
  });

  it("×1 and ×3: the fraction of barrel crystals above 1 MeV matches the documented spectrum", () => {
    for (const level of [1, 3]) {
      const expected = pAbove(mu1 * level, 1 * MeV);
      const measured = barrelFractionAbove(level, 1 * MeV, 60, 100 + level);
      const sigma = Math.sqrt((expected * (1 - expected)) / (60 * 6624));
      expect(Math.abs(measured - expected)).toBeLessThan(5 * sigma);
    }
    // nominal level: a few to ≈20 % of crystals above 1 MeV, i.e. ≈1–10 of the 49 window pixels (§5.3)
    expect(49 * pAbove(mu1, 1 * MeV)).toBeGreaterThan(1);
    expect(49 * pAbove(mu1, 1 * MeV)).toBeLessThan(10);
    expect(49 * pAbove(3 * mu1, 1 * MeV)).toBeGreaterThan(2.5 * 49 * pAbove(mu1, 1 * MeV));
  });

  it("the deposit spectrum is exponential with the documented 2–3 MeV slope", () => {
    expect(ECL_BACKGROUND_SLOPE).toBeGreaterThanOrEqual(2 * MeV);
    expect(ECL_BACKGROUND_SLOPE).toBeLessThanOrEqual(3 * MeV);
    // at a low level almost every crystal holds one deposit: the mean excess above 5 MeV is the slope (memoryless)
    const rng = new Random(77);
    let s = 0, n = 0;
    for (let e = 0; e < 600; e++) {
      const m = addEclBackground(new Map(), rng, conditions({ eclBackground: 0.2 }));
      for (const v of m.values()) if (v > 5 * MeV) { s += v - 5 * MeV; n++; }
    }
    expect(n).toBeGreaterThan(5000);
    expect(Math.abs(s / n - ECL_BACKGROUND_SLOPE) / ECL_BACKGROUND_SLOPE).toBeLessThan(0.05);
  });

  it("the backward endcap is noisier than the barrel by its region factor", () => {
    const rng = new Random(9);
    let barrel = 0, backward = 0;
    const events = 100;
    for (let e = 0; e < events; e++) {
      const m = addEclBackground(new Map(), rng, conditions());
      for (const c of m.keys()) c > 7776 ? backward++ : c >= 1153 ? barrel++ : 0;
    }
    const pB = 1 - Math.exp(-mu1 * ECL_BACKGROUND_REGION_FACTOR.barrel);
    const pBwd = 1 - Math.exp(-mu1 * ECL_BACKGROUND_REGION_FACTOR.backward);
    expect(ECL_BACKGROUND_REGION_FACTOR.backward).toBeGreaterThan(ECL_BACKGROUND_REGION_FACTOR.barrel);
    expect(Math.abs(barrel / (events * 6624) - pB)).toBeLessThan(5 * Math.sqrt((pB * (1 - pB)) / (events * 6624)));
    expect(Math.abs(backward / (events * 960) - pBwd)).toBeLessThan(5 * Math.sqrt((pBwd * (1 - pBwd)) / (events * 960)));
  });

  it("restricted to given crystals, only they get background, at the same per-crystal rate", () => {
    const cells = eclNeighboursN(3611, 5);
    const inside = new Set(cells);
    const rng = new Random(4);
    let above = 0;
    const events = 3000;
    for (let e = 0; e < events; e++) {
      const m = addEclBackground(new Map(), rng, conditions(), cells);
      for (const [c, v] of m) {
        expect(inside.has(c)).toBe(true);
        if (v > 1 * MeV) above++;
      }
    }
    const expected = pAbove(mu1, 1 * MeV);
    const trials = events * cells.length;
    expect(Math.abs(above / trials - expected)).toBeLessThan(5 * Math.sqrt((expected * (1 - expected)) / trials));
    expect(() => addEclBackground(new Map(), rng, conditions(), [0])).toThrow(InputError);
    expect(() => addEclBackground(new Map(), rng, conditions({ eclBackground: -1 }))).toThrow(InputError);
  });
});

describe("ECL readout: thresholds 1/2/5 MeV and the 1 GeV clip (ecl.md §1.5)", () => {
  const raw = new Map<number, number>([
    [5000, 0.0009], [4000, 0.001], [3000, 0.0015], [2000, 0.0049], [1500, 0.005], [6000, 1.7], [7000, 0.25],
  ]);
  it("keeps crystals at or above the threshold, clips at 1 GeV and sorts by cellId", () => {
    expect(applyEclReadout(raw, conditions({ eclThreshold: 1 * MeV }))).toEqual([
      { cellId: 1500, energy: 0.005 }, { cellId: 2000, energy: 0.0049 }, { cellId: 3000, energy: 0.0015 },
      { cellId: 4000, energy: 0.001 }, { cellId: 6000, energy: 1.0 }, { cellId: 7000, energy: 0.25 },
    ]);
    expect(applyEclReadout(raw, conditions({ eclThreshold: 2 * MeV })).map((d) => d.cellId)).toEqual([1500, 2000, 6000, 7000]);
    expect(applyEclReadout(raw, conditions({ eclThreshold: 5 * MeV })).map((d) => d.cellId)).toEqual([1500, 6000, 7000]);
  });
  it("rejects a bad threshold, a bad cellId or a non-finite energy", () => {
    expect(() => applyEclReadout(raw, conditions({ eclThreshold: NaN }))).toThrow(InputError);
    expect(() => applyEclReadout(raw, conditions({ eclThreshold: -0.001 }))).toThrow(InputError);
    expect(() => applyEclReadout(new Map([[8737, 0.1]]), conditions())).toThrow(InputError);
    expect(() => applyEclReadout(new Map([[1, NaN]]), conditions())).toThrow(InputError);
  });
  it("a muon image after background and readout: the track crystal plus a few background pixels in the 11×11", () => {
    const centre = cellIdFromThetaPhi(30, 0);
    const c = crystalCentre(centre);
    const rng = new Random(3);
    const m = eclDigitsFromDeposits([{ ...c, energy: 0.18, kind: "ionisation" }], rng, conditions());
    addEclBackground(m, rng, conditions(), eclNeighboursN(centre, 5));
    const digits = eclDigitsAround(applyEclReadout(m, conditions()), centre);
    expect(digits.find((d) => d.cellId === centre)!.energy).toBeGreaterThan(0.17);
    for (const d of digits) {
      expect(d.energy).toBeGreaterThanOrEqual(1 * MeV);
      const t = thetaPhiFromCellId(d.cellId);
      expect(Math.abs(t.thetaId - 30)).toBeLessThanOrEqual(5);
    }
  });
});

describe("ECL response on the transport's deposits (θ = 90°, 1.5 T, no background)", () => {
  const MUON_MASS = 0.1056583755, PION_MASS = 0.13957039; // GeV/c², PDG
  function run(pdg: number, mass: number, p: number, tracks: number) {
    const out: Array<{ crystals: number; truth: number; recorded: number; interacted: boolean }> = [];
    for (let seed = 1; seed <= tracks; seed++) {
      const rng = new Random(seed);
      const phi = rng.range(0, 2 * Math.PI);
      const result = transportParticle({ pdg, charge: -1, mass, x: 0, y: 0, z: 0, px: p * Math.cos(phi), py: p * Math.sin(phi), pz: 0 }, rng, conditions({ eclBackground: 0 }));
      const m = eclDigitsFromDeposits(result.eclDeposits, rng, conditions());
      out.push({ crystals: applyEclReadout(m, conditions()).length, truth: result.truth.eclDeposit, recorded: sum(m), interacted: result.truth.interactedInEcl });
    }
    return out;
  }

  it("a 1–2 GeV/c muon fills 1–3 crystals above 1 MeV in most events; the crystals hold its true deposit", () => {
    for (const [p, minFraction] of [[2, 0.9], [1, 0.7]] as const) {
      const rows = run(PDG.muMinus, MUON_MASS, p, 300);
      const inRange = rows.filter((r) => r.crystals >= 1 && r.crystals <= 3).length / rows.length;
      expect(inRange, `p = ${p} GeV/c`).toBeGreaterThanOrEqual(minFraction);
      const truth = rows.reduce((s, r) => s + r.truth, 0), recorded = rows.reduce((s, r) => s + r.recorded, 0);
      // only the far Molière tail of the 2 % δ-ray share is not recorded
      expect(recorded / truth).toBeGreaterThan(0.995);
      expect(recorded / truth).toBeLessThanOrEqual(1 + 1e-12);
    }
  });

  it("a pion that interacts in the CsI lights far more crystals than one that does not", () => {
    const rows = run(PDG.piMinus, PION_MASS, 1, 300);
    const interacted = rows.filter((r) => r.interacted), clean = rows.filter((r) => !r.interacted && r.truth > 0);
    expect(interacted.length).toBeGreaterThan(50);
    expect(clean.length).toBeGreaterThan(50);
    const mean = (list: typeof rows) => list.reduce((s, r) => s + r.crystals, 0) / list.length;
    expect(mean(clean)).toBeLessThan(4);
    expect(mean(interacted)).toBeGreaterThan(3 * mean(clean));
    const truth = rows.reduce((s, r) => s + r.truth, 0), recorded = rows.reduce((s, r) => s + r.recorded, 0);
    // hadronic blobs (R = R_M) lose ≈6 % of their energy outside the 5×5, EM and ionisation < 1 %
    expect(recorded / truth).toBeGreaterThan(0.95);
  });
});
