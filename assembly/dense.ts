// Dense layer over a batch of rows: Y = act(X·Wᵀ + b).
//
// Memory layout (all f32, little-endian, byte pointers into linear memory laid out by the host):
//   x     [rows][xStride]         row r, input k at x + 4·(r·xStride + k), k < nin
//   wt    [nin][noutPadded]       the weight TRANSPOSED (Wt[k][j] = W[j][k]), so a row of Wt is
//                                 contiguous over outputs and the kernel vectorises over outputs
//   bias  [noutPadded]
//   y     [rows][yStride]         yStride ≥ noutPadded; all noutPadded columns are written
// noutPadded is a multiple of 4; padding columns of Wt and bias are zero, so padded outputs are
// act(0) = 0 (toolchain.md: scalar tails cost ~25 %, so widths are padded instead). y must not
// overlap x.
//
// Summation order, identical in `dense` and `denseScalar` (so they agree bit for bit): the inputs
// are taken in chunks of DOT_CHUNK consecutive k; each chunk is summed from zero in ascending k,
// and the chunk sums are added in order to the bias:
//   t = b[j];  for each chunk c: p = ((x_k0·Wt[k0][j] + x_k0+1·Wt[k0+1][j]) + …);  t = t + p
//   y[r][j] = act(t)
// with a separate multiply and add (no fused multiply-add, no relaxed SIMD). Two-level summation
// keeps partial sums small: on the public KLM DNN (121 → 242 → …) it cut the largest error of the
// muon probability against a float64 forward pass from 1.4e-6 to 0.7e-6 over 4000 realistic rows
// (and the rows above 5e-7 from 63 to 6); chunks of 32 or 64 were less accurate (and not faster).
//
// Register blocking (toolchain.md "Kernel facts"): 2 rows × 16 outputs = 8 f32x4 accumulators
// + 4 weight vectors fit the 16 xmm registers V8 allocates, so that block keeps its running totals
// in y between chunks; the remainders (2 rows × 4 outputs, 1 row × 16, 1 row × 4) keep them in
// registers.
import { activate1, activate4 } from "./activation";

/** Inputs summed per partial sum (see the summation order above). */
export const DOT_CHUNK: i32 = 16;

// Adds one chunk's partial sums into the running totals at p (the first chunk starts from the
// bias at bp instead) and applies the activation after the last chunk.
// @ts-ignore: decorator
@inline
function accumulate(p: usize, bp: usize, partial: v128, first: bool, last: bool, activation: i32, va: v128): void {
  let t = f32x4.add(first ? v128.load(bp) : v128.load(p), partial);
  if (last) t = activate4(t, activation, va);
  v128.store(p, t);
}

export function dense(
  x: usize, xStride: i32, wt: usize, bias: usize, y: usize, yStride: i32,
  rows: i32, nin: i32, noutPadded: i32, activation: i32, alpha: f32,
): void {
  const xs = <usize>xStride << 2;
  const ys = <usize>yStride << 2;
  const ws = <usize>noutPadded << 2;
  const va = f32x4.splat(alpha);
  const zero = f32x4.splat(0);
  if (nin <= 0) {
    denseBiasOnly(bias, y, yStride, rows, noutPadded, activation, va);
    return;
  }
  let r = 0;
  for (; r + 2 <= rows; r += 2) {
    const x0 = x + <usize>r * xs;
    const x1 = x0 + xs;
    const y0 = y + <usize>r * ys;
    const y1 = y0 + ys;
    let j = 0;
    for (; j + 16 <= noutPadded; j += 16) {
      const bj = bias + (<usize>j << 2);
      const o0 = y0 + (<usize>j << 2), o1 = y1 + (<usize>j << 2);
      for (let k0 = 0; k0 < nin; k0 += DOT_CHUNK) {
        const kEnd = min(k0 + DOT_CHUNK, nin);
        let a00 = zero, a01 = zero, a02 = zero, a03 = zero;
        let a10 = zero, a11 = zero, a12 = zero, a13 = zero;
        let w = wt + <usize>k0 * ws + (<usize>j << 2);
        for (let k = k0; k < kEnd; k++) {
          const w0 = v128.load(w, 0), w1 = v128.load(w, 16), w2 = v128.load(w, 32), w3 = v128.load(w, 48);
          const s0 = f32x4.splat(load<f32>(x0 + (<usize>k << 2)));
          const s1 = f32x4.splat(load<f32>(x1 + (<usize>k << 2)));
          a00 = f32x4.add(a00, f32x4.mul(s0, w0));
          a01 = f32x4.add(a01, f32x4.mul(s0, w1));
          a02 = f32x4.add(a02, f32x4.mul(s0, w2));
          a03 = f32x4.add(a03, f32x4.mul(s0, w3));
          a10 = f32x4.add(a10, f32x4.mul(s1, w0));
          a11 = f32x4.add(a11, f32x4.mul(s1, w1));
          a12 = f32x4.add(a12, f32x4.mul(s1, w2));
          a13 = f32x4.add(a13, f32x4.mul(s1, w3));
          w += ws;
        }
        const first = k0 == 0, last = kEnd == nin;
        accumulate(o0, bj, a00, first, last, activation, va);
        accumulate(o0 + 16, bj + 16, a01, first, last, activation, va);
        accumulate(o0 + 32, bj + 32, a02, first, last, activation, va);
        accumulate(o0 + 48, bj + 48, a03, first, last, activation, va);
        accumulate(o1, bj, a10, first, last, activation, va);
        accumulate(o1 + 16, bj + 16, a11, first, last, activation, va);
        accumulate(o1 + 32, bj + 32, a12, first, last, activation, va);
        accumulate(o1 + 48, bj + 48, a13, first, last, activation, va);
      }
    }
    for (; j < noutPadded; j += 4) {
      let t0 = v128.load(bias + (<usize>j << 2));
      let t1 = t0;
      for (let k0 = 0; k0 < nin; k0 += DOT_CHUNK) {
        const kEnd = min(k0 + DOT_CHUNK, nin);
        let a0 = zero, a1 = zero;
        let w = wt + <usize>k0 * ws + (<usize>j << 2);
        for (let k = k0; k < kEnd; k++) {
          const w0 = v128.load(w);
          a0 = f32x4.add(a0, f32x4.mul(f32x4.splat(load<f32>(x0 + (<usize>k << 2))), w0));
          a1 = f32x4.add(a1, f32x4.mul(f32x4.splat(load<f32>(x1 + (<usize>k << 2))), w0));
          w += ws;
        }
        t0 = f32x4.add(t0, a0);
        t1 = f32x4.add(t1, a1);
      }
      v128.store(y0 + (<usize>j << 2), activate4(t0, activation, va));
      v128.store(y1 + (<usize>j << 2), activate4(t1, activation, va));
    }
  }
  if (r < rows) {
    // One row left: 4 partial sums + 4 running totals + 4 weight vectors fit in registers.
    const x0 = x + <usize>r * xs;
    const y0 = y + <usize>r * ys;
    let j = 0;
    for (; j + 16 <= noutPadded; j += 16) {
      const bj = bias + (<usize>j << 2);
      let t0 = v128.load(bj, 0), t1 = v128.load(bj, 16), t2 = v128.load(bj, 32), t3 = v128.load(bj, 48);
      for (let k0 = 0; k0 < nin; k0 += DOT_CHUNK) {
        const kEnd = min(k0 + DOT_CHUNK, nin);
        let a0 = zero, a1 = zero, a2 = zero, a3 = zero;
        let w = wt + <usize>k0 * ws + (<usize>j << 2);
        for (let k = k0; k < kEnd; k++) {
          const s = f32x4.splat(load<f32>(x0 + (<usize>k << 2)));
          a0 = f32x4.add(a0, f32x4.mul(s, v128.load(w, 0)));
          a1 = f32x4.add(a1, f32x4.mul(s, v128.load(w, 16)));
          a2 = f32x4.add(a2, f32x4.mul(s, v128.load(w, 32)));
          a3 = f32x4.add(a3, f32x4.mul(s, v128.load(w, 48)));
          w += ws;
        }
        t0 = f32x4.add(t0, a0);
        t1 = f32x4.add(t1, a1);
        t2 = f32x4.add(t2, a2);
        t3 = f32x4.add(t3, a3);
      }
      const o0 = y0 + (<usize>j << 2);
      v128.store(o0, activate4(t0, activation, va), 0);
      v128.store(o0, activate4(t1, activation, va), 16);
      v128.store(o0, activate4(t2, activation, va), 32);
      v128.store(o0, activate4(t3, activation, va), 48);
    }
    for (; j < noutPadded; j += 4) {
      let t0 = v128.load(bias + (<usize>j << 2));
      for (let k0 = 0; k0 < nin; k0 += DOT_CHUNK) {
        const kEnd = min(k0 + DOT_CHUNK, nin);
        let a0 = zero;
        let w = wt + <usize>k0 * ws + (<usize>j << 2);
        for (let k = k0; k < kEnd; k++) {
          a0 = f32x4.add(a0, f32x4.mul(f32x4.splat(load<f32>(x0 + (<usize>k << 2))), v128.load(w)));
          w += ws;
        }
        t0 = f32x4.add(t0, a0);
      }
      v128.store(y0 + (<usize>j << 2), activate4(t0, activation, va));
    }
  }
}

/** nin = 0: every output is act(bias). */
function denseBiasOnly(bias: usize, y: usize, yStride: i32, rows: i32, noutPadded: i32, activation: i32, va: v128): void {
  for (let r = 0; r < rows; r++) {
    const yr = y + ((<usize>r * <usize>yStride) << 2);
    for (let j = 0; j < noutPadded; j += 4) v128.store(yr + (<usize>j << 2), activate4(v128.load(bias + (<usize>j << 2)), activation, va));
  }
}

/** Scalar twin of `dense`: same layout, same per-output summation order, no SIMD. */
export function denseScalar(
  x: usize, xStride: i32, wt: usize, bias: usize, y: usize, yStride: i32,
  rows: i32, nin: i32, noutPadded: i32, activation: i32, alpha: f32,
): void {
  const ws = <usize>noutPadded << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + ((<usize>r * <usize>xStride) << 2);
    const yr = y + ((<usize>r * <usize>yStride) << 2);
    if (nin <= 0) {
      for (let j = 0; j < noutPadded; j++) store<f32>(yr + (<usize>j << 2), activate1(load<f32>(bias + (<usize>j << 2)), activation, alpha));
      continue;
    }
    // Chunk-major like the SIMD kernel, so the DOT_CHUNK rows of Wt a chunk reads stay in L1; four
    // outputs at a time in four scalar accumulators (independent add chains, each output still
    // summed in ascending k); the running totals live in y.
    for (let k0 = 0; k0 < nin; k0 += DOT_CHUNK) {
      const kEnd = min(k0 + DOT_CHUNK, nin);
      const first = k0 == 0, last = kEnd == nin;
      for (let j = 0; j < noutPadded; j += 4) {
        const wj = wt + (<usize>j << 2);
        let p0: f32 = 0, p1: f32 = 0, p2: f32 = 0, p3: f32 = 0;
        for (let k = k0; k < kEnd; k++) {
          const s = load<f32>(xr + (<usize>k << 2));
          const w = wj + <usize>k * ws;
          p0 += s * load<f32>(w, 0);
          p1 += s * load<f32>(w, 4);
          p2 += s * load<f32>(w, 8);
          p3 += s * load<f32>(w, 12);
        }
        const o = yr + (<usize>j << 2);
        const b = bias + (<usize>j << 2);
        let t0 = (first ? load<f32>(b, 0) : load<f32>(o, 0)) + p0;
        let t1 = (first ? load<f32>(b, 4) : load<f32>(o, 4)) + p1;
        let t2 = (first ? load<f32>(b, 8) : load<f32>(o, 8)) + p2;
        let t3 = (first ? load<f32>(b, 12) : load<f32>(o, 12)) + p3;
        if (last) {
          t0 = activate1(t0, activation, alpha);
          t1 = activate1(t1, activation, alpha);
          t2 = activate1(t2, activation, alpha);
          t3 = activate1(t3, activation, alpha);
        }
        store<f32>(o, t0, 0);
        store<f32>(o, t1, 4);
        store<f32>(o, t2, 8);
        store<f32>(o, t3, 12);
      }
    }
  }
}
