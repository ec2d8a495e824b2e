/**
 * The combined muon probability: the isotonic calibration recovers a known log-likelihood ratio, the
 * combination is the naive-Bayes sum, bad files are FormatErrors, the reliability measure tells a
 * calibrated probability from an over-confident one, and the shipped calibration loads and scores
 * simulated tracks.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseReconstructOptions, runReconstruct } from "../src/cli/reconstruct.js";
import { readReconstructedRows } from "../src/reco/klmRowFile.js";
import { rowToJsonLine } from "../src/sim/io.js";
import { defaultDetectorConditions, eventRandom, simulateEvent } from "../src/sim/event.js";
import { generateGunEvent } from "../src/sim/generators.js";
import type { SimTrackRow } from "../src/sim/types.js";
import { describe, expect, it } from "vitest";
import { FormatError, InputError } from "../src/errors.js";
import { Random } from "../src/sim/random.js";
import {
  COMBINED_MUON_ID_FORMAT, COMBINED_MUON_ID_FORMAT_VERSION, CombinedMuonId, interpolateLlr, momentumBin,
  type CalibrationBin, type CombinedMuonIdTables,
} from "../src/reco/combinedMuonId.js";
import { buildCombinedSample, combinedStudyGuns, fitBothSourcesWeights, fitCalibrationBin, loadCombinedModels, DEFAULT_COMBINED_OUTPUT, type CombinedSample } from "../src/train/combinedMuonId.js";
import { evaluateCombined, reliability } from "../src/eval/combined.js";

/** Scores of two unit Gaussians at ±1: the true λ(s) = ln[N(s; 1, 1)/N(s; −1, 1)] = 2s. */
function gaussianSample(n: number, seed: number): { scores: Float64Array; labels: Uint8Array } {
  const rng = new Random(seed);
  const scores = new Float64Array(2 * n), labels = new Uint8Array(2 * n);
  for (let i = 0; i < 2 * n; i++) {
    labels[i] = i < n ? 1 : 0;
    scores[i] = (i < n ? 1 : -1) + rng.gauss();
  }
  return { scores, labels };
}

function tables(klm: CalibrationBin | null, ecl: CalibrationBin | null, eclWeight = 1): CombinedMuonIdTables {
  return {
    format: COMBINED_MUON_ID_FORMAT, formatVersion: COMBINED_MUON_ID_FORMAT_VERSION,
    momentumEdges: [0.2, 1, 5], llrLimit: 8,
    sources: {
      klmDnn: { score: "test", model: "test", plus: [null, klm], minus: [null, klm] },
      eclCnn: { score: "test", model: "test", plus: [ecl, ecl], minus: [ecl, ecl] },
    },
    bothSourcesWeights: { klmDnn: [1, 1], eclCnn: [1, eclWeight] },
    provenance: { test: true },
  };
}

const identity: CalibrationBin = { muons: 100, pions: 100, scores: [-8, 8], llr: [-8, 8] };
const half: CalibrationBin = { muons: 100, pions: 100, scores: [-8, 8], llr: [-4, 4] };

describe("calibration fit", () => {
  it("recovers λ(s) = 2s of two unit Gaussians", () => {
    const { scores, labels } = gaussianSample(20000, 7);
    const bin = fitCalibrationBin(scores, labels)!;
    expect(bin.muons).toBe(20000);
    for (let k = 1; k < bin.llr.length; k++) expect(bin.llr[k]!).toBeGreaterThanOrEqual(bin.llr[k - 1]!);
    for (const s of [-1.5, -0.5, 0, 0.5, 1.5]) expect(interpolateLlr(bin, s)).toBeCloseTo(2 * s, 0);
    expect(Math.abs(interpolateLlr(bin, 0))).toBeLessThan(0.25);
  });

  it("is clamped, and needs enough tracks of each species", () => {
    const scores = Float64Array.from({ length: 4000 }, (_, i) => (i < 2000 ? 10 + i * 1e-3 : -10 - i * 1e-3));
    const labels = Uint8Array.from({ length: 4000 }, (_, i) => (i < 2000 ? 1 : 0));
    const bin = fitCalibrationBin(scores, labels, { llrLimit: 3 })!; // each group alone gives |λ| = ln(67.5/0.5) ≈ 4.9
    expect(Math.max(...bin.llr)).toBe(3);
    expect(Math.min(...bin.llr)).toBe(-3);
    expect(fitCalibrationBin(scores.slice(0, 2050), labels.slice(0, 2050))).toBeNull();
    expect(() => fitCalibrationBin([0, Number.NaN], [1, 0])).toThrow(InputError);
  });
});

describe("combination", () => {
  const id = CombinedMuonId.fromJson(tables(identity, half));

  it("adds the sources' log-likelihood ratios", () => {
    const r = id.probability({ p: 2, charge: 1, klmDnn: 1.5, eclCnn: 1 });
    expect(r.sources).toEqual(["klmDnn", "eclCnn"]);
    expect(r.sourceLlr.klmDnn).toBeCloseTo(1.5, 12);
    expect(r.sourceLlr.eclCnn).toBeCloseTo(0.5, 12);
    expect(r.logLikelihoodRatio).toBeCloseTo(2, 12);
    expect(r.probability).toBeCloseTo(1 / (1 + Math.exp(-2)), 12);
  });

  it("weights the two terms when both sources answer, and only then", () => {
    const weighted = CombinedMuonId.fromJson(tables(identity, half, 0.5));
    const both = weighted.probability({ p: 2, charge: 1, klmDnn: 1.5, eclCnn: 2 });
    expect(both.sourceLlr.eclCnn).toBeCloseTo(0.5, 12); // λ_ECL = 1, weight 0.5
    expect(both.logLikelihoodRatio).toBeCloseTo(2, 12);
    expect(weighted.probability({ p: 2, charge: 1, eclCnn: 2 }).logLikelihoodRatio).toBeCloseTo(1, 12);
    expect(() => CombinedMuonId.fromJson(tables(identity, half, -1))).toThrow(/bothSourcesWeights/);
  });

  it("uses the one source there is, and says when there is none", () => {
    expect(id.probability({ p: 2, charge: -1, eclCnn: -2 }).probability).toBeCloseTo(1 / (1 + Math.exp(1)), 12);
    // no KLM calibration below 1 GeV/c: the KLM score is ignored there
    const low = id.probability({ p: 0.5, charge: 1, klmDnn: 5, eclCnn: null });
    expect(low).toMatchObject({ probability: 0.5, sources: [], noInformation: true });
    expect(id.probability({ p: 3, charge: 1, klmDnn: Number.NaN }).noInformation).toBe(true);
    // momenta outside the edges use the first or last bin
    expect(momentumBin([0.2, 1, 5], 0.05)).toBe(0);
    expect(momentumBin([0.2, 1, 5], 9)).toBe(1);
  });

  it("gives columns the same values", () => {
    const cols = id.probabilities({ p: [2, 0.5, 3], charge: [1, -1, 1], klmDnn: [1, 7, NaN], eclCnn: [NaN, 2, NaN] });
    expect(Array.from(cols.sourceMask)).toEqual([1, 2, 0]);
    expect(cols.probability[0]).toBeCloseTo(1 / (1 + Math.exp(-1)), 12);
    expect(cols.llr[1]).toBeCloseTo(1, 12);
    expect(cols.probability[2]).toBe(0.5);
  });

  it("rejects bad inputs and bad files", () => {
    expect(() => id.probability({ p: -1, charge: 1 })).toThrow(InputError);
    expect(() => id.probability({ p: 1, charge: 1, klmDnn: Infinity })).toThrow(InputError);
    expect(() => CombinedMuonId.fromJsonText("{")).toThrow(FormatError);
    expect(() => CombinedMuonId.fromJson({ ...tables(identity, half), format: "x" })).toThrow(/format/);
    expect(() => CombinedMuonId.fromJson({ ...tables(identity, half), formatVersion: 2 })).toThrow(/version/);
    expect(() => CombinedMuonId.fromJson(tables({ ...identity, llr: [3, -3] }, half))).toThrow(/non-decreasing/);
    expect(() => CombinedMuonId.fromJson(tables({ ...identity, llr: [-9, 9] }, half))).toThrow(/λ/);
    expect(() => CombinedMuonId.fromJson({ ...tables(identity, half), momentumEdges: [0.2, 1, 2, 5] })).toThrow(/3 entries/);
  });
});

describe("weights for tracks with both sources", () => {
  /** A sample whose KLM score is λ = 2s of the Gaussians and whose ECL score is `ecl(label, rng)`. */
  function sample(n: number, ecl: (muon: boolean, rng: Random) => number): CombinedSample {
    const rng = new Random(21);
    const s = { n: 2 * n, p: new Float32Array(2 * n).fill(2), pt: new Float32Array(2 * n).fill(1), theta: new Float32Array(2 * n).fill(90), charge: new Int8Array(2 * n).fill(1), isMuon: new Uint8Array(2 * n), klmDnn: new Float32Array(2 * n), eclCnn: new Float32Array(2 * n) };
    for (let i = 0; i < 2 * n; i++) {
      const muon = i < n;
      s.isMuon[i] = muon ? 1 : 0;
      s.klmDnn[i] = 2 * ((muon ? 1 : -1) + rng.gauss());
      s.eclCnn[i] = ecl(muon, rng);
    }
    return s;
  }
  const calibration = CombinedMuonId.fromJson(tables(identity, identity));

  it("are 1 for independent, calibrated detectors", () => {
    const w = fitBothSourcesWeights(sample(20000, (muon, rng) => 2 * ((muon ? 1 : -1) + rng.gauss())), calibration);
    expect(w.klmDnn[1]).toBeCloseTo(1, 1);
    expect(w.eclCnn[1]).toBeCloseTo(1, 1);
    expect(w.klmDnn[0]).toBe(1); // no tracks in the first bin: naive Bayes
  });

  it("drop a source that carries no information", () => {
    const w = fitBothSourcesWeights(sample(20000, (_muon, rng) => 2 * rng.gauss()), calibration);
    expect(w.klmDnn[1]).toBeCloseTo(1, 1);
    expect(Math.abs(w.eclCnn[1]!)).toBeLessThan(0.05);
  });
});

describe("reliability", () => {
  it("is small for the true posterior and large for an over-confident one", () => {
    const { scores, labels } = gaussianSample(20000, 8);
    const rows = Int32Array.from({ length: scores.length }, (_, i) => i);
    const calibrated = reliability(scores.map((s) => 1 / (1 + Math.exp(-2 * s))), labels, rows);
    const overConfident = reliability(scores.map((s) => 1 / (1 + Math.exp(-6 * s))), labels, rows);
    expect(calibrated.calibrationError).toBeLessThan(0.02);
    expect(overConfident.calibrationError).toBeGreaterThan(0.05);
    expect(calibrated.bins.reduce((a, b) => a + b.tracks, 0)).toBe(scores.length);
  });
});

describe.skipIf(!existsSync(DEFAULT_COMBINED_OUTPUT))("the shipped calibration", () => {
  it("loads, covers the KLM above 0.6 GeV/c and the ECL below 1 GeV/c, and separates simulated μ from π", async () => {
    const id = CombinedMuonId.fromJsonText(readFileSync(DEFAULT_COMBINED_OUTPUT, "utf8"));
    const t = id.tables;
    const bin = (p: number) => momentumBin(t.momentumEdges, p);
    for (const charge of ["plus", "minus"] as const) {
      for (const p of [0.7, 1.2, 2.5, 4]) expect(t.sources.klmDnn[charge][bin(p)]).not.toBeNull();
      for (const p of [0.3, 0.5, 0.7, 0.9]) expect(t.sources.eclCnn[charge][bin(p)]).not.toBeNull();
    }
    expect(t.provenance.command).toMatch(/^muid train --model combined/);

    const models = await loadCombinedModels({ klmDnn: "weights/klm-dnn.safetensors", eclCnnPlus: "weights/ecl-cnn-plus.safetensors", eclCnnMinus: "weights/ecl-cnn-minus.safetensors" });
    const sample = await buildCombinedSample({ events: 150, seed: 99, models });
    expect(sample.n).toBeGreaterThan(1000);
    let withEcl = 0;
    for (let i = 0; i < sample.n; i++) {
      if (!Number.isNaN(sample.eclCnn[i]!)) {
        withEcl++;
        expect(sample.pt[i]!).toBeLessThan(1.2); // CNN acceptance pT(ECL) ≤ 1 GeV/c
      }
    }
    expect(withEcl).toBeGreaterThan(50);
    // deterministic: the same seed gives the same sample, hence the same calibration
    const again = await buildCombinedSample({ events: 150, seed: 99, models });
    expect(Array.from(again.klmDnn)).toEqual(Array.from(sample.klmDnn));
    expect(Array.from(again.eclCnn)).toEqual(Array.from(sample.eclCnn));
    const e = evaluateCombined(sample, id).combined;
    expect(e.overall.methods.combined.auc!).toBeGreaterThan(e.overall.methods.klmDnn.auc!);
    expect(e.overall.methods.combined.auc!).toBeGreaterThan(e.overall.methods.eclCnn.auc!);
    expect(e.overall.methods.combined.coverage).toBeGreaterThan(e.overall.methods.klmDnn.coverage);
  });
});

describe.skipIf(!existsSync(DEFAULT_COMBINED_OUTPUT) || !existsSync("weights/klm-dnn.safetensors"))("muid reconstruct", () => {
  it("adds the combined probability and its sources to every row", async () => {
    const dir = mkdtempSync(join(tmpdir(), "muid-combined-"));
    try {
      const [, lowGun] = combinedStudyGuns();
      const rows: SimTrackRow[] = [];
      for (let e = 0; e < 40; e++) {
        const rng = eventRandom(123, e);
        rows.push(...simulateEvent(generateGunEvent(lowGun, rng), e, rng, defaultDetectorConditions()));
      }
      const input = join(dir, "rows.jsonl"), output = join(dir, "out.jsonl");
      writeFileSync(input, rows.map((r) => rowToJsonLine(r) + "\n").join(""));
      const sink = { write: () => true } as unknown as NodeJS.WritableStream;
      await runReconstruct(parseReconstructOptions({ data: input, output, quiet: true }), sink);
      const out = readReconstructedRows(output);
      const id = CombinedMuonId.fromJsonText(readFileSync(DEFAULT_COMBINED_OUTPUT, "utf8"));
      const masks = new Set<number>();
      let checked = 0;
      out.forEach((row) => {
        const { combined, combinedSources, dnn } = row.klm.muonId as Record<string, number>;
        expect(combined).toBeGreaterThanOrEqual(0);
        expect(combined).toBeLessThanOrEqual(1);
        masks.add(combinedSources!);
        if (combinedSources === 0) expect(combined).toBe(0.5);
        // KLM only: the calibration applied to the DNN's own logit, ln(p/(1 − p)) (float32 p: away from 0 and 1)
        if (combinedSources === 1 && dnn! > 0.02 && dnn! < 0.98) {
          const p = Math.hypot(row.ip.px, row.ip.py, row.ip.pz);
          const expected = id.probability({ p, charge: row.ip.charge, klmDnn: Math.log(dnn! / (1 - dnn!)) }).probability;
          expect(combined).toBeCloseTo(expected, 4);
          checked++;
        }
      });
      expect(checked).toBeGreaterThan(0);
      expect([...masks].sort()).toEqual([0, 1, 2, 3]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
