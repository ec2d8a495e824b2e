/**
 * Latency of the whole muon-ID chain per BB̄ event (physics.md §7 recipe): for every event the
 * tracks are extrapolated through the KLM (Muid swim, χ² association with Kalman update, 121
 * features, likelihood), the KLM DNN runs once on all tracks with a KLM value, and the tracks are
 * extrapolated to the ECL and the accepted ones (thetaId 14–57, 0.2 ≤ pT ≤ 1 GeV/c) run through
 * the ECL CNN of their charge, batched. The events are simulated first and not timed. Figures are
 * medians of per-event wall times (performance.now), reported with p10 and p90 and each stage's
 * share of the total.
 *
 * ChainRunner runs one event and hands back its stage times and the per-event model inputs and
 * outputs: `muid bench` (src/eval/benchChain.ts) times the same events with it and feeds the
 * inputs to the peer engines.
 */
import type { DetectorConditions, SimTrackRow } from "../sim/types.js";
import { defaultDetectorConditions, eventRandom, simulateEvent } from "../sim/event.js";
import { generateBBbarEvent } from "../sim/generators.js";
import { KlmReconstructor } from "../reco/klmChain.js";
import type { KlmLikelihood } from "../reco/muidLikelihood.js";
import { hasKlmDnnValue } from "../reco/klmChain.js";
import { batchEclCnnInputs, eclCnnInput, type EclCnnBatch, type EclCnnInput } from "../reco/eclImage.js";
import { KLM_FEATURES } from "../reco/klmFeatures.js";
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
export type StageTimes = Record<LatencyStage, number>;

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
  /** called with every timed event's result (stage times, model inputs and outputs) */
  onEvent?: (result: ChainEventResult) => void;
}

/** The model inputs of one event: every model's tracks as one batch (null: no track for it). */
export interface EventModelInputs {
  /** KLM DNN: tracks with a KLM value × 121 features */
  klm: { features: Float32Array; batch: number } | null;
  /** ECL CNN of charge +1 and −1: the accepted tracks */
  eclPlus: EclCnnBatch | null;
  eclMinus: EclCnnBatch | null;
}

/** Muon probabilities per model for one event, in the order of EventModelInputs' rows. */
export interface EventModelOutputs {
  klm: Float32Array | null;
  eclPlus: Float32Array | null;
  eclMinus: Float32Array | null;
}

export interface ChainEventResult {
  /** wall time of each stage, ms */
  times: StageTimes;
  tracks: number;
  inputs: EventModelInputs;
  outputs: EventModelOutputs;
}

/** One event's chain record as summarised by summarizeLatency. */
export interface ChainEventRecord {
  times: StageTimes;
  tracks: number;
  klmTracks: number;
  eclTracks: number;
}

export class ChainRunner {
  private constructor(private readonly reconstructor: KlmReconstructor, private readonly models: ChainModels) {}

  static async create(models: ChainModels): Promise<ChainRunner> {
    return new ChainRunner(await KlmReconstructor.create({ likelihood: models.likelihood ?? null, keepCrossings: false }), models);
  }

  /** Runs the whole chain on one event's rows (all rows of one event share its hits and digits). */
  runEvent(rows: readonly SimTrackRow[]): ChainEventResult {
    const { models } = this;
    const t0 = performance.now();
    const klm = rows.length === 0 ? [] : this.reconstructor.reconstructEvent(rows.map((r) => r.ip), rows[0]!.klmHits);
    const t1 = performance.now();
    const withKlm = klm.filter(hasKlmDnnValue);
    let klmInputs: EventModelInputs["klm"] = null;
    let klmOut: Float32Array | null = null;
    if (withKlm.length > 0) {
      const features = new Float32Array(withKlm.length * KLM_FEATURES);
      withKlm.forEach((r, i) => features.set(r.features, i * KLM_FEATURES));
      klmInputs = { features, batch: withKlm.length };
      if (models.klmDnn) klmOut = models.klmDnn.predict({ features }, withKlm.length).muonProbability;
    }
    const t2 = performance.now();
    const plus: EclCnnInput[] = [], minus: EclCnnInput[] = [];
    for (const row of rows) {
      const input = eclCnnInput(row.ip, row.eclDigits);
      if (input.accepted) (row.ip.charge > 0 ? plus : minus).push(input);
    }
    const eclPlus = plus.length > 0 ? batchEclCnnInputs(plus) : null;
    const eclMinus = minus.length > 0 ? batchEclCnnInputs(minus) : null;
    const t3 = performance.now();
    const eclOut = (batch: EclCnnBatch | null, model: Predictor | null | undefined): Float32Array | null =>
      batch && model ? model.predict({ image: batch.image, pt: batch.pt, thetaId: batch.thetaId, phiId: batch.phiId }, batch.batch).muonProbability : null;
    const plusOut = eclOut(eclPlus, models.eclCnnPlus);
    const minusOut = eclOut(eclMinus, models.eclCnnMinus);
    const t4 = performance.now();
    return {
      times: { klmReconstruction: t1 - t0, klmDnn: t2 - t1, eclImage: t3 - t2, eclCnn: t4 - t3 },
      tracks: rows.length,
      inputs: { klm: klmInputs, eclPlus, eclMinus },
      outputs: { klm: klmOut, eclPlus: plusOut, eclMinus: minusOut },
    };
  }
}

/** Simulates BB̄ events with the embedded generator (event e from eventRandom(seed, e)); empty events are dropped. */
export function simulateBBbarEvents(count: number, seed: number, conditions: DetectorConditions = defaultDetectorConditions(), firstEvent = 0,
  onProgress?: (done: number, total: number) => void): SimTrackRow[][] {
  const events: SimTrackRow[][] = [];
  for (let e = firstEvent; e < firstEvent + count; e++) {
    const rng = eventRandom(seed, e);
    const rows = simulateEvent(generateBBbarEvent(rng), e, rng, conditions);
    if (rows.length > 0) events.push(rows);
    onProgress?.(e - firstEvent + 1, count);
  }
  return events;
}

export function eventRecord(result: ChainEventResult): ChainEventRecord {
  const { inputs } = result;
  return { times: result.times, tracks: result.tracks, klmTracks: inputs.klm?.batch ?? 0, eclTracks: (inputs.eclPlus?.batch ?? 0) + (inputs.eclMinus?.batch ?? 0) };
}

export function summarizeLatency(records: readonly ChainEventRecord[]): ChainLatency {
  const stageTotal: StageTimes = { klmReconstruction: 0, klmDnn: 0, eclImage: 0, eclCnn: 0 };
  const perEvent: number[] = [], perTrack: number[] = [];
  let tracks = 0, klmTracks = 0, eclTracks = 0;
  for (const r of records) {
    let sum = 0;
    for (const s of LATENCY_STAGES) {
      stageTotal[s] += r.times[s];
      sum += r.times[s];
    }
    perEvent.push(sum);
    perTrack.push(sum / r.tracks);
    tracks += r.tracks;
    klmTracks += r.klmTracks;
    eclTracks += r.eclTracks;
  }
  const total = LATENCY_STAGES.reduce((a, s) => a + stageTotal[s], 0);
  const n = records.length;
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

export async function measureChainLatency(models: ChainModels, options: LatencyOptions): Promise<ChainLatency> {
  const warmup = options.warmup ?? 50;
  const events = simulateBBbarEvents(warmup + options.events, options.seed, options.conditions ?? defaultDetectorConditions());
  const runner = await ChainRunner.create(models);
  const records: ChainEventRecord[] = [];
  // The first `warmup` simulated events (fewer if some were empty) only warm the JIT up.
  const firstTimed = Math.max(0, events.length - options.events);
  for (let i = 0; i < events.length; i++) {
    const result = runner.runEvent(events[i]!);
    if (i < firstTimed) continue;
    records.push(eventRecord(result));
    options.onEvent?.(result);
    options.onProgress?.(i - firstTimed + 1, events.length - firstTimed);
  }
  return summarizeLatency(records);
}

export function percentiles(values: readonly number[]): Percentiles {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))]!;
  return { median: at(0.5), p10: at(0.1), p90: at(0.9) };
}
