/**
 * `muid export`: a model file to ONNX (`muid export onnx`), and events to the HSF Phoenix event
 * display (`muid export phoenix`: src/eval/phoenix.ts).
 */
import * as fs from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import * as library from "../index.js";
import { OptionError } from "../errors.js";
import { readModelFile } from "../models/modelFile.js";
import { exportOnnx } from "../models/onnx.js";
import { readSimRows } from "../sim/io.js";
import type { SimTrackRow } from "../sim/types.js";
import { phoenixEvents, type PhoenixEvent, type PhoenixOptions } from "../eval/phoenix.js";
import { loadDemoModels, MUON_ID_METHODS, runChainOnRows, type ChainEvent, type MuonIdMethod } from "../web/eventChain.js";
import { checkWritablePath } from "../sim/io.js";
import { readInputFile, writeFileAtomic } from "./files.js";

export interface PhoenixExportSettings {
  data: string;
  output: string;
  /** folder with the weight files (missing files: that method gives no values) */
  weights: string;
  maxEvents: number;
  options: Required<Pick<PhoenixOptions, "muonMethod" | "muonThreshold" | "runNumber">>;
}

interface PhoenixCliOptions {
  data?: string;
  output?: string;
  weights: string;
  maxEvents?: string;
  muonMethod: string;
  muonThreshold: string;
  run: string;
}

/** Validates the options (OptionError naming the bad one). */
export function parsePhoenixOptions(raw: PhoenixCliOptions): PhoenixExportSettings {
  if (!raw.data) throw new OptionError("--data FILE is required");
  if (!raw.output) throw new OptionError("-o, --output FILE is required");
  if (!fs.existsSync(raw.data)) throw new OptionError(`--data ${raw.data}: no such file`);
  checkWritablePath(raw.output);
  if (!(MUON_ID_METHODS as readonly string[]).includes(raw.muonMethod)) throw new OptionError(`--muon-method must be one of ${MUON_ID_METHODS.join(", ")} (got ${JSON.stringify(raw.muonMethod)})`);
  const threshold = Number(raw.muonThreshold);
  if (raw.muonThreshold.trim() === "" || !(threshold >= 0 && threshold <= 1)) throw new OptionError(`--muon-threshold must be a number in [0, 1] (got ${JSON.stringify(raw.muonThreshold)})`);
  const run = Number(raw.run);
  if (!Number.isSafeInteger(run) || run < 0) throw new OptionError(`--run must be a non-negative integer (got ${JSON.stringify(raw.run)})`);
  let maxEvents = Infinity;
  if (raw.maxEvents !== undefined) {
    maxEvents = Number(raw.maxEvents);
    if (!Number.isSafeInteger(maxEvents) || maxEvents < 1) throw new OptionError(`--max-events must be a positive integer (got ${JSON.stringify(raw.maxEvents)})`);
  }
  return { data: raw.data, output: raw.output, weights: raw.weights, maxEvents, options: { muonMethod: raw.muonMethod as MuonIdMethod, muonThreshold: threshold, runNumber: run } };
}

/** Consecutive rows of one event (as `muid simulate` writes them). */
function groupByEvent(rows: readonly SimTrackRow[], maxEvents: number): SimTrackRow[][] {
  const events: SimTrackRow[][] = [];
  for (const row of rows) {
    const current = events[events.length - 1];
    if (current && current[0]!.event === row.event) current.push(row);
    else if (events.length < maxEvents) events.push([row]);
    else break;
  }
  return events;
}

/** Runs the chain on the rows of a file and builds the Phoenix events (also used by the tests). */
export async function buildPhoenixFile(settings: PhoenixExportSettings): Promise<{ events: Record<string, PhoenixEvent>; chain: ChainEvent[] }> {
  const rows = readSimRows(settings.data);
  const models = await loadDemoModels(library, async (file) => {
    const path = join(settings.weights, file);
    return fs.existsSync(path) ? readInputFile(path) : null;
  });
  const reconstructor = await library.KlmReconstructor.create({ likelihood: models.likelihood, keepCrossings: true });
  const chain = groupByEvent(rows, settings.maxEvents).map((eventRows) => runChainOnRows(library, reconstructor, models, eventRows));
  return { events: phoenixEvents(chain, settings.options), chain };
}

export function registerExport(program: Command): void {
  const exporter = program.command("export").description("write a muid model or events in another format");
  exporter
    .command("onnx")
    .description("export a model file to ONNX (opset 17): inputs as in the model card, outputs logits and probabilities")
    .argument("<model>", "muid model file (.safetensors)")
    .requiredOption("-o, --output <file>", "ONNX file to write")
    .action((modelPath: string, opts: { output: string }) => {
      const bundle = readModelFile(readInputFile(modelPath));
      const onnx = exportOnnx(bundle);
      writeFileAtomic(opts.output, onnx);
      process.stderr.write(`${opts.output}: ${bundle.card.name}, ${onnx.length} bytes, ONNX ir_version 8, opset 17\n`);
    });
  exporter
    .command("phoenix")
    .description("run the chain on simulated (or reconstructed) rows and write the events for the HSF Phoenix event display (JSON; mm, GeV/c, MeV)")
    .option("--data <file>", "rows as written by muid simulate or muid reconstruct (JSONL or Arrow)")
    .option("-o, --output <file>", "Phoenix JSON file to write")
    .option("--weights <dir>", "folder with the shipped weights (klm-likelihood.json, klm-dnn*.safetensors, ecl-cnn-*.safetensors)", "weights")
    .option("--max-events <n>", "write at most this many events")
    .option("--muon-method <method>", `probability that selects the Muons: ${MUON_ID_METHODS.join(", ")}`, "dnn")
    .option("--muon-threshold <p>", "a track is a muon at probability ≥ p", "0.5")
    .option("--run <n>", "run number written with every event", "0")
    .action(async (opts: PhoenixCliOptions) => {
      const settings = parsePhoenixOptions(opts);
      const { events, chain } = await buildPhoenixFile(settings);
      writeFileAtomic(settings.output, JSON.stringify(events));
      const tracks = chain.reduce((n, e) => n + e.tracks.length, 0);
      const muons = Object.values(events).reduce((n, e) => n + Object.values(e.Muons).reduce((m, c) => m + c.length, 0), 0);
      process.stderr.write(`${settings.output}: ${chain.length} events, ${tracks} tracks, ${muons} muons (${settings.options.muonMethod} ≥ ${settings.options.muonThreshold}) in the Phoenix format\n`);
    });
}
