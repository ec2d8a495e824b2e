// The KLM chain (swim → association + Kalman → patterns → features → likelihood) on tracks from the IP.
// Hits are placed on the predicted crossings of a hit-free swim (plus Gaussian noise and background), so
// the expected matches are known; the wasm kernel and the scalar twin must agree on every decision and
// number.
import { beforeAll, describe, expect, it } from "vitest";
import { KlmReconstructor, type KlmTrackReconstruction } from "../src/reco/klmChain.js";
import { swimMuonThroughKlm } from "../src/reco/klmExtrapolation.js";
import { Outcome } from "../src/reco/muidPatterns.js";
import { klmHitWidth, sectorCos, sectorSin } from "../src/geometry/klm.js";
import { reconstructTrackAtIp } from "../src/sim/tracking.js";
import { particleAtIp } from "../src/sim/generators.js";
import { Random } from "../src/sim/random.js";
import type { KlmHit, TrackAtIp } from "../src/sim/types.js";
import { InputError } from "../src/errors.js";
import { transportParticle } from "../src/sim/transport.js";
import { defaultDetectorConditions, eventRandom, simulateEvent } from "../src/sim/event.js";
import { generateGunEvent, klmStudyGun } from "../src/sim/generators.js";

const DEG = Math.PI / 180;

function trackAt(p: number, thetaDeg: number, phiDeg: number, rng: Random, name: "mu-" | "mu+" = "mu-"): TrackAtIp {
  return reconstructTrackAtIp(particleAtIp(name, p, thetaDeg * DEG, phiDeg * DEG), rng);
}

/** Hits on the predicted crossings of a hit-free swim, smeared by `sigma` cm in the plane. */
function hitsOnCrossings(track: TrackAtIp, trackIndex: number, rng: Random, sigma: number): KlmHit[] {
  const swim = swimMuonThroughKlm(track);
  return swim.crossings.filter((c) => c.inActiveArea).map((c) => {
    let x = c.x, y = c.y, z = c.z;
    if (c.section === "barrel") {
      const du = rng.gauss() * sigma;
      x += -sectorSin(c.sector) * du;
      y += sectorCos(c.sector) * du;
      z += rng.gauss() * sigma;
    } else {
      x += rng.gauss() * sigma;
      y += rng.gauss() * sigma;
    }
    return { section: c.section, sector: c.sector, layer: c.layer, x, y, z, uStripMin: 10, uStripMax: 10, vStripMin: 20, vStripMax: c.layer % 3 === 0 ? 21 : 20, time: 5, truthTrack: trackIndex };
  });
}

let wasm: KlmReconstructor;
let scalar: KlmReconstructor;
beforeAll(async () => {
  wasm = await KlmReconstructor.create();
  scalar = await KlmReconstructor.create({ backend: "scalar" });
});

function expectSame(a: KlmTrackReconstruction, b: KlmTrackReconstruction, where: string): void {
  expect(b.outcome, where).toBe(a.outcome);
  expect(b.extLayerPattern, where).toBe(a.extLayerPattern);
  expect(b.hitLayerPattern, where).toBe(a.hitLayerPattern);
  expect(b.matchedHits, where).toEqual(a.matchedHits);
  expect(Object.is(a.chi2, b.chi2), `${where}: χ² ${a.chi2} vs ${b.chi2}`).toBe(true);
  expect(Array.from(b.features), where).toEqual(Array.from(a.features));
}

describe("swim without hits", () => {
  it("a 2 GeV/c muon at θ = 90° crosses barrel layers 1–15 in order in one sector and escapes (outcome ExitBarrel)", async () => {
    const track = trackAt(2, 90, 0, new Random(1));
    const [r] = wasm.reconstructEvent([track], []);
    expect(r!.crossings.map((c) => c.layer)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    expect(new Set(r!.crossings.map((c) => c.sector)).size).toBe(1);
    expect(r!.crossings.every((c) => c.section === "barrel" && c.inActiveArea)).toBe(true);
    expect(r!.escaped).toBe(true);
    expect(r!.outcome).toBe(Outcome.ExitBarrel);
    expect(r!.extLayerPattern).toBe((1 << 15) - 1);
    expect(r!.extLayer).toBe(14);
    expect(r!.hitLayer).toBe(-1);
    expect(r!.ndof).toBe(0);
    // predicted plane covariance grows outward (multiple scattering in the iron)
    const first = r!.crossings[0]!.planeCovariance, last = r!.crossings[14]!.planeCovariance;
    expect(last[0]).toBeGreaterThan(first[0]);
    expect(last[2]).toBeGreaterThan(first[2]);
    // features: no hit anywhere, hasext on the 15 barrel slots
    for (let slot = 0; slot < 29; slot++) expect(r!.features[5 + 4 * slot + 3]).toBe(slot < 15 ? 1 : 0);
    expect(r!.features[2]).toBe(15); // extLayer 14 − hitLayer −1
  });

  it("a 0.8 GeV/c muon stops inside the barrel (outcome StopInBarrel) after a few layers", () => {
    const [r] = wasm.reconstructEvent([trackAt(0.8, 90, 100, new Random(2))], []);
    expect(r!.outcome).toBe(Outcome.StopInBarrel);
    expect(r!.muid.barrelExtLayer).toBeGreaterThanOrEqual(2);
    expect(r!.muid.barrelExtLayer).toBeLessThanOrEqual(11);
    expect(r!.escaped).toBe(false);
  });

  it("a forward track at θ = 32° reaches only the forward endcap (outcome 2 or 4, isForward)", () => {
    const [r] = wasm.reconstructEvent([trackAt(3, 32, 40, new Random(3))], []);
    expect(r!.crossings.length).toBeGreaterThan(3);
    expect(r!.crossings.every((c) => c.section === "forward")).toBe(true);
    expect([Outcome.StopInForwardEndcap, Outcome.ExitForwardEndcap]).toContain(r!.outcome);
    expect(r!.isForward).toBe(true);
    expect(r!.crossings.map((c) => c.slot)).toEqual(r!.crossings.map((c) => 14 + c.layer));
  });

  it("does not swim a track below MinPt = 0.1 GeV/c (outcome NotReached); rejects bad tracks", () => {
    const slow = trackAt(0.3, 15, 0, new Random(4));
    expect(Math.hypot(slow.px, slow.py)).toBeLessThan(0.1);
    const [r] = wasm.reconstructEvent([slow], []);
    expect(r!.outcome).toBe(Outcome.NotReached);
    expect(r!.crossings.length).toBe(0);
    const bad = { ...trackAt(2, 90, 0, new Random(5)) };
    bad.covariance = bad.covariance.slice(0, 20);
    expect(() => wasm.reconstructEvent([bad], [])).toThrow(InputError);
    expect(() => wasm.reconstructEvent([{ ...bad, px: Number.NaN }], [])).toThrow(InputError);
  });
});

describe("swim against the truth transport", () => {
  it("predicted crossings scatter about the true muon crossings as their plane covariance says (pull rms 0.9–1.15 in φ and z)", () => {
    const rng = new Random(7);
    const conditions = defaultDetectorConditions();
    let n = 0, u2 = 0, v2 = 0;
    for (let k = 0; k < 600; k++) {
      const p = rng.range(1, 4), theta = Math.acos(rng.range(Math.cos(50 * DEG), Math.cos(120 * DEG))), phi = rng.range(-Math.PI, Math.PI);
      const state = particleAtIp(rng.uniform() < 0.5 ? "mu-" : "mu+", p, theta, phi);
      const ip = reconstructTrackAtIp(state, rng);
      const truth = transportParticle(state, rng, conditions);
      for (const c of swimMuonThroughKlm(ip).crossings) {
        if (c.section !== "barrel") continue;
        const t = truth.klmCrossings.find((x) => x.section === "barrel" && x.layer === c.layer && x.kind === "muon");
        if (!t) continue;
        const du = -sectorSin(c.sector) * (t.x - c.x) + sectorCos(c.sector) * (t.y - c.y);
        u2 += (du * du) / c.planeCovariance[0];
        v2 += ((t.z - c.z) * (t.z - c.z)) / c.planeCovariance[2];
        n++;
      }
    }
    expect(n).toBeGreaterThan(5000);
    expect(Math.sqrt(u2 / n)).toBeGreaterThan(0.9);
    expect(Math.sqrt(u2 / n)).toBeLessThan(1.15);
    expect(Math.sqrt(v2 / n)).toBeGreaterThan(0.9);
    expect(Math.sqrt(v2 / n)).toBeLessThan(1.15);
  });
});

describe("association along the swim", () => {
  it("hits on every crossing are all matched: hitLayer = extLayer, ndof = 2 × hits, a sensible χ², features from the hits", () => {
    const rng = new Random(11);
    const track = trackAt(2.5, 85, -30, rng);
    const hits = hitsOnCrossings(track, 0, rng, 0.5);
    expect(hits.length).toBe(15);
    const [r] = wasm.reconstructEvent([track], hits);
    expect(r!.matchedHits.length).toBe(15);
    expect(r!.matchedHits.every((m) => m.applied)).toBe(true);
    expect(r!.matchedHits.map((m) => m.hitIndex)).toEqual(Array.from({ length: 15 }, (_, i) => i));
    expect(r!.crossings.map((c) => c.hitIndex)).toEqual(Array.from({ length: 15 }, (_, i) => i));
    expect(r!.crossings.every((c) => c.extBit)).toBe(true);
    expect(r!.hitLayerPattern).toBe(r!.extLayerPattern);
    expect(r!.hitLayer).toBe(r!.extLayer);
    expect(r!.ndof).toBe(30);
    expect(r!.chi2 / r!.ndof).toBeLessThan(3);
    expect(r!.chi2).toBeCloseTo(r!.matchedHits.reduce((s, m) => s + m.chi2, 0), 9);
    const f = r!.features;
    expect(f[0]).toBe(Math.fround(r!.chi2));
    expect(f[1]).toBe(30);
    expect(f[2]).toBe(0);
    for (let slot = 0; slot < 15; slot++) {
      const h = hits[slot]!;
      expect(f[5 + 4 * slot]).toBe(Math.fround(klmHitWidth(h)));
      const prev = slot === 0 ? h : hits[slot - 1]!;
      expect(f[5 + 4 * slot + 1]).toBe(Math.fround(Math.hypot(h.x - prev.x, h.y - prev.y, h.z - prev.z)));
      expect(f[5 + 4 * slot + 2]).toBe(Math.fround(r!.matchedHits[slot]!.chi2));
    }
  });

  it("a hit far outside the gate is not matched: the layer keeps its ext bit and loses its hit bit", () => {
    const rng = new Random(12);
    const track = trackAt(2.5, 85, 60, rng);
    const hits = hitsOnCrossings(track, 0, rng, 0.3);
    hits[6] = { ...hits[6]!, z: hits[6]!.z + 40 };
    const [r] = scalar.reconstructEvent([track], hits);
    expect((r!.hitLayerPattern >> 6) & 1).toBe(0);
    expect((r!.extLayerPattern >> 6) & 1).toBe(1);
    expect(r!.ndof).toBe(28);
    expect(r!.features[5 + 4 * 6]).toBe(-1);
    expect(r!.crossings[6]!.hitIndex).toBe(-1);
    expect(r!.crossings[6]!.extBit).toBe(true);
    expect(r!.features[5 + 4 * 7 + 1]).toBe(Math.fround(Math.hypot(hits[7]!.x - hits[5]!.x, hits[7]!.y - hits[5]!.y, hits[7]!.z - hits[5]!.z)));
  });

  it("events of several tracks with background: wasm kernel and scalar twin agree on every decision and number", () => {
    const rng = new Random(13);
    let matchedTotal = 0, tracksTotal = 0;
    for (let event = 0; event < 25; event++) {
      const n = 2 + rng.int(6);
      const tracks: TrackAtIp[] = [];
      const hits: KlmHit[] = [];
      for (let t = 0; t < n; t++) {
        const theta = rng.range(20, 150), phi = rng.range(-180, 180), p = rng.range(0.7, 4);
        const track = trackAt(p, theta, phi, rng, rng.uniform() < 0.5 ? "mu-" : "mu+");
        tracks.push(track);
        for (const h of hitsOnCrossings(track, t, rng, rng.range(0.3, 3))) if (rng.uniform() < 0.9) hits.push(h);
      }
      for (let b = 0; b < 20; b++) {
        // background: random barrel and endcap hits
        const layer = 1 + rng.int(12);
        const section = (["barrel", "forward", "backward"] as const)[rng.int(3)]!;
        const sector = 1 + rng.int(section === "barrel" ? 8 : 4);
        hits.push({ section, sector, layer, x: rng.range(-300, 300), y: rng.range(-300, 300), z: rng.range(-180, 380), uStripMin: 1, uStripMax: 2, vStripMin: 3, vStripMax: 3, time: rng.range(-50, 50), truthTrack: -1 });
      }
      // shuffle so that buckets are not in track order
      for (let i = hits.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [hits[i], hits[j]] = [hits[j]!, hits[i]!];
      }
      const a = scalar.reconstructEvent(tracks, hits);
      const b = wasm.reconstructEvent(tracks, hits);
      for (let t = 0; t < n; t++) {
        expectSame(a[t]!, b[t]!, `event ${event} track ${t}`);
        matchedTotal += a[t]!.matchedHits.length;
        tracksTotal++;
        // matched hits are the track's own (the background is sparse and far)
        const own = a[t]!.matchedHits.filter((m) => hits[m.hitIndex]!.truthTrack === t).length;
        expect(own).toBeGreaterThanOrEqual(a[t]!.matchedHits.length - 2);
      }
    }
    expect(matchedTotal).toBeGreaterThan(tracksTotal * 3);
  });

  it("reconstructRows groups consecutive rows of an event", () => {
    const rng = new Random(14);
    const t0 = trackAt(2, 80, 0, rng), t1 = trackAt(2, 100, 90, rng);
    const hits = [...hitsOnCrossings(t0, 0, rng, 0.5), ...hitsOnCrossings(t1, 1, rng, 0.5)];
    const truth = { pdg: 13, charge: -1 as const, p: 2, pt: 2, theta: 90, phi: 0, decayedInFlight: false, interactedInEcl: false, interactedInKlm: false, klmLayerReached: 15, klmRegion: "barrel" as const, eclDeposit: 0.2 };
    const rows = [
      { event: 7, track: 0, truth, ip: t0, klmHits: hits, eclDigits: [] },
      { event: 7, track: 1, truth, ip: t1, klmHits: hits.map((h) => ({ ...h })), eclDigits: [] },
      { event: 8, track: 0, truth, ip: t0, klmHits: [], eclDigits: [] },
    ];
    const r = wasm.reconstructRows(rows);
    expect(r.length).toBe(3);
    expect(r[0]!.matchedHits.length).toBe(15);
    expect(r[1]!.matchedHits.length).toBe(15);
    expect(r[2]!.matchedHits.length).toBe(0);
    expect(r[1]!.matchedHits.every((m) => hits[m.hitIndex]!.truthTrack === 1)).toBe(true);
  });
});

describe("simulated events (src/sim/event.ts, KLM study gun)", () => {
  it("wasm kernel and scalar twin agree on every decision and number; muons are matched to their own hits", () => {
    const conditions = defaultDetectorConditions();
    const gun = klmStudyGun();
    let tracks = 0, matched = 0, own = 0, muonLayers = 0, muonHits = 0;
    for (let event = 0; event < 40; event++) {
      const rng = eventRandom(99, event);
      const rows = simulateEvent(generateGunEvent(gun, rng), event, rng, conditions);
      const a = scalar.reconstructRows(rows);
      const b = wasm.reconstructRows(rows);
      rows.forEach((row, t) => {
        expectSame(a[t]!, b[t]!, `event ${event} track ${t}`);
        tracks++;
        matched += a[t]!.matchedHits.length;
        own += a[t]!.matchedHits.filter((m) => row.klmHits[m.hitIndex]!.truthTrack === row.track).length;
        if (Math.abs(row.truth.pdg) === 13 && a[t]!.outcome > 0) {
          muonLayers += a[t]!.crossings.filter((c) => c.extBit).length;
          muonHits += a[t]!.matchedHits.length;
        }
      });
    }
    console.log(`simulated: ${tracks} tracks, ${matched} matched hits, own ${(own / matched).toFixed(4)}, muon hits per ext layer ${(muonHits / muonLayers).toFixed(3)}`);
    expect(tracks).toBeGreaterThan(200);
    expect(matched).toBeGreaterThan(1000);
    // nearly every matched hit is the track's own (the rest: other tracks' or background hits inside the gate)
    expect(own / matched).toBeGreaterThan(0.95);
    // muons leave a matched hit in most crossed layers (layer efficiency 0.96, strip gaps)
    expect(muonHits / muonLayers).toBeGreaterThan(0.85);
  });
});
