/**
 * Memory (issue 8): 10⁶ KLM DNN predictions and a few thousand ECL CNN predictions leave the wasm
 * linear memory exactly as large as after the warm-up call (the arena is laid out at plan time, so
 * predict never grows it), and a thrown error leaves the same Model giving the same bits.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../src/errors.js";
import { EclCnnFast } from "../src/models/eclCnnFast.js";
import { Model, type Prediction } from "../src/models/runtime.js";
import { Random } from "../src/sim/random.js";
import { eclInputs, randomEclCnn } from "./fixtures/eclCnn.js";
import { randomKlmDnn } from "./fuzz/seeds.js";

const KLM_BATCH = 1000;
const KLM_CALLS = 1000; // 10⁶ predictions

function bits(p: Prediction): Uint32Array {
  return new Uint32Array(p.logits.buffer.slice(p.logits.byteOffset, p.logits.byteOffset + p.logits.byteLength));
}

let klm: Model;
let features: Float32Array;

beforeAll(async () => {
  klm = await Model.create(randomKlmDnn(9));
  const rng = new Random(10);
  features = Float32Array.from({ length: KLM_BATCH * 121 }, () => 2 * rng.gauss());
});

describe("wasm memory stays bounded", () => {
  it(`10⁶ KLM DNN predictions (${KLM_CALLS} × ${KLM_BATCH}) without memory growth`, { timeout: 120_000 }, () => {
    const first = klm.predict({ features }, KLM_BATCH); // warm-up: lays the arena out for 1000 rows
    const memory = klm.memoryBytes;
    let grown = 0;
    let checksum = 0;
    const t0 = performance.now();
    for (let call = 0; call < KLM_CALLS; call++) {
      // a different row first each call, so the inputs change without allocating new arrays
      features[(call * 121) % features.length] = call / KLM_CALLS;
      const p = klm.predict({ features }, KLM_BATCH);
      checksum += p.muonProbability[call % KLM_BATCH]!;
      if (klm.memoryBytes !== memory) grown++;
    }
    const seconds = (performance.now() - t0) / 1000;
    console.log(`[memory] KLM DNN: ${KLM_CALLS * KLM_BATCH} predictions in ${seconds.toFixed(1)} s (informational), wasm memory ${memory} bytes before and ${klm.memoryBytes} after, heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB`);
    expect(grown).toBe(0);
    expect(klm.memoryBytes).toBe(memory);
    expect(Number.isFinite(checksum)).toBe(true);
    expect(first.muonProbability).toHaveLength(KLM_BATCH);
  });

  it("a few thousand ECL CNN predictions (dense and fast) without memory growth", { timeout: 60_000 }, async () => {
    const bundle = randomEclCnn(12, 1);
    const dense = await Model.create(bundle);
    const fast = await EclCnnFast.create(bundle);
    const rng = new Random(13);
    const batches = Array.from({ length: 4 }, () => eclInputs(64, rng));
    dense.predict(batches[0]!, 64);
    fast.predict(batches[0]!, 64);
    const denseMemory = dense.memoryBytes, fastMemory = fast.memoryBytes;
    for (let call = 0; call < 50; call++) {
      const inputs = batches[call % batches.length]!;
      dense.predict(inputs, 64);
      fast.predict(inputs, 64);
      // smaller batches reuse the same buffers
      fast.predict({ image: inputs.image.subarray(0, 49), pt: inputs.pt.subarray(0, 1), thetaId: inputs.thetaId.subarray(0, 1), phiId: inputs.phiId.subarray(0, 1) }, 1);
    }
    console.log(`[memory] ECL CNN: 6400 dense + 6450 fast predictions, wasm memory dense ${dense.memoryBytes} (was ${denseMemory}), fast ${fast.memoryBytes} (was ${fastMemory})`);
    expect(dense.memoryBytes).toBe(denseMemory);
    expect(fast.memoryBytes).toBe(fastMemory);
  });

  it("EclCnnFast runs batches above 4096 rows in chunks: same bits as small batches, memory bounded", { timeout: 60_000 }, async () => {
    const fast = await EclCnnFast.create(randomEclCnn(16, 1));
    const big = eclInputs(5000, new Random(17));
    const all = fast.predict(big, 5000);
    const memory = fast.memoryBytes;
    fast.predict(eclInputs(12_000, new Random(18)), 12_000);
    expect(fast.memoryBytes).toBe(memory);
    for (const r of [0, 4095, 4096, 4999]) {
      const one = fast.predict({ image: big.image.subarray(49 * r, 49 * (r + 1)), pt: big.pt.subarray(r, r + 1), thetaId: big.thetaId.subarray(r, r + 1), phiId: big.phiId.subarray(r, r + 1) }, 1);
      expect(bits(one)).toEqual(new Uint32Array(all.logits.buffer.slice(8 * r, 8 * (r + 1))));
    }
  });
});

describe("an error leaves the module usable", () => {
  it("after every kind of bad input the same Model gives the same bits, and memory does not move", () => {
    const rows = features.subarray(0, 8 * 121);
    const before = bits(klm.predict({ features: rows }, 8));
    const memory = klm.memoryBytes;
    const nan = rows.slice();
    nan[5 * 121 + 3] = NaN;
    const bad: [string, () => unknown][] = [
      ["NaN", () => klm.predict({ features: nan }, 8)],
      ["short", () => klm.predict({ features: rows.subarray(1) }, 8)],
      ["batch 0", () => klm.predict({ features: rows }, 0)],
      ["unknown input", () => klm.predict({ features: rows, x: rows }, 8)],
      ["not an array", () => klm.predict({ features: "1,2" as unknown as Float32Array }, 8)],
    ];
    for (const [what, call] of bad) {
      expect(call, what).toThrow(InputError);
      expect(bits(klm.predict({ features: rows }, 8)), `after ${what}`).toEqual(before);
    }
    expect(klm.memoryBytes).toBe(memory);
  });

  it("EclCnnFast after out-of-range ids and NaN gives the same bits", async () => {
    const fast = await EclCnnFast.create(randomEclCnn(14, -1));
    const inputs = eclInputs(16, new Random(15));
    const before = bits(fast.predict(inputs, 16));
    const memory = fast.memoryBytes;
    for (const [name, value] of [["thetaId", 58], ["phiId", 144], ["pt", NaN], ["thetaId", 20.5]] as const) {
      const broken = { ...inputs, [name]: inputs[name].slice() };
      broken[name][15] = value;
      expect(() => fast.predict(broken, 16)).toThrow(InputError);
      expect(bits(fast.predict(inputs, 16))).toEqual(before);
    }
    expect(fast.memoryBytes).toBe(memory);
  });
});
