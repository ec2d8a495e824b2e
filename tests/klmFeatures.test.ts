// The 121 DNN inputs (klm.md §1.3–1.4) on hand-built tracks; every expected value is worked out by hand
// from the definitions (strip widths of klm.md §3.2–3.3, distances between the listed hit positions).
import { describe, expect, it } from "vitest";
import { KLM_FEATURES, KLM_FEATURE_NAMES, klmFeatures, type MatchedKlmHit } from "../src/reco/klmFeatures.js";
import { patternFromBits } from "../src/reco/muidPatterns.js";
import { InputError } from "../src/errors.js";

const f32 = Math.fround;
const slotBase = (slot: number): number => 5 + 4 * slot;

function hit(section: "barrel" | "forward" | "backward", layer: number, x: number, y: number, z: number, u: [number, number], v: [number, number]): MatchedKlmHit["hit"] {
  return { section, layer, x, y, z, uStripMin: u[0], uStripMax: u[1], vStripMin: v[0], vStripMax: v[1] };
}

describe("klmFeatures", () => {
  it("has 121 named inputs in basf2 order", () => {
    expect(KLM_FEATURES).toBe(121);
    expect(KLM_FEATURE_NAMES.length).toBe(121);
    expect(KLM_FEATURE_NAMES.slice(0, 9)).toEqual(["chi2", "ndof", "extLayerMinusHitLayer", "extLayer", "pt", "width0", "steplength0", "chi2_0", "hasext0"]);
    expect(KLM_FEATURE_NAMES[120]).toBe("hasext28");
  });

  it("a track with ext bits but no hit: −1 for width/step/χ² everywhere, hasext from the pattern", () => {
    const f = klmFeatures({ chi2: 0, ndof: 0, extLayer: 2, hitLayer: -1, pt: 0.75, extLayerPattern: patternFromBits("111"), matchedHits: [] });
    expect(f[0]).toBe(0);
    expect(f[1]).toBe(0);
    expect(f[2]).toBe(3); // 2 − (−1)
    expect(f[3]).toBe(2);
    expect(f[4]).toBe(f32(0.75));
    for (let slot = 0; slot < 29; slot++) {
      const b = slotBase(slot);
      expect([f[b], f[b + 1], f[b + 2]], `slot ${slot}`).toEqual([-1, -1, -1]);
      expect(f[b + 3], `slot ${slot}`).toBe(slot <= 2 ? 1 : 0);
    }
  });

  it("matched hits: width from the strips, step to the previous hit in slot order (first 0), χ² per hit, first relation per slot kept", () => {
    // relation order is not slot order; the second slot-2 hit must be ignored
    const matched: MatchedKlmHit[] = [
      { slot: 16, hit: hit("forward", 2, 150, 60, 300, [10, 12], [40, 40]), chi2: 1.25 },
      { slot: 0, hit: hit("barrel", 1, 210, 0, 10, [7, 7], [30, 30]), chi2: 0.5 },
      { slot: 2, hit: hit("barrel", 3, 230, 3, 14, [5, 5], [20, 21]), chi2: 3.0 },
      { slot: 2, hit: hit("barrel", 3, 231, 9, 19, [1, 4], [1, 4]), chi2: 9.0 },
    ];
    const ext = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 15) | (1 << 16);
    const f = klmFeatures({ chi2: 4.75, ndof: 6, extLayer: 4, hitLayer: 4, pt: 1.5, extLayerPattern: ext, matchedHits: matched });
    expect(Array.from(f.subarray(0, 5))).toEqual([4.75, 6, 0, 4, 1.5]);
    // slot 0: scintillator 4 cm × 1 strip in both views: w1 = w2 = 2 → √8
    expect(f[slotBase(0)]).toBe(f32(Math.sqrt(8)));
    expect(f[slotBase(0) + 1]).toBe(0);
    expect(f[slotBase(0) + 2]).toBe(0.5);
    expect(f[slotBase(0) + 3]).toBe(1);
    // slot 1: crossed, no hit
    expect([f[slotBase(1)], f[slotBase(1) + 1], f[slotBase(1) + 2], f[slotBase(1) + 3]]).toEqual([-1, -1, -1, 1]);
    // slot 2: RPC layer 3, φ 4.90 cm × 1 → 2.45, z 4.52 cm × 2 → 4.52; step from (210, 0, 10) to (230, 3, 14) = √(400 + 9 + 16)
    expect(f[slotBase(2)]).toBe(f32(Math.sqrt(2.45 * 2.45 + 4.52 * 4.52)));
    expect(f[slotBase(2) + 1]).toBe(f32(Math.sqrt(425)));
    expect(f[slotBase(2) + 2]).toBe(3);
    // slot 15: crossed, no hit
    expect([f[slotBase(15)], f[slotBase(15) + 1], f[slotBase(15) + 2], f[slotBase(15) + 3]]).toEqual([-1, -1, -1, 1]);
    // slot 16: endcap 4 cm, 3 x strips → 6, 1 y strip → 2 → √40; step from (230, 3, 14) to (150, 60, 300) = √(6400 + 3249 + 81796)
    expect(f[slotBase(16)]).toBe(f32(Math.sqrt(40)));
    expect(f[slotBase(16) + 1]).toBe(f32(Math.sqrt(91445)));
    expect(f[slotBase(16) + 2]).toBe(1.25);
    expect(f[slotBase(16) + 3]).toBe(1);
    // everything else: no hit, no ext
    for (const slot of [3, 4, 14, 17, 28]) expect([f[slotBase(slot)], f[slotBase(slot) + 1], f[slotBase(slot) + 2], f[slotBase(slot) + 3]]).toEqual([-1, -1, -1, 0]);
  });

  it("a first hit in the endcap (no barrel hit) gets step 0; forward and backward share the endcap slots", () => {
    const matched: MatchedKlmHit[] = [
      { slot: 15, hit: hit("backward", 1, -150, 40, -190, [3, 3], [9, 10]), chi2: 0.25 },
      { slot: 17, hit: hit("backward", 3, -152, 41, -208.2, [3, 3], [9, 9]), chi2: 0.75 },
    ];
    const f = klmFeatures({ chi2: 1, ndof: 4, extLayer: 2, hitLayer: 2, pt: 0.9, extLayerPattern: (1 << 15) | (1 << 16) | (1 << 17), matchedHits: matched });
    expect(f[slotBase(15)]).toBe(f32(Math.sqrt(2 * 2 + 4 * 4)));
    expect(f[slotBase(15) + 1]).toBe(0);
    expect(f[slotBase(17) + 1]).toBe(f32(Math.sqrt(4 + 1 + 18.2 * 18.2)));
    expect(f[slotBase(16) + 3]).toBe(1);
    expect(f[slotBase(16)]).toBe(-1);
  });

  it("rejects a slot outside 0–28 and a short buffer", () => {
    const bad: MatchedKlmHit[] = [{ slot: 29, hit: hit("barrel", 1, 0, 0, 0, [1, 1], [1, 1]), chi2: 0 }];
    expect(() => klmFeatures({ chi2: 0, ndof: 0, extLayer: -1, hitLayer: -1, pt: 1, extLayerPattern: 0, matchedHits: bad })).toThrow(InputError);
    expect(() => klmFeatures({ chi2: 0, ndof: 0, extLayer: -1, hitLayer: -1, pt: 1, extLayerPattern: 0, matchedHits: [] }, new Float32Array(120))).toThrow(InputError);
  });
});
