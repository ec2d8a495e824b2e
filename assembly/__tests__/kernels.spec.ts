// Hand-computed cases for every kernel (plain numeric expectations only: toStrictEqual on classes
// is unreliable in as-pect, toolchain.md). Buffers are Float32Array/Int32Array; kernels get their
// dataStart pointers, as the host passes arena pointers.
import { dense, denseScalar, DOT_CHUNK } from "../dense";
import { conv3x3, conv3x3Scalar } from "../conv3x3";
import { embedding } from "../embedding";
import { concatColumns } from "../concat";
import { affine, affineScalar } from "../affine";
import { softmax, softmax2 } from "../softmax";
import { forward, OP_DENSE, OP_SOFTMAX2, PLAN_RECORD_WORDS, FLAG_SCALAR } from "../forward";
import { ACT_LEAKYRELU, ACT_NONE, ACT_RELU } from "../activation";

function floats(values: f32[]): Float32Array {
  const a = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) a[i] = values[i];
  return a;
}

// Dense case: W = [[1, −2], [0, 1], [2, 0]] ([out][in]), b = [0.5, −4, 0]; Wt padded to 4 outputs.
// x row 0 = [1, −2]:  [5.5, −6, 2];   x row 1 = [3, 0.5]:  [0.5 + 3 − 1, −4 + 0.5, 6] = [2.5, −3.5, 6]
const wt = floats([1, 0, 2, 0, -2, 1, 0, 0]);
const b = floats([0.5, -4, 0, 0]);
const x = floats([1, -2, 3, 0.5]);

describe("dense", () => {

  it("computes X·Wᵀ + b with no activation, batch 2 (the 2-row block)", () => {
    const y = new Float32Array(8);
    dense(x.dataStart, 2, wt.dataStart, b.dataStart, y.dataStart, 4, 2, 2, 4, ACT_NONE, 0);
    expect<f32>(y[0]).toBe(5.5);
    expect<f32>(y[1]).toBe(-6);
    expect<f32>(y[2]).toBe(2);
    expect<f32>(y[3]).toBe(0);
    expect<f32>(y[4]).toBe(2.5);
    expect<f32>(y[5]).toBe(-3.5);
    expect<f32>(y[6]).toBe(6);
    expect<f32>(y[7]).toBe(0);
  });

  it("applies ReLU and LeakyReLU, batch 1 (the 1-row remainder), scalar twin equal", () => {
    const y = new Float32Array(4);
    dense(x.dataStart, 2, wt.dataStart, b.dataStart, y.dataStart, 4, 1, 2, 4, ACT_RELU, 0);
    expect<f32>(y[0]).toBe(5.5);
    expect<f32>(y[1]).toBe(0);
    expect<f32>(y[2]).toBe(2);
    dense(x.dataStart, 2, wt.dataStart, b.dataStart, y.dataStart, 4, 1, 2, 4, ACT_LEAKYRELU, 0.5);
    expect<f32>(y[1]).toBe(-3);
    const z = new Float32Array(4);
    denseScalar(x.dataStart, 2, wt.dataStart, b.dataStart, z.dataStart, 4, 1, 2, 4, ACT_LEAKYRELU, 0.5);
    for (let j = 0; j < 4; j++) expect<f32>(z[j]).toBe(y[j]);
  });

  it("sums 40 inputs in chunks of 16 (all-ones weights: y = b + Σx) over 20 outputs (16-block + 4)", () => {
    expect<i32>(DOT_CHUNK).toBe(16);
    const nin = 40, nout = 20;
    const xs = new Float32Array(nin);
    for (let k = 0; k < nin; k++) xs[k] = <f32>(k + 1); // Σ = 820
    const w = new Float32Array(nin * nout);
    w.fill(1);
    const bias = new Float32Array(nout);
    for (let j = 0; j < nout; j++) bias[j] = <f32>j;
    const y = new Float32Array(nout);
    const z = new Float32Array(nout);
    dense(xs.dataStart, nin, w.dataStart, bias.dataStart, y.dataStart, nout, 1, nin, nout, ACT_NONE, 0);
    denseScalar(xs.dataStart, nin, w.dataStart, bias.dataStart, z.dataStart, nout, 1, nin, nout, ACT_NONE, 0);
    for (let j = 0; j < nout; j++) {
      expect<f32>(y[j]).toBe(<f32>(j + 820));
      expect<f32>(z[j]).toBe(<f32>(j + 820));
    }
  });

  it("with no inputs gives act(bias)", () => {
    const y = new Float32Array(4);
    dense(x.dataStart, 2, wt.dataStart, b.dataStart, y.dataStart, 4, 1, 0, 4, ACT_RELU, 0);
    expect<f32>(y[0]).toBe(0.5);
    expect<f32>(y[1]).toBe(0);
  });
});

describe("conv3x3", () => {
  it("a 3×3 image with an all-ones kernel sums each zero-padded neighbourhood; channel-major output", () => {
    // image 1..9 row-major; channel 0: all-ones kernel, bias 0; channel 1: centre tap 2, bias −1.
    const img = floats([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const wt = new Float32Array(9 * 4); // [cin·9 + tap][coutPadded 4]
    for (let t = 0; t < 9; t++) wt[t * 4] = 1;
    wt[4 * 4 + 1] = 2; // tap (1, 1) of channel 1
    const b = floats([0, -1, 0, 0]);
    const y = new Float32Array(18);
    const z = new Float32Array(18);
    conv3x3(img.dataStart, 9, wt.dataStart, b.dataStart, y.dataStart, 18, 1, 1, 3, 3, 2, 4, ACT_NONE, 0);
    conv3x3Scalar(img.dataStart, 9, wt.dataStart, b.dataStart, z.dataStart, 18, 1, 1, 3, 3, 2, 4, ACT_NONE, 0);
    // neighbourhood sums: corners 1+2+4+5 = 12, 2+3+5+6 = 16, 4+5+7+8 = 24, 5+6+8+9 = 28;
    // edges 1+2+3+4+5+6 = 21, 1+2+4+5+7+8 = 27, 3+2+6+5+9+8 = 33, 4+5+6+7+8+9 = 39; centre 45
    const expected: f32[] = [12, 21, 16, 27, 45, 33, 24, 39, 28];
    for (let i = 0; i < 9; i++) {
      expect<f32>(y[i]).toBe(expected[i]);
      expect<f32>(y[9 + i]).toBe(<f32>(i * 2 + 1)); // 2·x − 1
    }
    for (let i = 0; i < 18; i++) expect<f32>(z[i]).toBe(y[i]);
  });

  it("ReLU clips negative outputs", () => {
    const img = floats([1, -1, 1, -1]); // 2×2
    const wt = new Float32Array(9 * 4);
    wt[4 * 4] = 1; // centre tap only: y = x
    const b = new Float32Array(4);
    const y = new Float32Array(4);
    conv3x3(img.dataStart, 4, wt.dataStart, b.dataStart, y.dataStart, 4, 1, 1, 2, 2, 1, 4, ACT_RELU, 0);
    expect<f32>(y[0]).toBe(1);
    expect<f32>(y[1]).toBe(0);
    expect<f32>(y[2]).toBe(1);
    expect<f32>(y[3]).toBe(0);
  });
});

describe("embedding, concat, affine", () => {
  it("embedding copies row id + offset", () => {
    const table = floats([0, 0.5, 1, 1.5, 2, 2.5]); // [3][2]
    const ids = new Int32Array(2);
    ids[0] = 16; ids[1] = 14;
    const y = new Float32Array(6);
    embedding(ids.dataStart, table.dataStart, 2, -14, y.dataStart, 3, 2);
    expect<f32>(y[0]).toBe(2);
    expect<f32>(y[1]).toBe(2.5);
    expect<f32>(y[2]).toBe(0); // stride 3: column 2 untouched
    expect<f32>(y[3]).toBe(0);
    expect<f32>(y[4]).toBe(0.5);
  });

  it("concatColumns copies width columns per row to the offset", () => {
    const x = floats([1, 2, 9, 3, 4, 9]); // [2][3], width 2
    const y = new Float32Array(8); // [2][4], offset 1
    concatColumns(x.dataStart, 3, y.dataStart + 4, 4, 2, 2);
    expect<f32>(y[0]).toBe(0);
    expect<f32>(y[1]).toBe(1);
    expect<f32>(y[2]).toBe(2);
    expect<f32>(y[3]).toBe(0);
    expect<f32>(y[5]).toBe(3);
    expect<f32>(y[6]).toBe(4);
  });

  it("affine computes (x − center)·scale + shift, SIMD part and tail, scalar twin equal", () => {
    const x = floats([1, 2, 3, 4, 5]);
    const c = floats([1, 1, 1, 1, 1]);
    const s = floats([2, 2, 2, 2, 0.5]);
    const t = floats([0, 1, 0, 1, 0]);
    const y = new Float32Array(5);
    const z = new Float32Array(5);
    affine(x.dataStart, 5, c.dataStart, s.dataStart, t.dataStart, y.dataStart, 5, 5, 1);
    affineScalar(x.dataStart, 5, c.dataStart, s.dataStart, t.dataStart, z.dataStart, 5, 5, 1);
    const expected: f32[] = [0, 3, 4, 7, 2];
    for (let i = 0; i < 5; i++) {
      expect<f32>(y[i]).toBe(expected[i]);
      expect<f32>(z[i]).toBe(expected[i]);
    }
  });
});

describe("softmax", () => {
  it("softmax2: equal logits give 1/2, l1 − l0 = ln 3 gives 3/4, huge differences give 0 and 1", () => {
    const l = floats([0, 0, 0, <f32>Math.log(3), 100, -100, -100, 100]);
    const p = new Float32Array(4);
    softmax2(l.dataStart, 2, p.dataStart, 4);
    expect<f32>(p[0]).toBe(0.5);
    expect<f32>(p[1]).toBeCloseTo(0.75, 6);
    expect<f32>(p[2]).toBe(0);
    expect<f32>(p[3]).toBe(1);
  });

  it("softmax over 3 classes: logits ln 1, ln 2, ln 5 give 1/8, 2/8, 5/8", () => {
    const x = floats([0, <f32>Math.log(2), <f32>Math.log(5)]);
    const y = new Float32Array(3);
    softmax(x.dataStart, 3, y.dataStart, 3, 3, 1);
    expect<f32>(y[0]).toBeCloseTo(0.125, 6);
    expect<f32>(y[1]).toBeCloseTo(0.25, 6);
    expect<f32>(y[2]).toBeCloseTo(0.625, 6);
  });
});

describe("forward (plan interpreter)", () => {
  it("runs dense → softmax2 from records, SIMD and scalar, and reports an unknown opcode", () => {
    // logits = x·Wᵀ + b with W = [[1, 0], [0, 1]], b = 0, x = [0, ln 3] → p1 = 3/4
    const xp = floats([0, <f32>Math.log(3)]);
    const identity = floats([1, 0, 0, 0, 0, 1, 0, 0]);
    const zero = new Float32Array(4);
    const logits = new Float32Array(4);
    const p = new Float32Array(1);
    for (let pass = 0; pass < 2; pass++) {
      const plan = new Int32Array(2 * PLAN_RECORD_WORDS);
      plan[0] = OP_DENSE; plan[1] = pass == 0 ? 0 : FLAG_SCALAR;
      plan[2] = <i32>xp.dataStart; plan[3] = 2; plan[4] = <i32>identity.dataStart; plan[5] = <i32>zero.dataStart;
      plan[6] = <i32>logits.dataStart; plan[7] = 4; plan[8] = 2; plan[9] = 4; plan[10] = ACT_NONE; plan[11] = 0;
      const r = PLAN_RECORD_WORDS;
      plan[r] = OP_SOFTMAX2; plan[r + 2] = <i32>logits.dataStart; plan[r + 3] = 4; plan[r + 4] = <i32>p.dataStart;
      p[0] = 0;
      expect<i32>(forward(plan.dataStart, 2, 1)).toBe(2);
      expect<f32>(logits[1]).toBe(<f32>Math.log(3));
      expect<f32>(p[0]).toBeCloseTo(0.75, 6);
    }
    const bad = new Int32Array(PLAN_RECORD_WORDS);
    bad[0] = 42;
    expect<i32>(forward(bad.dataStart, 1, 1)).toBe(-1);
  });
});
