/**
 * Training of the ECL CNN in TensorFlow.js (wasm backend), basf2's architecture exactly (ecl.md §1.2;
 * the card in src/models/architectures.ts): conv 3×3 1→64 + ReLU → flatten → concat [pt, Emb_θ,
 * Emb_φ] → fc 3177→128 + ReLU → dropout 0.1 → fc 128→2; cross-entropy, Adam (lr 1e-3), batch 512
 * (the poster, physics.md §4), early stopping on the validation loss (basf2's old params_model:
 * patience 20, up to 100 epochs; ecl.md §1.1).
 *
 * How it is written for the wasm backend (toolchain.md "Training with TensorFlow.js"):
 * - the convolution is im2col: pad the 7×7 image to 9×9, take the 9 shifted 7×7 slices, stack them
 *   to [B·49, 9] and multiply by the [9, 64] kernel (the backend has no Conv2DBackpropFilter);
 * - the conv output is flattened pixel-major (pix·64 + c) and fc1's rows are permuted to PyTorch's
 *   channel-major order (c·49 + pix) on export;
 * - the embeddings are one-hot × table matrix products (the backend has no UnsortedSegmentSum, the
 *   gradient of gather), which select exactly the same rows;
 * - the dropout mask comes from our seeded Random, so a run is reproducible from its seed.
 * Initialisation follows PyTorch's defaults: U(±1/√fan_in) for conv and linear weights and biases,
 * N(0, 1) for embeddings.
 */
import type * as TF from "@tensorflow/tfjs";
import { ECL_THRESHOLD_DEFAULT } from "../constants.js";
import { InputError, OptionError } from "../errors.js";
import { ECL_CNN_THETA_ID_MIN } from "../geometry/eclWindow.js";
import {
  ECL_CNN_CLASSES,
  ECL_CNN_CONV_FILTERS,
  ECL_CNN_DROPOUT_RATE,
  ECL_CNN_FC1_INPUTS,
  ECL_CNN_FC1_UNITS,
  ECL_CNN_IMAGE_SIZE,
  ECL_CNN_PHI_EMBEDDINGS,
  ECL_CNN_PHI_EMBEDDING_DIM,
  ECL_CNN_THETA_EMBEDDINGS,
  ECL_CNN_THETA_EMBEDDING_DIM,
  eclCnnCard,
} from "../models/architectures.js";
import type { ModelBundle, ModelCard, Tensor } from "../models/card.js";
import { validateModel } from "../models/validate.js";
import { eclSampleImages, type EclSample } from "../reco/eclSample.js";
import { Random } from "../sim/random.js";
import { useTfjsWasmBackend } from "./tfjsSetup.js";

const PIXELS = ECL_CNN_IMAGE_SIZE * ECL_CNN_IMAGE_SIZE; // 49
const TAPS = 9;

/** Adam and batch settings (physics.md §4: Adam, cross-entropy, batch 512; basf2 lr 0.001). */
export const ECL_CNN_LEARNING_RATE = 1e-3;
export const ECL_CNN_BATCH_SIZE = 512;
/** basf2 params_model 'patience': 20, 'epochs': 100 (ecl.md §1.1). */
export const ECL_CNN_PATIENCE = 20;
export const ECL_CNN_MAX_EPOCHS = 100;
/** PyTorch's Adam ε (tfjs defaults to 1e-7). */
const ADAM_EPSILON = 1e-8;
const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
/** Rows per forward call when evaluating (no gradients). */
const EVAL_BATCH = 2048;

/** Names of the training-layout weights, in the order of EclCnnNetwork.variables. */
const VARIABLE_NAMES = ["convW", "convB", "embTheta", "embPhi", "fc1W", "fc1B", "fc2W", "fc2B"] as const;
let nextNetworkId = 0;

/** Network inputs for a batch of tracks. thetaId and phiId are detector ids (14..57, 0..143). */
export interface EclCnnArrays {
  image: Float32Array;
  pt: Float32Array;
  thetaId: Int32Array | Float32Array;
  phiId: Int32Array | Float32Array;
}

/** The CNN's weights as TF.js variables, with the forward pass and the export to a muid model. */
export class EclCnnNetwork {
  readonly tf: typeof TF;
  readonly convW: TF.Variable; // [9, 64], tap = kh·3 + kw
  readonly convB: TF.Variable; // [64]
  readonly embTheta: TF.Variable; // [44, 22]
  readonly embPhi: TF.Variable; // [144, 18]
  readonly fc1W: TF.Variable; // [3177, 128], rows: pix·64 + c, then pt, emb_theta, emb_phi
  readonly fc1B: TF.Variable; // [128]
  readonly fc2W: TF.Variable; // [128, 2]
  readonly fc2B: TF.Variable; // [2]

  private constructor(tf: typeof TF, values: Map<string, Float32Array>) {
    this.tf = tf;
    // TF.js variable names are global: suffix them so several networks can live at once
    const id = nextNetworkId++;
    const v = (name: string, shape: number[]): TF.Variable => tf.variable(tf.tensor(values.get(name)!, shape, "float32"), true, `${name}_${id}`);
    this.convW = v("convW", [TAPS, ECL_CNN_CONV_FILTERS]);
    this.convB = v("convB", [ECL_CNN_CONV_FILTERS]);
    this.embTheta = v("embTheta", [ECL_CNN_THETA_EMBEDDINGS, ECL_CNN_THETA_EMBEDDING_DIM]);
    this.embPhi = v("embPhi", [ECL_CNN_PHI_EMBEDDINGS, ECL_CNN_PHI_EMBEDDING_DIM]);
    this.fc1W = v("fc1W", [ECL_CNN_FC1_INPUTS, ECL_CNN_FC1_UNITS]);
    this.fc1B = v("fc1B", [ECL_CNN_FC1_UNITS]);
    this.fc2W = v("fc2W", [ECL_CNN_FC1_UNITS, ECL_CNN_CLASSES]);
    this.fc2B = v("fc2B", [ECL_CNN_CLASSES]);
  }

  /** A network with PyTorch-default initialisation drawn from `seed`. */
  static async create(seed: number): Promise<EclCnnNetwork> {
    const tf = await useTfjsWasmBackend();
    const rng = new Random(seed);
    const uniform = (n: number, fanIn: number): Float32Array => {
      const bound = 1 / Math.sqrt(fanIn);
      return Float32Array.from({ length: n }, () => rng.range(-bound, bound));
    };
    const normal = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.gauss());
    const values = new Map<string, Float32Array>([
      ["convW", uniform(TAPS * ECL_CNN_CONV_FILTERS, TAPS)],
      ["convB", uniform(ECL_CNN_CONV_FILTERS, TAPS)],
      ["embTheta", normal(ECL_CNN_THETA_EMBEDDINGS * ECL_CNN_THETA_EMBEDDING_DIM)],
      ["embPhi", normal(ECL_CNN_PHI_EMBEDDINGS * ECL_CNN_PHI_EMBEDDING_DIM)],
      ["fc1W", uniform(ECL_CNN_FC1_INPUTS * ECL_CNN_FC1_UNITS, ECL_CNN_FC1_INPUTS)],
      ["fc1B", uniform(ECL_CNN_FC1_UNITS, ECL_CNN_FC1_INPUTS)],
      ["fc2W", uniform(ECL_CNN_FC1_UNITS * ECL_CNN_CLASSES, ECL_CNN_FC1_UNITS)],
      ["fc2B", uniform(ECL_CNN_CLASSES, ECL_CNN_FC1_UNITS)],
    ]);
    return new EclCnnNetwork(tf, values);
  }

  get variables(): TF.Variable[] {
    return [this.convW, this.convB, this.embTheta, this.embPhi, this.fc1W, this.fc1B, this.fc2W, this.fc2B];
  }

  /**
   * Logits [B, 2] for B tracks given as tensors: image [B, 49] (preprocessed), pt [B, 1], embedding
   * indices (thetaId − 14, phiId) as int32 [B]. `dropoutMask` [B, 128] (0 or 1/(1 − rate)) in training.
   */
  logits(image: TF.Tensor2D, pt: TF.Tensor2D, thetaIndex: TF.Tensor1D, phiIndex: TF.Tensor1D, dropoutMask?: TF.Tensor2D): TF.Tensor2D {
    const tf = this.tf;
    const b = image.shape[0];
    const s = ECL_CNN_IMAGE_SIZE;
    const padded = tf.pad(tf.reshape(image, [b, s, s]), [[0, 0], [1, 1], [1, 1]]);
    const taps: TF.Tensor[] = [];
    for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 3; kw++) taps.push(tf.slice(padded, [0, kh, kw], [b, s, s]));
    const columns = tf.reshape(tf.stack(taps, 3), [b * PIXELS, TAPS]);
    const conv = tf.relu(tf.add(tf.matMul(columns, this.convW), this.convB));
    const flat = tf.reshape(conv, [b, PIXELS * ECL_CNN_CONV_FILTERS]);
    const embTheta = tf.matMul(tf.cast(tf.oneHot(thetaIndex, ECL_CNN_THETA_EMBEDDINGS), "float32") as TF.Tensor2D, this.embTheta as TF.Tensor2D);
    const embPhi = tf.matMul(tf.cast(tf.oneHot(phiIndex, ECL_CNN_PHI_EMBEDDINGS), "float32") as TF.Tensor2D, this.embPhi as TF.Tensor2D);
    const fc1Input = tf.concat([flat as TF.Tensor2D, pt, embTheta, embPhi], 1);
    let hidden = tf.relu(tf.add(tf.matMul(fc1Input, this.fc1W as TF.Tensor2D), this.fc1B)) as TF.Tensor2D;
    if (dropoutMask !== undefined) hidden = tf.mul(hidden, dropoutMask);
    return tf.add(tf.matMul(hidden, this.fc2W as TF.Tensor2D), this.fc2B) as TF.Tensor2D;
  }

  /** Tensors of rows [start, start + count) of batched arrays (caller disposes, or runs inside tidy). */
  batchTensors(arrays: EclCnnArrays, rows: ArrayLike<number>): { image: TF.Tensor2D; pt: TF.Tensor2D; thetaIndex: TF.Tensor1D; phiIndex: TF.Tensor1D } {
    const tf = this.tf;
    const b = rows.length;
    const image = new Float32Array(b * PIXELS);
    const pt = new Float32Array(b);
    const thetaIndex = new Int32Array(b);
    const phiIndex = new Int32Array(b);
    for (let j = 0; j < b; j++) {
      const i = rows[j]!;
      image.set(arrays.image.subarray(i * PIXELS, (i + 1) * PIXELS), j * PIXELS);
      pt[j] = arrays.pt[i]!;
      thetaIndex[j] = arrays.thetaId[i]! - ECL_CNN_THETA_ID_MIN;
      phiIndex[j] = arrays.phiId[i]!;
    }
    return {
      image: tf.tensor2d(image, [b, PIXELS]),
      pt: tf.tensor2d(pt, [b, 1]),
      thetaIndex: tf.tensor1d(thetaIndex, "int32"),
      phiIndex: tf.tensor1d(phiIndex, "int32"),
    };
  }

  /** Muon probabilities (softmax class 1) and the mean cross-entropy against `labels` if given, in eval mode. */
  evaluate(arrays: EclCnnArrays, n: number, labels?: Uint8Array): { muonProbability: Float32Array; logits: Float32Array; loss: number } {
    const tf = this.tf;
    const muonProbability = new Float32Array(n);
    const logitsOut = new Float32Array(n * ECL_CNN_CLASSES);
    let lossSum = 0;
    for (let start = 0; start < n; start += EVAL_BATCH) {
      const rows = Array.from({ length: Math.min(EVAL_BATCH, n - start) }, (_, j) => start + j);
      const [logits, probabilities] = tf.tidy(() => {
        const t = this.batchTensors(arrays, rows);
        const l = this.logits(t.image, t.pt, t.thetaIndex, t.phiIndex);
        return [l, tf.softmax(l)];
      });
      const l = logits.dataSync() as Float32Array;
      const p = probabilities.dataSync() as Float32Array;
      logits.dispose();
      probabilities.dispose();
      logitsOut.set(l, start * ECL_CNN_CLASSES);
      for (let j = 0; j < rows.length; j++) {
        muonProbability[start + j] = p[j * 2 + 1]!;
        if (labels !== undefined) {
          // cross-entropy from the logits in float64: log-sum-exp − logit of the true class
          const l0 = l[j * 2]!, l1 = l[j * 2 + 1]!;
          const m = Math.max(l0, l1);
          const lse = m + Math.log(Math.exp(l0 - m) + Math.exp(l1 - m));
          lossSum += lse - (labels[start + j] === 1 ? l1 : l0);
        }
      }
    }
    return { muonProbability, logits: logitsOut, loss: labels !== undefined && n > 0 ? lossSum / n : NaN };
  }

  /** Current weights copied out, by the names of `variableNames` (for keeping the best epoch). */
  snapshot(): Map<string, Float32Array> {
    return new Map(this.variables.map((v, k) => [VARIABLE_NAMES[k]!, Float32Array.from(v.dataSync() as Float32Array)]));
  }

  /** Restores weights from a snapshot. */
  restore(values: Map<string, Float32Array>): void {
    this.variables.forEach((v, k) => v.assign(this.tf.tensor(values.get(VARIABLE_NAMES[k]!)!, v.shape, "float32")));
  }

  /** The weights as a muid model bundle (PyTorch state_dict layout and names, card from eclCnnCard). */
  exportBundle(charge: 1 | -1, provenance: ModelCard["provenance"], training?: ModelCard["training"], values: Map<string, Float32Array> = this.snapshot()): ModelBundle {
    return eclCnnBundleFromTrainingWeights(values, charge, provenance, training);
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}

/**
 * Converts training-layout weights (names convW … fc2B, see EclCnnNetwork) to the PyTorch
 * state_dict layout of the card: conv1.weight[c][0][kh][kw] = convW[kh·3 + kw][c];
 * fc1.weight[o][c·49 + pix] = fc1W[pix·64 + c][o] for the conv columns, fc1.weight[o][3136 + k] =
 * fc1W[3136 + k][o] for pt and the embeddings; fc2.weight = fc2Wᵀ.
 */
export function eclCnnBundleFromTrainingWeights(
  values: Map<string, Float32Array>, charge: 1 | -1, provenance: ModelCard["provenance"], training?: ModelCard["training"],
): ModelBundle {
  const get = (name: string): Float32Array => {
    const v = values.get(name);
    if (v === undefined) throw new InputError(`ECL CNN training weights lack "${name}"`);
    return v;
  };
  const F = ECL_CNN_CONV_FILTERS, H = ECL_CNN_FC1_UNITS, IN = ECL_CNN_FC1_INPUTS, C = ECL_CNN_CLASSES;
  const convW = get("convW"), fc1W = get("fc1W"), fc2W = get("fc2W");
  const conv1 = new Float32Array(F * TAPS);
  for (let c = 0; c < F; c++) for (let t = 0; t < TAPS; t++) conv1[c * TAPS + t] = convW[t * F + c]!;
  const fc1 = new Float32Array(H * IN);
  const convColumns = F * PIXELS;
  for (let o = 0; o < H; o++) {
    for (let c = 0; c < F; c++) for (let pix = 0; pix < PIXELS; pix++) fc1[o * IN + c * PIXELS + pix] = fc1W[(pix * F + c) * H + o]!;
    for (let k = convColumns; k < IN; k++) fc1[o * IN + k] = fc1W[k * H + o]!;
  }
  const fc2 = new Float32Array(C * H);
  for (let o = 0; o < C; o++) for (let k = 0; k < H; k++) fc2[o * H + k] = fc2W[k * C + o]!;
  const tensor = (shape: number[], data: Float32Array): Tensor => ({ dtype: "F32", shape, data });
  const tensors = new Map<string, Tensor>([
    ["conv1.weight", tensor([F, 1, 3, 3], conv1)],
    ["conv1.bias", tensor([F], get("convB").slice())],
    ["emb_theta.weight", tensor([ECL_CNN_THETA_EMBEDDINGS, ECL_CNN_THETA_EMBEDDING_DIM], get("embTheta").slice())],
    ["emb_phi.weight", tensor([ECL_CNN_PHI_EMBEDDINGS, ECL_CNN_PHI_EMBEDDING_DIM], get("embPhi").slice())],
    ["fc1.weight", tensor([H, IN], fc1)],
    ["fc1.bias", tensor([H], get("fc1B").slice())],
    ["fc2.weight", tensor([C, H], fc2)],
    ["fc2.bias", tensor([C], get("fc2B").slice())],
  ]);
  const bundle = { card: eclCnnCard(charge, provenance, training), tensors };
  validateModel(bundle);
  return bundle;
}

export interface EclCnnTrainOptions {
  charge: 1 | -1;
  seed: number;
  /** maximum epochs (default 100, basf2) */
  epochs?: number;
  /** epochs without a better validation loss before stopping (default 20, basf2) */
  patience?: number;
  batchSize?: number;
  learningRate?: number;
  /** fraction of the tracks held out for validation (default 0.1) */
  validationFraction?: number;
  /** CNN pixel threshold, GeV (default 1 MeV) */
  threshold?: number;
  /** stop before an epoch that would end after this many seconds (default: no limit) */
  maxSeconds?: number;
  /** the command line, recorded in the card */
  command?: string;
  /** called every few batches */
  onProgress?: (p: EclCnnProgress) => void;
  /** hand the TF.js network (restored to the best epoch) back in the result instead of disposing it; the caller disposes it */
  keepNetwork?: boolean;
  /** called after every epoch with the best model so far (checkpointing) */
  onEpoch?: (summary: EclCnnEpoch, best: ModelBundle, last: ModelBundle) => void;
}

export interface EclCnnProgress {
  epoch: number;
  batch: number;
  batches: number;
  /** running mean training loss of this epoch */
  loss: number;
}

export interface EclCnnEpoch {
  epoch: number;
  trainLoss: number;
  validationLoss: number;
  /**
   * fraction of validation tracks whose 128 hidden units are all ≤ 0 ("dead" ReLUs: the output is
   * fc2's bias, the same for all of them, and no gradient reaches them); a seed that leaves many muons
   * there cannot reach a good fake rate at 90 % efficiency
   */
  deadFraction: number;
  seconds: number;
  improved: boolean;
}

export interface EclCnnTrainResult {
  bundle: ModelBundle;
  history: EclCnnEpoch[];
  bestEpoch: number;
  bestValidationLoss: number;
  trainSamples: number;
  validationSamples: number;
  seconds: number;
  stoppedBy: "epochs" | "early-stopping" | "time-limit";
  /** with keepNetwork: the network at its best epoch, and the validation tracks (labels: 1 = muon) */
  network?: EclCnnNetwork;
  validation?: { arrays: EclCnnArrays; labels: Uint8Array; n: number };
}

/** Fisher–Yates shuffle of 0..n−1 with our Random. */
export function shuffledIndices(n: number, rng: Random): Int32Array {
  const a = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

function positiveInteger(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new OptionError(`${name} must be a positive integer, got ${v}`);
  return v;
}

/**
 * Trains one charge's CNN on a sample (tracks of other charges are ignored). The validation split,
 * initialisation, shuffles and dropout masks all derive from `seed`.
 */
export async function trainEclCnn(sample: EclSample, options: EclCnnTrainOptions): Promise<EclCnnTrainResult> {
  const started = performance.now();
  const epochs = positiveInteger("epochs", options.epochs ?? ECL_CNN_MAX_EPOCHS);
  const patience = positiveInteger("patience", options.patience ?? ECL_CNN_PATIENCE);
  const batchSize = positiveInteger("batch size", options.batchSize ?? ECL_CNN_BATCH_SIZE);
  const learningRate = options.learningRate ?? ECL_CNN_LEARNING_RATE;
  if (!(learningRate > 0)) throw new OptionError(`learning rate must be > 0, got ${learningRate}`);
  const validationFraction = options.validationFraction ?? 0.1;
  if (!(validationFraction > 0 && validationFraction < 1)) throw new OptionError(`validation fraction must be in (0, 1), got ${validationFraction}`);
  if (!Number.isSafeInteger(options.seed) || options.seed < 0) throw new OptionError(`seed must be a non-negative integer, got ${options.seed}`);

  const picked: number[] = [];
  for (let i = 0; i < sample.n; i++) if (sample.charge[i] === options.charge) picked.push(i);
  const rng = new Random(options.seed);
  const order = shuffledIndices(picked.length, rng);
  const nValidation = Math.max(1, Math.round(picked.length * validationFraction));
  const nTrain = picked.length - nValidation;
  if (nTrain < 1) throw new InputError(`only ${picked.length} tracks of charge ${options.charge > 0 ? "+1" : "-1"} in the CNN acceptance: too few to train`);
  const images = eclSampleImages(sample, options.threshold ?? ECL_THRESHOLD_DEFAULT);
  const arraysOf = (idx: ArrayLike<number>): { arrays: EclCnnArrays; labels: Uint8Array } => {
    const m = idx.length;
    const image = new Float32Array(m * PIXELS), pt = new Float32Array(m), thetaId = new Int32Array(m), phiId = new Int32Array(m), labels = new Uint8Array(m);
    for (let j = 0; j < m; j++) {
      const i = idx[j]!;
      image.set(images.subarray(i * PIXELS, (i + 1) * PIXELS), j * PIXELS);
      pt[j] = sample.pt[i]!;
      thetaId[j] = sample.thetaId[i]!;
      phiId[j] = sample.phiId[i]!;
      labels[j] = sample.isMuon[i]!;
    }
    return { arrays: { image, pt, thetaId, phiId }, labels };
  };
  const validation = arraysOf(Array.from({ length: nValidation }, (_, j) => picked[order[j]!]!));
  const train = arraysOf(Array.from({ length: nTrain }, (_, j) => picked[order[nValidation + j]!]!));

  const net = await EclCnnNetwork.create(rng.nextU32());
  const tf = net.tf;
  const optimizer = tf.train.adam(learningRate, ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON);
  const keep = 1 - ECL_CNN_DROPOUT_RATE;
  const history: EclCnnEpoch[] = [];
  let best = { epoch: 0, loss: Infinity, values: net.snapshot() };
  let stoppedBy: EclCnnTrainResult["stoppedBy"] = "epochs";
  const batches = Math.ceil(nTrain / batchSize);
  const provenance: ModelCard["provenance"] = { source: "muid-wasm train (TensorFlow.js)", notes: "trained on muid-wasm's fast simulation (muid simulate --kind ecl)" };
  const trainingCard = (epochsRun: number, bestEpoch: number, bestLoss: number): ModelCard["training"] => ({
    framework: `TensorFlow.js ${tf.version.tfjs} (${tf.getBackend()} backend)`,
    samples: nTrain,
    epochs: epochsRun,
    seed: options.seed,
    ...(options.command !== undefined ? { command: options.command } : {}),
    notes:
      `best epoch ${bestEpoch}, validation loss ${bestLoss.toFixed(5)} on ${nValidation} held-out tracks; Adam lr ${learningRate}, batch ${batchSize}, ` +
      `dropout ${ECL_CNN_DROPOUT_RATE}, patience ${patience}; pixel threshold ${((options.threshold ?? ECL_THRESHOLD_DEFAULT) * 1000).toFixed(1)} MeV; ` +
      `${((performance.now() - started) / 1000).toFixed(0)} s; finished ${new Date().toISOString()}`,
  });

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
        const rows = perm.subarray(k * batchSize, Math.min((k + 1) * batchSize, nTrain));
        const b = rows.length;
        const mask = new Float32Array(b * ECL_CNN_FC1_UNITS);
        for (let i = 0; i < mask.length; i++) mask[i] = rng.uniform() < keep ? 1 / keep : 0;
        const oneHotLabels = new Float32Array(b * 2);
        for (let j = 0; j < b; j++) oneHotLabels[j * 2 + train.labels[rows[j]!]!] = 1;
        const lossTensor = tf.tidy((): TF.Scalar => {
          const t = net.batchTensors(train.arrays, rows);
          const maskT = tf.tensor2d(mask, [b, ECL_CNN_FC1_UNITS]);
          const labelsT = tf.tensor2d(oneHotLabels, [b, 2]);
          const cost = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(labelsT, net.logits(t.image, t.pt, t.thetaIndex, t.phiIndex, maskT)) as TF.Scalar, true, net.variables);
          return cost!;
        });
        const loss = (lossTensor.dataSync() as Float32Array)[0]!;
        lossTensor.dispose();
        lossSum += loss * b;
        seen += b;
        if (options.onProgress && (k % 20 === 0 || k === batches - 1)) options.onProgress({ epoch, batch: k + 1, batches, loss: lossSum / seen });
      }
      const checked = net.evaluate(validation.arrays, nValidation, validation.labels);
      const validationLoss = checked.loss;
      // all hidden units at 0 ⇔ the logits are exactly fc2's bias
      const fc2Bias = net.fc2B.dataSync() as Float32Array;
      let dead = 0;
      for (let j = 0; j < nValidation; j++) if (checked.logits[2 * j] === fc2Bias[0] && checked.logits[2 * j + 1] === fc2Bias[1]) dead++;
      const improved = validationLoss < best.loss;
      if (improved) best = { epoch, loss: validationLoss, values: net.snapshot() };
      const summary: EclCnnEpoch = { epoch, trainLoss: lossSum / seen, validationLoss, deadFraction: dead / nValidation, seconds: (performance.now() - epochStart) / 1000, improved };
      history.push(summary);
      if (options.onEpoch) {
        const card = trainingCard(epoch, best.epoch, best.loss);
        options.onEpoch(summary, net.exportBundle(options.charge, provenance, card, best.values), net.exportBundle(options.charge, provenance, card));
      }
      if (epoch - best.epoch >= patience) {
        stoppedBy = "early-stopping";
        break;
      }
    }
    const bundle = net.exportBundle(options.charge, provenance, trainingCard(history.length, best.epoch, best.loss), best.values);
    const result: EclCnnTrainResult = {
      bundle, history, bestEpoch: best.epoch, bestValidationLoss: best.loss, trainSamples: nTrain, validationSamples: nValidation,
      seconds: (performance.now() - started) / 1000, stoppedBy,
    };
    if (options.keepNetwork) {
      net.restore(best.values);
      result.network = net;
      result.validation = { arrays: validation.arrays, labels: validation.labels, n: nValidation };
    }
    return result;
  } finally {
    optimizer.dispose();
    if (!options.keepNetwork) net.dispose();
  }
}
