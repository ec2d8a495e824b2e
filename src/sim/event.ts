/**
 * One simulated event: the generated particles → transport of each track → ECL and KLM response with
 * every track's deposits and hits shared in the event (plus beam background) → one SimTrackRow per
 * track.
 *
 * Order of random numbers (all from the event's own Random, so an event is reproducible from
 * (seed, event number) alone, see eventRandom): per track the tracking smearing, the transport, its
 * ECL crystal energies and its KLM hits, in track order; then the KLM and the ECL beam background.
 */
import type { DetectorConditions, EclDigit, KlmHit, ParticleState, SimTrackRow, TrackTruth } from "./types.js";
import { Random } from "./random.js";
import { transportParticle, type TransportResult } from "./transport.js";
import { addEclBackground, applyEclReadout, eclDigitsFromDeposits } from "./eclResponse.js";
import { CrystalEnergies } from "./crystalEnergies.js";
import { eclNeighbourhoodCells } from "../geometry/eclNeighbours.js";
import { ECL_N_CRYSTALS, crystalTowards } from "../geometry/ecl.js";
import { klmBackgroundHits, klmHitsFromCrossings } from "./klmResponse.js";
import { reconstructTrackAtIp } from "./tracking.js";
import { hypot2 } from "../math/hypot.js";
import { InputError } from "../errors.js";
import {
  KLM_LAYER_EFFICIENCY_DEFAULT,
  ECL_THRESHOLD_DEFAULT,
  MAX_PARTICLE_MASS,
  MAX_TRACK_MOMENTUM,
} from "../constants.js";
import { atan2 } from "../math/ieee754.js";

/** Half-width of the stored ECL neighbourhood: 5 → the 11×11 map (ecl.md §1.8, 11×11 ext variables). */
export const STORED_ECL_NEIGHBOURHOOD = 5;

/** Nominal conditions: 1.5 T, KLM efficiency 0.96 (physics.md §1.5), background ×1, 1 MeV ECL threshold. */
export function defaultDetectorConditions(): DetectorConditions {
  return {
    fieldScale: 1,
    klmEfficiency: KLM_LAYER_EFFICIENCY_DEFAULT,
    klmBackground: 1,
    eclBackground: 1,
    eclThreshold: ECL_THRESHOLD_DEFAULT,
  };
}

/**
 * The Random of event `event` of a run with `seed`: a hash of both, so any event can be re-simulated
 * alone and runs split over workers give the same events.
 */
export function eventRandom(seed: number, event: number): Random {
  let h = Math.imul((seed >>> 0) ^ 0x5bd1e995, 0x9e3779b1) >>> 0;
  h = Math.imul(h ^ (event >>> 0) ^ ((event / 4294967296) >>> 0), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0xc2b2ae35) >>> 0;
  return new Random((h ^ (h >>> 16)) >>> 0);
}

const RAD_TO_DEG = 180 / Math.PI;

/** Truth kinematics of a particle at the IP (p, pT in GeV/c; θ, φ in degrees, φ in (−180°, 180°]). */
export function truthKinematics(state: ParticleState): Pick<TrackTruth, "pdg" | "charge" | "p" | "pt" | "theta" | "phi"> {
  const pt = hypot2(state.px, state.py);
  return {
    pdg: state.pdg,
    charge: state.charge,
    p: hypot2(pt, state.pz),
    pt,
    theta: atan2(pt, state.pz) * RAD_TO_DEG,
    phi: atan2(state.py, state.px) * RAD_TO_DEG,
  };
}

/** The row's truth: kinematics at the IP plus what the transport recorded (only the TrackTruth fields). */
function trackTruth(state: ParticleState, t: TransportResult["truth"]): TrackTruth {
  const k = truthKinematics(state);
  // one literal in truthKinematics' key order (a spread followed by more keys builds the object slowly)
  return {
    pdg: k.pdg,
    charge: k.charge,
    p: k.p,
    pt: k.pt,
    theta: k.theta,
    phi: k.phi,
    decayedInFlight: t.decayedInFlight,
    interactedInEcl: t.interactedInEcl,
    interactedInKlm: t.interactedInKlm,
    klmLayerReached: t.klmLayerReached,
    klmRegion: t.klmRegion,
    eclDeposit: t.eclDeposit,
  };
}

/** The crystal a track entered first: that of its first ECL deposit (the transport emits them in path order). */
function eclEntryCrystal(result: TransportResult): number | null {
  for (const d of result.eclDeposits) {
    if (d.kind === "ionisation") return crystalTowards(d.x, d.y, d.z);
  }
  return result.eclDeposits.length > 0 ? crystalTowards(result.eclDeposits[0].x, result.eclDeposits[0].y, result.eclDeposits[0].z) : null;
}

/** The digits (sorted by cellId) whose crystal is in `cells` (sorted ascending): a merge of the two lists. */
function digitsInside(digits: readonly EclDigit[], cells: ArrayLike<number>): EclDigit[] {
  const out: EclDigit[] = [];
  let j = 0;
  for (const d of digits) {
    while (j < cells.length && cells[j] < d.cellId) j++;
    if (j === cells.length) break;
    if (cells[j] === d.cellId) out.push(d);
  }
  return out;
}

/** The KLM response appends to the event's list and returns it; any other list it returns is copied in. */
function appendHits(klmHits: KlmHit[], returned: readonly KlmHit[]): void {
  if (returned !== klmHits) for (const h of returned) klmHits.push(h);
}

/** The crystal energies of the event being simulated (one instance: simulateEventDetailed is synchronous). */
const eventCrystalEnergies = new CrystalEnergies();

const NO_CELLS = new Int32Array(0);
/** Per cellId the number of the last union that took it (a mark cleared by counting up, not by a fill). */
const unionMark = new Uint32Array(ECL_N_CRYSTALS + 1);
let unionCount = 0;

/** The union of ascending cell lists, ascending without repeats (one list is returned as it is). */
function storedCellUnion(lists: readonly Int32Array[]): Int32Array {
  let nonEmpty = 0;
  let only: Int32Array = NO_CELLS;
  for (const list of lists) {
    if (list.length > 0) {
      nonEmpty++;
      only = list;
    }
  }
  if (nonEmpty <= 1) return only;
  if (++unionCount === 0xffffffff) {
    unionMark.fill(0);
    unionCount = 1;
  }
  const cells: number[] = [];
  for (const list of lists) {
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      if (unionMark[c] !== unionCount) {
        unionMark[c] = unionCount;
        cells.push(c);
      }
    }
  }
  return Int32Array.from(cells).sort();
}

export interface SimulatedEvent {
  rows: SimTrackRow[];
  /** the transport of each track, for event displays and studies (same order as rows) */
  transports: TransportResult[];
  /** every ECL digit of the event after background and readout (only crystals near tracks carry background) */
  eclDigits: EclDigit[];
}

function validateParticle(state: ParticleState, index: number): void {
  if (state === null || typeof state !== "object") throw new InputError(`event particle ${index}: expected a particle object, got ${state === null ? "null" : typeof state}`);
  const values = [state.mass, state.x, state.y, state.z, state.px, state.py, state.pz];
  if (!values.every(Number.isFinite)) throw new InputError(`event particle ${index}: position, momentum and mass must be finite`);
  if (!(state.mass > 0 && state.mass <= MAX_PARTICLE_MASS)) throw new InputError(`event particle ${index}: mass must be in (0, ${MAX_PARTICLE_MASS}] GeV/c² (got ${state.mass})`);
  const p = Math.sqrt(state.px * state.px + state.py * state.py + state.pz * state.pz);
  if (!(p <= MAX_TRACK_MOMENTUM)) throw new InputError(`event particle ${index}: |p| must be at most ${MAX_TRACK_MOMENTUM} GeV/c (got ${p})`);
  if (state.charge !== 1 && state.charge !== -1) throw new InputError(`event particle ${index}: charge must be ±1 (got ${state.charge})`);
  if (state.px === 0 && state.py === 0 && state.pz === 0) throw new InputError(`event particle ${index}: momentum is zero`);
}

/** Simulates one event; rows carry `event` and the track index inside the event. */
export function simulateEventDetailed(
  particles: readonly ParticleState[],
  event: number,
  rng: Random,
  conditions: DetectorConditions,
): SimulatedEvent {
  const n = particles.length;
  const ips = new Array<SimTrackRow["ip"]>(n);
  const transports = new Array<TransportResult>(n);
  const entryCells = new Array<number | null>(n);
  const crystalEnergies = eventCrystalEnergies;
  crystalEnergies.clear();
  const klmHits: KlmHit[] = [];
  for (let i = 0; i < n; i++) {
    const state = particles[i];
    validateParticle(state, i);
    ips[i] = reconstructTrackAtIp(state, rng);
    const result = transportParticle(state, rng, conditions);
    transports[i] = result;
    entryCells[i] = eclEntryCrystal(result);
    eclDigitsFromDeposits(result.eclDeposits, rng, conditions, crystalEnergies);
    appendHits(klmHits, klmHitsFromCrossings(result.klmCrossings, i, rng, conditions, klmHits));
  }
  appendHits(klmHits, klmBackgroundHits(rng, conditions, klmHits));

  // background only where it can reach the output: the stored neighbourhoods (same per-crystal distribution)
  const neighbourhoods = new Array<Int32Array>(n);
  for (let i = 0; i < n; i++) {
    const c = entryCells[i];
    neighbourhoods[i] = c === null ? NO_CELLS : eclNeighbourhoodCells(c, STORED_ECL_NEIGHBOURHOOD);
  }
  addEclBackground(crystalEnergies, rng, conditions, storedCellUnion(neighbourhoods));
  const eclDigits = applyEclReadout(crystalEnergies, conditions);

  const rows: SimTrackRow[] = [];
  for (let i = 0; i < n; i++) {
    const cell = entryCells[i];
    rows.push({
      event,
      track: i,
      truth: trackTruth(particles[i], transports[i].truth),
      ip: ips[i],
      klmHits,
      eclDigits: cell === null ? [] : digitsInside(eclDigits, neighbourhoods[i]),
    });
  }
  return { rows, transports, eclDigits };
}

/** Simulates one event and returns its rows (one per track). */
export function simulateEvent(
  particles: readonly ParticleState[],
  event: number,
  rng: Random,
  conditions: DetectorConditions,
): SimTrackRow[] {
  return simulateEventDetailed(particles, event, rng, conditions).rows;
}
