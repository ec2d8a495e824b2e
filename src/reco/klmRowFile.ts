/**
 * Reconstructed rows: a simulated row (SimTrackRow) plus what the KLM chain computed, under `klm`:
 *
 *   klm.features        121 numbers (the DNN inputs, klm.md §1.3)
 *   klm.outcome, klm.extLayer, klm.hitLayer, klm.lastLayer, klm.chi2, klm.ndof, klm.isForward,
 *   klm.barrelExtLayer, klm.endcapExtLayer, klm.extLayerPattern, klm.hitLayerPattern   (Muid, §2.6–2.8)
 *   klm.matchedHits     indices into the row's klmHits of the hits matched to the track
 *   klm.logL            ln L per likelihood hypothesis (−1e20 when none)
 *   klm.muonId          muon probability per method: "likelihood", and one per DNN model
 *
 * JSON Lines carry it as is. Arrow files use src/sim/io.ts's schema with one more struct column `klm`
 * (io.ts's writer knows only SimTrackRow: this adapter takes its record batches and adds the column).
 * The Arrow file is assembled in memory and written atomically.
 */
import * as fs from "node:fs";
import {
  Bool, Field, FixedSizeList, Float32, Float64, Int8, Int16, Int32, List, RecordBatch, Schema, Struct, Table,
  makeBuilder, makeData, tableFromIPC, tableToIPC,
} from "apache-arrow";
import { FormatError, MuidError } from "../errors.js";
import { SIM_ROW_SCHEMA, checkWritablePath, formatFromPath, rowToJsonLine, rowsFromArrowIpc, rowsToRecordBatch, type SimFormat } from "../sim/io.js";
import type { SimTrackRow } from "../sim/types.js";
import { writeFileAtomic } from "../cli/files.js";
import { KLM_FEATURES } from "./klmFeatures.js";
import type { KlmTrackReconstruction } from "./klmChain.js";

export interface KlmRowResult {
  features: number[];
  outcome: number;
  extLayer: number;
  hitLayer: number;
  lastLayer: number;
  chi2: number;
  ndof: number;
  isForward: boolean;
  barrelExtLayer: number;
  endcapExtLayer: number;
  extLayerPattern: number;
  hitLayerPattern: number;
  matchedHits: number[];
  logL: Record<string, number>;
  muonId: Record<string, number>;
}

export type ReconstructedRow = SimTrackRow & { klm: KlmRowResult };

/** The `klm` record of a reconstruction; `scores` holds the DNN methods' muon probabilities. */
export function klmRowResult(r: KlmTrackReconstruction, scores: Record<string, number> = {}): KlmRowResult {
  const muonId: Record<string, number> = {};
  if (r.likelihood) muonId.likelihood = r.likelihood.muonId;
  for (const [name, v] of Object.entries(scores)) muonId[name] = v;
  return {
    features: Array.from(r.features),
    outcome: r.outcome,
    extLayer: r.extLayer,
    hitLayer: r.hitLayer,
    lastLayer: r.lastLayer,
    chi2: r.chi2,
    ndof: r.ndof,
    isForward: r.isForward,
    barrelExtLayer: r.muid.barrelExtLayer,
    endcapExtLayer: r.muid.endcapExtLayer,
    extLayerPattern: r.extLayerPattern,
    hitLayerPattern: r.hitLayerPattern,
    matchedHits: r.matchedHits.map((m) => m.hitIndex),
    logL: r.likelihood ? { ...r.likelihood.logL } : {},
    muonId,
  };
}

function klmType(hypotheses: readonly string[], methods: readonly string[]): Struct {
  return new Struct([
    new Field("features", new FixedSizeList(KLM_FEATURES, new Field("item", new Float32(), false)), false),
    new Field("outcome", new Int8(), false),
    new Field("extLayer", new Int8(), false),
    new Field("hitLayer", new Int8(), false),
    new Field("lastLayer", new Int8(), false),
    new Field("chi2", new Float64(), false),
    new Field("ndof", new Int16(), false),
    new Field("isForward", new Bool(), false),
    new Field("barrelExtLayer", new Int8(), false),
    new Field("endcapExtLayer", new Int8(), false),
    new Field("extLayerPattern", new Int32(), false),
    new Field("hitLayerPattern", new Int32(), false),
    new Field("matchedHits", new List(new Field("item", new Int32(), false)), false),
    new Field("logL", new Struct(hypotheses.map((h) => new Field(h, new Float64(), false))), false),
    new Field("muonId", new Struct(methods.map((m) => new Field(m, new Float64(), false))), false),
  ]);
}

/** The Arrow schema of reconstructed rows with these likelihood hypotheses and muon-ID methods. */
export function reconstructedRowSchema(hypotheses: readonly string[], methods: readonly string[]): Schema {
  return new Schema(
    [...SIM_ROW_SCHEMA.fields, new Field("klm", klmType(hypotheses, methods), false)],
    new Map([["muid.format", "ReconstructedRow/1"]]),
  );
}

const ROWS_PER_BATCH = 2048;

/** Writes reconstructed rows (Arrow or JSON Lines by `format`, default from the name), atomically. */
export function writeReconstructedRows(file: string, rows: readonly ReconstructedRow[], format: SimFormat = formatFromPath(file)): void {
  checkWritablePath(file);
  if (format === "jsonl") {
    writeFileAtomic(file, rows.map((r) => rowToJsonLine(r) + "\n").join(""));
    return;
  }
  const hypotheses = rows.length > 0 ? Object.keys(rows[0]!.klm.logL) : [];
  const methods = rows.length > 0 ? Object.keys(rows[0]!.klm.muonId) : [];
  const schema = reconstructedRowSchema(hypotheses, methods);
  const klm = schema.fields[schema.fields.length - 1]!.type as Struct;
  const batches: RecordBatch[] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_BATCH) {
    const slice = rows.slice(i, i + ROWS_PER_BATCH);
    // the SimTrackRow columns through io.ts's columnar codec, the klm struct through a row builder
    const sim = rowsToRecordBatch(slice);
    const builder = makeBuilder({ type: klm, nullValues: [null, undefined] });
    for (const row of slice) builder.append(row.klm as never);
    const data = makeData({ type: new Struct(schema.fields), length: slice.length, nullCount: 0, children: [...sim.data.children, builder.finish().flush()] });
    batches.push(new RecordBatch(schema, data as never));
  }
  const table = batches.length > 0 ? new Table(batches) : new Table(schema);
  writeFileAtomic(file, tableToIPC(table, "file"));
}

type Getter = { get(i: number): unknown; length: number };

/** Reads reconstructed rows (either format); a file without the `klm` column is a FormatError. */
export function readReconstructedRows(file: string): ReconstructedRow[] {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new MuidError("IO", `cannot read ${file}: ${(e as Error).message}`);
  }
  const arrow = (bytes.length >= 6 && Buffer.from(bytes.subarray(0, 6)).toString("latin1") === "ARROW1") ||
    (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xff && bytes[2] === 0xff && bytes[3] === 0xff);
  if (!arrow) {
    const rows: ReconstructedRow[] = [];
    Buffer.from(bytes).toString("utf8").split("\n").forEach((line, i) => {
      if (line.trim() === "") return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (e) {
        throw new FormatError(`${file} line ${i + 1}: ${(e as Error).message}`);
      }
      const row = value as Partial<ReconstructedRow>;
      if (typeof row?.klm !== "object" || row.klm === null || !Array.isArray(row.klm.features)) throw new FormatError(`${file} line ${i + 1}: no "klm" reconstruction (run muid reconstruct first)`);
      rows.push(row as ReconstructedRow);
    });
    return rows;
  }
  const sim = rowsFromArrowIpc(bytes);
  const table = tableFromIPC(bytes);
  const column = table.getChild("klm");
  if (!column) throw new FormatError(`${file}: no "klm" column (run muid reconstruct first)`);
  return sim.map((row, i) => {
    const k = (column.get(i) as { toJSON(): Record<string, unknown> }).toJSON();
    const features = Array.from(k.features as Iterable<number>);
    const matched = k.matchedHits as Getter;
    const klm: KlmRowResult = {
      ...(k as unknown as KlmRowResult),
      features,
      matchedHits: Array.from({ length: matched.length }, (_, j) => matched.get(j) as number),
      logL: { ...(k.logL as { toJSON(): Record<string, number> }).toJSON() },
      muonId: { ...(k.muonId as { toJSON(): Record<string, number> }).toJSON() },
    };
    return { ...row, klm };
  });
}
