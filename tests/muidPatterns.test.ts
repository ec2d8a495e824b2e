// Muid's patterns and outcome (klm.md §2.6–2.8): the cases of basf2's KLMMuidLikelihoodTest (§4.2) and
// the outcome examples of MuidBuilderTest (§4.1), plus each outcome category of the §2.8 table.
import { describe, expect, it } from "vitest";
import {
  MAXIMAL_OUTCOME,
  Outcome,
  calculateExtrapolationOutcome,
  checkExtrapolationOutcome,
  finishMuid,
  isExtrapolatedBarrelLayerCrossed,
  isExtrapolatedEndcapLayerCrossed,
  lastLayerOf,
  newMuidSwimState,
  patternFromBits,
  totalBarrelHits,
  totalEndcapHits,
  validOutcomeLayers,
} from "../src/reco/muidPatterns.js";
import { InputError } from "../src/errors.js";

describe("KLMMuidLikelihoodTest cases", () => {
  it("defaults: outcome 0 (not reached), hit layer −1, efficiencies 1", () => {
    const r = finishMuid(newMuidSwimState(), false);
    expect(r.outcome).toBe(0);
    expect(r.hitLayer).toBe(-1);
    expect(r.extLayer).toBe(-1);
    expect(r.chi2).toBe(0);
    expect(r.ndof).toBe(0);
    expect(Array.from(r.barrelEfficiency)).toEqual(new Array(15).fill(1));
    expect(Array.from(r.endcapEfficiency)).toEqual(new Array(14).fill(1));
  });

  it("counts barrel and endcap hits from the pattern (111111 → 6/0, bit 15 → 0/1, 10101000000000111000 → 3/3, 29 ones → 15/14)", () => {
    const cases: [string, number, number][] = [
      ["111111", 6, 0],
      ["1000000000000000", 0, 1],
      ["10101000000000111000", 3, 3],
      ["1".repeat(29), 15, 14],
    ];
    for (const [bits, barrel, endcap] of cases) {
      const p = patternFromBits(bits);
      expect(totalBarrelHits(p), bits).toBe(barrel);
      expect(totalEndcapHits(p), bits).toBe(endcap);
    }
  });

  it("reads crossed layers from the bit layout: bits 0–14 barrel, 15–28 endcap", () => {
    const p = patternFromBits("10101000000000111000");
    // set bits: 3, 4, 5 (barrel layers 3–5), 15, 17, 19 (endcap layers 0, 2, 4)
    for (let l = 0; l <= 14; l++) expect(isExtrapolatedBarrelLayerCrossed(p, l)).toBe(l >= 3 && l <= 5);
    for (let l = 0; l <= 13; l++) expect(isExtrapolatedEndcapLayerCrossed(p, l)).toBe(l === 0 || l === 2 || l === 4);
    const all = patternFromBits("1".repeat(29));
    expect(isExtrapolatedBarrelLayerCrossed(all, 14)).toBe(true);
    expect(isExtrapolatedEndcapLayerCrossed(all, 13)).toBe(true);
    expect(() => isExtrapolatedBarrelLayerCrossed(all, 15)).toThrow(InputError);
    expect(() => isExtrapolatedEndcapLayerCrossed(all, -1)).toThrow(InputError);
    expect(() => patternFromBits("10a")).toThrow(InputError);
  });
});

describe("calculateExtrapolationOutcome", () => {
  it("reproduces MuidBuilderTest: (fwd, stop, 2, 6) = 9 and (bwd, stop, 2, 6) = 24; barrel-only tests give 1", () => {
    expect(calculateExtrapolationOutcome(true, false, 2, 6)).toBe(9);
    expect(calculateExtrapolationOutcome(false, false, 2, 6)).toBe(24);
    expect(calculateExtrapolationOutcome(true, false, 13, -1)).toBe(1);
    expect(calculateExtrapolationOutcome(true, false, 1, -1)).toBe(1);
  });

  it("gives every category of the §2.8 table", () => {
    expect(calculateExtrapolationOutcome(true, false, -1, -1)).toBe(Outcome.NotReached);
    expect(calculateExtrapolationOutcome(false, false, 7, -1)).toBe(1);
    expect(calculateExtrapolationOutcome(true, false, -1, 4)).toBe(2);
    expect(calculateExtrapolationOutcome(false, true, 14, -1)).toBe(3);
    expect(calculateExtrapolationOutcome(true, true, -1, 13)).toBe(4);
    expect(calculateExtrapolationOutcome(false, false, -1, 5)).toBe(5);
    expect(calculateExtrapolationOutcome(false, true, -1, 11)).toBe(6);
    expect(calculateExtrapolationOutcome(true, false, 0, 3)).toBe(7);
    expect(calculateExtrapolationOutcome(true, false, 14, 3)).toBe(21);
    expect(calculateExtrapolationOutcome(false, false, 0, 3)).toBe(22);
    expect(calculateExtrapolationOutcome(false, false, 14, 3)).toBe(36);
    expect(calculateExtrapolationOutcome(true, true, 3, 13)).toBe(40);
    expect(calculateExtrapolationOutcome(true, true, 14, 13)).toBe(51);
    expect(calculateExtrapolationOutcome(false, true, 0, 11)).toBe(52);
    expect(calculateExtrapolationOutcome(false, true, 14, 11)).toBe(66);
    expect(MAXIMAL_OUTCOME).toBe(66);
  });
});

describe("checkExtrapolationOutcome", () => {
  it("accepts exactly the lastLayer ranges of the §2.8 table (829 pairs)", () => {
    const maximal = (o: number): number =>
      o === 1 ? 13 : o === 2 ? 12 : o === 3 ? 14 : o === 4 ? 13 : o === 5 ? 10 : o === 6 ? 11 :
        o <= 21 ? 12 : o <= 36 ? 10 : o <= 51 ? 13 : 11;
    for (let o = 0; o <= 67; o++) {
      for (let l = -1; l <= 15; l++) {
        const expected = o >= 1 && o <= 66 && l >= 0 && l <= maximal(o);
        expect(checkExtrapolationOutcome(o, l), `outcome ${o} lastLayer ${l}`).toBe(expected);
      }
    }
    expect(validOutcomeLayers().length).toBe(829);
  });
});

describe("finishMuid", () => {
  it("combines barrel and endcap layers as finishTrack does (extLayer = B + E + 1, hitLayer from the endcap when it has a hit)", () => {
    const s = newMuidSwimState();
    s.lastBarrelExtLayer = 14;
    s.lastEndcapExtLayer = 3;
    s.lastBarrelHitLayer = 12;
    s.lastEndcapHitLayer = 2;
    s.escaped = false;
    s.chi2 = 12.5;
    s.nPoint = 10;
    const r = finishMuid(s, true);
    expect(r.extLayer).toBe(14 + 3 + 1);
    expect(r.hitLayer).toBe(14 + 2 + 1);
    expect(r.outcome).toBe(7 + 14);
    expect(lastLayerOf(r)).toBe(3);
    expect(r.ndof).toBe(10);
    expect(r.chi2).toBe(12.5);

    const barrelOnly = newMuidSwimState();
    barrelOnly.lastBarrelExtLayer = 5;
    barrelOnly.lastBarrelHitLayer = 4;
    const b = finishMuid(barrelOnly, false);
    expect(b.extLayer).toBe(5);
    expect(b.hitLayer).toBe(4);
    expect(lastLayerOf(b)).toBe(5);

    const endcapOnly = newMuidSwimState();
    endcapOnly.lastEndcapExtLayer = 7;
    endcapOnly.lastEndcapHitLayer = 6;
    const e = finishMuid(endcapOnly, true);
    expect(e.extLayer).toBe(7);
    expect(e.hitLayer).toBe(-1 + 6 + 1);
    expect(e.outcome).toBe(Outcome.StopInForwardEndcap);

    // endcap crossed without an endcap hit: the barrel hit layer
    const noEndcapHit = newMuidSwimState();
    noEndcapHit.lastBarrelExtLayer = 9;
    noEndcapHit.lastBarrelHitLayer = 9;
    noEndcapHit.lastEndcapExtLayer = 1;
    expect(finishMuid(noEndcapHit, false).hitLayer).toBe(9);
  });
});
