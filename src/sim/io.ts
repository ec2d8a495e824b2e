/**
 * Reading and writing simulated rows (SimTrackRow): Apache Arrow IPC files (the `apache-arrow`
 * package) for programs, JSON Lines for people. One row per track; the Arrow columns are nested
 * exactly like SimTrackRow: `truth` and `ip` are structs (`ip.covariance` a fixed-size list of 21),
 * `klmHits` and `eclDigits` lists of structs. All real numbers are Float64, so a file reads back
 * equal to what was written.
 *
 * Files are written atomically: rows go to a temporary file beside the target, renamed onto the final
 * name only when complete, so an interrupted run never leaves a half-written file under that name.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import {
  Bool, Data, Field, FixedSizeList, Float64, Int8, Int16, Int32, List, RecordBatch, RecordBatchFileWriter,
  Schema, Struct, Table, Utf8, makeData, tableFromIPC, tableToIPC,
} from "apache-arrow";
import type { EclDigit, KlmHit, KlmSection, SimTrackRow, TrackAtIp, TrackTruth } from "./types.js";
import { FormatError, InputError, MuidError, OptionError } from "../errors.js";

export type SimFormat = "arrow" | "jsonl";

/** Rows per Arrow record batch when streaming to a file. */
const ROWS_PER_BATCH = 2048;

const truthType = new Struct([
  new Field("pdg", new Int32(), false),
  new Field("charge", new Int8(), false),
  new Field("p", new Float64(), false),
  new Field("pt", new Float64(), false),
  new Field("theta", new Float64(), false),
  new Field("phi", new Float64(), false),
  new Field("decayedInFlight", new Bool(), false),
  new Field("interactedInEcl", new Bool(), false),
  new Field("interactedInKlm", new Bool(), false),
  new Field("klmLayerReached", new Int8(), false),
  new Field("klmRegion", new Utf8(), true),
  new Field("eclDeposit", new Float64(), false),
]);

const ipType = new Struct([
  new Field("charge", new Int8(), false),
  new Field("x", new Float64(), false),
  new Field("y", new Float64(), false),
  new Field("z", new Float64(), false),
  new Field("px", new Float64(), false),
  new Field("py", new Float64(), false),
  new Field("pz", new Float64(), false),
  new Field("covariance", new FixedSizeList(21, new Field("item", new Float64(), false)), false),
]);

const klmHitType = new Struct([
  new Field("section", new Utf8(), false),
  new Field("sector", new Int8(), false),
  new Field("layer", new Int8(), false),
  new Field("x", new Float64(), false),
  new Field("y", new Float64(), false),
  new Field("z", new Float64(), false),
  new Field("uStripMin", new Int16(), false),
  new Field("uStripMax", new Int16(), false),
  new Field("vStripMin", new Int16(), false),
  new Field("vStripMax", new Int16(), false),
  new Field("time", new Float64(), false),
  new Field("truthTrack", new Int16(), false),
]);

const eclDigitType = new Struct([
  new Field("cellId", new Int16(), false),
  new Field("energy", new Float64(), false),
]);

/** The Arrow schema of a simulation file (one row per track). */
export const SIM_ROW_SCHEMA = new Schema(
  [
    new Field("event", new Int32(), false),
    new Field("track", new Int32(), false),
    new Field("truth", truthType, false),
    new Field("ip", ipType, false),
    new Field("klmHits", new List(new Field("item", klmHitType, false)), false),
    new Field("eclDigits", new List(new Field("item", eclDigitType, false)), false),
  ],
  new Map([["muid.format", "SimTrackRow/1"]]),
);

/** Format from a file name: .jsonl / .ndjson / .json → JSON Lines, anything else → Arrow. */
export function formatFromPath(file: string): SimFormat {
  return /\.(jsonl|ndjson|json)$/i.test(file) ? "jsonl" : "arrow";
}

// ───────────── columnar encoding (typed arrays straight into Arrow Data; the row builders are ~50× slower) ─────────────

const SECTIONS: readonly KlmSection[] = ["barrel", "forward", "backward"];
const SECTION_BYTES: readonly Uint8Array[] = SECTIONS.map((name) => new TextEncoder().encode(name));
const SECTION_INDEX = new Map<string, number>(SECTIONS.map((name, i) => [name, i]));

function sectionIndex(value: unknown, where: string): number {
  const i = SECTION_INDEX.get(value as string);
  if (i === undefined) throw new InputError(`${where}: KLM section must be barrel, forward or backward (got ${JSON.stringify(value)})`);
  return i;
}

/** Utf8 column of section names (null where index < 0). */
function sectionColumn(indices: Int8Array): Data<Utf8> {
  const n = indices.length;
  const offsets = new Int32Array(n + 1);
  let bytes = 0;
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const k = indices[i];
    if (k >= 0) bytes += SECTION_BYTES[k].length;
    else nulls++;
    offsets[i + 1] = bytes;
  }
  const data = new Uint8Array(bytes);
  const valid = new Uint8Array((n + 7) >> 3);
  for (let i = 0; i < n; i++) {
    const k = indices[i];
    if (k < 0) continue;
    data.set(SECTION_BYTES[k], offsets[i]);
    valid[i >> 3] |= 1 << (i & 7);
  }
  return makeData({ type: new Utf8(), length: n, valueOffsets: offsets, data, nullBitmap: nulls > 0 ? valid : undefined, nullCount: nulls });
}

function boolColumn(bits: Uint8Array, n: number): Data<Bool> {
  return makeData({ type: new Bool(), length: n, data: bits });
}

function setBit(bits: Uint8Array, i: number, value: boolean): void {
  if (value) bits[i >> 3] |= 1 << (i & 7);
}

/** One Arrow record batch holding `rows`. */
export function rowsToRecordBatch(rows: readonly SimTrackRow[]): RecordBatch {
  const n = rows.length;
  let nHits = 0, nDigits = 0;
  for (const r of rows) {
    nHits += r.klmHits.length;
    nDigits += r.eclDigits.length;
  }
  const event = new Int32Array(n), track = new Int32Array(n);
  const pdg = new Int32Array(n), charge = new Int8Array(n), p = new Float64Array(n), pt = new Float64Array(n);
  const theta = new Float64Array(n), phi = new Float64Array(n), layerReached = new Int8Array(n), region = new Int8Array(n);
  const decayed = new Uint8Array((n + 7) >> 3), inEcl = new Uint8Array((n + 7) >> 3), inKlm = new Uint8Array((n + 7) >> 3);
  const eclDeposit = new Float64Array(n);
  const ipCharge = new Int8Array(n);
  const ip = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)];
  const covariance = new Float64Array(21 * n);
  const hitOffsets = new Int32Array(n + 1), digitOffsets = new Int32Array(n + 1);
  const hSection = new Int8Array(nHits), hSector = new Int8Array(nHits), hLayer = new Int8Array(nHits);
  const hx = new Float64Array(nHits), hy = new Float64Array(nHits), hz = new Float64Array(nHits), hTime = new Float64Array(nHits);
  const hStrips = [new Int16Array(nHits), new Int16Array(nHits), new Int16Array(nHits), new Int16Array(nHits)];
  const hTrack = new Int16Array(nHits);
  const dCell = new Int16Array(nDigits), dEnergy = new Float64Array(nDigits);

  let h = 0, d = 0;
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    event[i] = r.event;
    track[i] = r.track;
    const t = r.truth;
    pdg[i] = t.pdg; charge[i] = t.charge; p[i] = t.p; pt[i] = t.pt; theta[i] = t.theta; phi[i] = t.phi;
    setBit(decayed, i, t.decayedInFlight);
    setBit(inEcl, i, t.interactedInEcl);
    setBit(inKlm, i, t.interactedInKlm);
    layerReached[i] = t.klmLayerReached;
    region[i] = t.klmRegion === null ? -1 : sectionIndex(t.klmRegion, `row ${i} truth.klmRegion`);
    eclDeposit[i] = t.eclDeposit;
    const a = r.ip;
    ipCharge[i] = a.charge;
    ip[0][i] = a.x; ip[1][i] = a.y; ip[2][i] = a.z; ip[3][i] = a.px; ip[4][i] = a.py; ip[5][i] = a.pz;
    if (a.covariance.length !== 21) throw new InputError(`row ${i}: ip.covariance must hold 21 numbers (got ${a.covariance.length})`);
    for (let k = 0; k < 21; k++) covariance[21 * i + k] = a.covariance[k];
    for (const hit of r.klmHits) {
      hSection[h] = sectionIndex(hit.section, `row ${i} KLM hit`);
      hSector[h] = hit.sector; hLayer[h] = hit.layer;
      hx[h] = hit.x; hy[h] = hit.y; hz[h] = hit.z;
      hStrips[0][h] = hit.uStripMin; hStrips[1][h] = hit.uStripMax; hStrips[2][h] = hit.vStripMin; hStrips[3][h] = hit.vStripMax;
      hTime[h] = hit.time; hTrack[h] = hit.truthTrack;
      h++;
    }
    hitOffsets[i + 1] = h;
    for (const digit of r.eclDigits) {
      dCell[d] = digit.cellId;
      dEnergy[d] = digit.energy;
      d++;
    }
    digitOffsets[i + 1] = d;
  }

  const f64 = (values: Float64Array): Data => makeData({ type: new Float64(), length: values.length, data: values });
  const i8 = (values: Int8Array): Data => makeData({ type: new Int8(), length: values.length, data: values });
  const i16 = (values: Int16Array): Data => makeData({ type: new Int16(), length: values.length, data: values });
  const i32 = (values: Int32Array): Data => makeData({ type: new Int32(), length: values.length, data: values });

  const truth = makeData({
    type: truthType, length: n,
    children: [i32(pdg), i8(charge), f64(p), f64(pt), f64(theta), f64(phi), boolColumn(decayed, n), boolColumn(inEcl, n),
      boolColumn(inKlm, n), i8(layerReached), sectionColumn(region), f64(eclDeposit)],
  });
  const covarianceType = ipType.children[7].type as FixedSizeList<Float64>;
  const ipData = makeData({
    type: ipType, length: n,
    children: [i8(ipCharge), ...ip.map(f64), makeData({ type: covarianceType, length: n, child: f64(covariance) as Data<Float64> })],
  });
  const hitData = makeData({
    type: klmHitType, length: nHits,
    children: [sectionColumn(hSection), i8(hSector), i8(hLayer), f64(hx), f64(hy), f64(hz), ...hStrips.map(i16), f64(hTime), i16(hTrack)],
  });
  const digitData = makeData({ type: eclDigitType, length: nDigits, children: [i16(dCell), f64(dEnergy)] });
  const hitsType = SIM_ROW_SCHEMA.fields[4].type as List<typeof klmHitType>;
  const digitsType = SIM_ROW_SCHEMA.fields[5].type as List<typeof eclDigitType>;
  const rowData = makeData({
    type: new Struct(SIM_ROW_SCHEMA.fields), length: n,
    children: [
      i32(event), i32(track), truth, ipData,
      makeData({ type: hitsType, length: n, valueOffsets: hitOffsets, child: hitData }),
      makeData({ type: digitsType, length: n, valueOffsets: digitOffsets, child: digitData }),
    ],
  });
  return new RecordBatch(SIM_ROW_SCHEMA, rowData);
}

/** A whole Arrow IPC file (in memory) holding `rows`. */
export function rowsToArrowIpc(rows: readonly SimTrackRow[]): Uint8Array {
  const batches: RecordBatch[] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_BATCH) batches.push(rowsToRecordBatch(rows.slice(i, i + ROWS_PER_BATCH)));
  const table = batches.length > 0 ? new Table(batches) : new Table(SIM_ROW_SCHEMA);
  return tableToIPC(table, "file");
}

// ───────────── columnar decoding ─────────────

type Numeric = ArrayLike<number | bigint>;

function numberAt(data: Data, i: number): number {
  const v = (data.values as Numeric)[data.offset + i];
  return typeof v === "bigint" ? Number(v) : v;
}

function bitAt(bits: Uint8Array, i: number): boolean {
  return ((bits[i >> 3] >> (i & 7)) & 1) === 1;
}

function boolAt(data: Data, i: number): boolean {
  return bitAt(data.values as Uint8Array, data.offset + i);
}

function isNull(data: Data, i: number): boolean {
  return data.nullCount > 0 && data.nullBitmap !== undefined && data.nullBitmap.length > 0 && !bitAt(data.nullBitmap, data.offset + i);
}

function sectionAt(data: Data, i: number, where: string): KlmSection {
  const offsets = data.valueOffsets as Int32Array;
  const bytes = data.values as Uint8Array;
  const a = offsets[data.offset + i], b = offsets[data.offset + i + 1];
  for (let k = 0; k < SECTIONS.length; k++) {
    const name = SECTION_BYTES[k];
    if (name.length !== b - a) continue;
    let same = true;
    for (let j = 0; j < name.length && same; j++) same = bytes[a + j] === name[j];
    if (same) return SECTIONS[k];
  }
  throw new FormatError(`${where}: KLM section must be barrel, forward or backward (got ${JSON.stringify(new TextDecoder().decode(bytes.subarray(a, b)))})`);
}

/** Rows of an Arrow IPC file (file or stream format) written by rowsToArrowIpc or SimRowFileWriter. */
export function rowsFromArrowIpc(bytes: Uint8Array): SimTrackRow[] {
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (e) {
    throw new FormatError(`not an Arrow IPC file: ${(e as Error).message}`);
  }
  for (const expected of SIM_ROW_SCHEMA.fields) {
    const actual = table.schema.fields.find((f) => f.name === expected.name);
    if (!actual) throw new FormatError(`Arrow file lacks the SimTrackRow column "${expected.name}"`);
    if (String(actual.type) !== String(expected.type)) {
      throw new FormatError(`Arrow column "${expected.name}" has type ${String(actual.type)}, expected ${String(expected.type)}`);
    }
  }
  const index = SIM_ROW_SCHEMA.fields.map((f) => table.schema.fields.findIndex((g) => g.name === f.name));
  const rows: SimTrackRow[] = [];
  for (const batch of table.batches) {
    const data = batch.data;
    const [eventD, trackD, truthD, ipD, hitsD, digitsD] = index.map((k) => data.children[k]);
    const tc = truthD.children;
    const ic = ipD.children;
    const covD = ic[7].children[0];
    const hitD = hitsD.children[0];
    const hc = hitD.children;
    const digitD = digitsD.children[0];
    const dc = digitD.children;
    const hitOffsets = hitsD.valueOffsets as Int32Array;
    const digitOffsets = digitsD.valueOffsets as Int32Array;
    for (let i = 0; i < data.length; i++) {
      const where = `row ${rows.length}`;
      const covariance = new Array<number>(21);
      const covBase = (ic[7].offset + i) * 21;
      for (let k = 0; k < 21; k++) covariance[k] = numberAt(covD, covBase + k);
      const klmHits: KlmHit[] = [];
      for (let j = hitOffsets[hitsD.offset + i]; j < hitOffsets[hitsD.offset + i + 1]; j++) {
        klmHits.push({
          section: sectionAt(hc[0], j, `${where} KLM hit`),
          sector: numberAt(hc[1], j), layer: numberAt(hc[2], j),
          x: numberAt(hc[3], j), y: numberAt(hc[4], j), z: numberAt(hc[5], j),
          uStripMin: numberAt(hc[6], j), uStripMax: numberAt(hc[7], j), vStripMin: numberAt(hc[8], j), vStripMax: numberAt(hc[9], j),
          time: numberAt(hc[10], j), truthTrack: numberAt(hc[11], j),
        });
      }
      const eclDigits: EclDigit[] = [];
      for (let j = digitOffsets[digitsD.offset + i]; j < digitOffsets[digitsD.offset + i + 1]; j++) {
        eclDigits.push({ cellId: numberAt(dc[0], j), energy: numberAt(dc[1], j) });
      }
      const truth: TrackTruth = {
        pdg: numberAt(tc[0], i), charge: numberAt(tc[1], i) as 1 | -1,
        p: numberAt(tc[2], i), pt: numberAt(tc[3], i), theta: numberAt(tc[4], i), phi: numberAt(tc[5], i),
        decayedInFlight: boolAt(tc[6], i), interactedInEcl: boolAt(tc[7], i), interactedInKlm: boolAt(tc[8], i),
        klmLayerReached: numberAt(tc[9], i),
        klmRegion: isNull(tc[10], i) ? null : sectionAt(tc[10], i, `${where} truth.klmRegion`),
        eclDeposit: numberAt(tc[11], i),
      };
      const trackAtIp: TrackAtIp = {
        charge: numberAt(ic[0], i) as 1 | -1,
        x: numberAt(ic[1], i), y: numberAt(ic[2], i), z: numberAt(ic[3], i),
        px: numberAt(ic[4], i), py: numberAt(ic[5], i), pz: numberAt(ic[6], i),
        covariance,
      };
      rows.push({ event: numberAt(eventD, i), track: numberAt(trackD, i), truth, ip: trackAtIp, klmHits, eclDigits });
    }
  }
  return rows;
}

/** One JSON line (no trailing newline) of a row. */
export function rowToJsonLine(row: SimTrackRow): string {
  return JSON.stringify(row);
}

/** Rows of a JSON Lines text (blank lines ignored). */
export function rowsFromJsonl(text: string): SimTrackRow[] {
  const rows: SimTrackRow[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new FormatError(`JSONL line ${i + 1}: ${(e as Error).message}`);
    }
    const row = value as Partial<SimTrackRow>;
    if (typeof row !== "object" || row === null || typeof row.event !== "number" || typeof row.truth !== "object" ||
      typeof row.ip !== "object" || !Array.isArray(row.klmHits) || !Array.isArray(row.eclDigits)) {
      throw new FormatError(`JSONL line ${i + 1}: not a SimTrackRow (needs event, track, truth, ip, klmHits, eclDigits)`);
    }
    rows.push(value as SimTrackRow);
  }
  return rows;
}

/** Reads a simulation file of either format (Arrow recognised by its magic bytes). */
export function readSimRows(file: string): SimTrackRow[] {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new MuidError("IO", `cannot read ${file}: ${(e as Error).message}`);
  }
  const arrowFileMagic = bytes.length >= 6 && Buffer.from(bytes.subarray(0, 6)).toString("latin1") === "ARROW1";
  const arrowStreamStart = bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xff && bytes[2] === 0xff && bytes[3] === 0xff;
  if (arrowFileMagic || arrowStreamStart) return rowsFromArrowIpc(bytes);
  return rowsFromJsonl(Buffer.from(bytes).toString("utf8"));
}

/**
 * Checks that `file` can be created: its directory exists and is writable and the name is not a
 * directory. Throws an OptionError naming the path otherwise.
 */
export function checkWritablePath(file: string): void {
  if (file.trim() === "") throw new OptionError("output path is empty");
  const target = path.resolve(file);
  const dir = path.dirname(target);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    throw new OptionError(`cannot write ${file}: directory ${dir} does not exist`);
  }
  if (!stat.isDirectory()) throw new OptionError(`cannot write ${file}: ${dir} is not a directory`);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new OptionError(`cannot write ${file}: directory ${dir} is not writable`);
  }
  if (fs.existsSync(target) && fs.statSync(target).isDirectory()) {
    throw new OptionError(`cannot write ${file}: it is a directory`);
  }
}

/** Writes all of `bytes` to a file descriptor (writeSync may write less than asked). */
function writeFully(fd: number, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.byteLength) offset += fs.writeSync(fd, bytes, offset, bytes.byteLength - offset);
}

/**
 * Streams rows to a temporary file beside `file` and renames it onto `file` on close(). abort()
 * (or a crash) leaves nothing under the final name; abort() also removes the temporary file.
 * The Arrow writer's bytes are drained through its async iterator (not toNodeStream, which bundlers
 * drop from apache-arrow's side-effect-free build) and written synchronously.
 */
export class SimRowFileWriter {
  readonly file: string;
  readonly tempFile: string;
  readonly format: SimFormat;
  private readonly fd: number;
  private readonly arrow: RecordBatchFileWriter | null;
  private readonly drained: Promise<void>;
  private pending: SimTrackRow[] = [];
  private rowCount = 0;
  private state: "open" | "closed" | "aborted" = "open";
  private failure: Error | null = null;

  constructor(file: string, format: SimFormat = formatFromPath(file)) {
    checkWritablePath(file);
    this.file = path.resolve(file);
    this.format = format;
    this.tempFile = path.join(path.dirname(this.file), `.${path.basename(this.file)}.partial-${process.pid}`);
    let fd: number;
    try {
      fd = fs.openSync(this.tempFile, "w");
    } catch (e) {
      throw new MuidError("IO", `cannot create ${this.tempFile}: ${(e as Error).message}`);
    }
    this.fd = fd;
    if (format === "arrow") {
      const arrow = new RecordBatchFileWriter();
      this.arrow = arrow;
      this.drained = (async () => {
        for await (const chunk of arrow as AsyncIterable<Uint8Array>) {
          if (this.state === "aborted") break;
          writeFully(fd, chunk);
        }
      })().catch((e: unknown) => {
        this.failure = e as Error;
      });
    } else {
      this.arrow = null;
      this.drained = Promise.resolve();
    }
  }

  /** Rows written so far (including those still buffered). */
  get rows(): number {
    return this.rowCount;
  }

  private ioError(): MuidError {
    return new MuidError("IO", `cannot write ${this.tempFile}: ${this.failure?.message}`);
  }

  write(rows: readonly SimTrackRow[]): void {
    if (this.state !== "open") throw new MuidError("IO", `write to ${this.file} after it was ${this.state}`);
    if (this.failure) throw this.ioError();
    this.rowCount += rows.length;
    if (this.arrow) {
      for (const row of rows) this.pending.push(row);
      while (this.pending.length >= ROWS_PER_BATCH) {
        this.arrow.write(rowsToRecordBatch(this.pending.splice(0, ROWS_PER_BATCH)));
      }
    } else {
      let text = "";
      for (const row of rows) text += rowToJsonLine(row) + "\n";
      try {
        if (text !== "") writeFully(this.fd, Buffer.from(text, "utf8"));
      } catch (e) {
        this.failure = e as Error;
        throw this.ioError();
      }
    }
  }

  /** Flushes, closes and renames the temporary file onto the final name. */
  async close(): Promise<void> {
    if (this.state !== "open") throw new MuidError("IO", `close of ${this.file} after it was ${this.state}`);
    if (this.arrow) {
      // an empty run still writes a valid file with the schema
      if (this.pending.length > 0 || this.rowCount === 0) this.arrow.write(rowsToRecordBatch(this.pending));
      this.pending = [];
      this.arrow.finish();
    }
    await this.drained;
    if (this.failure) {
      const error = this.ioError();
      this.abort();
      throw error;
    }
    try {
      fs.closeSync(this.fd);
      fs.renameSync(this.tempFile, this.file);
    } catch (e) {
      this.failure = e as Error;
      const error = this.ioError();
      this.abort();
      throw error;
    }
    this.state = "closed";
  }

  /** Drops everything written: synchronous, so it is safe in a signal handler. */
  abort(): void {
    if (this.state !== "open") return;
    this.state = "aborted";
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed
    }
    try {
      fs.unlinkSync(this.tempFile);
    } catch {
      // already gone
    }
  }
}
