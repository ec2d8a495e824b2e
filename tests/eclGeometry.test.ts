import { describe, expect, it } from "vitest";
import { InputError } from "../src/errors.js";
import {
  ECL_BARREL_FRONT_RADIUS,
  ECL_BARREL_THETA_CENTRE_DEG,
  ECL_CRYSTAL_LENGTH,
  ECL_CRYSTALS_PER_RING,
  ECL_N_CRYSTALS,
  ECL_RING_OFFSET,
  cellIdFromThetaPhi,
  crystalAt,
  crystalCentre,
  crystalPhi,
  crystalTheta,
  crystalTowards,
  regionOfCellId,
  ringThetaDeg,
  thetaPhiFromCellId,
} from "../src/geometry/ecl.js";
import { eclNeighbourhood, eclNeighboursN } from "../src/geometry/eclNeighbours.js";
import { CELL_ECL_BACKWARD, CELL_ECL_BARREL, CELL_ECL_FORWARD, cellAt } from "../src/geometry/propagation.js";
import { Random } from "../src/sim/random.js";
import {
  ECL_WINDOW_CENTRE_INDEX,
  basf2LegacyIndexOfPixel,
  eclWindowCellIds,
  eclWindowEnergies,
  isInEclCnnAcceptance,
} from "../src/geometry/eclWindow.js";

const DEG = Math.PI / 180;

/** A run of `length` consecutive cellIds counting down from `start` (how ecl.md §3.1 writes rows). */
function descending(start: number, length = 7): number[] {
  return Array.from({ length }, (_, i) => start - i);
}

describe("ECL crystal tables and cellId mapping (ecl.md §2.1–2.3)", () => {
  it("has 69 rings, 8736 crystals, forward 1152 / barrel 6624 / backward 960", () => {
    expect(ECL_CRYSTALS_PER_RING.length).toBe(69);
    const sum = (a: number, b: number) => ECL_CRYSTALS_PER_RING.slice(a, b).reduce((s, n) => s + n, 0);
    expect(sum(0, 13)).toBe(1152);
    expect(sum(13, 59)).toBe(6624);
    expect(sum(59, 69)).toBe(960);
    expect(sum(0, 69)).toBe(ECL_N_CRYSTALS);
  });

  it("ring offsets equal basf2's closed form 16·m_dTheta[t] + 128·t (ECLGeometryPar Mapping_t)", () => {
    // m_dTheta[69] as quoted in ecl.md §2.2
    const forward = [0, -5, -10, -14, -18, -22, -24, -26, -28, -30, -32, -34, -33];
    const barrel = Array.from({ length: 46 }, (_, i) => -32 + i);
    const backward = [14, 15, 16, 14, 12, 10, 8, 6, 2, -2];
    const dTheta = [...forward, ...barrel, ...backward];
    expect(dTheta.length).toBe(69);
    expect(barrel[barrel.length - 1]).toBe(13);
    for (let t = 0; t < 69; t++) expect(ECL_RING_OFFSET[t], `thetaId ${t}`).toBe(16 * dTheta[t]! + 128 * t);
  });

  it("reproduces the cellId ranges of the ecl.md §2.3 table", () => {
    const ranges: Array<[number, number, number]> = [
      [0, 1, 48], [1, 49, 96], [2, 97, 160], [5, 289, 384], [10, 769, 864], [11, 865, 1008], [12, 1009, 1152],
      [13, 1153, 1296], [14, 1297, 1440], [30, 3601, 3744], [57, 7489, 7632], [58, 7633, 7776],
      [59, 7777, 7920], [60, 7921, 8064], [61, 8065, 8160], [65, 8449, 8544], [66, 8545, 8608], [68, 8673, 8736],
    ];
    for (const [t, first, last] of ranges) {
      expect(cellIdFromThetaPhi(t, 0), `thetaId ${t} first`).toBe(first);
      expect(cellIdFromThetaPhi(t, ECL_CRYSTALS_PER_RING[t]! - 1), `thetaId ${t} last`).toBe(last);
    }
  });

  it("maps every cellId to (thetaId, phiId) and back, and regions follow ECLElementNumbers", () => {
    const seen = new Set<number>();
    for (let cellId = 1; cellId <= ECL_N_CRYSTALS; cellId++) {
      const { thetaId, phiId } = thetaPhiFromCellId(cellId);
      expect(phiId).toBeGreaterThanOrEqual(0);
      expect(phiId).toBeLessThan(ECL_CRYSTALS_PER_RING[thetaId]!);
      expect(cellIdFromThetaPhi(thetaId, phiId)).toBe(cellId);
      seen.add(thetaId * 1000 + phiId);
      const region = cellId <= 1152 ? "forward" : cellId <= 7776 ? "barrel" : "backward";
      expect(regionOfCellId(cellId)).toBe(region);
    }
    expect(seen.size).toBe(ECL_N_CRYSTALS);
  });

  it("rejects out-of-range ids with InputError", () => {
    expect(() => thetaPhiFromCellId(0)).toThrow(InputError);
    expect(() => thetaPhiFromCellId(8737)).toThrow(InputError);
    expect(() => thetaPhiFromCellId(1.5)).toThrow(InputError);
    expect(() => cellIdFromThetaPhi(69, 0)).toThrow(InputError);
    expect(() => cellIdFromThetaPhi(0, 48)).toThrow(InputError);
    expect(() => cellIdFromThetaPhi(-1, 0)).toThrow(InputError);
  });
});

describe("ECL crystal positions (ecl.md §2.4–2.5, physics.md §1.2)", () => {
  it("barrel crystal centres lie at the ring angles of crystal_placement_barrel.dat (±1e-9°)", () => {
    for (let t = 13; t <= 58; t++) {
      for (const phiId of [0, 71, 143]) {
        const c = crystalCentre(cellIdFromThetaPhi(t, phiId));
        const theta = Math.atan2(Math.hypot(c.x, c.y), c.z) / DEG;
        expect(theta).toBeCloseTo(ECL_BARREL_THETA_CENTRE_DEG[t - 13]!, 9);
      }
    }
  });

  it("barrel front face is at r = 125 cm and centres sit 15 cm deeper along the axis, 133–141 cm from the beam axis", () => {
    let minRho = Infinity, maxRho = 0;
    for (let cellId = 1153; cellId <= 7776; cellId++) {
      const c = crystalCentre(cellId);
      const rho = Math.hypot(c.x, c.y);
      const dist = Math.hypot(rho, c.z);
      // front face: the axis point 15 cm in front of the centre
      expect(rho * (dist - ECL_CRYSTAL_LENGTH / 2) / dist).toBeCloseTo(ECL_BARREL_FRONT_RADIUS, 9);
      minRho = Math.min(minRho, rho);
      maxRho = Math.max(maxRho, rho);
    }
    // ECL.xml K_perpC gives 136.1–140.9 cm for basf2's slightly tilted crystals (physics.md §1.2)
    expect(minRho).toBeGreaterThan(136.1 - 3);
    expect(maxRho).toBeLessThan(140.9 + 0.5);
  });

  it("barrel φ pitch at the front face equals the crystal front width K_Bh ≈ 5.45 cm (±1 %)", () => {
    const pitch = (2 * Math.PI * ECL_BARREL_FRONT_RADIUS) / 144;
    expect(Math.abs(pitch - 5.45) / 5.45).toBeLessThan(0.01);
    // neighbouring phiIds are one pitch apart in φ and φ increases with phiId
    const a = cellIdFromThetaPhi(40, 10);
    expect(crystalPhi(a + 1) - crystalPhi(a)).toBeCloseTo((2 * Math.PI) / 144, 12);
  });

  it("endcap crystals start on z = +196.0 / −102.02 cm and rings cover the TDR angles", () => {
    const f = crystalCentre(cellIdFromThetaPhi(5, 3));
    const fDist = Math.hypot(f.x, f.y, f.z);
    expect((f.z * (fDist - 15)) / fDist).toBeCloseTo(196.0, 9);
    const b = crystalCentre(cellIdFromThetaPhi(63, 3));
    const bDist = Math.hypot(b.x, b.y, b.z);
    expect((b.z * (bDist - 15)) / bDist).toBeCloseTo(-102.02, 9);
    expect(ringThetaDeg(0).min).toBeCloseTo(12.4, 9);
    expect(ringThetaDeg(12).max).toBeCloseTo(31.4, 9);
    expect(ringThetaDeg(59).min).toBeCloseTo(130.7, 9);
    expect(ringThetaDeg(68).max).toBeCloseTo(155.1, 9);
    // barrel edges: the TDR 32.2°–128.7°, each within 1° of the outermost ring centres 32.94° / 127.55°
    expect(ringThetaDeg(13).min).toBeCloseTo(32.2, 9);
    expect(ringThetaDeg(58).max).toBeCloseTo(128.7, 9);
    for (let t = 0; t < 69; t++) {
      const r = ringThetaDeg(t);
      expect(r.min).toBeLessThan(r.centre);
      expect(r.centre).toBeLessThan(r.max);
    }
    // rings are contiguous and ordered inside each region
    for (let t = 1; t < 69; t++) if (t !== 13 && t !== 59) expect(ringThetaDeg(t).min).toBeCloseTo(ringThetaDeg(t - 1).max, 12);
  });

  it("crystalAt finds every crystal at its centre and respects the 30 cm depth", () => {
    for (let cellId = 1; cellId <= ECL_N_CRYSTALS; cellId++) {
      const c = crystalCentre(cellId);
      expect(crystalAt(c.x, c.y, c.z)).toBe(cellId);
      const dist = Math.hypot(c.x, c.y, c.z);
      const at = (depthFromCentre: number) => {
        const s = (dist + depthFromCentre) / dist;
        return crystalAt(c.x * s, c.y * s, c.z * s);
      };
      expect(at(-14.99)).toBe(cellId);
      expect(at(14.99)).toBe(cellId);
      expect(at(-15.01)).toBeNull();
      expect(at(15.01)).toBeNull();
    }
  });

  it("crystalAt is null in the endcap–barrel gaps and outside the coverage; crystalTowards ignores depth", () => {
    const point = (thetaDeg: number, r: number) => [r * Math.sin(thetaDeg * DEG), 0, r * Math.cos(thetaDeg * DEG)] as const;
    expect(crystalAt(...point(31.8, 260))).toBeNull(); // forward gap 31.4°–32.2°
    expect(crystalAt(...point(129.5, 170))).toBeNull(); // backward gap 128.7°–130.7°
    expect(crystalAt(...point(10, 220))).toBeNull(); // inside the beam-pipe cone
    expect(crystalAt(...point(90, 124.9))).toBeNull(); // in front of the barrel
    expect(crystalAt(...point(90, 140))).toBe(cellIdFromThetaPhi(41, 0));
    expect(crystalTowards(...point(90, 50))).toBe(cellIdFromThetaPhi(41, 0));
    expect(crystalTowards(...point(90, 500))).toBe(cellIdFromThetaPhi(41, 0));
    expect(() => crystalAt(NaN, 0, 0)).toThrow(InputError);
  });

  it("the crystals fill exactly the CsI volume the transport's stepper uses (1e5 random points)", () => {
    const rng = new Random(2024);
    const ecl = new Set([CELL_ECL_BARREL, CELL_ECL_FORWARD, CELL_ECL_BACKWARD]);
    let inside = 0;
    const disagreements: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const x = rng.range(-240, 240), y = rng.range(-240, 240), z = rng.range(-160, 260);
      const inCsI = ecl.has(cellAt(x, y, z));
      const crystal = crystalAt(x, y, z);
      if (inCsI !== (crystal !== null)) disagreements.push(`(${x.toFixed(2)}, ${y.toFixed(2)}, ${z.toFixed(2)})`);
      if (crystal !== null) inside++;
    }
    expect(disagreements.slice(0, 5)).toEqual([]);
    expect(inside).toBeGreaterThan(1000);
  });

  it("crystal axis angles: crystalTheta/crystalPhi point at the centre", () => {
    for (const cellId of [1, 500, 1153, 3611, 7776, 8000, 8736]) {
      const c = crystalCentre(cellId);
      expect(Math.atan2(Math.hypot(c.x, c.y), c.z)).toBeCloseTo(crystalTheta(cellId), 12);
      const phi = Math.atan2(c.y, c.x);
      expect(phi < 0 ? phi + 2 * Math.PI : phi).toBeCloseTo(crystalPhi(cellId), 12);
    }
  });
});

describe('ECLNeighbours "N" (legacy) against ecl.md §3.1', () => {
  it("7×7 test vector of cellId 3611 (θId 30, φId 10)", () => {
    const expected = [3182, 3326, 3470, 3614, 3758, 3902, 4046].flatMap((start) => descending(start));
    expect(eclNeighboursN(3611, 3)).toEqual(expected);
  });

  it("φ wrap, cellId 3601 (θId 30, φId 0): row 3 is 3604 … 3601, 3744, 3743, 3742", () => {
    const list = eclNeighboursN(3601, 3);
    expect(list.length).toBe(49);
    expect(list.slice(21, 28)).toEqual([3604, 3603, 3602, 3601, 3744, 3743, 3742]);
    expect(list[24]).toBe(3601);
  });

  it("most forward accepted centre, cellId 1297 (θId 14, φId 0): rows θId 11…17 start 868,867,866,865,1008,1007,1006", () => {
    const list = eclNeighboursN(1297, 3);
    expect(list.slice(0, 7)).toEqual([868, 867, 866, 865, 1008, 1007, 1006]);
    const rows = [0, 1, 2, 3, 4, 5, 6].map((r) => list.slice(7 * r, 7 * r + 7).map((c) => thetaPhiFromCellId(c).thetaId));
    rows.forEach((row, r) => expect(row).toEqual(new Array(7).fill(11 + r)));
  });

  it("projection across a ring-size change rounds half away from zero (hand-derived from the §3.1 recipe)", () => {
    // seed θId 10 (96 crystals), φId 0, n = 3: fInc = 3/96, fDec = 93/96. Rings 7–10 (96): φ 3…0, 95…93.
    // Rings 11–13 (144): a = lround(4.5) = 5, b = lround(139.5) = 140 → φ 5…0, 143…140 (10 crystals).
    const seed = cellIdFromThetaPhi(10, 0);
    expect(seed).toBe(769);
    const list = eclNeighboursN(seed, 3);
    const row96 = (t: number) => [3, 2, 1, 0, 95, 94, 93].map((p) => cellIdFromThetaPhi(t, p));
    const row144 = (t: number) => [5, 4, 3, 2, 1, 0, 143, 142, 141, 140].map((p) => cellIdFromThetaPhi(t, p));
    expect(list).toEqual([...row96(7), ...row96(8), ...row96(9), ...row96(10), ...row144(11), ...row144(12), ...row144(13)]);
    expect(list.slice(28, 38)).toEqual([870, 869, 868, 867, 866, 865, 1008, 1007, 1006, 1005]);
  });

  it("7×7 list lengths per centre thetaId equal the table (same for every phiId)", () => {
    const table: Record<number, number> = { 0: 32, 1: 41, 5: 43, 10: 58, 11: 43, 12: 45, 13: 47, 58: 47, 59: 45, 60: 43, 61: 58, 68: 31 };
    for (let t = 14; t <= 57; t++) table[t] = 49;
    for (const [tKey, length] of Object.entries(table)) {
      const t = Number(tKey);
      for (let phiId = 0; phiId < ECL_CRYSTALS_PER_RING[t]!; phiId++) {
        expect(eclNeighboursN(cellIdFromThetaPhi(t, phiId), 3).length, `thetaId ${t} phiId ${phiId}`).toBe(length);
      }
    }
  });

  it("3×3 has 9 in the barrel and 6–10 in the endcaps; 5×5 has 25 and 15–29 (ecl.md §3.1)", () => {
    const range = (n: number, from: number, to: number) => {
      let min = Infinity, max = 0;
      for (let cellId = from; cellId <= to; cellId++) {
        const len = eclNeighboursN(cellId, n).length;
        min = Math.min(min, len);
        max = Math.max(max, len);
      }
      return [min, max];
    };
    expect(range(1, 1153 + 144, 7776 - 144)).toEqual([9, 9]);
    expect(range(2, 1153 + 288, 7776 - 288)).toEqual([25, 25]);
    const e1 = [range(1, 1, 1152), range(1, 7777, 8736)];
    const e2 = [range(2, 1, 1152), range(2, 7777, 8736)];
    for (const [min, max] of e1) { expect(min).toBeGreaterThanOrEqual(6); expect(max).toBeLessThanOrEqual(10); }
    for (const [min, max] of e2) { expect(min).toBeGreaterThanOrEqual(15); expect(max).toBeLessThanOrEqual(29); }
  });

  it("every list holds the seed once, distinct valid cellIds, rows from tid−n to tid+n", () => {
    const problems: string[] = [];
    for (const n of [1, 3, 5]) {
      for (let cellId = 1; cellId <= ECL_N_CRYSTALS; cellId++) {
        const list = eclNeighboursN(cellId, n);
        const t0 = thetaPhiFromCellId(cellId).thetaId;
        if (new Set(list).size !== list.length) problems.push(`${cellId}/${n}: duplicates`);
        if (list.filter((c) => c === cellId).length !== 1) problems.push(`${cellId}/${n}: seed not once`);
        for (const c of list) {
          if (c < 1 || c > ECL_N_CRYSTALS || Math.abs(thetaPhiFromCellId(c).thetaId - t0) > n) problems.push(`${cellId}/${n}: bad member ${c}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("11×11 neighbourhood has 121 crystals in the barrel and is sorted; bad n is an InputError", () => {
    const list = eclNeighbourhood(3611, 5);
    expect(list.length).toBe(121);
    expect([...list].sort((a, b) => a - b)).toEqual(list);
    expect(() => eclNeighboursN(3611, 6)).toThrow(InputError);
    expect(() => eclNeighboursN(3611, -1)).toThrow(InputError);
  });
});

describe("CNN 7×7 window (muid-wasm pixel order)", () => {
  it("equals the legacy 7×7 list with columns mirrored, for every centre with thetaId 14..57", () => {
    let checked = 0, mismatches = 0;
    for (let cellId = cellIdFromThetaPhi(14, 0); cellId <= cellIdFromThetaPhi(57, 143); cellId++) {
      expect(isInEclCnnAcceptance(cellId)).toBe(true);
      const window = eclWindowCellIds(cellId);
      const legacy = eclNeighboursN(cellId, 3);
      for (let k = 0; k < 49; k++) if (window[k] !== legacy[basf2LegacyIndexOfPixel(k)]) mismatches++;
      if (window[ECL_WINDOW_CENTRE_INDEX] !== cellId) mismatches++;
      checked++;
    }
    expect(mismatches).toBe(0);
    expect(checked).toBe(44 * 144);
  });

  it("rows are thetaId ascending and columns phiId ascending with wrap (centre cellId 3601, φId 0)", () => {
    const w = Array.from(eclWindowCellIds(3601));
    expect(ECL_WINDOW_CENTRE_INDEX).toBe(24);
    expect(w.slice(21, 28)).toEqual([3742, 3743, 3744, 3601, 3602, 3603, 3604]);
    for (let row = 0; row < 7; row++) {
      for (let col = 0; col < 7; col++) {
        const { thetaId, phiId } = thetaPhiFromCellId(w[row * 7 + col]!);
        expect(thetaId).toBe(30 - 3 + row);
        expect(phiId).toBe((0 - 3 + col + 144) % 144);
      }
    }
  });

  it("is refused outside thetaId 14..57 and gathers energies in pixel order", () => {
    expect(isInEclCnnAcceptance(cellIdFromThetaPhi(13, 5))).toBe(false);
    expect(isInEclCnnAcceptance(cellIdFromThetaPhi(58, 5))).toBe(false);
    expect(() => eclWindowCellIds(cellIdFromThetaPhi(13, 5))).toThrow(InputError);
    expect(() => eclWindowCellIds(cellIdFromThetaPhi(58, 5))).toThrow(InputError);
    const centre = cellIdFromThetaPhi(40, 143);
    const right = cellIdFromThetaPhi(40, 0); // φ + 1 wraps to phiId 0
    const up = cellIdFromThetaPhi(39, 143);
    const e = eclWindowEnergies(centre, [{ cellId: centre, energy: 0.18 }, { cellId: right, energy: 0.004 }, { cellId: up, energy: 0.002 }, { cellId: 1, energy: 5 }]);
    expect(e[24]).toBeCloseTo(0.18, 7);
    expect(e[25]).toBeCloseTo(0.004, 7);
    expect(e[17]).toBeCloseTo(0.002, 7);
    expect(e.reduce((s, v) => s + v, 0)).toBeCloseTo(0.186, 6);
    const fromMap = eclWindowEnergies(centre, new Map([[centre, 0.18]]));
    expect(fromMap[24]).toBeCloseTo(0.18, 7);
  });
});
