/**
 * The ECL CNN's 7×7 crystal window around the track's entry crystal (ecl.md §1.5–1.6).
 *
 * Pixel order used everywhere in muid-wasm (simulation output, training, inference):
 * - rows: thetaId ascending, tid−3 … tid+3 (forward → backward);
 * - columns: phiId ascending, pid−3 … pid+3, modulo 144 (so the window is spatially contiguous
 *   across the 143 ↔ 0 seam);
 * - pixel index k = row·7 + col; the centre crystal is [3][3], k = 24.
 *
 * basf2's legacy ECLNeighbours("N", 3) order (the order the 2021 study used) has the same rows but
 * columns φ DESCENDING (pid+3 … pid−3): legacy index = row·7 + (6 − col), also centred at 24. The
 * release-08+ `sorted` maps are probably a cellId sort, which differs from both at the φ seam
 * (ecl.md §1.6); this module never uses them.
 *
 * The window exists only for centres with thetaId 14..57 (the CNN acceptance 13 < thetaId < 58):
 * there every row (thetaId 11..60) has 144 crystals, so it is a regular 7×7 grid (ecl.md §2.3).
 */
import { InputError } from "../errors.js";
import type { EclDigit } from "../sim/types.js";
import { ECL_BARREL_CRYSTALS_PER_RING, ECL_RING_OFFSET, phiIdOf, thetaIdOf } from "./ecl.js";

/** Window side and half-width (basf2 image_length = 7). */
export const ECL_WINDOW_SIZE = 7;
export const ECL_WINDOW_HALF = 3;
export const ECL_WINDOW_PIXELS = ECL_WINDOW_SIZE * ECL_WINDOW_SIZE;
/** Index of the centre pixel, [3][3]. */
export const ECL_WINDOW_CENTRE_INDEX = ECL_WINDOW_HALF * ECL_WINDOW_SIZE + ECL_WINDOW_HALF;
/** CNN acceptance in thetaId (basf2 thetaId_range = (13, 58), exclusive; ecl.md §1.6). */
export const ECL_CNN_THETA_ID_MIN = 14;
export const ECL_CNN_THETA_ID_MAX = 57;

/** True when a window can be built around this crystal (thetaId 14..57). */
export function isInEclCnnAcceptance(cellId: number): boolean {
  const t = thetaIdOf(cellId);
  return t >= ECL_CNN_THETA_ID_MIN && t <= ECL_CNN_THETA_ID_MAX;
}

/** The 49 cellIds of the window in muid-wasm pixel order (k = row·7 + col, see above). */
export function eclWindowCellIds(centreCellId: number, out: Int32Array = new Int32Array(ECL_WINDOW_PIXELS)): Int32Array {
  const tid = thetaIdOf(centreCellId);
  if (tid < ECL_CNN_THETA_ID_MIN || tid > ECL_CNN_THETA_ID_MAX)
    throw new InputError(`ECL window centre cellId ${centreCellId} has thetaId ${tid}, outside the CNN acceptance ${ECL_CNN_THETA_ID_MIN}..${ECL_CNN_THETA_ID_MAX}`);
  if (out.length < ECL_WINDOW_PIXELS) throw new InputError(`ECL window output holds ${out.length} values, needs ${ECL_WINDOW_PIXELS}`);
  const pid = phiIdOf(centreCellId);
  const n = ECL_BARREL_CRYSTALS_PER_RING;
  for (let row = 0; row < ECL_WINDOW_SIZE; row++) {
    const offset = 1 + ECL_RING_OFFSET[tid - ECL_WINDOW_HALF + row]!;
    for (let col = 0; col < ECL_WINDOW_SIZE; col++) {
      const phi = (pid - ECL_WINDOW_HALF + col + n) % n;
      out[row * ECL_WINDOW_SIZE + col] = offset + phi;
    }
  }
  return out;
}

/** basf2 legacy ("N", 3, unsorted) list index of muid-wasm pixel k: same row, column mirrored. */
export function basf2LegacyIndexOfPixel(k: number): number {
  if (!Number.isInteger(k) || k < 0 || k >= ECL_WINDOW_PIXELS) throw new InputError(`ECL window pixel index ${k} is not in 0..48`);
  const row = Math.floor(k / ECL_WINDOW_SIZE);
  const col = k % ECL_WINDOW_SIZE;
  return row * ECL_WINDOW_SIZE + (ECL_WINDOW_SIZE - 1 - col);
}

/**
 * Raw crystal energies (GeV) of the window in pixel order; crystals without a digit get 0.
 * No threshold or clipping here: that is the CNN preprocessing (ecl.md §1.5).
 */
export function eclWindowEnergies(
  centreCellId: number,
  digits: readonly EclDigit[] | ReadonlyMap<number, number>,
  out: Float32Array = new Float32Array(ECL_WINDOW_PIXELS),
): Float32Array {
  const cells = eclWindowCellIds(centreCellId, windowCells);
  if (out.length < ECL_WINDOW_PIXELS) throw new InputError(`ECL window output holds ${out.length} values, needs ${ECL_WINDOW_PIXELS}`);
  if (Array.isArray(digits)) {
    // each digit straight into its pixel: the window's rows are consecutive rings of 144 crystals
    // (thetaId 11..60), so a cellId's row and column follow from its offset to the first row. Sums in
    // digit order from 0, as a per-cell map would add them.
    const sums = windowSums.fill(0);
    const pid = phiIdOf(centreCellId);
    const n = ECL_BARREL_CRYSTALS_PER_RING;
    const first = 1 + ECL_RING_OFFSET[thetaIdOf(centreCellId) - ECL_WINDOW_HALF]!;
    for (const d of digits as readonly EclDigit[]) {
      const offset = d.cellId - first;
      if (!(offset >= 0 && offset < ECL_WINDOW_SIZE * n) || !Number.isInteger(offset)) continue;
      const row = Math.floor(offset / n);
      const col = (offset - row * n - pid + ECL_WINDOW_HALF + n) % n;
      if (col >= ECL_WINDOW_SIZE) continue;
      const k = row * ECL_WINDOW_SIZE + col;
      sums[k] = sums[k]! + d.energy;
    }
    for (let k = 0; k < ECL_WINDOW_PIXELS; k++) out[k] = sums[k]!;
    return out;
  }
  const energyOf = digits as ReadonlyMap<number, number>;
  for (let k = 0; k < ECL_WINDOW_PIXELS; k++) out[k] = energyOf.get(cells[k]!) ?? 0;
  return out;
}

/** Scratch of eclWindowEnergies (one window at a time). */
const windowCells = new Int32Array(ECL_WINDOW_PIXELS);
const windowSums = new Float64Array(ECL_WINDOW_PIXELS);
