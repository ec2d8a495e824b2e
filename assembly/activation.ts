// Element-wise activations shared by the dense and convolution kernels.
//
// Codes (also written by the host into plan records, src/models/engine.ts mirrors them):
//   ACT_NONE = 0       y = x
//   ACT_RELU = 1       y = max(x, 0)
//   ACT_LEAKYRELU = 2  y = x > 0 ? x : alpha·x   (PyTorch LeakyReLU: max(0,x) + alpha·min(0,x),
//                                                  identical bits for every finite x)
// The vector and scalar forms produce the same bits lane by lane: f32x4.max and f32.max have the
// same NaN and signed-zero rules, and the leaky branch is one f32 multiply in both.

export const ACT_NONE: i32 = 0;
export const ACT_RELU: i32 = 1;
export const ACT_LEAKYRELU: i32 = 2;

// @ts-ignore: decorator
@inline
export function activate4(v: v128, activation: i32, alpha: v128): v128 {
  if (activation == ACT_RELU) return f32x4.max(v, f32x4.splat(0));
  if (activation == ACT_LEAKYRELU) return v128.bitselect(v, f32x4.mul(v, alpha), f32x4.gt(v, f32x4.splat(0)));
  return v;
}

// @ts-ignore: decorator
@inline
export function activate1(v: f32, activation: i32, alpha: f32): f32 {
  if (activation == ACT_RELU) return max<f32>(v, 0);
  if (activation == ACT_LEAKYRELU) return v > 0 ? v : v * alpha;
  return v;
}
