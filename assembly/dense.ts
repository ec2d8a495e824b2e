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
// Summation order, identical in `dense` and `denseScalar` (so they agree bit for bit):
//   y[r][j] = act( (((b[j] + x[r][0]·Wt[0][j]) + x[r][1]·Wt[1][j]) + …) + x[r][nin−1]·Wt[nin−1][j] )
// with a separate multiply and add (no fused multiply-add, no relaxed SIMD).
//
// Register blocking (toolchain.md "Kernel facts"): 2 rows × 16 outputs = 8 f32x4 accumulators
// + 4 weight vectors fit the 16 xmm registers V8 allocates; the remainders are 2 rows × 4 outputs,
// 1 row × 16 and 1 row × 4.
import { activate1, activate4 } from "./activation";

export function dense(
  x: usize, xStride: i32, wt: usize, bias: usize, y: usize, yStride: i32,
  rows: i32, nin: i32, noutPadded: i32, activation: i32, alpha: f32,
): void {
  const xs = <usize>xStride << 2;
  const ys = <usize>yStride << 2;
  const ws = <usize>noutPadded << 2;
  const va = f32x4.splat(alpha);
  let r = 0;
  for (; r + 2 <= rows; r += 2) {
    const x0 = x + <usize>r * xs;
    const x1 = x0 + xs;
    const y0 = y + <usize>r * ys;
    const y1 = y0 + ys;
    let j = 0;
    for (; j + 16 <= noutPadded; j += 16) {
      const bj = bias + (<usize>j << 2);
      let a00 = v128.load(bj, 0), a01 = v128.load(bj, 16), a02 = v128.load(bj, 32), a03 = v128.load(bj, 48);
      let a10 = a00, a11 = a01, a12 = a02, a13 = a03;
      let w = wt + (<usize>j << 2);
      for (let k = 0; k < nin; k++) {
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
      const o0 = y0 + (<usize>j << 2), o1 = y1 + (<usize>j << 2);
      v128.store(o0, activate4(a00, activation, va), 0);
      v128.store(o0, activate4(a01, activation, va), 16);
      v128.store(o0, activate4(a02, activation, va), 32);
      v128.store(o0, activate4(a03, activation, va), 48);
      v128.store(o1, activate4(a10, activation, va), 0);
      v128.store(o1, activate4(a11, activation, va), 16);
      v128.store(o1, activate4(a12, activation, va), 32);
      v128.store(o1, activate4(a13, activation, va), 48);
    }
    for (; j < noutPadded; j += 4) {
      let a0 = v128.load(bias + (<usize>j << 2));
      let a1 = a0;
      let w = wt + (<usize>j << 2);
      for (let k = 0; k < nin; k++) {
        const w0 = v128.load(w);
        a0 = f32x4.add(a0, f32x4.mul(f32x4.splat(load<f32>(x0 + (<usize>k << 2))), w0));
        a1 = f32x4.add(a1, f32x4.mul(f32x4.splat(load<f32>(x1 + (<usize>k << 2))), w0));
        w += ws;
      }
      v128.store(y0 + (<usize>j << 2), activate4(a0, activation, va));
      v128.store(y1 + (<usize>j << 2), activate4(a1, activation, va));
    }
  }
  if (r < rows) {
    const x0 = x + <usize>r * xs;
    const y0 = y + <usize>r * ys;
    let j = 0;
    for (; j + 16 <= noutPadded; j += 16) {
      const bj = bias + (<usize>j << 2);
      let a0 = v128.load(bj, 0), a1 = v128.load(bj, 16), a2 = v128.load(bj, 32), a3 = v128.load(bj, 48);
      let w = wt + (<usize>j << 2);
      for (let k = 0; k < nin; k++) {
        const s = f32x4.splat(load<f32>(x0 + (<usize>k << 2)));
        a0 = f32x4.add(a0, f32x4.mul(s, v128.load(w, 0)));
        a1 = f32x4.add(a1, f32x4.mul(s, v128.load(w, 16)));
        a2 = f32x4.add(a2, f32x4.mul(s, v128.load(w, 32)));
        a3 = f32x4.add(a3, f32x4.mul(s, v128.load(w, 48)));
        w += ws;
      }
      const o0 = y0 + (<usize>j << 2);
      v128.store(o0, activate4(a0, activation, va), 0);
      v128.store(o0, activate4(a1, activation, va), 16);
      v128.store(o0, activate4(a2, activation, va), 32);
      v128.store(o0, activate4(a3, activation, va), 48);
    }
    for (; j < noutPadded; j += 4) {
      let a0 = v128.load(bias + (<usize>j << 2));
      let w = wt + (<usize>j << 2);
      for (let k = 0; k < nin; k++) {
        a0 = f32x4.add(a0, f32x4.mul(f32x4.splat(load<f32>(x0 + (<usize>k << 2))), v128.load(w)));
        w += ws;
      }
      v128.store(y0 + (<usize>j << 2), activate4(a0, activation, va));
    }
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
    // y[j] starts at b[j] and receives the terms k = 0, 1, … in order: the loop over k is outside
    // so Wt is read contiguously, but each y[j] still sums in the same order as the SIMD kernel.
    for (let j = 0; j < noutPadded; j++) store<f32>(yr + (<usize>j << 2), load<f32>(bias + (<usize>j << 2)));
    let w = wt;
    for (let k = 0; k < nin; k++) {
      const s = load<f32>(xr + (<usize>k << 2));
      for (let j = 0; j < noutPadded; j++) {
        const p = yr + (<usize>j << 2);
        store<f32>(p, load<f32>(p) + s * load<f32>(w + (<usize>j << 2)));
      }
      w += ws;
    }
    for (let j = 0; j < noutPadded; j++) {
      const p = yr + (<usize>j << 2);
      store<f32>(p, activate1(load<f32>(p), activation, alpha));
    }
  }
}
