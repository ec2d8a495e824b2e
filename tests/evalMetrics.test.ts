/**
 * ROC, AUC and working points (src/eval/metrics.ts) against hand-computed cases and against brute
 * force definitions on random data (fast-check): AUC = Mann–Whitney pair count with ties as ½;
 * fake rate at efficiency = the lowest fake rate of any score cut reaching that efficiency.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InputError } from "../src/errors.js";
import { assignBins, auc, binomialError, efficiencyAtFakeRate, fakeRateAtEfficiency, indicesInBin, rocCurve, sampledRoc } from "../src/eval/metrics.js";

/** Signal scores {0.9, 0.7, 0.6}, background {0.8, 0.5, 0.4}. */
const scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];
const labels = [1, 0, 1, 1, 0, 0];

function bruteAuc(s: number[], l: number[]): number {
  let wins = 0, pairs = 0;
  for (let i = 0; i < s.length; i++)
    for (let j = 0; j < s.length; j++)
      if (l[i] === 1 && l[j] === 0) {
        pairs++;
        wins += s[i]! > s[j]! ? 1 : s[i] === s[j] ? 0.5 : 0;
      }
  return wins / pairs;
}

/** Over every cut "score ≥ c" with c a score value: the lowest fake rate whose efficiency ≥ target. */
function bruteFakeRate(s: number[], l: number[], target: number): number {
  const ns = l.filter((x) => x === 1).length, nb = l.length - ns;
  let best = Infinity;
  for (const c of s) {
    const eff = s.filter((v, i) => v >= c && l[i] === 1).length / ns;
    const fr = s.filter((v, i) => v >= c && l[i] === 0).length / nb;
    if (eff >= target - 1e-12) best = Math.min(best, fr);
  }
  return best;
}

function bruteEfficiency(s: number[], l: number[], target: number): number {
  const ns = l.filter((x) => x === 1).length, nb = l.length - ns;
  let best = 0;
  for (const c of [...s, -Infinity]) {
    const eff = s.filter((v, i) => v > c && l[i] === 1).length / ns;
    const fr = s.filter((v, i) => v > c && l[i] === 0).length / nb;
    if (fr <= target + 1e-12) best = Math.max(best, eff);
  }
  return best;
}

describe("ROC and AUC", () => {
  it("hand case: AUC 7/9, ROC through every distinct score", () => {
    expect(auc(scores, labels)).toBeCloseTo(7 / 9, 14);
    const roc = rocCurve(scores, labels);
    expect(roc.map((p) => [p.efficiency, p.fakeRate])).toEqual([
      [0, 0], [1 / 3, 0], [1 / 3, 1 / 3], [2 / 3, 1 / 3], [1, 1 / 3], [1, 2 / 3], [1, 1],
    ]);
  });

  it("perfect, inverted and uninformative classifiers give AUC 1, 0 and ½", () => {
    expect(auc([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0])).toBe(1);
    expect(auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
    expect(auc([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0])).toBe(0.5);
  });

  it("AUC equals the Mann–Whitney pair count (ties ½) on random scores with many ties", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 6 }), fc.boolean()), { minLength: 2, maxLength: 60 }), (rows) => {
        const s = rows.map((r) => r[0] / 6), l = rows.map((r) => (r[1] ? 1 : 0));
        fc.pre(l.includes(1) && l.includes(0));
        expect(auc(s, l)).toBeCloseTo(bruteAuc(s, l), 12);
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it("typed errors: length mismatch, NaN score, bad label, one class only", () => {
    expect(() => auc([0.1, 0.2], [1])).toThrow(InputError);
    expect(() => auc([NaN, 0.2], [1, 0])).toThrow(/score 0/);
    expect(() => auc([0.1, 0.2], [1, 2])).toThrow(/label 1/);
    expect(() => auc([0.1, 0.2], [1, 1])).toThrow(/signal and background/);
  });
});

describe("working points", () => {
  it("hand case: 2/3 efficiency costs 1/3 fake rate; 100 % efficiency costs 1/3; zero fake rate keeps 1/3", () => {
    const wp = fakeRateAtEfficiency(scores, labels, 0.6);
    expect(wp.cut).toBe(0.7);
    expect(wp.efficiency).toBeCloseTo(2 / 3, 14);
    expect(wp.fakeRate).toBeCloseTo(1 / 3, 14);
    expect(fakeRateAtEfficiency(scores, labels, 1).fakeRate).toBeCloseTo(1 / 3, 14);
    const e = efficiencyAtFakeRate(scores, labels, 0);
    expect(e.efficiency).toBeCloseTo(1 / 3, 14);
    expect(e.fakeRate).toBe(0);
    expect(wp.fakeRateError).toBeCloseTo(Math.sqrt((1 / 3) * (2 / 3) / 3), 14);
  });

  it("ties are never split: a tied background entry at the cut is selected with the signal", () => {
    const wp = fakeRateAtEfficiency([0.5, 0.5, 0.1], [1, 0, 0], 0.9);
    expect(wp.efficiency).toBe(1);
    expect(wp.fakeRate).toBe(0.5);
  });

  it("fake rate at efficiency and efficiency at fake rate match brute force over all cuts", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.boolean()), { minLength: 2, maxLength: 50 }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 0.99, noNaN: true }),
        (rows, eff, fr) => {
          const s = rows.map((r) => r[0] / 20), l = rows.map((r) => (r[1] ? 1 : 0));
          fc.pre(l.includes(1) && l.includes(0));
          const wp = fakeRateAtEfficiency(s, l, eff);
          expect(wp.efficiency).toBeGreaterThanOrEqual(eff - 1e-12);
          expect(wp.fakeRate).toBeCloseTo(bruteFakeRate(s, l, eff), 12);
          const we = efficiencyAtFakeRate(s, l, fr);
          expect(we.fakeRate).toBeLessThanOrEqual(fr + 1e-12);
          expect(we.efficiency).toBeCloseTo(bruteEfficiency(s, l, fr), 12);
        },
      ),
      { seed: 7, numRuns: 300 },
    );
  });

  it("the 90 % point of a large two-Gaussian sample matches the analytic value", () => {
    // signal N(1, 1), background N(−1, 1): the 90 % efficiency cut is 1 − 1.2816 = −0.2816, and the
    // background above it is 1 − Φ(0.7184) = 0.2363 (normal table)
    let seed = 12345;
    const uniform = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed + 0.5) / 4294967296;
    };
    const gauss = (): number => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    const n = 200000;
    const s: number[] = [], l: number[] = [];
    for (let i = 0; i < n; i++) {
      s.push(gauss() + 1);
      l.push(1);
      s.push(gauss() - 1);
      l.push(0);
    }
    const wp = fakeRateAtEfficiency(s, l, 0.9);
    expect(wp.cut).toBeCloseTo(-0.2816, 1);
    expect(Math.abs(wp.fakeRate - 0.2363)).toBeLessThan(4 * wp.fakeRateError + 1e-3);
    // AUC of two unit Gaussians 2σ apart: Φ(2/√2) = Φ(1.4142) = 0.9214
    expect(auc(s, l)).toBeCloseTo(0.9214, 2);
  });

  it("rejects targets outside (0, 1]", () => {
    expect(() => fakeRateAtEfficiency(scores, labels, 0)).toThrow(InputError);
    expect(() => efficiencyAtFakeRate(scores, labels, 1)).toThrow(InputError);
  });
});

describe("sampled ROC, bins, errors", () => {
  it("samples the ROC at evenly spaced efficiencies with the lowest fake rate reaching each", () => {
    const r = sampledRoc(scores, labels, 4);
    expect(r.efficiency).toEqual([0, 1 / 3, 2 / 3, 1]);
    expect(r.fakeRate).toEqual([0, 0, 1 / 3, 1 / 3]);
  });

  it("assigns values to half-open bins, −1 outside, and lists a bin's entries", () => {
    const bins = assignBins([0.28, 0.39999, 0.4, 0.55, 1.0, 0.1, 0.95], [0.28, 0.4, 0.5, 0.6, 0.8, 1.0]);
    expect(Array.from(bins)).toEqual([0, 0, 1, 2, -1, -1, 4]);
    expect(Array.from(indicesInBin(bins, 0))).toEqual([0, 1]);
    expect(() => assignBins([1], [0.5, 0.4])).toThrow(InputError);
  });

  it("binomial error of a rate", () => {
    expect(binomialError(0.1, 100)).toBeCloseTo(0.03, 14);
    expect(binomialError(0.5, 0)).toBe(0);
  });
});
