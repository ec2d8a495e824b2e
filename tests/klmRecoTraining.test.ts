// Building the Muid likelihood tables from reconstructed tracks, and the reconstruct / train commands.
// Tracks come from the IP; "muons" leave a hit on (nearly) every crossed layer, "pions" only on their
// first few, so the expected separation is known.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Command } from "commander";
import { afterAll, describe, expect, it } from "vitest";
import { KlmLikelihoodAccumulator, gammaQ, trainKlmLikelihood, transverseEntry, P_MAX, P_MIN } from "../src/train/klmLikelihood.js";
import { KlmLikelihood, REDUCED_CHI2_DX, validateLikelihoodTables } from "../src/reco/muidLikelihood.js";
import { KlmReconstructor } from "../src/reco/klmChain.js";
import { swimMuonThroughKlm } from "../src/reco/klmExtrapolation.js";
import { readReconstructedRows } from "../src/reco/klmRowFile.js";
import { methodNameFromFile } from "../src/reco/klmDnnMethods.js";
import { registerReconstruct, parseReconstructOptions } from "../src/cli/reconstruct.js";
import { registerTrain } from "../src/cli/train.js";
import { rowToJsonLine, rowsToArrowIpc } from "../src/sim/io.js";
import { sectorCos, sectorSin } from "../src/geometry/klm.js";
import { reconstructTrackAtIp } from "../src/sim/tracking.js";
import { particleAtIp } from "../src/sim/generators.js";
import { Random } from "../src/sim/random.js";
import type { KlmHit, SimTrackRow } from "../src/sim/types.js";
import { OptionError } from "../src/errors.js";
import { newMuidSwimState, finishMuid } from "../src/reco/muidPatterns.js";

const DEG = Math.PI / 180;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "muid-klm-train-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Events of muons (a hit on 97 % of the crossings) and pions (hits on their first 0–3 crossings only). */
function syntheticRows(events: number, seed: number): SimTrackRow[] {
  const rng = new Random(seed);
  const rows: SimTrackRow[] = [];
  for (let event = 0; event < events; event++) {
    const n = 2 + rng.int(3);
    const hits: KlmHit[] = [];
    const eventRows: SimTrackRow[] = [];
    for (let t = 0; t < n; t++) {
      const muon = rng.uniform() < 0.5;
      const name = muon ? (rng.uniform() < 0.5 ? "mu-" : "mu+") : (rng.uniform() < 0.5 ? "pi-" : "pi+");
      const p = rng.range(1.0, 3), theta = rng.range(45, 125), phi = rng.range(-180, 180);
      const state = particleAtIp(name, p, theta * DEG, phi * DEG);
      const ip = reconstructTrackAtIp(state, rng);
      const crossings = swimMuonThroughKlm(ip).crossings.filter((c) => c.inActiveArea);
      const depth = muon ? crossings.length : rng.int(4);
      crossings.slice(0, depth).forEach((c) => {
        if (rng.uniform() > 0.97) return;
        const du = rng.gauss() * 0.8, dz = rng.gauss() * 0.8;
        const isBarrel = c.section === "barrel";
        hits.push({
          section: c.section, sector: c.sector, layer: c.layer,
          x: c.x + (isBarrel ? -sectorSin(c.sector) * du : du), y: c.y + (isBarrel ? sectorCos(c.sector) * du : dz), z: c.z + (isBarrel ? dz : 0),
          uStripMin: 3, uStripMax: 3, vStripMin: 7, vStripMax: 7, time: 4, truthTrack: t,
        });
      });
      eventRows.push({
        event, track: t,
        truth: { pdg: state.pdg, charge: state.charge, p, pt: p * Math.sin(theta * DEG), theta, phi, decayedInFlight: false, interactedInEcl: false, interactedInKlm: !muon, klmLayerReached: depth, klmRegion: "barrel", eclDeposit: 0.2 },
        ip, klmHits: hits, eclDigits: [],
      });
    }
    rows.push(...eventRows);
  }
  return rows;
}

describe("transverse tables", () => {
  it("gammaQ is the regularised upper incomplete gamma of integer order", () => {
    expect(gammaQ(1, 2)).toBeCloseTo(Math.exp(-2), 14);
    expect(gammaQ(2, 2)).toBeCloseTo(Math.exp(-2) * 3, 14);
    expect(gammaQ(3, 1.5)).toBeCloseTo(Math.exp(-1.5) * (1 + 1.5 + 1.125), 14);
    expect(gammaQ(5, 0)).toBe(1);
  });

  it("recovers the scale of a scaled χ²: reduced χ² of k = 4 with x ∝ Gamma(4, rate 4·s), s = 0.8", () => {
    const rng = new Random(5);
    const k = 4, s = 0.8;
    // Gamma(k, rate λ) as a sum of k exponentials of mean 1/λ
    const values = Array.from({ length: 40000 }, () => {
      let v = 0;
      for (let j = 0; j < k; j++) v += rng.exponential(1 / (k * s));
      return v;
    });
    const e = transverseEntry(0, k, values);
    expect(e.ndof).toBe(8);
    expect(e.scaleX).toBeGreaterThan(0.8 * 0.95);
    expect(e.scaleX).toBeLessThan(0.8 * 1.05);
    // the threshold is the 98 % quantile on a bin edge
    const sorted = [...values].sort((a, b) => a - b);
    expect(e.threshold).toBeLessThanOrEqual(sorted[Math.floor(0.98 * values.length)]!);
    expect(e.threshold).toBeGreaterThan(sorted[Math.floor(0.98 * values.length)]! - REDUCED_CHI2_DX - 1e-12);
    // histogram ≈ ln of the true density at a bin centre with many entries
    const lambda = k * s;
    const density = (x: number): number => (Math.pow(lambda, k) * Math.pow(x, k - 1) * Math.exp(-lambda * x)) / 6;
    expect(e.histogram[10]!).toBeCloseTo(Math.log(density(1.05)), 1);
    // the tail function integrates to the fraction above the threshold
    const above = values.filter((x) => x > e.threshold).length / values.length;
    let integral = 0;
    for (let x = e.threshold; x < e.threshold + 40; x += 1e-3) {
      const xp = (x + 5e-4) * e.scaleX * k;
      integral += e.scaleY * Math.pow(xp, k - 1) * Math.exp(-xp) * 1e-3;
    }
    expect(integral).toBeCloseTo(above, 2);
  });

  it("an empty cell falls back to a pure χ² (scaleX 1) with finite logs", () => {
    const e = transverseEntry(2, 18, []);
    expect(e.scaleX).toBe(1);
    expect(e.histogram.every(Number.isFinite)).toBe(true);
    expect(e.scaleY).toBeGreaterThan(0);
  });
});

describe("longitudinal tables", () => {
  it("hit probability per layer with the pooled prior, divided by the efficiency and bounded", () => {
    const acc = new KlmLikelihoodAccumulator();
    // 8 muon tracks stopping in barrel layer 3 (outcome 1, last layer 3): layers 0–3 crossed, hits on 0–2 for 6 of them, 0–3 for 2
    for (let i = 0; i < 8; i++) {
      const s = newMuidSwimState();
      s.extLayerPattern = 0b1111;
      s.hitLayerPattern = i < 2 ? 0b1111 : 0b111;
      s.lastBarrelExtLayer = 3;
      s.lastBarrelHitLayer = i < 2 ? 3 : 2;
      acc.add("muon", finishMuid(s, true));
    }
    const tables = acc.build(0.9);
    validateLikelihoodTables(tables);
    const row = tables.hypotheses.muon!.longitudinal.find((r) => r.outcome === 1 && r.lastLayer === 3)!;
    // layer 3: hit 2 of ext 8 everywhere: P_all = 3/10, P_o = (2 + 2·0.3)/10, P = (2 + 2·P_o)/10, / 0.9
    const pAll = 3 / 10, pO = (2 + 2 * pAll) / 10;
    expect(row.layers[3]).toBe(Number(((2 + 2 * pO) / 10 / 0.9).toPrecision(6))); // stored to 6 significant digits
    // layer 0: hit 8 of 8: P = 1/0.9 → bounded at P_MAX
    expect(row.layers[0]).toBe(P_MAX);
    // a row without tracks: the prior ½ through both levels
    const empty = tables.hypotheses.pion!.longitudinal.find((r) => r.outcome === 3 && r.lastLayer === 14)!;
    expect(empty.layers[5]).toBe(Number((0.5 / 0.9).toPrecision(6)));
    expect(Math.min(...empty.layers)).toBeGreaterThanOrEqual(P_MIN);
    expect(tables.training?.tracksInKlm).toEqual({ muon: 8, pion: 0 });
  });
});

describe("training on reconstructed tracks", () => {
  it("separates deep-penetrating muons from short pions (muonId) and writes valid tables", async () => {
    const train = syntheticRows(60, 21);
    const tables = await trainKlmLikelihood(train, { training: { sample: "synthetic" } });
    validateLikelihoodTables(tables);
    const counts = tables.training!.tracksInKlm as Record<string, number>;
    expect(counts.muon! + counts.pion!).toBeGreaterThan(150);
    const likelihood = new KlmLikelihood(tables);
    const test = syntheticRows(40, 22);
    const reconstructor = await KlmReconstructor.create({ likelihood });
    const results = reconstructor.reconstructRows(test);
    let muonsRight = 0, muons = 0, pionsRight = 0, pions = 0;
    results.forEach((r, i) => {
      if (r.outcome === 0) return;
      const isMuon = Math.abs(test[i]!.truth.pdg) === 13;
      const id = r.likelihood!.muonId;
      if (isMuon) {
        muons++;
        if (id > 0.5) muonsRight++;
      } else {
        pions++;
        if (id < 0.5) pionsRight++;
      }
    });
    expect(muons).toBeGreaterThan(30);
    expect(pions).toBeGreaterThan(30);
    expect(muonsRight / muons).toBeGreaterThan(0.9);
    expect(pionsRight / pions).toBeGreaterThan(0.9);
  });
});

function program(): Command {
  const p = new Command();
  p.exitOverride();
  registerReconstruct(p);
  registerTrain(p);
  return p;
}

describe("muid train and muid reconstruct", () => {
  const rows = syntheticRows(12, 31);
  const jsonl = path.join(dir, "sample.jsonl");
  const arrow = path.join(dir, "sample.arrow");
  fs.writeFileSync(jsonl, rows.map((r) => rowToJsonLine(r) + "\n").join(""));
  fs.writeFileSync(arrow, rowsToArrowIpc(rows));

  it("train writes the tables; reconstruct adds the klm record to every row, the same in JSONL and Arrow", async () => {
    const tablesFile = path.join(dir, "klm-likelihood.json");
    await program().parseAsync(["node", "muid", "train", "--model", "klm-likelihood", "--data", arrow, "-o", tablesFile, "--quiet"]);
    validateLikelihoodTables(JSON.parse(fs.readFileSync(tablesFile, "utf8")));
    const outJsonl = path.join(dir, "out.jsonl");
    const outArrow = path.join(dir, "out.arrow");
    await program().parseAsync(["node", "muid", "reconstruct", "--data", jsonl, "-o", outJsonl, "--likelihood", tablesFile, "--no-models", "--quiet"]);
    await program().parseAsync(["node", "muid", "reconstruct", "--data", arrow, "-o", outArrow, "--likelihood", tablesFile, "--no-models", "--quiet"]);
    const a = readReconstructedRows(outJsonl);
    const b = readReconstructedRows(outArrow);
    expect(a.length).toBe(rows.length);
    expect(b.length).toBe(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const ka = a[i]!.klm, kb = b[i]!.klm;
      expect(ka.features.length).toBe(121);
      expect(kb.features).toEqual(ka.features.map(Math.fround));
      for (const key of ["outcome", "extLayer", "hitLayer", "lastLayer", "chi2", "ndof", "isForward", "barrelExtLayer", "endcapExtLayer", "extLayerPattern", "hitLayerPattern"] as const) {
        expect(kb[key], `row ${i} ${key}`).toBe(ka[key]);
      }
      expect(kb.matchedHits).toEqual(ka.matchedHits);
      expect(kb.muonId).toEqual(ka.muonId);
      expect(kb.logL).toEqual(ka.logL);
      expect(Object.keys(ka.muonId)).toEqual(["likelihood"]);
      expect(ka.muonId.likelihood).toBeGreaterThanOrEqual(0);
      expect(ka.muonId.likelihood).toBeLessThanOrEqual(1);
      expect(a[i]!.event).toBe(rows[i]!.event);
      expect(b[i]!.ip).toEqual(rows[i]!.ip);
    }
    // the features are those of the chain
    const direct = (await KlmReconstructor.create()).reconstructRows(rows);
    expect(a[3]!.klm.features).toEqual(Array.from(direct[3]!.features));
  });

  it("bad options are OptionErrors naming the option", () => {
    expect(() => parseReconstructOptions({ output: "x.jsonl" })).toThrow(OptionError);
    expect(() => parseReconstructOptions({ data: path.join(dir, "missing.arrow"), output: "x.jsonl" })).toThrow(/--data/);
    expect(() => parseReconstructOptions({ data: jsonl, output: "x.jsonl", backend: "gpu" })).toThrow(/--backend/);
    expect(() => parseReconstructOptions({ data: jsonl, output: "x.jsonl", fieldScale: "abc" })).toThrow(/--field-scale/);
    expect(() => parseReconstructOptions({ data: jsonl, output: "x.jsonl", model: ["dnn"] })).toThrow(/name=FILE/);
    return expect(program().parseAsync(["node", "muid", "train", "--model", "nope", "--data", jsonl, "-o", path.join(dir, "t.json")])).rejects.toThrow(/unknown --model/);
  });

  it("the shipped weights/klm-likelihood.json is a valid table file with muon and pion hypotheses", () => {
    const file = "weights/klm-likelihood.json";
    if (!fs.existsSync(file)) {
      console.warn(`skipped: ${file} is absent`);
      return;
    }
    const likelihood = KlmLikelihood.fromJsonText(fs.readFileSync(file, "utf8"));
    expect(likelihood.hypotheses.map((h) => h.pdg).sort((a, b) => a - b)).toEqual([13, 211]);
    // a muon leaving through the outermost barrel layer (outcome 3) fires its crossed layers most of the time
    const mu = likelihood.hypotheses.find((h) => h.pdg === 13)!;
    for (const layer of [2, 6, 10, 14]) expect(mu.layerProbability(3, 14, layer)).toBeGreaterThan(0.8);
    expect(likelihood.efficiency).toBe(1);
  });

  it("names DNN methods after their weight files", () => {
    expect(methodNameFromFile("weights/klm-dnn.safetensors")).toBe("dnn");
    expect(methodNameFromFile("klm-dnn-global.safetensors")).toBe("dnnGlobal");
    expect(methodNameFromFile("belle2-dnn.safetensors")).toBe("belle2Dnn");
  });
});
