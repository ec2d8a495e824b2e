/**
 * How close the dense kernels come to the machine: the wasm f32x4 multiply + add peak of this
 * engine on this CPU (assembly/peak.ts micro-kernel, 8 and 12 independent chains, the faster one)
 * and the GFLOP/s of muid's dense kernels on the KLM DNN at a batch of `batch` rows (Model.predict
 * with BatchNorm folded; FLOPs counted as 2·in·out per row per dense layer of the card, unpadded).
 * Both are the best of several timed calls (the least disturbed by the other jobs on the machine).
 */
import type { ModelBundle } from "../models/card.js";
import { createEngine } from "../models/engine.js";
import { Model } from "../models/runtime.js";
import { Random } from "../sim/random.js";

interface PeakKernels {
  peakMulAdd8(iterations: number, seed: number): number;
  peakMulAdd12(iterations: number, seed: number): number;
}

export interface PeakResult {
  /** f32x4 mul + add peak, GFLOP/s (the faster of the two chain counts) */
  peakGflops: number;
  /** per chain count */
  chains: Record<"8" | "12", number>;
  /** dense kernels on the KLM DNN, GFLOP/s */
  denseGflops: number;
  denseBatch: number;
  /** FLOPs per row of the KLM DNN's dense layers */
  denseFlopsPerRow: number;
  /** denseGflops / peakGflops */
  denseShareOfPeak: number;
}

/** Calls `run` `calls` times after a warm-up and returns the shortest wall time in ms. */
function bestTime(run: () => void, calls: number): number {
  run();
  let best = Infinity;
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    run();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

export function denseFlopsPerRow(bundle: ModelBundle): number {
  let flops = 0;
  for (const layer of bundle.card.layers) {
    if (layer.op !== "dense") continue;
    const [out, inputs] = bundle.tensors.get(layer.weight)!.shape;
    flops += 2 * out! * inputs!;
  }
  return flops;
}

/** Peak and dense figures; the dense batch is filled with seeded standard-normal values (the scale of the KLM DNN's standardised inputs). */
export async function measurePeak(klmDnn: ModelBundle, options: { batch?: number; calls?: number; targetMs?: number } = {}): Promise<PeakResult> {
  const batch = options.batch ?? 256;
  const calls = options.calls ?? 7;
  const targetMs = options.targetMs ?? 20;
  const engine = await createEngine();
  const kernels = engine.kernels as unknown as PeakKernels;
  if (typeof kernels.peakMulAdd12 !== "function") throw new Error("build/muid.wasm lacks peakMulAdd12: rebuild with npm run build:wasm");

  const chains = { "8": 0, "12": 0 };
  for (const [key, fn, n] of [["8", kernels.peakMulAdd8, 8], ["12", kernels.peakMulAdd12, 12]] as const) {
    // Calibrate the iteration count to about targetMs per call.
    let iterations = 1 << 16;
    for (;;) {
      const t0 = performance.now();
      fn(iterations, 0.5);
      const ms = performance.now() - t0;
      if (ms >= targetMs / 4 || iterations >= 1 << 30) {
        iterations = Math.min(1 << 30, Math.max(1, Math.round((iterations * targetMs) / Math.max(ms, 1e-3))));
        break;
      }
      iterations *= 4;
    }
    const ms = bestTime(() => fn(iterations, 0.5), calls);
    chains[key] = (iterations * n * 4 * 2) / (ms * 1e6);
  }
  const peakGflops = Math.max(chains["8"], chains["12"]);

  const width = klmDnn.card.inputs[0]!.shape[0]!;
  const features = new Float32Array(batch * width);
  const rng = new Random(1);
  for (let i = 0; i < features.length; i++) features[i] = rng.gauss();
  const model = await Model.create(klmDnn, { maxBatch: batch });
  const flopsPerRow = denseFlopsPerRow(klmDnn);
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) model.predict({ features }, batch);
    if (performance.now() - t0 >= targetMs / 2) break;
    reps *= 2;
  }
  const denseMs = bestTime(() => {
    for (let i = 0; i < reps; i++) model.predict({ features }, batch);
  }, calls);
  const denseGflops = (reps * batch * flopsPerRow) / (denseMs * 1e6);
  return { peakGflops, chains, denseGflops, denseBatch: batch, denseFlopsPerRow: flopsPerRow, denseShareOfPeak: denseGflops / peakGflops };
}
