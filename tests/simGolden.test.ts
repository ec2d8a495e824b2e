/**
 * Golden regression of the simulation: small fixed samples of each kind are simulated in process and
 * hashed (rows as `muid simulate --format jsonl` writes them, plus the event's ECL digits, the
 * transports' deposits, crossings, vertices and polylines, and the next random number after the event,
 * which catches any change in the number of draws). The expected hashes were computed from the
 * simulation as it was before the speed work of issue 3 item 6 (commit a89763a), and re-recorded once
 * for the deliberate KLM hadronic-shower change of issue 4 (deep showers, commit a3146eb; the μ⁻ gun's
 * hash, which no shower touches, stayed). Speed changes must keep every simulated bit, so they must keep
 * these hashes. A deliberate physics change updates them (and says so in its commit). The numbers also depend on the engine's Math.sin/cos/log/atan… (those of
 * Node 20's V8 11.3, where they were recorded): a Node upgrade that changes them changes the hashes too.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { defaultDetectorConditions, eventRandom, simulateEventDetailed } from "../src/sim/event.js";
import { eclStudyGun, generateBBbarEvent, generateGunEvent, klmStudyGun, type ParticleGun } from "../src/sim/generators.js";
import { rowToJsonLine } from "../src/sim/io.js";
import type { ParticleState } from "../src/sim/types.js";
import { Random } from "../src/sim/random.js";
import { hypot2, hypot3 } from "../src/sim/hypot.js";

/** sha256 (hex) of events 0…events−1 of a run with `seed` (the same event streams as `muid simulate`). */
function sampleHash(generate: (rng: Random) => ParticleState[], events: number, seed: number): string {
  const conditions = defaultDetectorConditions();
  const hash = createHash("sha256");
  for (let event = 0; event < events; event++) {
    const rng = eventRandom(seed, event);
    const detailed = simulateEventDetailed(generate(rng), event, rng, conditions);
    for (const row of detailed.rows) hash.update(rowToJsonLine(row) + "\n");
    hash.update(JSON.stringify(detailed.eclDigits) + "\n");
    for (const t of detailed.transports) {
      hash.update(JSON.stringify([t.truth, t.vertices, t.eclDeposits, t.klmCrossings, t.path]) + "\n");
    }
    hash.update(`${rng.nextU32()}\n`);
  }
  return hash.digest("hex");
}

const fixedGun = (particle: "mu-" | "pi+"): ParticleGun => ({
  ...klmStudyGun([particle]),
  momentum: { variable: "p", min: 1.5, max: 1.5 },
  thetaDeg: { min: 90, max: 90 },
  tracksPerEvent: { min: 1, max: 1 },
});

/** [name, generator, events, seed, sha256 (before the speed work; the four with pions re-recorded at a3146eb)] */
const samples: [string, (rng: Random) => ParticleState[], number, number, string][] = [
  ["KLM-study events", (rng) => generateGunEvent(klmStudyGun(), rng), 40, 7, "37eb480bff36eeb3c25cc8d044f02cfb00caa35a9591531987217fdc73805248"],
  ["ECL-study gun", (rng) => generateGunEvent(eclStudyGun(), rng), 400, 7, "b16ce329607addb80141749fdbd86060a896e6c0a5e246d83a224d25ea2bc8a0"],
  ["BB̄ events", (rng) => generateBBbarEvent(rng), 40, 7, "893ea12df9d989cb8ad2f09ad87f35f79815e118755ffb9a5f90e2dc3bc06122"],
  ["μ⁻ gun, p 1.5 GeV/c, θ 90°", (rng) => generateGunEvent(fixedGun("mu-"), rng), 400, 7, "57a7d2493e5fe863df04468c153e135e79bb683f604da6318e061c0bb6b825a7"],
  ["π⁺ gun, p 1.5 GeV/c, θ 90°", (rng) => generateGunEvent(fixedGun("pi+"), rng), 400, 7, "e7f85d3eed18e898f33898ec0f70243f49f35dd4c3361eb9ab481934eb932067"],
];

describe("simulation golden hashes (speed work must not change a simulated bit)", () => {
  for (const [name, generate, events, seed, expected] of samples) {
    it(`${name}: ${events} events, seed ${seed}`, () => {
      expect(sampleHash(generate, events, seed)).toBe(expected);
    });
  }
});

describe("hypot2/hypot3 (the simulation's Math.hypot without the builtin call)", () => {
  it("equal Math.hypot bit for bit over magnitudes 1e-12…1e12, signed zeros, ties, infinities and NaN", () => {
    const rng = new Random(20240611);
    const value = (): number => (rng.uniform() < 0.5 ? -1 : 1) * rng.uniform() * Math.pow(10, rng.range(-12, 12));
    const special = [0, -0, 1, -1, 2, Infinity, -Infinity, NaN, Number.MIN_VALUE, Number.MAX_VALUE, 1e-300, 1e300];
    const pairs: [number, number, number][] = [];
    for (let i = 0; i < 200_000; i++) {
      const a = value();
      pairs.push([a, value(), value()], [a, a * (1 + 1e-9 * rng.int(5)), value()], [0, a, -a]);
    }
    for (const a of special) for (const b of special) for (const c of special) pairs.push([a, b, c]);
    let mismatches = 0;
    for (const [a, b, c] of pairs) {
      if (!Object.is(hypot2(a, b), Math.hypot(a, b))) mismatches++;
      if (!Object.is(hypot3(a, b, c), Math.hypot(a, b, c))) mismatches++;
    }
    expect(mismatches).toBe(0);
    expect(hypot2(3, 4)).toBe(5);
    expect(hypot3(2, 3, 6)).toBe(7);
  });
});
