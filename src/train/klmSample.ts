/**
 * The KLM DNN sample, in process: simulate gun events (klmStudyGun: 4–16 tracks, μ/π, p 0.6–5 GeV/c,
 * θ 18°–155°, background) → reconstruct every track with the KLM chain (src/reco/klmChain.ts) → keep
 * only what training and evaluation need, as columns: the 121 features, the label, p, θ, the region and
 * a few Muid numbers (about 0.5 kB per track instead of the ~10 kB of a row file, which repeats the
 * event's hits per track).
 *
 * Which tracks get a DNN value: basf2's KLMMuonIDDNNExpertModule (klm.md §1.2) skips a track without a
 * KLMMuidLikelihood (tracks Muid does not swim: pT < MinPt) and one with neither a KLM ExtHit nor a
 * matched KLMHit2d. Here: the swim set an ext bit (a crossing on the strips) or matched a hit.
 *
 * The cache format (`writeKlmSample` / `readKlmSample`): "MUIDKLMS", u32 version, u32 header length,
 * a JSON header (n, column names/dtypes, provenance), then each column's little-endian bytes, 8-aligned.
 */
import * as fs from "node:fs";
import { FormatError, InputError, MuidError, VersionError } from "../errors.js";
import { KLM_FEATURES } from "../reco/klmFeatures.js";
import { KlmReconstructor, hasKlmDnnValue, type KlmReconstructionOptions, type KlmTrackReconstruction } from "../reco/klmChain.js";
export { hasKlmDnnValue };
import { BARREL_PATTERN_MASK, ENDCAP_PATTERN_MASK } from "../reco/muidPatterns.js";
import { defaultDetectorConditions, eventRandom, simulateEvent } from "../sim/event.js";
import { generateGunEvent, klmStudyGun, validateParticleGun, type ParticleGun } from "../sim/generators.js";
import type { DetectorConditions, SimTrackRow } from "../sim/types.js";
import type { KlmLikelihoodAccumulator } from "./klmLikelihood.js";

/** Region codes of `KlmSample.region`. */
export const KLM_REGIONS = ["barrel", "forward", "backward"] as const;
export type KlmRegionName = (typeof KLM_REGIONS)[number];

/** The likelihood score stands for ln L_μ − ln L_π, clamped here (a hypothesis with L = 0 has ln L = −1e20). */
export const LIKELIHOOD_SCORE_LIMIT = 1e4;

/** Columns of a sample: one entry per selected track. */
export interface KlmSample {
  n: number;
  /** n × 121 DNN inputs (klm.md §1.3), row-major */
  features: Float32Array;
  /** 1 for a true muon, 0 for a pion */
  isMuon: Uint8Array;
  /** true PDG code */
  pdg: Int16Array;
  /** reconstructed momentum at the IP, GeV/c */
  p: Float32Array;
  /** true polar angle at the IP, degrees */
  theta: Float32Array;
  /** 0 barrel, 1 forward, 2 backward (KLM_REGIONS): the section holding most of the track's ext layers */
  region: Uint8Array;
  /** Muid outcome (0–66) */
  outcome: Uint8Array;
  /** layers with an ext bit (N_ext) and with a matched hit (N_hit) */
  extCount: Uint8Array;
  hitCount: Uint8Array;
  /** ln L_μ − ln L_π of the Muid likelihood, clamped to ±LIKELIHOOD_SCORE_LIMIT; NaN without tables */
  likelihoodScore: Float32Array;
  /** event number and track index in the event */
  event: Int32Array;
  track: Uint8Array;
  /** how the sample was made (seed, events, conditions, counts) */
  provenance: KlmSampleProvenance;
}

export interface KlmSampleProvenance {
  seed: number;
  firstEvent: number;
  events: number;
  tracksSimulated: number;
  /** tracks without a DNN value (no ext bit, no matched hit) */
  tracksWithoutKlm: number;
  conditions: DetectorConditions;
  reconstruction: { fieldScale: number; efficiency: number | null; likelihood: boolean };
  particles: readonly string[];
}

export interface KlmSampleOptions {
  seed: number;
  /** stop after this many events … */
  events?: number;
  /** … or once this many tracks are selected (whichever comes first; at least one must be given) */
  tracks?: number;
  firstEvent?: number;
  /** simulation conditions (default nominal: 1.5 T, efficiency 0.96, background ×1) */
  conditions?: DetectorConditions;
  /** the gun (default klmStudyGun(): μ±/π± in equal parts, so μ/π 50/50) */
  gun?: ParticleGun;
  /** reconstruction options (field scale of the extrapolation, efficiency, likelihood tables, backend) */
  reconstruction?: Omit<KlmReconstructionOptions, "keepCrossings">;
  /** counts every reconstructed track of a known species into likelihood tables as well */
  likelihoodAccumulator?: KlmLikelihoodAccumulator;
  /** called every `progressEvery` events (default 200) and at the end */
  onProgress?: (p: { events: number; tracks: number; selected: number; seconds: number }) => void;
  progressEvery?: number;
}

function popcount(v: number): number {
  let n = 0;
  for (let x = v >>> 0; x !== 0; x &= x - 1) n++;
  return n;
}

/** Region of a reconstructed track: the section with more ext layers (ties: barrel); the endcap side from Muid's isForward. */
export function klmRegionOf(r: Pick<KlmTrackReconstruction, "extLayerPattern" | "isForward">): number {
  const barrel = popcount(r.extLayerPattern & BARREL_PATTERN_MASK);
  const endcap = popcount(r.extLayerPattern & ENDCAP_PATTERN_MASK);
  if (barrel >= endcap) return 0;
  return r.isForward ? 1 : 2;
}

/** ln L_μ − ln L_π, clamped; 0 when neither hypothesis has a value, NaN without likelihood values. */
export function likelihoodScoreOf(r: Pick<KlmTrackReconstruction, "likelihood">): number {
  const l = r.likelihood;
  if (l === null) return NaN;
  const mu = l.logL["muon"], pi = l.logL["pion"];
  if (mu === undefined || pi === undefined) return NaN;
  const d = mu - pi;
  if (!Number.isFinite(d)) return d > 0 ? LIKELIHOOD_SCORE_LIMIT : d < 0 ? -LIKELIHOOD_SCORE_LIMIT : 0;
  return Math.min(Math.max(d, -LIKELIHOOD_SCORE_LIMIT), LIKELIHOOD_SCORE_LIMIT);
}

/** Growable column store. */
class SampleColumns {
  capacity: number;
  n = 0;
  features: Float32Array;
  isMuon: Uint8Array; pdg: Int16Array; p: Float32Array; theta: Float32Array; region: Uint8Array; outcome: Uint8Array;
  extCount: Uint8Array; hitCount: Uint8Array; likelihoodScore: Float32Array; event: Int32Array; track: Uint8Array;

  constructor(capacity: number) {
    this.capacity = Math.max(16, capacity);
    const c = this.capacity;
    this.features = new Float32Array(c * KLM_FEATURES);
    this.isMuon = new Uint8Array(c); this.pdg = new Int16Array(c); this.p = new Float32Array(c); this.theta = new Float32Array(c);
    this.region = new Uint8Array(c); this.outcome = new Uint8Array(c); this.extCount = new Uint8Array(c); this.hitCount = new Uint8Array(c);
    this.likelihoodScore = new Float32Array(c); this.event = new Int32Array(c); this.track = new Uint8Array(c);
  }

  private grow(): void {
    const c = this.capacity * 2;
    const g = <T extends Float32Array | Uint8Array | Int16Array | Int32Array>(a: T, per = 1): T => {
      const b = new (a.constructor as new (n: number) => T)(c * per);
      b.set(a);
      return b;
    };
    this.features = g(this.features, KLM_FEATURES);
    this.isMuon = g(this.isMuon); this.pdg = g(this.pdg); this.p = g(this.p); this.theta = g(this.theta);
    this.region = g(this.region); this.outcome = g(this.outcome); this.extCount = g(this.extCount); this.hitCount = g(this.hitCount);
    this.likelihoodScore = g(this.likelihoodScore); this.event = g(this.event); this.track = g(this.track);
    this.capacity = c;
  }

  add(row: SimTrackRow, r: KlmTrackReconstruction): void {
    if (this.n === this.capacity) this.grow();
    const i = this.n++;
    this.features.set(r.features, i * KLM_FEATURES);
    this.isMuon[i] = Math.abs(row.truth.pdg) === 13 ? 1 : 0;
    this.pdg[i] = row.truth.pdg;
    this.p[i] = Math.hypot(row.ip.px, row.ip.py, row.ip.pz);
    this.theta[i] = row.truth.theta;
    this.region[i] = klmRegionOf(r);
    this.outcome[i] = r.outcome;
    this.extCount[i] = popcount(r.extLayerPattern);
    this.hitCount[i] = popcount(r.hitLayerPattern);
    this.likelihoodScore[i] = likelihoodScoreOf(r);
    this.event[i] = row.event;
    this.track[i] = row.track;
  }

  finish(provenance: KlmSampleProvenance): KlmSample {
    const n = this.n;
    return {
      n,
      features: this.features.slice(0, n * KLM_FEATURES),
      isMuon: this.isMuon.slice(0, n), pdg: this.pdg.slice(0, n), p: this.p.slice(0, n), theta: this.theta.slice(0, n),
      region: this.region.slice(0, n), outcome: this.outcome.slice(0, n), extCount: this.extCount.slice(0, n), hitCount: this.hitCount.slice(0, n),
      likelihoodScore: this.likelihoodScore.slice(0, n), event: this.event.slice(0, n), track: this.track.slice(0, n),
      provenance,
    };
  }
}

/**
 * Simulates and reconstructs events `firstEvent …` of run `seed` until `events` events or `tracks`
 * selected tracks, keeping the selected tracks' columns. Deterministic in (seed, options).
 */
export async function buildKlmSample(options: KlmSampleOptions): Promise<KlmSample> {
  const { seed } = options;
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) throw new InputError(`seed must be an integer in [0, 4294967295], got ${seed}`);
  const maxEvents = options.events ?? Infinity;
  const maxTracks = options.tracks ?? Infinity;
  if (maxEvents === Infinity && maxTracks === Infinity) throw new InputError("a KLM sample needs a number of events or of tracks");
  if (!(maxEvents >= 1) || (maxEvents !== Infinity && !Number.isSafeInteger(maxEvents))) throw new InputError(`events must be a positive integer, got ${maxEvents}`);
  if (!(maxTracks >= 1) || (maxTracks !== Infinity && !Number.isSafeInteger(maxTracks))) throw new InputError(`tracks must be a positive integer, got ${maxTracks}`);
  const firstEvent = options.firstEvent ?? 0;
  if (!Number.isSafeInteger(firstEvent) || firstEvent < 0) throw new InputError(`first event must be a non-negative integer, got ${firstEvent}`);
  const gun = options.gun ?? klmStudyGun();
  validateParticleGun(gun);
  const conditions = options.conditions ?? defaultDetectorConditions();
  const reco = options.reconstruction ?? {};
  const reconstructor = await KlmReconstructor.create({ ...reco, keepCrossings: false });
  const accumulator = options.likelihoodAccumulator;
  const meanTracks = (gun.tracksPerEvent.min + gun.tracksPerEvent.max) / 2;
  const columns = new SampleColumns(Math.min(maxTracks === Infinity ? maxEvents * meanTracks : maxTracks, 1 << 20));
  const started = performance.now();
  const every = options.progressEvery ?? 200;
  let events = 0, simulated = 0, withoutKlm = 0;
  while (events < maxEvents && columns.n < maxTracks) {
    const event = firstEvent + events;
    const rng = eventRandom(seed, event);
    const rows = simulateEvent(generateGunEvent(gun, rng), event, rng, conditions);
    const results = reconstructor.reconstructEvent(rows.map((r) => r.ip), rows[0]!.klmHits);
    for (let t = 0; t < rows.length; t++) {
      const row = rows[t]!, r = results[t]!;
      simulated++;
      if (accumulator) {
        const hypothesis = accumulator.hypothesisOf(row.truth.pdg);
        if (hypothesis !== null) accumulator.add(hypothesis, r.muid);
      }
      if (!hasKlmDnnValue(r)) {
        withoutKlm++;
        continue;
      }
      if (columns.n < maxTracks) columns.add(row, r);
    }
    events++;
    if (options.onProgress && events % every === 0) options.onProgress({ events, tracks: simulated, selected: columns.n, seconds: (performance.now() - started) / 1000 });
  }
  options.onProgress?.({ events, tracks: simulated, selected: columns.n, seconds: (performance.now() - started) / 1000 });
  return columns.finish({
    seed, firstEvent, events, tracksSimulated: simulated, tracksWithoutKlm: withoutKlm, conditions: { ...conditions },
    reconstruction: { fieldScale: reco.fieldScale ?? 1, efficiency: reco.layerEfficiency ?? null, likelihood: reco.likelihood != null },
    particles: [...gun.particles],
  });
}

/**
 * A sample from rows already simulated (a `muid simulate` file or a user's own tracks and hits):
 * reconstructs them event by event and keeps the tracks with a DNN value. Rows must carry truth
 * (the label comes from truth.pdg); `provenance.seed` is −1 (unknown).
 */
export async function klmSampleFromRows(rows: readonly SimTrackRow[], reconstruction: Omit<KlmReconstructionOptions, "keepCrossings"> = {}): Promise<KlmSample> {
  const reconstructor = await KlmReconstructor.create({ ...reconstruction, keepCrossings: false });
  const results = reconstructor.reconstructRows(rows);
  const columns = new SampleColumns(rows.length);
  let withoutKlm = 0;
  const events = new Set<number>();
  rows.forEach((row, i) => {
    events.add(row.event);
    const r = results[i]!;
    if (!hasKlmDnnValue(r)) withoutKlm++;
    else columns.add(row, r);
  });
  return columns.finish({
    seed: -1, firstEvent: 0, events: events.size, tracksSimulated: rows.length, tracksWithoutKlm: withoutKlm, conditions: defaultDetectorConditions(),
    reconstruction: { fieldScale: reconstruction.fieldScale ?? 1, efficiency: reconstruction.layerEfficiency ?? null, likelihood: reconstruction.likelihood != null },
    particles: [],
  });
}

/** The tracks at `indices` as a new sample (same provenance). */
export function subsetKlmSample(sample: KlmSample, indices: ArrayLike<number>): KlmSample {
  const m = indices.length;
  const features = new Float32Array(m * KLM_FEATURES);
  for (let j = 0; j < m; j++) {
    const i = indices[j]!;
    features.set(sample.features.subarray(i * KLM_FEATURES, (i + 1) * KLM_FEATURES), j * KLM_FEATURES);
  }
  const take = <T extends Float32Array | Uint8Array | Int16Array | Int32Array>(a: T): T => {
    const b = new (a.constructor as new (n: number) => T)(m);
    for (let j = 0; j < m; j++) b[j] = a[indices[j]!]!;
    return b;
  };
  return {
    n: m, features, isMuon: take(sample.isMuon), pdg: take(sample.pdg), p: take(sample.p), theta: take(sample.theta),
    region: take(sample.region), outcome: take(sample.outcome), extCount: take(sample.extCount), hitCount: take(sample.hitCount),
    likelihoodScore: take(sample.likelihoodScore), event: take(sample.event), track: take(sample.track), provenance: sample.provenance,
  };
}

// ---------------------------------------------------------------------------------------------
// Binary cache

const MAGIC = "MUIDKLMS";
const CACHE_VERSION = 1;
const COLUMNS = ["features", "isMuon", "pdg", "p", "theta", "region", "outcome", "extCount", "hitCount", "likelihoodScore", "event", "track"] as const;
type ColumnName = (typeof COLUMNS)[number];
const DTYPES: Record<string, new (buffer: ArrayBuffer, offset: number, length: number) => Float32Array | Uint8Array | Int16Array | Int32Array> = {
  F32: Float32Array as never, U8: Uint8Array as never, I16: Int16Array as never, I32: Int32Array as never,
};

function dtypeOf(a: Float32Array | Uint8Array | Int16Array | Int32Array): string {
  if (a instanceof Float32Array) return "F32";
  if (a instanceof Int16Array) return "I16";
  if (a instanceof Int32Array) return "I32";
  return "U8";
}

/** The sample as bytes of the cache format. Little-endian hosts only (every supported engine). */
export function encodeKlmSample(sample: KlmSample): Uint8Array {
  const parts: Uint8Array[] = [];
  const columns: { name: string; dtype: string; length: number; offset: number }[] = [];
  let offset = 0;
  for (const name of COLUMNS) {
    const a = sample[name];
    const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    columns.push({ name, dtype: dtypeOf(a), length: a.length, offset });
    parts.push(bytes);
    const padded = Math.ceil(bytes.length / 8) * 8;
    if (padded > bytes.length) parts.push(new Uint8Array(padded - bytes.length));
    offset += padded;
  }
  let header = new TextEncoder().encode(JSON.stringify({ n: sample.n, features: KLM_FEATURES, columns, provenance: sample.provenance }));
  const headerPadded = Math.ceil((16 + header.length) / 8) * 8 - 16;
  header = Uint8Array.from({ length: headerPadded }, (_, i) => (i < header.length ? header[i]! : 0x20));
  const out = new Uint8Array(16 + header.length + offset);
  out.set(new TextEncoder().encode(MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, CACHE_VERSION, true);
  view.setUint32(12, header.length, true);
  out.set(header, 16);
  let at = 16 + header.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Reads the cache format (FormatError / VersionError for a bad file). */
export function decodeKlmSample(bytes: Uint8Array): KlmSample {
  if (bytes.length < 16 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) throw new FormatError(`not a KLM sample cache (no "${MAGIC}" magic)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== CACHE_VERSION) throw new VersionError(`KLM sample cache version ${version} is not supported (this build reads ${CACHE_VERSION})`);
  const headerLength = view.getUint32(12, true);
  if (16 + headerLength > bytes.length) throw new FormatError("KLM sample cache: header runs past the end of the file");
  let header: { n: number; features: number; columns: { name: string; dtype: string; length: number; offset: number }[]; provenance: KlmSampleProvenance };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + headerLength)));
  } catch (e) {
    throw new FormatError(`KLM sample cache: header is not JSON (${(e as Error).message})`);
  }
  if (header.features !== KLM_FEATURES) throw new FormatError(`KLM sample cache holds ${header.features} features per track, expected ${KLM_FEATURES}`);
  const n = header.n;
  if (!Number.isSafeInteger(n) || n < 0) throw new FormatError(`KLM sample cache: bad track count ${n}`);
  const body = 16 + headerLength;
  const out: Partial<Record<ColumnName, Float32Array | Uint8Array | Int16Array | Int32Array>> = {};
  for (const name of COLUMNS) {
    const c = header.columns.find((x) => x.name === name);
    if (c === undefined) throw new FormatError(`KLM sample cache lacks column "${name}"`);
    const ctor = DTYPES[c.dtype];
    if (ctor === undefined) throw new FormatError(`KLM sample cache column "${name}" has unknown dtype ${c.dtype}`);
    const expected = name === "features" ? n * KLM_FEATURES : n;
    if (c.length !== expected) throw new FormatError(`KLM sample cache column "${name}" holds ${c.length} values, expected ${expected}`);
    const size = c.length * new ctor(new ArrayBuffer(0), 0, 0).BYTES_PER_ELEMENT;
    if (body + c.offset + size > bytes.length) throw new FormatError(`KLM sample cache column "${name}" runs past the end of the file (truncated?)`);
    const copy = bytes.slice(body + c.offset, body + c.offset + size);
    out[name] = new ctor(copy.buffer, 0, c.length);
  }
  return { n, ...(out as Pick<KlmSample, ColumnName>), provenance: header.provenance };
}

export function writeKlmSample(path: string, sample: KlmSample): void {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temporary, encodeKlmSample(sample));
    fs.renameSync(temporary, path);
  } catch (e) {
    fs.rmSync(temporary, { force: true });
    throw new MuidError("IO", `cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function readKlmSample(path: string): KlmSample {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(fs.readFileSync(path));
  } catch (e) {
    throw new MuidError("IO", `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return decodeKlmSample(bytes);
}
