import { describe, expect, it } from "vitest";
import {
  klmBackgroundHits,
  klmBackgroundMean,
  klmHitsFromCrossings,
  rpcDivision,
  rpcMultiplicityProbabilities,
} from "../src/sim/klmResponse.js";
import type { KlmCrossing } from "../src/sim/transport.js";
import {
  barrelGlobal,
  barrelLayerRadius,
  barrelLocal,
  barrelPhiStripCentre,
  barrelPhiStripCount,
  barrelPhiStripWidth,
  barrelZStripCentre,
  barrelZStripCount,
  endcapLayerZ,
  endcapStripCentre,
  klmHitWidth,
} from "../src/geometry/klm.js";
import { Random } from "../src/sim/random.js";
import { KLM_BACKGROUND_DENSITY_SCINTILLATOR } from "../src/constants.js";
import { InputError } from "../src/errors.js";
import type { DetectorConditions } from "../src/sim/types.js";

function conditions(over: Partial<DetectorConditions> = {}): DetectorConditions {
  return { fieldScale: 1, klmEfficiency: 0.96, klmBackground: 1, eclBackground: 1, eclThreshold: 0.001, ...over };
}

/** A crossing of barrel layer `layer` in sector `sector` at local (u, ζ), along the sector normal. */
function barrelCrossing(layer: number, sector: number, u: number, zeta: number, kind: KlmCrossing["kind"] = "muon", clusterHalfWidth = 0): KlmCrossing {
  const g = barrelGlobal(barrelLayerRadius(layer, sector), u, zeta, sector);
  const a = (sector - 1) * (Math.PI / 4);
  return { section: "barrel", sector, layer, ...g, time: 10, px: Math.cos(a), py: Math.sin(a), pz: 0, kind, clusterHalfWidth };
}

describe("efficiency", () => {
  it("a layer fires with probability klmEfficiency (0.96 ± 0.005), never at 0, always at 1", () => {
    const rng = new Random(1);
    const crossings = Array.from({ length: 20000 }, (_, i) => barrelCrossing(1 + (i % 15), 1 + (i % 8), 3.1, 20.3));
    expect(klmHitsFromCrossings(crossings, 0, rng, conditions()).length / crossings.length).toBeCloseTo(0.96, 2);
    expect(klmHitsFromCrossings(crossings, 0, rng, conditions({ klmEfficiency: 0 }))).toHaveLength(0);
    expect(klmHitsFromCrossings(crossings, 0, rng, conditions({ klmEfficiency: 1 }))).toHaveLength(crossings.length);
  });

  it("rejects an efficiency outside [0, 1] and malformed crossings with typed errors", () => {
    const rng = new Random(2);
    const ok = barrelCrossing(3, 1, 0, 0);
    expect(() => klmHitsFromCrossings([ok], 0, rng, conditions({ klmEfficiency: 1.5 }))).toThrow(InputError);
    expect(() => klmHitsFromCrossings([ok], 0, rng, conditions({ klmEfficiency: Number.NaN }))).toThrow(InputError);
    expect(() => klmHitsFromCrossings([{ ...ok, layer: 16 }], 0, rng, conditions())).toThrow(InputError);
    expect(() => klmHitsFromCrossings([{ ...ok, section: "backward", layer: 13 }], 0, rng, conditions())).toThrow(InputError);
    expect(() => klmHitsFromCrossings([{ ...ok, sector: 9 }], 0, rng, conditions())).toThrow(InputError);
    expect(() => klmHitsFromCrossings([{ ...ok, x: Number.NaN }], 0, rng, conditions())).toThrow(InputError);
  });
});

describe("strip quantisation and clusters", () => {
  it("scintillator hits at normal incidence: one strip per view (δ rays aside), position within half a strip, width 2.828 cm", () => {
    const rng = new Random(3);
    const crossings = Array.from({ length: 4000 }, () => barrelCrossing(1, 2, rng.range(-60, 60), rng.range(-200, 200)));
    const hits = klmHitsFromCrossings(crossings, 7, rng, conditions({ klmEfficiency: 1 }));
    let single = 0;
    hits.forEach((h, i) => {
      const c = crossings[i]!;
      expect(h.truthTrack).toBe(7);
      expect(h.time).not.toBe(c.time);
      if (h.uStripMin === h.uStripMax && h.vStripMin === h.vStripMax) {
        single++;
        expect(klmHitWidth(h)).toBeCloseTo(2.828, 3);
        const lh = barrelLocal(h.x, h.y, h.z, h.sector);
        const lc = barrelLocal(c.x, c.y, c.z, c.sector);
        expect(Math.abs(lh.u - lc.u)).toBeLessThanOrEqual(2.0 + 1e-9);
        expect(Math.abs(lh.zeta - lc.zeta)).toBeLessThanOrEqual(2.0 + 1e-9);
        expect(lh.perp).toBeCloseTo(barrelLayerRadius(1, 2), 9);
      }
    });
    // δ-ray strips in 3 % of the views: ≈ 94 % single in both views
    expect(single / hits.length).toBeGreaterThan(0.9);
    expect(single / hits.length).toBeLessThan(0.98);
  });

  it("an inclined track fires the strips it crosses within the 1 cm scintillator", () => {
    const rng = new Random(4);
    const c = barrelCrossing(2, 1, 0.2, 10.0);
    // 80° from the normal in the φ view: extent 1 cm × tan 80° = 5.7 cm ⇒ 2–3 strips of 4 cm
    const inclined = { ...c, px: Math.cos(80 * (Math.PI / 180)), py: Math.sin(80 * (Math.PI / 180)) };
    let sizes = 0;
    const n = 500;
    for (let i = 0; i < n; i++) {
      const [h] = klmHitsFromCrossings([inclined], 0, rng, conditions({ klmEfficiency: 1 }));
      sizes += h!.uStripMax - h!.uStripMin + 1;
    }
    expect(sizes / n).toBeGreaterThan(2);
    expect(sizes / n).toBeLessThan(3.2);
  });

  it("RPC cluster sizes follow basf2's BKLMSimulationPar table at the strip centre and edge (±0.01)", () => {
    const layer = 6;
    const sector = 1;
    const w = barrelPhiStripWidth(layer);
    const rng = new Random(5);
    for (const [offset, division] of [[0.5, 0], [0.04, 4]] as const) {
      // φ position at fraction `offset` inside strip 10 (z at the centre of a z strip)
      const u = barrelPhiStripCentre(layer, 10) - 0.5 * w + offset * w;
      const zeta = barrelZStripCentre(layer, 60);
      const counts = [0, 0, 0, 0];
      const n = 40000;
      const crossings = Array.from({ length: n }, () => barrelCrossing(layer, sector, u, zeta));
      for (const h of klmHitsFromCrossings(crossings, 0, rng, conditions({ klmEfficiency: 1 }))) counts[h.uStripMax - h.uStripMin]!++;
      expect(rpcDivision(offset)).toBe(division);
      const expected = rpcMultiplicityProbabilities("phi", offset);
      for (let k = 0; k < 4; k++) expect(Math.abs(counts[k]! / n - expected[k]!)).toBeLessThan(0.01);
    }
    // basf2 XML weights, division 0: 844950/118387/39053/3785
    expect(rpcMultiplicityProbabilities("phi", 0.5)[0]).toBeCloseTo(844950 / (844950 + 118387 + 39053 + 3785), 9);
    expect(rpcMultiplicityProbabilities("z", 0.0)[1]).toBeCloseTo(573758 / (113533 + 573758 + 47143 + 8092), 9);
  });

  it("a second RPC strip is added on the side of the hit (basf2's alternating order)", () => {
    const layer = 9;
    const w = barrelPhiStripWidth(layer);
    const rng = new Random(6);
    const zeta = barrelZStripCentre(layer, 50);
    const upper = barrelCrossing(layer, 1, barrelPhiStripCentre(layer, 20) + 0.45 * w, zeta);
    const lower = barrelCrossing(layer, 1, barrelPhiStripCentre(layer, 20) - 0.45 * w, zeta);
    for (let i = 0; i < 300; i++) {
      const [hu] = klmHitsFromCrossings([upper], 0, rng, conditions({ klmEfficiency: 1 }));
      const [hl] = klmHitsFromCrossings([lower], 0, rng, conditions({ klmEfficiency: 1 }));
      if (hu!.uStripMax - hu!.uStripMin === 1) expect([hu!.uStripMin, hu!.uStripMax]).toEqual([20, 21]);
      if (hl!.uStripMax - hl!.uStripMin === 1) expect([hl!.uStripMin, hl!.uStripMax]).toEqual([19, 20]);
    }
  });

  it("shower crossings give wider clusters than single tracks", () => {
    const rng = new Random(7);
    const muon = Array.from({ length: 2000 }, () => barrelCrossing(8, 3, rng.range(-40, 40), rng.range(-100, 100)));
    const shower = muon.map((c) => ({ ...c, kind: "shower" as const, clusterHalfWidth: 8 }));
    const size = (hits: ReturnType<typeof klmHitsFromCrossings>) => hits.reduce((a, h) => a + (h.uStripMax - h.uStripMin + 1) + (h.vStripMax - h.vStripMin + 1), 0) / hits.length;
    const muonSize = size(klmHitsFromCrossings(muon, 0, rng, conditions({ klmEfficiency: 1 })));
    const showerSize = size(klmHitsFromCrossings(shower, 0, rng, conditions({ klmEfficiency: 1 })));
    expect(showerSize).toBeGreaterThan(muonSize + 3);
  });

  it("crossings outside the strips give no hit (barrel beyond the last z strip, endcap inside 130.5 cm)", () => {
    const rng = new Random(8);
    const outside = barrelCrossing(4, 1, 0, barrelZStripCentre(4, 2 * barrelZStripCount(4)) + 5);
    expect(klmHitsFromCrossings([outside], 0, rng, conditions({ klmEfficiency: 1 }))).toHaveLength(0);
    const beyondPhi = barrelCrossing(4, 1, barrelPhiStripCentre(4, barrelPhiStripCount(4)) + 5, 0);
    expect(klmHitsFromCrossings([beyondPhi], 0, rng, conditions({ klmEfficiency: 1 }))).toHaveLength(0);
    const inner: KlmCrossing = { section: "forward", sector: 1, layer: 2, x: 90, y: 90, z: endcapLayerZ("forward", 2), time: 12, px: 0, py: 0, pz: 1, kind: "muon", clusterHalfWidth: 0 };
    expect(klmHitsFromCrossings([inner], 0, rng, conditions({ klmEfficiency: 1 }))).toHaveLength(0);
  });

  it("endcap hits sit on the layer plane at strip centres, in the crossing's quadrant", () => {
    const rng = new Random(9);
    const c: KlmCrossing = { section: "backward", sector: 3, layer: 5, x: -150.3, y: -201.7, z: endcapLayerZ("backward", 5), time: 9, px: 0, py: 0, pz: -1, kind: "muon", clusterHalfWidth: 0 };
    const [h] = klmHitsFromCrossings([c], 2, rng, conditions({ klmEfficiency: 1 }));
    expect(h!.section).toBe("backward");
    expect(h!.z).toBe(endcapLayerZ("backward", 5));
    expect(h!.x).toBeLessThan(0);
    expect(h!.y).toBeLessThan(0);
    if (h!.uStripMin === h!.uStripMax) expect(-h!.x).toBeCloseTo(endcapStripCentre(h!.uStripMin), 9);
    expect(Math.abs(h!.x - c.x)).toBeLessThanOrEqual(4);
    expect(Math.abs(h!.y - c.y)).toBeLessThanOrEqual(4);
  });
});

describe("beam background", () => {
  it("mean number of hits per event is density × strip-covered area, scaled ×0 / ×1 / ×3 (±4 %)", () => {
    let expected = 0;
    for (let layer = 1; layer <= 15; layer++) expected += 8 * klmBackgroundMean("barrel", layer);
    // endcap: the annulus 130.5–332 cm of a quadrant where both strip coordinates |x|, |y| ∈ [0, 300] cm (1 mm grid)
    let covered = 0;
    for (let x = 0.05; x < 332; x += 0.1) {
      for (let y = 0.05; y < 332; y += 0.1) {
        const r = Math.hypot(x, y);
        if (r >= 130.5 && r <= 332 && x <= 300 && y <= 300) covered += 0.01;
      }
    }
    expected += 4 * (14 + 12) * covered * KLM_BACKGROUND_DENSITY_SCINTILLATOR;
    const rng = new Random(10);
    for (const scale of [0, 1, 3]) {
      let total = 0;
      const events = 200;
      for (let e = 0; e < events; e++) total += klmBackgroundHits(rng, conditions({ klmBackground: scale })).length;
      const mean = total / events;
      if (scale === 0) expect(mean).toBe(0);
      else expect(Math.abs(mean / (scale * expected) - 1)).toBeLessThan(0.04);
    }
  });

  it("background hits are single-strip, untracked, in valid layers and strips", () => {
    const rng = new Random(11);
    const hits = klmBackgroundHits(rng, conditions({ klmBackground: 2 }));
    expect(hits.length).toBeGreaterThan(50);
    for (const h of hits) {
      expect(h.truthTrack).toBe(-1);
      expect(h.uStripMin).toBe(h.uStripMax);
      expect(h.vStripMin).toBe(h.vStripMax);
      expect(h.uStripMin).toBeGreaterThanOrEqual(1);
      if (h.section === "barrel") {
        expect(h.layer).toBeLessThanOrEqual(15);
        expect(h.uStripMax).toBeLessThanOrEqual(barrelPhiStripCount(h.layer));
      } else {
        expect(h.layer).toBeLessThanOrEqual(h.section === "forward" ? 14 : 12);
        expect(h.uStripMax).toBeLessThanOrEqual(75);
        expect(h.z).toBe(endcapLayerZ(h.section, h.layer));
      }
    }
  });

  it("rejects a negative or non-finite background scale", () => {
    const rng = new Random(12);
    expect(() => klmBackgroundHits(rng, conditions({ klmBackground: -1 }))).toThrow(InputError);
    expect(() => klmBackgroundHits(rng, conditions({ klmBackground: Number.POSITIVE_INFINITY }))).toThrow(InputError);
  });
});
