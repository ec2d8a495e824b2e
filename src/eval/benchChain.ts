/**
 * `muid bench` in one Node process: the full chain per BB̄ event with muid, and the per-event model
 * work with every engine of benchEngines.ts, on the same events, weights and batches, in one run.
 *
 * Procedure (ISSUE 6 items 1–2):
 *   1. The events are simulated before anything is timed (the caller passes them in).
 *   2. Each round runs, in blocks: the whole chain with muid over all events (ChainRunner: stage
 *      times and each event's model inputs), then each engine's model work over the same events'
 *      inputs. Every block starts with untimed events, at least `warmup` of them and for at least
 *      `warmupSeconds` (JIT tier-up, caches). The engine
 *      order rotates from round to round; each block's per-event times are kept and the round
 *      with the lowest median counts (the other jobs on a shared machine only ever add time).
 *   3. Reconstruction (KLM swim/association/features/likelihood, ECL extrapolation/images) is
 *      muid's own code and shared by all engines; an engine's full chain per event is that event's
 *      reconstruction time (from the chain block) plus the engine's model work on it.
 *   4. Agreement: on the first `agreementEvents` events each engine's muon probabilities are
 *      compared with the chain's (muid: Model for the KLM DNN, EclCnnFast for the ECL CNN); a
 *      largest |Δp| above 1e-5 flags the engine.
 */
import { InputError } from "../errors.js";
import type { SimTrackRow } from "../sim/types.js";
import { Model } from "../models/runtime.js";
import { EclCnnFast } from "../models/eclCnnFast.js";
import { ChainRunner, eventRecord, LATENCY_STAGES, percentiles, type LatencyStage, summarizeLatency, type ChainEventRecord, type ChainLatency, type EventModelInputs, type EventModelOutputs, type Percentiles } from "./latency.js";
import { createModelWorkEngine, ENGINE_LABELS, type BenchWeights, type EngineName, type ModelCall } from "./benchEngines.js";

/** Largest |Δp| at which a peer still agrees with muid (the ECL fast path is held to it too: tests/eclCnnFast.test.ts). */
export const AGREEMENT_TOLERANCE = 1e-5;

export interface NodeBenchOptions {
  /** engines timed besides the muid chain (in this order in round 0) */
  engines: readonly EngineName[];
  /** timed rounds (default 2); the round with the lowest median counts */
  rounds?: number;
  /** untimed events at the start of every block (default 50, cycling when there are fewer events) */
  warmup?: number;
  /** … and at least this long (default 0.5 s): engines tier wasm up from Liftoff to TurboFan only
   *  after a while (toolchain.md), onnxruntime-web's large module visibly so */
  warmupSeconds?: number;
  /** events whose outputs are compared with muid's (default 20) */
  agreementEvents?: number;
  onProgress?: (message: string) => void;
}

export interface Agreement {
  events: number;
  /** largest |Δp| per model over the compared events (null: no track of that kind) */
  maxAbsDiff: { klmDnn: number | null; eclCnnPlus: number | null; eclCnnMinus: number | null };
  /** largest over the three models */
  max: number;
  agrees: boolean;
}

export interface EngineBench {
  name: EngineName;
  label: string;
  available: boolean;
  /** why an engine did not run ("not installed", …) */
  unavailable?: string;
  version?: string | null;
  /** the per-event model work: KLM DNN + ECL CNN (both charges), ms */
  modelMsPerEvent?: Percentiles;
  /** the KLM DNN alone and the ECL CNN (both charges) alone, per event, ms */
  klmDnnMsPerEvent?: Percentiles;
  eclCnnMsPerEvent?: Percentiles;
  /** shared reconstruction + this engine's model work, per event, ms */
  chainMsPerEvent?: Percentiles;
  chainMsPerTrack?: Percentiles;
  /** events/s of the full chain with this engine (1000 · events / summed chain time) */
  eventsPerSecond?: number;
  /** share of the full chain spent in the model work (summed times) */
  modelShare?: number;
  agreement?: Agreement;
}

/** Per-event model work of one engine in one round, ms. */
interface ModelTimes {
  total: Float64Array;
  klmDnn: Float64Array;
  eclCnn: Float64Array;
}

export interface NodeBench {
  events: number;
  tracks: number;
  rounds: number;
  warmup: number;
  warmupSeconds: number;
  /** the full chain with muid, from its best round */
  chain: ChainLatency;
  /** the shared reconstruction alone (klmReconstruction + eclImage) per event, ms */
  reconstructionMsPerEvent: Percentiles;
  /** each stage of the muid chain per event, ms */
  stageMsPerEvent: Record<LatencyStage, Percentiles>;
  engines: EngineBench[];
}

function maxAbsDiff(a: Float32Array | null, b: Float32Array | null): number | null {
  if (a === null || b === null) return null;
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    m = Number.isNaN(d) ? Infinity : Math.max(m, d);
  }
  return m;
}

export async function runNodeBench(weights: BenchWeights, events: readonly (readonly SimTrackRow[])[], options: NodeBenchOptions): Promise<NodeBench> {
  const n = events.length;
  if (n === 0) throw new InputError("no BB̄ event with tracks to time: simulate more events (--events)");
  const rounds = options.rounds ?? 2;
  const warmup = options.warmup ?? 50;
  const warmupMs = 1000 * (options.warmupSeconds ?? 0.5);
  const agreementEvents = Math.min(options.agreementEvents ?? 20, n);
  const progress = options.onProgress ?? (() => {});

  const { bundles } = weights;
  const runner = await ChainRunner.create({
    likelihood: weights.likelihood,
    klmDnn: await Model.create(bundles.klmDnn),
    eclCnnPlus: await EclCnnFast.create(bundles.eclCnnPlus),
    eclCnnMinus: await EclCnnFast.create(bundles.eclCnnMinus),
  });

  // The chain block: every event through the whole chain with muid.
  let chainRecords: ChainEventRecord[] | null = null;
  let chainMedian = Infinity;
  const inputs: EventModelInputs[] = new Array(n);
  const reference: EventModelOutputs[] = new Array(n);
  const chainBlock = (round: number): void => {
    for (let i = 0, t0 = performance.now(); i < warmup || performance.now() - t0 < warmupMs; i++) runner.runEvent(events[i % n]!);
    const records: ChainEventRecord[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const result = runner.runEvent(events[i]!);
      records[i] = eventRecord(result);
      if (round === 0) {
        inputs[i] = result.inputs;
        reference[i] = result.outputs;
      }
    }
    const median = summarizeLatency(records).msPerEvent.median;
    progress(`round ${round + 1}: muid chain ${median.toFixed(3)} ms/event`);
    if (median < chainMedian) {
      chainMedian = median;
      chainRecords = records;
    }
  };

  const engineNames = options.engines.filter((e, i, all) => all.indexOf(e) === i);
  const modelTimes = new Map<EngineName, { times: ModelTimes; median: number }>();
  const results = new Map<EngineName, EngineBench>();
  const engineBlock = async (name: EngineName, round: number): Promise<void> => {
    if (results.get(name)?.available === false) return;
    const unavailable = (reason: string) => {
      results.set(name, { name, label: ENGINE_LABELS[name], available: false, unavailable: reason });
      modelTimes.delete(name);
      progress(`${name}: ${reason}`);
    };
    let made: Awaited<ReturnType<typeof createModelWorkEngine>>;
    try {
      made = await createModelWorkEngine(name, bundles);
    } catch (e) {
      // A peer that cannot load these models is reported, not fatal to the benchmark.
      unavailable(`failed to load: ${(e as Error).message}`);
      return;
    }
    if ("unavailable" in made) {
      unavailable(made.unavailable);
      return;
    }
    const engine = made.engine;
    const { klm, eclPlus, eclMinus } = engine.models;
    const call = async (f: ModelCall, x: EventModelInputs): Promise<Float32Array | null> => {
      const out = f(x);
      return out instanceof Promise ? await out : out;
    };
    try {
      for (let i = 0, t0 = performance.now(); i < warmup || performance.now() - t0 < warmupMs; i++)
        for (const f of [klm, eclPlus, eclMinus]) await call(f, inputs[i % n]!);
      const times: ModelTimes = { total: new Float64Array(n), klmDnn: new Float64Array(n), eclCnn: new Float64Array(n) };
      const outputs: EventModelOutputs[] = [];
      for (let i = 0; i < n; i++) {
        const x = inputs[i]!;
        // Synchronous engines are called directly (no await between the clock readings).
        const t0 = performance.now();
        let k = klm(x);
        if (k instanceof Promise) k = await k;
        const t1 = performance.now();
        let p = eclPlus(x);
        if (p instanceof Promise) p = await p;
        let m = eclMinus(x);
        if (m instanceof Promise) m = await m;
        const t2 = performance.now();
        times.total[i] = t2 - t0;
        times.klmDnn[i] = t1 - t0;
        times.eclCnn[i] = t2 - t1;
        if (round === 0 && i < agreementEvents) outputs.push({ klm: k, eclPlus: p, eclMinus: m });
      }
      const median = percentiles(Array.from(times.total)).median;
      progress(`round ${round + 1}: ${name} model work ${median.toFixed(3)} ms/event`);
      const best = modelTimes.get(name);
      if (best === undefined || median < best.median) modelTimes.set(name, { times, median });
      if (round === 0) {
        const diff = { klmDnn: null as number | null, eclCnnPlus: null as number | null, eclCnnMinus: null as number | null };
        const worst = (a: number | null, b: number | null) => (b === null ? a : a === null ? b : Math.max(a, b));
        outputs.forEach((out, i) => {
          diff.klmDnn = worst(diff.klmDnn, maxAbsDiff(out.klm, reference[i]!.klm));
          diff.eclCnnPlus = worst(diff.eclCnnPlus, maxAbsDiff(out.eclPlus, reference[i]!.eclPlus));
          diff.eclCnnMinus = worst(diff.eclCnnMinus, maxAbsDiff(out.eclMinus, reference[i]!.eclMinus));
        });
        const max = Math.max(diff.klmDnn ?? 0, diff.eclCnnPlus ?? 0, diff.eclCnnMinus ?? 0);
        results.set(name, { name, label: ENGINE_LABELS[name], available: true, version: engine.version, agreement: { events: agreementEvents, maxAbsDiff: diff, max, agrees: max <= AGREEMENT_TOLERANCE } });
      }
    } catch (e) {
      unavailable(`failed while running: ${(e as Error).message}`);
    } finally {
      await engine.dispose();
    }
  };

  for (let round = 0; round < rounds; round++) {
    chainBlock(round);
    const order = engineNames.map((_, i) => engineNames[(i + round) % engineNames.length]!);
    for (const name of order) await engineBlock(name, round);
  }

  const records = chainRecords!;
  const reco = records.map((r) => r.times.klmReconstruction + r.times.eclImage);
  const tracks = records.map((r) => r.tracks);
  const engines: EngineBench[] = engineNames.map((name) => {
    const r = results.get(name)!;
    const t = modelTimes.get(name);
    if (!r.available || t === undefined) return r;
    const chain = reco.map((ms, i) => ms + t.times.total[i]!);
    const total = chain.reduce((a, b) => a + b, 0);
    const modelTotal = t.times.total.reduce((a, b) => a + b, 0);
    return {
      ...r,
      modelMsPerEvent: percentiles(Array.from(t.times.total)),
      klmDnnMsPerEvent: percentiles(Array.from(t.times.klmDnn)),
      eclCnnMsPerEvent: percentiles(Array.from(t.times.eclCnn)),
      chainMsPerEvent: percentiles(chain),
      chainMsPerTrack: percentiles(chain.map((ms, i) => ms / tracks[i]!)),
      eventsPerSecond: (1000 * n) / total,
      modelShare: modelTotal / total,
    };
  });
  return {
    events: n,
    tracks: tracks.reduce((a, b) => a + b, 0),
    rounds,
    warmup,
    warmupSeconds: warmupMs / 1000,
    chain: summarizeLatency(records),
    reconstructionMsPerEvent: percentiles(reco),
    stageMsPerEvent: Object.fromEntries(LATENCY_STAGES.map((s) => [s, percentiles(records.map((r) => r.times[s]))])) as Record<LatencyStage, Percentiles>,
    engines,
  };
}
