/**
 * `muid train --model <model> --data FILE -o OUT`: trains a model from simulated rows.
 *
 *   klm-likelihood   the Muid likelihood tables (src/train/klmLikelihood.ts) → JSON (format
 *                    muid-klm-likelihood v1), e.g. -o weights/klm-likelihood.json
 *   klm-dnn, klm-dnn-global   the KLM DNNs (src/cli/trainKlmDnn.ts; simulates in process)
 *   ecl-cnn, ecl-ep  the ECL CNN per charge and the E/p PDFs (src/cli/trainEcl.ts)
 *   combined         the calibration of the combined muon probability (src/train/combinedMuonId.ts;
 *                    simulates in process, runs the shipped models; default -o weights/combined-muon-id.json)
 *
 * Each model's options are added by its module; progress goes to stderr.
 */
import * as fs from "node:fs";
import { Command } from "commander";
import { OptionError } from "../errors.js";
import { checkWritablePath, readSimRows } from "../sim/io.js";
import { trainKlmLikelihood } from "../train/klmLikelihood.js";
import { writeFileAtomic } from "./files.js";
import { ECL_TRAIN_MODELS, addEclTrainOptions, runEclTrain, type EclTrainCliOptions } from "./trainEcl.js";
import { runCombinedTrainCommand, type CombinedTrainCliOptions } from "../train/combinedMuonId.js";
import { KLM_DNN_TRAIN_MODELS, registerTrainKlmDnn, runKlmDnnTrainCommand, type KlmDnnTrainCliOptions } from "./trainKlmDnn.js";

export interface TrainCliOptions {
  model?: string;
  data?: string;
  output?: string;
  efficiency?: string;
  fieldScale?: string;
  backend?: string;
  quiet?: boolean;
}

type Trainer = (opts: TrainCliOptions, progress: NodeJS.WritableStream) => Promise<void>;

function numberOption(value: string | undefined, option: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const v = Number(value);
  if (value.trim() === "" || !Number.isFinite(v) || v < min || v > max) throw new OptionError(`${option} must be a number in [${min}, ${max}], got ${JSON.stringify(value)}`);
  return v;
}

/** muid train --model klm-likelihood */
export async function trainKlmLikelihoodCommand(opts: TrainCliOptions, progress: NodeJS.WritableStream = process.stderr): Promise<void> {
  if (!opts.data) throw new OptionError("--data FILE is required");
  if (!opts.output) throw new OptionError("-o, --output FILE is required");
  if (!fs.existsSync(opts.data)) throw new OptionError(`--data ${opts.data}: no such file`);
  checkWritablePath(opts.output);
  const efficiency = numberOption(opts.efficiency, "--efficiency", 0.01, 1, 1);
  const fieldScale = numberOption(opts.fieldScale, "--field-scale", 0, 10, 1);
  const backend = opts.backend ?? "wasm";
  if (backend !== "wasm" && backend !== "scalar") throw new OptionError(`--backend must be wasm or scalar, got ${JSON.stringify(backend)}`);
  const rows = readSimRows(opts.data);
  if (rows.length === 0) throw new OptionError(`--data ${opts.data} holds no rows`);
  let nextReport = 0;
  const tables = await trainKlmLikelihood(rows, {
    efficiency,
    fieldScale,
    backend,
    training: { data: opts.data },
    onProgress: (done, total) => {
      if (opts.quiet || done < nextReport) return;
      progress.write(`muid train klm-likelihood: ${done}/${total} tracks reconstructed\n`);
      nextReport = done + Math.max(1, Math.ceil(total / 10));
    },
  });
  writeFileAtomic(opts.output, JSON.stringify(tables) + "\n");
  if (!opts.quiet) {
    const counts = (tables.training?.tracksInKlm ?? {}) as Record<string, number>;
    progress.write(`muid train klm-likelihood: wrote ${opts.output} (${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(", ")} tracks in the KLM)\n`);
  }
}

const TRAINERS: Record<string, Trainer> = {
  "klm-likelihood": trainKlmLikelihoodCommand,
  ...Object.fromEntries(KLM_DNN_TRAIN_MODELS.map((m) => [m, (opts: TrainCliOptions, progress: NodeJS.WritableStream) => runKlmDnnTrainCommand(opts as KlmDnnTrainCliOptions, progress)])),
  ...Object.fromEntries(ECL_TRAIN_MODELS.map((m) => [m, (opts: TrainCliOptions) => runEclTrain(opts as EclTrainCliOptions)])),
  combined: async (opts: TrainCliOptions, progress: NodeJS.WritableStream) => {
    await runCombinedTrainCommand(opts as CombinedTrainCliOptions, progress);
  },
};

export function registerTrain(program: Command): void {
  const train = program
    .command("train")
    .description("train a model from simulated rows")
    .option("--model <model>", `what to train: ${Object.keys(TRAINERS).join(", ")}`)
    .option("--data <file>", "simulated rows (Arrow or JSONL): klm-likelihood, ecl-cnn, ecl-ep (klm-dnn and combined simulate in process)")
    .option("-o, --output <file>", "output file (combined: default weights/combined-muon-id.json)")
    .option("--events <n>", "events to simulate: klm-dnn, klm-dnn-global (KLM study gun, 4–16 tracks each); combined (p 0.2–5 GeV/c guns, default 24000)")
    .option("--seed <s>", "seed of the simulation, split, initialisation and shuffles (default 1; combined 11)")
    .option("--efficiency <e>", "klm-likelihood: layer efficiency the hit probabilities are declared for (default 1)")
    .option("--field-scale <s>", "klm-likelihood: field scale of the extrapolation (default 1)")
    .option("--backend <backend>", "klm-likelihood: association wasm (default) or scalar")
    .option("-q, --quiet", "no progress on stderr")
    .addHelpText("after", "\nExamples:\n  muid train --model klm-likelihood --data klm.arrow -o weights/klm-likelihood.json\n  muid train --model combined --events 60000 --seed 11   (writes weights/combined-muon-id.json)");
  registerTrainKlmDnn(train);
  // The ECL options that the KLM DNN did not add already (--patience, --checkpoint … are shared).
  const have = new Set(train.options.map((o) => o.long));
  for (const option of addEclTrainOptions(new Command()).options) if (!have.has(option.long)) train.addOption(option);
  train.action(async (opts: TrainCliOptions) => {
    if (!opts.model) throw new OptionError(`--model is required (${Object.keys(TRAINERS).join(", ")})`);
    const trainer = TRAINERS[opts.model];
    if (!trainer) throw new OptionError(`unknown --model ${JSON.stringify(opts.model)} (known: ${Object.keys(TRAINERS).join(", ")})`);
    await trainer(opts, process.stderr);
  });
}
