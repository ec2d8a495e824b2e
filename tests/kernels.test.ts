/**
 * The wasm kernels (assembly/) one by one: each SIMD kernel against its scalar twin (bit for bit)
 * and against TensorFlow.js (cpu backend) on seeded random shapes, including widths that are not
 * multiples of 4 and batches 1, 2, 3, 17; guard values around every output check that no kernel
 * writes outside its rows and columns.
 *
 * Tolerance against TF.js. The cpu backend accumulates dot products in float64 and rounds once, so
 * it is within half an ulp of the exact result; our kernels sum in float32 (assembly/dense.ts: chunks
 * of 16). The rounding error of a float32 sum scales with u·S (u = 2^-24, S = Σ|terms|; Higham,
 * "Accuracy and Stability of Numerical Algorithms", §3.1), not with |result|: an output that cancels
 * to near zero has a relative error that says nothing about the kernel. So each output must satisfy
 *   |ours − tf| ≤ 1e-6·|tf| + 1e-6·S/√n      (S = |b| + Σ_k |x_k·w_k| over its n terms)
 * i.e. relative 1e-6 for ordinary values and, near zero, an absolute floor of 1e-6·S/√n, which is
 * below the worst-case float32 bound (≥ 16·u·S ≈ 1e-6·S) and far below the S/n that a single
 * wrong, missing or misplaced term would cost, so layout and indexing bugs still fail.
 * Element-wise kernels with one rounding per operation (affine, gather, concat) must match exactly:
 * float64 evaluation of a float32 subtract, multiply or add followed by rounding to float32 is
 * correctly rounded (53 ≥ 2·24 + 2 bits), so TF.js gives the same bits.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { createEngine, type Engine, ACTIVATION_CODE, OPCODE, PLAN_RECORD_WORDS, FLAG_SCALAR, padTo4 } from "../src/models/engine.js";
import type { Activation } from "../src/models/card.js";
import { Random } from "../src/sim/random.js";
import { useCpuBackend } from "./reference/tfjsForward.js";

const GUARD = Math.fround(12345.678); // a float32 value, so a read-back compares equal
const BATCHES = [1, 2, 3, 17];

let engine: Engine;
beforeAll(async () => {
  engine = await createEngine();
  await useCpuBackend();
});

function bitsOf(a: Float32Array): Uint32Array {
  return new Uint32Array(Float32Array.from(a).buffer);
}

function uniform(n: number, lo: number, hi: number, rng: Random): Float32Array {
  return Float32Array.from({ length: n }, () => rng.range(lo, hi));
}

/** Rows of `width` values out of a [rows][stride] block at byte pointer ptr. */
function readRows(ptr: number, rows: number, stride: number, width: number): Float32Array {
  const f32 = engine.f32();
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) out.set(f32.subarray((ptr >>> 2) + r * stride, (ptr >>> 2) + r * stride + width), r * width);
  return out;
}

/** Allocates a [rows][stride] output block filled with GUARD. */
function guarded(rows: number, stride: number): number {
  const ptr = engine.alloc((rows * stride + 4) * 4);
  engine.f32().fill(GUARD, ptr >>> 2, (ptr >>> 2) + rows * stride + 4);
  return ptr;
}

/** Every value of the block that is not in the first `width` columns of a row is still GUARD. */
function expectGuardsIntact(ptr: number, rows: number, stride: number, width: number): void {
  const f32 = engine.f32();
  const base = ptr >>> 2;
  for (let i = 0; i < rows * stride + 4; i++) {
    const inside = i < rows * stride && i % stride < width;
    if (!inside && f32[base + i] !== GUARD) throw new Error(`kernel wrote outside its output at element ${i} (row ${Math.floor(i / stride)}, column ${i % stride})`);
  }
}

function activateTf(x: tf.Tensor, activation: Activation, alpha: number): tf.Tensor {
  return activation === "relu" ? tf.relu(x) : activation === "leakyrelu" ? tf.leakyRelu(x, alpha) : x;
}

interface Worst {
  outputs: number;
  needFloor: number; // outputs whose difference exceeds 1e-6·|tf| (the floor was needed)
  ofTolerance: number; // largest |Δ|/tolerance
}

/** Checks ours against ref with the tolerance in the file comment; returns the worst ratios. */
function compareWithTolerance(ours: Float32Array, ref: Float32Array, termSize: Float64Array, terms: Float64Array, worst: Worst, what: string): void {
  for (let i = 0; i < ours.length; i++) {
    const d = Math.abs(ours[i] - ref[i]);
    const floor = (1e-6 * termSize[i]) / Math.sqrt(terms[i]);
    const tol = 1e-6 * Math.abs(ref[i]) + floor;
    if (!(d <= tol)) throw new Error(`${what}: output ${i} is ${ours[i]}, TF.js ${ref[i]} (|Δ| ${d.toExponential(2)} > tolerance ${tol.toExponential(2)})`);
    worst.outputs++;
    if (d > 1e-6 * Math.abs(ref[i])) worst.needFloor++;
    worst.ofTolerance = Math.max(worst.ofTolerance, d / tol);
  }
}

describe("dense", () => {
  const shapes: [number, number][] = [[1, 1], [3, 2], [16, 16], [17, 3], [5, 17], [33, 50], [121, 242], [242, 100], [50, 2], [7, 5]];
  const activations: [Activation, number][] = [["none", 0], ["relu", 0], ["leakyrelu", 0.01], ["leakyrelu", 0.2]];

  it("SIMD equals the scalar twin bit for bit, matches TF.js, writes only its rows and padded columns", () => {
    const rng = new Random(2024);
    const worst: Worst = { outputs: 0, needFloor: 0, ofTolerance: 0 };
    let cases = 0;
    for (const [nin, nout] of shapes) {
      for (const batch of BATCHES) {
        for (const [activation, alpha] of activations) {
          const mark = engine.mark();
          const noutPadded = padTo4(nout);
          const xStride = nin + rng.int(3); // rows may be wider than nin (e.g. inside a concat)
          const yStride = noutPadded + rng.int(3) * 4;
          const x = uniform(batch * xStride, -2, 2, rng);
          const W = uniform(nout * nin, -1 / Math.sqrt(nin), 1 / Math.sqrt(nin), rng); // [nout][nin], PyTorch layout
          const b = uniform(nout, -0.5, 0.5, rng);
          const wt = new Float32Array(nin * noutPadded);
          for (let j = 0; j < nout; j++) for (let k = 0; k < nin; k++) wt[k * noutPadded + j] = W[j * nin + k];
          const bias = new Float32Array(noutPadded);
          bias.set(b);
          const xp = engine.allocF32(x), wp = engine.allocF32(wt), bp = engine.allocF32(bias);
          const ySimd = guarded(batch, yStride), yScalar = guarded(batch, yStride);
          const code = ACTIVATION_CODE[activation];
          engine.kernels.dense(xp, xStride, wp, bp, ySimd, yStride, batch, nin, noutPadded, code, alpha);
          engine.kernels.denseScalar(xp, xStride, wp, bp, yScalar, yStride, batch, nin, noutPadded, code, alpha);
          expectGuardsIntact(ySimd, batch, yStride, noutPadded);
          expectGuardsIntact(yScalar, batch, yStride, noutPadded);
          const simd = readRows(ySimd, batch, yStride, noutPadded);
          expect(bitsOf(simd)).toEqual(bitsOf(readRows(yScalar, batch, yStride, noutPadded)));
          for (let r = 0; r < batch; r++) for (let j = nout; j < noutPadded; j++) expect(simd[r * noutPadded + j]).toBe(0);

          const xRows = new Float32Array(batch * nin);
          for (let r = 0; r < batch; r++) xRows.set(x.subarray(r * xStride, r * xStride + nin), r * nin);
          const ref = tf.tidy(() => activateTf(tf.add(tf.matMul(tf.tensor2d(xRows, [batch, nin]), tf.tensor2d(W, [nout, nin]), false, true), tf.tensor1d(b)), activation, alpha).dataSync() as Float32Array);
          const ours = new Float32Array(batch * nout);
          const termSize = new Float64Array(batch * nout), terms = new Float64Array(batch * nout).fill(nin + 1);
          for (let r = 0; r < batch; r++)
            for (let j = 0; j < nout; j++) {
              ours[r * nout + j] = simd[r * noutPadded + j];
              let s = Math.abs(b[j]);
              for (let k = 0; k < nin; k++) s += Math.abs(xRows[r * nin + k] * W[j * nin + k]);
              termSize[r * nout + j] = s;
            }
          compareWithTolerance(ours, ref, termSize, terms, worst, `dense ${nin}→${nout} batch ${batch} ${activation}`);
          engine.release(mark);
          cases++;
        }
      }
    }
    console.log(`dense: ${cases} cases, ${worst.outputs} outputs, ${worst.needFloor} beyond 1e-6 relative (within the floor), worst |Δ|/tolerance ${worst.ofTolerance.toFixed(3)}`);
    expect(cases).toBe(shapes.length * BATCHES.length * activations.length);
  });

  it("computes a hand-checked case: 2 inputs → 3 outputs, LeakyReLU 0.1", () => {
    // W = [[1, −2], [0, 1], [2, 0]] (PyTorch [out][in]), b = [0.5, −4, 0], x = [1, −2]:
    //   j0 = 0.5 + 1 + 4 = 5.5,  j1 = −4 + 0 − 2 = −6 → −6·0.1,  j2 = 0 + 2 + 0 = 2,  padding j3 = 0
    const mark = engine.mark();
    const x = engine.allocF32([1, -2]);
    const wt = engine.allocF32([1, 0, 2, 0, /* k = 1 */ -2, 1, 0, 0]); // Wt[k][j], padded to 4 outputs
    const b = engine.allocF32([0.5, -4, 0, 0]);
    for (const kernel of [engine.kernels.dense, engine.kernels.denseScalar]) {
      const y = guarded(1, 4);
      kernel(x, 2, wt, b, y, 4, 1, 2, 4, ACTIVATION_CODE.leakyrelu, 0.1);
      expect(Array.from(readRows(y, 1, 4, 4))).toEqual([5.5, Math.fround(-6 * Math.fround(0.1)), 2, 0]);
    }
    engine.release(mark);
  });
});

describe("conv3x3", () => {
  const shapes: [number, number, number, number][] = [[1, 7, 7, 64], [1, 7, 7, 3], [2, 3, 5, 17], [3, 1, 1, 4], [1, 4, 2, 1], [2, 2, 6, 16]];

  it("SIMD equals the scalar twin bit for bit, matches TF.js conv2d (padding 'same'), writes only its outputs", () => {
    const rng = new Random(31);
    const worst: Worst = { outputs: 0, needFloor: 0, ofTolerance: 0 };
    let cases = 0;
    for (const [cin, height, width, cout] of shapes) {
      for (const batch of BATCHES) {
        for (const activation of ["none", "relu"] as Activation[]) {
          const mark = engine.mark();
          const coutPadded = padTo4(cout);
          const n = cin * height * width, m = cout * height * width;
          const xStride = n + rng.int(3), yStride = m + rng.int(5);
          const x = uniform(batch * xStride, -1, 1, rng);
          const W = uniform(cout * cin * 9, -1 / 3, 1 / 3, rng); // PyTorch [cout][cin][3][3]
          const b = uniform(cout, -0.3, 0.3, rng);
          const wt = new Float32Array(cin * 9 * coutPadded);
          for (let c = 0; c < cout; c++) for (let t = 0; t < cin * 9; t++) wt[t * coutPadded + c] = W[c * cin * 9 + t];
          const bias = new Float32Array(coutPadded);
          bias.set(b);
          const xp = engine.allocF32(x), wp = engine.allocF32(wt), bp = engine.allocF32(bias);
          const ySimd = guarded(batch, yStride), yScalar = guarded(batch, yStride);
          const code = ACTIVATION_CODE[activation];
          engine.kernels.conv3x3(xp, xStride, wp, bp, ySimd, yStride, batch, cin, height, width, cout, coutPadded, code, 0);
          engine.kernels.conv3x3Scalar(xp, xStride, wp, bp, yScalar, yStride, batch, cin, height, width, cout, coutPadded, code, 0);
          expectGuardsIntact(ySimd, batch, yStride, m);
          expectGuardsIntact(yScalar, batch, yStride, m);
          const ours = readRows(ySimd, batch, yStride, m);
          expect(bitsOf(ours)).toEqual(bitsOf(readRows(yScalar, batch, yStride, m)));

          const xRows = new Float32Array(batch * n);
          for (let r = 0; r < batch; r++) xRows.set(x.subarray(r * xStride, r * xStride + n), r * n);
          const ref = tf.tidy(() => {
            const nhwc = tf.transpose(tf.tensor4d(xRows, [batch, cin, height, width]), [0, 2, 3, 1]) as tf.Tensor4D;
            const filter = tf.transpose(tf.tensor4d(W, [cout, cin, 3, 3]), [2, 3, 1, 0]) as tf.Tensor4D;
            const y = activateTf(tf.add(tf.conv2d(nhwc, filter, 1, "same"), tf.tensor1d(b)), activation, 0);
            return tf.transpose(y, [0, 3, 1, 2]).dataSync() as Float32Array; // back to channel-major
          });
          // term sizes: |b| + Σ over the taps inside the image of |x·w|
          const termSize = new Float64Array(batch * m), terms = new Float64Array(batch * m);
          for (let r = 0; r < batch; r++)
            for (let c = 0; c < cout; c++)
              for (let h = 0; h < height; h++)
                for (let w = 0; w < width; w++) {
                  let s = Math.abs(b[c]), count = 1;
                  for (let ci = 0; ci < cin; ci++)
                    for (let kh = 0; kh < 3; kh++)
                      for (let kw = 0; kw < 3; kw++) {
                        const ih = h + kh - 1, iw = w + kw - 1;
                        if (ih < 0 || ih >= height || iw < 0 || iw >= width) continue;
                        s += Math.abs(xRows[r * n + ci * height * width + ih * width + iw] * W[((c * cin + ci) * 3 + kh) * 3 + kw]);
                        count++;
                      }
                  const o = r * m + c * height * width + h * width + w;
                  termSize[o] = s;
                  terms[o] = count;
                }
          compareWithTolerance(ours, ref, termSize, terms, worst, `conv ${cin}×${height}×${width}→${cout} batch ${batch} ${activation}`);
          engine.release(mark);
          cases++;
        }
      }
    }
    console.log(`conv3x3: ${cases} cases, ${worst.outputs} outputs, ${worst.needFloor} beyond 1e-6 relative (within the floor), worst |Δ|/tolerance ${worst.ofTolerance.toFixed(3)}`);
    expect(cases).toBe(shapes.length * BATCHES.length * 2);
  });
});

describe("affine (BatchNorm, unfused)", () => {
  it("SIMD equals the scalar twin and TF.js (x − c)·s + t bit for bit", () => {
    const rng = new Random(5);
    for (const n of [1, 3, 4, 5, 121]) {
      for (const batch of BATCHES) {
        const mark = engine.mark();
        const xStride = n + rng.int(3), yStride = n + rng.int(3);
        const x = uniform(batch * xStride, -20, 20, rng), c = uniform(n, -10, 10, rng), s = uniform(n, 0.05, 3, rng), t = uniform(n, -1, 1, rng);
        const xp = engine.allocF32(x), cp = engine.allocF32(c), sp = engine.allocF32(s), tp = engine.allocF32(t);
        const y1 = guarded(batch, yStride), y2 = guarded(batch, yStride);
        engine.kernels.affine(xp, xStride, cp, sp, tp, y1, yStride, n, batch);
        engine.kernels.affineScalar(xp, xStride, cp, sp, tp, y2, yStride, n, batch);
        expectGuardsIntact(y1, batch, yStride, n);
        const ours = readRows(y1, batch, yStride, n);
        expect(bitsOf(ours)).toEqual(bitsOf(readRows(y2, batch, yStride, n)));
        const xRows = new Float32Array(batch * n);
        for (let r = 0; r < batch; r++) xRows.set(x.subarray(r * xStride, r * xStride + n), r * n);
        const ref = tf.tidy(() => tf.add(tf.mul(tf.sub(tf.tensor2d(xRows, [batch, n]), tf.tensor1d(c)), tf.tensor1d(s)), tf.tensor1d(t)).dataSync() as Float32Array);
        expect(bitsOf(ours)).toEqual(bitsOf(ref));
        engine.release(mark);
      }
    }
  });
});

describe("embedding and concat", () => {
  it("embedding gathers row id + offset exactly as tf.gather, into a strided output", () => {
    const rng = new Random(8);
    for (const [num, dim, offset] of [[44, 22, -14], [144, 18, 0], [5, 1, 2], [3, 7, 0]] as const) {
      for (const batch of BATCHES) {
        const mark = engine.mark();
        const table = uniform(num * dim, -3, 3, rng);
        const ids = Array.from({ length: batch }, (_, r) => (r === 0 ? -offset : r === 1 ? num - 1 - offset : rng.int(num) - offset));
        const yStride = dim + rng.int(4);
        const tp = engine.allocF32(table), ip = engine.allocI32(ids), y = guarded(batch, yStride);
        engine.kernels.embedding(ip, tp, dim, offset, y, yStride, batch);
        expectGuardsIntact(y, batch, yStride, dim);
        const ref = tf.tidy(() => tf.gather(tf.tensor2d(table, [num, dim]), tf.tensor1d(ids.map((i) => i + offset), "int32")).dataSync() as Float32Array);
        expect(bitsOf(readRows(y, batch, yStride, dim))).toEqual(bitsOf(ref));
        engine.release(mark);
      }
    }
  });

  it("concatColumns places each input at its column offset, as tf.concat", () => {
    const rng = new Random(9);
    for (const batch of BATCHES) {
      const mark = engine.mark();
      const widths = [49, 1, 22, 18, 3];
      const total = widths.reduce((a, b) => a + b, 0);
      const parts = widths.map((w) => uniform(batch * (w + 2), -1, 1, rng)); // stride w + 2
      const y = guarded(batch, total + 1);
      let offset = 0;
      widths.forEach((w, i) => {
        engine.kernels.concatColumns(engine.allocF32(parts[i]), w + 2, y + 4 * offset, total + 1, w, batch);
        offset += w;
      });
      expectGuardsIntact(y, batch, total + 1, total);
      const ref = tf.tidy(() => tf.concat(widths.map((w, i) => tf.slice(tf.tensor2d(parts[i], [batch, w + 2]), [0, 0], [batch, w])), 1).dataSync() as Float32Array);
      expect(bitsOf(readRows(y, batch, total + 1, total))).toEqual(bitsOf(ref));
      engine.release(mark);
    }
  });
});

describe("softmax", () => {
  it("softmax2 is the class-1 softmax probability (TF.js within 1e-6 relative, 1e-12 absolute), finite for extreme logits", () => {
    const rng = new Random(10);
    const logits: number[] = [];
    for (let i = 0; i < 200; i++) logits.push(rng.range(-20, 20), rng.range(-20, 20));
    logits.push(0, 0, 100, -100, -100, 100, 88, 0, 0, 88, 1e30, -1e30, -3e38, 3e38);
    const batch = logits.length / 2;
    const mark = engine.mark();
    const lp = engine.allocF32(logits);
    const p = guarded(batch, 1);
    engine.kernels.softmax2(lp, 2, p, batch);
    expectGuardsIntact(p, batch, 1, 1);
    const ours = readRows(p, batch, 1, 1);
    const ref = tf.tidy(() => tf.softmax(tf.tensor2d(Float32Array.from(logits), [batch, 2])).dataSync() as Float32Array);
    let worst = 0;
    for (let r = 0; r < batch; r++) {
      const d = Math.abs(ours[r] - ref[2 * r + 1]);
      expect(d).toBeLessThanOrEqual(1e-6 * ref[2 * r + 1] + 1e-12);
      if (ref[2 * r + 1] > 1e-30) worst = Math.max(worst, d / ref[2 * r + 1]);
      expect(Number.isFinite(ours[r])).toBe(true);
    }
    // hand-checked values: equal logits → ½; l1 − l0 = 100 → 1; l0 − l1 = 100 → 0
    expect(ours[200]).toBe(0.5);
    expect(ours[201]).toBe(0);
    expect(ours[202]).toBe(1);
    console.log(`softmax2: worst relative difference to TF.js ${worst.toExponential(2)}`);
    engine.release(mark);
  });

  it("n-class softmax matches TF.js within 1e-6 relative and sums to 1", () => {
    const rng = new Random(12);
    for (const n of [2, 3, 5, 10]) {
      for (const batch of BATCHES) {
        const mark = engine.mark();
        const x = uniform(batch * n, -30, 30, rng);
        const xp = engine.allocF32(x), y = guarded(batch, n + 1);
        engine.kernels.softmax(xp, n, y, n + 1, n, batch);
        expectGuardsIntact(y, batch, n + 1, n);
        const ours = readRows(y, batch, n + 1, n);
        const ref = tf.tidy(() => tf.softmax(tf.tensor2d(x, [batch, n])).dataSync() as Float32Array);
        for (let i = 0; i < ours.length; i++) expect(Math.abs(ours[i] - ref[i])).toBeLessThanOrEqual(1e-6 * ref[i] + 1e-12);
        for (let r = 0; r < batch; r++) expect(Math.abs(ours.subarray(r * n, r * n + n).reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-6);
        engine.release(mark);
      }
    }
  });
});

describe("plan interpreter and arena", () => {
  it("forward() runs a plan (dense → dense → softmax2) with the same bits as the kernels called one by one", () => {
    const rng = new Random(13);
    const mark = engine.mark();
    const batch = 5, nin = 9, hidden = 6, hiddenPadded = 8;
    const x = engine.allocF32(uniform(batch * nin, -1, 1, rng));
    const w1 = engine.allocF32(uniform(nin * hiddenPadded, -0.5, 0.5, rng).map((v, i) => (i % hiddenPadded < hidden ? v : 0)));
    const b1 = engine.allocF32(uniform(hiddenPadded, -0.5, 0.5, rng).map((v, i) => (i < hidden ? v : 0)));
    const w2 = engine.allocF32(uniform(hidden * 4, -0.5, 0.5, rng).map((v, i) => (i % 4 < 2 ? v : 0)));
    const b2 = engine.allocF32([0.1, -0.2, 0, 0]);
    const h = engine.alloc(batch * hiddenPadded * 4), logits = engine.alloc(batch * 4 * 4), p = engine.alloc(batch * 4);
    for (const flags of [0, FLAG_SCALAR]) {
      const records = [
        [OPCODE.dense, flags, x, nin, w1, b1, h, hiddenPadded, nin, hiddenPadded, ACTIVATION_CODE.leakyrelu, new Int32Array(new Float32Array([0.01]).buffer)[0]],
        [OPCODE.dense, flags, h, hiddenPadded, w2, b2, logits, 4, hidden, 4, ACTIVATION_CODE.none, 0],
        [OPCODE.softmax2, flags, logits, 4, p],
      ];
      const plan = engine.alloc(records.length * PLAN_RECORD_WORDS * 4);
      records.forEach((rec, i) => engine.i32().set(rec, (plan >>> 2) + i * PLAN_RECORD_WORDS));
      expect(engine.kernels.forward(plan, records.length, batch)).toBe(records.length);
      const viaPlan = { logits: readRows(logits, batch, 4, 2), p: readRows(p, batch, 1, 1) };
      const dense = flags ? engine.kernels.denseScalar : engine.kernels.dense;
      dense(x, nin, w1, b1, h, hiddenPadded, batch, nin, hiddenPadded, ACTIVATION_CODE.leakyrelu, 0.01);
      dense(h, hiddenPadded, w2, b2, logits, 4, batch, hidden, 4, ACTIVATION_CODE.none, 0);
      engine.kernels.softmax2(logits, 4, p, batch);
      expect(bitsOf(viaPlan.logits)).toEqual(bitsOf(readRows(logits, batch, 4, 2)));
      expect(bitsOf(viaPlan.p)).toEqual(bitsOf(readRows(p, batch, 1, 1)));
    }
    // an unknown opcode stops the plan and reports which record
    const bad = engine.alloc(2 * PLAN_RECORD_WORDS * 4);
    engine.i32().set([OPCODE.softmax2, 0, logits, 4, p], bad >>> 2);
    engine.i32().set([99], (bad >>> 2) + PLAN_RECORD_WORDS);
    expect(engine.kernels.forward(bad, 2, batch)).toBe(-2);
    engine.release(mark);
  });

  it("the arena grows memory when asked and hands out fresh views afterwards", async () => {
    const own = await createEngine();
    const before = own.memoryBytes;
    const view = own.f32();
    const ptr = own.alloc(before + 1024); // more than the whole initial memory
    expect(own.memoryBytes).toBeGreaterThan(before);
    expect(view.length).toBe(0); // the old view was detached by memory.grow
    expect(own.f32().length).toBe(own.memoryBytes / 4);
    own.f32()[(ptr >>> 2) + (before + 1020) / 4] = 7; // the last float of the block is addressable
    expect(own.readF32(ptr + before + 1020, 1)[0]).toBe(7);
    expect(ptr % 16).toBe(0);
  });
});
