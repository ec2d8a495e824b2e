/**
 * Training of the combined muon probability (src/reco/combinedMuonId.ts): simulate a μ±/π± sample
 * over all momenta, run the shipped KLM DNN and ECL CNNs on it, and fit, per source, charge and
 * momentum bin, the map from the model's logit difference to λ = ln[f_μ/f_π].
 *
 * Sample (combinedStudyGuns): events alternate between two guns over the KLM acceptance θ 18°–155°
 * (klm.md §4.4), 4–16 tracks each like the KLM study gun (physics.md §3.3): p flat in 0.2–5 GeV/c,
 * and p flat in 0.2–2 GeV/c so that the momenta where the ECL CNN answers (pT(ECL) ≤ 1 GeV/c) and
 * where the KLM starts to answer are well filled.
 *
 * Calibration of one bin (fitCalibrationBin): the tracks sorted by score are cut into groups of
 * about equal size (≤ CALIBRATION_GROUPS, a tie never split); the muon fraction for equal priors,
 * (n_μ/N_μ) / (n_μ/N_μ + n_π/N_π), is made non-decreasing by pool-adjacent-violators (isotonic
 * regression: a higher logit difference never means a lower muon probability); each pooled block
 * gives λ = ln[((n_μ + α)/N_μ) / ((n_π + α)/N_π)] with α = CALIBRATION_PSEUDO_COUNT (a block with
 * no pion is not infinitely sure), clamped to ±LLR_LIMIT, at the block's mean score.
 *
 * Weights for tracks with both sources (fitBothSourcesWeights): per momentum bin, the logistic
 * regression P = σ(w_KLM·λ_KLM + w_ECL·λ_ECL) without intercept, equal class weights, by Newton's
 * method on the training tracks with both values; w = 1 (naive Bayes) where a bin has too few.
 */
import {
  COMBINED_GUN_P_MAX, COMBINED_GUN_P_MIN, COMBINED_LOW_GUN_P_MAX, KLM_GUN_THETA_MAX_DEG, KLM_GUN_THETA_MIN_DEG, KLM_GUN_TRACKS_MAX, KLM_GUN_TRACKS_MIN,
} from "../constants.js";
import { InputError, OptionError } from "../errors.js";
import { loadModel } from "../models/load.js";
import { readModelFile } from "../models/modelFile.js";
import { EclCnnFast } from "../models/eclCnnFast.js";
import type { Model } from "../models/runtime.js";
import { defaultDetectorConditions, eventRandom, simulateEvent } from "../sim/event.js";
import { generateGunEvent, PARTICLE_NAMES, type ParticleGun } from "../sim/generators.js";
import { PDG, type DetectorConditions, type SimTrackRow } from "../sim/types.js";
import { hasKlmDnnValue, KlmReconstructor, type KlmReconstructionOptions, type KlmTrackReconstruction } from "../reco/klmChain.js";
import { batchEclCnnInputs, eclCnnInput, type EclCnnInput } from "../reco/eclImage.js";
import { KLM_FEATURES } from "../reco/klmFeatures.js";
import {
  BOTH_SOURCES_WEIGHT_MAX, COMBINED_MUON_ID_FORMAT, COMBINED_MUON_ID_FORMAT_VERSION, COMBINED_SOURCES, CombinedMuonId, logitDifferences, momentumBin,
  type CalibrationBin, type CombinedMuonIdTables, type CombinedSourceName, validateCombinedMuonIdTables,
} from "../reco/combinedMuonId.js";
import { readInputFile, writeFileAtomic } from "../cli/files.js";
import { Presets, SingleBar } from "cli-progress";

/** Momentum bins of the calibration, p at the IP in GeV/c (ISSUE 7 item 5's 0.2–0.6, 0.6–1, 1–2, 2–5 refined). */
export const COMBINED_MOMENTUM_EDGES: readonly number[] = [0.2, 0.4, 0.6, 0.8, 1.0, 1.5, 2, 3, 5];
/** Momentum ranges of the two guns (constants.ts), re-exported for the sample's users. */
export { COMBINED_GUN_P_MIN, COMBINED_GUN_P_MAX, COMBINED_LOW_GUN_P_MAX };
/** Calibration settings (fitCalibrationBin). */
export const LLR_LIMIT = 8;
export const CALIBRATION_GROUPS = 60;
export const CALIBRATION_PSEUDO_COUNT = 0.5;
/** Fewest tracks of each species for a bin to be calibrated (else that source is unused there). */
export const CALIBRATION_MIN_TRACKS = 100;
export const DEFAULT_COMBINED_TRAIN_EVENTS = 24000;
export const DEFAULT_COMBINED_TRAIN_SEED = 11;
export const DEFAULT_COMBINED_OUTPUT = "weights/combined-muon-id.json";
export const DEFAULT_COMBINED_KLM_DNN = "weights/klm-dnn.safetensors";
export const DEFAULT_COMBINED_ECL_CNN_PLUS = "weights/ecl-cnn-plus.safetensors";
export const DEFAULT_COMBINED_ECL_CNN_MINUS = "weights/ecl-cnn-minus.safetensors";

/** The two guns of the combined sample: [full range, low momenta]; event e uses gun e mod 2. */
export function combinedStudyGuns(): [ParticleGun, ParticleGun] {
  const gun = (pMax: number): ParticleGun => ({
    particles: PARTICLE_NAMES,
    tracksPerEvent: { min: KLM_GUN_TRACKS_MIN, max: KLM_GUN_TRACKS_MAX },
    momentum: { variable: "p", min: COMBINED_GUN_P_MIN, max: pMax },
    thetaDeg: { min: KLM_GUN_THETA_MIN_DEG, max: KLM_GUN_THETA_MAX_DEG },
    phiDeg: { min: 0, max: 360 },
  });
  return [gun(COMBINED_GUN_P_MAX), gun(COMBINED_LOW_GUN_P_MAX)];
}

/** The models whose scores are combined (any may be missing: its source is then NaN everywhere). */
export interface CombinedModels {
  klmDnn: Pick<Model, "predict" | "card"> | null;
  eclCnnPlus: Pick<EclCnnFast, "predict"> | null;
  eclCnnMinus: Pick<EclCnnFast, "predict"> | null;
}

/** Per-track columns of a scored sample (NaN score: the source has no value for the track). */
export interface CombinedSample {
  n: number;
  /** reconstructed momentum and pT at the IP, GeV/c; θ in degrees */
  p: Float32Array;
  pt: Float32Array;
  theta: Float32Array;
  charge: Int8Array;
  /** truth: 1 for a generated muon, 0 for a pion */
  isMuon: Uint8Array;
  klmDnn: Float32Array;
  eclCnn: Float32Array;
}

export interface CombinedSampleOptions {
  events: number;
  seed: number;
  models: CombinedModels;
  conditions?: DetectorConditions;
  reconstruction?: Omit<KlmReconstructionOptions, "keepCrossings" | "likelihood">;
  onProgress?: (events: number, tracks: number) => void;
  /** events between onProgress calls (default a tenth of the events) */
  progressEvery?: number;
}

const MUON_PDG = PDG.muMinus;
const PION_PDG = PDG.piPlus;

/** Tracks per model call while scoring. */
const SCORE_CHUNK = 4096;

/**
 * Scores rows of one or more events with the models: KLM DNN logit difference for tracks with a KLM
 * value, ECL CNN logit difference (CNN of the track's charge) for tracks with a CNN value, NaN else.
 * Rows of the same event must be consecutive (as the simulation writes them).
 */
export class CombinedSourceScorer {
  private constructor(private readonly reconstructor: KlmReconstructor, private readonly models: CombinedModels) {}

  static async create(models: CombinedModels, reconstruction: Omit<KlmReconstructionOptions, "keepCrossings" | "likelihood"> = {}): Promise<CombinedSourceScorer> {
    if (models.klmDnn) {
      const input = models.klmDnn.card.inputs[0];
      if (models.klmDnn.card.inputs.length !== 1 || input === undefined || input.shape.reduce((a, b) => a * b, 1) !== KLM_FEATURES)
        throw new InputError(`KLM DNN ${models.klmDnn.card.name}: the combination needs the ${KLM_FEATURES}-input DNN`);
    }
    return new CombinedSourceScorer(await KlmReconstructor.create({ ...reconstruction, likelihood: null, keepCrossings: false }), models);
  }

  /** KLM and ECL logit differences of every row (NaN where a source has no value). */
  scoreRows(rows: readonly SimTrackRow[]): { klmDnn: Float32Array; eclCnn: Float32Array } {
    return {
      klmDnn: this.models.klmDnn ? klmDnnLogitDifferences(this.models.klmDnn, this.reconstructor.reconstructRows(rows)) : new Float32Array(rows.length).fill(NaN),
      eclCnn: eclCnnLogitDifferences(this.models, rows),
    };
  }
}

/** KLM DNN logit difference of each reconstructed track with a KLM value (klm.md §1.2), NaN for the others. */
export function klmDnnLogitDifferences(dnn: Pick<Model, "predict" | "card">, klm: readonly Pick<KlmTrackReconstruction, "features" | "extLayerPattern" | "matchedHits">[]): Float32Array {
  const out = new Float32Array(klm.length).fill(NaN);
  const klmRows: number[] = [];
  klm.forEach((r, i) => {
    if (hasKlmDnnValue(r)) klmRows.push(i);
  });
  const name = dnn.card.inputs[0]!.name;
  for (let start = 0; start < klmRows.length; start += SCORE_CHUNK) {
    const chunk = klmRows.slice(start, start + SCORE_CHUNK);
    const x = new Float32Array(chunk.length * KLM_FEATURES);
    chunk.forEach((i, j) => x.set(klm[i]!.features, j * KLM_FEATURES));
    const s = logitDifferences(dnn.predict({ [name]: x }, chunk.length), chunk.length);
    chunk.forEach((i, j) => (out[i] = s[j]!));
  }
  return out;
}

/** ECL CNN logit difference (the CNN of the track's charge) of each row with a CNN value (ecl.md §1.6), NaN for the others. */
export function eclCnnLogitDifferences(models: Pick<CombinedModels, "eclCnnPlus" | "eclCnnMinus">, rows: readonly Pick<SimTrackRow, "ip" | "eclDigits">[]): Float32Array {
  const out = new Float32Array(rows.length).fill(NaN);
  for (const charge of [1, -1] as const) {
    const cnn = charge > 0 ? models.eclCnnPlus : models.eclCnnMinus;
    if (!cnn) continue;
    const inputs: EclCnnInput[] = [], index: number[] = [];
    rows.forEach((row, i) => {
      if (row.ip.charge !== charge) return;
      const input = eclCnnInput(row.ip, row.eclDigits);
      if (input.accepted) {
        inputs.push(input);
        index.push(i);
      }
    });
    for (let start = 0; start < inputs.length; start += SCORE_CHUNK) {
      const b = batchEclCnnInputs(inputs.slice(start, start + SCORE_CHUNK));
      const s = logitDifferences(cnn.predict({ image: b.image, pt: b.pt, thetaId: b.thetaId, phiId: b.phiId }, b.batch), b.batch);
      for (let j = 0; j < b.batch; j++) out[index[start + j]!] = s[j]!;
    }
  }
  return out;
}

/** Simulates and scores the combined sample (μ± and π± of the two guns). */
export async function buildCombinedSample(options: CombinedSampleOptions): Promise<CombinedSample> {
  if (!Number.isSafeInteger(options.events) || options.events < 1) throw new InputError(`events must be a positive integer, got ${options.events}`);
  const conditions = options.conditions ?? defaultDetectorConditions();
  const guns = combinedStudyGuns();
  const scorer = await CombinedSourceScorer.create(options.models, options.reconstruction);
  const cols = { p: [] as number[], pt: [] as number[], theta: [] as number[], charge: [] as number[], isMuon: [] as number[], klmDnn: [] as number[], eclCnn: [] as number[] };
  let pending: SimTrackRow[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    const s = scorer.scoreRows(pending);
    pending.forEach((row, i) => {
      const { px, py, pz } = row.ip;
      const pt = Math.hypot(px, py);
      cols.p.push(Math.hypot(pt, pz));
      cols.pt.push(pt);
      cols.theta.push((Math.atan2(pt, pz) * 180) / Math.PI);
      cols.charge.push(row.ip.charge);
      cols.isMuon.push(Math.abs(row.truth.pdg) === MUON_PDG ? 1 : 0);
      cols.klmDnn.push(s.klmDnn[i]!);
      cols.eclCnn.push(s.eclCnn[i]!);
    });
    pending = [];
  };
  const every = Math.max(1, options.progressEvery ?? Math.ceil(options.events / 10));
  for (let e = 0; e < options.events; e++) {
    const rng = eventRandom(options.seed, e);
    const rows = simulateEvent(generateGunEvent(guns[e % 2]!, rng), e, rng, conditions);
    for (const row of rows) {
      const species = Math.abs(row.truth.pdg);
      if (species === MUON_PDG || species === PION_PDG) pending.push(row);
    }
    if (pending.length >= SCORE_CHUNK) flush();
    if ((e + 1) % every === 0 || e + 1 === options.events) {
      flush();
      options.onProgress?.(e + 1, cols.p.length);
    }
  }
  flush();
  return {
    n: cols.p.length,
    p: Float32Array.from(cols.p), pt: Float32Array.from(cols.pt), theta: Float32Array.from(cols.theta),
    charge: Int8Array.from(cols.charge), isMuon: Uint8Array.from(cols.isMuon),
    klmDnn: Float32Array.from(cols.klmDnn), eclCnn: Float32Array.from(cols.eclCnn),
  };
}

/** Calibration of one bin (see the file comment); null when either species has fewer than minTracks. */
export function fitCalibrationBin(
  scores: ArrayLike<number>, labels: ArrayLike<number>,
  settings: { groups?: number; pseudoCount?: number; llrLimit?: number; minTracks?: number } = {},
): CalibrationBin | null {
  const groups = settings.groups ?? CALIBRATION_GROUPS;
  const alpha = settings.pseudoCount ?? CALIBRATION_PSEUDO_COUNT;
  const limit = settings.llrLimit ?? LLR_LIMIT;
  const minTracks = settings.minTracks ?? CALIBRATION_MIN_TRACKS;
  const n = scores.length;
  if (labels.length !== n) throw new InputError(`calibration: ${n} scores but ${labels.length} labels`);
  let nMu = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(scores[i]!)) throw new InputError(`calibration: score ${i} is ${scores[i]}`);
    if (labels[i] !== 0 && labels[i] !== 1) throw new InputError(`calibration: label ${i} is ${labels[i]}, expected 0 or 1`);
    nMu += labels[i]!;
  }
  const nPi = n - nMu;
  if (nMu < minTracks || nPi < minTracks) return null;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  // groups of ≥ target tracks, cut only between different scores
  const target = Math.max(1, Math.ceil(n / groups));
  interface Block { mu: number; pi: number; sum: number; count: number }
  const blocks: Block[] = [];
  let current: Block = { mu: 0, pi: 0, sum: 0, count: 0 };
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    current.count++;
    current.sum += scores[i]!;
    if (labels[i] === 1) current.mu++;
    else current.pi++;
    const last = k === n - 1;
    if (last || (current.count >= target && scores[order[k + 1]!]! > scores[i]!)) {
      blocks.push(current);
      current = { mu: 0, pi: 0, sum: 0, count: 0 };
    }
  }
  // pool adjacent violators on the equal-prior muon fraction
  const fraction = (b: Block): number => b.mu / nMu / (b.mu / nMu + b.pi / nPi);
  const pooled: Block[] = [];
  for (const b of blocks) {
    pooled.push({ ...b });
    while (pooled.length > 1 && fraction(pooled[pooled.length - 2]!) > fraction(pooled[pooled.length - 1]!)) {
      const top = pooled.pop()!;
      const below = pooled[pooled.length - 1]!;
      below.mu += top.mu; below.pi += top.pi; below.sum += top.sum; below.count += top.count;
    }
  }
  const knots: number[] = [], llr: number[] = [];
  let previous = -limit;
  for (const b of pooled) {
    const raw = Math.log(((b.mu + alpha) / nMu) / ((b.pi + alpha) / nPi));
    // the pseudo-counts can undo the pooled order by a hair between blocks of different sizes
    const value = Number(Math.max(previous, Math.min(limit, Math.max(-limit, raw))).toFixed(5));
    const knot = Number((b.sum / b.count).toPrecision(7));
    if (knots.length > 0 && knot <= knots[knots.length - 1]!) continue; // rounding merged two knots
    knots.push(knot);
    llr.push(value);
    previous = value;
  }
  return { muons: nMu, pions: nPi, scores: knots, llr };
}

/** Fits every source, charge and momentum bin of a scored sample. */
export function fitCombinedMuonId(sample: CombinedSample, provenance: Record<string, unknown>, modelNames: Record<CombinedSourceName, string>): CombinedMuonIdTables {
  const edges = COMBINED_MOMENTUM_EDGES;
  const nBins = edges.length - 1;
  const sources = {} as CombinedMuonIdTables["sources"];
  for (const name of COMBINED_SOURCES) {
    const score = sample[name];
    const table = (charge: 1 | -1): (CalibrationBin | null)[] =>
      Array.from({ length: nBins }, (_, b) => {
        const s: number[] = [], l: number[] = [];
        for (let i = 0; i < sample.n; i++) {
          if (sample.charge[i] !== charge || Number.isNaN(score[i]!) || momentumBin(edges, sample.p[i]!) !== b) continue;
          s.push(score[i]!);
          l.push(sample.isMuon[i]!);
        }
        return fitCalibrationBin(s, l);
      });
    sources[name] = {
      score: name === "klmDnn" ? "logit difference z_μ − z_π of the 121-input KLM DNN" : "logit difference z_μ − z_π of the ECL CNN of the track's charge",
      model: modelNames[name],
      plus: table(1),
      minus: table(-1),
    };
  }
  const naive = { ...Object.fromEntries(COMBINED_SOURCES.map((n) => [n, new Array<number>(nBins).fill(1)])) } as Record<CombinedSourceName, number[]>;
  const single = validateCombinedMuonIdTables({
    format: COMBINED_MUON_ID_FORMAT,
    formatVersion: COMBINED_MUON_ID_FORMAT_VERSION,
    momentumEdges: [...edges],
    llrLimit: LLR_LIMIT,
    sources,
    bothSourcesWeights: naive,
    provenance,
  });
  return { ...single, bothSourcesWeights: fitBothSourcesWeights(sample, CombinedMuonId.fromJson(single)) };
}

/** Per momentum bin, the weights of λ_KLM and λ_ECL for tracks with both (see the file comment). */
export function fitBothSourcesWeights(sample: CombinedSample, single: CombinedMuonId): Record<CombinedSourceName, number[]> {
  const edges = single.tables.momentumEdges;
  const nBins = edges.length - 1;
  const out = { klmDnn: new Array<number>(nBins).fill(1), eclCnn: new Array<number>(nBins).fill(1) };
  const perBin: { k: number; e: number; y: number }[][] = Array.from({ length: nBins }, () => []);
  for (let i = 0; i < sample.n; i++) {
    if (Number.isNaN(sample.klmDnn[i]!) || Number.isNaN(sample.eclCnn[i]!)) continue;
    const charge = sample.charge[i]! > 0 ? 1 : -1;
    const k = single.sourceLlr("klmDnn", charge, sample.p[i]!, sample.klmDnn[i]!);
    const e = single.sourceLlr("eclCnn", charge, sample.p[i]!, sample.eclCnn[i]!);
    if (k !== null && e !== null) perBin[momentumBin(edges, sample.p[i]!)]!.push({ k, e, y: sample.isMuon[i]! });
  }
  perBin.forEach((rows, b) => {
    const nMu = rows.reduce((a, r) => a + r.y, 0), nPi = rows.length - nMu;
    if (nMu < CALIBRATION_MIN_TRACKS || nPi < CALIBRATION_MIN_TRACKS) return;
    let a = 1, c = 1;
    for (let iteration = 0; iteration < 50; iteration++) {
      let ga = 0, gc = 0, haa = 0, hac = 0, hcc = 0;
      for (const r of rows) {
        const w = r.y === 1 ? 1 / nMu : 1 / nPi;
        const p = 1 / (1 + Math.exp(-(a * r.k + c * r.e)));
        ga += w * (r.y - p) * r.k;
        gc += w * (r.y - p) * r.e;
        const h = w * p * (1 - p);
        haa += h * r.k * r.k; hac += h * r.k * r.e; hcc += h * r.e * r.e;
      }
      const det = haa * hcc - hac * hac;
      if (!(det > 0)) return;
      const da = (hcc * ga - hac * gc) / det, dc = (haa * gc - hac * ga) / det;
      a += da;
      c += dc;
      if (Math.abs(da) + Math.abs(dc) < 1e-9) break;
    }
    out.klmDnn[b] = Number(Math.min(BOTH_SOURCES_WEIGHT_MAX, Math.max(0, a)).toFixed(5));
    out.eclCnn[b] = Number(Math.min(BOTH_SOURCES_WEIGHT_MAX, Math.max(0, c)).toFixed(5));
  });
  return out;
}

/** Loads the shipped models (or the given files) for the combination. */
export async function loadCombinedModels(files: { klmDnn: string | null; eclCnnPlus: string; eclCnnMinus: string }): Promise<CombinedModels> {
  const ecl = async (file: string, charge: 1 | -1): Promise<EclCnnFast> => {
    const model = await EclCnnFast.create(readModelFile(readInputFile(file)));
    if (model.card.charge !== charge) throw new OptionError(`${file} is an ECL CNN for charge ${model.card.charge}, expected ${charge}`);
    return model;
  };
  return { klmDnn: files.klmDnn === null ? null : await loadModel(readInputFile(files.klmDnn)), eclCnnPlus: await ecl(files.eclCnnPlus, 1), eclCnnMinus: await ecl(files.eclCnnMinus, -1) };
}

export interface CombinedTrainCliOptions {
  data?: string;
  output?: string;
  events?: string;
  seed?: string;
  quiet?: boolean;
}

function integerOption(option: string, text: string | undefined, min: number, max: number, fallback: number): number {
  if (text === undefined) return fallback;
  const v = Number(text.trim());
  if (text.trim() === "" || !Number.isSafeInteger(v) || v < min || v > max) throw new OptionError(`${option} must be an integer in [${min}, ${max}] (got ${JSON.stringify(text)})`);
  return v;
}

/**
 * Progress of an event loop on a stream: a cli-progress bar on a terminal, a line every 10 % otherwise,
 * nothing when quiet. `every` is the events between updates to pass as progressEvery.
 */
export function eventProgress(label: string, total: number, stream: NodeJS.WritableStream & { isTTY?: boolean }, quiet: boolean): { every: number; update: (events: number, tracks: number) => void; stop: () => void } {
  const started = performance.now();
  if (quiet) return { every: total, update: () => {}, stop: () => {} };
  if (stream.isTTY === true) {
    const bar = new SingleBar({ stream: stream as never, format: `${label} {bar} {percentage}% | {value}/{total} events | {tracks} tracks | ETA {eta_formatted}`, hideCursor: false }, Presets.shades_classic);
    bar.start(total, 0, { tracks: 0 });
    return { every: Math.max(1, Math.ceil(total / 100)), update: (events, tracks) => bar.update(events, { tracks }), stop: () => bar.stop() };
  }
  return {
    every: Math.max(1, Math.ceil(total / 10)),
    update: (events, tracks) => stream.write(`${label}: ${events}/${total} events, ${tracks} tracks (${((performance.now() - started) / 1000).toFixed(0)} s)\n`),
    stop: () => {},
  };
}

/** Simulates and scores a combined sample with a progress bar on `stream` (`muid train` and `muid eval --task combined`). */
export async function buildCombinedSampleWithProgress(label: string, models: CombinedModels, events: number, seed: number, stream: NodeJS.WritableStream, quiet: boolean): Promise<CombinedSample> {
  const bar = eventProgress(label, events, stream, quiet);
  try {
    return await buildCombinedSample({ events, seed, models, progressEvery: bar.every, onProgress: bar.update });
  } finally {
    bar.stop();
  }
}

/** `muid train --model combined [--events N] [--seed S] [-o FILE]`. */
export async function runCombinedTrainCommand(opts: CombinedTrainCliOptions, progress: NodeJS.WritableStream = process.stderr): Promise<CombinedMuonIdTables> {
  if (opts.data !== undefined) throw new OptionError("--model combined simulates its sample in process (--events, --seed); --data is not read");
  const events = integerOption("--events", opts.events, 1, 1e7, DEFAULT_COMBINED_TRAIN_EVENTS);
  const seed = integerOption("--seed", opts.seed, 0, 4294967295, DEFAULT_COMBINED_TRAIN_SEED);
  const output = opts.output ?? DEFAULT_COMBINED_OUTPUT;
  const say = (t: string): void => {
    if (!opts.quiet) progress.write(`muid train combined: ${t}\n`);
  };
  const files = { klmDnn: DEFAULT_COMBINED_KLM_DNN, eclCnnPlus: DEFAULT_COMBINED_ECL_CNN_PLUS, eclCnnMinus: DEFAULT_COMBINED_ECL_CNN_MINUS };
  const models = await loadCombinedModels(files);
  const started = performance.now();
  say(`simulating ${events} events (seed ${seed}; guns p 0.2–5 and 0.2–2 GeV/c, θ 18°–155°) and scoring them`);
  const sample = await buildCombinedSampleWithProgress("muid train combined", models, events, seed, progress, opts.quiet === true);
  const command = `muid train --model combined --events ${events} --seed ${seed}${opts.output !== undefined ? ` -o ${opts.output}` : ""}`;
  const withKlm = sample.klmDnn.reduce((a, v) => a + (Number.isNaN(v) ? 0 : 1), 0);
  const withEcl = sample.eclCnn.reduce((a, v) => a + (Number.isNaN(v) ? 0 : 1), 0);
  const tables = fitCombinedMuonId(sample, {
    command, seed, events, tracks: sample.n, tracksWithKlmDnn: withKlm, tracksWithEclCnn: withEcl,
    sample: `μ±/π± guns over θ ${KLM_GUN_THETA_MIN_DEG}°–${KLM_GUN_THETA_MAX_DEG}°, ${KLM_GUN_TRACKS_MIN}–${KLM_GUN_TRACKS_MAX} tracks per event, p flat in ${COMBINED_GUN_P_MIN}–${COMBINED_GUN_P_MAX} GeV/c (even events) and ${COMBINED_GUN_P_MIN}–${COMBINED_LOW_GUN_P_MAX} GeV/c (odd events), nominal conditions`,
    calibration: `isotonic (pool-adjacent-violators) on ≤ ${CALIBRATION_GROUPS} equal-count score groups, equal priors, pseudo-count ${CALIBRATION_PSEUDO_COUNT}, |λ| ≤ ${LLR_LIMIT}, ≥ ${CALIBRATION_MIN_TRACKS} tracks per species and bin; both sources: logistic-regression weights per momentum bin`,
    seconds: Math.round((performance.now() - started) / 1000),
  }, { klmDnn: files.klmDnn, eclCnn: `${files.eclCnnPlus}, ${files.eclCnnMinus}` });
  writeFileAtomic(output, JSON.stringify(tables) + "\n");
  say(`wrote ${output}: ${sample.n} tracks, ${withKlm} with a KLM DNN value, ${withEcl} with an ECL CNN value (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  return tables;
}
