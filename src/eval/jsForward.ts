/**
 * The "plain JavaScript loops" peer of `muid bench`: a straightforward forward pass of a model
 * card's layers (batchnorm, dense, conv2d 3×3, embedding, concat; PyTorch semantics, card.ts) over
 * a batch, with Float32Array values and weights as stored (no folding, no padding, no transposes,
 * no wasm). Sums run in JavaScript numbers (float64) and are stored as float32, so the result lies
 * within float32 rounding of the exact value — close to muid's, not bit-identical.
 *
 * It is what a JavaScript developer would write without a library, and the baseline the wasm
 * kernels are measured against; it is not used by the chain.
 */
import { InputError, ModelError } from "../errors.js";
import type { Activation, LayerSpec, ModelBundle, ModelCard } from "../models/card.js";
import type { Prediction } from "../models/runtime.js";
import { validateModel } from "../models/validate.js";

/** PyTorch's nn.LeakyReLU default slope, used when a card gives none (as runtime.ts does). */
const LEAKYRELU_DEFAULT_SLOPE = 0.01;

export class JsForward {
  readonly card: ModelCard;
  private readonly tensors: Map<string, Float32Array>;
  private readonly sizes: Map<string, number>;
  private readonly classes: number;

  private constructor(bundle: ModelBundle, sizes: Map<string, number>) {
    this.card = bundle.card;
    this.sizes = sizes;
    this.tensors = new Map();
    for (const [name, t] of bundle.tensors) {
      if (t.dtype === "F32") this.tensors.set(name, t.data as Float32Array);
    }
    this.classes = sizes.get(bundle.card.outputs[0].name)!;
  }

  static create(bundle: ModelBundle): JsForward {
    const sizes = validateModel(bundle);
    for (const layer of bundle.card.layers) {
      for (const name of weightNames(layer)) {
        if (bundle.tensors.get(name)?.dtype !== "F32") throw new ModelError(`plain-JS forward: tensor "${name}" must be F32`);
      }
    }
    return new JsForward(bundle, sizes);
  }

  /** Runs `batch` rows; `inputs` as Model.predict takes them (ids as numbers). */
  predict(inputs: Record<string, Float32Array | number[]>, batch: number): Prediction {
    if (!Number.isSafeInteger(batch) || batch < 1) throw new InputError(`batch must be a positive integer, got ${batch}`);
    const values = new Map<string, Float32Array>();
    for (const spec of this.card.inputs) {
      const data = inputs[spec.name];
      const size = this.sizes.get(spec.name)!;
      if (data === undefined || data.length !== batch * size) throw new InputError(`input "${spec.name}" needs ${batch * size} values`);
      values.set(spec.name, data instanceof Float32Array ? data : Float32Array.from(data));
    }
    for (const layer of this.card.layers) values.set(layer.output, this.run(layer, values, batch));
    const logits = values.get(this.card.outputs[0].name)!;
    const n = this.classes;
    const muonProbability = new Float32Array(batch);
    for (let r = 0; r < batch; r++) {
      let max = -Infinity;
      for (let c = 0; c < n; c++) max = Math.max(max, logits[r * n + c]!);
      let sum = 0;
      for (let c = 0; c < n; c++) sum += Math.exp(logits[r * n + c]! - max);
      muonProbability[r] = Math.exp(logits[r * n + 1]! - max) / sum;
    }
    return { logits: logits.slice(0, batch * n), muonProbability };
  }

  private run(layer: LayerSpec, values: Map<string, Float32Array>, batch: number): Float32Array {
    const t = (name: string): Float32Array => this.tensors.get(name)!;
    switch (layer.op) {
      case "batchnorm": {
        const x = values.get(layer.input)!;
        const g = t(layer.weight), b = t(layer.bias), mean = t(layer.runningMean), variance = t(layer.runningVar);
        const n = g.length;
        const y = new Float32Array(batch * n);
        for (let r = 0; r < batch; r++)
          for (let i = 0; i < n; i++) y[r * n + i] = ((x[r * n + i]! - mean[i]!) / Math.sqrt(variance[i]! + layer.eps)) * g[i]! + b[i]!;
        return y;
      }
      case "dense": {
        const x = values.get(layer.input)!;
        const w = t(layer.weight), bias = t(layer.bias);
        const nout = bias.length, nin = w.length / nout;
        const alpha = layer.alpha ?? LEAKYRELU_DEFAULT_SLOPE;
        const y = new Float32Array(batch * nout);
        for (let r = 0; r < batch; r++) {
          const xr = r * nin;
          for (let o = 0; o < nout; o++) {
            const wo = o * nin;
            let s = bias[o]!;
            for (let i = 0; i < nin; i++) s += w[wo + i]! * x[xr + i]!;
            y[r * nout + o] = activate(s, layer.activation, alpha);
          }
        }
        return y;
      }
      case "conv2d": {
        const x = values.get(layer.input)!;
        const [cin, h, wd] = layer.inShape;
        const w = t(layer.weight), bias = t(layer.bias);
        const cout = bias.length, inSize = cin * h * wd, outSize = cout * h * wd;
        const y = new Float32Array(batch * outSize);
        for (let r = 0; r < batch; r++) {
          const xr = r * inSize, yr = r * outSize;
          for (let c = 0; c < cout; c++)
            for (let i = 0; i < h; i++)
              for (let j = 0; j < wd; j++) {
                let s = bias[c]!;
                for (let k = 0; k < cin; k++)
                  for (let di = -1; di <= 1; di++) {
                    const ii = i + di;
                    if (ii < 0 || ii >= h) continue;
                    for (let dj = -1; dj <= 1; dj++) {
                      const jj = j + dj;
                      if (jj < 0 || jj >= wd) continue;
                      s += w[((c * cin + k) * 3 + di + 1) * 3 + dj + 1]! * x[xr + (k * h + ii) * wd + jj]!;
                    }
                  }
                y[yr + (c * h + i) * wd + j] = activate(s, layer.activation, LEAKYRELU_DEFAULT_SLOPE);
              }
        }
        return y;
      }
      case "embedding": {
        const ids = values.get(layer.input)!;
        const table = t(layer.weight);
        const dim = this.sizes.get(layer.output)!;
        const y = new Float32Array(batch * dim);
        for (let r = 0; r < batch; r++) {
          const row = ids[r]! + layer.indexOffset;
          y.set(table.subarray(row * dim, (row + 1) * dim), r * dim);
        }
        return y;
      }
      case "concat": {
        const parts = layer.inputs.map((name) => ({ x: values.get(name)!, width: this.sizes.get(name)! }));
        const width = parts.reduce((s, p) => s + p.width, 0);
        const y = new Float32Array(batch * width);
        for (let r = 0; r < batch; r++) {
          let at = r * width;
          for (const p of parts) {
            y.set(p.x.subarray(r * p.width, (r + 1) * p.width), at);
            at += p.width;
          }
        }
        return y;
      }
    }
  }
}

function weightNames(layer: LayerSpec): string[] {
  if (layer.op === "batchnorm") return [layer.weight, layer.bias, layer.runningMean, layer.runningVar];
  if (layer.op === "dense" || layer.op === "conv2d") return [layer.weight, layer.bias];
  if (layer.op === "embedding") return [layer.weight];
  return [];
}

function activate(x: number, activation: Activation, alpha: number): number {
  if (activation === "relu") return x > 0 ? x : 0;
  if (activation === "leakyrelu") return x > 0 ? x : alpha * x;
  return x;
}
