// Per-feature affine map y = (x − center)·scale + shift: a BatchNorm1d in eval mode with
// center = μ (running mean), scale = γ/√(σ² + ε) and shift = β, precomputed by the host
// (src/models/runtime.ts). Used where a BatchNorm is not folded into the dense layer after it.
// Subtracting the mean first, as PyTorch does, avoids the cancellation of the shorter form
// x·scale + (β − μ·scale) when |μ| is large next to σ (klm.md §1.7: extL has μ/σ ≈ 3.8).
//
// Memory layout (f32, byte pointers laid out by the host):
//   x      [batch][xStride]   n features per row
//   center [n], scale [n], shift [n]
//   y      [batch][yStride]   n features written per row (exactly n: no padding columns)
// Per element one subtract, one multiply, one add, in that order, in both `affine` (4 features per
// step, scalar tail) and `affineScalar`, so they agree bit for bit.

export function affine(x: usize, xStride: i32, center: usize, scale: usize, shift: usize, y: usize, yStride: i32, n: i32, batch: i32): void {
  for (let r = 0; r < batch; r++) {
    const xr = x + ((<usize>r * <usize>xStride) << 2);
    const yr = y + ((<usize>r * <usize>yStride) << 2);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const d = f32x4.sub(v128.load(xr + o), v128.load(center + o));
      v128.store(yr + o, f32x4.add(f32x4.mul(d, v128.load(scale + o)), v128.load(shift + o)));
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      store<f32>(yr + o, (load<f32>(xr + o) - load<f32>(center + o)) * load<f32>(scale + o) + load<f32>(shift + o));
    }
  }
}

/** Scalar twin of `affine`. */
export function affineScalar(x: usize, xStride: i32, center: usize, scale: usize, shift: usize, y: usize, yStride: i32, n: i32, batch: i32): void {
  for (let r = 0; r < batch; r++) {
    const xr = x + ((<usize>r * <usize>xStride) << 2);
    const yr = y + ((<usize>r * <usize>yStride) << 2);
    for (let i = 0; i < n; i++) {
      const o = <usize>i << 2;
      store<f32>(yr + o, (load<f32>(xr + o) - load<f32>(center + o)) * load<f32>(scale + o) + load<f32>(shift + o));
    }
  }
}
