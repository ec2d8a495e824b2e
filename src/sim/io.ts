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
  Bool, Field, FixedSizeList, Float64, Int8, Int16, Int32, List, RecordBatch, RecordBatchFileWriter,
  Schema, Struct, Table, Utf8, makeBuilder, tableFromIPC, tableToIPC,
} from "apache-arrow";
import type { EclDigit, KlmHit, KlmSection, SimTrackRow, TrackAtIp, TrackTruth } from "./types.js";
import { FormatError, MuidError, OptionError } from "../errors.js";

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

/** One Arrow record batch holding `rows`. */
export function rowsToRecordBatch(rows: readonly SimTrackRow[]): RecordBatch {
  const builder = makeBuilder({ type: new Struct(SIM_ROW_SCHEMA.fields), nullValues: [null, undefined] });
  for (const row of rows) builder.append(row as never);
  return new RecordBatch(SIM_ROW_SCHEMA, builder.finish().flush() as never);
}

/** A whole Arrow IPC file (in memory) holding `rows`. */
export function rowsToArrowIpc(rows: readonly SimTrackRow[]): Uint8Array {
  const batches: RecordBatch[] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_BATCH) batches.push(rowsToRecordBatch(rows.slice(i, i + ROWS_PER_BATCH)));
  const table = batches.length > 0 ? new Table(batches) : new Table(SIM_ROW_SCHEMA);
  return tableToIPC(table, "file");
}

type Getter = { get(i: number): unknown; length: number };

function list(value: unknown): Getter {
  return value as Getter;
}

function structJson(value: unknown): Record<string, unknown> {
  return (value as { toJSON(): Record<string, unknown> }).toJSON();
}

const SECTIONS: readonly string[] = ["barrel", "forward", "backward"];

function section(value: unknown, where: string): KlmSection {
  if (typeof value !== "string" || !SECTIONS.includes(value)) {
    throw new FormatError(`${where}: KLM section must be barrel, forward or backward (got ${JSON.stringify(value)})`);
  }
  return value as KlmSection;
}

/** Rows of an Arrow IPC file (file or stream format) written by rowsToArrowIpc or SimRowFileWriter. */
export function rowsFromArrowIpc(bytes: Uint8Array): SimTrackRow[] {
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (e) {
    throw new FormatError(`not an Arrow IPC file: ${(e as Error).message}`);
  }
  const missing = SIM_ROW_SCHEMA.fields.map((f) => f.name).filter((n) => !table.schema.fields.some((f) => f.name === n));
  if (missing.length > 0) throw new FormatError(`Arrow file lacks the SimTrackRow column(s): ${missing.join(", ")}`);
  const rows: SimTrackRow[] = [];
  for (let r = 0; r < table.numRows; r++) {
    const row = table.get(r) as unknown as Record<string, unknown>;
    const truthRaw = structJson(row.truth);
    const ipRaw = structJson(row.ip);
    const covariance = Array.from(ipRaw.covariance as Iterable<number>);
    const hits = list(row.klmHits);
    const klmHits: KlmHit[] = [];
    for (let i = 0; i < hits.length; i++) {
      const h = structJson(hits.get(i));
      klmHits.push({ ...(h as unknown as KlmHit), section: section(h.section, `row ${r} hit ${i}`) });
    }
    const digits = list(row.eclDigits);
    const eclDigits: EclDigit[] = [];
    for (let i = 0; i < digits.length; i++) eclDigits.push(structJson(digits.get(i)) as unknown as EclDigit);
    const truth = truthRaw as unknown as TrackTruth;
    rows.push({
      event: row.event as number,
      track: row.track as number,
      truth: { ...truth, klmRegion: truth.klmRegion == null ? null : section(truth.klmRegion, `row ${r} truth`) },
      ip: { ...(ipRaw as unknown as TrackAtIp), covariance },
      klmHits,
      eclDigits,
    });
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
