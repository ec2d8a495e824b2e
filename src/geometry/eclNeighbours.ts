/**
 * basf2 ECLNeighbours "N" maps (legacy, unsorted algorithm of ecl/geometry/src/ECLNeighbours.cc,
 * ecl.md §3.1): the (2n+1)×(2n+1) mask in the seed's θ ring, projected onto the other rings.
 *
 * For a seed (tid, pid) in a ring of N[tid] crystals:
 * 1. phiInc = (pid + n) mod N[tid], phiDec = (pid − n) mod N[tid], as fractions of the seed ring
 *    (phiId/N, the crystal's left edge);
 * 2. for each ring θ = tid−n … tid+n inside 0..68 (no padding at the detector ends):
 *    a = lround(fInc·N[θ]), b = lround(fDec·N[θ]) (b = N[θ] → 0), then walk from a downwards with
 *    wrap to b inclusive;
 * 3. the list is the cellIds (1-based) in that order and includes the seed.
 * In the barrel this is a (2n+1)² block, rows θ ascending, columns φ descending, seed at 2n(n+1);
 * across ring-size changes the rows have other lengths (ecl.md §3.1 table).
 * basf2 release-08+ can sort the lists (`sorted=true`); that variant is not implemented (its source
 * was not available, ecl.md §7).
 */
import { InputError } from "../errors.js";
import { ECL_CRYSTALS_PER_RING, ECL_N_CRYSTALS, ECL_N_THETA_RINGS, ECL_RING_OFFSET, phiIdOf, thetaIdOf } from "./ecl.js";

/** Largest mask half-width basf2 defines for "N" (11×11). */
export const ECL_NEIGHBOURS_MAX_N = 5;

/** std::lround: round half away from zero (equals Math.round for the non-negative values here). */
function lround(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

/**
 * The "N" neighbour list of a crystal, 1-based cellIds in basf2's legacy order, seed included.
 * n = 1 → 3×3, 2 → 5×5, 3 → 7×7, 4 → 9×9, 5 → 11×11.
 */
export function eclNeighboursN(cellId: number, n: number): number[] {
  if (!Number.isInteger(n) || n < 0 || n > ECL_NEIGHBOURS_MAX_N)
    throw new InputError(`ECL neighbour mask half-width n = ${n} is not an integer in 0..${ECL_NEIGHBOURS_MAX_N}`);
  const tid = thetaIdOf(cellId);
  const pid = phiIdOf(cellId);
  const nSeed = ECL_CRYSTALS_PER_RING[tid]!;
  const phiInc = (pid + n) % nSeed;
  const phiDec = (((pid - n) % nSeed) + nSeed) % nSeed;
  const fInc = phiInc / nSeed;
  const fDec = phiDec / nSeed;
  const list: number[] = [];
  for (let theta = tid - n; theta <= tid + n; theta++) {
    if (theta < 0) continue;
    if (theta >= ECL_N_THETA_RINGS) break;
    const nRing = ECL_CRYSTALS_PER_RING[theta]!;
    const a = lround(fInc * nRing);
    let b = lround(fDec * nRing);
    if (b === nRing) b = 0;
    const offset = 1 + ECL_RING_OFFSET[theta]!;
    // basf2 getPhiIdsInBetween: from a downwards (decreasePhiId, with wrap) until b, inclusive
    let phi = a;
    for (;;) {
      list.push(offset + phi);
      if (phi === b) break;
      phi = phi === 0 ? nRing - 1 : phi - 1;
    }
  }
  return list;
}

/**
 * The crystal neighbourhood stored with every simulated track: the basf2 "N" list of half-width n
 * (n = 5: the 11×11 map of ECLFillCellIdMapping), ascending cellIds.
 */
export function eclNeighbourhood(cellId: number, n: number): number[] {
  return Array.from(eclNeighbourhoodCells(cellId, n));
}

/** Per half-width n, per cellId: the sorted neighbourhood, built on first use (a simulated event needs one per track). */
const neighbourhoodCache: (Int32Array | undefined)[][] = Array.from(
  { length: ECL_NEIGHBOURS_MAX_N + 1 },
  () => new Array<Int32Array | undefined>(ECL_N_CRYSTALS + 1),
);

/**
 * The same list as eclNeighbourhood (ascending cellIds) as a shared, cached Int32Array: do not modify it.
 * For hot paths that only read the list.
 */
export function eclNeighbourhoodCells(cellId: number, n: number): Int32Array {
  const byCell = Number.isInteger(n) && n >= 0 && n <= ECL_NEIGHBOURS_MAX_N ? neighbourhoodCache[n]! : null;
  let cells = byCell === null ? undefined : byCell[cellId];
  if (cells === undefined) {
    // eclNeighboursN validates n and cellId; the typed array's sort is numeric ascending
    cells = Int32Array.from(eclNeighboursN(cellId, n)).sort();
    if (byCell !== null) byCell[cellId] = cells;
  }
  return cells;
}
