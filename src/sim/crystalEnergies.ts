/**
 * The ECL crystal energies of one event (cellId → GeV) in a typed array indexed by cellId, behind the
 * part of the Map interface the ECL response uses (get, set, iteration in first-insertion order). The
 * response adds every contribution to a crystal in the same order as into a Map, so the sums are the
 * same to the bit; a simulated event reuses one instance (clear() costs only the crystals it touched).
 */
import { InputError } from "../errors.js";
import { ECL_N_CRYSTALS } from "../geometry/ecl.js";

/** What the ECL response needs of its per-crystal sums; a Map<number, number> is one. */
export interface CrystalEnergySums extends Iterable<[number, number]> {
  get(cellId: number): number | undefined;
  set(cellId: number, energy: number): unknown;
}

export class CrystalEnergies implements CrystalEnergySums {
  private readonly energy = new Float64Array(ECL_N_CRYSTALS + 1);
  private readonly present = new Uint8Array(ECL_N_CRYSTALS + 1);
  /** cellIds in the order they were first set */
  private readonly cells: number[] = [];

  get size(): number {
    return this.cells.length;
  }

  get(cellId: number): number | undefined {
    return this.present[cellId] === 1 ? this.energy[cellId] : undefined;
  }

  set(cellId: number, energy: number): this {
    if (this.present[cellId] !== 1) {
      if (!Number.isInteger(cellId) || cellId < 1 || cellId > ECL_N_CRYSTALS) {
        throw new InputError(`ECL crystal energies: cellId ${cellId} is out of range (1..${ECL_N_CRYSTALS})`);
      }
      this.present[cellId] = 1;
      this.cells.push(cellId);
    }
    this.energy[cellId] = energy;
    return this;
  }

  /** The i-th crystal set (first-insertion order), 0 ≤ i < size. */
  cellAt(i: number): number {
    return this.cells[i]!;
  }

  /** The energy of a crystal that was set (0 for one that was not). */
  energyOf(cellId: number): number {
    return this.energy[cellId]!;
  }

  /** Forgets every crystal. */
  clear(): void {
    for (const c of this.cells) {
      this.energy[c] = 0;
      this.present[c] = 0;
    }
    this.cells.length = 0;
  }

  *[Symbol.iterator](): IterableIterator<[number, number]> {
    for (const c of this.cells) yield [c, this.energy[c]!];
  }
}
