/**
 * The TensorFlow.js peers of `muid bench` (tfjs-wasm, tfjs-cpu): a model card's layers built as a
 * TF.js graph from the same weights, the way a TF.js user would write it for speed: weights
 * uploaded once, dense layers as tf.fused.matMul with the bias and activation fused and the weight
 * pre-transposed to [in, out], convolutions as tf.fused.conv2d in NHWC with "same" padding.
 *
 * PyTorch flattens a conv output channel-major (c·H·W + h·W + w) while NHWC flattens h·W·C + w·C + c
 * (toolchain.md "Kernel facts"): instead of transposing activations on every call, the columns of
 * the dense layer that reads the conv output are permuted once at build time.
 *
 * TF.js is imported by the caller (a dependency, loaded dynamically) and passed in, with the
 * backend already selected; the graph's weights live in that backend.
 */
import { ModelError } from "../errors.js";
import type { Activation, ModelBundle } from "../models/card.js";
import type { Prediction } from "../models/runtime.js";
import { validateModel } from "../models/validate.js";

type Tf = typeof import("@tensorflow/tfjs");
type TfTensor = import("@tensorflow/tfjs").Tensor;

/** PyTorch's nn.LeakyReLU default slope (as runtime.ts). */
const LEAKYRELU_DEFAULT_SLOPE = 0.01;

export interface TfjsForward {
  predict(inputs: Record<string, Float32Array>, batch: number): Prediction;
  dispose(): void;
}

export function buildTfjsForward(tf: Tf, bundle: ModelBundle): TfjsForward {
  const sizes = validateModel(bundle);
  const { card } = bundle;
  const owned: TfTensor[] = [];
  const keep = <T extends TfTensor>(t: T): T => (owned.push(t), t);
  const f32 = (name: string): Float32Array => {
    const t = bundle.tensors.get(name);
    if (t === undefined || t.dtype !== "F32") throw new ModelError(`TF.js peer: tensor "${name}" must be F32`);
    return t.data as Float32Array;
  };
  // Column order of each value: perm[k] = the PyTorch column held in column k (null = identity).
  const perm = new Map<string, Int32Array | null>();
  for (const i of card.inputs) perm.set(i.name, null);

  type Step = (values: Map<string, TfTensor>, batch: number) => TfTensor;
  const steps: { output: string; run: Step }[] = [];
  const tfActivation = (a: Activation): "linear" | "relu" | "leakyrelu" => (a === "none" ? "linear" : a);

  for (const layer of card.layers) {
    switch (layer.op) {
      case "batchnorm": {
        if (perm.get(layer.input)) throw new ModelError("TF.js peer: batchnorm after a conv is not supported");
        const mean = keep(tf.tensor1d(f32(layer.runningMean))), variance = keep(tf.tensor1d(f32(layer.runningVar)));
        const gamma = keep(tf.tensor1d(f32(layer.weight))), beta = keep(tf.tensor1d(f32(layer.bias)));
        steps.push({ output: layer.output, run: (v) => tf.batchNorm(v.get(layer.input)! as import("@tensorflow/tfjs").Tensor2D, mean, variance, beta, gamma, layer.eps) });
        perm.set(layer.output, null);
        break;
      }
      case "dense": {
        const w = f32(layer.weight), b = f32(layer.bias);
        const nout = b.length, nin = w.length / nout;
        const p = perm.get(layer.input) ?? null;
        const wt = new Float32Array(nin * nout);
        for (let k = 0; k < nin; k++) {
          const src = p ? p[k]! : k;
          for (let o = 0; o < nout; o++) wt[k * nout + o] = w[o * nin + src]!;
        }
        const weight = keep(tf.tensor2d(wt, [nin, nout])), bias = keep(tf.tensor1d(b));
        const activation = tfActivation(layer.activation);
        const leakyreluAlpha = layer.alpha ?? LEAKYRELU_DEFAULT_SLOPE;
        steps.push({
          output: layer.output,
          run: (v) => tf.fused.matMul({ a: v.get(layer.input)! as import("@tensorflow/tfjs").Tensor2D, b: weight, bias, activation, leakyreluAlpha }),
        });
        perm.set(layer.output, null);
        break;
      }
      case "conv2d": {
        const [cin, h, w] = layer.inShape;
        const weight = f32(layer.weight), bias = f32(layer.bias);
        const cout = bias.length;
        // PyTorch [cout][cin][3][3] → TF.js [3][3][cin][cout]
        const filter = new Float32Array(9 * cin * cout);
        for (let c = 0; c < cout; c++) for (let k = 0; k < cin; k++) for (let t = 0; t < 9; t++) filter[(t * cin + k) * cout + c] = weight[(c * cin + k) * 9 + t]!;
        const filterT = keep(tf.tensor4d(filter, [3, 3, cin, cout])), biasT = keep(tf.tensor1d(bias));
        const p = new Int32Array(cout * h * w);
        for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) for (let c = 0; c < cout; c++) p[(i * w + j) * cout + c] = (c * h + i) * w + j;
        const activation = tfActivation(layer.activation);
        steps.push({
          output: layer.output,
          run: (v, batch) => {
            const x = v.get(layer.input)!;
            // NCHW → NHWC: a reshape when there is one input channel, else a transpose.
            const nhwc = cin === 1 ? tf.reshape(x, [batch, h, w, 1]) : tf.transpose(tf.reshape(x, [batch, cin, h, w]), [0, 2, 3, 1]);
            const y = tf.fused.conv2d({ x: nhwc as import("@tensorflow/tfjs").Tensor4D, filter: filterT as import("@tensorflow/tfjs").Tensor4D, strides: 1, pad: "same", bias: biasT, activation });
            return tf.reshape(y, [batch, cout * h * w]);
          },
        });
        perm.set(layer.output, p);
        break;
      }
      case "embedding": {
        const table = bundle.tensors.get(layer.weight)!;
        const tableT = keep(tf.tensor2d(f32(layer.weight), [table.shape[0]!, table.shape[1]!]));
        const offset = layer.indexOffset;
        steps.push({ output: layer.output, run: (v) => tf.gather(tableT, offset === 0 ? v.get(layer.input)! : tf.add(v.get(layer.input)!, tf.scalar(offset, "int32"))) });
        perm.set(layer.output, null);
        break;
      }
      case "concat": {
        const parts = layer.inputs.map((name) => ({ p: perm.get(name) ?? null, width: sizes.get(name)! }));
        const width = parts.reduce((s, q) => s + q.width, 0);
        let p: Int32Array | null = null;
        if (parts.some((q) => q.p !== null)) {
          p = new Int32Array(width);
          let at = 0;
          for (const q of parts) {
            for (let k = 0; k < q.width; k++) p[at + k] = at + (q.p ? q.p[k]! : k);
            at += q.width;
          }
        }
        steps.push({ output: layer.output, run: (v) => tf.concat(layer.inputs.map((name) => v.get(name)! as import("@tensorflow/tfjs").Tensor2D), 1) });
        perm.set(layer.output, p);
        break;
      }
    }
  }
  const outputName = card.outputs[0].name;
  const classes = sizes.get(outputName)!;

  return {
    predict(inputs, batch) {
      const [logits, probabilities] = tf.tidy(() => {
        const values = new Map<string, TfTensor>();
        for (const spec of card.inputs) {
          const data = inputs[spec.name]!;
          if (spec.kind === "index") values.set(spec.name, tf.tensor1d(Int32Array.from(data), "int32"));
          else values.set(spec.name, tf.tensor2d(data, [batch, data.length / batch]));
        }
        for (const step of steps) values.set(step.output, step.run(values, batch));
        const out = values.get(outputName)!;
        return [out, tf.softmax(out)];
      });
      const l = logits.dataSync() as Float32Array, p = probabilities.dataSync() as Float32Array;
      logits.dispose();
      probabilities.dispose();
      const muonProbability = new Float32Array(batch);
      for (let r = 0; r < batch; r++) muonProbability[r] = p[r * classes + 1]!;
      return { logits: Float32Array.from(l), muonProbability };
    },
    dispose() {
      for (const t of owned) t.dispose();
    },
  };
}
