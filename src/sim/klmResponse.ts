/**
 * KLM detector response: layer crossings of the transport → 2-D hits (basf2 KLMHit2d-like KlmHit), and
 * beam-background hits.
 *
 * Per crossing (physics.md §1.5, klm.md §3):
 * - per-layer efficiency (conditions.klmEfficiency, default 0.96) for the 2-D hit;
 * - strip quantisation in both views (klm.ts numbering); outside the strips there is no hit;
 * - cluster size: RPC layers draw 1–4 strips from basf2's BKLMSimulationPar table by the position inside
 *   the strip (division 0 = centre … 4 = edge), extra strips added alternately starting on the side of the
 *   hit, as basf2's SensitiveDetector does; scintillators fire the strips the track crosses within the
 *   strip thickness, plus an occasional δ-ray neighbour (KLM_DELTA_RAY_PROBABILITY [A]);
 * - shower crossings widen both clusters by their half-width;
 * - the hit position is the centre of the two clusters on the layer plane, its time the crossing time
 *   smeared by KLM_TIME_RESOLUTION.
 * Background (physics.md §5.4 [A]): uniform single-strip hits at KLM_BACKGROUND_DENSITY_* × klmBackground.
 */
import type { DetectorConditions, KlmHit, KlmSection } from "./types.js";
import type { Random } from "./random.js";
import type { KlmCrossing } from "./transport.js";
import { hypot2 } from "../math/hypot.js";
import { InputError } from "../errors.js";
import {
  DETECTOR_Z_OFFSET,
  BKLM_LAYERS,
  BKLM_SCINTILLATOR_THICKNESS,
  BKLM_SECTORS,
  EKLM_ACTIVE_INNER_RADIUS,
  EKLM_ACTIVE_OUTER_RADIUS,
  EKLM_BACKWARD_LAYERS,
  EKLM_FORWARD_LAYERS,
  EKLM_SECTORS,
  EKLM_STRIP_THICKNESS,
  KLM_BACKGROUND_DENSITY_RPC,
  KLM_BACKGROUND_DENSITY_SCINTILLATOR,
  KLM_BACKGROUND_TIME_WINDOW,
  KLM_DELTA_RAY_PROBABILITY,
  KLM_TIME_RESOLUTION,
  RPC_PHI_MULTIPLICITY_WEIGHTS,
  RPC_Z_MULTIPLICITY_WEIGHTS,
} from "../constants.js";
import {
  barrelLayerRadius,
  barrelPhiStripCount,
  barrelPhiStripWidth,
  barrelZStripCount,
  barrelZStripWidth,
  endcapLayerZ,
  endcapStripCentre,
  endcapStripCoordinate,
  endcapStripCount,
  endcapStripWidth,
  isScintillatorLayer,
  sectorCos,
  sectorSin,
} from "../geometry/klm.js";
import { sinCos } from "../math/ieee754.js";

/** sin and cos of a background hit's angle (sinCos: one argument reduction, no boxed results). */
const SIN_COS = new Float64Array(2);

/** Cumulative distributions of the RPC strip multiplicity per division (normalised weights). */
function cumulative(weights: readonly (readonly number[])[]): Float64Array[] {
  return weights.map((row) => {
    const total = row.reduce((a, b) => a + b, 0);
    let acc = 0;
    return Float64Array.from(row, (w) => (acc += w) / total);
  });
}
const RPC_PHI_CDF = cumulative(RPC_PHI_MULTIPLICITY_WEIGHTS);
const RPC_Z_CDF = cumulative(RPC_Z_MULTIPLICITY_WEIGHTS);

/** Probability of each RPC cluster size 1–4 for a hit at fractional position `frac` (0–1) inside its strip. */
export function rpcMultiplicityProbabilities(view: "phi" | "z", frac: number): number[] {
  const row = (view === "phi" ? RPC_PHI_MULTIPLICITY_WEIGHTS : RPC_Z_MULTIPLICITY_WEIGHTS)[rpcDivision(frac)]!;
  const total = row.reduce((a, b) => a + b, 0);
  return row.map((w) => w / total);
}

/** basf2's division of the position inside a strip: floor(|frac − 0.5| × 10), 0 (centre) … 4 (edge). */
export function rpcDivision(frac: number): number {
  return Math.min(4, Math.floor(Math.abs(frac - 0.5) * 10));
}

/** A cluster [min, max] of strips, written into `range`. */
const range = { min: 0, max: 0 };

/**
 * RPC cluster around the continuous strip coordinate c (strip k covers [k − 1, k)): size drawn from the
 * multiplicity table, extra strips alternately on the side of the hit and the other (basf2 order).
 */
function rpcCluster(c: number, nStrips: number, cdf: Float64Array[], rng: Random): void {
  const strip = Math.floor(c) + 1;
  const frac = c - Math.floor(c);
  const row = cdf[rpcDivision(frac)]!;
  const u = rng.uniform();
  let n = 1;
  while (n < row.length && row[n - 1]! <= u) n++;
  let lo = strip, hi = strip;
  let next = frac > 0.5 ? 1 : -1;
  let current = strip;
  while (--n > 0) {
    current += next;
    if (current >= 1 && current <= nStrips) {
      if (current < lo) lo = current;
      if (current > hi) hi = current;
    }
    next = next > 0 ? -(1 + next) : 1 - next;
  }
  range.min = lo;
  range.max = hi;
}

/**
 * Scintillator cluster: the strips the track crosses within the strip thickness (extent = thickness ×
 * |tan| of the crossing angle in this view, in strip units), plus a δ-ray neighbour now and then.
 */
function scintillatorCluster(c: number, extent: number, nStrips: number, rng: Random): void {
  let lo = Math.floor(c - extent / 2) + 1;
  let hi = Math.floor(c + extent / 2) + 1;
  if (rng.uniform() < KLM_DELTA_RAY_PROBABILITY) {
    if (rng.uniform() < 0.5) lo -= 1;
    else hi += 1;
  }
  range.min = Math.max(1, lo);
  range.max = Math.min(nStrips, hi);
}

function requireProbability(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new InputError(`${name} ${value} must be a number in [0, 1]`);
}

function requireCrossing(c: KlmCrossing, i: number): void {
  if (!Number.isFinite(c.x) || !Number.isFinite(c.y) || !Number.isFinite(c.z) || !Number.isFinite(c.time)) {
    throw new InputError(`KLM crossing ${i}: position (${c.x}, ${c.y}, ${c.z}) or time ${c.time} is not finite`);
  }
  const maxLayer = c.section === "barrel" ? BKLM_LAYERS : c.section === "forward" ? EKLM_FORWARD_LAYERS : c.section === "backward" ? EKLM_BACKWARD_LAYERS : -1;
  if (maxLayer < 0) throw new InputError(`KLM crossing ${i}: unknown section ${JSON.stringify(c.section)}`);
  if (!Number.isInteger(c.layer) || c.layer < 1 || c.layer > maxLayer) throw new InputError(`KLM crossing ${i}: ${c.section} layer ${c.layer} is out of range (1..${maxLayer})`);
  const maxSector = c.section === "barrel" ? BKLM_SECTORS : EKLM_SECTORS;
  if (!Number.isInteger(c.sector) || c.sector < 1 || c.sector > maxSector) throw new InputError(`KLM crossing ${i}: ${c.section} sector ${c.sector} is out of range (1..${maxSector})`);
}

/**
 * The 2-D hits of one track's layer crossings. `trackIndex` is stored as the hits' truthTrack.
 * Crossings outside the strips give no hit; a layer's hit is lost with probability 1 − klmEfficiency.
 * The hits are appended to `hits` (the event's list when given), which is returned.
 */
export function klmHitsFromCrossings(
  crossings: readonly KlmCrossing[], trackIndex: number, rng: Random, conditions: DetectorConditions, hits: KlmHit[] = [],
): KlmHit[] {
  requireProbability("KLM efficiency", conditions.klmEfficiency);
  for (let i = 0; i < crossings.length; i++) {
    const c = crossings[i]!;
    requireCrossing(c, i);
    if (rng.uniform() >= conditions.klmEfficiency) continue;
    const hit = c.section === "barrel" ? barrelHit(c, rng) : endcapHit(c, rng);
    if (hit === null) continue;
    hit.truthTrack = trackIndex;
    hits.push(hit);
  }
  return hits;
}

/** Per barrel layer (index = layer 1–15): strips and widths of both views and the detector type, from klm.ts once. */
const BARREL_PHI_STRIPS = new Int32Array(BKLM_LAYERS + 1);
const BARREL_Z_STRIPS = new Int32Array(BKLM_LAYERS + 1);
const BARREL_PHI_WIDTH = new Float64Array(BKLM_LAYERS + 1);
const BARREL_Z_WIDTH = new Float64Array(BKLM_LAYERS + 1);
const BARREL_SCINTILLATOR = new Uint8Array(BKLM_LAYERS + 1);
/** layer plane radius per (layer, sector): index 8·layer + sector − 1 */
const BARREL_PLANE_RADIUS = new Float64Array(BKLM_SECTORS * (BKLM_LAYERS + 1));
for (let layer = 1; layer <= BKLM_LAYERS; layer++) {
  BARREL_PHI_STRIPS[layer] = barrelPhiStripCount(layer);
  BARREL_Z_STRIPS[layer] = barrelZStripCount(layer);
  BARREL_PHI_WIDTH[layer] = barrelPhiStripWidth(layer);
  BARREL_Z_WIDTH[layer] = barrelZStripWidth(layer);
  BARREL_SCINTILLATOR[layer] = isScintillatorLayer("barrel", layer) ? 1 : 0;
  for (let sector = 1; sector <= BKLM_SECTORS; sector++) BARREL_PLANE_RADIUS[BKLM_SECTORS * layer + sector - 1] = barrelLayerRadius(layer, sector);
}

/**
 * A barrel crossing's hit: klm.ts's barrelLocal, strip coordinates, strip centres and barrelGlobal
 * written out with the per-layer tables (the same arithmetic, without the per-call checks and objects).
 */
function barrelHit(c: KlmCrossing, rng: Random): KlmHit | null {
  const layer = c.layer;
  const sector = c.sector;
  const cos = sectorCos(sector), sin = sectorSin(sector);
  const localU = -c.x * sin + c.y * cos;
  const localZeta = c.z - DETECTOR_Z_OFFSET;
  const nPhi = BARREL_PHI_STRIPS[layer]!;
  const nZ = BARREL_Z_STRIPS[layer]!;
  const wPhi = BARREL_PHI_WIDTH[layer]!;
  const wZ = BARREL_Z_WIDTH[layer]!;
  const cu = localU / wPhi + nPhi / 2;
  const cv = localZeta / wZ + nZ;
  if (cu < 0 || cu >= nPhi || cv < 0 || cv >= 2 * nZ) return null;
  let uMin: number, uMax: number, vMin: number, vMax: number;
  if (BARREL_SCINTILLATOR[layer] === 1) {
    const pPerp = Math.abs(c.px * cos + c.py * sin) || 1e-9;
    const pU = -c.px * sin + c.py * cos;
    scintillatorCluster(cu, (BKLM_SCINTILLATOR_THICKNESS * Math.abs(pU / pPerp)) / wPhi, nPhi, rng);
    uMin = range.min; uMax = range.max;
    scintillatorCluster(cv, (BKLM_SCINTILLATOR_THICKNESS * Math.abs(c.pz / pPerp)) / wZ, 2 * nZ, rng);
    vMin = range.min; vMax = range.max;
  } else {
    rpcCluster(cu, nPhi, RPC_PHI_CDF, rng);
    uMin = range.min; uMax = range.max;
    rpcCluster(cv, 2 * nZ, RPC_Z_CDF, rng);
    vMin = range.min; vMax = range.max;
  }
  if (c.clusterHalfWidth > 0) {
    uMin = Math.max(1, Math.min(uMin, Math.floor(cu - c.clusterHalfWidth / wPhi) + 1));
    uMax = Math.min(nPhi, Math.max(uMax, Math.floor(cu + c.clusterHalfWidth / wPhi) + 1));
    vMin = Math.max(1, Math.min(vMin, Math.floor(cv - c.clusterHalfWidth / wZ) + 1));
    vMax = Math.min(2 * nZ, Math.max(vMax, Math.floor(cv + c.clusterHalfWidth / wZ) + 1));
  }
  // strip centres (barrelPhiStripCentre, barrelZStripCentre) and the global point (barrelGlobal)
  const u = 0.5 * ((uMin - 0.5 - nPhi / 2) * wPhi + (uMax - 0.5 - nPhi / 2) * wPhi);
  const zeta = 0.5 * ((vMin - 0.5 - nZ) * wZ + (vMax - 0.5 - nZ) * wZ);
  const perp = BARREL_PLANE_RADIUS[BKLM_SECTORS * layer + sector - 1]!;
  return {
    section: "barrel", sector, layer, x: perp * cos - u * sin, y: perp * sin + u * cos, z: zeta + DETECTOR_Z_OFFSET,
    uStripMin: uMin, uStripMax: uMax, vStripMin: vMin, vStripMax: vMax,
    time: c.time + KLM_TIME_RESOLUTION * rng.gauss(), truthTrack: -1,
  };
}

function endcapHit(c: KlmCrossing, rng: Random): KlmHit | null {
  const section = c.section as "forward" | "backward";
  const r = hypot2(c.x, c.y);
  if (r < EKLM_ACTIVE_INNER_RADIUS || r > EKLM_ACTIVE_OUTER_RADIUS) return null;
  const n = endcapStripCount();
  const w = endcapStripWidth();
  const cu = endcapStripCoordinate(c.x);
  const cv = endcapStripCoordinate(c.y);
  if (cu < 0 || cu >= n || cv < 0 || cv >= n) return null;
  const pz = Math.abs(c.pz) || 1e-9;
  scintillatorCluster(cu, (EKLM_STRIP_THICKNESS * Math.abs(c.px / pz)) / w, n, rng);
  let uMin = range.min, uMax = range.max;
  scintillatorCluster(cv, (EKLM_STRIP_THICKNESS * Math.abs(c.py / pz)) / w, n, rng);
  let vMin = range.min, vMax = range.max;
  if (c.clusterHalfWidth > 0) {
    uMin = Math.max(1, Math.min(uMin, Math.floor(cu - c.clusterHalfWidth / w) + 1));
    uMax = Math.min(n, Math.max(uMax, Math.floor(cu + c.clusterHalfWidth / w) + 1));
    vMin = Math.max(1, Math.min(vMin, Math.floor(cv - c.clusterHalfWidth / w) + 1));
    vMax = Math.min(n, Math.max(vMax, Math.floor(cv + c.clusterHalfWidth / w) + 1));
  }
  const x = Math.sign(c.x || 1) * 0.5 * (endcapStripCentre(uMin) + endcapStripCentre(uMax));
  const y = Math.sign(c.y || 1) * 0.5 * (endcapStripCentre(vMin) + endcapStripCentre(vMax));
  return {
    section, sector: c.sector, layer: c.layer, x, y, z: endcapLayerZ(section, c.layer),
    uStripMin: uMin, uStripMax: uMax, vStripMin: vMin, vStripMax: vMax,
    time: c.time + KLM_TIME_RESOLUTION * rng.gauss(), truthTrack: -1,
  };
}

// ───────────── beam background ─────────────

const ENDCAP_QUADRANT_AREA = (Math.PI / 4) * (EKLM_ACTIVE_OUTER_RADIUS ** 2 - EKLM_ACTIVE_INNER_RADIUS ** 2);

/**
 * Expected background hits drawn in one sector of one layer per event at ×1: density × the strip-covered
 * area (barrel) or × the active annulus quadrant (endcap; the draws falling where the endcap strips leave
 * the quadrant uncovered, |x| or |y| > 300 cm, are dropped).
 */
export function klmBackgroundMean(section: KlmSection, layer: number): number {
  if (section === "barrel") {
    const area = barrelPhiStripCount(layer) * barrelPhiStripWidth(layer) * 2 * barrelZStripCount(layer) * barrelZStripWidth(layer);
    return area * (isScintillatorLayer("barrel", layer) ? KLM_BACKGROUND_DENSITY_SCINTILLATOR : KLM_BACKGROUND_DENSITY_RPC);
  }
  return ENDCAP_QUADRANT_AREA * KLM_BACKGROUND_DENSITY_SCINTILLATOR;
}

/** Every (section, layer, sector) with its geometry, and the cumulative background means for drawing one. */
interface BackgroundCell {
  section: KlmSection;
  layer: number;
  sector: number;
  /** barrel: strips per view, plane radius, strip widths, sector normal; endcap: plane z */
  nU: number;
  nV: number;
  radius: number;
  widthU: number;
  widthV: number;
  cos: number;
  sin: number;
  z: number;
}
const BACKGROUND_CELLS: BackgroundCell[] = [];
const BACKGROUND_CUMULATIVE_LIST: number[] = [];
{
  let total = 0;
  for (let layer = 1; layer <= BKLM_LAYERS; layer++) {
    for (let sector = 1; sector <= BKLM_SECTORS; sector++) {
      BACKGROUND_CELLS.push({
        section: "barrel", layer, sector,
        nU: barrelPhiStripCount(layer), nV: 2 * barrelZStripCount(layer), radius: barrelLayerRadius(layer, sector),
        widthU: barrelPhiStripWidth(layer), widthV: barrelZStripWidth(layer), cos: sectorCos(sector), sin: sectorSin(sector), z: 0,
      });
      BACKGROUND_CUMULATIVE_LIST.push((total += klmBackgroundMean("barrel", layer)));
    }
  }
  for (const section of ["forward", "backward"] as const) {
    const layers = section === "forward" ? EKLM_FORWARD_LAYERS : EKLM_BACKWARD_LAYERS;
    for (let layer = 1; layer <= layers; layer++) {
      for (let sector = 1; sector <= EKLM_SECTORS; sector++) {
        BACKGROUND_CELLS.push({
          section, layer, sector, nU: endcapStripCount(), nV: endcapStripCount(), radius: 0,
          widthU: endcapStripWidth(), widthV: endcapStripWidth(), cos: 0, sin: 0, z: endcapLayerZ(section, layer),
        });
        BACKGROUND_CUMULATIVE_LIST.push((total += klmBackgroundMean(section, layer)));
      }
    }
  }
}
const BACKGROUND_CUMULATIVE = Float64Array.from(BACKGROUND_CUMULATIVE_LIST);
const BACKGROUND_LAST = BACKGROUND_CUMULATIVE.length - 1;
const BACKGROUND_TOTAL = BACKGROUND_CUMULATIVE[BACKGROUND_LAST]!;
/** The cells' numbers as flat typed arrays for the hot loop (barrel first: index < BACKGROUND_BARREL_CELLS). */
const BACKGROUND_BARREL_CELLS = BKLM_LAYERS * BKLM_SECTORS;
const CELL_N_U = Int32Array.from(BACKGROUND_CELLS, (c) => c.nU);
const CELL_N_V = Int32Array.from(BACKGROUND_CELLS, (c) => c.nV);
const CELL_X0 = Float64Array.from(BACKGROUND_CELLS, (c) => c.radius * c.cos);
const CELL_Y0 = Float64Array.from(BACKGROUND_CELLS, (c) => c.radius * c.sin);
const CELL_WIDTH_U = Float64Array.from(BACKGROUND_CELLS, (c) => c.widthU);
const CELL_WIDTH_V = Float64Array.from(BACKGROUND_CELLS, (c) => c.widthV);
const CELL_COS = Float64Array.from(BACKGROUND_CELLS, (c) => c.cos);
const CELL_SIN = Float64Array.from(BACKGROUND_CELLS, (c) => c.sin);
/**
 * Guide table for the cell search: BACKGROUND_GUIDE[g] is the cell of u = g·TOTAL/G. The search starts
 * there and steps to the smallest index with cumulative > u (what a binary search finds), in ~1 step.
 */
const BACKGROUND_GUIDE_SIZE = 512;
const BACKGROUND_GUIDE = new Int32Array(BACKGROUND_GUIDE_SIZE + 1);
/** u × this ≈ the guide bucket (any bucket near u is a correct start; the search fixes the rest) */
const BACKGROUND_GUIDE_SCALE = BACKGROUND_GUIDE_SIZE / BACKGROUND_TOTAL;
for (let g = 0, i = 0; g <= BACKGROUND_GUIDE_SIZE; g++) {
  const u = (g * BACKGROUND_TOTAL) / BACKGROUND_GUIDE_SIZE;
  while (i < BACKGROUND_LAST && BACKGROUND_CUMULATIVE[i]! <= u) i++;
  BACKGROUND_GUIDE[g] = i;
}

/**
 * Beam-background 2-D hits of one event: in every sector of every layer Poisson(mean × klmBackground)
 * single-strip hits (drawn as one Poisson total split over the sectors and layers in proportion to their
 * means, the same distribution), uniform over the strip-covered area (barrel) or the active annulus
 * quadrant (endcap), uniform in time within ±KLM_BACKGROUND_TIME_WINDOW; truthTrack −1. The hits are
 * appended to `hits` (the event's list when given), which is returned.
 */
export function klmBackgroundHits(rng: Random, conditions: DetectorConditions, hits: KlmHit[] = []): KlmHit[] {
  const scale = conditions.klmBackground;
  if (!Number.isFinite(scale) || scale < 0) throw new InputError(`KLM background scale ${scale} must be a finite number ≥ 0`);
  if (scale === 0) return hits;
  const count = rng.poisson(BACKGROUND_TOTAL * scale);
  const rIn2 = EKLM_ACTIVE_INNER_RADIUS ** 2;
  const rOut2 = EKLM_ACTIVE_OUTER_RADIUS ** 2;
  for (let k = 0; k < count; k++) {
    // One uniform picks the sector of a layer (the first cell whose cumulative mean exceeds it); what is left
    // of it, rescaled, is again uniform and independent and picks the strips (saves random numbers in a hot loop).
    const u = rng.uniform() * BACKGROUND_TOTAL;
    let lo = BACKGROUND_GUIDE[Math.min((u * BACKGROUND_GUIDE_SCALE) | 0, BACKGROUND_GUIDE_SIZE)]!;
    while (lo > 0 && BACKGROUND_CUMULATIVE[lo - 1]! > u) lo--;
    while (lo < BACKGROUND_LAST && BACKGROUND_CUMULATIVE[lo]! <= u) lo++;
    const below = lo === 0 ? 0 : BACKGROUND_CUMULATIVE[lo - 1]!;
    let rest = (u - below) / (BACKGROUND_CUMULATIVE[lo]! - below);
    const second = rng.uniform();
    const time = -KLM_BACKGROUND_TIME_WINDOW + 2 * KLM_BACKGROUND_TIME_WINDOW * second;
    const nU = CELL_N_U[lo]!, nV = CELL_N_V[lo]!;
    if (lo < BACKGROUND_BARREL_CELLS) {
      const cell = BACKGROUND_CELLS[lo]!;
      let a = rest * nU;
      const us = Math.min(Math.floor(a), nU - 1) + 1;
      rest = a - (us - 1);
      a = rest * nV;
      const vs = Math.min(Math.floor(a), nV - 1) + 1;
      // strip centres (klm.ts barrelPhiStripCentre / barrelZStripCentre) on the layer plane
      const lu = (us - 0.5 - nU / 2) * CELL_WIDTH_U[lo]!;
      const zeta = (vs - 0.5 - nV / 2) * CELL_WIDTH_V[lo]!;
      hits.push({
        section: "barrel", sector: cell.sector, layer: cell.layer,
        x: CELL_X0[lo]! - lu * CELL_SIN[lo]!, y: CELL_Y0[lo]! + lu * CELL_COS[lo]!, z: zeta + DETECTOR_Z_OFFSET,
        uStripMin: us, uStripMax: us, vStripMin: vs, vStripMax: vs, time, truthTrack: -1,
      });
      continue;
    }
    // uniform in the quadrant's annulus: r² uniform (the rest of the first uniform), angle uniform (a third one)
    const cell = BACKGROUND_CELLS[lo]!;
    const r = Math.sqrt(rIn2 + (rOut2 - rIn2) * rest);
    const a = (cell.sector - 1) * (Math.PI / 2) + (Math.PI / 2) * rng.uniform();
    sinCos(a, SIN_COS);
    const us = Math.floor(endcapStripCoordinate(r * SIN_COS[1]!)) + 1;
    const vs = Math.floor(endcapStripCoordinate(r * SIN_COS[0]!)) + 1;
    if (us < 1 || us > nU || vs < 1 || vs > nV) continue;
    const sx = cell.sector === 1 || cell.sector === 4 ? 1 : -1;
    const sy = cell.sector <= 2 ? 1 : -1;
    hits.push({
      section: cell.section, sector: cell.sector, layer: cell.layer, x: sx * endcapStripCentre(us), y: sy * endcapStripCentre(vs), z: cell.z,
      uStripMin: us, uStripMax: us, vStripMin: vs, vStripMax: vs, time, truthTrack: -1,
    });
  }
  return hits;
}
