import { describe, expect, it } from "vitest";
import { transportParticle, type TransportResult } from "../src/sim/transport.js";
import {
  CELL_ECL_BARREL,
  MATERIAL_CSI,
  Propagator,
  cellAt,
  extrapolateMuon,
  materialAt,
  type PropagationObserver,
} from "../src/geometry/propagation.js";
import { barrelLayerRadius, endcapLayerZ, sectorCos, sectorSin } from "../src/geometry/klm.js";
import { MUON_MASS, PION_MASS } from "../src/constants.js";
import { klmShowerCrossings, klmShowerReach } from "../src/sim/hadronic.js";
import type { KlmCrossing } from "../src/sim/transport.js";
import { Random } from "../src/sim/random.js";
import { InputError } from "../src/errors.js";
import type { DetectorConditions, ParticleState } from "../src/sim/types.js";

const DEG = Math.PI / 180;

function conditions(fieldScale: number): DetectorConditions {
  return { fieldScale, klmEfficiency: 0.96, klmBackground: 1, eclBackground: 1, eclThreshold: 0.001 };
}

function particle(kind: "mu-" | "mu+" | "pi-" | "pi+", p: number, thetaDeg = 90, phiDeg = 0): ParticleState {
  const muon = kind.startsWith("mu");
  const charge = kind.endsWith("+") ? 1 : -1;
  const pdg = muon ? (charge < 0 ? 13 : -13) : charge > 0 ? 211 : -211;
  const t = thetaDeg * DEG, f = phiDeg * DEG;
  return {
    pdg, charge, mass: muon ? MUON_MASS : PION_MASS, x: 0, y: 0, z: 0,
    px: p * Math.sin(t) * Math.cos(f), py: p * Math.sin(t) * Math.sin(f), pz: p * Math.cos(t),
  };
}

/** Outermost barrel layer crossed by the particle itself (or its decay muon). */
function outermostBarrelLayer(r: TransportResult): number {
  let layer = 0;
  for (const c of r.klmCrossings) if (c.section === "barrel" && c.kind !== "shower" && c.layer > layer) layer = c.layer;
  return layer;
}

describe("muons through the barrel (physics.md §6, §5.1)", () => {
  it("μ at θ = 90°: mean outermost barrel layer within ±1 layer of physics.md §6 (straight radial tracks, as §6 assumes)", () => {
    // §6: 0.6 → 4, 0.7 → 6, 0.8 → 7, 0.9 → 9, 1.0 → 11, 1.1 → 12, 1.2 → 14, ≥ 1.3 → 15
    const table: [number, number][] = [[0.6, 4], [0.7, 6], [0.8, 7], [0.9, 9], [1.0, 11], [1.1, 12], [1.2, 14], [1.3, 15], [1.5, 15], [2.0, 15]];
    const rng = new Random(601);
    for (const [p, expected] of table) {
      let sum = 0;
      const n = 300;
      for (let i = 0; i < n; i++) sum += outermostBarrelLayer(transportParticle(particle("mu-", p), rng, conditions(0)));
      const mean = sum / n;
      expect(Math.abs(mean - expected), `p = ${p} GeV/c: mean layer ${mean.toFixed(2)} vs ${expected}`).toBeLessThanOrEqual(1);
    }
  });

  it("in the 1.5 T field a muon at θ = 90° needs pT ≈ 0.55 GeV/c to reach layer 1 (physics.md §0, mean energy loss)", () => {
    const reached = (p: number) => {
      const e = extrapolateMuon({ charge: -1, x: 0, y: 0, z: 0, px: p, py: 0, pz: 0, covariance: new Array(21).fill(0) }, { mass: MUON_MASS });
      return e.intersections.some((c) => c.section === "barrel" && c.layer === 1);
    };
    expect(reached(0.5)).toBe(false);
    expect(reached(0.6)).toBe(true);
  });

  it("mean μ deposit in 30 cm CsI at normal incidence within 5 % of §5.1", () => {
    const table: [number, number][] = [[0.4, 169], [0.5, 169], [0.7, 175], [1.0, 183], [1.5, 194], [2.0, 201], [3.0, 210], [5.0, 221]];
    const rng = new Random(51);
    for (const [p, mev] of table) {
      let sum = 0;
      const n = 400;
      for (let i = 0; i < n; i++) sum += transportParticle(particle("mu+", p), rng, conditions(0)).truth.eclDeposit;
      const mean = (sum / n) * 1e3;
      expect(Math.abs(mean / mev - 1), `p = ${p}: ${mean.toFixed(1)} MeV vs ${mev}`).toBeLessThan(0.05);
    }
  });

  it("ECL deposits lie in the CsI, in path order, and add up to the truth eclDeposit", () => {
    const rng = new Random(3);
    const r = transportParticle(particle("mu-", 1.0, 70, 30), rng, conditions(1));
    expect(r.eclDeposits.length).toBeGreaterThanOrEqual(6);
    let sum = 0;
    let lastR = 0;
    for (const d of r.eclDeposits) {
      expect(materialAt(d.x, d.y, d.z)).toBe(MATERIAL_CSI);
      const radius = Math.hypot(d.x, d.y);
      expect(radius).toBeGreaterThan(lastR);
      lastR = radius;
      sum += d.energy;
    }
    expect(r.truth.eclDeposit).toBeCloseTo(sum, 12);
    expect(r.truth.klmRegion).toBe("barrel");
    expect(r.truth.klmLayerReached).toBe(outermostBarrelLayer(r));
  });

  it("crossings lie on the layer planes; the return field bends the track back in the iron", () => {
    const rng = new Random(8);
    const r = transportParticle(particle("mu-", 2.0, 90, 0), rng, conditions(1));
    const barrel = r.klmCrossings.filter((c) => c.section === "barrel");
    expect(barrel.map((c) => c.layer)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    for (const c of barrel) {
      const perp = c.x * sectorCos(c.sector) + c.y * sectorSin(c.sector);
      expect(Math.abs(perp - barrelLayerRadius(c.layer, c.sector))).toBeLessThan(1e-4);
    }
    // mean-loss extrapolation: the direction turns one way in the solenoid and back in the iron
    const e = extrapolateMuon({ charge: -1, x: 0, y: 0, z: 0, px: 2, py: 0, pz: 0, covariance: new Array(21).fill(0) }, { mass: MUON_MASS });
    const first = e.intersections[0]!;
    const last = e.intersections[e.intersections.length - 1]!;
    const turnSolenoid = Math.atan2(first.py, first.px);
    const turnIron = Math.atan2(last.py, last.px) - turnSolenoid;
    expect(Math.abs(turnSolenoid)).toBeGreaterThan(0.05);
    expect(Math.sign(turnIron)).toBe(-Math.sign(turnSolenoid));
    expect(Math.abs(turnIron)).toBeGreaterThan(0.02);
  });

  it("forward endcap: a 3 GeV/c muon at θ = 35° crosses forward layers 1–14 on their planes", () => {
    const rng = new Random(25);
    const r = transportParticle(particle("mu+", 3.0, 35, 40), rng, conditions(1));
    const forward = r.klmCrossings.filter((c) => c.section === "forward");
    expect(forward.map((c) => c.layer)).toEqual(Array.from({ length: 14 }, (_, i) => i + 1));
    for (const c of forward) expect(Math.abs(c.z - endcapLayerZ("forward", c.layer))).toBeLessThan(1e-4);
    expect(r.truth.klmRegion).toBe("forward");
    expect(r.truth.klmLayerReached).toBe(14);
  });
});

describe("pions (physics.md §2.4, §5.2, §6)", () => {
  it("π inelastic-interaction probability in 30 cm CsI within ±0.05 of §5.2 (normal incidence)", () => {
    // §5.2 (entries not starred: the pion does not range out in the crystal)
    const table: ["pi-" | "pi+", number, number][] = [
      ["pi-", 0.4, 0.70], ["pi-", 0.5, 0.64], ["pi-", 0.7, 0.57], ["pi-", 1.0, 0.56], ["pi-", 2.0, 0.55], ["pi-", 3.0, 0.53],
      ["pi+", 0.5, 0.61], ["pi+", 1.0, 0.55], ["pi+", 2.0, 0.54],
    ];
    const rng = new Random(52);
    for (const [kind, p, expected] of table) {
      let entered = 0;
      let interacted = 0;
      for (let i = 0; i < 2500; i++) {
        const r = transportParticle(particle(kind, p), rng, conditions(0));
        // pions that entered the CsI as pions: no decay or interaction in front of it (r < 125 cm, the front
        // container wall included), and an ionisation deposit or a vertex in the CsI
        const first = r.vertices[0];
        if (first && Math.hypot(first.x, first.y) < 125.01) continue;
        if (r.eclDeposits.length === 0 && !r.vertices.some((v) => v.material === MATERIAL_CSI)) continue;
        entered++;
        if (first?.kind === "interaction" && first.material === MATERIAL_CSI) interacted++;
      }
      const probability = interacted / entered;
      expect(Math.abs(probability - expected), `${kind} ${p} GeV/c: ${probability.toFixed(3)} vs ${expected}`).toBeLessThanOrEqual(0.05);
    }
  });

  it("π punch-through of all 14 plates below 1 % at 1–3 GeV/c (leading pions included, θ = 90°, 1.5 T)", () => {
    const rng = new Random(53);
    for (const p of [1.0, 2.0, 3.0]) {
      let through = 0;
      let pions = 0;
      let interactedSomewhere = 0;
      for (let i = 0; i < 6000; i++) {
        const r = transportParticle(particle("pi-", p), rng, conditions(1));
        if (r.truth.decayedInFlight) continue;
        pions++;
        if (r.truth.interactedInEcl || r.truth.interactedInKlm) interactedSomewhere++;
        if (r.klmCrossings.some((c) => c.kind === "pion" && c.section === "barrel" && c.layer === 15)) through++;
      }
      expect(through / pions, `p = ${p}`).toBeLessThan(0.01);
      // 0.79 λ of CsI and 3.9 λ of iron: most pions interact (the others range out)
      expect(interactedSomewhere / pions).toBeGreaterThan(0.7);
    }
  });

  it("π decay in flight before the ECL (r < 125 cm) within 20 % of physics.md §2.5 (θ = 90°, 1.5 T)", () => {
    // §2.5 "to ECL (r = 1.25 m)": pT 0.3 → 9.2 %, 0.5 → 4.6 %, 0.7 → 3.2 %, 1.0 → 2.2 %
    const table: [number, number][] = [[0.3, 0.092], [0.5, 0.046], [0.7, 0.032], [1.0, 0.022]];
    const rng = new Random(56);
    for (const [pt, expected] of table) {
      let decays = 0;
      const n = 12000;
      for (let i = 0; i < n; i++) {
        const v = transportParticle(particle("pi+", pt), rng, conditions(1)).vertices[0];
        if (v && v.kind === "decay" && Math.hypot(v.x, v.y) < 125) decays++;
      }
      expect(Math.abs(decays / n / expected - 1), `pT = ${pt}: ${((100 * decays) / n).toFixed(2)} %`).toBeLessThan(0.2);
    }
  });

  it("absorbed pions leave hadronic ECL deposits and KLM shower crossings with wider clusters", () => {
    const rng = new Random(54);
    let hadronic = 0;
    let showers = 0;
    for (let i = 0; i < 400; i++) {
      const r = transportParticle(particle("pi+", 1.5, 80, 100), rng, conditions(1));
      if (r.eclDeposits.some((d) => d.kind === "hadronic")) hadronic++;
      for (const c of r.klmCrossings) {
        if (c.kind !== "shower") continue;
        showers++;
        expect(c.clusterHalfWidth).toBeGreaterThan(0);
      }
    }
    expect(hadronic).toBeGreaterThan(150);
    expect(showers).toBeGreaterThan(20);
  });

  it("KLM shower reach: mean (t_max + λ_att) λ_I from Fabjan–Gianotti, growing with energy; none without energy", () => {
    const rng = new Random(57);
    const lambda = 16.77; // cm, iron
    for (const e of [0.5, 1, 2, 4]) {
      let sum = 0;
      const n = 20000;
      for (let i = 0; i < n; i++) sum += klmShowerReach(e, rng);
      const expected = lambda * (Math.max(0, 0.2 * Math.log(e) + 0.7) + Math.pow(e, 0.13));
      expect(Math.abs(sum / n / expected - 1), `E = ${e} GeV`).toBeLessThan(0.02);
    }
    expect(klmShowerReach(0, rng)).toBe(0);
    expect(klmShowerReach(-1, rng)).toBe(0);
  });

  it("a shower started in barrel layer 3 fires layers beyond it, up to its reach, in the same sector, with gaps", () => {
    const rng = new Random(58);
    const r0 = barrelLayerRadius(3, 1) + 2; // in the iron just behind layer 3, sector 1 (φ = 0)
    const deepest: number[] = [];
    let fired = 0, spanned = 0;
    for (let i = 0; i < 3000; i++) {
      const out: KlmCrossing[] = [];
      klmShowerCrossings(r0, 0, 40, 1, 0, 0, 2.0, 10, rng, out);
      const layers = new Set<number>();
      for (const c of out) {
        expect(c.section).toBe("barrel");
        expect(c.sector).toBe(1);
        expect(c.layer).toBeGreaterThan(3);
        expect(c.kind).toBe("shower");
        expect(Math.abs(c.x - barrelLayerRadius(c.layer, 1))).toBeLessThan(1e-9); // on the layer plane
        layers.add(c.layer);
      }
      if (layers.size === 0) continue;
      const last = Math.max(...layers);
      deepest.push(last);
      fired += layers.size;
      spanned += last - 3;
    }
    deepest.sort((a, b) => a - b);
    // 2 GeV: t_max 0.84 λ_I, λ_att 1.09 λ_I ⇒ median reach ≈ 1.6 λ_I ≈ 27 cm of iron ≈ 5–6 layers beyond layer 3
    const median = deepest[deepest.length >> 1]!;
    expect(median).toBeGreaterThanOrEqual(8);
    expect(median).toBeLessThanOrEqual(10);
    expect(deepest[Math.floor(0.9 * deepest.length)]!).toBeGreaterThanOrEqual(12); // the long tail: deep penetration
    // layers inside the reach fire with probability 0.75: gaps in the pattern
    expect(fired / spanned).toBeGreaterThan(0.6);
    expect(fired / spanned).toBeLessThan(0.95);
  });

  it("a π⁺ stopped in CsI leaves the 4.1 MeV μ⁺ deposit, a π⁻ a star", () => {
    const rng = new Random(55);
    let plus = 0;
    let minus = 0;
    for (let i = 0; i < 600; i++) {
      const rp = transportParticle(particle("pi+", 0.25), rng, conditions(0));
      if (rp.eclDeposits.some((d) => d.kind === "ionisation" && Math.abs(d.energy - 0.0041) < 1e-12)) plus++;
      const rm = transportParticle(particle("pi-", 0.25), rng, conditions(0));
      if (!rm.truth.interactedInEcl && rm.eclDeposits.some((d) => d.kind === "hadronic")) minus++;
    }
    expect(plus).toBeGreaterThan(50);
    expect(minus).toBeGreaterThan(50);
  });
});

describe("muon-hypothesis extrapolation: covariance", () => {
  it("the propagated covariance matches the spread of truth-mode tracks (pulls ≈ 1 at barrel layers 3, 8, 14)", () => {
    const p = 2.0;
    const start = particle("mu-", p, 85, 10);
    const ext = extrapolateMuon({ charge: -1, x: 0, y: 0, z: 0, px: start.px, py: start.py, pz: start.pz, covariance: new Array(21).fill(0) }, { mass: MUON_MASS });
    const layers = [3, 8, 14];
    const rng = new Random(77);
    const pulls: Record<number, { u: number[]; z: number[] }> = {};
    for (const layer of layers) pulls[layer] = { u: [], z: [] };
    for (let i = 0; i < 400; i++) {
      const r = transportParticle(start, rng, conditions(1));
      for (const layer of layers) {
        const t = r.klmCrossings.find((c) => c.section === "barrel" && c.layer === layer && c.kind === "muon");
        const e = ext.intersections.find((c) => c.section === "barrel" && c.layer === layer);
        if (!t || !e || t.sector !== e.sector) continue;
        // Muid's projection H: in-plane directions n̂_B = φ̂_s, n̂_C = ẑ, corrected along the track direction
        const nA = [sectorCos(e.sector), sectorSin(e.sector), 0];
        const pe = Math.hypot(e.px, e.py, e.pz);
        const d = [e.px / pe, e.py / pe, e.pz / pe];
        const dA = d[0]! * nA[0]! + d[1]! * nA[1]!;
        const project = (nB: number[]) => {
          const h = [0, 1, 2].map((k) => nB[k]! - (nA[k]! * (d[0]! * nB[0]! + d[1]! * nB[1]! + d[2]! * nB[2]!)) / dA);
          let v = 0;
          for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) v += h[a]! * e.covariance[a * 6 + b]! * h[b]!;
          const residual = (t.x - e.x) * nB[0]! + (t.y - e.y) * nB[1]! + (t.z - e.z) * nB[2]!;
          return residual / Math.sqrt(v);
        };
        pulls[layer]!.u.push(project([-nA[1]!, nA[0]!, 0]));
        pulls[layer]!.z.push(project([0, 0, 1]));
      }
    }
    for (const layer of layers) {
      for (const values of [pulls[layer]!.u, pulls[layer]!.z]) {
        expect(values.length).toBeGreaterThan(300);
        const mean = values.reduce((a, b) => a + b, 0) / values.length;
        const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
        expect(Math.abs(mean), `layer ${layer} pull mean`).toBeLessThan(0.2);
        expect(sd, `layer ${layer} pull width`).toBeGreaterThan(0.85);
        expect(sd, `layer ${layer} pull width`).toBeLessThan(1.15);
      }
    }
  });

  it("the covariance stays symmetric and positive on the diagonal, and grows outward", () => {
    const ext = extrapolateMuon({ charge: 1, x: 0, y: 0, z: 0, px: 1.2, py: 0.3, pz: 0.2, covariance: new Array(21).fill(0) }, { mass: MUON_MASS });
    let previous = 0;
    for (const c of ext.intersections) {
      for (let i = 0; i < 6; i++) {
        expect(c.covariance[i * 6 + i]).toBeGreaterThan(0);
        for (let j = 0; j < 6; j++) expect(c.covariance[i * 6 + j]).toBeCloseTo(c.covariance[j * 6 + i]!, 12);
      }
      const trace = c.covariance[0]! + c.covariance[7]! + c.covariance[14]!;
      expect(trace).toBeGreaterThan(previous);
      previous = trace;
    }
    expect(ext.eclEntry).not.toBeNull();
    expect(cellAt(ext.eclEntry!.x, ext.eclEntry!.y, ext.eclEntry!.z)).toBe(CELL_ECL_BARREL);
  });
});

describe("reproducibility and bad input", () => {
  it("the same seed gives the same transport", () => {
    const a = transportParticle(particle("pi-", 1.3, 60, 200), new Random(9), conditions(1));
    const b = transportParticle(particle("pi-", 1.3, 60, 200), new Random(9), conditions(1));
    expect(b).toEqual(a);
  });

  it("rejects other particles, non-finite states and a non-finite field scale with typed errors", () => {
    const rng = new Random(1);
    expect(() => transportParticle({ ...particle("mu-", 1), pdg: 11 }, rng, conditions(1))).toThrow(InputError);
    expect(() => transportParticle({ ...particle("mu-", 1), px: Number.NaN }, rng, conditions(1))).toThrow(InputError);
    expect(() => transportParticle(particle("mu-", 1), rng, conditions(Number.POSITIVE_INFINITY))).toThrow(InputError);
    const propagator = new Propagator();
    expect(() => propagator.start({ x: 0, y: 0, z: 0, px: 0, py: 0, pz: 0, charge: 1, mass: MUON_MASS })).toThrow(InputError);
    expect(() => extrapolateMuon({ charge: 1, x: 0, y: 0, z: 0, px: 1, py: 0, pz: 0, covariance: [1, 2] }, { mass: MUON_MASS })).toThrow(InputError);
  });

  it("random μ/π of 0.05–6 GeV/c in every direction and field scale terminate with finite, consistent records", () => {
    const rng = new Random(4242);
    for (let i = 0; i < 3000; i++) {
      const kinds = ["mu-", "mu+", "pi-", "pi+"] as const;
      const kind = kinds[rng.int(4)]!;
      const p = 0.05 + 6 * rng.uniform() ** 2;
      const theta = Math.acos(2 * rng.uniform() - 1) / DEG;
      const r = transportParticle(particle(kind, p, theta, 360 * rng.uniform()), rng, conditions([0, 0.5, 1, 1.2][rng.int(4)]!));
      for (const c of r.klmCrossings) {
        expect([c.x, c.y, c.z, c.time, c.px, c.py, c.pz].every(Number.isFinite)).toBe(true);
        expect(c.time).toBeGreaterThan(0);
      }
      let sum = 0;
      for (const d of r.eclDeposits) {
        expect(d.energy).toBeGreaterThanOrEqual(0);
        sum += d.energy;
      }
      expect(r.truth.eclDeposit).toBeCloseTo(sum, 9);
      if (r.truth.klmRegion === null) expect(r.truth.klmLayerReached).toBe(0);
      else expect(r.truth.klmLayerReached).toBeGreaterThan(0);
    }
  });

  it("a looper inside the tracker stops at the path limit instead of running forever", () => {
    const propagator = new Propagator();
    // a 0.1 GeV/c circle of radius 22 cm between r = 60 and 64 cm crosses no material
    propagator.start({ x: 60, y: 0, z: 0, px: 0.1, py: 0, pz: 0, charge: 1, mass: MUON_MASS }, { fieldScale: 1 });
    const observer: PropagationObserver = { energyLoss() {}, layerCrossing: () => false, cellEntered() {} };
    const reason = propagator.run(observer);
    expect(reason).toBe(3); // STOP_MAX_PATH
  });
});
