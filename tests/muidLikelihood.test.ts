// The structure of the Muid likelihood (klm.md §2.9–2.11) on hand-built tables: the MuidBuilderTest cases
// of §4.1 (which rows and layers are read, the efficiency factor, the detector selector and the quirk
// endcapExtLayer = lastBarrelLayer), with expectations written out factor by factor from §2.9–2.10.
// basf2's reference numbers need its CDB tables; these tests fix the arithmetic, not those values.
import { describe, expect, it } from "vitest";
import {
  DEFAULT_LOG_LIKELIHOOD,
  KlmLikelihood,
  LIKELIHOOD_FORMAT,
  MuidHypothesisPdf,
  REDUCED_CHI2_BINS,
  validateLikelihoodTables,
  type HypothesisTables,
  type LikelihoodTablesJson,
} from "../src/reco/muidLikelihood.js";
import { patternFromBits, validOutcomeLayers, type MuidResult } from "../src/reco/muidPatterns.js";
import { FormatError, VersionError } from "../src/errors.js";

type Hyp = "muon" | "pion";
/** hand-built hit probability, distinct per hypothesis, outcome, last layer and layer */
function P(h: Hyp, outcome: number, lastLayer: number, layer: number): number {
  return (h === "muon" ? 0.8 : 0.4) + 0.01 * (layer % 10) + 0.002 * lastLayer + 0.0003 * (outcome % 7);
}
/** log-PDF histogram slope/intercept per detector and ndof (linear, so the spline reproduces it exactly) */
function lnA(h: Hyp, detector: number, ndof: number): number {
  return (h === "muon" ? 0.5 : -0.3) + 0.1 * detector + 0.01 * ndof;
}
function lnB(h: Hyp, detector: number, ndof: number): number {
  return (h === "muon" ? -1.5 : -0.6) - 0.05 * detector - 0.002 * ndof;
}
/** ndof 28 and 14 are tabulated up to reduced χ² 5, the others switch to the tail at 0.5 */
function threshold(ndof: number): number {
  return ndof === 28 || ndof === 14 ? 5 : 0.5;
}
const SCALE_X: Record<Hyp, number> = { muon: 1.1, pion: 0.7 };
const SCALE_Y: Record<Hyp, number> = { muon: 2.0, pion: 3.0 };

function hypothesisTables(h: Hyp): HypothesisTables {
  return {
    pdg: h === "muon" ? 13 : 211,
    longitudinal: validOutcomeLayers().map(({ outcome, lastLayer }) => ({
      outcome, lastLayer, layers: Array.from({ length: 29 }, (_, i) => P(h, outcome, lastLayer, i)),
    })),
    transverse: [0, 1, 2].flatMap((detector) => Array.from({ length: 18 }, (_, k) => {
      const ndof = 2 * (k + 1);
      return {
        detector, ndof, threshold: threshold(ndof), scaleX: SCALE_X[h], scaleY: SCALE_Y[h],
        histogram: Array.from({ length: REDUCED_CHI2_BINS }, (_, i) => lnA(h, detector, ndof) + lnB(h, detector, ndof) * (0.05 + 0.1 * i)),
      };
    })),
  };
}

function tables(): LikelihoodTablesJson {
  return { format: LIKELIHOOD_FORMAT, version: 1, efficiency: 1, hypotheses: { muon: hypothesisTables("muon"), pion: hypothesisTables("pion") } };
}

function result(fields: Partial<MuidResult> & Pick<MuidResult, "outcome" | "barrelExtLayer" | "endcapExtLayer" | "extLayerPattern" | "hitLayerPattern" | "chi2" | "ndof" | "isForward">, efficiency = 1): MuidResult {
  return {
    barrelHitLayer: -1, endcapHitLayer: -1, extLayer: -1, hitLayer: -1,
    barrelEfficiency: new Float64Array(15).fill(efficiency),
    endcapEfficiency: new Float64Array(14).fill(efficiency),
    ...fields,
  };
}

/** the tail function of §2.10 */
function tail(h: Hyp, x: number, halfNdof: number): number {
  const xp = x * SCALE_X[h] * halfNdof;
  return SCALE_Y[h] * Math.pow(xp, halfNdof - 1) * Math.exp(-xp);
}
/** the tabulated region with a linear log-PDF */
function tabulated(h: Hyp, detector: number, ndof: number, x: number): number {
  return Math.exp(lnA(h, detector, ndof) + lnB(h, detector, ndof) * x);
}

const likelihood = new KlmLikelihood(tables());
const pdfOf = (h: Hyp) => likelihood.hypotheses.find((p) => p.name === h)!;

describe("MuidBuilderTest cases on hand-built tables", () => {
  for (const h of ["muon", "pion"] as const) {
    it(`${h}: test 01 — 14 barrel layers hit, outcome 1, χ² 29.5 / 28 (tabulated region)`, () => {
      const r = result({
        outcome: 1, isForward: true, barrelExtLayer: 13, endcapExtLayer: 13, // the test's setEndcapExtLayer(lastBarrelLayer) quirk
        extLayerPattern: patternFromBits("11111111111111"), hitLayerPattern: patternFromBits("11111111111111"), chi2: 29.5, ndof: 28,
      });
      let expected = 0;
      for (let l = 0; l <= 13; l++) expected += Math.log(P(h, 1, 13, l));
      expected += Math.log(tabulated(h, 0, 28, 29.5 / 28));
      expect(Math.log(pdfOf(h).pdf(r))).toBeCloseTo(expected, 9);
    });

    it(`${h}: test 02 — no hit in layers 1 and 11: two 1 − P·ε factors, χ² 23.5 / 24 (tail)`, () => {
      const r = result({
        outcome: 1, isForward: true, barrelExtLayer: 13, endcapExtLayer: 13,
        extLayerPattern: patternFromBits("11111111111111"), hitLayerPattern: patternFromBits("11011111111101"), chi2: 23.5, ndof: 24,
      });
      let expected = 0;
      for (let l = 0; l <= 13; l++) expected += Math.log(l === 1 || l === 11 ? 1 - P(h, 1, 13, l) : P(h, 1, 13, l));
      expected += Math.log(tail(h, 23.5 / 24, 12));
      expect(Math.log(pdfOf(h).pdf(r))).toBeCloseTo(expected, 9);
    });

    it(`${h}: test 03 — 14 ext bits but last layer 1: only layers 0–1 read, row (1, 1), χ² 7.5 / 4`, () => {
      const r = result({
        outcome: 1, isForward: true, barrelExtLayer: 1, endcapExtLayer: 1,
        extLayerPattern: patternFromBits("11111111111111"), hitLayerPattern: patternFromBits("11"), chi2: 7.5, ndof: 4,
      });
      const expected = Math.log(P(h, 1, 1, 0)) + Math.log(P(h, 1, 1, 1)) + Math.log(tail(h, 7.5 / 4, 2));
      expect(Math.log(pdfOf(h).pdf(r))).toBeCloseTo(expected, 9);
    });

    for (const forward of [true, false]) {
      const outcome = forward ? 9 : 24;
      it(`${h}: test 04 ${forward ? "fwd" : "bwd"} — barrel 0–2 + endcap bits 15–21, outcome ${outcome}, endcap read up to the quirk layer 2`, () => {
        const bits = patternFromBits("1111111000000000000111");
        const r = result({ outcome, isForward: forward, barrelExtLayer: 2, endcapExtLayer: 2, extLayerPattern: bits, hitLayerPattern: bits, chi2: 19.5, ndof: 20 });
        let expected = 0;
        for (let l = 0; l <= 2; l++) expected += Math.log(P(h, outcome, 2, l)) + Math.log(P(h, outcome, 2, 15 + l));
        expected += Math.log(tail(h, 19.5 / 20, 10));
        expect(Math.log(pdfOf(h).pdf(r))).toBeCloseTo(expected, 9);
      });

      it(`${h}: test 05 ${forward ? "fwd" : "bwd"} — all efficiencies 0.8437: the missing barrel layer 1 gives 1 − P·0.8437`, () => {
        const r = result({
          outcome, isForward: forward, barrelExtLayer: 2, endcapExtLayer: 2,
          extLayerPattern: patternFromBits("1111111000000000000111"), hitLayerPattern: patternFromBits("1100111000000000000101"), chi2: 15.5, ndof: 14,
        }, 0.8437);
        const expected = Math.log(P(h, outcome, 2, 0)) + Math.log(1 - P(h, outcome, 2, 1) * 0.8437) + Math.log(P(h, outcome, 2, 2)) +
          Math.log(P(h, outcome, 2, 15)) + Math.log(P(h, outcome, 2, 16)) + Math.log(P(h, outcome, 2, 17)) + Math.log(tabulated(h, 0, 14, 15.5 / 14));
        expect(Math.log(pdfOf(h).pdf(r))).toBeCloseTo(expected, 9);
      });
    }
  }
});

describe("longitudinal PDF rules (§2.9)", () => {
  const pdf = pdfOf("muon");
  const base = { isForward: true, chi2: 0, ndof: 0 };
  it("a missing hit counts only below the last layer, at barrel layer 14, or at layer 0 when outcome < 7", () => {
    // ext 0–5, hits 0–4: the miss at the last layer 5 is not a factor
    const a = result({ ...base, outcome: 1, barrelExtLayer: 5, endcapExtLayer: -1, extLayerPattern: 0b111111, hitLayerPattern: 0b11111 });
    let e = 1;
    for (let l = 0; l <= 4; l++) e *= P("muon", 1, 5, l);
    expect(pdf.longitudinalPdf(a)).toBeCloseTo(e, 14);
    // the same miss at layer 14 is a factor
    const all = (1 << 15) - 1;
    const b = result({ ...base, outcome: 3, barrelExtLayer: 14, endcapExtLayer: -1, extLayerPattern: all, hitLayerPattern: all & ~(1 << 14) });
    e = 1 - P("muon", 3, 14, 14);
    for (let l = 0; l <= 13; l++) e *= P("muon", 3, 14, l);
    expect(pdf.longitudinalPdf(b)).toBeCloseTo(e, 14);
    // only layer 0 crossed, no hit: a factor for outcome 1, none for outcome 7 (crossed into the endcap)
    const c1 = result({ ...base, outcome: 1, barrelExtLayer: 0, endcapExtLayer: -1, extLayerPattern: 1, hitLayerPattern: 0 });
    expect(pdf.longitudinalPdf(c1)).toBeCloseTo(1 - P("muon", 1, 0, 0), 14);
    const c7 = result({ ...base, outcome: 7, barrelExtLayer: 0, endcapExtLayer: 4, extLayerPattern: 1 | (0b11111 << 15), hitLayerPattern: 0b11111 << 15 });
    e = 1;
    for (let l = 0; l <= 4; l++) e *= P("muon", 7, 4, 15 + l);
    expect(pdf.longitudinalPdf(c7)).toBeCloseTo(e, 14);
    // layers without the ext bit are skipped
    const d = result({ ...base, outcome: 1, barrelExtLayer: 3, endcapExtLayer: -1, extLayerPattern: 0b1001, hitLayerPattern: 0b1001 });
    expect(pdf.longitudinalPdf(d)).toBeCloseTo(P("muon", 1, 3, 0) * P("muon", 1, 3, 3), 14);
  });

  it("endcap: a miss counts at layer 0, below the last layer and at the outermost layer (13 forward, 11 backward)", () => {
    const ext = 0b111111111111 << 15; // endcap layers 0–11
    const missLast = ext & ~(1 << (15 + 11));
    // backward: layer 11 is the outermost → factor
    const bwd = result({ ...base, isForward: false, outcome: 6, barrelExtLayer: -1, endcapExtLayer: 11, extLayerPattern: ext, hitLayerPattern: missLast });
    let e = 1 - P("muon", 6, 11, 15 + 11);
    for (let l = 0; l <= 10; l++) e *= P("muon", 6, 11, 15 + l);
    expect(pdf.longitudinalPdf(bwd)).toBeCloseTo(e, 14);
    // forward: layer 11 is not the outermost → no factor
    const fwd = result({ ...base, isForward: true, outcome: 2, barrelExtLayer: -1, endcapExtLayer: 11, extLayerPattern: ext, hitLayerPattern: missLast });
    e = 1;
    for (let l = 0; l <= 10; l++) e *= P("muon", 2, 11, 15 + l);
    expect(pdf.longitudinalPdf(fwd)).toBeCloseTo(e, 14);
    // a miss at endcap layer 0 that is also the last layer still counts
    const first = result({ ...base, outcome: 2, barrelExtLayer: -1, endcapExtLayer: 0, extLayerPattern: 1 << 15, hitLayerPattern: 0 });
    expect(pdf.longitudinalPdf(first)).toBeCloseTo(1 - P("muon", 2, 0, 15), 14);
  });

  it("is 0 for outcome 0, outcome > 66 or layers beyond the maxima", () => {
    const r = result({ ...base, outcome: 0, barrelExtLayer: 3, endcapExtLayer: -1, extLayerPattern: 15, hitLayerPattern: 15 });
    expect(pdf.longitudinalPdf(r)).toBe(0);
    expect(pdf.longitudinalPdf({ ...r, outcome: 67 })).toBe(0);
    expect(pdf.longitudinalPdf({ ...r, outcome: 1, barrelExtLayer: 15 })).toBe(0);
    expect(pdf.longitudinalPdf({ ...r, outcome: 2, barrelExtLayer: -1, endcapExtLayer: 14 })).toBe(0);
  });
});

describe("transverse PDF (§2.10)", () => {
  const pdf = pdfOf("pion");
  it("is 1 without degrees of freedom and 0 for a negative χ²", () => {
    expect(pdf.transversePdf({ chi2: 3, ndof: 0, barrelExtLayer: 2, endcapExtLayer: -1 })).toBe(1);
    expect(pdf.transversePdf({ chi2: -1, ndof: 4, barrelExtLayer: 2, endcapExtLayer: -1 })).toBe(0);
  });

  it("selects the detector: barrel only (1), endcap only (2), both (0)", () => {
    const x = 1.2;
    expect(pdf.transversePdf({ chi2: 28 * x, ndof: 28, barrelExtLayer: 4, endcapExtLayer: -1 })).toBeCloseTo(tabulated("pion", 1, 28, x), 12);
    expect(pdf.transversePdf({ chi2: 28 * x, ndof: 28, barrelExtLayer: -1, endcapExtLayer: 4 })).toBeCloseTo(tabulated("pion", 2, 28, x), 12);
    expect(pdf.transversePdf({ chi2: 28 * x, ndof: 28, barrelExtLayer: 4, endcapExtLayer: 4 })).toBeCloseTo(tabulated("pion", 0, 28, x), 12);
  });

  it("uses the halfNdof = 18 tail parameters beyond 36 degrees of freedom, with the true halfNdof in the power", () => {
    const v = pdf.transversePdf({ chi2: 40 * 0.9, ndof: 40, barrelExtLayer: 4, endcapExtLayer: 4 });
    expect(v).toBeCloseTo(tail("pion", 0.9, 20), 14);
  });

  it("interpolates a cubic log-PDF exactly (muidSpline end conditions) and reads bin 0 below x = 0.05", () => {
    const f = (x: number): number => 0.3 - 1.2 * x + 0.25 * x * x - 0.02 * x * x * x;
    const h = hypothesisTables("muon");
    h.transverse = [{ detector: 1, ndof: 6, threshold: 9.5, scaleX: 1, scaleY: 1, histogram: Array.from({ length: 100 }, (_, i) => f(0.05 + 0.1 * i)) }];
    const one = new MuidHypothesisPdf("cubic", h);
    for (const x of [0.05, 0.12, 1.0, 3.333, 7.77, 9.4]) {
      expect(Math.log(one.transversePdf({ chi2: 6 * x, ndof: 6, barrelExtLayer: 3, endcapExtLayer: -1 })), `x = ${x}`).toBeCloseTo(f(x), 9);
    }
    // x < 0.05: bin 0 extrapolated backwards along its cubic
    expect(Math.log(one.transversePdf({ chi2: 6 * 0.01, ndof: 6, barrelExtLayer: 3, endcapExtLayer: -1 }))).toBeCloseTo(f(0.01), 9);
    expect(() => one.transversePdf({ chi2: 1, ndof: 8, barrelExtLayer: 3, endcapExtLayer: -1 })).toThrow(/no transverse PDF/);
  });
});

describe("muonID and log-likelihoods (§2.11)", () => {
  it("muonId = L_μ/(L_μ + L_π) with logL = ln pdf", () => {
    const r = result({
      outcome: 1, isForward: true, barrelExtLayer: 5, endcapExtLayer: -1, extLayerPattern: 0b111111, hitLayerPattern: 0b101111, chi2: 9, ndof: 10,
    });
    const v = likelihood.evaluate(r);
    const lm = pdfOf("muon").pdf(r), lp = pdfOf("pion").pdf(r);
    expect(v.pdf.muon).toBe(lm);
    expect(v.logL.muon).toBeCloseTo(Math.log(lm), 12);
    expect(v.logL.pion).toBeCloseTo(Math.log(lp), 12);
    expect(v.muonId).toBeCloseTo(lm / (lm + lp), 12);
    expect(v.junk).toBe(false);
  });

  it("a track that did not reach the KLM keeps logL = −1e20 and muonId 0.5", () => {
    const r = result({ outcome: 0, isForward: false, barrelExtLayer: -1, endcapExtLayer: -1, extLayerPattern: 0, hitLayerPattern: 0, chi2: 0, ndof: 0 });
    const v = likelihood.evaluate(r);
    expect(v.logL.muon).toBe(DEFAULT_LOG_LIKELIHOOD);
    expect(v.logL.pion).toBe(DEFAULT_LOG_LIKELIHOOD);
    expect(v.muonId).toBe(0.5);
  });

  it("Σ pdf < 1e-20 is junk: no logL, muonId 0.5", () => {
    const r = result({ outcome: 1, isForward: true, barrelExtLayer: 5, endcapExtLayer: -1, extLayerPattern: 0b111111, hitLayerPattern: 0b111111, chi2: 5000, ndof: 2 });
    const v = likelihood.evaluate(r);
    expect(v.pdf.muon + v.pdf.pion).toBeLessThan(1e-20);
    expect(v.junk).toBe(true);
    expect(v.logL.muon).toBe(DEFAULT_LOG_LIKELIHOOD);
    expect(v.muonId).toBe(0.5);
  });
});

describe("table file validation", () => {
  it("names the problem", () => {
    expect(() => validateLikelihoodTables({ ...tables(), format: "x" })).toThrow(FormatError);
    expect(() => validateLikelihoodTables({ ...tables(), version: 2 })).toThrow(VersionError);
    const bad = tables();
    bad.hypotheses.muon!.longitudinal.push({ outcome: 1, lastLayer: 14, layers: [] });
    expect(() => validateLikelihoodTables(bad)).toThrow(/outcome 1, lastLayer 14/);
    const badT = tables();
    badT.hypotheses.pion!.transverse[0]!.threshold = 9.99;
    expect(() => validateLikelihoodTables(badT)).toThrow(/threshold/);
    expect(() => KlmLikelihood.fromJsonText("{")).toThrow(FormatError);
    const noPion = tables();
    delete noPion.hypotheses.pion;
    expect(() => new KlmLikelihood(noPion)).toThrow(/pion/);
  });
});
