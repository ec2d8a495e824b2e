/**
 * Muid's muon-hypothesis swim through the KLM (klm.md §2.2–2.3), on the one stepper of
 * src/geometry/propagation.ts (mean energy loss, 6×6 covariance with multiple scattering and straggling):
 * the track starts from its state at the IP with its covariance, with the muon mass and the track's
 * charge, and the stepper reports every crossing of a KLM layer's middle plane.
 *
 * Which crossings count, as TrackExtrapolateG4e::findBarrelIntersection / findEndcapIntersection:
 * layers ratchet outward (a crossing counts only outward and only beyond the last counted layer of its
 * region), and crossing the outermost layer (barrel 15; forward endcap 14, backward 12) sets `escaped`.
 * The swim stops where the stepper stops: kinetic energy below Muid's MinKE (2 MeV), outside the
 * target cylinder (r = 353.5/cos(π/8) cm, |z − 47| = 362.1 cm) or lost in the beam line; tracks with
 * pT < MinPt (0.1 GeV/c) are not swum (MuidModule).
 *
 * For every counted crossing the caller's `onLayer` sees the predicted state on the plane and may
 * replace it (the Kalman update of the association); the swim continues from what it leaves there.
 *
 * Adapter note: the stepper's `extrapolateMuon` does not return the final position, which Muid needs
 * (isForward = final z > 47 cm, §2.7), so this module drives `Propagator` directly with its own observer.
 *
 * Speed (issue 6, same bits): a track confined below the KLM by its transverse circle is swum without a
 * covariance (confinedBelowKlm), and the reconstruction defers the covariance transport to the crossings
 * that have candidate hits (KlmSwimOptions.deferCovariance).
 */
import {
  BKLM_LAYERS,
  DETECTOR_Z_OFFSET,
  EKLM_SECTION_INNER_RADIUS,
  HELIX_K,
  MUID_MIN_PT,
  MUON_MASS,
  SOLENOID_FIELD,
} from "../constants.js";
import {
  Propagator,
  covarianceFromUpperTriangle,
  type PropagationObserver,
  type StopReason,
  type TrackState,
} from "../geometry/propagation.js";
import {
  barrelPhiStripCoordinate,
  barrelPhiStripCount,
  barrelZStripCount,
  barrelZStripWidth,
  endcapStripCoordinate,
  endcapStripCount,
  isInEndcapActiveArea,
  klmSlot,
  layerCount,
  sectorCos,
  sectorSin,
} from "../geometry/klm.js";
import type { KlmSection, TrackAtIp } from "../sim/types.js";
import { hypot2 } from "../math/hypot.js";

/** A layer crossing that Muid counts, with the predicted (pre-update) state there. */
export interface KlmLayerCrossing {
  /** 29-slot index (0–14 barrel, 15–28 endcap) = the pattern bit */
  slot: number;
  section: KlmSection;
  /** barrel 1–8, endcap 1–4 (of the predicted point) */
  sector: number;
  /** basf2 numbering, 1-based */
  layer: number;
  /** predicted point on the layer's middle plane, cm */
  x: number; y: number; z: number;
  /** predicted momentum, GeV/c */
  px: number; py: number; pz: number;
  /**
   * Covariance of the predicted point projected on the readout directions of the plane (barrel: φ, z;
   * endcap: x, y), H C Hᵀ with Muid's projection H (klm.md §2.5): [UU, UV, VV], cm².
   */
  planeCovariance: [number, number, number];
  /**
   * Whether the point lies on the strips of the layer (basf2 sets the ext bit of a layer without a hit
   * only for a crossing inside a sensitive volume / on live strips, §2.6; we have no dead channels).
   */
  inActiveArea: boolean;
  /** path length from the IP, cm, and time of flight, ns */
  pathLength: number;
  time: number;
  /** set by the association (klmChain.ts): the layer's ext pattern bit, and the matched hit (event index, −1 none) */
  extBit: boolean;
  hitIndex: number;
}

export interface KlmSwim {
  /** counted crossings in path order */
  crossings: KlmLayerCrossing[];
  /** crossed the outermost layer of the barrel or of an endcap */
  escaped: boolean;
  /** final z of the swim > 47 cm (§2.7) */
  isForward: boolean;
  /** whether the track was swum at all (pT ≥ MinPt) */
  swum: boolean;
  stopReason: StopReason | null;
  /** final position, cm */
  finalX: number; finalY: number; finalZ: number;
}

export interface KlmSwimOptions {
  /** field scale of the extrapolation (robustness studies: ±10 %); default 1 */
  fieldScale?: number;
  /**
   * Keep the crossings in KlmSwim.crossings (default true). With false the list stays empty, `onLayer`
   * gets one reused crossing object (valid during the call only) and its planeCovariance is not
   * computed (NaN): the reconstruction's fast path, which reads neither.
   */
  keepCrossings?: boolean;
  /**
   * Defer the covariance transport (PropagatorOptions.deferCovariance; default false): the live state's
   * covariance is then current only after `propagator.materializeCovariance()`, which `onLayer` must call
   * before it reads or updates it (the reconstruction does so only for a crossing with candidate hits).
   */
  deferCovariance?: boolean;
}

/** What a counted crossing hands to the association: the crossing and the live stepper state (modifiable). */
export type LayerCallback = (crossing: KlmLayerCrossing, state: TrackState) => void;

/** Whether a point on the middle plane of a layer lies on its strips (see KlmLayerCrossing.inActiveArea). */
export function isOnLayerStrips(section: KlmSection, sector: number, layer: number, x: number, y: number, z: number): boolean {
  if (section === "barrel") {
    // barrelLocal's u and ζ, without its object
    const u = -x * sectorSin(sector) + y * sectorCos(sector);
    const zeta = z - DETECTOR_Z_OFFSET;
    const phi = barrelPhiStripCoordinate(layer, u);
    if (!(phi >= 0 && phi < barrelPhiStripCount(layer))) return false;
    // z strips from ζ = 0 outward in each half; the chimney sector has fewer in the backward half
    const halfCoverage = barrelZStripCount(layer, sector, zeta < 0) * barrelZStripWidth(layer);
    return Math.abs(zeta) < halfCoverage;
  }
  if (!isInEndcapActiveArea(x, y)) return false;
  const u = endcapStripCoordinate(x);
  const v = endcapStripCoordinate(y);
  const n = endcapStripCount();
  return u >= 0 && u < n && v >= 0 && v < n;
}

/** Muid's projection of the covariance's position block on the readout directions of a plane, [UU, UV, VV]. */
export function projectedPlaneCovariance(
  section: KlmSection, sector: number, px: number, py: number, pz: number, covariance: ArrayLike<number>,
): [number, number, number] {
  let aX: number, aY: number, aZ: number, bX: number, bY: number, bZ: number, cX: number, cY: number, cZ: number;
  if (section === "barrel") {
    aX = sectorCos(sector); aY = sectorSin(sector); aZ = 0;
    bX = -aY; bY = aX; bZ = 0;
    cX = 0; cY = 0; cZ = 1;
  } else {
    const out = section === "forward" ? 1 : -1;
    aX = 0; aY = 0; aZ = out;
    bX = out; bY = 0; bZ = 0;
    cX = 0; cY = out; cZ = 0;
  }
  const p = Math.sqrt(px * px + py * py + pz * pz);
  const ux = px / p, uy = py / p, uz = pz / p;
  const dirA = ux * aX + uy * aY + uz * aZ;
  const h0 = [bX - (aX * (ux * bX + uy * bY + uz * bZ)) / dirA, bY - (aY * (ux * bX + uy * bY + uz * bZ)) / dirA, bZ - (aZ * (ux * bX + uy * bY + uz * bZ)) / dirA];
  const h1 = [cX - (aX * (ux * cX + uy * cY + uz * cZ)) / dirA, cY - (aY * (ux * cX + uy * cY + uz * cZ)) / dirA, cZ - (aZ * (ux * cX + uy * cY + uz * cZ)) / dirA];
  let uu = 0, uv = 0, vv = 0;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      const c = covariance[i * 6 + j]!;
      uu += h0[i]! * c * h0[j]!;
      uv += h0[i]! * c * h1[j]!;
      vv += h1[i]! * c * h1[j]!;
    }
  }
  return [uu, uv, vv];
}

/**
 * Safety margin (cm) of confinedBelowKlm against the stepper's 1e-6 cm boundary nudges and rounding
 * (thousands of boundaries at most within TRANSPORT_MAX_PATH move a point by far less).
 */
const CONFINEMENT_MARGIN = 1;

/**
 * Whether the track provably never enters a KLM cell: its transverse circle in the uniform solenoid
 * field, centre C = x0⊥ − (ẑ × p)/k and radius pT/|k| (k = HELIX_K·q·Bz, propagation.ts helixAt), lies
 * inside r < EKLM_SECTION_INNER_RADIUS − margin. Every cell there other than the KLM sees that field
 * (r < 181.25 cm; at |ζ| ≥ 230 cm, r < 128 cm is outside the world) and the mean-mode stepper only
 * shortens p along its direction (a smaller circle tangent inside the old one), so the transverse path
 * stays in the disk; the KLM cells need r ≥ 128 cm (endcap) or more (barrel).
 */
export function confinedBelowKlm(track: TrackAtIp, fieldScale: number): boolean {
  const bz = SOLENOID_FIELD * fieldScale;
  if (!(bz !== 0 && Number.isFinite(bz))) return false;
  const k = HELIX_K * track.charge * bz;
  const cx = track.x + track.py / k;
  const cy = track.y - track.px / k;
  const radius = Math.sqrt(track.px * track.px + track.py * track.py) / Math.abs(k);
  return Math.sqrt(cx * cx + cy * cy) + radius < EKLM_SECTION_INNER_RADIUS - CONFINEMENT_MARGIN;
}

/** Scratch of the swim's start (Propagator.start copies both). */
const startCovariance = new Float64Array(36);
const muonAtStart: { x: number; y: number; z: number; px: number; py: number; pz: number; charge: 1 | -1; mass: number } = {
  x: 0, y: 0, z: 0, px: 0, py: 0, pz: 0, charge: 1, mass: MUON_MASS,
};

/**
 * Swims the muon hypothesis of `track` through the detector, calling `onLayer` at every crossing Muid
 * counts. The stepper is reused between calls when the caller passes one.
 */
export function swimMuonThroughKlm(track: TrackAtIp, options: KlmSwimOptions = {}, onLayer?: LayerCallback, propagator = new Propagator()): KlmSwim {
  const swim: KlmSwim = {
    crossings: [], escaped: false, isForward: track.z > DETECTOR_Z_OFFSET, swum: false, stopReason: null,
    finalX: track.x, finalY: track.y, finalZ: track.z,
  };
  const covariance = covarianceFromUpperTriangle(track.covariance, startCovariance);
  if (hypot2(track.px, track.py) < MUID_MIN_PT) return swim;
  const particle = muonAtStart;
  particle.x = track.x; particle.y = track.y; particle.z = track.z;
  particle.px = track.px; particle.py = track.py; particle.pz = track.pz;
  particle.charge = track.charge;
  const fieldScale = options.fieldScale ?? 1;
  // a track confined below the KLM has no crossing and the covariance never feeds back into its path
  // outside the KLM (only a Kalman update at a crossing does): it is swum without one, same final point
  const confined = confinedBelowKlm(track, fieldScale);
  propagator.start(particle, { fieldScale, covariance: confined ? null : covariance, deferCovariance: options.deferCovariance === true });
  swim.swum = true;
  const keep = options.keepCrossings !== false;
  const reused: KlmLayerCrossing | null = keep ? null : {
    slot: 0, section: "barrel", sector: 0, layer: 0, x: 0, y: 0, z: 0, px: 0, py: 0, pz: 0,
    planeCovariance: [NaN, NaN, NaN], inActiveArea: false, pathLength: 0, time: 0, extBit: false, hitIndex: -1,
  };
  // next layer (1-based) that may count in the barrel and in the endcap (the ratchet)
  let nextBarrelLayer = 1;
  let nextEndcapLayer = 1;
  const observer: PropagationObserver = {
    energyLoss() {},
    cellEntered() {},
    layerCrossing(section, sector, layer, state) {
      let outward: boolean;
      if (section === "barrel") outward = state.px * sectorCos(sector) + state.py * sectorSin(sector) > 0;
      else outward = (state.z > DETECTOR_Z_OFFSET ? state.pz : -state.pz) > 0;
      if (!outward) return false;
      if (section === "barrel") {
        if (layer < nextBarrelLayer) return false;
        nextBarrelLayer = layer + 1;
        if (nextBarrelLayer > BKLM_LAYERS) swim.escaped = true;
      } else {
        if (layer < nextEndcapLayer) return false;
        nextEndcapLayer = layer + 1;
        if (nextEndcapLayer > layerCount(section)) swim.escaped = true;
      }
      let crossing: KlmLayerCrossing;
      if (reused === null) {
        propagator.materializeCovariance();
        crossing = {
          slot: klmSlot(section, layer),
          section, sector, layer,
          x: state.x, y: state.y, z: state.z,
          px: state.px, py: state.py, pz: state.pz,
          planeCovariance: projectedPlaneCovariance(section, sector, state.px, state.py, state.pz, state.covariance!),
          inActiveArea: isOnLayerStrips(section, sector, layer, state.x, state.y, state.z),
          pathLength: state.path,
          time: state.time,
          extBit: false,
          hitIndex: -1,
        };
        swim.crossings.push(crossing);
      } else {
        crossing = reused;
        crossing.slot = klmSlot(section, layer);
        crossing.section = section; crossing.sector = sector; crossing.layer = layer;
        crossing.x = state.x; crossing.y = state.y; crossing.z = state.z;
        crossing.px = state.px; crossing.py = state.py; crossing.pz = state.pz;
        crossing.inActiveArea = isOnLayerStrips(section, sector, layer, state.x, state.y, state.z);
        crossing.pathLength = state.path;
        crossing.time = state.time;
        crossing.extBit = false;
        crossing.hitIndex = -1;
      }
      onLayer?.(crossing, state);
      return false;
    },
  };
  swim.stopReason = propagator.run(observer);
  const s = propagator.state;
  swim.finalX = s.x;
  swim.finalY = s.y;
  swim.finalZ = s.z;
  swim.isForward = s.z > DETECTOR_Z_OFFSET;
  return swim;
}
