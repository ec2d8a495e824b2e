/**
 * A second independent forward pass: plain JavaScript in float64, straight from a ModelBundle's
 * card and tensors in PyTorch semantics (no folding, no padding, no wasm, no TF.js). It stands in
 * for PyTorch, whose float32 result lies within float32 rounding of this exact-arithmetic value.
 */
import type { ModelBundle } from "../../src/models/card.js";

export function forwardFloat64(bundle: ModelBundle, inputs: Record<string, ArrayLike<number>>, batch: number): { logits: Float64Array; muonProbability: Float64Array } {
  const { card, tensors } = bundle;
  const t = (name: string) => tensors.get(name)!.data as Float32Array;
  const classes = card.outputs[0].classes.length;
  const logits = new Float64Array(batch * classes);
  const muonProbability = new Float64Array(batch);
  for (let r = 0; r < batch; r++) {
    const values = new Map<string, Float64Array>();
    for (const spec of card.inputs) {
      const n = spec.shape.reduce((a, b) => a * b, 1);
      const src = inputs[spec.name];
      values.set(spec.name, Float64Array.from({ length: n }, (_, i) => src[r * n + i]));
    }
    for (const layer of card.layers) {
      let y: Float64Array;
      switch (layer.op) {
        case "batchnorm": {
          const x = values.get(layer.input)!;
          const [g, b, m, v] = [t(layer.weight), t(layer.bias), t(layer.runningMean), t(layer.runningVar)];
          y = x.map((xi, i) => ((xi - m[i]) / Math.sqrt(v[i] + layer.eps)) * g[i] + b[i]);
          break;
        }
        case "dense": {
          const x = values.get(layer.input)!;
          const w = t(layer.weight), b = t(layer.bias);
          const nout = b.length, nin = x.length;
          y = new Float64Array(nout);
          for (let o = 0; o < nout; o++) {
            let s = b[o];
            for (let i = 0; i < nin; i++) s += w[o * nin + i] * x[i];
            y[o] = activate(s, layer.activation, layer.alpha ?? 0.01);
          }
          break;
        }
        case "conv2d": {
          const x = values.get(layer.input)!;
          const [cin, h, wd] = layer.inShape;
          const w = t(layer.weight), b = t(layer.bias);
          const cout = b.length;
          y = new Float64Array(cout * h * wd);
          for (let c = 0; c < cout; c++)
            for (let i = 0; i < h; i++)
              for (let j = 0; j < wd; j++) {
                let s = b[c];
                for (let k = 0; k < cin; k++)
                  for (let di = -1; di <= 1; di++)
                    for (let dj = -1; dj <= 1; dj++) {
                      const ii = i + di, jj = j + dj;
                      if (ii < 0 || ii >= h || jj < 0 || jj >= wd) continue;
                      s += w[((c * cin + k) * 3 + di + 1) * 3 + dj + 1] * x[(k * h + ii) * wd + jj];
                    }
                y[(c * h + i) * wd + j] = activate(s, layer.activation, 0.01);
              }
          break;
        }
        case "embedding": {
          const id = values.get(layer.input)![0] + layer.indexOffset;
          const table = tensors.get(layer.weight)!;
          const dim = table.shape[1];
          y = Float64Array.from((table.data as Float32Array).subarray(id * dim, (id + 1) * dim));
          break;
        }
        case "concat": {
          const parts = layer.inputs.map((n) => values.get(n)!);
          y = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
          let o = 0;
          for (const p of parts) {
            y.set(p, o);
            o += p.length;
          }
          break;
        }
      }
      values.set(layer.output, y);
    }
    const z = values.get(card.outputs[0].name)!;
    logits.set(z, r * classes);
    const max = Math.max(...z);
    const e = Array.from(z, (v) => Math.exp(v - max));
    muonProbability[r] = e[1] / e.reduce((a, b) => a + b, 0);
  }
  return { logits, muonProbability };
}

function activate(x: number, act: string, alpha: number): number {
  if (act === "relu") return x > 0 ? x : 0;
  if (act === "leakyrelu") return x > 0 ? x : alpha * x;
  return x;
}
