/**
 * Truth transport of one particle from the IP through the inner material, the ECL CsI, the coil and the
 * KLM iron (SKELETON: interface only, the stepper lands in src/geometry/propagation.ts).
 */
import type { DetectorConditions, KlmSection, ParticleState, TrackTruth } from "./types.js";
import type { Random } from "./random.js";

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
  /** momentum at the crossing, GeV/c (for a shower crossing: along the shower axis) */
  px: number; py: number; pz: number;
  kind: KlmCrossingKind;
  /** extra half-width of the cluster in both views, cm (0 for a single charged particle) */
  clusterHalfWidth: number;
}

/** What the transport knows of the truth (the kinematic fields come from the generator). */
export type TransportTruth = Omit<TrackTruth, "pdg" | "charge" | "p" | "pt" | "theta" | "phi">;

export interface TransportResult {
  truth: TransportTruth;
  /** in path order */
  eclDeposits: EclEnergyDeposit[];
  /** in path order */
  klmCrossings: KlmCrossing[];
  /** a polyline of the trajectory for event displays, cm */
  path: { x: number; y: number; z: number }[];
}

/** SKELETON: returns a particle that reached nothing until the stepper lands. */
export function transportParticle(state: ParticleState, _rng: Random, _conditions: DetectorConditions): TransportResult {
  return {
    truth: {
      decayedInFlight: false, interactedInEcl: false, interactedInKlm: false,
      klmLayerReached: 0, klmRegion: null, eclDeposit: 0,
    },
    eclDeposits: [],
    klmCrossings: [],
    path: [{ x: state.x, y: state.y, z: state.z }],
  };
}
