/**
 * Reads simulated rows for the ECL studies without their KLM hits. Every row of a simulation file
 * carries all KLM hits of its event (beam background included, ≈100 per event), which the ECL CNN
 * and E/p never read; materialising them for 200 000 tracks costs gigabytes. This reader walks the
 * Arrow columns of src/sim/io.ts's schema directly and skips `klmHits` (rows come back with
 * `klmHits: []`), and reads `truth.klmRegion` as null; JSON Lines files go through readSimRows.
 */
import { readFileSync } from "node:fs";
import { tableFromIPC, type Data, type Table } from "apache-arrow";
import { FormatError, MuidError } from "../errors.js";
import { SIM_ROW_SCHEMA, formatFromPath, readSimRows } from "../sim/io.js";
import type { EclDigit, SimTrackRow } from "../sim/types.js";

function numberAt(data: Data, i: number): number {
  const v = (data.values as ArrayLike<number | bigint>)[data.offset + i]!;
  return typeof v === "bigint" ? Number(v) : v;
}

function boolAt(data: Data, i: number): boolean {
  const k = data.offset + i;
  return (((data.values as Uint8Array)[k >> 3]! >> (k & 7)) & 1) === 1;
}

/** Rows of one simulation file (Arrow or JSON Lines, by extension) with `klmHits` left empty. */
export function readEclRows(file: string): SimTrackRow[] {
  if (formatFromPath(file) === "jsonl") return readSimRows(file).map((r) => ({ ...r, klmHits: [] }));
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new MuidError("IO", `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (e) {
    throw new FormatError(`${file} is not an Arrow IPC file: ${(e as Error).message}`);
  }
  const needed = ["event", "track", "truth", "ip", "eclDigits"];
  for (const name of needed) {
    const expected = SIM_ROW_SCHEMA.fields.find((f) => f.name === name)!;
    const actual = table.schema.fields.find((f) => f.name === name);
    if (!actual) throw new FormatError(`${file} lacks the SimTrackRow column "${name}"`);
    if (String(actual.type) !== String(expected.type)) throw new FormatError(`${file}: column "${name}" has type ${String(actual.type)}, expected ${String(expected.type)}`);
  }
  const index = needed.map((name) => table.schema.fields.findIndex((f) => f.name === name));
  const rows: SimTrackRow[] = [];
  for (const batch of table.batches) {
    const data = batch.data;
    const [eventD, trackD, truthD, ipD, digitsD] = index.map((k) => data.children[k]!);
    const tc = truthD!.children, ic = ipD!.children;
    const covD = ic[7]!.children[0]!;
    const dc = digitsD!.children[0]!.children;
    const digitOffsets = digitsD!.valueOffsets as Int32Array;
    for (let i = 0; i < data.length; i++) {
      const covariance = new Array<number>(21);
      const covBase = (ic[7]!.offset + i) * 21;
      for (let k = 0; k < 21; k++) covariance[k] = numberAt(covD, covBase + k);
      const eclDigits: EclDigit[] = [];
      for (let j = digitOffsets[digitsD!.offset + i]!; j < digitOffsets[digitsD!.offset + i + 1]!; j++) eclDigits.push({ cellId: numberAt(dc[0]!, j), energy: numberAt(dc[1]!, j) });
      rows.push({
        event: numberAt(eventD!, i),
        track: numberAt(trackD!, i),
        truth: {
          pdg: numberAt(tc[0]!, i), charge: numberAt(tc[1]!, i) as 1 | -1,
          p: numberAt(tc[2]!, i), pt: numberAt(tc[3]!, i), theta: numberAt(tc[4]!, i), phi: numberAt(tc[5]!, i),
          decayedInFlight: boolAt(tc[6]!, i), interactedInEcl: boolAt(tc[7]!, i), interactedInKlm: boolAt(tc[8]!, i),
          klmLayerReached: numberAt(tc[9]!, i), klmRegion: null, eclDeposit: numberAt(tc[11]!, i),
        },
        ip: {
          charge: numberAt(ic[0]!, i) as 1 | -1,
          x: numberAt(ic[1]!, i), y: numberAt(ic[2]!, i), z: numberAt(ic[3]!, i),
          px: numberAt(ic[4]!, i), py: numberAt(ic[5]!, i), pz: numberAt(ic[6]!, i),
          covariance,
        },
        klmHits: [],
        eclDigits,
      });
    }
  }
  return rows;
}

/** Rows of several files (comma-separated list or array), in order. */
export function readEclRowFiles(files: string | readonly string[]): SimTrackRow[] {
  const list = typeof files === "string" ? files.split(",").map((f) => f.trim()).filter((f) => f !== "") : files;
  if (list.length === 0) throw new MuidError("IO", "no simulation file given");
  const rows: SimTrackRow[] = [];
  for (const f of list) for (const r of readEclRows(f)) rows.push(r);
  return rows;
}
