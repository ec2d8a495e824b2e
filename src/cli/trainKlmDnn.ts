/**
 * `muid train --model klm-dnn|klm-dnn-global`: simulates a KLM study sample in process (no row file:
 * src/train/klmSample.ts), trains the DNN in TensorFlow.js (src/train/klmDnn.ts) and writes the model.
 *
 *   muid train --model klm-dnn --events N --seed S -o weights/klm-dnn.safetensors
 *              [--epochs E] [--patience P] [--batch-size B] [--validation-fraction F] [--max-minutes M]
 *              [--checkpoint FILE] [--sample-cache FILE] [--likelihood-output FILE] [--quiet]
 *
 * --sample-cache FILE: read the sample from FILE if it holds the same run (seed, events), else
 * simulate and write it there, so the global-only variant trains on exactly the same tracks without
 * simulating again. --likelihood-output FILE: also build Muid likelihood tables (muid-klm-likelihood
 * JSON) from every reconstructed track of the run (only when the sample is simulated, not cached).
 *
 * The best model so far goes to -o after every improving epoch and the last epoch's weights to the
 * checkpoint file, so an interrupted run leaves a usable model.
 *
 * Wiring (src/cli/train.ts belongs to the KLM reco helper): `registerTrainKlmDnn(trainCommand)` adds
 * the options this trainer needs that the command does not have yet; the command's dispatch table then
 * maps "klm-dnn" and "klm-dnn-global" to `runKlmDnnTrainCommand`.
 */
import * as fs from "node:fs";
import type { Command } from "commander";
import { OptionError } from "../errors.js";
import { writeModelFile } from "../models/modelFile.js";
import { KlmLikelihoodAccumulator } from "../train/klmLikelihood.js";
import { trainKlmDnn, type KlmDnnVariant } from "../train/klmDnn.js";
import { buildKlmSample, readKlmSample, writeKlmSample, type KlmSample } from "../train/klmSample.js";
import { writeFileAtomic } from "./files.js";

export const KLM_DNN_TRAIN_MODELS = ["klm-dnn", "klm-dnn-global"] as const;

export function isKlmDnnTrainModel(model: unknown): model is KlmDnnVariant {
  return (KLM_DNN_TRAIN_MODELS as readonly unknown[]).includes(model);
}

/** The options as commander hands them over (strings). */
export interface KlmDnnTrainCliOptions {
  model?: string;
  output?: string;
  events?: string;
  seed?: string;
  epochs?: string;
  patience?: string;
  batchSize?: string;
  validationFraction?: string;
  lrDecay?: string;
  lrPatience?: string;
  maxMinutes?: string;
  checkpoint?: string;
  sampleCache?: string;
  likelihoodOutput?: string;
  quiet?: boolean;
}

const OPTIONS: readonly [flags: string, description: string][] = [
  ["--events <n>", "klm-dnn: events of the KLM study gun to simulate (4–16 tracks each)"],
  ["--seed <s>", "seed of the simulation, split, initialisation and shuffles (default 1)"],
  ["--epochs <n>", "maximum epochs (klm-dnn default 50)"],
  ["--patience <n>", "epochs without a better validation loss before stopping (klm-dnn default 5)"],
  ["--batch-size <n>", "klm-dnn: tracks per batch (default 256)"],
  ["--lr-decay <f>", "klm-dnn: multiply the learning rate by f after --lr-patience epochs without improvement (default 1: constant)"],
  ["--lr-patience <n>", "klm-dnn: epochs without improvement before the learning rate decays (default 2)"],
  ["--validation-fraction <f>", "fraction held out for early stopping (klm-dnn: of the events, default 0.1)"],
  ["--max-minutes <m>", "do not start an epoch that would end after this many minutes"],
  ["--checkpoint <file>", "where the last epoch's weights go (default: OUTPUT with .checkpoint before the extension)"],
  ["--sample-cache <file>", "klm-dnn: compact feature sample to reuse (read if it matches, else written)"],
  ["--likelihood-output <file>", "klm-dnn: also write Muid likelihood tables built from the simulated tracks"],
];

/** Adds the options the KLM DNN trainer reads that `command` does not have yet (shared ones like --seed are reused). */
export function registerTrainKlmDnn(trainCommand: Command): Command {
  const have = new Set(trainCommand.options.map((o) => o.long));
  for (const [flags, description] of OPTIONS) {
    const long = flags.split(" ")[0]!;
    if (!have.has(long)) trainCommand.option(flags, description);
  }
  return trainCommand;
}

function parseNumber(option: string, text: string | undefined, check: (v: number) => boolean, what: string): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text.trim());
  if (text.trim() === "" || !Number.isFinite(v) || !check(v)) throw new OptionError(`${option} must be ${what} (got ${JSON.stringify(text)})`);
  return v;
}

const isInteger = (lo: number, hi: number) => (v: number) => Number.isSafeInteger(v) && v >= lo && v <= hi;

/** Whether a cached sample is the run asked for. */
function cacheMatches(sample: KlmSample, seed: number, events: number): boolean {
  return sample.provenance.seed === seed && sample.provenance.events === events && sample.provenance.firstEvent === 0;
}

/** Runs `muid train --model klm-dnn|klm-dnn-global`; every bad option is an OptionError naming it. */
export async function runKlmDnnTrainCommand(opts: KlmDnnTrainCliOptions, progress: NodeJS.WritableStream = process.stderr, argv: readonly string[] = process.argv): Promise<void> {
  const say = (text: string) => {
    if (!opts.quiet) progress.write(text + "\n");
  };
  if (!isKlmDnnTrainModel(opts.model)) throw new OptionError(`--model must be one of ${KLM_DNN_TRAIN_MODELS.join(", ")} here (got ${JSON.stringify(opts.model)})`);
  const variant = opts.model;
  if (opts.output === undefined || opts.output.trim() === "") throw new OptionError("-o/--output FILE is required");
  const events = parseNumber("--events", opts.events, isInteger(1, 1e9), "an integer in [1, 1e9]");
  if (events === undefined) throw new OptionError("--events N is required (events of the KLM study gun to simulate)");
  const seed = parseNumber("--seed", opts.seed, isInteger(0, 4294967295), "an integer in [0, 4294967295]") ?? 1;
  const epochs = parseNumber("--epochs", opts.epochs, isInteger(1, 10000), "an integer in [1, 10000]");
  const patience = parseNumber("--patience", opts.patience, isInteger(1, 10000), "a positive integer");
  const batchSize = parseNumber("--batch-size", opts.batchSize, isInteger(2, 1 << 20), "an integer ≥ 2");
  const validationFraction = parseNumber("--validation-fraction", opts.validationFraction, (v) => v > 0 && v < 1, "a number in (0, 1)");
  const lrDecayFactor = parseNumber("--lr-decay", opts.lrDecay, (v) => v > 0 && v <= 1, "a number in (0, 1]");
  const lrDecayPatience = parseNumber("--lr-patience", opts.lrPatience, isInteger(1, 10000), "a positive integer");
  const maxMinutes = parseNumber("--max-minutes", opts.maxMinutes, (v) => v > 0, "a number > 0");
  const checkpoint = opts.checkpoint ?? opts.output.replace(/(\.safetensors)?$/, ".checkpoint.safetensors");
  if (checkpoint === opts.output) throw new OptionError("--checkpoint must differ from the output file");
  const command = ["muid", ...argv.slice(2)].join(" ");

  const started = performance.now();
  let sample: KlmSample | undefined;
  if (opts.sampleCache !== undefined && fs.existsSync(opts.sampleCache)) {
    const cached = readKlmSample(opts.sampleCache);
    if (cacheMatches(cached, seed, events)) {
      sample = cached;
      say(`${variant}: read ${sample.n} tracks (seed ${seed}, ${events} events) from ${opts.sampleCache}`);
    } else say(`${variant}: ${opts.sampleCache} holds another run (seed ${cached.provenance.seed}, ${cached.provenance.events} events); simulating`);
  }
  if (sample === undefined) {
    const accumulator = opts.likelihoodOutput !== undefined ? new KlmLikelihoodAccumulator() : undefined;
    sample = await buildKlmSample({
      seed, events, likelihoodAccumulator: accumulator, progressEvery: Math.max(100, Math.ceil(events / 50)),
      onProgress: (p) => say(`${variant}: simulated ${p.events}/${events} events, ${p.tracks} tracks, ${p.selected} with a KLM value (${p.seconds.toFixed(0)} s)`),
    });
    if (opts.sampleCache !== undefined) {
      writeKlmSample(opts.sampleCache, sample);
      say(`${variant}: wrote the sample to ${opts.sampleCache}`);
    }
    if (accumulator !== undefined) {
      const tables = accumulator.build(1, { source: "muid train --model klm-dnn (in-process KLM study gun)", seed, events, command });
      writeFileAtomic(opts.likelihoodOutput!, JSON.stringify(tables) + "\n");
      say(`${variant}: wrote likelihood tables to ${opts.likelihoodOutput} (${JSON.stringify(accumulator.counts)} tracks in the KLM)`);
    }
  } else if (opts.likelihoodOutput !== undefined) {
    throw new OptionError("--likelihood-output needs a simulated sample; the sample came from --sample-cache");
  }
  const muons = sample.isMuon.reduce((a, b) => a + b, 0);
  const sampleNotes =
    `KLM study gun (klmStudyGun: 4–16 tracks per event, μ±/π± equally, p 0.6–5 GeV/c, θ 18°–155°), nominal conditions ` +
    `(field ×${sample.provenance.conditions.fieldScale}, efficiency ${sample.provenance.conditions.klmEfficiency}, background ×${sample.provenance.conditions.klmBackground}), ` +
    `seed ${seed}, ${events} events, ${sample.provenance.tracksSimulated} tracks of which ${sample.n} with a KLM value (${muons} μ, ${sample.n - muons} π)`;
  say(`${variant}: ${sample.n} tracks (${((muons / Math.max(1, sample.n)) * 100).toFixed(1)} % muons) ready after ${((performance.now() - started) / 1000).toFixed(0)} s`);

  const result = await trainKlmDnn(sample, {
    variant, seed, command, sampleNotes,
    ...(epochs !== undefined ? { epochs } : {}),
    ...(patience !== undefined ? { patience } : {}),
    ...(batchSize !== undefined ? { batchSize } : {}),
    ...(validationFraction !== undefined ? { validationFraction } : {}),
    ...(lrDecayFactor !== undefined ? { lrDecayFactor } : {}),
    ...(lrDecayPatience !== undefined ? { lrDecayPatience } : {}),
    ...(maxMinutes !== undefined ? { maxSeconds: maxMinutes * 60 } : {}),
    onProgress: (p) => say(`${variant}: epoch ${p.epoch} batch ${p.batch}/${p.batches} loss ${p.loss.toFixed(5)}`),
    onEpoch: (e, best, last) => {
      writeFileAtomic(checkpoint, writeModelFile(last));
      if (e.improved) writeFileAtomic(opts.output!, writeModelFile(best));
      say(`${variant}: epoch ${e.epoch} train loss ${e.trainLoss.toFixed(5)} validation loss ${e.validationLoss.toFixed(5)} lr ${e.learningRate.toExponential(2)}${e.improved ? " (best, saved)" : ""} ${e.seconds.toFixed(0)} s`);
    },
  });
  writeFileAtomic(opts.output, writeModelFile(result.bundle));
  say(`${variant}: done (${result.stoppedBy}) after ${result.history.length} epochs, best epoch ${result.bestEpoch} validation loss ${result.bestValidationLoss.toFixed(5)}, ` +
    `${result.trainSamples} training / ${result.validationSamples} validation tracks, ${result.seconds.toFixed(0)} s; wrote ${opts.output}`);
}
