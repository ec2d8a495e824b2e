/**
 * The simulation's data model: what one simulated event and one output row hold. The
 * reconstruction (src/reco) reads exactly these records, whether they come from our simulation or
 * from a user's own tracks and hits.
 *
 * Units: cm, GeV, GeV/c, ns, degrees only where a field name says so.
 */

/** PDG codes used here (PDG numbering scheme: μ⁻ = +13, π⁺ = +211). */
export const PDG = { muMinus: 13, muPlus: -13, piPlus: 211, piMinus: -211 } as const;
export type ParticleName = "mu-" | "mu+" | "pi-" | "pi+";

/** A particle state at a point: position (cm) and momentum (GeV/c). */
export interface ParticleState {
  pdg: number;
  charge: 1 | -1;
  /** mass, GeV/c² */
  mass: number;
  x: number; y: number; z: number;
  px: number; py: number; pz: number;
}

export type KlmSection = "barrel" | "forward" | "backward";

/**
 * A KLM 2-D hit (basf2 KLMHit2d): the crossing of two orthogonal strip clusters in one layer of one
 * sector. Barrel: U = φ strips, V = z strips; endcap: U = x strips, V = y strips (klm.md §1.4, §3).
 */
export interface KlmHit {
  section: KlmSection;
  /** barrel 1–8, endcap 1–4 */
  sector: number;
  /** basf2 numbering: barrel 1–15, forward 1–14, backward 1–12 */
  layer: number;
  /** global position of the hit, cm */
  x: number; y: number; z: number;
  /** first and last strip of each cluster (inclusive) */
  uStripMin: number; uStripMax: number;
  vStripMin: number; vStripMax: number;
  /** ns after the collision */
  time: number;
  /** truth only: index of the track in its event that made the hit, −1 for beam background */
  truthTrack: number;
}

/** One ECL crystal's calibrated energy (basf2 ECLCalDigit), GeV. cellId is 1-based (1..8736). */
export interface EclDigit {
  cellId: number;
  energy: number;
}

/** The reconstructed-track information the chain starts from: the state at the IP with its covariance. */
export interface TrackAtIp {
  charge: 1 | -1;
  /** point of closest approach, cm */
  x: number; y: number; z: number;
  /** momentum there, GeV/c (smeared by the tracking resolution) */
  px: number; py: number; pz: number;
  /** upper triangle (row-major, 21 numbers) of the 6×6 covariance of (x, y, z, px, py, pz) */
  covariance: number[];
}

/** What really happened to the particle (never read by the reconstruction). */
export interface TrackTruth {
  pdg: number;
  charge: 1 | -1;
  p: number;
  pt: number;
  /** polar angle at the IP, degrees */
  theta: number;
  /** azimuth at the IP, degrees */
  phi: number;
  decayedInFlight: boolean;
  interactedInEcl: boolean;
  interactedInKlm: boolean;
  /** outermost KLM layer the particle or its decay muon reached (barrel 1–15, endcap 1–14), 0 if none */
  klmLayerReached: number;
  klmRegion: KlmSection | null;
  /** true energy deposited in the ECL, GeV */
  eclDeposit: number;
}

/** One output row: one track with its truth and the raw detector data the reconstruction needs. */
export interface SimTrackRow {
  event: number;
  /** index of the track inside its event */
  track: number;
  truth: TrackTruth;
  ip: TrackAtIp;
  /** all KLM hits of the event (this track's, the other tracks', background) */
  klmHits: KlmHit[];
  /** ECL digits in the 11×11 crystal neighbourhood of the track's true ECL entry crystal (empty when it never reached the ECL) */
  eclDigits: EclDigit[];
}

/** Tunable detector conditions (issue: background ×0/×1/×3, efficiency, thresholds). */
export interface DetectorConditions {
  /** solenoid field scale (1 = 1.5 T); the reconstruction may use a different one for robustness studies */
  fieldScale: number;
  /** KLM per-layer efficiency (physics.md §1.5 default 0.96) */
  klmEfficiency: number;
  /** multiplier of the KLM beam-background hit rate (0–5) */
  klmBackground: number;
  /** multiplier of the ECL beam-background level (0, 1, 3) */
  eclBackground: number;
  /** ECL crystal threshold, GeV (1, 2 or 5 MeV) */
  eclThreshold: number;
}
