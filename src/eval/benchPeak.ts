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

/** Grows a repetition count until one call of run(reps) takes at least targetMs. */
function calibrate(run: (reps: number) => void, targetMs: number): number {
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    run(reps);
    const ms = performance.now() - t0;
    if (ms >= targetMs / 4 || reps >= 1 << 30) return Math.min(1 << 30, Math.max(1, Math.round((reps * targetMs) / Math.max(ms, 1e-3))));
    reps *= 4;
  }
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
  const calls = options.calls ?? 25;
  const targetMs = options.targetMs ?? 5;
  const engine = await createEngine();
  const kernels = engine.kernels as unknown as PeakKernels;
  if (typeof kernels.peakMulAdd12 !== "function") throw new Error("build/muid.wasm lacks peakMulAdd12: rebuild with npm run build:wasm");

  const width = klmDnn.card.inputs[0]!.shape[0]!;
  const features = new Float32Array(batch * width);
  const rng = new Random(1);
  for (let i = 0; i < features.length; i++) features[i] = rng.gauss();
  const model = await Model.create(klmDnn, { maxBatch: batch });
  const flopsPerRow = denseFlopsPerRow(klmDnn);

  // Three measurements, each calibrated to about targetMs per call and run `calls` times,
  // interleaved so that a burst of load from other jobs hits all three alike; the fastest call of
  // each counts. Short calls (5 ms) are more likely than long ones to run without being preempted
  // on a shared machine.
  const measurements = [
    { name: "8", flopsPerRep: 8 * 4 * 2, run: (reps: number) => void kernels.peakMulAdd8(reps, 0.5) },
    { name: "12", flopsPerRep: 12 * 4 * 2, run: (reps: number) => void kernels.peakMulAdd12(reps, 0.5) },
    {
      name: "dense",
      flopsPerRep: batch * flopsPerRow,
      run: (reps: number) => {
        for (let i = 0; i < reps; i++) model.predict({ features }, batch);
      },
    },
  ].map((m) => ({ ...m, reps: calibrate(m.run, targetMs), best: Infinity }));
  for (let call = 0; call < calls; call++) {
    for (const m of measurements) {
      const t0 = performance.now();
      m.run(m.reps);
      m.best = Math.min(m.best, performance.now() - t0);
    }
  }
  const gflops = (name: string) => {
    const m = measurements.find((x) => x.name === name)!;
    return (m.reps * m.flopsPerRep) / (m.best * 1e6);
  };
  const chains = { "8": gflops("8"), "12": gflops("12") };
  const peakGflops = Math.max(chains["8"], chains["12"]);
  const denseGflops = gflops("dense");
  return { peakGflops, chains, denseGflops, denseBatch: batch, denseFlopsPerRow: flopsPerRow, denseShareOfPeak: denseGflops / peakGflops };
}
