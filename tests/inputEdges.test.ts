/**
 * The input edge cases of issue 8, each with its asserted behaviour: a typed error whose message names
 * the problem, or a documented, defined result (docs/security.md "Bad input").
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { beforeAll, describe, expect, it } from "vitest";
import { registerPredict } from "../src/cli/predict.js";
import { writeModelFile } from "../src/models/modelFile.js";
import { InputError, ModelError } from "../src/errors.js";
import { EclCnnFast } from "../src/models/eclCnnFast.js";
import { Model } from "../src/models/runtime.js";
import { eclCnnInput } from "../src/reco/eclImage.js";
import { KlmReconstructor } from "../src/reco/klmChain.js";
import { KlmLikelihood } from "../src/reco/muidLikelihood.js";
import { defaultDetectorConditions, eventRandom, simulateEvent } from "../src/sim/event.js";
import { generateBBbarEvent } from "../src/sim/generators.js";
import { Random } from "../src/sim/random.js";
import type { KlmHit, SimTrackRow, TrackAtIp } from "../src/sim/types.js";
import { validateModel } from "../src/models/validate.js";
import { randomEclCnn } from "./fixtures/eclCnn.js";
import { randomKlmDnn, syntheticLikelihoodTables, tinyMixedModel } from "./fuzz/seeds.js";

let klm: Model;
let eclDense: Model;
let eclFast: EclCnnFast;
let event: SimTrackRow[];
let reco: KlmReconstructor;

beforeAll(async () => {
  klm = await Model.create(randomKlmDnn(3));
  const ecl = randomEclCnn(4, 1);
  eclDense = await Model.create(ecl);
  eclFast = await EclCnnFast.create(ecl);
  reco = await KlmReconstructor.create({ keepCrossings: false, likelihood: new KlmLikelihood(syntheticLikelihoodTables()) });
  for (let e = 0; ; e++) {
    const rng = eventRandom(7, e);
    event = simulateEvent(generateBBbarEvent(rng), e, rng, defaultDetectorConditions());
    if (event.length >= 4 && event[0]!.klmHits.length > 0) break;
  }
});

function eclInputs(batch: number): { image: Float32Array; pt: Float32Array; thetaId: Float32Array; phiId: Float32Array } {
  return { image: new Float32Array(batch * 49).fill(0.01), pt: new Float32Array(batch).fill(0.5), thetaId: new Float32Array(batch).fill(30), phiId: new Float32Array(batch).fill(70) };
}

describe("model inputs: NaN/Inf, wrong lengths, batches", () => {
  it("NaN and ±Inf are InputErrors naming the input, row and feature", () => {
    const x = new Float32Array(3 * 121);
    x[121 + 7] = NaN;
    expect(() => klm.predict({ features: x }, 3)).toThrow(InputError);
    expect(() => klm.predict({ features: x }, 3)).toThrow(/input "features" row 1 column 7 \(.+\) is NaN/);
    x[121 + 7] = 0;
    x[2 * 121] = -Infinity;
    expect(() => klm.predict({ features: x }, 3)).toThrow(/row 2 column 0 .*is -Infinity/);
    const e = eclInputs(2);
    e.pt[1] = Infinity;
    expect(() => eclFast.predict(e, 2)).toThrow(/input "pt" row 1 is Infinity/);
    expect(() => eclDense.predict(e, 2)).toThrow(/input "pt" row 1 .*is \+Infinity/);
  });

  it("a wrong length is an InputError stating the expected count", () => {
    expect(() => klm.predict({ features: new Float32Array(120) }, 1)).toThrow(/has 120 values; batch 1 × 121 per row needs 121/);
    expect(() => eclFast.predict({ ...eclInputs(2), image: new Float32Array(97) }, 2)).toThrow(/input "image" has 97 values, needs 98/);
    expect(() => klm.predict({}, 1)).toThrow(/input "features" is missing/);
    expect(() => klm.predict({ features: new Float32Array(121), extra: new Float32Array(1) }, 1)).toThrow(/unknown input "extra"/);
    expect(() => klm.predict({ features: new Float64Array(121) as unknown as Float32Array }, 1)).toThrow(/must be a Float32Array or an array of numbers/);
  });

  it("batch 0, negative, fractional or NaN batches are InputErrors; a batch above the capacity runs in chunks", () => {
    for (const batch of [0, -1, 1.5, NaN]) {
      expect(() => klm.predict({ features: new Float32Array(0) }, batch)).toThrow(/batch must be a positive integer/);
      expect(() => eclFast.predict(eclInputs(1), batch)).toThrow(InputError);
    }
    // 3000 rows > the default capacity of 256: same per-row results as small batches
    const rng = new Random(5);
    const x = Float32Array.from({ length: 3000 * 121 }, () => rng.gauss());
    const big = klm.predict({ features: x }, 3000);
    const small = klm.predict({ features: x.subarray(2999 * 121) }, 1);
    expect(big.logits.subarray(2 * 2999)).toEqual(small.logits);
  });
});

describe("out-of-range ids", () => {
  it("thetaId outside 14..57 and phiId outside 0..143 are InputErrors; non-integers too", () => {
    for (const [name, value, pattern] of [
      ["thetaId", 13, /id 13 is outside the valid range 14\.\.57/],
      ["thetaId", 58, /id 58 is outside the valid range 14\.\.57/],
      ["phiId", -1, /id -1 is outside the valid range 0\.\.143/],
      ["phiId", 144, /id 144 is outside the valid range 0\.\.143/],
      ["phiId", 7.5, /id 7\.5 is not an integer/],
    ] as const) {
      const e = eclInputs(2);
      e[name][1] = value;
      expect(() => eclFast.predict(e, 2)).toThrow(pattern);
      expect(() => eclDense.predict(e, 2)).toThrow(pattern);
    }
  });

  it("an index input of a custom model outside its card range is an InputError", async () => {
    const m = await Model.create(tinyMixedModel(1));
    expect(() => m.predict({ features: new Float32Array(6), id: [4] }, 1)).toThrow(/input "id" row 0: id 4 is outside the valid range 0\.\.3/);
  });

  it("KLM hits with a layer or sector outside the detector are InputErrors naming the hit", () => {
    const tracks = event.map((r) => r.ip);
    const hits = event[0]!.klmHits;
    const barrel = hits.findIndex((h) => h.section === "barrel");
    const withHit = (patch: Partial<KlmHit>): KlmHit[] => hits.map((h, i) => (i === (barrel >= 0 ? barrel : 0) ? { ...h, ...patch } : h));
    expect(() => reco.reconstructEvent(tracks, withHit({ section: "barrel", layer: 16 }))).toThrow(InputError);
    expect(() => reco.reconstructEvent(tracks, withHit({ section: "barrel", layer: 0 }))).toThrow(InputError);
    expect(() => reco.reconstructEvent(tracks, withHit({ section: "forward", layer: 15 }))).toThrow(InputError);
    expect(() => reco.reconstructEvent(tracks, withHit({ x: NaN }))).toThrow(/KLM hit \d+: position, time, sector, layer and strips must be finite numbers/);
  });

  it("ECL digits with a cellId outside 1..8736 are InputErrors", () => {
    const row = event.find((r) => r.eclDigits.length > 0)!;
    for (const cellId of [0, 8737, 12.5, NaN]) {
      expect(() => eclCnnInput(row.ip, [...row.eclDigits, { cellId, energy: 0.1 }])).toThrow(/cellId .* is not a crystal \(integer 1\.\.8736\)/);
    }
  });
});

describe("negative energies, empty and huge events", () => {
  it("negative ECL energies are defined: they read as empty crystals (below the 1 MeV threshold → 0)", () => {
    const row = event.find((r) => eclCnnInput(r.ip, r.eclDigits).accepted)!;
    const plain = eclCnnInput(row.ip, row.eclDigits);
    const negative = eclCnnInput(row.ip, [...row.eclDigits.map((d) => ({ ...d, energy: -Math.abs(d.energy) }))]);
    expect(plain.accepted && negative.accepted).toBe(true);
    if (!negative.accepted || !plain.accepted) return;
    expect(Array.from(negative.image).every((v) => v === 0)).toBe(true);
    expect(plain.image.some((v) => v > 0)).toBe(true);
    // a NaN energy is an error, not a silent zero
    expect(() => eclCnnInput(row.ip, [{ cellId: row.eclDigits[0]!.cellId, energy: NaN }])).toThrow(/energy NaN is not a finite number/);
  });

  it("empty events: no tracks → no results; tracks without hits → results with no matched hits", () => {
    expect(reco.reconstructEvent([], event[0]!.klmHits)).toEqual([]);
    expect(simulateEvent([], 0, new Random(1), defaultDetectorConditions())).toEqual([]);
    const noHits = reco.reconstructEvent(event.map((r) => r.ip), []);
    expect(noHits).toHaveLength(event.length);
    for (const r of noHits) {
      expect(r.matchedHits).toEqual([]);
      expect(r.hitLayerPattern).toBe(0);
      expect(r.ndof).toBe(0);
      expect(r.features.every(Number.isFinite)).toBe(true);
    }
    const noDigits = eclCnnInput(event[0]!.ip, []);
    if (noDigits.accepted) expect(Array.from(noDigits.image).every((v) => v === 0)).toBe(true);
  });

  it("NaN momentum or a bad charge is an InputError naming the track", () => {
    const tracks: TrackAtIp[] = event.map((r) => r.ip);
    expect(() => reco.reconstructEvent([...tracks, { ...tracks[0]!, px: NaN }], event[0]!.klmHits)).toThrow(
      new RegExp(`track ${tracks.length}: position and momentum at the IP must be finite`),
    );
    expect(() => reco.reconstructEvent([{ ...tracks[0]!, charge: 0 as 1 }], [])).toThrow(/track 0: charge must be ±1/);
    expect(() => eclCnnInput({ ...tracks[0]!, pz: Infinity }, [])).toThrow(/track position and momentum at the IP must be finite/);
  });

  it("an event of 10⁴ tracks gives 10⁴ results, each equal to the same track reconstructed alone", () => {
    const tracks = event.map((r) => r.ip);
    const many = Array.from({ length: 10_000 }, (_, i) => tracks[i % tracks.length]!);
    const t0 = performance.now();
    const out = reco.reconstructEvent(many, event[0]!.klmHits);
    console.log(`[inputEdges] 10⁴-track event: ${out.length} results, ${event[0]!.klmHits.length} hits, ${(performance.now() - t0).toFixed(0)} ms (informational)`);
    expect(out).toHaveLength(10_000);
    const alone = reco.reconstructEvent(tracks, event[0]!.klmHits);
    for (const i of [0, 1, 2, 3, 9_999, 5_003]) {
      const a = alone[i % tracks.length]!;
      expect(out[i]!.features).toEqual(a.features);
      expect(out[i]!.likelihood).toEqual(a.likelihood);
    }
    // and the DNN takes all of them in one call
    const withValue = out.filter((r) => r.extLayerPattern !== 0 || r.matchedHits.length > 0);
    const features = new Float32Array(withValue.length * 121);
    withValue.forEach((r, i) => features.set(r.features, i * 121));
    if (withValue.length > 0) expect(klm.predict({ features }, withValue.length).muonProbability).toHaveLength(withValue.length);
  });
});

describe("hand-made Muid results and model cards", () => {
  it("KlmLikelihood.evaluate refuses a NaN χ² or an outcome outside 0..66", () => {
    const likelihood = new KlmLikelihood(syntheticLikelihoodTables());
    const r = reco.reconstructEvent([event[0]!.ip], event[0]!.klmHits)[0]!.muid;
    expect(() => likelihood.evaluate({ ...r, chi2: NaN })).toThrow(/chi2 NaN must be a finite number/);
    expect(() => likelihood.evaluate({ ...r, outcome: 67 })).toThrow(/outcome 67 is not an integer 0\.\.66/);
    const v = likelihood.evaluate(r);
    expect(v.muonId).toBeGreaterThanOrEqual(0);
    expect(v.muonId).toBeLessThanOrEqual(1);
  });

  it("a card declaring a value beyond the per-row limit is a ModelError (no memory is reserved)", () => {
    const bundle = tinyMixedModel(2);
    const card = structuredClone(bundle.card);
    card.inputs.push({ name: "huge", shape: [2 ** 30], kind: "float" });
    expect(() => validateModel({ card, tensors: bundle.tensors })).toThrow(ModelError);
    expect(() => validateModel({ card, tensors: bundle.tensors })).toThrow(/value "huge" holds 1073741824 elements per row, more than the limit/);
  });
});

describe("muid predict on JSON rows", () => {
  async function predict(rows: unknown): Promise<{ muonProbability: number[]; logits: number[][] }> {
    const dir = mkdtempSync(join(tmpdir(), "muid-edges-"));
    try {
      writeFileSync(join(dir, "m.safetensors"), writeModelFile(randomKlmDnn(3)));
      writeFileSync(join(dir, "rows.json"), JSON.stringify(rows));
      const program = new Command().exitOverride();
      registerPredict(program);
      await program.parseAsync(["node", "muid", "predict", "-m", join(dir, "m.safetensors"), "-i", join(dir, "rows.json"), "-o", join(dir, "out.json")]);
      return JSON.parse(readFileSync(join(dir, "out.json"), "utf8"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("an empty row list is a defined, empty result; a short row or a string value is an InputError naming the row", async () => {
    expect(await predict([])).toEqual({ muonProbability: [], logits: [] });
    const row = Array.from({ length: 121 }, (_, i) => i / 121);
    const one = await predict([row]);
    expect(one.muonProbability).toHaveLength(1);
    expect(one.logits[0]).toHaveLength(2);
    await expect(predict([row, row.slice(1)])).rejects.toThrow(/row 1: "features" must have 121 numbers, got 120 values/);
    await expect(predict([row.map((v, i) => (i === 4 ? "1" : v))])).rejects.toThrow(/row 0: "features"\[4\] is not a number/);
    await expect(predict({ rows: [] })).rejects.toThrow(InputError);
  });
});

describe("fuzz findings F1–F5 (docs/security.md), fixed at the API boundary", () => {
  it("F3: particles outside the simulation's validity range are InputErrors, not endless stepping", async () => {
    const { simulateEvent, defaultDetectorConditions } = await import("../src/sim/event.js");
    const { Random } = await import("../src/sim/random.js");
    const { InputError } = await import("../src/errors.js");
    const pion = { pdg: 211, charge: 1 as const, mass: 0.13957039, x: 0, y: 0, z: 0, px: 1, py: 0, pz: 0 };
    for (const bad of [{ ...pion, mass: 1.5, px: 8737 }, { ...pion, mass: 8736, pz: 1000 }, { ...pion, px: 20.5 }, null]) {
      expect(() => simulateEvent([bad as never], 0, new Random(27), defaultDetectorConditions())).toThrow(InputError);
    }
    // the edges of the range still simulate
    const rows = simulateEvent([{ ...pion, mass: 1, px: 20 }, { ...pion, px: 0, pz: 19.9 }], 0, new Random(27), defaultDetectorConditions());
    expect(rows.length).toBe(2);
  });

  it("F1, F2, F5: null hits, null tracks, non-array tracks and |p| beyond 1e6 GeV/c are InputErrors in reconstructEvent", async () => {
    const { KlmReconstructor } = await import("../src/reco/klmChain.js");
    const { InputError } = await import("../src/errors.js");
    const reco = await KlmReconstructor.create({});
    const track = { charge: 1 as const, x: 0, y: 0, z: 0, px: 1.5, py: 0.2, pz: 0.3, covariance: new Array<number>(21).fill(0) };
    expect(() => reco.reconstructEvent([track], [null as never])).toThrow(/KLM hit 0/);
    expect(() => reco.reconstructEvent([null as never], [])).toThrow(/track 0/);
    expect(() => reco.reconstructEvent(null as never, [])).toThrow(InputError);
    await expect(KlmReconstructor.create(null as never)).rejects.toThrow(InputError);
    expect(() => reco.reconstructEvent([{ ...track, py: 1e300 }], [])).toThrow(/at most 1000000 GeV/);
    // simulated tracks along the beam axis reach ~10⁴ GeV/c (smeared θ near 0): still reconstructed
    expect(reco.reconstructEvent([{ ...track, px: 0.3, py: 0, pz: 5e4 }], []).length).toBe(1);
    expect(reco.reconstructEvent([track], []).length).toBe(1);
  });
});
