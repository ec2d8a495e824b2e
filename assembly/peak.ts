// Peak f32x4 multiply + add throughput of this engine on this CPU, for the benchmark's
// "dense kernels reach x % of peak" figure (muid bench; ISSUE 6 item 4).
//
// Each of CHAINS independent accumulators runs a ← a·m + c (an f32x4.mul then an f32x4.add, no
// fused multiply-add, as in the dense kernel). Independent chains hide the mul and add latencies,
// so the loop is bound by how many f32x4 mul and add instructions the core issues per cycle. With
// m = 1 − 2⁻²⁰ and c = 2⁻²⁰ every lane converges to 1 and never becomes denormal. The lanes are
// summed and returned so the engine cannot drop the loop.
//
// FLOPs per call: iterations × chains × 4 lanes × 2 (one mul, one add).
//
// Two widths: 8 chains leave registers to spare; 12 chains (+ m, c = 14 of V8's 16 xmm registers)
// cover a mul + add latency of up to 6 cycles at 2 mul + 2 add per cycle. The host takes the
// faster one as the peak.

// @ts-ignore: decorator
@inline
function step(a: v128, m: v128, c: v128): v128 {
  return f32x4.add(f32x4.mul(a, m), c);
}

// @ts-ignore: decorator
@inline
function sum4(a: v128): f32 {
  return f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3);
}

/** 8 independent mul + add chains for `iterations` steps; returns the sum of all lanes (≈ 32). */
export function peakMulAdd8(iterations: i32, seed: f32): f32 {
  const m = f32x4.splat(<f32>1 - <f32>9.5367431640625e-7);
  const c = f32x4.splat(<f32>9.5367431640625e-7);
  let a0 = f32x4.splat(seed), a1 = f32x4.splat(seed + 1), a2 = f32x4.splat(seed + 2), a3 = f32x4.splat(seed + 3);
  let a4 = f32x4.splat(seed + 4), a5 = f32x4.splat(seed + 5), a6 = f32x4.splat(seed + 6), a7 = f32x4.splat(seed + 7);
  for (let i = 0; i < iterations; i++) {
    a0 = step(a0, m, c); a1 = step(a1, m, c); a2 = step(a2, m, c); a3 = step(a3, m, c);
    a4 = step(a4, m, c); a5 = step(a5, m, c); a6 = step(a6, m, c); a7 = step(a7, m, c);
  }
  return sum4(a0) + sum4(a1) + sum4(a2) + sum4(a3) + sum4(a4) + sum4(a5) + sum4(a6) + sum4(a7);
}

/** 12 independent mul + add chains for `iterations` steps; returns the sum of all lanes. */
export function peakMulAdd12(iterations: i32, seed: f32): f32 {
  const m = f32x4.splat(<f32>1 - <f32>9.5367431640625e-7);
  const c = f32x4.splat(<f32>9.5367431640625e-7);
  let a0 = f32x4.splat(seed), a1 = f32x4.splat(seed + 1), a2 = f32x4.splat(seed + 2), a3 = f32x4.splat(seed + 3);
  let a4 = f32x4.splat(seed + 4), a5 = f32x4.splat(seed + 5), a6 = f32x4.splat(seed + 6), a7 = f32x4.splat(seed + 7);
  let a8 = f32x4.splat(seed + 8), a9 = f32x4.splat(seed + 9), a10 = f32x4.splat(seed + 10), a11 = f32x4.splat(seed + 11);
  for (let i = 0; i < iterations; i++) {
    a0 = step(a0, m, c); a1 = step(a1, m, c); a2 = step(a2, m, c); a3 = step(a3, m, c);
    a4 = step(a4, m, c); a5 = step(a5, m, c); a6 = step(a6, m, c); a7 = step(a7, m, c);
    a8 = step(a8, m, c); a9 = step(a9, m, c); a10 = step(a10, m, c); a11 = step(a11, m, c);
  }
  return sum4(a0) + sum4(a1) + sum4(a2) + sum4(a3) + sum4(a4) + sum4(a5)
    + sum4(a6) + sum4(a7) + sum4(a8) + sum4(a9) + sum4(a10) + sum4(a11);
}
