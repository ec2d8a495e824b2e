/**
 * Latency of the whole muon-ID chain per BB̄ event (physics.md §7 recipe): for every event the
 * tracks are extrapolated through the KLM (Muid swim, χ² association with Kalman update, 121
 * features, likelihood), the KLM DNN runs once on all tracks with a KLM value, and the tracks are
 * extrapolated to the ECL and the accepted ones (thetaId 14–57, 0.2 ≤ pT ≤ 1 GeV/c) run through
 * the ECL CNN of their charge, batched. Simulation is not timed. Figures are medians of per-event
 * wall times (performance.now), reported with p10 and p90 and each stage's share of the total.
 */
import type { DetectorConditions } from "../sim/types.js";
import { defaultDetectorConditions, eventRandom, simulateEvent } from "../sim/event.js";
import { generateBBbarEvent } from "../sim/generators.js";
import { KlmReconstructor } from "../reco/klmChain.js";
import type { KlmLikelihood } from "../reco/muidLikelihood.js";
import { hasKlmDnnValue } from "../reco/klmChain.js";
import { batchEclCnnInputs, eclCnnInput, type EclCnnInput } from "../reco/eclImage.js";
import type { Prediction } from "../models/runtime.js";

/** Anything with the Model.predict signature (Model, EclCnnFast). */
export interface Predictor {
  predict(inputs: Record<string, Float32Array>, batch: number): Prediction;
}

export interface ChainModels {
  likelihood?: KlmLikelihood | null;
  klmDnn?: Predictor | null;
  eclCnnPlus?: Predictor | null;
  eclCnnMinus?: Predictor | null;
}

export const LATENCY_STAGES = ["klmReconstruction", "klmDnn", "eclImage", "eclCnn"] as const;
export type LatencyStage = (typeof LATENCY_STAGES)[number];

export interface Percentiles {
  median: number;
  p10: number;
  p90: number;
}

export interface ChainLatency {
  events: number;
  tracks: number;
  /** tracks given a KLM DNN value and tracks given an ECL CNN value, per event (mean) */
  klmTracksPerEvent: number;
  eclTracksPerEvent: number;
  msPerEvent: Percentiles;
  msPerTrack: Percentiles;
  eventsPerSecond: number;
  /** share of the summed chain time spent in each stage */
  stageShare: Record<LatencyStage, number>;
}

export interface LatencyOptions {
  events: number;
  seed: number;
  /** events run before timing starts (JIT warm-up; default 50) */
  warmup?: number;
  conditions?: DetectorConditions;
  onProgress?: (done: number, total: number) => void;
}

export async function measureChainLatency(models: ChainModels, options: LatencyOptions): Promise<ChainLatency> {
  const conditions = options.conditions ?? defaultDetectorConditions();
  const reconstructor = await KlmReconstructor.create({ likelihood: models.likelihood ?? null, keepCrossings: false });
  const warmup = options.warmup ?? 50;
  const perEvent: number[] = [];
  const perTrack: number[] = [];
  const stageTotal: Record<LatencyStage, number> = { klmReconstruction: 0, klmDnn: 0, eclImage: 0, eclCnn: 0 };
  let tracks = 0, klmTracks = 0, eclTracks = 0;
  for (let e = 0; e < warmup + options.events; e++) {
    const rng = eventRandom(options.seed, e);
    const rows = simulateEvent(generateBBbarEvent(rng), e, rng, conditions);
    if (rows.length === 0) continue;
    const timed = e >= warmup;

    const t0 = performance.now();
    const klm = reconstructor.reconstructEvent(rows.map((r) => r.ip), rows[0]!.klmHits);
    const t1 = performance.now();
    const withKlm = klm.filter(hasKlmDnnValue);
    if (models.klmDnn && withKlm.length > 0) {
      const features = new Float32Array(withKlm.length * 121);
      withKlm.forEach((r, i) => features.set(r.features, i * 121));
      models.klmDnn.predict({ features }, withKlm.length);
    }
    const t2 = performance.now();
    const plus: EclCnnInput[] = [], minus: EclCnnInput[] = [];
    for (const row of rows) {
      const input = eclCnnInput(row.ip, row.eclDigits);
      if (input.accepted) (row.ip.charge > 0 ? plus : minus).push(input);
    }
    const t3 = performance.now();
    for (const [inputs, model] of [[plus, models.eclCnnPlus], [minus, models.eclCnnMinus]] as const) {
      if (!model || inputs.length === 0) continue;
      const { image, pt, thetaId, phiId, batch } = batchEclCnnInputs(inputs);
      model.predict({ image, pt, thetaId, phiId }, batch);
    }
    const t4 = performance.now();

    if (!timed) continue;
    perEvent.push(t4 - t0);
    perTrack.push((t4 - t0) / rows.length);
    stageTotal.klmReconstruction += t1 - t0;
    stageTotal.klmDnn += t2 - t1;
    stageTotal.eclImage += t3 - t2;
    stageTotal.eclCnn += t4 - t3;
    tracks += rows.length;
    klmTracks += withKlm.length;
    eclTracks += plus.length + minus.length;
    options.onProgress?.(e - warmup + 1, options.events);
  }
  const total = Object.values(stageTotal).reduce((a, b) => a + b, 0);
  const n = perEvent.length;
  return {
    events: n,
    tracks,
    klmTracksPerEvent: klmTracks / n,
    eclTracksPerEvent: eclTracks / n,
    msPerEvent: percentiles(perEvent),
    msPerTrack: percentiles(perTrack),
    eventsPerSecond: (1000 * n) / total,
    stageShare: Object.fromEntries(LATENCY_STAGES.map((s) => [s, stageTotal[s] / total])) as Record<LatencyStage, number>,
  };
}

export function percentiles(values: readonly number[]): Percentiles {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))]!;
  return { median: at(0.5), p10: at(0.1), p90: at(0.9) };
}
