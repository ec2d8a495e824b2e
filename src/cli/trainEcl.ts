/**
 * `muid train --model ecl-cnn|ecl-ep`: the ECL parts of the train command.
 *
 *   muid train --model ecl-cnn --data FILE --charge plus|minus -o weights/ecl-cnn-minus.safetensors
 *              [--epochs N] [--seed S] [--patience N] [--max-minutes M] [--threshold MeV]
 *              [--validation-fraction F] [--checkpoint FILE] [--quiet]
 *   muid train --model ecl-ep --data FILE[,FILE…] -o weights/ecl-ep.json [--threshold MeV]
 *
 * The train command itself belongs to src/cli/train.ts (KLM likelihood); it wires these in with
 * `addEclTrainOptions(trainCommand)` and, in its action, `if (isEclTrainModel(opts.model)) return
 * runEclTrain(opts)`. Until it exists, `registerTrainEcl(program)` creates a train command that
 * knows only the ECL models.
 *
 * ecl-cnn writes the best model so far to -o after every epoch that improves the validation loss,
 * and the last epoch's weights to the checkpoint file, so an interrupted run leaves its best model.
 */
import type { Command } from "commander";
import { ECL_THRESHOLD_DEFAULT } from "../constants.js";
import { OptionError } from "../errors.js";
import { writeModelFile } from "../models/modelFile.js";
import { readEclRowFiles } from "../reco/eclRowFile.js";
import { buildEclSample, type EclSample } from "../reco/eclSample.js";
import { trainEclCnn } from "../train/eclCnn.js";
import { buildEclEpPdfs } from "../train/eclEp.js";
import { writeFileAtomic } from "./files.js";

export const ECL_TRAIN_MODELS = ["ecl-cnn", "ecl-ep"] as const;
export type EclTrainModel = (typeof ECL_TRAIN_MODELS)[number];

export function isEclTrainModel(model: unknown): model is EclTrainModel {
  return (ECL_TRAIN_MODELS as readonly unknown[]).includes(model);
}

/** The options as commander hands them over (strings). */
export interface EclTrainCliOptions {
  model?: string;
  data?: string;
  output?: string;
  charge?: string;
  epochs?: string;
  seed?: string;
  patience?: string;
  maxMinutes?: string;
  threshold?: string;
  validationFraction?: string;
  checkpoint?: string;
  quiet?: boolean;
}

/** Adds the ECL-specific options to a train command that already has --model, --data, -o, --epochs, --seed. */
export function addEclTrainOptions(command: Command): Command {
  return command
    .option("--charge <charge>", "ecl-cnn: the track charge this model is for, plus or minus")
    .option("--patience <n>", "ecl-cnn: epochs without a better validation loss before stopping (default 20, basf2)")
    .option("--max-minutes <m>", "ecl-cnn: do not start an epoch that would end after this many minutes")
    .option("--threshold <MeV>", "ecl-cnn/ecl-ep: CNN pixel threshold (default 1 MeV)")
    .option("--validation-fraction <f>", "ecl-cnn: fraction of tracks held out for early stopping (default 0.1)")
    .option("--checkpoint <file>", "ecl-cnn: where the last epoch's weights go (default: OUTPUT with .checkpoint before the extension)");
}

function parseNumber(option: string, text: string | undefined, check: (v: number) => boolean, what: string): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text.trim());
  if (text.trim() === "" || !Number.isFinite(v) || !check(v)) throw new OptionError(`${option} must be ${what} (got ${JSON.stringify(text)})`);
  return v;
}

function readSample(files: string, charge?: 1 | -1): EclSample {
  const rows = readEclRowFiles(files);
  return buildEclSample(rows, charge !== undefined ? { charge } : {});
}

function log(quiet: boolean | undefined, text: string): void {
  if (!quiet) process.stderr.write(text + "\n");
}

/**
 * Runs `muid train --model ecl-cnn|ecl-ep`; every bad option is an OptionError naming it. `argv` is the
 * command line as node saw it (`program.rawArgs`), recorded in the model card.
 */
export async function runEclTrain(opts: EclTrainCliOptions, argv: readonly string[] = process.argv): Promise<void> {
  if (!isEclTrainModel(opts.model)) throw new OptionError(`--model must be one of ${ECL_TRAIN_MODELS.join(", ")} here (got ${JSON.stringify(opts.model)})`);
  if (opts.data === undefined || opts.data.trim() === "") throw new OptionError("--data FILE is required");
  if (opts.output === undefined || opts.output.trim() === "") throw new OptionError("-o/--output FILE is required");
  const thresholdMeV = parseNumber("--threshold", opts.threshold, (v) => v >= 0 && v <= 1000, "a number of MeV in [0, 1000]");
  const threshold = thresholdMeV !== undefined ? thresholdMeV / 1000 : ECL_THRESHOLD_DEFAULT;
  const seed = parseNumber("--seed", opts.seed, (v) => Number.isSafeInteger(v) && v >= 0 && v <= 4294967295, "an integer in [0, 4294967295]") ?? 1;
  const command = ["muid", ...argv.slice(2)].join(" ");
  const quiet = opts.quiet === true;

  if (opts.model === "ecl-ep") {
    for (const o of ["charge", "epochs", "patience", "maxMinutes", "validationFraction", "checkpoint"] as const)
      if (opts[o] !== undefined) throw new OptionError(`--${o.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())} does not apply to --model ecl-ep`);
    const sample = readSample(opts.data);
    log(quiet, `ecl-ep: ${sample.n} tracks in the CNN acceptance out of ${sample.rows} rows`);
    const pdfs = buildEclEpPdfs(sample, { threshold, source: opts.data, command });
    writeFileAtomic(opts.output, JSON.stringify(pdfs) + "\n");
    log(quiet, `ecl-ep: wrote ${opts.output} (${pdfs.provenance.samples} tracks with a cluster)`);
    return;
  }

  if (opts.charge !== "plus" && opts.charge !== "minus") throw new OptionError(`--charge must be "plus" or "minus" for --model ecl-cnn (got ${JSON.stringify(opts.charge)})`);
  const charge = opts.charge === "plus" ? 1 : -1;
  const epochs = parseNumber("--epochs", opts.epochs, (v) => Number.isSafeInteger(v) && v >= 1 && v <= 10000, "an integer in [1, 10000]");
  const patience = parseNumber("--patience", opts.patience, (v) => Number.isSafeInteger(v) && v >= 1, "a positive integer");
  const maxMinutes = parseNumber("--max-minutes", opts.maxMinutes, (v) => v > 0, "a number > 0");
  const validationFraction = parseNumber("--validation-fraction", opts.validationFraction, (v) => v > 0 && v < 1, "a number in (0, 1)");
  const checkpoint = opts.checkpoint ?? opts.output.replace(/(\.safetensors)?$/, ".checkpoint.safetensors");
  if (checkpoint === opts.output) throw new OptionError("--checkpoint must differ from the output file");

  const started = performance.now();
  const sample = readSample(opts.data, charge);
  log(quiet, `ecl-cnn ${opts.charge}: ${sample.n} tracks in the CNN acceptance out of ${sample.rows} rows (${(sample.isMuon.reduce((a, b) => a + b, 0) / Math.max(1, sample.n) * 100).toFixed(1)} % muons); ` +
    `rejected ${JSON.stringify(sample.rejected)}, skipped ${sample.skipped}; read in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const result = await trainEclCnn(sample, {
    charge, seed, threshold, command,
    ...(epochs !== undefined ? { epochs } : {}),
    ...(patience !== undefined ? { patience } : {}),
    ...(validationFraction !== undefined ? { validationFraction } : {}),
    ...(maxMinutes !== undefined ? { maxSeconds: maxMinutes * 60 } : {}),
    onProgress: (p) => log(quiet, `ecl-cnn ${opts.charge}: epoch ${p.epoch} batch ${p.batch}/${p.batches} loss ${p.loss.toFixed(5)}`),
    onEpoch: (e, best, last) => {
      writeFileAtomic(checkpoint, writeModelFile(last));
      if (e.improved) writeFileAtomic(opts.output!, writeModelFile(best));
      log(quiet, `ecl-cnn ${opts.charge}: epoch ${e.epoch} train loss ${e.trainLoss.toFixed(5)} validation loss ${e.validationLoss.toFixed(5)}, dead ${(100 * e.deadFraction).toFixed(1)} %${e.improved ? " (best, saved)" : ""} ${e.seconds.toFixed(0)} s`);
    },
  });
  writeFileAtomic(opts.output, writeModelFile(result.bundle));
  log(quiet, `ecl-cnn ${opts.charge}: done (${result.stoppedBy}) after ${result.history.length} epochs, best epoch ${result.bestEpoch} validation loss ${result.bestValidationLoss.toFixed(5)}, ` +
    `${result.trainSamples} training / ${result.validationSamples} validation tracks, ${result.seconds.toFixed(0)} s; wrote ${opts.output}`);
}

/** The command line the program was parsed from (commander keeps it as rawArgs; its typings omit it). */
export function commandLine(command: Command): readonly string[] {
  let root: Command = command;
  while (root.parent) root = root.parent;
  return (root as unknown as { rawArgs?: string[] }).rawArgs ?? process.argv;
}

/**
 * Registers a `train` command that knows only the ECL models (for use before src/cli/train.ts
 * exists; afterwards wire addEclTrainOptions/runEclTrain into that command instead).
 */
export function registerTrainEcl(program: Command): Command {
  const train = program
    .command("train")
    .description("train a model on simulated rows (ECL: ecl-cnn per charge, ecl-ep E/p PDFs)")
    .option("--model <model>", `what to train: ${ECL_TRAIN_MODELS.join(", ")}`)
    .option("--data <files>", "simulated rows (muid simulate --kind ecl output); several files separated by commas")
    .option("-o, --output <file>", "output: model file (.safetensors) or E/p PDF file (.json)")
    .option("--epochs <n>", "ecl-cnn: maximum epochs (default 100, basf2)")
    .option("--seed <s>", "seed of the split, initialisation, shuffles and dropout (default 1)")
    .option("-q, --quiet", "no progress on stderr");
  addEclTrainOptions(train);
  train.action(async (opts: EclTrainCliOptions, command: Command) => runEclTrain(opts, commandLine(command)));
  return train;
}
