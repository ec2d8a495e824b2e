/**
 * Independent forward passes with TensorFlow.js (cpu backend) built straight from a ModelBundle:
 * the card's layers in PyTorch semantics, none of the runtime's code (no folding, no padding, no
 * transposed weights, no plan). Tests of the wasm runtime, importers, the browser bundle and bench
 * compare against these.
 *
 *   batchnorm → tf.batchNorm with the running statistics (eval mode)
 *   dense     → x·Wᵀ + b (tf.matMul with transposeB), then the activation
 *   conv2d    → NCHW → NHWC, tf.conv2d with "same" padding (= padding 1 for 3×3 stride 1),
 *               + bias, activation, back to NCHW and flattened channel-major (PyTorch's view)
 *   embedding → tf.gather(table, id + indexOffset)
 *   concat    → tf.concat along the feature axis
 * and the class probabilities as tf.softmax of the logits.
 */
import * as tf from "@tensorflow/tfjs";
import type { Activation, ModelBundle } from "../../src/models/card.js";

export interface ReferenceResult {
  /** batch × classes */
  logits: Float32Array;
  /** batch × classes, softmax of the logits */
  probabilities: Float32Array;
  /** probability of class 1 (the muon), one per row */
  muonProbability: Float32Array;
}

export interface TfjsReference {
  predict(inputs: Record<string, Float32Array | number[]>, batch: number): ReferenceResult;
  dispose(): void;
}

let backendReady: Promise<void> | undefined;

/** Selects the TF.js cpu backend once (plain JS kernels: no native code, same on every host). */
export function useCpuBackend(): Promise<void> {
  backendReady ??= (async () => {
    await tf.setBackend("cpu");
    await tf.ready();
  })();
  return backendReady;
}

export async function buildTfjsReference(bundle: ModelBundle): Promise<TfjsReference> {
  await useCpuBackend();
  const { card } = bundle;
  const weights = new Map<string, tf.Tensor>();
  const param = (name: string): tf.Tensor => {
    let t = weights.get(name);
    if (t === undefined) {
      const src = bundle.tensors.get(name);
      if (src === undefined) throw new Error(`reference: tensor "${name}" missing`);
      t = tf.tensor(Float32Array.from(src.data as Float32Array), src.shape, "float32");
      weights.set(name, t);
    }
    return t;
  };
  // Materialise every weight once, outside predict's tidy scope.
  for (const layer of card.layers) {
    if (layer.op === "batchnorm") [layer.weight, layer.bias, layer.runningMean, layer.runningVar].forEach(param);
    else if (layer.op === "dense" || layer.op === "conv2d") [layer.weight, layer.bias].forEach(param);
    else if (layer.op === "embedding") param(layer.weight);
  }
  const convFilters = new Map<string, tf.Tensor4D>();
  for (const layer of card.layers)
    if (layer.op === "conv2d") convFilters.set(layer.output, tf.transpose(param(layer.weight) as tf.Tensor4D, [2, 3, 1, 0]));

  const activate = (x: tf.Tensor, activation: Activation, alpha: number): tf.Tensor =>
    activation === "relu" ? tf.relu(x) : activation === "leakyrelu" ? tf.leakyRelu(x, alpha) : x;

  return {
    predict(inputs, batch) {
      const [logits, probabilities] = tf.tidy(() => {
        const values = new Map<string, tf.Tensor>();
        for (const spec of card.inputs) {
          const data = inputs[spec.name];
          if (spec.kind === "index") values.set(spec.name, tf.tensor1d(Int32Array.from(data), "int32"));
          else values.set(spec.name, tf.tensor2d(Float32Array.from(data), [batch, data.length / batch]));
        }
        for (const layer of card.layers) {
          let y: tf.Tensor;
          switch (layer.op) {
            case "batchnorm":
              y = tf.batchNorm(values.get(layer.input)! as tf.Tensor2D, param(layer.runningMean) as tf.Tensor1D, param(layer.runningVar) as tf.Tensor1D,
                param(layer.bias) as tf.Tensor1D, param(layer.weight) as tf.Tensor1D, layer.eps);
              break;
            case "dense":
              y = activate(tf.add(tf.matMul(values.get(layer.input)! as tf.Tensor2D, param(layer.weight) as tf.Tensor2D, false, true), param(layer.bias)),
                layer.activation, layer.alpha ?? 0.01);
              break;
            case "conv2d": {
              const [cin, h, w] = layer.inShape;
              const nhwc = tf.transpose(tf.reshape(values.get(layer.input)!, [batch, cin, h, w]), [0, 2, 3, 1]) as tf.Tensor4D;
              const conv = tf.add(tf.conv2d(nhwc, convFilters.get(layer.output)!, 1, "same"), param(layer.bias));
              const cout = param(layer.bias).shape[0];
              y = tf.reshape(tf.transpose(activate(conv, layer.activation, 0.01), [0, 3, 1, 2]), [batch, cout * h * w]);
              break;
            }
            case "embedding":
              y = tf.gather(param(layer.weight), tf.add(values.get(layer.input)!, tf.scalar(layer.indexOffset, "int32")));
              break;
            case "concat":
              y = tf.concat(layer.inputs.map((name) => values.get(name)! as tf.Tensor2D), 1);
              break;
          }
          values.set(layer.output, y);
        }
        const out = values.get(card.outputs[0].name)!;
        return [out, tf.softmax(out as tf.Tensor2D)];
      });
      const result = { logits: Float32Array.from(logits.dataSync() as Float32Array), probabilities: Float32Array.from(probabilities.dataSync() as Float32Array) };
      const classes = logits.shape[1]!;
      logits.dispose();
      probabilities.dispose();
      const muonProbability = new Float32Array(batch);
      for (let r = 0; r < batch; r++) muonProbability[r] = result.probabilities[r * classes + 1];
      return { ...result, muonProbability };
    },
    dispose() {
      for (const t of weights.values()) t.dispose();
      for (const t of convFilters.values()) t.dispose();
    },
  };
}
