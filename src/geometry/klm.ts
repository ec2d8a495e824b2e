/**
 * KLM geometry (klm.md §1.4, §2.3, §3; physics.md §1.3–1.4): barrel (BKLM) octagon of 8 sectors with 15
 * detector layers and 14 + 1 iron plates, endcaps (EKLM) with 4 sectors, 14 layer slots (forward 14,
 * backward 12 detector layers); basf2's 29-slot layer numbering; strip widths and counts; the layer
 * planes, sector of a point, strip quantisation and the Muid hit variances.
 *
 * Frames. Global coordinates in cm with the IP at the origin; ζ = z − 47 cm is measured from the KLM
 * centre. Barrel sector s (1–8) has its outward normal at φ_s = 45°·(s−1) (BKLM.xml); its local
 * coordinates are perp = (x, y)·n̂_s (distance of the layer plane from the axis), u = (x, y)·φ̂_s along
 * the φ strips' measuring direction, and ζ along the z strips'. Endcap sectors are the quadrants
 * 1: x ≥ 0, y ≥ 0; 2: x < 0, y ≥ 0; 3: x < 0, y < 0; 4: x ≥ 0, y < 0 [A: basf2's EKLM sector numbering
 * was not available]; U strips measure x, V strips measure y.
 *
 * Strip numbering (ours, documented; basf2 numbers each barrel half separately): barrel φ strips 1…N
 * across the sector face, centred on the sector normal; barrel z strips 1…2N along z over both halves
 * (N per half from ζ = 0 outward); endcap strips 1…75 over |x| or |y| ∈ [0, 300] cm of the quadrant [A].
 */
import { InputError } from "../errors.js";
import type { KlmHit, KlmSection } from "../sim/types.js";
import {
  BKLM_CHIMNEY_SECTOR,
  BKLM_FIRST_RPC_LAYER,
  BKLM_GAP1_HEIGHT,
  BKLM_GAP_HEIGHT,
  BKLM_GAP_INNER_RADIUS,
  BKLM_HALF_LENGTH,
  BKLM_INNER_RADIUS,
  BKLM_LAYERS,
  BKLM_LAYER_PITCH,
  BKLM_OUTER_RADIUS,
  BKLM_RPC_PHI_STRIPS_INNER,
  BKLM_RPC_PHI_STRIPS_OUTER,
  BKLM_RPC_PHI_STRIP_WIDTH,
  BKLM_RPC_Z_STRIPS,
  BKLM_RPC_Z_STRIP_WIDTH,
  BKLM_SCINTILLATOR_PHI_STRIPS,
  BKLM_SCINTILLATOR_STRIP_WIDTH,
  BKLM_SCINTILLATOR_Z_STRIPS,
  BKLM_SECTORS,
  BKLM_SECTOR_RADIUS_OFFSET,
  DETECTOR_Z_OFFSET,
  EKLM_ACTIVE_INNER_RADIUS,
  EKLM_ACTIVE_OUTER_RADIUS,
  EKLM_BACKWARD_LAYERS,
  EKLM_FIRST_LAYER_MIDDLE,
  EKLM_FORWARD_LAYERS,
  EKLM_GAP_HEIGHT,
  EKLM_LAYER_PITCH,
  EKLM_LAYER_SLOTS,
  EKLM_SECTION_FRONT,
  EKLM_SECTION_INNER_RADIUS,
  EKLM_SECTION_LENGTH,
  EKLM_SECTORS,
  EKLM_STRIPS,
  EKLM_STRIP_WIDTH,
} from "../constants.js";
import { atan2, cos, pow, sin, tan } from "../math/ieee754.js";
import { hypot2 } from "../math/hypot.js";

/** Number of KLM layer slots of the DNN and of Muid's layer patterns: 15 barrel + 14 endcap (klm.md §1.4). */
export const KLM_SLOTS = BKLM_LAYERS + EKLM_LAYER_SLOTS;

const TWO_PI = 2 * Math.PI;
const SECTOR_ANGLE = Math.PI / 4;
/** the octagon face half-width is perp·tan(π/8) */
const TAN_PI_8 = tan(Math.PI / 8);

function requireLayer(section: KlmSection, layer: number): void {
  const n = layerCount(section);
  if (!Number.isInteger(layer) || layer < 1 || layer > n) throw new InputError(`KLM ${section} layer ${layer} is out of range (1..${n})`);
}

/** Detector layers of a section: barrel 15, forward 14, backward 12 (klm.md §3.1). */
export function layerCount(section: KlmSection): number {
  if (section === "barrel") return BKLM_LAYERS;
  if (section === "forward") return EKLM_FORWARD_LAYERS;
  if (section === "backward") return EKLM_BACKWARD_LAYERS;
  throw new InputError(`unknown KLM section ${JSON.stringify(section)}`);
}

/** Sectors of a section: barrel 8, endcaps 4. */
export function sectorCount(section: KlmSection): number {
  return section === "barrel" ? BKLM_SECTORS : EKLM_SECTORS;
}

/**
 * basf2's 29-slot index (0-based) of a layer: barrel layer L → L − 1 (0–14); endcap layer L → 15 + L − 1
 * (15–28), forward and backward sharing the endcap slots (klm.md §1.4 `index = layer − 1 + 15·(1 − inBKLM)`).
 */
export function klmSlot(section: KlmSection, layer: number): number {
  requireLayer(section, layer);
  return section === "barrel" ? layer - 1 : BKLM_LAYERS + layer - 1;
}

/** The region and 1-based layer of a slot (inverse of klmSlot up to the forward/backward choice). */
export function klmSlotLayer(slot: number): { region: "barrel" | "endcap"; layer: number } {
  if (!Number.isInteger(slot) || slot < 0 || slot >= KLM_SLOTS) throw new InputError(`KLM slot ${slot} is out of range (0..${KLM_SLOTS - 1})`);
  return slot < BKLM_LAYERS ? { region: "barrel", layer: slot + 1 } : { region: "endcap", layer: slot - BKLM_LAYERS + 1 };
}

/** Barrel layers 1–2 and all endcap layers are scintillator; barrel layers 3–15 are RPCs (klm.md §3.2). */
export function isScintillatorLayer(section: KlmSection, layer: number): boolean {
  requireLayer(section, layer);
  return section !== "barrel" || layer < BKLM_FIRST_RPC_LAYER;
}

// ───────────── barrel ─────────────

/** Azimuth (rad) of the outward normal of barrel sector s: 45°·(s − 1). */
export function barrelSectorAngle(sector: number): number {
  if (!Number.isInteger(sector) || sector < 1 || sector > BKLM_SECTORS) throw new InputError(`barrel sector ${sector} is out of range (1..8)`);
  return SECTOR_ANGLE * (sector - 1);
}

/** Barrel sector (1–8) of azimuth φ: int((φ + π/8)/(π/4)) + 1 with φ in [−π/8, 2π − π/8) (klm.md §2.3). */
export function barrelSectorOfPhi(phi: number): number {
  let a = (phi + Math.PI / 8) % TWO_PI;
  if (a < 0) a += TWO_PI;
  return Math.min(Math.floor(a / SECTOR_ANGLE), BKLM_SECTORS - 1) + 1;
}

/** Barrel sector (1–8) of a point. */
export function barrelSectorOf(x: number, y: number): number {
  return barrelSectorOfPhi(atan2(y, x));
}

const SECTOR_COS = Float64Array.from({ length: BKLM_SECTORS }, (_, i) => cos(SECTOR_ANGLE * i));
const SECTOR_SIN = Float64Array.from({ length: BKLM_SECTORS }, (_, i) => sin(SECTOR_ANGLE * i));

/** cos φ_s and sin φ_s of sector s (1–8), without range checks (hot path). */
export function sectorCos(sector: number): number {
  return SECTOR_COS[sector - 1]!;
}
export function sectorSin(sector: number): number {
  return SECTOR_SIN[sector - 1]!;
}

/** Octagon "radius" of a point: its distance from the axis along its own sector's normal, max_s (x, y)·n̂_s. */
export function octagonRadius(x: number, y: number): number {
  const s = barrelSectorOf(x, y);
  return x * SECTOR_COS[s - 1]! + y * SECTOR_SIN[s - 1]!;
}

/** Inner radius of barrel gap n (1–15), cm: 201.9 for gap 1, 201.6 + 9.1(n−1) after (klm.md §3.2). */
export function barrelGapInnerRadius(layer: number): number {
  requireLayer("barrel", layer);
  return layer === 1 ? BKLM_INNER_RADIUS : BKLM_GAP_INNER_RADIUS + BKLM_LAYER_PITCH * (layer - 1);
}

/** Outer radius of barrel gap n, cm (gap heights 4.1156 for layer 1 and 4.4311 after). */
export function barrelGapOuterRadius(layer: number): number {
  return barrelGapInnerRadius(layer) + (layer === 1 ? BKLM_GAP1_HEIGHT : BKLM_GAP_HEIGHT);
}

/**
 * Active middle radius of barrel layer n in sector s, cm: the gap middle (203.958 for layer 1,
 * 203.816 + 9.1(n−1) after), −0.0156 cm in sectors 2–4 and +0.0156 cm in sectors 6–8 (klm.md §3.2;
 * basf2's extra ±0.0794 cm scintillator offset, whose sign depends on the module flip, is not applied).
 * This is the plane where Muid detects a layer crossing.
 */
export function barrelLayerRadius(layer: number, sector = 1): number {
  const middle = 0.5 * (barrelGapInnerRadius(layer) + barrelGapOuterRadius(layer));
  return middle + barrelSectorRadiusOffset(sector);
}

/** The sector-dependent offset of the active middle radius (klm.md §3.2). */
export function barrelSectorRadiusOffset(sector: number): number {
  if (sector >= 2 && sector <= 4) return -BKLM_SECTOR_RADIUS_OFFSET;
  if (sector >= 6 && sector <= 8) return BKLM_SECTOR_RADIUS_OFFSET;
  return 0;
}

/** Inner and outer radius of barrel iron plate i (0 = between layers 1 and 2 … 13 = between 14 and 15, 14 = outermost). */
export function barrelIronPlate(plate: number): [number, number] {
  if (!Number.isInteger(plate) || plate < 0 || plate > BKLM_LAYERS - 1) throw new InputError(`barrel iron plate ${plate} is out of range (0..14)`);
  const inner = barrelGapOuterRadius(plate + 1);
  const outer = plate + 2 <= BKLM_LAYERS ? barrelGapInnerRadius(plate + 2) : BKLM_OUTER_RADIUS;
  return [inner, outer];
}

/** Whether a point is inside the barrel KLM volume (octagon 201.9–353.5 cm, |ζ| < 230 cm). */
export function isInBarrel(x: number, y: number, z: number): boolean {
  const perp = octagonRadius(x, y);
  return perp >= BKLM_INNER_RADIUS && perp < BKLM_OUTER_RADIUS && Math.abs(z - DETECTOR_Z_OFFSET) < BKLM_HALF_LENGTH;
}

/** φ-strip width of barrel layer n, cm: 4.0 for the scintillator layers 1–2, per layer for the RPCs (klm.md §3.2). */
export function barrelPhiStripWidth(layer: number): number {
  requireLayer("barrel", layer);
  return layer < BKLM_FIRST_RPC_LAYER ? BKLM_SCINTILLATOR_STRIP_WIDTH : BKLM_RPC_PHI_STRIP_WIDTH[layer - BKLM_FIRST_RPC_LAYER]!;
}

/** z-strip width of barrel layer n, cm: 4.0 (scintillator) or 4.52 (RPC). */
export function barrelZStripWidth(layer: number): number {
  requireLayer("barrel", layer);
  return layer < BKLM_FIRST_RPC_LAYER ? BKLM_SCINTILLATOR_STRIP_WIDTH : BKLM_RPC_Z_STRIP_WIDTH;
}

/** φ strips per module: 37 and 42 scintillators (layers 1–2), 36 RPC strips for layers 3–6, 48 for 7–15. */
export function barrelPhiStripCount(layer: number): number {
  requireLayer("barrel", layer);
  if (layer < BKLM_FIRST_RPC_LAYER) return BKLM_SCINTILLATOR_PHI_STRIPS[layer - 1]!;
  return layer <= 6 ? BKLM_RPC_PHI_STRIPS_INNER : BKLM_RPC_PHI_STRIPS_OUTER;
}

/**
 * z strips per half-module: 54 scintillators or 48 RPC strips (the chimney sector, backward sector 3,
 * has 38 / 34 there; our z numbering runs over both halves, so the chimney count applies to ζ < 0).
 */
export function barrelZStripCount(layer: number, sector = 1, backwardHalf = false): number {
  requireLayer("barrel", layer);
  const chimney = backwardHalf && sector === BKLM_CHIMNEY_SECTOR;
  if (layer < BKLM_FIRST_RPC_LAYER) return chimney ? 38 : BKLM_SCINTILLATOR_Z_STRIPS;
  return chimney ? 34 : BKLM_RPC_Z_STRIPS;
}

/** Half-width of the octagon face at distance perp from the axis, cm. */
export function barrelFaceHalfWidth(perp: number): number {
  return perp * TAN_PI_8;
}

/** Local barrel coordinates of a point in sector s: perp (normal), u (along φ̂_s), ζ = z − 47. */
export function barrelLocal(x: number, y: number, z: number, sector: number): { perp: number; u: number; zeta: number } {
  const c = SECTOR_COS[sector - 1]!;
  const s = SECTOR_SIN[sector - 1]!;
  return { perp: x * c + y * s, u: -x * s + y * c, zeta: z - DETECTOR_Z_OFFSET };
}

/** Global point of local barrel coordinates (perp, u, ζ) in sector s. */
export function barrelGlobal(perp: number, u: number, zeta: number, sector: number): { x: number; y: number; z: number } {
  const c = SECTOR_COS[sector - 1]!;
  const s = SECTOR_SIN[sector - 1]!;
  return { x: perp * c - u * s, y: perp * s + u * c, z: zeta + DETECTOR_Z_OFFSET };
}

/** Continuous φ-strip coordinate: strip k covers [k − 1, k) (so the strip is floor(value) + 1), centred on the sector normal. */
export function barrelPhiStripCoordinate(layer: number, u: number): number {
  return u / barrelPhiStripWidth(layer) + barrelPhiStripCount(layer) / 2;
}

/** Continuous z-strip coordinate over both halves: strip k covers [k − 1, k); ζ = 0 at N. */
export function barrelZStripCoordinate(layer: number, zeta: number): number {
  return zeta / barrelZStripWidth(layer) + barrelZStripCount(layer);
}

/** Local u (cm) of the centre of φ strip k of barrel layer n. */
export function barrelPhiStripCentre(layer: number, strip: number): number {
  return (strip - 0.5 - barrelPhiStripCount(layer) / 2) * barrelPhiStripWidth(layer);
}

/** ζ (cm) of the centre of z strip k of barrel layer n. */
export function barrelZStripCentre(layer: number, strip: number): number {
  return (strip - 0.5 - barrelZStripCount(layer)) * barrelZStripWidth(layer);
}

// ───────────── endcaps ─────────────

/** Global z of the middle plane of endcap layer n: 47 ± (236.9 + 9.1(n−1)) cm (klm.md §3.3). */
export function endcapLayerZ(section: "forward" | "backward", layer: number): number {
  requireLayer(section, layer);
  const d = EKLM_FIRST_LAYER_MIDDLE + EKLM_LAYER_PITCH * (layer - 1);
  return section === "forward" ? DETECTOR_Z_OFFSET + d : DETECTOR_Z_OFFSET - d;
}

/** |ζ| range of endcap iron plate i (0 = in front of layer 1, i = between layers i and i+1, 14 = behind layer 14). */
export function endcapIronPlate(plate: number): [number, number] {
  if (!Number.isInteger(plate) || plate < 0 || plate > EKLM_LAYER_SLOTS) throw new InputError(`endcap iron plate ${plate} is out of range (0..14)`);
  const half = EKLM_GAP_HEIGHT / 2;
  const inner = plate === 0 ? EKLM_SECTION_FRONT : EKLM_FIRST_LAYER_MIDDLE + EKLM_LAYER_PITCH * (plate - 1) + half;
  const outer = plate === EKLM_LAYER_SLOTS ? EKLM_SECTION_FRONT + EKLM_SECTION_LENGTH : EKLM_FIRST_LAYER_MIDDLE + EKLM_LAYER_PITCH * plate - half;
  return [inner, outer];
}

/** Endcap sector (quadrant, 1–4) of a point; see the frame note at the top of the file. */
export function endcapSectorOf(x: number, y: number): number {
  if (y >= 0) return x >= 0 ? 1 : 2;
  return x < 0 ? 3 : 4;
}

/** Whether (x, y) lies in the active annulus of an endcap layer (130.5–332 cm). */
export function isInEndcapActiveArea(x: number, y: number): boolean {
  const r = hypot2(x, y);
  return r >= EKLM_ACTIVE_INNER_RADIUS && r <= EKLM_ACTIVE_OUTER_RADIUS;
}

/** Endcap strip width, cm (EKLM.xml 40 mm) and strips per plane (75). */
export function endcapStripWidth(): number {
  return EKLM_STRIP_WIDTH;
}
export function endcapStripCount(): number {
  return EKLM_STRIPS;
}

/**
 * |x| or |y| where endcap strip 1 starts, cm. 75 × 4 cm = 300 cm cannot span the 332 cm quadrant; starting
 * at the axes leaves uncovered only the outer corners with |x| or |y| > 300 cm (8 % of the annulus), the
 * smallest hole of the choices [A].
 */
const ENDCAP_STRIP_ORIGIN = 0;

/** Continuous endcap strip coordinate of |x| or |y| (cm): strip k covers [k − 1, k). */
export function endcapStripCoordinate(coordinate: number): number {
  return (Math.abs(coordinate) - ENDCAP_STRIP_ORIGIN) / EKLM_STRIP_WIDTH;
}

/** |x| or |y| (cm) of the centre of endcap strip k. */
export function endcapStripCentre(strip: number): number {
  return ENDCAP_STRIP_ORIGIN + (strip - 0.5) * EKLM_STRIP_WIDTH;
}

// ───────────── hits ─────────────

/** Strip widths (cm) of the U and V views of a layer: barrel (φ, z), endcap (4, 4). */
export function stripWidths(section: KlmSection, layer: number): [number, number] {
  if (section === "barrel") return [barrelPhiStripWidth(layer), barrelZStripWidth(layer)];
  requireLayer(section, layer);
  return [EKLM_STRIP_WIDTH, EKLM_STRIP_WIDTH];
}

/**
 * The DNN's hit "width" (klm.md §1.4, release-09 getHitWidth): √(w1² + w2²) with w_i = strip width ×
 * (number of strips)/2. A single-strip scintillator hit gives 2.828 cm, a single-strip RPC layer-3 hit 3.333 cm.
 */
export function klmHitWidth(hit: Pick<KlmHit, "section" | "layer" | "uStripMin" | "uStripMax" | "vStripMin" | "vStripMax">): number {
  const [wu, wv] = stripWidths(hit.section, hit.layer);
  const w1 = (wu * (hit.uStripMax - hit.uStripMin + 1)) / 2;
  const w2 = (wv * (hit.vStripMax - hit.vStripMin + 1)) / 2;
  return Math.sqrt(w1 * w1 + w2 * w2);
}

/** (0.9 + 0.4 (n − 1.5)²)^1.5 of muidHitVariances for n strips; n = 1…64 kept after the first use (the same value, one pow less per hit). */
const RPC_CLUSTER_FACTOR = new Float64Array(65).fill(NaN);
function rpcClusterFactor(n: number): number {
  if (!(Number.isInteger(n) && n >= 1 && n <= 64)) return pow(0.9 + 0.4 * (n - 1.5) ** 2, 1.5);
  let f = RPC_CLUSTER_FACTOR[n]!;
  if (f !== f) {
    f = pow(0.9 + 0.4 * (n - 1.5) ** 2, 1.5);
    RPC_CLUSTER_FACTOR[n] = f;
  }
  return f;
}

/**
 * Muid's measurement variances (cm²) of a hit's U and V coordinates (klm.md §2.4): scintillator w²/12;
 * RPC w²/12·(0.9 + 0.4(n − 1.5)²)^1.5 · 0.60 (φ) or · 0.55 (z), n = strips in that view.
 */
export function muidHitVariances(
  hit: Pick<KlmHit, "section" | "layer" | "uStripMin" | "uStripMax" | "vStripMin" | "vStripMax">,
  out: [number, number] | Float64Array = [0, 0],
): [number, number] | Float64Array {
  // stripWidths without its array (the event's hit table calls this for every hit, with `out` reused)
  const section = hit.section, layer = hit.layer;
  let wu: number, wv: number;
  if (section === "barrel") {
    wu = barrelPhiStripWidth(layer);
    wv = barrelZStripWidth(layer);
  } else {
    requireLayer(section, layer);
    wu = EKLM_STRIP_WIDTH;
    wv = EKLM_STRIP_WIDTH;
  }
  if (section !== "barrel" || layer < BKLM_FIRST_RPC_LAYER) {
    out[0] = (wu * wu) / 12;
    out[1] = (wv * wv) / 12;
    return out;
  }
  const fu = rpcClusterFactor(hit.uStripMax - hit.uStripMin + 1);
  const fv = rpcClusterFactor(hit.vStripMax - hit.vStripMin + 1);
  out[0] = ((wu * wu) / 12) * fu * 0.6;
  out[1] = ((wv * wv) / 12) * fv * 0.55;
  return out;
}

/** Which KLM section and 1-based layer plane a global point lies closest to, or null outside the KLM. */
export function klmSectionOf(x: number, y: number, z: number): KlmSection | null {
  const zeta = z - DETECTOR_Z_OFFSET;
  if (isInBarrel(x, y, z)) return "barrel";
  const r = hypot2(x, y);
  const a = Math.abs(zeta);
  if (a >= EKLM_SECTION_FRONT && a < EKLM_SECTION_FRONT + EKLM_SECTION_LENGTH && r >= EKLM_SECTION_INNER_RADIUS && octagonRadius(x, y) < BKLM_OUTER_RADIUS) {
    return zeta > 0 ? "forward" : "backward";
  }
  return null;
}
