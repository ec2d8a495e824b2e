/**
 * Fast ECL CNN inference: the sparse/folded kernel of assembly/eclCnn.ts on an ECL CNN bundle.
 *
 * At load the fc1 contributions that do not depend on the image are folded into tables (float64
 * sums rounded once): the θ and φ embeddings times their fc1 columns (one 128-vector per thetaId and
 * per phiId), fc1's bias plus every conv output at its all-zero value relu(convBias) (one 128-vector),
 * and pt's fc1 column. At run time only conv outputs whose 3×3 receptive field holds a nonzero pixel
 * add their fc1 columns (and only for channels whose ReLU output moved). The result equals the dense
 * path (runtime.ts Model) up to float rounding; tests/eclCnnFast.test.ts holds it to ≤ 1e-5.
 *
 * Same call shape as Model.predict: `predict({image, pt, thetaId, phiId}, batch)` with the card's
 * inputs (thetaId 14..57, phiId 0..143), returning logits and muon probabilities. Typical use is
 * one call per event with all its accepted tracks.
 */
import { InputError, ModelError, OptionError } from "../errors.js";
import {
  ECL_CNN_CLASSES,
  ECL_CNN_CONV_FILTERS,
  ECL_CNN_CONV_OUTPUTS,
  ECL_CNN_FC1_INPUTS,
  ECL_CNN_FC1_UNITS,
  ECL_CNN_IMAGE_SIZE,
  ECL_CNN_PHI_EMBEDDINGS,
  ECL_CNN_PHI_EMBEDDING_DIM,
  ECL_CNN_TENSOR_SHAPES,
  ECL_CNN_THETA_EMBEDDINGS,
  ECL_CNN_THETA_EMBEDDING_DIM,
  eclCnnCard,
} from "./architectures.js";
import type { ModelBundle, ModelCard } from "./card.js";
import { createEngine, type Engine } from "./engine.js";
import type { Prediction } from "./runtime.js";
import { validateModel } from "./validate.js";

const PIXELS = ECL_CNN_IMAGE_SIZE * ECL_CNN_IMAGE_SIZE;
const TAPS = 9;
const DEFAULT_CAPACITY = 64;
/**
 * Most rows one kernel call handles: a larger batch runs in chunks of this many rows (the kernel
 * treats every row on its own, so chunking keeps every bit). Bounds the input buffers at ~0.8 MiB
 * whatever the batch, so a huge batch cannot grow the wasm memory without limit.
 */
const MAX_CAPACITY = 4096;

/** Exports of build/muid.wasm used here (assembly/eclCnn.ts). */
interface EclCnnKernels {
  eclCnnFast(...args: number[]): void;
  eclCnnFastScalar(...args: number[]): void;
  eclCnnScratchBytes(): number;
}

export interface EclCnnFastOptions {
  /** SIMD kernel or its bit-identical scalar twin (default "simd") */
  kernels?: "simd" | "scalar";
}

/** Pointers of the folded weights in the arena. */
interface FoldedWeights {
  convW: number; convB: number; reluB: number; w1pix: number; base: number; ptColumn: number;
  thetaTable: number; phiTable: number; w2: number; b2: number;
}

interface Buffers {
  capacity: number;
  image: number; pt: number; thetaIndex: number; phiIndex: number; logits: number; p1: number; scratch: number;
}

/**
 * Checks that a bundle is exactly the ECL CNN architecture this kernel implements (eclCnnCard's
 * inputs and layers, the state_dict shapes); ModelError otherwise.
 */
export function checkEclCnnArchitecture(bundle: ModelBundle): void {
  validateModel(bundle);
  const { card, tensors } = bundle;
  if (card.task !== "ecl-cnn") throw new ModelError(`the fast ECL CNN path needs an "ecl-cnn" model, this one is "${card.task}"`);
  const reference = eclCnnCard(card.charge === 1 ? 1 : -1, { source: "" });
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  if (!same(card.layers, reference.layers)) throw new ModelError("the model's layer list differs from the ECL CNN architecture (architectures.ts eclCnnCard)");
  const shapeOf = (i: ModelCard["inputs"][number]): unknown => [i.name, i.shape, i.kind, i.range];
  if (!same(card.inputs.map(shapeOf), reference.inputs.map(shapeOf))) throw new ModelError("the model's inputs differ from the ECL CNN's (image, pt, thetaId 14..57, phiId 0..143)");
  for (const [name, shape] of ECL_CNN_TENSOR_SHAPES) {
    const t = tensors.get(name);
    if (t === undefined || t.dtype !== "F32" || t.shape.join(",") !== shape.join(",")) throw new ModelError(`ECL CNN tensor "${name}" must be F32 [${shape}]`);
  }
}

export class EclCnnFast {
  readonly card: ModelCard;
  readonly kernels: "simd" | "scalar";
  private readonly engine: Engine;
  private readonly exports: EclCnnKernels;
  private readonly weights: FoldedWeights;
  private readonly weightsEnd: number;
  private buffers: Buffers;
  private readonly thetaMin: number;
  private readonly thetaMax: number;
  private readonly phiMin: number;
  private readonly phiMax: number;

  private constructor(bundle: ModelBundle, engine: Engine, kernels: "simd" | "scalar") {
    this.card = bundle.card;
    this.kernels = kernels;
    this.engine = engine;
    this.exports = engine.kernels as unknown as EclCnnKernels;
    if (typeof this.exports.eclCnnFast !== "function") throw new Error("build/muid.wasm lacks eclCnnFast: rebuild with npm run build:wasm");
    [this.thetaMin, this.thetaMax] = bundle.card.inputs.find((i) => i.name === "thetaId")!.range!;
    [this.phiMin, this.phiMax] = bundle.card.inputs.find((i) => i.name === "phiId")!.range!;
    this.weights = this.fold(bundle);
    this.weightsEnd = engine.mark();
    this.buffers = this.layout(DEFAULT_CAPACITY);
  }

  static async create(bundle: ModelBundle, options: EclCnnFastOptions = {}): Promise<EclCnnFast> {
    if (options === null || typeof options !== "object") throw new OptionError("ECL CNN options must be an object");
    const kernels = options.kernels ?? "simd";
    if (kernels !== "simd" && kernels !== "scalar") throw new OptionError(`kernels must be "simd" or "scalar", got ${JSON.stringify(kernels)}`);
    checkEclCnnArchitecture(bundle);
    return new EclCnnFast(bundle, await createEngine(), kernels);
  }

  /** Size of this model's wasm memory in bytes. */
  get memoryBytes(): number {
    return this.engine.memoryBytes;
  }

  /** Builds the folded tables (float64 sums, rounded once) and copies them into the arena. */
  private fold(bundle: ModelBundle): FoldedWeights {
    const f32 = (name: string): Float32Array => bundle.tensors.get(name)!.data as Float32Array;
    const convWeight = f32("conv1.weight"), convBias = f32("conv1.bias");
    const W1 = f32("fc1.weight"), b1 = f32("fc1.bias");
    const embTheta = f32("emb_theta.weight"), embPhi = f32("emb_phi.weight");
    const F = ECL_CNN_CONV_FILTERS, H = ECL_CNN_FC1_UNITS, IN = ECL_CNN_FC1_INPUTS;

    const convW = new Float32Array(TAPS * F);
    for (let c = 0; c < F; c++) for (let t = 0; t < TAPS; t++) convW[t * F + c] = convWeight[c * TAPS + t]!;
    const reluB = Float32Array.from(convBias, (b) => Math.max(b, 0));
    const w1pix = new Float32Array(PIXELS * F * H);
    const base = new Float32Array(H), ptColumn = new Float32Array(H);
    const thetaTable = new Float32Array(ECL_CNN_THETA_EMBEDDINGS * H), phiTable = new Float32Array(ECL_CNN_PHI_EMBEDDINGS * H);
    const ptAt = ECL_CNN_CONV_OUTPUTS, thetaAt = ptAt + 1, phiAt = thetaAt + ECL_CNN_THETA_EMBEDDING_DIM;
    for (let o = 0; o < H; o++) {
      const row = o * IN;
      let acc = b1[o]!;
      for (let c = 0; c < F; c++) {
        for (let pix = 0; pix < PIXELS; pix++) {
          const w = W1[row + c * PIXELS + pix]!;
          w1pix[(pix * F + c) * H + o] = w;
          acc += w * reluB[c]!;
        }
      }
      base[o] = acc;
      ptColumn[o] = W1[row + ptAt]!;
      for (let t = 0; t < ECL_CNN_THETA_EMBEDDINGS; t++) {
        let s = 0;
        for (let d = 0; d < ECL_CNN_THETA_EMBEDDING_DIM; d++) s += W1[row + thetaAt + d]! * embTheta[t * ECL_CNN_THETA_EMBEDDING_DIM + d]!;
        thetaTable[t * H + o] = s;
      }
      for (let p = 0; p < ECL_CNN_PHI_EMBEDDINGS; p++) {
        let s = 0;
        for (let d = 0; d < ECL_CNN_PHI_EMBEDDING_DIM; d++) s += W1[row + phiAt + d]! * embPhi[p * ECL_CNN_PHI_EMBEDDING_DIM + d]!;
        phiTable[p * H + o] = s;
      }
    }
    const e = this.engine;
    return {
      convW: e.allocF32(convW), convB: e.allocF32(convBias), reluB: e.allocF32(reluB), w1pix: e.allocF32(w1pix),
      base: e.allocF32(base), ptColumn: e.allocF32(ptColumn), thetaTable: e.allocF32(thetaTable), phiTable: e.allocF32(phiTable),
      w2: e.allocF32(f32("fc2.weight")), b2: e.allocF32(f32("fc2.bias")),
    };
  }

  private layout(capacity: number): Buffers {
    const e = this.engine;
    return {
      capacity,
      image: e.alloc(capacity * PIXELS * 4),
      pt: e.alloc(capacity * 4),
      thetaIndex: e.alloc(capacity * 4),
      phiIndex: e.alloc(capacity * 4),
      logits: e.alloc(capacity * ECL_CNN_CLASSES * 4),
      p1: e.alloc(capacity * 4),
      scratch: e.alloc(this.exports.eclCnnScratchBytes()),
    };
  }

  /**
   * Runs the CNN on `batch` tracks. `inputs`: image (batch × 49, preprocessed GeV), pt (batch),
   * thetaId (batch, 14..57), phiId (batch, 0..143). InputError names a wrong length, a non-finite
   * value or an id out of range; nothing is written to wasm memory before every input is checked.
   */
  predict(inputs: Record<string, Float32Array | Int32Array | number[]>, batch: number): Prediction {
    if (!Number.isSafeInteger(batch) || batch < 1) throw new InputError(`batch must be a positive integer, got ${String(batch)}`);
    if (inputs === null || typeof inputs !== "object") throw new InputError("inputs must be an object mapping input names to arrays");
    for (const name of Object.keys(inputs))
      if (!["image", "pt", "thetaId", "phiId"].includes(name)) throw new InputError(`unknown input "${name}"; the ECL CNN reads "image", "pt", "thetaId", "phiId"`);
    const image = checkFloats("image", inputs.image, batch * PIXELS, PIXELS);
    const pt = checkFloats("pt", inputs.pt, batch, 1);
    const thetaId = checkIds("thetaId", inputs.thetaId, batch, this.thetaMin, this.thetaMax);
    const phiId = checkIds("phiId", inputs.phiId, batch, this.phiMin, this.phiMax);

    if (batch > this.buffers.capacity && this.buffers.capacity < MAX_CAPACITY) {
      const old = this.buffers;
      this.engine.release(this.weightsEnd);
      try {
        this.buffers = this.layout(Math.min(batch, MAX_CAPACITY));
      } catch (e) {
        // keep the previous buffers (they lie below the failed allocation)
        this.engine.release(this.weightsEnd);
        this.buffers = this.layout(old.capacity);
        throw e;
      }
    }
    const logits = new Float32Array(batch * ECL_CNN_CLASSES);
    const muonProbability = new Float32Array(batch);
    const w = this.weights;
    const kernel = this.kernels === "scalar" ? this.exports.eclCnnFastScalar : this.exports.eclCnnFast;
    for (let start = 0; start < batch; start += this.buffers.capacity) {
      const rows = Math.min(this.buffers.capacity, batch - start);
      const b = this.buffers;
      const f32 = this.engine.f32();
      const i32 = this.engine.i32();
      if (image instanceof Float32Array) f32.set(image.subarray(start * PIXELS, (start + rows) * PIXELS), b.image >>> 2);
      else for (let k = 0; k < rows * PIXELS; k++) f32[(b.image >>> 2) + k] = image[start * PIXELS + k]!;
      for (let r = 0; r < rows; r++) {
        f32[(b.pt >>> 2) + r] = pt[start + r]!;
        i32[(b.thetaIndex >>> 2) + r] = thetaId[start + r]! - this.thetaMin;
        i32[(b.phiIndex >>> 2) + r] = phiId[start + r]! - this.phiMin;
      }
      kernel(w.convW, w.convB, w.reluB, w.w1pix, w.base, w.ptColumn, w.thetaTable, w.phiTable, w.w2, w.b2,
        b.image, b.pt, b.thetaIndex, b.phiIndex, b.logits, b.p1, b.scratch, rows);
      const out = this.engine.f32();
      logits.set(out.subarray(b.logits >>> 2, (b.logits >>> 2) + rows * ECL_CNN_CLASSES), start * ECL_CNN_CLASSES);
      muonProbability.set(out.subarray(b.p1 >>> 2, (b.p1 >>> 2) + rows), start);
    }
    return { logits, muonProbability };
  }
}

function checkFloats(name: string, data: unknown, length: number, perRow: number): ArrayLike<number> {
  if (data === undefined) throw new InputError(`input "${name}" is missing`);
  if (!(data instanceof Float32Array) && !(data instanceof Int32Array) && !Array.isArray(data)) throw new InputError(`input "${name}" must be a Float32Array or an array of numbers`);
  const values = data as ArrayLike<unknown>;
  if (values.length !== length) throw new InputError(`input "${name}" has ${values.length} values, needs ${length}`);
  for (let i = 0; i < length; i++) {
    const v = values[i];
    if (typeof v !== "number" || !Number.isFinite(v))
      throw new InputError(`input "${name}" row ${Math.floor(i / perRow)}${perRow > 1 ? ` column ${i % perRow}` : ""} is ${typeof v !== "number" ? `not a number (${typeof v})` : String(v)}`);
  }
  return values as ArrayLike<number>;
}

function checkIds(name: string, data: unknown, batch: number, lo: number, hi: number): ArrayLike<number> {
  const values = checkFloats(name, data, batch, 1);
  for (let r = 0; r < batch; r++) {
    const v = values[r]!;
    if (!Number.isInteger(v)) throw new InputError(`input "${name}" row ${r}: id ${v} is not an integer`);
    if (v < lo || v > hi) throw new InputError(`input "${name}" row ${r}: id ${v} is outside the valid range ${lo}..${hi}`);
  }
  return values;
}
