/**
 * Training of the KLM muon-ID DNN in TensorFlow.js (wasm backend), basf2's architecture exactly
 * (klm.md §1.5; the card in src/models/architectures.ts): BatchNorm1d(n) → n→242→100→50→50→50→2,
 * LeakyReLU 0.01, softmax; n = 121 (the full DNN) or 5 (the global-only variant, same stack).
 *
 * - BatchNorm as PyTorch trains it: each batch is normalised with its own mean and biased variance,
 *   and the running statistics follow running ← (1 − 0.1)·running + 0.1·batch with the unbiased batch
 *   variance; evaluation and the exported card use the running statistics (eps 1e-5).
 * - Initialisation as PyTorch's defaults: Linear weights and biases U(±1/√fan_in), BatchNorm γ = 1,
 *   β = 0, running mean 0, running variance 1.
 * - Loss: softmax cross-entropy on the two logits (muon = class 1); Adam lr 1e-3 (β 0.9/0.999, ε 1e-8
 *   as torch.optim.Adam). Batch 256 (docs/klm-training.md: large enough for stable batch statistics
 *   of 121 features and the fastest per-sample rate of the wasm backend, toolchain.md).
 * - Early stopping on the validation loss (events held out, not single tracks, so the tracks of one
 *   event and its background never sit on both sides); the best epoch's weights are exported.
 * - Everything random (split, initialisation, shuffles) derives from the seed via our Random.
 * Export: dense weights transposed to PyTorch's [out, in] layout, BatchNorm γ/β/running stats under
 * basf2's state_dict names, plus `num_batches_tracked` (I64) as PyTorch keeps it.
 */
import type * as TF from "@tensorflow/tfjs";
import { InputError, OptionError } from "../errors.js";
import {
  KLM_DNN_BATCHNORM_EPS,
  KLM_DNN_BATCHNORM_MOMENTUM,
  KLM_DNN_CLASSES,
  KLM_DNN_GLOBAL_INPUTS,
  KLM_DNN_HIDDEN_WIDTHS,
  KLM_DNN_INPUTS,
  KLM_DNN_LEAKY_SLOPE,
  KLM_DNN_LINEAR_LAYERS,
  klmDnnCard,
  klmDnnGlobalCard,
} from "../models/architectures.js";
import type { ModelBundle, ModelCard, Tensor } from "../models/card.js";
import { validateModel } from "../models/validate.js";
import { KLM_FEATURES } from "../reco/klmFeatures.js";
import { Random } from "../sim/random.js";
import { shuffledIndices } from "./eclCnn.js";
import type { KlmSample } from "./klmSample.js";
import { useTfjsWasmBackend } from "./tfjsSetup.js";

/** The two trainable variants: 121 inputs or the 5 global ones. */
export type KlmDnnVariant = "klm-dnn" | "klm-dnn-global";

export function klmDnnInputs(variant: KlmDnnVariant): number {
  return variant === "klm-dnn" ? KLM_DNN_INPUTS : KLM_DNN_GLOBAL_INPUTS;
}

/** Adam lr 1e-3 (the brief and basf2's torch defaults), batch 256, early stopping (docs/klm-training.md). */
export const KLM_DNN_LEARNING_RATE = 1e-3;
export const KLM_DNN_BATCH_SIZE = 256;
export const KLM_DNN_MAX_EPOCHS = 50;
export const KLM_DNN_PATIENCE = 5;
export const KLM_DNN_VALIDATION_FRACTION = 0.1;
/**
 * Reduce-on-plateau (torch.optim.lr_scheduler.ReduceLROnPlateau's scheme): after this many epochs
 * without a better validation loss the learning rate is multiplied by the factor. The default factor 1
 * keeps lr constant (the first trainings); the shipped weights say in their card what they used.
 */
export const KLM_DNN_LR_DECAY_FACTOR = 1;
export const KLM_DNN_LR_DECAY_PATIENCE = 2;
/** torch.optim.Adam defaults (tfjs's ε default is 1e-7). */
const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPSILON = 1e-8;
/** Rows per forward call when evaluating. */
const EVAL_BATCH = 4096;

let networkCount = 0;

/** The network's weights as TF.js variables plus the BatchNorm running statistics on the host. */
export class KlmDnnNetwork {
  readonly tf: typeof TF;
  readonly variant: KlmDnnVariant;
  readonly inputs: number;
  readonly gamma: TF.Variable;
  readonly beta: TF.Variable;
  /** [in, out] kernels (TF layout) and biases of linearin, hidlayers 0–3, linearout */
  readonly kernels: TF.Variable[];
  readonly biases: TF.Variable[];
  /** running statistics in float64 on the host (exported as float32) */
  readonly runningMean: Float64Array;
  readonly runningVar: Float64Array;
  batchesTracked = 0;

  private constructor(tf: typeof TF, variant: KlmDnnVariant, values: Map<string, Float32Array>) {
    this.tf = tf;
    this.variant = variant;
    this.inputs = klmDnnInputs(variant);
    const widths = [this.inputs, ...KLM_DNN_HIDDEN_WIDTHS, KLM_DNN_CLASSES];
    // TF.js registers variables by name: each network gets its own prefix
    const prefix = `${variant}#${++networkCount}`;
    const v = (name: string, shape: number[]): TF.Variable => tf.variable(tf.tensor(values.get(name)!, shape, "float32"), true, `${prefix}/${name}`);
    this.gamma = v("gamma", [this.inputs]);
    this.beta = v("beta", [this.inputs]);
    this.kernels = KLM_DNN_LINEAR_LAYERS.map((_, i) => v(`kernel${i}`, [widths[i]!, widths[i + 1]!]));
    this.biases = KLM_DNN_LINEAR_LAYERS.map((_, i) => v(`bias${i}`, [widths[i + 1]!]));
    this.runningMean = Float64Array.from(values.get("runningMean")!);
    this.runningVar = Float64Array.from(values.get("runningVar")!);
  }

  /** A network with PyTorch-default initialisation drawn from `seed`. */
  static async create(variant: KlmDnnVariant, seed: number): Promise<KlmDnnNetwork> {
    const tf = await useTfjsWasmBackend();
    const rng = new Random(seed);
    const n = klmDnnInputs(variant);
    const widths = [n, ...KLM_DNN_HIDDEN_WIDTHS, KLM_DNN_CLASSES];
    const values = new Map<string, Float32Array>([
      ["gamma", new Float32Array(n).fill(1)],
      ["beta", new Float32Array(n)],
      ["runningMean", new Float32Array(n)],
      ["runningVar", new Float32Array(n).fill(1)],
    ]);
    KLM_DNN_LINEAR_LAYERS.forEach((_, i) => {
      const fanIn = widths[i]!, fanOut = widths[i + 1]!;
      const bound = 1 / Math.sqrt(fanIn);
      values.set(`kernel${i}`, Float32Array.from({ length: fanIn * fanOut }, () => rng.range(-bound, bound)));
      values.set(`bias${i}`, Float32Array.from({ length: fanOut }, () => rng.range(-bound, bound)));
    });
    return new KlmDnnNetwork(tf, variant, values);
  }

  /** A network holding given training-layout weights (TF.js predictions of an exported model). */
  static async fromWeights(weights: KlmDnnWeights): Promise<KlmDnnNetwork> {
    const tf = await useTfjsWasmBackend();
    const values = new Map(weights.values);
    const net = new KlmDnnNetwork(tf, weights.variant, values);
    net.batchesTracked = weights.batchesTracked;
    return net;
  }

  get variables(): TF.Variable[] {
    return [this.gamma, this.beta, ...this.kernels, ...this.biases];
  }

  /** The MLP after the BatchNorm: logits [B, 2] of normalised inputs [B, n]. */
  private mlp(normalised: TF.Tensor2D): TF.Tensor2D {
    const tf = this.tf;
    let a = normalised;
    const last = this.kernels.length - 1;
    for (let i = 0; i <= last; i++) {
      const z = tf.add(tf.matMul(a, this.kernels[i] as TF.Tensor2D), this.biases[i]!) as TF.Tensor2D;
      a = i === last ? z : (tf.leakyRelu(z, KLM_DNN_LEAKY_SLOPE) as TF.Tensor2D);
    }
    return a;
  }

  /** Training-mode logits: BatchNorm with the batch's own mean and biased variance. */
  trainingLogits(x: TF.Tensor2D): TF.Tensor2D {
    const tf = this.tf;
    const { mean, variance } = tf.moments(x, 0);
    const normalised = tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, KLM_DNN_BATCHNORM_EPS))), this.gamma), this.beta) as TF.Tensor2D;
    return this.mlp(normalised);
  }

  /** Eval-mode logits: BatchNorm with the running statistics (what the exported card computes). */
  evalLogits(x: TF.Tensor2D): TF.Tensor2D {
    const tf = this.tf;
    const n = this.inputs;
    const mean = tf.tensor1d(Float32Array.from(this.runningMean));
    const scale = tf.tensor1d(Float32Array.from({ length: n }, (_, i) => 1 / Math.sqrt(this.runningVar[i]! + KLM_DNN_BATCHNORM_EPS)));
    const normalised = tf.add(tf.mul(tf.mul(tf.sub(x, mean), scale), this.gamma), this.beta) as TF.Tensor2D;
    return this.mlp(normalised);
  }

  /** PyTorch's running-statistics update from a batch (momentum 0.1, unbiased variance). */
  updateRunningStatistics(batch: Float32Array, rows: number): void {
    const n = this.inputs;
    const m = KLM_DNN_BATCHNORM_MOMENTUM;
    for (let k = 0; k < n; k++) {
      let s = 0;
      for (let r = 0; r < rows; r++) s += batch[r * n + k]!;
      const mean = s / rows;
      let q = 0;
      for (let r = 0; r < rows; r++) {
        const d = batch[r * n + k]! - mean;
        q += d * d;
      }
      const unbiased = rows > 1 ? q / (rows - 1) : q;
      this.runningMean[k] = (1 - m) * this.runningMean[k]! + m * mean;
      this.runningVar[k] = (1 - m) * this.runningVar[k]! + m * unbiased;
    }
    this.batchesTracked++;
  }

  /** Muon probabilities, logits and the mean cross-entropy (if labels are given), in eval mode. */
  evaluate(inputs: Float32Array, rows: number, labels?: Uint8Array): { muonProbability: Float32Array; logits: Float32Array; loss: number } {
    const tf = this.tf;
    const n = this.inputs;
    if (inputs.length < rows * n) throw new InputError(`KLM DNN evaluation: ${inputs.length} values for ${rows} rows of ${n}`);
    const muonProbability = new Float32Array(rows);
    const logitsOut = new Float32Array(rows * KLM_DNN_CLASSES);
    let lossSum = 0;
    for (let start = 0; start < rows; start += EVAL_BATCH) {
      const b = Math.min(EVAL_BATCH, rows - start);
      const [logits, probabilities] = tf.tidy(() => {
        const l = this.evalLogits(tf.tensor2d(inputs.subarray(start * n, (start + b) * n), [b, n]));
        return [l, tf.softmax(l)];
      });
      const l = logits.dataSync() as Float32Array;
      const p = probabilities.dataSync() as Float32Array;
      logits.dispose();
      probabilities.dispose();
      logitsOut.set(l, start * KLM_DNN_CLASSES);
      for (let j = 0; j < b; j++) {
        muonProbability[start + j] = p[j * 2 + 1]!;
        if (labels !== undefined) {
          const l0 = l[j * 2]!, l1 = l[j * 2 + 1]!;
          const mx = Math.max(l0, l1);
          const lse = mx + Math.log(Math.exp(l0 - mx) + Math.exp(l1 - mx));
          lossSum += lse - (labels[start + j] === 1 ? l1 : l0);
        }
      }
    }
    return { muonProbability, logits: logitsOut, loss: labels !== undefined && rows > 0 ? lossSum / rows : NaN };
  }

  /** Current weights and statistics copied out (for keeping the best epoch). */
  snapshot(): KlmDnnWeights {
    const values = new Map<string, Float32Array>();
    values.set("gamma", Float32Array.from(this.gamma.dataSync() as Float32Array));
    values.set("beta", Float32Array.from(this.beta.dataSync() as Float32Array));
    this.kernels.forEach((k, i) => values.set(`kernel${i}`, Float32Array.from(k.dataSync() as Float32Array)));
    this.biases.forEach((b, i) => values.set(`bias${i}`, Float32Array.from(b.dataSync() as Float32Array)));
    values.set("runningMean", Float32Array.from(this.runningMean));
    values.set("runningVar", Float32Array.from(this.runningVar));
    return { variant: this.variant, values, batchesTracked: this.batchesTracked };
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}

/** Training-layout weights: gamma, beta, kernel0–5 [in, out], bias0–5, runningMean, runningVar. */
export interface KlmDnnWeights {
  variant: KlmDnnVariant;
  values: Map<string, Float32Array>;
  batchesTracked: number;
}

/**
 * Converts training-layout weights to a muid model bundle: basf2's state_dict names, dense weights
 * transposed to [out, in], the card from klmDnnCard / klmDnnGlobalCard.
 */
export function klmDnnBundleFromWeights(weights: KlmDnnWeights, provenance: ModelCard["provenance"], training?: ModelCard["training"]): ModelBundle {
  const n = klmDnnInputs(weights.variant);
  const widths = [n, ...KLM_DNN_HIDDEN_WIDTHS, KLM_DNN_CLASSES];
  const get = (name: string, length: number): Float32Array => {
    const v = weights.values.get(name);
    if (v === undefined) throw new InputError(`KLM DNN training weights lack "${name}"`);
    if (v.length !== length) throw new InputError(`KLM DNN training weights "${name}" hold ${v.length} values, expected ${length}`);
    return v;
  };
  const tensor = (shape: number[], data: Float32Array): Tensor => ({ dtype: "F32", shape, data });
  const tensors = new Map<string, Tensor>([
    ["batchnorm.weight", tensor([n], get("gamma", n).slice())],
    ["batchnorm.bias", tensor([n], get("beta", n).slice())],
    ["batchnorm.running_mean", tensor([n], get("runningMean", n).slice())],
    ["batchnorm.running_var", tensor([n], get("runningVar", n).slice())],
    ["batchnorm.num_batches_tracked", { dtype: "I64", shape: [], data: BigInt64Array.of(BigInt(weights.batchesTracked)) }],
  ]);
  KLM_DNN_LINEAR_LAYERS.forEach((name, i) => {
    const nin = widths[i]!, nout = widths[i + 1]!;
    const kernel = get(`kernel${i}`, nin * nout);
    const w = new Float32Array(nout * nin);
    for (let o = 0; o < nout; o++) for (let k = 0; k < nin; k++) w[o * nin + k] = kernel[k * nout + o]!;
    tensors.set(`${name}.weight`, tensor([nout, nin], w));
    tensors.set(`${name}.bias`, tensor([nout], get(`bias${i}`, nout).slice()));
  });
  const card = weights.variant === "klm-dnn" ? klmDnnCard(provenance, training) : klmDnnGlobalCard(provenance, training);
  const bundle = { card, tensors };
  validateModel(bundle);
  return bundle;
}

/** The model input of a variant for sample rows: the first n of each track's 121 features. */
export function klmDnnInputRows(sample: Pick<KlmSample, "features">, rows: ArrayLike<number>, inputs: number, out = new Float32Array(rows.length * inputs)): Float32Array {
  for (let j = 0; j < rows.length; j++) {
    const i = rows[j]!;
    out.set(sample.features.subarray(i * KLM_FEATURES, i * KLM_FEATURES + inputs), j * inputs);
  }
  return out;
}

export interface KlmDnnTrainOptions {
  variant: KlmDnnVariant;
  seed: number;
  epochs?: number;
  patience?: number;
  batchSize?: number;
  learningRate?: number;
  /** multiply lr by this after `lrDecayPatience` epochs without improvement (1 = constant lr) */
  lrDecayFactor?: number;
  lrDecayPatience?: number;
  validationFraction?: number;
  /** do not start an epoch that would end after this many seconds */
  maxSeconds?: number;
  /** the command line and sample description, recorded in the card */
  command?: string;
  sampleNotes?: string;
  onProgress?: (p: { epoch: number; batch: number; batches: number; loss: number }) => void;
  /** after every epoch, with the best model so far and the last epoch's (checkpointing) */
  onEpoch?: (summary: KlmDnnEpoch, best: ModelBundle, last: ModelBundle) => void;
}

export interface KlmDnnEpoch {
  epoch: number;
  trainLoss: number;
  validationLoss: number;
  seconds: number;
  improved: boolean;
  /** the learning rate this epoch ran with */
  learningRate: number;
}

export interface KlmDnnTrainResult {
  bundle: ModelBundle;
  history: KlmDnnEpoch[];
  bestEpoch: number;
  bestValidationLoss: number;
  trainSamples: number;
  validationSamples: number;
  seconds: number;
  stoppedBy: "epochs" | "early-stopping" | "time-limit";
  /** the validation tracks (indices into the sample), for checks against TF.js's own predictions */
  validationRows: Int32Array;
  /** TF.js (eval mode) muon probabilities of the validation tracks with the exported weights */
  validationProbability: Float32Array;
}

function positiveInteger(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new OptionError(`${name} must be a positive integer, got ${v}`);
  return v;
}

/** Splits a sample's tracks by event: a seeded fraction of the events goes to validation. */
export function splitByEvent(sample: Pick<KlmSample, "n" | "event">, fraction: number, rng: Random): { train: Int32Array; validation: Int32Array } {
  const inValidation = new Map<number, boolean>();
  const train: number[] = [], validation: number[] = [];
  for (let i = 0; i < sample.n; i++) {
    const e = sample.event[i]!;
    let v = inValidation.get(e);
    if (v === undefined) {
      v = rng.uniform() < fraction;
      inValidation.set(e, v);
    }
    (v ? validation : train).push(i);
  }
  return { train: Int32Array.from(train), validation: Int32Array.from(validation) };
}

/** Trains one variant on a sample. Everything random derives from `seed`. */
export async function trainKlmDnn(sample: KlmSample, options: KlmDnnTrainOptions): Promise<KlmDnnTrainResult> {
  const started = performance.now();
  const variant = options.variant;
  if (variant !== "klm-dnn" && variant !== "klm-dnn-global") throw new OptionError(`unknown KLM DNN variant ${JSON.stringify(variant)}`);
  const epochs = positiveInteger("epochs", options.epochs ?? KLM_DNN_MAX_EPOCHS);
  const patience = positiveInteger("patience", options.patience ?? KLM_DNN_PATIENCE);
  const batchSize = positiveInteger("batch size", options.batchSize ?? KLM_DNN_BATCH_SIZE);
  if (batchSize < 2) throw new OptionError("batch size must be ≥ 2 (BatchNorm needs a batch variance)");
  const learningRate = options.learningRate ?? KLM_DNN_LEARNING_RATE;
  if (!(learningRate > 0)) throw new OptionError(`learning rate must be > 0, got ${learningRate}`);
  const lrDecayFactor = options.lrDecayFactor ?? KLM_DNN_LR_DECAY_FACTOR;
  if (!(lrDecayFactor > 0 && lrDecayFactor <= 1)) throw new OptionError(`lr decay factor must be in (0, 1], got ${lrDecayFactor}`);
  const lrDecayPatience = positiveInteger("lr decay patience", options.lrDecayPatience ?? KLM_DNN_LR_DECAY_PATIENCE);
  const validationFraction = options.validationFraction ?? KLM_DNN_VALIDATION_FRACTION;
  if (!(validationFraction > 0 && validationFraction < 1)) throw new OptionError(`validation fraction must be in (0, 1), got ${validationFraction}`);
  if (!Number.isSafeInteger(options.seed) || options.seed < 0) throw new OptionError(`seed must be a non-negative integer, got ${options.seed}`);
  const n = klmDnnInputs(variant);

  const rng = new Random(options.seed);
  const split = splitByEvent(sample, validationFraction, rng);
  const nTrain = split.train.length, nValidation = split.validation.length;
  if (nTrain < batchSize || nValidation < 1) throw new InputError(`${sample.n} tracks give ${nTrain} training and ${nValidation} validation tracks: too few to train with batch ${batchSize}`);
  let muons = 0;
  for (let i = 0; i < sample.n; i++) muons += sample.isMuon[i]!;
  if (muons === 0 || muons === sample.n) throw new InputError(`the sample holds ${muons} muons of ${sample.n} tracks: both classes are needed`);
  const trainInputs = klmDnnInputRows(sample, split.train, n);
  const trainLabels = Uint8Array.from(split.train, (i) => sample.isMuon[i]!);
  const validationInputs = klmDnnInputRows(sample, split.validation, n);
  const validationLabels = Uint8Array.from(split.validation, (i) => sample.isMuon[i]!);

  const net = await KlmDnnNetwork.create(variant, rng.nextU32());
  const tf = net.tf;
  const optimizer = tf.train.adam(learningRate, ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON);
  // Adam reads its (protected) learningRate field at every step; the plateau schedule sets it
  const setLearningRate = (lr: number) => { (optimizer as unknown as { learningRate: number }).learningRate = lr; };
  let currentLearningRate = learningRate, lastChange = 0;
  const history: KlmDnnEpoch[] = [];
  let best = { epoch: 0, loss: Infinity, weights: net.snapshot() };
  let stoppedBy: KlmDnnTrainResult["stoppedBy"] = "epochs";
  // full batches only: a short last batch would give PyTorch-incompatible (noisy) batch statistics
  const batches = Math.floor(nTrain / batchSize);
  const provenance: ModelCard["provenance"] = {
    source: "muid-wasm train (TensorFlow.js)",
    license: "LGPL-3.0-or-later",
    notes: `trained on muid-wasm's fast simulation${options.sampleNotes ? `: ${options.sampleNotes}` : ""}`,
  };
  const trainingCard = (epochsRun: number, bestEpoch: number, bestLoss: number): ModelCard["training"] => ({
    framework: `TensorFlow.js ${tf.version.tfjs} (${tf.getBackend()} backend)`,
    samples: nTrain,
    epochs: epochsRun,
    seed: options.seed,
    ...(options.command !== undefined ? { command: options.command } : {}),
    notes:
      `best epoch ${bestEpoch}, validation loss ${bestLoss.toFixed(5)} on ${nValidation} held-out tracks (events held out, fraction ${validationFraction}); ` +
      `Adam lr ${learningRate}${lrDecayFactor < 1 ? ` (×${lrDecayFactor} after ${lrDecayPatience} epochs without improvement; last ${currentLearningRate.toExponential(2)})` : ""}, batch ${batchSize}, patience ${patience}; BatchNorm momentum ${KLM_DNN_BATCHNORM_MOMENTUM}, eps ${KLM_DNN_BATCHNORM_EPS}; ` +
      `${((performance.now() - started) / 1000).toFixed(0)} s; finished ${new Date().toISOString()}`,
  });

  const batchInputs = new Float32Array(batchSize * n);
  const batchLabels = new Float32Array(batchSize * KLM_DNN_CLASSES);
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const epochStart = performance.now();
      if (options.maxSeconds !== undefined && history.length > 0) {
        const last = history[history.length - 1]!.seconds;
        if ((epochStart - started) / 1000 + last > options.maxSeconds) {
          stoppedBy = "time-limit";
          break;
        }
      }
      const perm = shuffledIndices(nTrain, rng);
      let lossSum = 0, seen = 0;
      for (let k = 0; k < batches; k++) {
        batchLabels.fill(0);
        for (let j = 0; j < batchSize; j++) {
          const r = perm[k * batchSize + j]!;
          batchInputs.set(trainInputs.subarray(r * n, (r + 1) * n), j * n);
          batchLabels[j * 2 + trainLabels[r]!] = 1;
        }
        const lossTensor = tf.tidy((): TF.Scalar => {
          const x = tf.tensor2d(batchInputs, [batchSize, n]);
          const y = tf.tensor2d(batchLabels, [batchSize, KLM_DNN_CLASSES]);
          return optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, net.trainingLogits(x)) as TF.Scalar, true, net.variables)!;
        });
        net.updateRunningStatistics(batchInputs, batchSize);
        const loss = (lossTensor.dataSync() as Float32Array)[0]!;
        lossTensor.dispose();
        lossSum += loss * batchSize;
        seen += batchSize;
        if (options.onProgress && (k % 200 === 0 || k === batches - 1)) options.onProgress({ epoch, batch: k + 1, batches, loss: lossSum / seen });
      }
      const validationLoss = net.evaluate(validationInputs, nValidation, validationLabels).loss;
      const improved = validationLoss < best.loss;
      if (improved) best = { epoch, loss: validationLoss, weights: net.snapshot() };
      const summary: KlmDnnEpoch = { epoch, trainLoss: lossSum / seen, validationLoss, seconds: (performance.now() - epochStart) / 1000, improved, learningRate: currentLearningRate };
      history.push(summary);
      if (options.onEpoch) {
        const card = trainingCard(epoch, best.epoch, best.loss);
        options.onEpoch(summary, klmDnnBundleFromWeights(best.weights, provenance, card), klmDnnBundleFromWeights(net.snapshot(), provenance, card));
      }
      if (epoch - best.epoch >= patience) {
        stoppedBy = "early-stopping";
        break;
      }
      if (lrDecayFactor < 1 && epoch - Math.max(best.epoch, lastChange) >= lrDecayPatience) {
        currentLearningRate *= lrDecayFactor;
        setLearningRate(currentLearningRate);
        lastChange = epoch;
      }
    }
    const bundle = klmDnnBundleFromWeights(best.weights, provenance, trainingCard(history.length, best.epoch, best.loss));
    // TF.js's own eval-mode predictions with the exported weights, for checks against the runtime
    const exported = await KlmDnnNetwork.fromWeights(best.weights);
    const validationProbability = exported.evaluate(validationInputs, nValidation).muonProbability;
    exported.dispose();
    return {
      bundle, history, bestEpoch: best.epoch, bestValidationLoss: best.loss, trainSamples: nTrain, validationSamples: nValidation,
      seconds: (performance.now() - started) / 1000, stoppedBy, validationRows: split.validation, validationProbability,
    };
  } finally {
    optimizer.dispose();
    net.dispose();
  }
}
