/**
 * The E/p baseline (src/reco/eclEp.ts, src/train/eclEp.ts): the 3×3 cluster around the window's
 * maximum, the histogram PDFs (normalisation, pseudo-counts, per-charge tables) and the likelihood
 * ratio on a hand-built sample whose E/p distributions are known; the shipped PDF file validates.
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FormatError, InputError } from "../src/errors.js";
import { binIndex, eclCluster, eclEpMuonProbability, validateEclEpPdfs } from "../src/reco/eclEp.js";
import type { EclSample } from "../src/reco/eclSample.js";
import { buildEclEpPdfs, eclClusterEnergies } from "../src/train/eclEp.js";

function window(pixels: Record<number, number>): Float32Array {
  const w = new Float32Array(49);
  for (const [k, e] of Object.entries(pixels)) w[Number(k)] = e;
  return w;
}

describe("3×3 cluster around the most energetic crystal", () => {
  it("sums the seed and its 8 neighbours, nothing farther", () => {
    // seed at (3,3) = 24; neighbours 16, 17, 18, 23, 25, 30, 31, 32; pixel 10 = (1,3) is two rows away
    const c = eclCluster(window({ 24: 0.2, 16: 0.01, 32: 0.02, 25: 0.03, 10: 0.5 * 0.2 }));
    expect(c).not.toBeNull();
    expect(c!.seed).toBe(24);
    expect(c!.energy).toBeCloseTo(0.2 + 0.01 + 0.02 + 0.03, 6);
  });

  it("cuts the 3×3 block at the window edge (corner seed: 4 crystals)", () => {
    const c = eclCluster(window({ 0: 0.3, 1: 0.01, 7: 0.02, 8: 0.04, 2: 0.5 * 0.1, 14: 0.05 }));
    expect(c!.seed).toBe(0);
    expect(c!.energy).toBeCloseTo(0.3 + 0.01 + 0.02 + 0.04, 6);
  });

  it("takes the first pixel on a tie, returns null for an empty window, reads at an offset", () => {
    expect(eclCluster(window({ 30: 0.1, 12: 0.1 }))!.seed).toBe(12);
    expect(eclCluster(new Float32Array(49))).toBeNull();
    const two = new Float32Array(98);
    two[49 + 48] = 0.07;
    expect(eclCluster(two, 49)).toEqual({ energy: Math.fround(0.07), seed: 48 });
    expect(() => eclCluster(two, 60)).toThrow(InputError);
  });
});

describe("bins", () => {
  it("half-open bins, clamped to the first and last", () => {
    const edges = [0.2, 0.3, 0.5, 1.0];
    expect([0.1, 0.2, 0.29, 0.3, 0.49, 0.5, 0.99, 1.0, 5].map((v) => binIndex(edges, v))).toEqual([0, 0, 0, 1, 1, 2, 2, 2, 2]);
  });
});

/** A sample of `n` tracks per species and charge with one crystal each: E/p of muons 0.3, pions 0.8 (p = 0.5 GeV/c). */
function handSample(n: number): EclSample {
  const m = 4 * n;
  const s: EclSample = {
    n: m, rawImage: new Float32Array(m * 49), pt: new Float32Array(m).fill(0.5), thetaId: new Int32Array(m).fill(30), phiId: new Int32Array(m).fill(10),
    ptIp: new Float32Array(m).fill(0.5), pIp: new Float32Array(m).fill(0.5), charge: new Int8Array(m), isMuon: new Uint8Array(m), rowIndex: new Int32Array(m),
    rows: m, rejected: { "no-ecl-entry": 0, "outside-theta-acceptance": 0, "outside-pt-acceptance": 0 }, skipped: 0,
  };
  for (let i = 0; i < m; i++) {
    const muon = i % 2 === 0;
    s.isMuon[i] = muon ? 1 : 0;
    s.charge[i] = i % 4 < 2 ? 1 : -1;
    s.rawImage[i * 49 + 24] = (muon ? 0.3 : 0.8) * 0.5;
    s.rowIndex[i] = i;
  }
  return s;
}

describe("E/p likelihood PDFs", () => {
  const pdfs = buildEclEpPdfs(handSample(200), { pBins: [0.2, 0.6, 1.0], epBins: [0, 0.25, 0.5, 0.75, 1.0] });

  it("histograms are densities with unit area per momentum bin, pseudo-count ½ in empty bins", () => {
    for (const charge of ["plus", "minus"] as const) {
      for (const species of ["muon", "pion"] as const) {
        for (const row of pdfs[charge][species]) expect(row.reduce((a, d) => a + d * 0.25, 0)).toBeCloseTo(1, 12);
      }
      expect(pdfs[charge].muonTracks).toEqual([200, 0]);
      // 200 muons in E/p bin [0.25, 0.5): (200 + 0.5)/(200 + 4·0.5)/0.25
      expect(pdfs[charge].muon[0]![1]).toBeCloseTo(200.5 / 202 / 0.25, 12);
      expect(pdfs[charge].muon[0]![0]).toBeCloseTo(0.5 / 202 / 0.25, 12);
      // the empty momentum bin is flat
      expect(pdfs[charge].pion[1]).toEqual([1, 1, 1, 1]);
    }
    expect(pdfs.provenance.samples).toBe(800);
  });

  it("P(μ) = L_μ/(L_μ + L_π): high where muons are, low where pions are, ½ where neither is", () => {
    expect(eclEpMuonProbability(pdfs, 1, 0.5, 0.3)).toBeCloseTo(200.5 / 201, 12);
    expect(eclEpMuonProbability(pdfs, -1, 0.5, 0.8)).toBeCloseTo(0.5 / 201, 12);
    expect(eclEpMuonProbability(pdfs, 1, 0.5, 0.1)).toBeCloseTo(0.5, 12);
    expect(eclEpMuonProbability(pdfs, 1, 0.5, 7)).toBeCloseTo(0.5 / 201, 12); // overflow → last E/p bin
    expect(() => eclEpMuonProbability(pdfs, 1, 0, 0.3)).toThrow(InputError);
  });

  it("cluster energies are NaN without a cluster and respect the threshold", () => {
    const s = handSample(1);
    s.rawImage[3 * 49 + 24] = 0.0015;
    const e1 = eclClusterEnergies(s, 0.001), e2 = eclClusterEnergies(s, 0.002);
    expect(e1[3]).toBeCloseTo(0.0015, 6);
    expect(Number.isNaN(e2[3]!)).toBe(true);
  });

  it("validation: the JSON round trip passes, broken files are FormatErrors", () => {
    expect(validateEclEpPdfs(JSON.parse(JSON.stringify(pdfs)))).toEqual(pdfs);
    expect(() => validateEclEpPdfs({ ...pdfs, format: "x" })).toThrow(FormatError);
    expect(() => validateEclEpPdfs({ ...pdfs, pBins: [1, 0.5] })).toThrow(/pBins/);
    expect(() => validateEclEpPdfs({ ...pdfs, plus: { ...pdfs.plus, muon: [[1, 2]] } })).toThrow(/plus\.muon/);
    expect(() => validateEclEpPdfs(null)).toThrow(FormatError);
  });

  it.runIf(existsSync("weights/ecl-ep.json"))("the shipped weights/ecl-ep.json validates and separates: a MIP-like E/p is more muon-like than a large one", () => {
    const shipped = validateEclEpPdfs(JSON.parse(readFileSync("weights/ecl-ep.json", "utf8")));
    expect(shipped.threshold).toBe(0.001);
    for (const charge of [1, -1] as const) {
      // a 0.45 GeV/c track: a MIP (~0.1–0.15 GeV in the 3×3) vs a hadronic shower with E/p near 1
      expect(eclEpMuonProbability(shipped, charge, 0.45, 0.25)).toBeGreaterThan(eclEpMuonProbability(shipped, charge, 0.45, 0.9));
    }
  });
});
