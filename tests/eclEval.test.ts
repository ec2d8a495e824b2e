/**
 * The ECL evaluation (src/eval/ecl.ts) on hand-built samples whose answers are known: a perfect CNN
 * against an uninformative E/p, the binning by charge and pT at the IP, the no-cluster fractions,
 * the "CNN beats E/p below 0.6 GeV/c" verdict, and the scoring (each track by the CNN of its charge,
 * E/p 0 — no ID — without a cluster).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { cnnBeatsEpAtLowPt, eclFigures, evaluateEcl, scoreEcl, type EclModels, type EclScores } from "../src/eval/ecl.js";
import { EclCnnFast } from "../src/models/eclCnnFast.js";
import type { EclSample } from "../src/reco/eclSample.js";
import { buildEclEpPdfs } from "../src/train/eclEp.js";
import { Random } from "../src/sim/random.js";
import { randomEclCnn } from "./fixtures/eclCnn.js";

/** n tracks per (charge, species) in each of the five pT bins (pT at the bin centre), one crystal each. */
function sample(n: number): EclSample {
  const centres = [0.34, 0.45, 0.55, 0.7, 0.9];
  const m = centres.length * 4 * n;
  const s: EclSample = {
    n: m, rawImage: new Float32Array(m * 49), pt: new Float32Array(m), thetaId: new Int32Array(m), phiId: new Int32Array(m),
    ptIp: new Float32Array(m), pIp: new Float32Array(m), charge: new Int8Array(m), isMuon: new Uint8Array(m), rowIndex: new Int32Array(m),
    rows: m + 7, rejected: { "no-ecl-entry": 3, "outside-theta-acceptance": 4, "outside-pt-acceptance": 0 }, skipped: 0,
  };
  const rng = new Random(5);
  for (let i = 0; i < m; i++) {
    const bin = Math.floor(i / (4 * n));
    s.charge[i] = i % 2 === 0 ? 1 : -1;
    s.isMuon[i] = (i >> 1) % 2;
    s.ptIp[i] = centres[bin]!;
    s.pt[i] = centres[bin]! - 0.01;
    s.pIp[i] = centres[bin]! / 0.9;
    s.thetaId[i] = 14 + rng.int(44);
    s.phiId[i] = rng.int(144);
    s.rawImage[i * 49 + 24] = s.isMuon[i] ? 0.15 : rng.range(0.05, 0.6);
    s.rowIndex[i] = i;
  }
  return s;
}

describe("figures per charge and pT bin", () => {
  const s = sample(50);
  // the CNN separates perfectly; E/p says ½ for everybody; every 10th track has no cluster
  const scores: EclScores = {
    cnn: Float32Array.from(s.isMuon, (mu) => (mu ? 0.9 : 0.1)),
    ep: new Float64Array(s.n).fill(0.5),
    hasCluster: Uint8Array.from({ length: s.n }, (_, i) => (i % 10 === 0 ? 0 : 1)),
  };
  const set = eclFigures(s, scores, 11);

  it("ten bins: charge +1 then −1, the issue's pT edges, counts per species", () => {
    expect(set.byPt.map((b) => [b.charge, b.ptMin, b.ptMax])).toEqual([
      [1, 0.28, 0.4], [1, 0.4, 0.5], [1, 0.5, 0.6], [1, 0.6, 0.8], [1, 0.8, 1.0],
      [-1, 0.28, 0.4], [-1, 0.4, 0.5], [-1, 0.5, 0.6], [-1, 0.6, 0.8], [-1, 0.8, 1.0],
    ]);
    for (const b of set.byPt) {
      expect(b.muons).toBe(50);
      expect(b.pions).toBe(50);
    }
  });

  it("perfect CNN: fake rate 0 at 90 %, AUC 1; uninformative E/p: every pion passes, AUC ½", () => {
    for (const b of set.byPt) {
      expect(b.cnn.fakeRateAt90).toBe(0);
      expect(b.cnn.auc).toBe(1);
      expect(b.ep.fakeRateAt90).toBe(1);
      expect(b.ep.auc).toBe(0.5);
      expect(b.cnn.roc!.efficiency).toHaveLength(11);
    }
    expect(cnnBeatsEpAtLowPt(set).all).toBe(true);
    expect(cnnBeatsEpAtLowPt(set).bins).toHaveLength(6);
  });

  it("no-cluster fractions: overall and per bin (every 10th track)", () => {
    expect(set.noClusterFraction).toBeCloseTo(0.1, 12);
    const total = set.byPt.reduce((a, b) => a + b.noClusterFraction * (b.muons + b.pions), 0);
    expect(total).toBeCloseTo(0.1 * s.n, 9);
  });

  it("the verdict fails when one low-pT bin is not better, and a bin without pions has null figures", () => {
    const worse = { ...scores, cnn: Float32Array.from(scores.cnn) };
    for (let i = 0; i < s.n; i++) if (s.charge[i] === -1 && s.ptIp[i]! < 0.5 && s.ptIp[i]! >= 0.4) worse.cnn[i] = 0.5;
    const verdict = cnnBeatsEpAtLowPt(eclFigures(s, worse, 0));
    expect(verdict.all).toBe(false);
    expect(verdict.bins.filter((b) => !b.better).map((b) => [b.charge, b.ptMin])).toEqual([[-1, 0.4]]);
    const muonsOnly: EclSample = { ...s, isMuon: new Uint8Array(s.n).fill(1) };
    const f = eclFigures(muonsOnly, scores, 0);
    expect(f.byPt[0]!.cnn.fakeRateAt90).toBeNull();
    expect(f.byPt[0]!.pions).toBe(0);
  });
});

describe("scoring and the whole evaluation", () => {
  let models: EclModels;
  beforeAll(async () => {
    const training = sample(100);
    models = {
      cnn: { plus: await EclCnnFast.create(randomEclCnn(1, 1)), minus: await EclCnnFast.create(randomEclCnn(2, -1)) },
      ep: buildEclEpPdfs(training),
    };
  });

  it("each track is scored by the CNN of its charge (logit difference); E/p is 0 (no ID) without a cluster", () => {
    const s = sample(3);
    s.rawImage.fill(0, 5 * 49, 6 * 49); // track 5: empty window
    const scores = scoreEcl(s, models);
    for (const i of [0, 1, 4, 5]) {
      const model = s.charge[i] === 1 ? models.cnn.plus : models.cnn.minus;
      const direct = model.predict({ image: s.rawImage.slice(i * 49, (i + 1) * 49), pt: [s.pt[i]!], thetaId: [s.thetaId[i]!], phiId: [s.phiId[i]!] }, 1);
      expect(scores.cnn[i]).toBe(Math.fround(direct.logits[1]! - direct.logits[0]!));
    }
    expect(scores.hasCluster[5]).toBe(0);
    expect(scores.ep[5]).toBe(0);
    expect(scores.hasCluster[4]).toBe(1);
    // the E/p PDFs were built on the same kind of sample: muons (E = 0.15 GeV) score above ½
    expect(scores.ep[2]).toBeGreaterThan(0.5);
  });

  it("the evaluation JSON: main figures, thresholds 1/2/5 MeV on the main sample, background samples, rejected counts", () => {
    const main = sample(20);
    const e = evaluateEcl({
      main, backgrounds: [{ level: 0, sample: sample(10) }, { level: 3, sample: sample(10) }], models,
      modelNames: { cnnPlus: "p", cnnMinus: "m", ep: "e" }, sampleNames: { main: "hand", background: "hand" }, rocPoints: 5,
    });
    expect(e.ecl.tracks).toBe(main.n);
    expect(e.ecl.rows).toBe(main.n + 7);
    expect(e.ecl.rejected["outside-theta-acceptance"]).toBe(4);
    expect(e.ecl.thresholds.map((t) => t.thresholdMeV)).toEqual([1, 2, 5]);
    expect(e.ecl.thresholds[0]!.byPt).toEqual(e.ecl.byPt);
    expect(e.ecl.background.map((t) => [t.level, t.tracks])).toEqual([[0, 200], [3, 200]]);
    expect(e.ecl.muonEfficiency).toBe(0.9);
    // muon pixels are 150 MeV, pion pixels ≥ 50 MeV: no threshold up to 5 MeV removes a cluster
    for (const t of e.ecl.thresholds) expect(t.noClusterFraction).toBe(0);
  });
});
