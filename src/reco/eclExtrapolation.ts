/**
 * Extrapolation of a reconstructed track from the IP to the front face of the ECL, as basf2's
 * ExtHit for the ECL CNN (ecl.md §1.6): pion hypothesis, mean energy loss (no fluctuations), no
 * covariance; the state where the track first enters the CsI, and the crystal there.
 *
 * It drives the one stepper (src/geometry/propagation.ts) and stops it right after the ECL entry:
 * the stepper has no "stop at cell" hook, so a DiscreteProcesses stand-in that reports no process
 * until the entry and a process at distance 0 after it ends the run at the next step.
 */
import { PION_MASS } from "../constants.js";
import { crystalAt, crystalTowards } from "../geometry/ecl.js";
import {
  CELL_ECL_BACKWARD,
  CELL_ECL_BARREL,
  Propagator,
  type DiscreteProcesses,
  type PropagationObserver,
  type TrackState,
} from "../geometry/propagation.js";
import type { TrackAtIp } from "../sim/types.js";

/** The extrapolated track where it enters the ECL (basf2 ExtHit, EXT_ENTER, pion hypothesis). */
export interface EclEntry {
  /** 1-based cellId of the entered crystal (basf2 ExtHit copyID + 1) */
  cellId: number;
  /** entry point, cm */
  x: number; y: number; z: number;
  /** momentum there, GeV/c */
  px: number; py: number; pz: number;
  /** transverse momentum there, GeV/c (the CNN's `pt`, ecl.md §1.5 item 4) */
  pt: number;
  /** path length from the IP, cm */
  pathLength: number;
}

/** Stops the run once `entered` is set (distance 0 to the next "process"). */
class StopAfterEclEntry implements DiscreteProcesses, PropagationObserver {
  entry: EclEntry | null = null;
  distanceToProcess(): number {
    return this.entry === null ? Infinity : 0;
  }
  consume(): void {}
  energyLoss(): void {}
  layerCrossing(): boolean {
    return false;
  }
  cellEntered(cell: number, state: TrackState): void {
    if (this.entry !== null || cell < CELL_ECL_BARREL || cell > CELL_ECL_BACKWARD) return;
    // the stepper has just nudged the point 1e-6 cm across the front face; crystalTowards covers a
    // point that rounding leaves on the face itself
    const cellId = crystalAt(state.x, state.y, state.z) ?? crystalTowards(state.x, state.y, state.z);
    if (cellId === null) return;
    this.entry = {
      cellId,
      x: state.x, y: state.y, z: state.z,
      px: state.px, py: state.py, pz: state.pz,
      pt: Math.sqrt(state.px * state.px + state.py * state.py),
      pathLength: state.path,
    };
  }
}

const propagator = new Propagator();
/** Reused per call (the propagator copies the particle; the stop hook is reset). */
const stop = new StopAfterEclEntry();
const pionAtStart: { x: number; y: number; z: number; px: number; py: number; pz: number; charge: 1 | -1; mass: number } = {
  x: 0, y: 0, z: 0, px: 0, py: 0, pz: 0, charge: 1, mass: PION_MASS,
};

/**
 * Extrapolates a track (its IP state) to the ECL with the pion hypothesis; null when it never
 * enters the CsI (it curls up inside the tracker, ranges out, or flies into a gap).
 * `fieldScale` lets a robustness study reconstruct with a different field (1 = 1.5 T).
 */
export function extrapolateToEcl(track: TrackAtIp, options: { fieldScale?: number } = {}): EclEntry | null {
  stop.entry = null;
  const particle = pionAtStart;
  particle.x = track.x; particle.y = track.y; particle.z = track.z;
  particle.px = track.px; particle.py = track.py; particle.pz = track.pz;
  particle.charge = track.charge;
  propagator.start(particle, { fieldScale: options.fieldScale ?? 1, processes: stop });
  propagator.run(stop);
  const entry = stop.entry;
  stop.entry = null;
  return entry;
}
