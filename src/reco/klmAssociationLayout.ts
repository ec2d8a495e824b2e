/**
 * Memory layout shared by the association kernel (assembly/klmAssociation.ts) and its scalar TypeScript
 * twin (klmAssociationScalar.ts). Everything is float64: the Kalman update subtracts nearly equal
 * covariances (C − C Hᵀ R⁻¹ H C) and Muid itself works in double precision, so f32 would change
 * decisions near the 3.5σ gate; in f64 the kernel and the twin execute the same IEEE operations in the
 * same order and agree bit for bit.
 *
 * Three blocks, offsets in f64 elements (a byte pointer is 8× that):
 *
 * CONFIG (written once): Muid's parameters and the barrel geometry.
 *   0 maxDistSq (3.5²)          1 sameSectorMaxDn (2)        2 adjacentMaxDn (50)
 *   3 adjacentPlaneTolerance (1) 4 adjacentMaxProjection (15) 5 meanDt  6 maxDt
 *   7 varianceScale (1, or 10 without field)  8 minDirectionNormal (1e-6)
 *   9 barrelMinR 10 barrelMaxR 11 barrelHalfLength 12 zOffset
 *   13 endcapMinR 14 endcapMaxR 15 endcapMiddleZ 16 endcapHalfLength
 *   24–31 cos φ_s, 32–39 sin φ_s of barrel sectors 0–7 (outward normals)
 *   40–159 barrel module middle radius [layer 0–14][sector 0–7] (the crossing planes)
 *
 * CROSSING (per crossed layer, in/out):
 *   0 inBarrel (1/0)  1 isForward (1/0; out: the matched hit's)  2 sector 0-based (out: the hit's)  3 layer 0-based
 *   4–9 state x, y, z (cm), px, py, pz (GeV/c) on the crossing plane (out: the filtered state when applied)
 *   10–45 6×6 covariance of the state, row-major (out: filtered when applied)
 *   46 out: χ² of the matched hit on the filtered state (the relation weight), −1 when none
 *   47 out: matched candidate, index relative to `first`, −1 when none
 *   48 out: 1 if the Kalman update was applied and counts in Σχ² / ndof (0: no match, or the updated
 *      point left the KLM volume: the hit still counts in the patterns, klm.md §2.5 item 7)
 *   49–51 out: extrapolated point moved onto the hit's plane (KLMMuidHit positionAtHitPlane)
 *   52–53 out: pre-filter residuals (U, V)   54–56 out: H C Hᵀ + V before the update (UU, UV, VV)
 *
 * HITS (per event, structure of arrays of `capacity` entries each, array k at element k·capacity):
 *   0 x  1 y  2 z (cm)  3 varU  4 varV (cm², muidHitVariances)  5 time (ns)  6 sector 0-based  7 isForward (1/0)
 * Hits are sorted into buckets (barrel layer; forward/backward endcap layer) so that the candidates of a
 * crossing are the contiguous range [first, first + count).
 */
import {
  BKLM_LAYERS,
  BKLM_SECTORS,
  DETECTOR_Z_OFFSET,
  EKLM_LAYER_SLOTS,
  MUID_ADJACENT_MAX_DN,
  MUID_ADJACENT_MAX_PROJECTION,
  MUID_ADJACENT_PLANE_TOLERANCE,
  MUID_BARREL_HALF_LENGTH,
  MUID_BARREL_MAX_R,
  MUID_BARREL_MIN_R,
  MUID_ENDCAP_HALF_LENGTH,
  MUID_ENDCAP_MAX_R,
  MUID_ENDCAP_MIDDLE_Z,
  MUID_ENDCAP_MIN_R,
  MUID_MAX_DIST_SIGMA,
  MUID_MAX_DT,
  MUID_MEAN_DT,
  MUID_MIN_DIRECTION_NORMAL,
  MUID_SAME_PLANE_MAX_DN,
  MUID_ZERO_FIELD_VARIANCE_SCALE,
} from "../constants.js";
import { barrelLayerRadius, muidHitVariances, sectorCos, sectorSin } from "../geometry/klm.js";
import type { KlmHit } from "../sim/types.js";
import { InputError } from "../errors.js";

export const CONFIG = {
  maxDistSq: 0, sameSectorMaxDn: 1, adjacentMaxDn: 2, adjacentPlaneTolerance: 3, adjacentMaxProjection: 4,
  meanDt: 5, maxDt: 6, varianceScale: 7, minDirectionNormal: 8,
  barrelMinR: 9, barrelMaxR: 10, barrelHalfLength: 11, zOffset: 12,
  endcapMinR: 13, endcapMaxR: 14, endcapMiddleZ: 15, endcapHalfLength: 16,
  sectorCos: 24, sectorSin: 32, barrelRadius: 40,
} as const;
export const CONFIG_WORDS = 160;

export const CROSSING = {
  inBarrel: 0, isForward: 1, sector: 2, layer: 3, state: 4, covariance: 10,
  chi2: 46, hit: 47, applied: 48, positionAtHitPlane: 49, residual: 52, residualCovariance: 54,
} as const;
export const CROSSING_WORDS = 64;

export const HIT_ARRAYS = { x: 0, y: 1, z: 2, varU: 3, varV: 4, time: 5, sector: 6, isForward: 7 } as const;
export const HIT_ARRAY_COUNT = 8;

/** Options of the association that a user may change (robustness studies). */
export interface AssociationSettings {
  /** Muid's gate in σ (default 3.5) */
  maxDistSigma?: number;
  /** the field scale of the extrapolation; 0 multiplies the hit variances by 10 as Muid does */
  fieldScale?: number;
}

/** Fills a CONFIG block at `offset` of `target`. */
export function writeAssociationConfig(target: Float64Array, offset: number, settings: AssociationSettings = {}): void {
  const sigma = settings.maxDistSigma ?? MUID_MAX_DIST_SIGMA;
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new InputError(`association gate ${sigma} σ must be a positive number`);
  const c = target.subarray(offset, offset + CONFIG_WORDS);
  c.fill(0);
  c[CONFIG.maxDistSq] = sigma * sigma;
  c[CONFIG.sameSectorMaxDn] = MUID_SAME_PLANE_MAX_DN;
  c[CONFIG.adjacentMaxDn] = MUID_ADJACENT_MAX_DN;
  c[CONFIG.adjacentPlaneTolerance] = MUID_ADJACENT_PLANE_TOLERANCE;
  c[CONFIG.adjacentMaxProjection] = MUID_ADJACENT_MAX_PROJECTION;
  c[CONFIG.meanDt] = MUID_MEAN_DT;
  c[CONFIG.maxDt] = MUID_MAX_DT;
  c[CONFIG.varianceScale] = settings.fieldScale === 0 ? MUID_ZERO_FIELD_VARIANCE_SCALE : 1;
  c[CONFIG.minDirectionNormal] = MUID_MIN_DIRECTION_NORMAL;
  c[CONFIG.barrelMinR] = MUID_BARREL_MIN_R;
  c[CONFIG.barrelMaxR] = MUID_BARREL_MAX_R;
  c[CONFIG.barrelHalfLength] = MUID_BARREL_HALF_LENGTH;
  c[CONFIG.zOffset] = DETECTOR_Z_OFFSET;
  c[CONFIG.endcapMinR] = MUID_ENDCAP_MIN_R;
  c[CONFIG.endcapMaxR] = MUID_ENDCAP_MAX_R;
  c[CONFIG.endcapMiddleZ] = MUID_ENDCAP_MIDDLE_Z;
  c[CONFIG.endcapHalfLength] = MUID_ENDCAP_HALF_LENGTH;
  for (let s = 0; s < BKLM_SECTORS; s++) {
    c[CONFIG.sectorCos + s] = sectorCos(s + 1);
    c[CONFIG.sectorSin + s] = sectorSin(s + 1);
    for (let layer = 0; layer < BKLM_LAYERS; layer++) c[CONFIG.barrelRadius + layer * BKLM_SECTORS + s] = barrelLayerRadius(layer + 1, s + 1);
  }
}

/** Bucket number of a section and 1-based layer: barrel 0–14, forward 15–28, backward 29–42. */
export function hitBucket(section: KlmHit["section"], layer: number): number {
  if (section === "barrel") return layer - 1;
  if (section === "forward") return BKLM_LAYERS + layer - 1;
  return BKLM_LAYERS + EKLM_LAYER_SLOTS + layer - 1;
}
export const HIT_BUCKETS = BKLM_LAYERS + 2 * EKLM_LAYER_SLOTS;

function requireHit(hit: KlmHit, index: number): void {
  const finite = Number.isFinite(hit.x) && Number.isFinite(hit.y) && Number.isFinite(hit.z) && Number.isFinite(hit.time) &&
    Number.isFinite(hit.sector) && Number.isFinite(hit.layer) && Number.isFinite(hit.uStripMin) && Number.isFinite(hit.uStripMax) &&
    Number.isFinite(hit.vStripMin) && Number.isFinite(hit.vStripMax);
  if (!finite) throw new InputError(`KLM hit ${index}: position, time, sector, layer and strips must be finite numbers`);
  const maxSector = hit.section === "barrel" ? BKLM_SECTORS : 4;
  if (!Number.isInteger(hit.sector) || hit.sector < 1 || hit.sector > maxSector) throw new InputError(`KLM hit ${index}: ${hit.section} sector ${hit.sector} is out of range (1..${maxSector})`);
  if (hit.uStripMax < hit.uStripMin || hit.vStripMax < hit.vStripMin) throw new InputError(`KLM hit ${index}: strip range max < min`);
}

/** Scratch of EventHitTable (the variances of one hit at a time). */
const HIT_VARIANCES = new Float64Array(2);

/**
 * The hits of one event in the HITS layout, bucket-sorted. `order[k]` is the event index of the hit at
 * position k; `bucketFirst[b]`, `bucketCount[b]` give the candidates of bucket b.
 */
export class EventHitTable {
  readonly capacity: number;
  readonly data: Float64Array;
  readonly order: Int32Array;
  readonly bucketFirst = new Int32Array(HIT_BUCKETS);
  readonly bucketCount = new Int32Array(HIT_BUCKETS);

  constructor(hits: readonly KlmHit[]) {
    const n = hits.length;
    this.capacity = n;
    this.data = new Float64Array(Math.max(n, 1) * HIT_ARRAY_COUNT);
    this.order = new Int32Array(n);
    const buckets = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const hit = hits[i]!;
      if (hit.section !== "barrel" && hit.section !== "forward" && hit.section !== "backward") throw new InputError(`KLM hit ${i}: unknown section ${JSON.stringify(hit.section)}`);
      requireHit(hit, i);
      // layer range is checked by muidHitVariances (InputError naming the layer)
      buckets[i] = hitBucket(hit.section, hit.layer);
      this.bucketCount[buckets[i]!]!++;
    }
    let start = 0;
    for (let b = 0; b < HIT_BUCKETS; b++) {
      this.bucketFirst[b] = start;
      start += this.bucketCount[b]!;
    }
    const fill = Int32Array.from(this.bucketFirst);
    const cap = Math.max(n, 1);
    const d = this.data;
    for (let i = 0; i < n; i++) {
      const hit = hits[i]!;
      const k = fill[buckets[i]!]!++;
      this.order[k] = i;
      const variances = muidHitVariances(hit, HIT_VARIANCES);
      const varU = variances[0]!, varV = variances[1]!;
      d[HIT_ARRAYS.x * cap + k] = hit.x;
      d[HIT_ARRAYS.y * cap + k] = hit.y;
      d[HIT_ARRAYS.z * cap + k] = hit.z;
      d[HIT_ARRAYS.varU * cap + k] = varU;
      d[HIT_ARRAYS.varV * cap + k] = varV;
      d[HIT_ARRAYS.time * cap + k] = hit.time;
      d[HIT_ARRAYS.sector * cap + k] = hit.sector - 1;
      d[HIT_ARRAYS.isForward * cap + k] = hit.section === "backward" || (hit.section === "barrel" && hit.z <= DETECTOR_Z_OFFSET) ? 0 : 1;
    }
  }

  /** Array stride (entries per array) of `data`: the capacity, at least 1. */
  get stride(): number {
    return Math.max(this.capacity, 1);
  }
}
