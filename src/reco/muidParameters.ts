/**
 * Settings of basf2's Muid module and of its track extrapolator (tracking/modules/muid MuidModule.cc,
 * TrackExtrapolateG4e.cc; klm.md §2.2–2.5) that the KLM reconstruction reproduces. These are algorithm
 * parameters of Muid, with the file each one is read from; detector dimensions come from src/constants.ts.
 *
 * NOTE for the lead: the house rule puts every constant in src/constants.ts, which this helper does not
 * own; this module is meant to move there as one section.
 */
import {
  BKLM_HALF_LENGTH,
  BKLM_INNER_RADIUS,
  EKLM_SECTION_FRONT,
  EKLM_SECTION_INNER_RADIUS,
  EKLM_SECTION_LENGTH,
  EKLM_SECTION_OUTER_RADIUS,
  WORLD_RADIUS,
} from "../constants.js";

/** MaxDistSigma: per-coordinate association gate in σ of H C Hᵀ + V (MuidModule, klm.md §2.4) [V] */
export const MUID_MAX_DIST_SIGMA = 3.5;
/** same-sector barrel candidates need |dn| < 2 cm; endcap candidates |dn| ≤ 2 cm (findMatching*Hit, §2.4) [V] */
export const MUID_SAME_PLANE_MAX_DN = 2.0;
/** adjacent-sector barrel candidates: |dn| ≤ 50 cm, plane mismatch ≤ 1 cm, track projection ≤ 15 cm (§2.4) [V] */
export const MUID_ADJACENT_MAX_DN = 50.0;
export const MUID_ADJACENT_PLANE_TOLERANCE = 1.0;
export const MUID_ADJACENT_MAX_PROJECTION = 15.0;
/** adjustIntersection skips a track nearly tangent to the readout plane: |d̂·n̂_A| < 1e-6 (§2.5) [V] */
export const MUID_MIN_DIRECTION_NORMAL = 1e-6;
/** MeanDt and MaxDt: hits with |t − MeanDt| > MaxDt are ignored, ns (MuidModule, §2.2) [V] */
export const MUID_MEAN_DT = 0.0;
export const MUID_MAX_DT = 10000.0;
/** MinPt: tracks below this transverse momentum are not extrapolated, GeV/c (§2.2) [V] */
export const MUID_MIN_PT = 0.1;
/** With B = 0 the hit variances are multiplied by 10 (adjustIntersection, §2.2) [V] */
export const MUID_ZERO_FIELD_VARIANCE_SCALE = 10.0;

/** Muid's barrel volume for crossings and updated points: 201.9 < r < 353.5/cos(π/8) cm, |z − 47| < 230 cm (§2.2–2.3) [V] */
export const MUID_BARREL_MIN_R = BKLM_INNER_RADIUS;
export const MUID_BARREL_MAX_R = WORLD_RADIUS;
export const MUID_BARREL_HALF_LENGTH = BKLM_HALF_LENGTH;
/** Muid's endcap volume: 128 < r < 353.5 cm, ||z − 47| − 296.05| < 66.05 cm (§3.3 EndcapMiddleZ, EndcapHalfLength) [V] */
export const MUID_ENDCAP_MIN_R = EKLM_SECTION_INNER_RADIUS;
export const MUID_ENDCAP_MAX_R = EKLM_SECTION_OUTER_RADIUS;
export const MUID_ENDCAP_HALF_LENGTH = EKLM_SECTION_LENGTH / 2;
export const MUID_ENDCAP_MIDDLE_Z = EKLM_SECTION_FRONT + MUID_ENDCAP_HALF_LENGTH;
