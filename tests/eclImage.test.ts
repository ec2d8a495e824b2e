/**
 * ECL CNN inputs (src/reco/eclExtrapolation.ts, eclImage.ts, eclSample.ts, eclRowFile.ts): the
 * pion-hypothesis extrapolation against the analytic helix, the acceptance with its typed reasons,
 * the window's pixel placement, threshold and clip, and the labelled sample.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { HELIX_K, SOLENOID_FIELD } from "../src/constants.js";
import { InputError } from "../src/errors.js";
import { cellIdFromThetaPhi, crystalAt, phiIdOf, thetaIdOf } from "../src/geometry/ecl.js";
import { extrapolateToEcl } from "../src/reco/eclExtrapolation.js";
import { eclCnnInput, preprocessEclPixels } from "../src/reco/eclImage.js";
import { readEclRows } from "../src/reco/eclRowFile.js";
import { buildEclSample, eclSampleImages, subsetEclSample } from "../src/reco/eclSample.js";
import { rowsToArrowIpc, rowToJsonLine } from "../src/sim/io.js";
import type { SimTrackRow, TrackAtIp } from "../src/sim/types.js";

/** A track at the origin with the given pT, polar angle and azimuth (degrees), tiny covariance. */
function track(charge: 1 | -1, pt: number, thetaDeg: number, phiDeg: number): TrackAtIp {
  const t = (thetaDeg * Math.PI) / 180, f = (phiDeg * Math.PI) / 180;
  return { charge, x: 0, y: 0, z: 0, px: pt * Math.cos(f), py: pt * Math.sin(f), pz: pt / Math.tan(t), covariance: new Array<number>(21).fill(0) };
}

const tmp = mkdtempSync(join(tmpdir(), "muid-eclimage-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("extrapolation to the ECL (pion hypothesis, mean energy loss)", () => {
  it("a θ = 90° track enters the barrel front face where the helix of its pT meets r = 125 cm", () => {
    for (const charge of [1, -1] as const) {
      const pt = 0.8;
      const entry = extrapolateToEcl(track(charge, pt, 90, 0))!;
      expect(entry).not.toBeNull();
      expect(Math.hypot(entry.x, entry.y)).toBeCloseTo(125, 2);
      expect(entry.z).toBeCloseTo(0, 6);
      // circle through the origin tangent to +x, radius R = pT/(k·B): the point at distance r from the
      // origin lies at azimuth ∓asin(r/2R) (B along +z bends a positive charge towards −y)
      const radius = pt / (HELIX_K * SOLENOID_FIELD);
      const expected = -charge * Math.asin(125 / (2 * radius));
      // energy lost in the inner material (≈20 MeV, mostly in the TOP quartz just before the ECL) shrinks R
      // slightly, late on the path: a few tenths of a degree at most
      expect(Math.abs(Math.atan2(entry.y, entry.x) - expected)).toBeLessThan(0.4 * (Math.PI / 180));
      expect(entry.pt).toBeLessThan(pt);
      expect(entry.pt).toBeGreaterThan(pt - 0.03);
      expect(entry.cellId).toBe(crystalAt(entry.x * 1.0001, entry.y * 1.0001, entry.z));
      expect(thetaIdOf(entry.cellId)).toBe(41); // 88.87° ring, edge at 90.02° (ecl.md §2.4)
    }
  });

  it("a track that curls up inside the tracker never enters (2R < 125 cm)", () => {
    expect(extrapolateToEcl(track(1, 0.15, 90, 10))).toBeNull();
  });
});

describe("CNN input and acceptance (ecl.md §1.5–1.6)", () => {
  it("typed no-value reasons: no entry, endcap, pT at the ECL above 1 GeV/c", () => {
    const none = eclCnnInput(track(-1, 0.15, 90, 0), []);
    expect(none).toMatchObject({ accepted: false, reason: "no-ecl-entry", entry: null });
    const forward = eclCnnInput(track(-1, 0.6, 25, 0), []);
    expect(forward).toMatchObject({ accepted: false, reason: "outside-theta-acceptance" });
    const fast = eclCnnInput(track(-1, 1.2, 90, 0), []);
    expect(fast).toMatchObject({ accepted: false, reason: "outside-pt-acceptance" });
    if (!fast.accepted) expect(fast.entry!.pt).toBeGreaterThan(1.0);
  });

  it("places digits in the window by (θ, φ) offset, applies the threshold and the 1 GeV clip", () => {
    const t = track(1, 0.5, 70, 40);
    const entry = extrapolateToEcl(t)!;
    const tid = thetaIdOf(entry.cellId), pid = phiIdOf(entry.cellId);
    const digits = [
      { cellId: entry.cellId, energy: 0.15 }, // centre → pixel 24
      { cellId: cellIdFromThetaPhi(tid + 1, pid), energy: 0.0005 }, // below 1 MeV → pixel 31 stays 0
      { cellId: cellIdFromThetaPhi(tid, (pid + 1) % 144), energy: 2.5 }, // clipped → pixel 25 = 1
      { cellId: cellIdFromThetaPhi(tid - 3, (pid + 141) % 144), energy: 0.01 }, // corner (row 0, col 0)
      { cellId: cellIdFromThetaPhi(tid + 4, pid), energy: 0.3 }, // outside the window
    ];
    const input = eclCnnInput(t, digits);
    expect(input.accepted).toBe(true);
    if (!input.accepted) return;
    expect(input.thetaId).toBe(tid);
    expect(input.phiId).toBe(pid);
    expect(input.pt).toBe(entry.pt);
    const expected = new Float32Array(49);
    expected[24] = 0.15;
    expected[25] = 1;
    expected[0] = 0.01;
    expect(Array.from(input.image)).toEqual(Array.from(expected));
    // at a 20 MeV threshold the corner pixel goes too
    const high = eclCnnInput(t, digits, { threshold: 0.02 });
    expect(high.accepted && high.image[0]).toBe(0);
  });

  it("preprocessing: below threshold → 0, then min(·, 1 GeV); bad values are typed errors", () => {
    expect(Array.from(preprocessEclPixels(Float32Array.of(0.0009, 0.001, 0.5, 1.5, -0.2)))).toEqual([0, Math.fround(0.001), 0.5, 1, 0]);
    expect(() => preprocessEclPixels(Float32Array.of(NaN))).toThrow(InputError);
    expect(() => preprocessEclPixels(new Float32Array(3), -1)).toThrow(/threshold/);
  });
});

describe("labelled samples and the KLM-free row reader", () => {
  /** Rows built by hand: a μ⁻ and a π⁻ that reach the barrel, a π⁻ into the forward endcap, a kaon-like pdg. */
  function rows(): SimTrackRow[] {
    const make = (pdg: number, t: TrackAtIp, energy: number): SimTrackRow => {
      const entry = extrapolateToEcl(t);
      return {
        event: 0, track: 0, ip: t, klmHits: [{ section: "barrel", sector: 1, layer: 1, x: 0, y: 0, z: 0, uStripMin: 1, uStripMax: 1, vStripMin: 1, vStripMax: 1, time: 1, truthTrack: -1 }],
        truth: { pdg, charge: t.charge, p: 0.5, pt: 0.5, theta: 70, phi: 0, decayedInFlight: false, interactedInEcl: false, interactedInKlm: false, klmLayerReached: 0, klmRegion: null, eclDeposit: energy },
        eclDigits: entry ? [{ cellId: entry.cellId, energy }] : [],
      };
    };
    return [make(13, track(-1, 0.5, 70, 40), 0.18), make(-211, track(-1, 0.7, 100, 200), 0.4), make(-211, track(-1, 0.5, 25, 0), 0.2), make(321, track(1, 0.5, 70, 0), 0.2), make(-13, track(1, 0.6, 80, 90), 0.0005)];
  }

  it("keeps μ±/π± in the acceptance, labels muons, counts the reasons, and re-thresholds the raw windows", () => {
    const s = buildEclSample(rows());
    expect(s.n).toBe(3);
    expect(Array.from(s.isMuon)).toEqual([1, 0, 1]);
    expect(Array.from(s.charge)).toEqual([-1, -1, 1]);
    expect(s.rejected["outside-theta-acceptance"]).toBe(1);
    expect(s.skipped).toBe(1);
    expect(s.rawImage[2 * 49 + 24]).toBe(Math.fround(0.0005)); // kept raw…
    expect(eclSampleImages(s)[2 * 49 + 24]).toBe(0); // …removed at 1 MeV
    expect(s.ptIp[1]).toBeCloseTo(0.7, 6);
    expect(buildEclSample(rows(), { charge: 1 }).n).toBe(1);
    const sub = subsetEclSample(s, [2, 0]);
    expect(Array.from(sub.isMuon)).toEqual([1, 1]);
    expect(sub.rawImage[49 + 24]).toBe(Math.fround(0.18));
    expect(() => subsetEclSample(s, [3])).toThrow(InputError);
  });

  it("reads Arrow and JSON Lines files without their KLM hits, with identical samples", () => {
    const arrow = join(tmp, "rows.arrow"), jsonl = join(tmp, "rows.jsonl");
    writeFileSync(arrow, rowsToArrowIpc(rows()));
    writeFileSync(jsonl, rows().map(rowToJsonLine).join("\n") + "\n");
    const a = readEclRows(arrow), j = readEclRows(jsonl);
    expect(a.length).toBe(5);
    expect(a.every((r) => r.klmHits.length === 0) && j.every((r) => r.klmHits.length === 0)).toBe(true);
    expect(a.map((r) => r.eclDigits)).toEqual(rows().map((r) => r.eclDigits));
    expect(a.map((r) => r.ip)).toEqual(rows().map((r) => r.ip));
    expect(a[1]!.truth.pdg).toBe(-211);
    const sa = buildEclSample(a), sj = buildEclSample(j);
    expect(Array.from(sa.rawImage)).toEqual(Array.from(sj.rawImage));
    expect(Array.from(sa.pt)).toEqual(Array.from(sj.pt));
  });
});
