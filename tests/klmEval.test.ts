/**
 * KLM evaluation (src/eval/klm.ts, src/cli/evalKlm.ts): selection, binning, working points and the
 * hit-pattern study on hand-built samples with hand-counted answers; feature statistics; the sample
 * cache round trip; and `muid eval --task klm` end to end on a small simulated sample.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FormatError, OptionError } from "../src/errors.js";
import { featureStatistics, figureSet, hitPatternStudy, klmEvaluationRows, methodFigures, evaluateKlm, scoreKlmModel } from "../src/eval/klm.js";
import { Model } from "../src/models/runtime.js";
import { MODEL_FORMAT, MODEL_FORMAT_VERSION } from "../src/models/card.js";
import { parseKlmEvalOptions, runKlmEval } from "../src/cli/evalKlm.js";
import type { ModelBundle } from "../src/models/card.js";
import { KLM_FEATURES } from "../src/reco/klmFeatures.js";
import { KlmLikelihoodAccumulator } from "../src/train/klmLikelihood.js";
import { buildKlmSample, decodeKlmSample, encodeKlmSample, hasKlmDnnValue, klmRegionOf, type KlmSample } from "../src/train/klmSample.js";
import { haveBasf2, BASF2_XML } from "./fixtures/shared.js";

/** A sample of n tracks with the given columns (features zero unless set). */
function handSample(columns: { isMuon: number[]; p: number[]; theta?: number[]; region?: number[]; score: number[]; ext?: number[]; hit?: number[] }): KlmSample {
  const n = columns.isMuon.length;
  return {
    n,
    features: new Float32Array(n * KLM_FEATURES),
    isMuon: Uint8Array.from(columns.isMuon),
    pdg: Int16Array.from(columns.isMuon, (m) => (m ? 13 : 211)),
    p: Float32Array.from(columns.p),
    theta: Float32Array.from(columns.theta ?? new Array(n).fill(90)),
    region: Uint8Array.from(columns.region ?? new Array(n).fill(0)),
    outcome: new Uint8Array(n),
    extCount: Uint8Array.from(columns.ext ?? new Array(n).fill(0)),
    hitCount: Uint8Array.from(columns.hit ?? new Array(n).fill(0)),
    likelihoodScore: Float32Array.from(columns.score),
    event: Int32Array.from({ length: n }, (_, i) => i),
    track: new Uint8Array(n),
    provenance: {
      seed: 0, firstEvent: 0, events: n, tracksSimulated: n, tracksWithoutKlm: 0,
      conditions: { fieldScale: 1, klmEfficiency: 1, klmBackground: 1, eclBackground: 1, eclThreshold: 0.001 },
      reconstruction: { fieldScale: 1, efficiency: null, likelihood: true }, particles: [],
    },
  };
}

describe("selection and working points on hand-built samples", () => {
  it("keeps 0.7 < p < 5 GeV/c inside θ 18°–155° only", () => {
    const s = handSample({ isMuon: [1, 0, 1, 0, 1, 0, 1, 0], p: [0.69, 0.7, 0.71, 2, 3, 4, 4.99, 5.01], theta: [90, 90, 90, 17, 155, 156, 90, 90], score: [0, 0, 0, 0, 0, 0, 0, 0] });
    expect(Array.from(klmEvaluationRows(s))).toEqual([2, 4, 6]);
  });

  it("fake rate at 90 % efficiency, efficiency at 2 % fake rate: hand-counted", () => {
    // 10 muons scoring 1…10, 10 pions scoring 0.5…9.5. 90 % of muons → the cut is the 9th best muon (2):
    // pions ≥ 2 are 2.5…9.5, 8 of 10. 2 % of 10 pions allows none: the cut sits at the best pion (9.5),
    // and the muons above it are 10 alone, 1 of 10.
    const muons = Array.from({ length: 10 }, (_, i) => i + 1);
    const pions = Array.from({ length: 10 }, (_, i) => i + 0.5);
    const s = handSample({ isMuon: [...muons.map(() => 1), ...pions.map(() => 0)], p: new Array(20).fill(1), score: [...muons, ...pions] });
    const f = methodFigures(s.likelihoodScore, s.isMuon, klmEvaluationRows(s));
    expect(f.fakeRateAt90).toBeCloseTo(0.8, 12);
    expect(f.efficiencyAt2).toBeCloseTo(0.1, 12);
    expect(f.cutAt90).toBe(2);
    // AUC: P(muon > pion) = Σ over muons of the pions below: (1+2+…+10)/100 = 0.55
    expect(f.auc).toBeCloseTo(0.55, 12);
  });

  it("splits by momentum bin and region and leaves a one-class bin without figures", () => {
    const s = handSample({
      isMuon: [1, 0, 1, 0, 1, 1],
      p: [0.8, 0.9, 1.2, 1.4, 4, 4.5],
      region: [0, 1, 0, 2, 1, 1],
      score: [5, 1, 6, 2, 7, 8],
    });
    const evaluation = evaluateKlm({ sample: s, scorers: {} });
    const klm = evaluation.klm;
    expect(klm.tracks).toBe(6);
    expect(klm.byMomentum.map((b) => [b.pMin, b.pMax, b.tracks])).toEqual([[0.7, 1, 2], [1, 1.5, 2], [1.5, 2, 0], [2, 3, 0], [3, 5, 2]]);
    expect(klm.byRegion.map((b) => [b.region, b.tracks, b.muons])).toEqual([["barrel", 2, 2], ["forward", 3, 2], ["backward", 1, 0]]);
    expect(klm.byMomentum[4]!.methods.likelihood!.fakeRateAt90).toBeNull();
    // perfectly separated overall: no fake at 90 %, every muon at 2 %
    expect(klm.methods.likelihood!.fakeRateAt90).toBe(0);
    expect(klm.methods.likelihood!.efficiencyAt2).toBe(1);
    expect(klm.roc.likelihood!.efficiency.length).toBe(101);
    expect(klm.notes.some((n) => n.startsWith("belle2Dnn"))).toBe(true);
  });

  it("the hit-pattern study counts the pions above the 90 % cut by (N_ext, N_hit)", () => {
    // muons 10…19 (cut at the 9th best, 11); pions: scores 12 (ext 14, hit 9), 11 (14, 10), 10.9 (14, 3), 3 (5, 1)
    const muonScores = Array.from({ length: 10 }, (_, i) => 10 + i);
    const s = handSample({
      isMuon: [...muonScores.map(() => 1), 0, 0, 0, 0],
      p: new Array(14).fill(2),
      score: [...muonScores, 12, 11, 10.9, 3],
      ext: [...muonScores.map(() => 14), 14, 14, 14, 5],
      hit: [...muonScores.map(() => 14), 9, 10, 3, 1],
    });
    const study = hitPatternStudy(s, { likelihood: s.likelihoodScore }, klmEvaluationRows(s))!;
    expect(study.cut).toBe(11);
    expect(study.fakePions).toBe(2);
    expect(study.fakePionCounts[14]![9]).toBe(1);
    expect(study.fakePionCounts[14]![10]).toBe(1);
    expect(study.pionCounts[14]![3]).toBe(1);
    expect(study.muonCounts[14]![14]).toBe(10);
    expect(study.fakePionMeanNHit).toBeCloseTo(9.5, 12);
    expect(study.fakePionNHit[9]).toBe(1);
  });

  it("feature means and spreads, with the Belle II BatchNorm statistics beside them", () => {
    const s = handSample({ isMuon: [1, 0], p: [1, 1], score: [0, 0] });
    s.features[0] = 2;
    s.features[KLM_FEATURES] = 6; // feature 0: 2 and 6 → mean 4, sd 2
    s.features[KLM_FEATURES + 4] = 1; // feature 4: 0 and 1 → mean 0.5, sd 0.5
    const belle2: ModelBundle = {
      card: {} as never,
      tensors: new Map([
        ["batchnorm.running_mean", { dtype: "F32", shape: [KLM_FEATURES], data: new Float32Array(KLM_FEATURES).fill(3) }],
        ["batchnorm.running_var", { dtype: "F32", shape: [KLM_FEATURES], data: new Float32Array(KLM_FEATURES).fill(4) }],
      ]),
    };
    const stats = featureStatistics(s, [0, 1], belle2);
    expect(stats.length).toBe(KLM_FEATURES);
    expect([stats[0]!.name, stats[0]!.mean, stats[0]!.sd]).toEqual(["chi2", 4, 2]);
    expect([stats[4]!.name, stats[4]!.mean, stats[4]!.sd]).toEqual(["pt", 0.5, 0.5]);
    expect([stats[120]!.belle2Mean, stats[120]!.belle2Sd]).toEqual([3, 2]);
    expect(featureStatistics(s, [0, 1])[0]!.belle2Mean).toBeNull();
  });

  it("DNN scores are the logit difference, which keeps tracks apart where p(μ) rounds to 1", async () => {
    // logits = (0, 30·x0): p(μ) = 1/(1 + e^(−30·x0)) is 1 in float32 for x0 = 1 and 2, the scores are 30 and 60
    const bundle: ModelBundle = {
      card: {
        format: MODEL_FORMAT, formatVersion: MODEL_FORMAT_VERSION, name: "test", task: "klm-dnn-global", description: "test",
        inputs: [{ name: "features", shape: [5], kind: "float" }],
        layers: [{ op: "dense", input: "features", output: "logits", weight: "w", bias: "b", activation: "none" }],
        outputs: [{ name: "logits", shape: [2], classes: ["pion", "muon"], description: "test" }],
        provenance: { source: "test" },
      },
      tensors: new Map([
        ["w", { dtype: "F32", shape: [2, 5], data: Float32Array.of(0, 0, 0, 0, 0, 30, 0, 0, 0, 0) }],
        ["b", { dtype: "F32", shape: [2], data: new Float32Array(2) }],
      ]),
    };
    const model = await Model.create(bundle);
    const s = handSample({ isMuon: [1, 0, 1], p: [1, 1, 1], score: [0, 0, 0] });
    s.features[0] = 1;
    s.features[KLM_FEATURES] = -0.1;
    s.features[2 * KLM_FEATURES] = 2;
    expect(model.predict({ features: Float32Array.of(1, 0, 0, 0, 0, 2, 0, 0, 0, 0) }, 2).muonProbability).toEqual(Float32Array.of(1, 1));
    const scores = scoreKlmModel(model, s);
    expect(scores[0]).toBeCloseTo(30, 4);
    expect(scores[1]).toBeCloseTo(-3, 4);
    expect(scores[2]).toBeCloseTo(60, 4);
  });

  it("figure sets count muons and pions of the rows given", () => {
    const s = handSample({ isMuon: [1, 1, 0], p: [1, 1, 1], score: [3, 2, 1] });
    const set = figureSet(s, { likelihood: s.likelihoodScore }, [0, 2]);
    expect([set.tracks, set.muons, set.pions]).toEqual([2, 1, 1]);
  });
});

describe("simulated samples", () => {
  it("every kept track has a DNN value, and the cache round-trips bit for bit", async () => {
    const sample = await buildKlmSample({ seed: 4, events: 12 });
    expect(sample.n).toBeGreaterThan(40);
    expect(sample.n + sample.provenance.tracksWithoutKlm).toBe(sample.provenance.tracksSimulated);
    for (let i = 0; i < sample.n; i++) {
      const f = sample.features.subarray(i * KLM_FEATURES, (i + 1) * KLM_FEATURES);
      let ext = 0, hits = 0;
      for (let slot = 0; slot < 29; slot++) {
        ext += f[5 + 4 * slot + 3]!;
        if (f[5 + 4 * slot]! >= 0) hits++;
      }
      expect(ext + hits).toBeGreaterThan(0);
      expect(sample.extCount[i]).toBe(ext);
      expect(sample.isMuon[i]).toBe(Math.abs(sample.pdg[i]!) === 13 ? 1 : 0);
      expect(sample.region[i]).toBeLessThan(3);
    }
    const decoded = decodeKlmSample(encodeKlmSample(sample));
    expect(decoded.n).toBe(sample.n);
    expect(Array.from(decoded.features)).toEqual(Array.from(sample.features));
    expect(Array.from(decoded.event)).toEqual(Array.from(sample.event));
    expect(decoded.provenance).toEqual(sample.provenance);
    const again = await buildKlmSample({ seed: 4, events: 12 });
    expect(Array.from(again.features)).toEqual(Array.from(sample.features));
  });

  it("a damaged cache is a FormatError", () => {
    const bytes = encodeKlmSample(handSample({ isMuon: [1, 0], p: [1, 1], score: [0, 0] }));
    expect(() => decodeKlmSample(bytes.subarray(0, bytes.length - 8))).toThrow(FormatError);
    const wrong = bytes.slice();
    wrong[0] = 0x58;
    expect(() => decodeKlmSample(wrong)).toThrow(FormatError);
  });

  it("DNN value and region rules on hand-made patterns", () => {
    expect(hasKlmDnnValue({ extLayerPattern: 0, matchedHits: [] })).toBe(false);
    expect(hasKlmDnnValue({ extLayerPattern: 1 << 20, matchedHits: [] })).toBe(true);
    expect(hasKlmDnnValue({ extLayerPattern: 0, matchedHits: [{ slot: 3, hitIndex: 0, chi2: 1, applied: true }] })).toBe(true);
    expect(klmRegionOf({ extLayerPattern: 0b111, isForward: true })).toBe(0);
    expect(klmRegionOf({ extLayerPattern: 0b11 | (0b111 << 15), isForward: true })).toBe(1);
    expect(klmRegionOf({ extLayerPattern: 0b1 | (0b11 << 15), isForward: false })).toBe(2);
  });
});

describe("muid eval --task klm", () => {
  const dir = mkdtempSync(join(tmpdir(), "muid-klm-eval-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("rejects bad options with OptionErrors naming them", () => {
    expect(() => parseKlmEvalOptions({ events: "0" })).toThrow(/--events/);
    expect(() => parseKlmEvalOptions({ events: "1.5" })).toThrow(OptionError);
    expect(() => parseKlmEvalOptions({ data: join(dir, "missing.arrow") })).toThrow(/--data/);
    expect(() => parseKlmEvalOptions({ dnn: join(dir, "missing.safetensors") })).toThrow(/--dnn/);
    expect(() => parseKlmEvalOptions({ task: "ecl" })).toThrow(/--task/);
    expect(() => parseKlmEvalOptions({ robustnessEvents: "-1" })).toThrow(/--robustness-events/);
  });

  it("simulates, scores and writes the JSON and HTML report", async () => {
    if (!haveBasf2) console.warn("[muid tests] the Belle II DNN row is skipped: ../shared/reference/basf2 is absent");
    // likelihood tables from an independent run (seed 31), the evaluation sample from seed 32
    const accumulator = new KlmLikelihoodAccumulator();
    await buildKlmSample({ seed: 31, events: 60, likelihoodAccumulator: accumulator });
    const tables = join(dir, "likelihood.json");
    writeFileSync(tables, JSON.stringify(accumulator.build(1)));
    const json = join(dir, "klm.json"), report = join(dir, "klm.html");
    const settings = parseKlmEvalOptions({
      events: "60", seed: "32", robustnessEvents: "8", json, report, likelihood: tables, quiet: true,
      dnn: undefined, dnnGlobal: undefined, ...(haveBasf2 ? { belle2: BASF2_XML } : {}),
    });
    // the shipped models are picked up when present; this test checks the structure, not their values
    const evaluation = await runKlmEval(settings);
    const written = JSON.parse(readFileSync(json, "utf8"));
    expect(written.klm.tracks).toBe(evaluation.klm.tracks);
    expect(evaluation.klm.tracks).toBeGreaterThan(300);
    expect(evaluation.klm.muons + evaluation.klm.pions).toBe(evaluation.klm.tracks);
    const methods = Object.keys(written.klm.methods);
    expect(methods).toContain("likelihood");
    if (haveBasf2) expect(methods).toContain("belle2Dnn");
    for (const name of methods) {
      const f = written.klm.methods[name];
      for (const key of ["fakeRateAt90", "efficiencyAt2", "auc"]) {
        expect(f[key], `${name}.${key}`).toBeGreaterThanOrEqual(0);
        expect(f[key], `${name}.${key}`).toBeLessThanOrEqual(1);
      }
      // a real discriminator: better than chance
      expect(f.auc, name).toBeGreaterThan(0.7);
    }
    expect(written.klm.byMomentum.map((b: { pMin: number; pMax: number }) => [b.pMin, b.pMax])).toEqual([[0.7, 1], [1, 1.5], [1.5, 2], [2, 3], [3, 5]]);
    expect(written.klm.byMomentum.reduce((a: number, b: { tracks: number }) => a + b.tracks, 0)).toBe(evaluation.klm.tracks);
    expect(written.klm.byRegion.map((b: { region: string }) => b.region)).toEqual(["barrel", "forward", "backward"]);
    expect(written.klm.byRegion.reduce((a: number, b: { tracks: number }) => a + b.tracks, 0)).toBe(evaluation.klm.tracks);
    expect(written.klm.robustness.map((r: { name: string }) => r.name)).toEqual(["background-x3", "efficiency-10pct", "field-minus10pct", "field-plus10pct"]);
    expect(written.klm.featureStatistics.length).toBe(KLM_FEATURES);
    if (haveBasf2) expect(written.klm.featureStatistics[3].belle2Mean).toBeCloseTo(11.98, 1); // extLayer, klm.md §1.7
    expect(written.klm.hitPatterns.fakePions).toBeGreaterThanOrEqual(0);
    const html = readFileSync(report, "utf8");
    expect(html).toContain("<svg");
    expect(html).toContain("likelihood");
  });
});

describe.skipIf(!["klm-dnn.safetensors", "klm-dnn-global.safetensors", "klm-likelihood.json"].every((f) => existsSync(join("weights", f))))("the shipped KLM models on a fresh sample", () => {
  it("reproduce the documented ordering (docs/klm-training.md): likelihood > DNN-global > DNN in pion fake rate at 90 % muon efficiency", { timeout: 120_000 }, async () => {
    // 3000 KLM-study events of seed 31 (no training used it): ≈27 000 tracks, binomial errors ≈ ±0.15 % on
    // the likelihood's and DNN-global's fake rates and ≈ ±0.1 % on the DNN's. On 3 × 116 000 tracks the
    // documented figures are 2.8–2.9 % / 2.4 % / 1.25–1.36 %; the bounds below leave room for this
    // sample's statistics but fail for a model that lost its edge or a broken weight file.
    const settings = parseKlmEvalOptions({ events: "3000", seed: "31", robustnessEvents: "0", quiet: true, likelihood: undefined, dnn: undefined, dnnGlobal: undefined });
    const { klm } = await runKlmEval(settings);
    expect(klm.tracks).toBeGreaterThan(25_000);
    const fake = (m: string) => klm.methods[m as keyof typeof klm.methods]!.fakeRateAt90!;
    const summary = `likelihood ${fake("likelihood")}, dnnGlobal ${fake("dnnGlobal")}, dnn ${fake("dnn")}`;
    console.log(`[klm shipped] ${klm.tracks} tracks: ${summary}`);
    expect(fake("likelihood"), summary).toBeGreaterThan(fake("dnnGlobal"));
    expect(fake("dnnGlobal"), summary).toBeGreaterThan(fake("dnn"));
    expect(fake("likelihood"), summary).toBeGreaterThanOrEqual(0.02); // no straw man: 2–8 %
    expect(fake("likelihood"), summary).toBeLessThanOrEqual(0.08);
    expect(fake("dnn"), summary).toBeLessThanOrEqual(0.02);
    expect(fake("dnn") / fake("likelihood"), summary).toBeLessThan(0.6); // ≈ 0.45 on the large samples
  });
});
