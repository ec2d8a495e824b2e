/**
 * Truth transport of one particle from the IP through the inner material, the ECL CsI, the coil and the
 * KLM iron, producing ECL energy deposits, KLM layer crossings and the truth record.
 *
 * The geometry, field and material effects are those of the one stepper (src/geometry/propagation.ts)
 * in truth mode (fluctuated energy loss, multiple-scattering deflections). On top, for pions:
 * - decay in flight π → μν (src/sim/decay.ts: a proper-length budget spent step by step, physics.md §2.5);
 *   the muon continues in the same transport;
 * - inelastic interactions (src/sim/hadronic.ts, physics.md §2.4 tables): absorption with an ECL deposit
 *   or KLM shower hits, or a leading pion that continues;
 * - a pion that stops in CsI leaves the π⁻ star or π⁺ → μ⁺ deposit (physics.md §5.2).
 * Muon decay (cτ = 659 m; < 0.3 % over the detector) is not simulated.
 */
import type { DetectorConditions, KlmSection, ParticleState, TrackTruth } from "./types.js";
import { PDG } from "./types.js";
import type { Random } from "./random.js";
import { InputError } from "../errors.js";
import { PION_CTAU } from "../constants.js";
import {
  CELL_BARREL_KLM,
  CELL_ECL_BACKWARD,
  CELL_ECL_BARREL,
  CELL_ENDCAP_KLM,
  MATERIAL_CSI,
  MATERIAL_VACUUM,
  Propagator,
  STOP_PROCESS,
  STOP_RANGED_OUT,
  type DiscreteProcesses,
  type MaterialId,
  type PropagationObserver,
  type TrackState,
} from "../geometry/propagation.js";
import { decayPionToMuon, properLengthOfStep, sampleProperDecayLength } from "./decay.js";
import {
  eclHadronicDeposits,
  klmShowerCrossings,
  pionInteraction,
  pionInteractionLength,
  stoppedPionDeposit,
} from "./hadronic.js";

/** Energy left in the ECL CsI by the transport (before the crystal response). */
export interface EclEnergyDeposit {
  x: number; y: number; z: number;
  /** GeV */
  energy: number;
  kind: "ionisation" | "hadronic" | "electromagnetic";
}

export type KlmCrossingKind = "muon" | "pion" | "shower";

/** A charged particle (or a hadronic-shower secondary) crossing the middle plane of a KLM layer. */
export interface KlmCrossing {
  section: KlmSection;
  /** barrel 1–8, endcap 1–4 */
  sector: number;
  /** basf2 numbering: barrel 1–15, forward 1–14, backward 1–12 */
  layer: number;
  /** global position on the layer's middle plane, cm */
  x: number; y: number; z: number;
  /** ns after the collision */
  time: number;
  /** momentum at the crossing, GeV/c (for a shower crossing: along the shower axis, |p| = released energy) */
  px: number; py: number; pz: number;
  kind: KlmCrossingKind;
  /** extra half-width of the cluster in both views, cm (0 for a single charged particle) */
  clusterHalfWidth: number;
}

/** What the transport knows of the truth (the kinematic fields come from the generator). */
export type TransportTruth = Omit<TrackTruth, "pdg" | "charge" | "p" | "pt" | "theta" | "phi">;

/** A decay or an inelastic interaction on the way (for studies; the truth flags summarise them). */
export interface TransportVertex {
  kind: "decay" | "interaction";
  /** stepper material id where it happened (a thin layer's material, e.g. 3 = Al for an ECL container wall) */
  material: MaterialId;
  x: number; y: number; z: number;
  /** momentum of the pion before it, GeV/c */
  p: number;
  /** for an interaction: the pion was absorbed (no leading pion) */
  absorbed: boolean;
}

export interface TransportResult {
  truth: TransportTruth;
  /** decays and interactions in path order */
  vertices: TransportVertex[];
  /** in path order */
  eclDeposits: EclEnergyDeposit[];
  /** in path order */
  klmCrossings: KlmCrossing[];
  /** a polyline of the trajectory for event displays, cm */
  path: { x: number; y: number; z: number }[];
}

/** Decay and interaction budgets of a pion (the stepper cuts its steps where one runs out). */
class PionProcesses implements DiscreteProcesses {
  /** remaining proper length before the decay, cm */
  decayBudget = Infinity;
  /** remaining number of interaction lengths before the next inelastic interaction */
  interactionBudget = Infinity;
  charge: 1 | -1 = 1;
  active = false;
  /** which process the last query found nearest, and in which material (a thin layer's, not the cell's) */
  nextIsDecay = true;
  nextMaterial: MaterialId = MATERIAL_VACUUM;

  distanceToProcess(material: MaterialId, p: number, mass: number): number {
    if (!this.active) return Infinity;
    const toDecay = (this.decayBudget * p) / mass;
    this.nextMaterial = material;
    const toInteraction = material === MATERIAL_VACUUM ? Infinity : this.interactionBudget * pionInteractionLength(material, p, this.charge);
    this.nextIsDecay = toDecay <= toInteraction;
    return this.nextIsDecay ? toDecay : toInteraction;
  }

  consume(material: MaterialId, length: number, p: number, mass: number): void {
    if (!this.active) return;
    this.decayBudget -= properLengthOfStep(length, p, mass);
    if (material !== MATERIAL_VACUUM) this.interactionBudget -= length / pionInteractionLength(material, p, this.charge);
  }
}

/** Collects deposits, crossings, the polyline and the truth while the stepper runs. */
class TransportRecorder implements PropagationObserver {
  eclDeposits: EclEnergyDeposit[] = [];
  klmCrossings: KlmCrossing[] = [];
  path: { x: number; y: number; z: number }[] = [];
  eclDeposit = 0;
  isPion = false;
  /** region and layers of the primary (or its decay muon) */
  lastRegion: KlmSection | null = null;
  maxLayer: Record<KlmSection, number> = { barrel: 0, forward: 0, backward: 0 };

  energyLoss(material: MaterialId, _cell: number, x: number, y: number, z: number, energy: number): void {
    if (material !== MATERIAL_CSI || energy <= 0) return;
    this.eclDeposits.push({ x, y, z, energy, kind: "ionisation" });
    this.eclDeposit += energy;
  }

  layerCrossing(section: KlmSection, sector: number, layer: number, s: TrackState): boolean {
    this.klmCrossings.push({
      section, sector, layer, x: s.x, y: s.y, z: s.z, time: s.time, px: s.px, py: s.py, pz: s.pz,
      kind: this.isPion ? "pion" : "muon", clusterHalfWidth: 0,
    });
    this.lastRegion = section;
    if (layer > this.maxLayer[section]) this.maxLayer[section] = layer;
    return false;
  }

  cellEntered(_cell: number, s: TrackState): void {
    this.path.push({ x: s.x, y: s.y, z: s.z });
  }
}

/** One stepper and one set of budgets, reused by every (synchronous, non-reentrant) transport. */
const sharedPropagator = new Propagator();
const sharedProcesses = new PionProcesses();

/** Transport of one particle (μ± or π±) from its state at the IP, with the detector's true field. */
export function transportParticle(state: ParticleState, rng: Random, conditions: DetectorConditions): TransportResult {
  const apdg = Math.abs(state.pdg);
  if (apdg !== PDG.muMinus && apdg !== PDG.piPlus) throw new InputError(`transportParticle: pdg ${state.pdg} is not a muon or a charged pion`);
  if (!Number.isFinite(conditions.fieldScale)) throw new InputError(`transportParticle: fieldScale ${conditions.fieldScale} is not finite`);
  const propagator = sharedPropagator;
  const processes = sharedProcesses;
  processes.active = false;
  processes.decayBudget = Infinity;
  processes.interactionBudget = Infinity;
  const recorder = new TransportRecorder();
  const vertices: TransportVertex[] = [];
  let isPion = apdg === PDG.piPlus;
  let decayedInFlight = false;
  let interactedInEcl = false;
  let interactedInKlm = false;
  recorder.isPion = isPion;
  recorder.path.push({ x: state.x, y: state.y, z: state.z });
  if (isPion) {
    processes.active = true;
    processes.charge = state.charge;
    processes.decayBudget = sampleProperDecayLength(PION_CTAU, rng);
    processes.interactionBudget = rng.exponential(1);
  }
  propagator.start(state, { fieldScale: conditions.fieldScale, rng, processes });
  const s = propagator.state;
  for (;;) {
    const reason = propagator.run(recorder);
    if (reason === STOP_PROCESS && isPion) {
      // the stepper stopped where the nearest process of the last query is due
      const material = processes.nextMaterial;
      const p = s.p;
      if (processes.nextIsDecay) {
        const pion: ParticleState = { pdg: state.pdg, charge: s.charge, mass: s.mass, x: s.x, y: s.y, z: s.z, px: s.px, py: s.py, pz: s.pz };
        const muon = decayPionToMuon(pion, rng);
        vertices.push({ kind: "decay", material, x: s.x, y: s.y, z: s.z, p, absorbed: false });
        decayedInFlight = true;
        isPion = false;
        recorder.isPion = false;
        processes.active = false;
        propagator.replaceParticle(muon.px, muon.py, muon.pz, muon.mass, muon.charge);
        continue;
      }
      // inelastic interaction
      const cell = propagator.cell;
      const inKlm = cell === CELL_BARREL_KLM || cell === CELL_ENDCAP_KLM;
      const inEcl = material === MATERIAL_CSI || (cell >= CELL_ECL_BARREL && cell <= CELL_ECL_BACKWARD);
      const result = pionInteraction(s.px, s.py, s.pz, s.mass, rng);
      vertices.push({ kind: "interaction", material, x: s.x, y: s.y, z: s.z, p, absorbed: result.leading === null });
      const tx = s.px / p, ty = s.py / p, tz = s.pz / p;
      if (inEcl) {
        interactedInEcl = true;
        recorder.eclDeposit += eclHadronicDeposits(s.x, s.y, s.z, tx, ty, tz, result.released, rng, recorder.eclDeposits);
      } else if (inKlm) {
        interactedInKlm = true;
        klmShowerCrossings(s.x, s.y, s.z, tx, ty, tz, result.released, s.time, rng, recorder.klmCrossings);
      }
      if (result.leading === null) break;
      processes.interactionBudget = rng.exponential(1);
      propagator.replaceParticle(result.leading.px, result.leading.py, result.leading.pz, s.mass, s.charge);
      continue;
    }
    if (reason === STOP_RANGED_OUT && isPion && propagator.material === MATERIAL_CSI) {
      recorder.eclDeposit += stoppedPionDeposit(s.x, s.y, s.z, s.charge, rng, recorder.eclDeposits);
    }
    break;
  }
  recorder.path.push({ x: s.x, y: s.y, z: s.z });
  const region = recorder.lastRegion;
  return {
    truth: {
      decayedInFlight,
      interactedInEcl,
      interactedInKlm,
      klmLayerReached: region === null ? 0 : recorder.maxLayer[region],
      klmRegion: region,
      eclDeposit: recorder.eclDeposit,
    },
    vertices,
    eclDeposits: recorder.eclDeposits,
    klmCrossings: recorder.klmCrossings,
    path: recorder.path,
  };
}
