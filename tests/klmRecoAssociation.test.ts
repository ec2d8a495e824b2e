// Muid's per-layer association and Kalman update (klm.md §2.4–2.5): hand-built crossings with values
// worked out by hand, and the AssemblyScript kernel against its scalar twin on random crossings (every
// decision and every output word equal).
import { beforeAll, describe, expect, it } from "vitest";
import { CROSSING, CROSSING_WORDS, EventHitTable } from "../src/reco/klmAssociationLayout.js";
import { ScalarLayerAssociator, WasmLayerAssociator, type LayerAssociator } from "../src/reco/klmAssociator.js";
import { barrelLayerRadius, endcapLayerZ, sectorCos, sectorSin } from "../src/geometry/klm.js";
import { Random } from "../src/sim/random.js";
import type { KlmHit } from "../src/sim/types.js";

function klmHit(section: KlmHit["section"], sector: number, layer: number, x: number, y: number, z: number, time = 0): KlmHit {
  return { section, sector, layer, x, y, z, uStripMin: 5, uStripMax: 5, vStripMin: 9, vStripMax: 9, time, truthTrack: 0 };
}

interface CrossingSpec {
  inBarrel: boolean;
  isForward: boolean;
  sector0: number;
  layer0: number;
  state: number[];
  cov: number[];
}

function crossingBlock(s: CrossingSpec): Float64Array {
  const b = new Float64Array(CROSSING_WORDS);
  b[CROSSING.inBarrel] = s.inBarrel ? 1 : 0;
  b[CROSSING.isForward] = s.isForward ? 1 : 0;
  b[CROSSING.sector] = s.sector0;
  b[CROSSING.layer] = s.layer0;
  b.set(s.state, CROSSING.state);
  b.set(s.cov, CROSSING.covariance);
  return b;
}

function diagonal(values: number[]): number[] {
  const c = new Array<number>(36).fill(0);
  values.forEach((v, i) => (c[7 * i] = v));
  return c;
}

/** Runs one crossing against `hits` (all in one bucket) and returns the block and the match flag. */
function run(associator: LayerAssociator, spec: CrossingSpec, hits: KlmHit[]): { block: Float64Array; matched: number } {
  const table = new EventHitTable(hits);
  associator.setEventHits(table);
  const block = crossingBlock(spec);
  const bucket = table.bucketCount.findIndex((c) => c > 0);
  const matched = bucket < 0 ? 0 : associator.associate(block, table.bucketFirst[bucket]!, table.bucketCount[bucket]!);
  return { block, matched };
}

const SCINT_VAR = 16 / 12; // 4 cm strips, w²/12 (klm.md §3.4)
// barrel layer 2 (scintillator) in sector 1: normal +x, φ̂ = +y, z
const R2 = barrelLayerRadius(2, 1);
const baseState = [R2, 10, 60, 2, 0, 0];
const baseCov = (() => {
  const c = diagonal([0.5, 1, 2, 1e-4, 4e-4, 4e-4]);
  c[1 * 6 + 4] = 0.01; // y–py correlation
  c[4 * 6 + 1] = 0.01;
  return c;
})();
const barrelSpec: CrossingSpec = { inBarrel: true, isForward: true, sector0: 0, layer0: 1, state: baseState, cov: baseCov };

let wasm: WasmLayerAssociator;
const scalar = new ScalarLayerAssociator();
beforeAll(async () => {
  wasm = await WasmLayerAssociator.create();
});

for (const backend of ["scalar", "wasm"] as const) {
  describe(`association (${backend})`, () => {
    const assoc = (): LayerAssociator => (backend === "scalar" ? scalar : wasm);

    it("normal incidence: gain, filtered state, |p| kept, filtered χ² = r²/R per coordinate (uncorrelated), covariance C − C Hᵀ R⁻¹ H C", () => {
      const { block, matched } = run(assoc(), barrelSpec, [klmHit("barrel", 1, 2, R2, 10.8, 59.5)]);
      expect(matched).toBe(1);
      const R00 = 1 + SCINT_VAR, R11 = 2 + SCINT_VAR;
      expect(block[CROSSING.hit]).toBe(0);
      expect(block[CROSSING.applied]).toBe(1);
      expect(block[CROSSING.residual]).toBeCloseTo(0.8, 12);
      expect(block[CROSSING.residual + 1]).toBeCloseTo(-0.5, 12);
      expect(block[CROSSING.residualCovariance]).toBeCloseTo(R00, 12);
      expect(block[CROSSING.residualCovariance + 1]).toBeCloseTo(0, 12);
      expect(block[CROSSING.residualCovariance + 2]).toBeCloseTo(R11, 12);
      // one measurement on a prediction: the filtered χ² equals the predicted one, r²/R per coordinate
      expect(block[CROSSING.chi2]).toBeCloseTo(0.64 / R00 + 0.25 / R11, 12);
      const s = CROSSING.state;
      expect(block[s]).toBeCloseTo(R2, 12);
      expect(block[s + 1]).toBeCloseTo(10 + 0.8 / R00, 12);
      expect(block[s + 2]).toBeCloseTo(60 - (0.5 * 2) / R11, 12);
      const pyFiltered = (0.01 * 0.8) / R00;
      const norm = Math.sqrt(4 + pyFiltered * pyFiltered);
      expect(block[s + 3]).toBeCloseTo((2 * 2) / norm, 12);
      expect(block[s + 4]).toBeCloseTo((2 * pyFiltered) / norm, 12);
      expect(block[s + 5]).toBeCloseTo(0, 12);
      const c = CROSSING.covariance;
      expect(block[c + 0]).toBeCloseTo(0.5, 12);
      expect(block[c + 7]).toBeCloseTo(1 - 1 / R00, 12);
      expect(block[c + 14]).toBeCloseTo(2 - 4 / R11, 12);
      expect(block[c + 1 * 6 + 4]).toBeCloseTo(0.01 - 0.01 / R00, 12);
      expect(block[c + 4 * 6 + 1]).toBe(block[c + 1 * 6 + 4]);
      expect(block[c + 4 * 6 + 4]).toBeCloseTo(4e-4 - 1e-4 / R00, 12);
      expect(block[c + 3 * 6 + 3]).toBeCloseTo(1e-4, 12);
    });

    it("the nearest hit in the plane is taken even if it fails the 3.5σ gate (no fall-back); first of equals wins", () => {
      const gateU = Math.sqrt((1 + SCINT_VAR) * 12.25); // 5.346 cm
      expect(gateU).toBeGreaterThan(5.34);
      const fails = klmHit("barrel", 1, 2, R2, 10 + 5.4, 60);
      const passesFarther = klmHit("barrel", 1, 2, R2, 10, 60 + 5.45);
      expect(run(assoc(), barrelSpec, [fails, passesFarther]).matched).toBe(0);
      expect(run(assoc(), barrelSpec, [passesFarther]).matched).toBe(1);
      // an exact tie (6 cm in u and in v; differences of these numbers are exact): u fails the gate, v passes
      const failsAt6 = klmHit("barrel", 1, 2, R2, 16, 60);
      const passesAt6 = klmHit("barrel", 1, 2, R2, 10, 66);
      expect(6 * 6).toBeGreaterThan((1 + SCINT_VAR) * 12.25);
      expect(6 * 6).toBeLessThan((2 + SCINT_VAR) * 12.25);
      expect(run(assoc(), barrelSpec, [failsAt6, passesAt6]).matched).toBe(0);
      const r = run(assoc(), barrelSpec, [passesAt6, failsAt6]);
      expect(r.matched).toBe(1);
      expect(r.block[CROSSING.hit]).toBe(0);
      // nearer in the plane beats a smaller χ²: the u residual is cheap (R00 small) but 1.0 is nearer than 1.1
      const near = klmHit("barrel", 1, 2, R2, 10, 60 + 1.0);
      const fartherButBetter = klmHit("barrel", 1, 2, R2, 10 + 1.1, 60);
      const best = run(assoc(), barrelSpec, [fartherButBetter, near]);
      expect(best.block[CROSSING.hit]).toBe(1);
    });

    it("same-plane window: barrel |dn| < 2 cm, endcap |dn| ≤ 2 cm", () => {
      expect(run(assoc(), barrelSpec, [klmHit("barrel", 1, 2, R2 + 1.999, 10.2, 60)]).matched).toBe(1);
      expect(run(assoc(), barrelSpec, [klmHit("barrel", 1, 2, R2 + 2.001, 10.2, 60)]).matched).toBe(0);
      const z = 290;
      const endcap: CrossingSpec = { inBarrel: false, isForward: true, sector0: 0, layer0: 5, state: [180, 100, z, 0.3, 0.2, 1.8], cov: diagonal([1, 1, 1, 1e-4, 1e-4, 1e-4]) };
      expect(run(assoc(), endcap, [klmHit("forward", 1, 6, 180.5, 100.5, z + 2)]).matched).toBe(1);
      expect(run(assoc(), endcap, [klmHit("forward", 1, 6, 180.5, 100.5, z + 2.001)]).matched).toBe(0);
    });

    it("endcap: the point moves along the track onto the hit plane; readout directions ±x, ±y", () => {
      const z = endcapLayerZ("backward", 4);
      const spec: CrossingSpec = { inBarrel: false, isForward: false, sector0: 2, layer0: 3, state: [-150, -120, z, -0.5, -0.4, -1.0], cov: diagonal([2, 3, 0.5, 1e-4, 1e-4, 1e-4]) };
      const h = klmHit("backward", 3, 4, -150.6, -119.2, z - 1);
      const { block, matched } = run(assoc(), spec, [h]);
      expect(matched).toBe(1);
      // move to z − 1 along d = (−0.5, −0.4, −1)/|·|: Δ = d·(−1)/d_z → (−0.5, −0.4) cm in x, y
      expect(block[CROSSING.positionAtHitPlane]).toBeCloseTo(-150.5, 12);
      expect(block[CROSSING.positionAtHitPlane + 1]).toBeCloseTo(-120.4, 12);
      expect(block[CROSSING.positionAtHitPlane + 2]).toBeCloseTo(z - 1, 12);
      // n̂_B = −x̂, n̂_C = −ŷ backward; H = n̂ − n̂_A (d·n̂)/(d·n̂_A) has no z part on the hit plane
      expect(block[CROSSING.residual]).toBeCloseTo(-(-150.6 - -150.5), 12);
      expect(block[CROSSING.residual + 1]).toBeCloseTo(-(-119.2 - -120.4), 12);
    });

    it("adjacent sector: a hit on the neighbouring sector's plane, projected along the track; the plane switches to that sector", () => {
      const layer = 5;
      const phi = (21 * Math.PI) / 180;
      const R0 = barrelLayerRadius(layer, 1);
      const R1 = barrelLayerRadius(layer, 2);
      const P = [R0, R0 * Math.tan(phi), 100];
      const d = [Math.cos(phi), Math.sin(phi), 0];
      const n1 = [sectorCos(2), sectorSin(2), 0];
      const dn2 = P[0]! * n1[0]! + P[1]! * n1[1]! - R1;
      const dirA = d[0]! * n1[0]! + d[1]! * n1[1]!;
      const Q = [P[0]! - (d[0]! * dn2) / dirA, P[1]! - (d[1]! * dn2) / dirA, 100];
      const phiHat1 = [-n1[1]!, n1[0]!, 0];
      const hit = klmHit("barrel", 2, layer, Q[0]! + 0.3 * phiHat1[0]!, Q[1]! + 0.3 * phiHat1[1]!, 100.2);
      const spec: CrossingSpec = { inBarrel: true, isForward: true, sector0: 0, layer0: layer - 1, state: [...P, 3 * d[0]!, 3 * d[1]!, 0], cov: diagonal([1, 1, 1, 1e-4, 1e-4, 1e-4]) };
      const { block, matched } = run(assoc(), spec, [hit]);
      expect(matched).toBe(1);
      expect(block[CROSSING.sector]).toBe(1);
      expect(block[CROSSING.positionAtHitPlane]).toBeCloseTo(Q[0]!, 9);
      expect(block[CROSSING.positionAtHitPlane + 1]).toBeCloseTo(Q[1]!, 9);
      expect(block[CROSSING.residual]).toBeCloseTo(0.3, 9);
      expect(block[CROSSING.residual + 1]).toBeCloseTo(0.2, 9);
      expect(block[CROSSING.applied]).toBe(1);
      // the same hit labelled two sectors away is not adjacent
      expect(run(assoc(), spec, [{ ...hit, sector: 3 }]).matched).toBe(0);
    });

    it("an updated point outside the barrel volume keeps the match and its χ² but applies no update", () => {
      const zEdge = 47 + 229.8;
      const spec: CrossingSpec = { inBarrel: true, isForward: true, sector0: 0, layer0: 1, state: [R2, 0, zEdge, 2, 0, 0.1], cov: diagonal([0.5, 1, 1, 1e-4, 1e-4, 1e-4]) };
      const { block, matched } = run(assoc(), spec, [klmHit("barrel", 1, 2, R2, 0, zEdge + 1)]);
      expect(matched).toBe(1);
      expect(block[CROSSING.applied]).toBe(0);
      expect(block[CROSSING.chi2]).toBeGreaterThan(0);
      expect(Array.from(block.subarray(CROSSING.state, CROSSING.state + 6))).toEqual(spec.state);
      expect(Array.from(block.subarray(CROSSING.covariance, CROSSING.covariance + 36))).toEqual(spec.cov);
    });

    it("ignores hits with |t − MeanDt| > MaxDt (10 µs)", () => {
      expect(run(assoc(), barrelSpec, [klmHit("barrel", 1, 2, R2, 10.3, 60, 20000)]).matched).toBe(0);
      expect(run(assoc(), barrelSpec, [klmHit("barrel", 1, 2, R2, 10.3, 60, 9000)]).matched).toBe(1);
    });
  });
}

describe("kernel vs scalar twin on random crossings", () => {
  it("agree on every decision and every output word (bit for bit)", () => {
    const rng = new Random(20240611);
    let matches = 0, misses = 0, adjacent = 0, notApplied = 0;
    for (let n = 0; n < 3000; n++) {
      const inBarrel = rng.uniform() < 0.6;
      const hits: KlmHit[] = [];
      let spec: CrossingSpec;
      const cov = new Array<number>(36).fill(0);
      // random positive-definite covariance A Aᵀ + diag
      const A = Array.from({ length: 36 }, () => rng.gauss() * 0.3);
      for (let i = 0; i < 6; i++) for (let j = 0; j < 6; j++) {
        let s = 0;
        for (let k = 0; k < 6; k++) s += A[6 * i + k]! * A[6 * j + k]!;
        cov[6 * i + j] = s * (i < 3 && j < 3 ? 4 : 0.01) + (i === j ? (i < 3 ? 0.2 : 1e-4) : 0);
      }
      const spread = rng.range(0.3, 6);
      if (inBarrel) {
        const sector = rng.int(8) + 1;
        const layer = rng.int(15) + 1;
        const R = barrelLayerRadius(layer, sector);
        // a third of the crossings lie near a sector edge, with hits on the neighbour's plane
        const nearEdge = rng.uniform() < 0.35;
        const side = rng.uniform() < 0.5 ? 1 : -1;
        const u = nearEdge ? side * (R * Math.tan(Math.PI / 8) - rng.range(0, 12)) : rng.range(-80, 80);
        const c = sectorCos(sector), s = sectorSin(sector);
        // some near the barrel ends, where an update can leave the volume
        const zc = rng.uniform() < 0.12 ? 47 + (rng.uniform() < 0.5 ? 1 : -1) * rng.range(228, 229.99) : rng.range(-150, 250);
        const P = [R * c - u * s, R * s + u * c, zc];
        const dir = [c + rng.gauss() * 0.3, s + rng.gauss() * 0.3, rng.gauss() * 0.5];
        const p = rng.range(0.5, 4);
        const nd = Math.hypot(dir[0]!, dir[1]!, dir[2]!);
        spec = { inBarrel, isForward: P[2]! > 47, sector0: sector - 1, layer0: layer - 1, state: [...P, (p * dir[0]!) / nd, (p * dir[1]!) / nd, (p * dir[2]!) / nd], cov };
        const nh = rng.int(7);
        for (let h = 0; h < nh; h++) {
          if (nearEdge && rng.uniform() < 0.6) {
            // on the neighbour's plane where the track would cross it, plus noise
            const s2 = ((sector - 1 + (side > 0 ? 1 : 7)) % 8) + 1;
            const c2 = sectorCos(s2), sn2 = sectorSin(s2);
            const dn2 = P[0]! * c2 + P[1]! * sn2 - barrelLayerRadius(layer, s2);
            const dA = (dir[0]! * c2 + dir[1]! * sn2) / nd;
            const f = Math.abs(dA) > 0.05 ? dn2 / dA : 0;
            const du = rng.gauss() * spread, dz = rng.gauss() * spread, dnn = rng.gauss() * 0.4;
            const Q = [P[0]! - (dir[0]! / nd) * f, P[1]! - (dir[1]! / nd) * f, P[2]! - (dir[2]! / nd) * f];
            hits.push(klmHit("barrel", s2, layer, Q[0]! - du * sn2 + dnn * c2, Q[1]! + du * c2 + dnn * sn2, Q[2]! + dz, rng.uniform() < 0.05 ? 2e4 : 0));
          } else {
            const du = rng.gauss() * spread, dz = rng.gauss() * spread, dnn = rng.gauss() * 1.2;
            hits.push(klmHit("barrel", sector, layer, P[0]! - du * s + dnn * c, P[1]! + du * c + dnn * s, P[2]! + dz, rng.uniform() < 0.05 ? 2e4 : 0));
          }
        }
      } else {
        const forward = rng.uniform() < 0.6;
        const layer = rng.int(forward ? 14 : 12) + 1;
        const z = endcapLayerZ(forward ? "forward" : "backward", layer);
        const r = rng.range(140, 320), ph = rng.range(-Math.PI, Math.PI);
        const P = [r * Math.cos(ph), r * Math.sin(ph), z];
        const p = rng.range(0.5, 4);
        const dir = [Math.cos(ph) * 0.5 + rng.gauss() * 0.2, Math.sin(ph) * 0.5 + rng.gauss() * 0.2, (forward ? 1 : -1) * (0.8 + rng.uniform())];
        const nd = Math.hypot(dir[0]!, dir[1]!, dir[2]!);
        spec = { inBarrel, isForward: forward, sector0: 0, layer0: layer - 1, state: [...P, (p * dir[0]!) / nd, (p * dir[1]!) / nd, (p * dir[2]!) / nd], cov };
        const nh = rng.int(7);
        for (let h = 0; h < nh; h++) {
          hits.push(klmHit(forward ? "forward" : "backward", 1 + rng.int(4), layer, P[0]! + rng.gauss() * spread, P[1]! + rng.gauss() * spread, z + rng.gauss() * 1.5));
        }
      }
      const a = run(scalar, spec, hits);
      const b = run(wasm, spec, hits);
      expect(b.matched, `crossing ${n}`).toBe(a.matched);
      for (let w = 0; w < CROSSING_WORDS; w++) {
        if (!Object.is(a.block[w], b.block[w])) expect.fail(`crossing ${n} word ${w}: scalar ${a.block[w]} wasm ${b.block[w]}`);
      }
      if (a.matched) {
        matches++;
        if (a.block[CROSSING.applied] === 0) notApplied++;
        if (inBarrel && a.block[CROSSING.sector] !== spec.sector0) adjacent++;
      } else if (hits.length > 0) misses++;
    }
    console.log(`twin comparison: ${matches} matched (${adjacent} adjacent-sector, ${notApplied} outside the volume), ${misses} crossings with candidates but no match`);
    // the sample exercises every branch
    expect(matches).toBeGreaterThan(500);
    expect(misses).toBeGreaterThan(100);
    expect(adjacent).toBeGreaterThan(10);
    expect(notApplied).toBeGreaterThan(5);
  });
});
