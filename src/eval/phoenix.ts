/**
 * Events in the HSF Phoenix JSON event format (ISSUE 7 item 4), so that simulated and reconstructed
 * events open in the Phoenix web event display.
 *
 * Format: HSF/phoenix guides/developers/event_data_format.md (read at commit 227dd38c) and the loader
 * packages/phoenix-event-display/src/loaders/phoenix-loader.ts (Muons: `LinkedTracks` entries are
 * "COLLECTION:INDEX" strings resolved in the event's Tracks). The file is one object
 * { EVENT_KEY: event }, each event { "event number", "run number", OBJECT_TYPE: { COLLECTION: [...] } }:
 *  - Tracks/MuidTracks: `pos` = [x, y, z] points along the muon-hypothesis extrapolation (IP to the first
 *    KLM layer sampled every few cm, then the predicted point of every KLM layer crossing Muid counted),
 *    `dparams` = [d0, z0, φ, θ, q/p], cut variables, and the muon probabilities as extra attributes
 *    (a method without a value for the track has no attribute);
 *  - Hits/KLMHit2d: one Point per KLM 2-D hit with its section, sector, layer, time and matched track;
 *  - CaloCells/ECLCalDigits: one cell per ECL digit with energy, η, φ (required) and θ, plus `radius`
 *    and `z` of the crystal centre so that Phoenix draws the box at the crystal;
 *  - Muons/MuidMuons: the tracks a chosen method calls muons, linked to their track.
 * Units (the display's, Phoenix draws in mm): lengths mm, momenta GeV/c, calorimeter energies MeV
 * (Phoenix's energy cut sliders run to 10 000), angles rad, times ns.
 * Track `pos` is a list of [x, y, z] triplets as the format description and the loader
 * (PhoenixObjects.getTrack reads positions[i][0..2]) have it; HSF/phoenix-helpers'
 * checkers/event_file_checker.py wants a flat list of numbers there and rejects such files.
 */
import { MUON_MASS } from "../constants.js";
import { crystalCentre, crystalPhi, crystalTheta } from "../geometry/ecl.js";
import { Propagator, STOP_PROCESS, type DiscreteProcesses, type PropagationObserver } from "../geometry/propagation.js";
import type { TrackAtIp } from "../sim/types.js";
import type { ChainEvent, ChainTrack, MuonIdMethod } from "../web/eventChain.js";
import { MUON_ID_METHODS } from "../web/eventChain.js";
import { InputError } from "../errors.js";
import { atan2, log, tan } from "../math/ieee754.js";
import { hypot2, hypot3 } from "../math/hypot.js";

/** cm → mm (Phoenix's length unit). */
const MM_PER_CM = 10;
/** GeV → MeV (Phoenix's calorimeter energy). */
const MEV_PER_GEV = 1000;

export const PHOENIX_COLLECTIONS = { tracks: "MuidTracks", hits: "KLMHit2d", caloCells: "ECLCalDigits", muons: "MuidMuons" } as const;

/** Attribute names of the muon probabilities on a Phoenix track. */
export const PHOENIX_MUON_ID_ATTRIBUTES: Record<MuonIdMethod, string> = {
  likelihood: "muonIdLikelihood",
  dnnGlobal: "muonIdDnnGlobal",
  dnn: "muonIdDnn",
  eclCnn: "muonIdEclCnn",
  combined: "muonIdCombined",
};

export type Vec3 = [number, number, number];

export interface PhoenixTrack {
  pos: Vec3[];
  dparams: [number, number, number, number, number];
  phi: number;
  eta: number;
  d0: number;
  z0: number;
  pT: number;
  mom: number;
  charge: number;
  [attribute: string]: unknown;
}

export interface PhoenixHit {
  type: "Point";
  pos: Vec3;
  section: string;
  sector: number;
  layer: number;
  time: number;
  /** index of the track whose extrapolation picked this hit in MuidTracks, −1 for none */
  matchedTrack: number;
}

export interface PhoenixCaloCell {
  energy: number;
  eta: number;
  phi: number;
  theta: number;
  radius: number;
  z: number;
  cellId: number;
}

export interface PhoenixMuon {
  LinkedTracks: string[];
  pT: number;
  eta: number;
  phi: number;
  charge: number;
  muonProbability: number;
}

export interface PhoenixEvent {
  "event number": number;
  "run number": number;
  "muid units": string;
  "muid muon selection": string;
  Tracks: Record<string, PhoenixTrack[]>;
  Hits: Record<string, PhoenixHit[]>;
  CaloCells: Record<string, PhoenixCaloCell[]>;
  Muons: Record<string, PhoenixMuon[]>;
}

export interface PhoenixOptions {
  /** which probability selects the Muons (default the KLM DNN) */
  muonMethod?: MuonIdMethod;
  /** a track is a muon at probability ≥ this (default 0.5) */
  muonThreshold?: number;
  runNumber?: number;
  /** spacing of the drawn points before the KLM, cm (default 5) */
  pathStep?: number;
  /** most points drawn before the KLM (default 200: 10 m of a curling track) */
  maxPathPoints?: number;
}

export const PHOENIX_UNITS = "lengths mm, momenta GeV/c, calorimeter energies MeV, angles rad, times ns";

/**
 * Positions (cm) along the muon-hypothesis extrapolation of a track from the IP, every `step` cm of
 * path, up to the middle plane of the first KLM layer it crosses (where Muid's association takes
 * over) or where the stepper stops. Same stepper, field and mean energy loss as the Muid swim
 * (src/reco/klmExtrapolation.ts); the sampling is a "discrete process" at fixed path intervals.
 */
export function sampleTrackPath(track: TrackAtIp, step = 5, maxPoints = 200): Vec3[] {
  if (!(step > 0) || !Number.isFinite(step)) throw new InputError(`path step ${step} cm must be a positive number`);
  const sampler = new PathSampler(step);
  const propagator = new Propagator();
  propagator.start({ ...track, mass: MUON_MASS }, { processes: sampler });
  const s = propagator.state;
  const points: Vec3[] = [[track.x, track.y, track.z]];
  while (points.length < maxPoints) {
    sampler.remaining = step;
    const reason = propagator.run(sampler);
    const last = points[points.length - 1]!;
    if (s.x !== last[0] || s.y !== last[1] || s.z !== last[2]) points.push([s.x, s.y, s.z]);
    if (reason !== STOP_PROCESS) break;
  }
  return points;
}

/** Stops the stepper every `step` cm of path (a process at fixed distance) and at the first KLM plane. */
class PathSampler implements DiscreteProcesses, PropagationObserver {
  remaining: number;
  constructor(step: number) {
    this.remaining = step;
  }
  distanceToProcess(): number {
    return Math.max(this.remaining, 0);
  }
  consume(_material: number, length: number): void {
    this.remaining -= length;
  }
  energyLoss(): void {}
  cellEntered(): void {}
  layerCrossing(): boolean {
    return true;
  }
}

/** A display position in mm, rounded to 1 µm (the file stays a third of the size; the display cannot tell). */
function mm(x: number, y: number, z: number): Vec3 {
  const round = (v: number) => Math.round(v * MM_PER_CM * 1000) / 1000 + 0; // + 0 turns −0 into 0
  return [round(x), round(y), round(z)];
}

/** Pseudorapidity of a polar angle (rad). */
export function etaOfTheta(theta: number): number {
  return -log(tan(theta / 2));
}

/** An angle in (−π, π]. */
function wrapPhi(phi: number): number {
  const wrapped = phi - 2 * Math.PI * Math.round(phi / (2 * Math.PI));
  return wrapped <= -Math.PI ? wrapped + 2 * Math.PI : wrapped;
}

function phoenixTrack(t: ChainTrack, options: Required<PhoenixOptions>): PhoenixTrack {
  const ip = t.row.ip;
  const pt = hypot2(ip.px, ip.py);
  const p = hypot2(pt, ip.pz);
  const phi = atan2(ip.py, ip.px);
  const theta = atan2(pt, ip.pz);
  // signed transverse distance of the point of closest approach (positive when the IP is to its left), cm
  const d0 = (ip.x * ip.py - ip.y * ip.px) / pt;
  const pos: Vec3[] = sampleTrackPath(ip, options.pathStep, options.maxPathPoints).map(([x, y, z]) => mm(x, y, z));
  for (const c of t.klm.crossings) {
    const point = mm(c.x, c.y, c.z);
    const last = pos[pos.length - 1]!;
    // the sampled path ends on the first KLM plane, which is usually Muid's first counted crossing
    if (hypot3(point[0] - last[0], point[1] - last[1], point[2] - last[2]) > 1) pos.push(point);
  }
  const track: PhoenixTrack = {
    pos,
    dparams: [d0 * MM_PER_CM, ip.z * MM_PER_CM, phi, theta, ip.charge / p],
    phi,
    eta: etaOfTheta(theta),
    d0: d0 * MM_PER_CM,
    z0: ip.z * MM_PER_CM,
    pT: pt,
    mom: p,
    charge: ip.charge,
    trackIndex: t.row.track,
  };
  for (const m of MUON_ID_METHODS) {
    const value = t.muonId[m];
    if (value !== null) track[PHOENIX_MUON_ID_ATTRIBUTES[m]] = value;
  }
  track.klmOutcome = t.klm.outcome;
  track.klmExtLayer = t.klm.extLayer;
  track.klmHitLayer = t.klm.hitLayer;
  track.klmChi2 = t.klm.chi2;
  track.klmNdof = t.klm.ndof;
  track.klmMatchedHits = t.klm.matchedHits.length;
  if (t.ecl.accepted) track.eclCellId = t.ecl.cellId;
  if (t.row.truth && Number.isInteger(t.row.truth.pdg)) track.truthPdg = t.row.truth.pdg;
  return track;
}

/** One event of the chain as a Phoenix event object. */
export function phoenixEvent(event: ChainEvent, options: PhoenixOptions = {}): PhoenixEvent {
  const o: Required<PhoenixOptions> = {
    muonMethod: options.muonMethod ?? "dnn",
    muonThreshold: options.muonThreshold ?? 0.5,
    runNumber: options.runNumber ?? 0,
    pathStep: options.pathStep ?? 5,
    maxPathPoints: options.maxPathPoints ?? 200,
  };
  if (!MUON_ID_METHODS.includes(o.muonMethod)) throw new InputError(`muon method must be one of ${MUON_ID_METHODS.join(", ")} (got ${String(o.muonMethod)})`);
  if (!(o.muonThreshold >= 0 && o.muonThreshold <= 1)) throw new InputError(`muon threshold ${o.muonThreshold} must be in [0, 1]`);
  const tracks = event.tracks.map((t) => phoenixTrack(t, o));

  const owner = new Map<number, number>();
  event.tracks.forEach((t, i) => t.klm.matchedHits.forEach((m) => owner.set(m.hitIndex, i)));
  const hits: PhoenixHit[] = event.klmHits.map((h, k) => ({
    type: "Point", pos: mm(h.x, h.y, h.z), section: h.section, sector: h.sector, layer: h.layer, time: h.time, matchedTrack: owner.get(k) ?? -1,
  }));

  // every row carries the digits around its own track; the event's digit of a crystal is the same in all
  const digits = new Map<number, number>();
  for (const t of event.tracks) for (const d of t.row.eclDigits) digits.set(d.cellId, d.energy);
  const cells: PhoenixCaloCell[] = [...digits.entries()].sort((a, b) => a[0] - b[0]).map(([cellId, energy]) => {
    const theta = crystalTheta(cellId);
    const centre = crystalCentre(cellId);
    return {
      energy: energy * MEV_PER_GEV,
      eta: etaOfTheta(theta),
      phi: wrapPhi(crystalPhi(cellId)),
      theta,
      radius: hypot2(centre.x, centre.y) * MM_PER_CM,
      z: Math.abs(centre.z) * MM_PER_CM,
      cellId,
    };
  });

  const muons: PhoenixMuon[] = [];
  event.tracks.forEach((t, i) => {
    const p = t.muonId[o.muonMethod];
    if (p === null || !(p >= o.muonThreshold)) return;
    const track = tracks[i]!;
    muons.push({ LinkedTracks: [`${PHOENIX_COLLECTIONS.tracks}:${i}`], pT: track.pT, eta: track.eta, phi: track.phi, charge: track.charge, muonProbability: p });
  });

  return {
    "event number": event.event,
    "run number": o.runNumber,
    "muid units": PHOENIX_UNITS,
    "muid muon selection": `${o.muonMethod} ≥ ${o.muonThreshold}`,
    Tracks: { [PHOENIX_COLLECTIONS.tracks]: tracks },
    Hits: { [PHOENIX_COLLECTIONS.hits]: hits },
    CaloCells: { [PHOENIX_COLLECTIONS.caloCells]: cells },
    Muons: { [PHOENIX_COLLECTIONS.muons]: muons },
  };
}

/** The Phoenix file content for a list of events: { "Event N": event }. */
export function phoenixEvents(events: readonly ChainEvent[], options: PhoenixOptions = {}): Record<string, PhoenixEvent> {
  const out: Record<string, PhoenixEvent> = {};
  for (const e of events) {
    const key = `Event ${e.event}`;
    if (key in out) throw new InputError(`event ${e.event} appears twice (its rows are not consecutive in the input)`);
    out[key] = phoenixEvent(e, options);
  }
  return out;
}
