/**
 * The KLM reconstruction chain of one event (Muid, klm.md §2; DNN inputs, §1.3–1.4): for every track,
 * the muon-hypothesis swim through the KLM (klmExtrapolation.ts) with, at every counted layer crossing,
 * the association of the event's hits and the Kalman update (klmAssociator.ts: the wasm kernel or its
 * scalar twin), the bookkeeping of TrackExtrapolateG4e::createMuidHit (patterns, outermost layers,
 * Σχ², ndof) and finishTrack (outcome, extLayer, hitLayer); then the 121 DNN features and, given tables,
 * the Muid likelihood.
 *
 * createMuidHit, per counted crossing (layers 0-based in the patterns):
 *  - a matched hit sets the ext and hit bits and the outermost ext/hit layers; its update counts in
 *    Σχ² and ndof (+2) unless the updated point left the KLM volume;
 *  - no hit: barrel crossings set the ext bit and the outermost ext layer only inside the sensitive
 *    volume; endcap crossings always move the outermost ext layer but set the ext bit only on live
 *    strips (getStripsByIntersection); we have no dead channels, so "live" = on the strips.
 */
import { Propagator } from "../geometry/propagation.js";
import type { KlmHit, SimTrackRow, TrackAtIp } from "../sim/types.js";
import { InputError } from "../errors.js";
import { CROSSING, CROSSING_WORDS, EventHitTable, hitBucket, type AssociationSettings } from "./klmAssociationLayout.js";
import { createLayerAssociator, type AssociationBackend, type LayerAssociator } from "./klmAssociator.js";
import { swimMuonThroughKlm, type KlmLayerCrossing } from "./klmExtrapolation.js";
import { KLM_FEATURES, klmFeatures, type MatchedKlmHit } from "./klmFeatures.js";
import { finishMuid, lastLayerOf, newMuidSwimState, ENDCAP_PATTERN_OFFSET, type MuidResult } from "./muidPatterns.js";
import type { KlmLikelihood, KlmLikelihoodValues } from "./muidLikelihood.js";
import { DETECTOR_Z_OFFSET, MAX_RECONSTRUCTED_MOMENTUM } from "../constants.js";
import { hypot2 } from "../math/hypot.js";

export interface KlmReconstructionOptions {
  /** field scale used by the extrapolation only (robustness studies); default 1 */
  fieldScale?: number;
  /** association gate in σ (default Muid's 3.5) */
  maxDistSigma?: number;
  /** "wasm" (default) or the scalar twin */
  backend?: AssociationBackend;
  /** per-layer efficiency stored for crossed layers (§2.6); default the likelihood tables' value, else 1 */
  layerEfficiency?: number;
  /** Muid likelihood tables; without them no likelihood is computed */
  likelihood?: KlmLikelihood | null;
  /** keep the per-layer crossings in the result (default true) */
  keepCrossings?: boolean;
}

/** A matched hit with its event index and whether its Kalman update counted. */
export interface KlmMatchedHit {
  slot: number;
  /** index into the event's hit list */
  hitIndex: number;
  /** per-hit χ² on the filtered state (the relation weight) */
  chi2: number;
  /** the update counted in Σχ² / ndof (false when the updated point left the KLM volume) */
  applied: boolean;
}

export interface KlmTrackReconstruction {
  /** the 121 DNN inputs */
  features: Float32Array;
  outcome: number;
  extLayer: number;
  hitLayer: number;
  chi2: number;
  ndof: number;
  /** the layer that indexes the longitudinal PDF */
  lastLayer: number;
  isForward: boolean;
  escaped: boolean;
  extLayerPattern: number;
  hitLayerPattern: number;
  muid: MuidResult;
  matchedHits: KlmMatchedHit[];
  /** counted crossings with the predicted (pre-update) states (empty when keepCrossings is false) */
  crossings: KlmLayerCrossing[];
  /** Muid likelihood values, null without tables */
  likelihood: KlmLikelihoodValues | null;
}

function validateTrack(track: TrackAtIp, index: number): void {
  if (track === null || typeof track !== "object") throw new InputError(`track ${index}: expected a track object, got ${track === null ? "null" : typeof track}`);
  const values = [track.x, track.y, track.z, track.px, track.py, track.pz];
  if (!values.every(Number.isFinite)) throw new InputError(`track ${index}: position and momentum at the IP must be finite`);
  const p = Math.sqrt(track.px * track.px + track.py * track.py + track.pz * track.pz);
  if (!(p <= MAX_RECONSTRUCTED_MOMENTUM)) throw new InputError(`track ${index}: |p| must be at most ${MAX_RECONSTRUCTED_MOMENTUM} GeV/c (got ${p})`);
  if (track.charge !== 1 && track.charge !== -1) throw new InputError(`track ${index}: charge must be ±1 (got ${String(track.charge)})`);
  if (!Array.isArray(track.covariance) && !ArrayBuffer.isView(track.covariance)) throw new InputError(`track ${index}: covariance must be 21 numbers`);
}

/** Whether two rows' hit lists are the same event data (the simulation shares one array per event). */
function sameHits(a: readonly KlmHit[], b: readonly KlmHit[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const p = a[i]!, q = b[i]!;
    if (p.x !== q.x || p.y !== q.y || p.z !== q.z || p.layer !== q.layer || p.section !== q.section || p.time !== q.time) return false;
  }
  return true;
}

/**
 * Whether a track gets a KLM DNN value (basf2 KLMMuonIDDNNExpertModule, klm.md §1.2): an ext bit in
 * the KLM (a counted crossing on the strips) or a matched hit.
 */
export function hasKlmDnnValue(r: Pick<KlmTrackReconstruction, "extLayerPattern" | "matchedHits">): boolean {
  return r.extLayerPattern !== 0 || r.matchedHits.length > 0;
}

export class KlmReconstructor {
  readonly options: Readonly<KlmReconstructionOptions>;
  private readonly associator: LayerAssociator;
  private readonly propagator = new Propagator();
  private readonly crossing = new Float64Array(CROSSING_WORDS);

  private constructor(associator: LayerAssociator, options: KlmReconstructionOptions) {
    this.associator = associator;
    this.options = { ...options };
  }

  static async create(options: KlmReconstructionOptions = {}): Promise<KlmReconstructor> {
    if (options === null || typeof options !== "object") throw new InputError(`reconstruction options must be an object, got ${options === null ? "null" : typeof options}`);
    const eff = options.layerEfficiency;
    if (eff !== undefined && !(eff >= 0 && eff <= 1)) throw new InputError(`layer efficiency ${eff} must be in [0, 1]`);
    if (options.fieldScale !== undefined && !Number.isFinite(options.fieldScale)) throw new InputError(`field scale ${options.fieldScale} is not finite`);
    const settings: AssociationSettings = { maxDistSigma: options.maxDistSigma, fieldScale: options.fieldScale };
    return new KlmReconstructor(await createLayerAssociator(options.backend ?? "wasm", settings), options);
  }

  get backend(): AssociationBackend {
    return this.associator.backend;
  }

  /** Reconstructs every track of one event against the event's hits. */
  reconstructEvent(tracks: readonly TrackAtIp[], hits: readonly KlmHit[]): KlmTrackReconstruction[] {
    if (!Array.isArray(tracks)) throw new InputError("event tracks must be an array of tracks at the IP");
    if (!Array.isArray(hits)) throw new InputError("event hits must be an array of KLM hits");
    for (let i = 0; i < hits.length; i++) {
      const hit = hits[i];
      if (hit === null || typeof hit !== "object") throw new InputError(`KLM hit ${i}: expected a hit object, got ${hit === null ? "null" : typeof hit}`);
    }
    const table = new EventHitTable(hits);
    this.associator.setEventHits(table);
    return tracks.map((track, i) => {
      validateTrack(track, i);
      return this.reconstructTrack(track, table, hits);
    });
  }

  /** Reconstructs rows, one event at a time (consecutive rows of the same event share its hits). */
  reconstructRows(rows: readonly SimTrackRow[]): KlmTrackReconstruction[] {
    const out: KlmTrackReconstruction[] = [];
    let start = 0;
    while (start < rows.length) {
      let end = start + 1;
      while (end < rows.length && rows[end]!.event === rows[start]!.event && sameHits(rows[end]!.klmHits, rows[start]!.klmHits)) end++;
      const group = rows.slice(start, end);
      for (const r of this.reconstructEvent(group.map((row) => row.ip), rows[start]!.klmHits)) out.push(r);
      start = end;
    }
    return out;
  }

  private reconstructTrack(track: TrackAtIp, table: EventHitTable, hits: readonly KlmHit[]): KlmTrackReconstruction {
    const opts = this.options;
    const efficiency = opts.layerEfficiency ?? opts.likelihood?.efficiency ?? 1;
    const state = newMuidSwimState();
    const matched: KlmMatchedHit[] = [];
    const block = this.crossing;
    const associator = this.associator;
    const propagator = this.propagator;
    // the swim defers its covariance transport: it is brought up to date only at a crossing with candidate hits
    const swim = swimMuonThroughKlm(track, { fieldScale: opts.fieldScale, keepCrossings: opts.keepCrossings !== false, deferCovariance: true }, (crossing, live) => {
      const inBarrel = crossing.section === "barrel";
      const layer0 = crossing.layer - 1;
      const bucket = hitBucket(crossing.section, crossing.layer);
      const first = table.bucketFirst[bucket]!;
      const count = table.bucketCount[bucket]!;
      const bit = inBarrel ? 1 << layer0 : 1 << (ENDCAP_PATTERN_OFFSET + layer0);
      if (count > 0) {
        block.fill(0);
        block[CROSSING.inBarrel] = inBarrel ? 1 : 0;
        block[CROSSING.isForward] = live.z > DETECTOR_Z_OFFSET ? 1 : 0;
        block[CROSSING.sector] = crossing.sector - 1;
        block[CROSSING.layer] = layer0;
        block[CROSSING.state] = live.x; block[CROSSING.state + 1] = live.y; block[CROSSING.state + 2] = live.z;
        block[CROSSING.state + 3] = live.px; block[CROSSING.state + 4] = live.py; block[CROSSING.state + 5] = live.pz;
        block.set(propagator.materializeCovariance()!, CROSSING.covariance);
      }
      if (count > 0 && associator.associate(block, first, count) === 1) {
        const applied = block[CROSSING.applied] === 1;
        const hitIndex = table.order[first + block[CROSSING.hit]!]!;
        matched.push({ slot: crossing.slot, hitIndex, chi2: block[CROSSING.chi2]!, applied });
        crossing.extBit = true;
        crossing.hitIndex = hitIndex;
        state.extLayerPattern |= bit;
        state.hitLayerPattern |= bit;
        if (inBarrel) {
          state.barrelEfficiency[layer0] = efficiency;
          state.lastBarrelExtLayer = Math.max(state.lastBarrelExtLayer, layer0);
          state.lastBarrelHitLayer = Math.max(state.lastBarrelHitLayer, layer0);
        } else {
          state.endcapEfficiency[layer0] = efficiency;
          state.lastEndcapExtLayer = Math.max(state.lastEndcapExtLayer, layer0);
          state.lastEndcapHitLayer = Math.max(state.lastEndcapHitLayer, layer0);
        }
        if (applied) {
          state.chi2 += block[CROSSING.chi2]!;
          state.nPoint += 2;
          live.x = block[CROSSING.state]!; live.y = block[CROSSING.state + 1]!; live.z = block[CROSSING.state + 2]!;
          live.px = block[CROSSING.state + 3]!; live.py = block[CROSSING.state + 4]!; live.pz = block[CROSSING.state + 5]!;
          live.covariance!.set(block.subarray(CROSSING.covariance, CROSSING.covariance + 36));
        }
        return;
      }
      if (inBarrel) {
        if (!crossing.inActiveArea) return;
        crossing.extBit = true;
        state.extLayerPattern |= bit;
        state.barrelEfficiency[layer0] = efficiency;
        state.lastBarrelExtLayer = Math.max(state.lastBarrelExtLayer, layer0);
      } else {
        if (crossing.inActiveArea) {
          crossing.extBit = true;
          state.extLayerPattern |= bit;
          state.endcapEfficiency[layer0] = efficiency;
        } else state.endcapEfficiency[layer0] = 0;
        state.lastEndcapExtLayer = Math.max(state.lastEndcapExtLayer, layer0);
      }
    }, this.propagator);
    state.escaped = swim.escaped;
    const muid = finishMuid(state, swim.isForward);
    const matchedForFeatures: MatchedKlmHit[] = matched.map((m) => ({ slot: m.slot, hit: hits[m.hitIndex]!, chi2: m.chi2 }));
    const features = klmFeatures({
      chi2: muid.chi2, ndof: muid.ndof, extLayer: muid.extLayer, hitLayer: muid.hitLayer,
      pt: hypot2(track.px, track.py), extLayerPattern: muid.extLayerPattern, matchedHits: matchedForFeatures,
    }, new Float32Array(KLM_FEATURES));
    return {
      features,
      outcome: muid.outcome,
      extLayer: muid.extLayer,
      hitLayer: muid.hitLayer,
      chi2: muid.chi2,
      ndof: muid.ndof,
      lastLayer: lastLayerOf(muid),
      isForward: muid.isForward,
      escaped: swim.escaped,
      extLayerPattern: muid.extLayerPattern,
      hitLayerPattern: muid.hitLayerPattern,
      muid,
      matchedHits: matched,
      crossings: swim.crossings,
      likelihood: opts.likelihood ? opts.likelihood.evaluate(muid) : null,
    };
  }
}

/** One-off convenience: reconstructs one row (or one track with its event's hits). */
export async function reconstructKlm(
  input: SimTrackRow | { track: TrackAtIp; hits: readonly KlmHit[] },
  options: KlmReconstructionOptions = {},
): Promise<KlmTrackReconstruction> {
  const reconstructor = await KlmReconstructor.create(options);
  const track = "ip" in input ? input.ip : input.track;
  const hits = "ip" in input ? input.klmHits : input.hits;
  return reconstructor.reconstructEvent([track], hits)[0]!;
}
