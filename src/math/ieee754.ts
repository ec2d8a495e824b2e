/**
 * Node 20's Math functions, bit for bit, in plain JavaScript: the library's transcendental math.
 *
 * ECMAScript leaves Math.sin, exp, log, pow, … "implementation-approximated". Node 20's V8 (11.3)
 * computes them with its port of fdlibm (deps/v8/src/base/ieee754.cc; pow: fdlibm e_pow.c); current
 * Chromium's V8 delegates several of them to LLVM libc, and the last bits differ (measured: 3–12 % of
 * random arguments of sin, cos, exp, log, pow, atan2). The simulation and the extrapolation call them
 * millions of times per event, so an engine's own Math would make the numbers drift after a few steps.
 * src/sim, src/geometry, src/reco, src/eval/phoenix.ts and src/web/eventChain.ts therefore call these
 * ports instead of Math (tests/mathDeterminism.test.ts scans for direct calls), and as every operation
 * below is an IEEE-754 double operation (+ − × ÷, √, integer bit manipulation) the library gives Node 20's
 * numbers in every engine. `installNodeMath` (overwriting a global Math) is kept for pages that want
 * their own code to see Node's Math too; the library no longer needs it.
 *
 * Ported from V8's src/base/ieee754.cc (nodejs/node deps/v8, read at 08b6ea81; legacy::pow from v8/v8
 * at 1e79e037, fdlibm's e_pow.c with V8's own division in the last step). Arguments of sin, cos and tan beyond
 * 2^19·π/2 (the large-argument reduction, __kernel_rem_pio2) are passed to the engine's own function:
 * the chain never calls them there.
 *
 * ====================================================
 * Copyright (C) 1993, 2004 by Sun Microsystems, Inc. All rights reserved.
 *
 * Developed at SunSoft, a Sun Microsystems, Inc. business.
 * Permission to use, copy, modify, and distribute this
 * software is freely granted, provided that this notice
 * is preserved.
 * ====================================================
 * The original source code covered by the above license above has been modified significantly by
 * Google Inc. (Copyright 2016 the V8 project authors, BSD-3-Clause) and ported to TypeScript here.
 */

const word = new Float64Array(1);
const words = new Uint32Array(word.buffer);
const signedWords = new Int32Array(word.buffer);
if (new Uint8Array(Uint16Array.of(1).buffer)[0] !== 1) throw new Error("ieee754: a big-endian engine is not supported");

/** High 32 bits of x as a signed integer (GET_HIGH_WORD). */
function highWord(x: number): number {
  word[0] = x;
  return signedWords[1]!;
}
/** Low 32 bits of x, unsigned (GET_LOW_WORD). */
function lowWord(x: number): number {
  word[0] = x;
  return words[0]!;
}
/** INSERT_WORDS. */
function fromWords(high: number, low: number): number {
  words[1] = high >>> 0;
  words[0] = low >>> 0;
  return word[0]!;
}
/** SET_LOW_WORD. */
function withLowWord(x: number, low: number): number {
  word[0] = x;
  words[0] = low >>> 0;
  return word[0]!;
}
/** SET_HIGH_WORD. */
function withHighWord(x: number, high: number): number {
  word[0] = x;
  words[1] = high >>> 0;
  return word[0]!;
}

/**
 * 2^n for n = −1074 … 1023 (index n + 1074), exact: doubling and halving powers of two never rounds.
 * Building a double from 32-bit words (INSERT_WORDS, SET_HIGH_WORD) goes through memory as two narrow
 * stores and one wide load, which x86 cores cannot forward (≈ 10 ns per call measured); where a word
 * edit only changes the exponent or clears the low significand bits, the same double comes from an
 * exact multiplication by a power of two (and Math.trunc, exact) instead.
 */
const POW2 = new Float64Array(2098);
POW2[1074] = 1;
for (let n = 1; n <= 1023; n++) POW2[1074 + n] = POW2[1073 + n]! * 2;
for (let n = 1; n <= 1074; n++) POW2[1074 - n] = POW2[1075 - n]! / 2;

/** 2^n, n = −1074 … 1023 (= fromWords(0x3ff00000 + (n << 20), 0) for n ≥ −1022). */
function pow2(n: number): number {
  return POW2[n + 1074]!;
}

/** withLowWord(v, 0): the low 32 significand bits cleared, by exact arithmetic for normal v. */
function clearLowWord(v: number): number {
  const b = (highWord(v) >> 20) & 0x7ff;
  if (b === 0 || b === 0x7ff) return withLowWord(v, 0);
  const e = b - 1023;
  // |v|·2^(20−e) ∈ [2^20, 2^21): its integer part keeps exactly the 21 leading significand bits
  return Math.trunc(v * pow2(20 - e)) * pow2(e - 20);
}

const engine = {
  sin: Math.sin, cos: Math.cos, tan: Math.tan,
};

// ───────────── argument reduction and kernels (|x| ≤ π/4) ─────────────

const npio2_hw = [
  0x3ff921fb, 0x400921fb, 0x4012d97c, 0x401921fb, 0x401f6a7a, 0x4022d97c, 0x4025fdbb, 0x402921fb, 0x402c463a, 0x402f6a7a, 0x4031475c,
  0x4032d97c, 0x40346b9c, 0x4035fdbb, 0x40378fdb, 0x403921fb, 0x403ab41b, 0x403c463a, 0x403dd85a, 0x403f6a7a, 0x40407e4c, 0x4041475c,
  0x4042106c, 0x4042d97c, 0x4043a28c, 0x40446b9c, 0x404534ac, 0x4045fdbb, 0x4046c6cb, 0x40478fdb, 0x404858eb, 0x404921fb,
];
const invpio2 = 6.36619772367581382433e-1;
const pio2_1 = 1.57079632673412561417e0;
const pio2_1t = 6.07710050650619224932e-11;
const pio2_2 = 6.07710050630396597660e-11;
const pio2_2t = 2.02226624879595063154e-21;
const pio2_3 = 2.02226624871116645580e-21;
const pio2_3t = 8.47842766036889956997e-32;

const reduced = new Float64Array(2);

/** __ieee754_rem_pio2 for |x| ≤ 2^19·π/2: x − n·π/2 in reduced[0] + reduced[1]; returns n, or NaN beyond. */
function remPio2(x: number): number {
  const hx = highWord(x);
  const ix = hx & 0x7fffffff;
  // callers (sin, cos, tan) handle |x| ≤ π/4 themselves
  if (ix < 0x4002d97c) {
    if (ix === 0x3ff921fb) return remPio2NearPio2(x, hx);
    if (hx > 0) {
      const z = x - pio2_1;
      const y0 = z - pio2_1t;
      reduced[0] = y0;
      reduced[1] = (z - y0) - pio2_1t;
      return 1;
    }
    const z = x + pio2_1;
    const y0 = z + pio2_1t;
    reduced[0] = y0;
    reduced[1] = (z - y0) + pio2_1t;
    return -1;
  }
  return remPio2Medium(x, hx, ix);
}

/** |x| within 2^−20 of π/2: 33 more bits of π/2 (out of line). */
function remPio2NearPio2(x: number, hx: number): number {
  const y = reduced;
  if (hx > 0) {
    let z = x - pio2_1;
    z -= pio2_2;
    y[0] = z - pio2_2t;
    y[1] = (z - y[0]) - pio2_2t;
    return 1;
  }
  let z = x + pio2_1;
  z += pio2_2;
  y[0] = z + pio2_2t;
  y[1] = (z - y[0]) + pio2_2t;
  return -1;
}

/** remPio2 for 3π/4 ≤ |x| (out of line: the common small arguments stay small enough to inline). */
function remPio2Medium(x: number, hx: number, ix: number): number {
  if (ix > 0x413921fb) return NaN;
  const t = Math.abs(x);
  const n = (t * invpio2 + 0.5) | 0;
  const fn = n;
  const r = t - fn * pio2_1;
  const w = fn * pio2_1t;
  if (n < 32 && ix !== npio2_hw[n - 1]) {
    const y0 = r - w;
    reduced[0] = y0;
    reduced[1] = (r - y0) - w;
  } else {
    remPio2Cancelling(ix, fn, r, w);
  }
  if (hx < 0) {
    reduced[0] = -reduced[0]!;
    reduced[1] = -reduced[1]!;
    return -n;
  }
  return n;
}

/** x − n·π/2 when it cancels many leading bits: fdlibm's second and third reduction with more bits of π/2 (out of line). */
function remPio2Cancelling(ix: number, fn: number, r: number, w: number): void {
  const y = reduced;
  const j = ix >> 20;
  y[0] = r - w;
  let i = j - ((highWord(y[0]!) >> 20) & 0x7ff);
  if (i > 16) {
    let t = r;
    w = fn * pio2_2;
    r = t - w;
    w = fn * pio2_2t - ((t - r) - w);
    y[0] = r - w;
    i = j - ((highWord(y[0]!) >> 20) & 0x7ff);
    if (i > 49) {
      t = r;
      w = fn * pio2_3;
      r = t - w;
      w = fn * pio2_3t - ((t - r) - w);
      y[0] = r - w;
    }
  }
  y[1] = (r - y[0]!) - w;
}

function kernelCos(x: number, y: number): number {
  const C1 = 4.16666666666666019037e-2, C2 = -1.38888888888741095749e-3, C3 = 2.48015872894767294178e-5;
  const C4 = -2.75573143513906633035e-7, C5 = 2.08757232129817482790e-9, C6 = -1.13596475577881948265e-11;
  const ix = highWord(x) & 0x7fffffff;
  if (ix < 0x3e400000) {
    if ((x | 0) === 0) return 1;
  }
  const z = x * x;
  const r = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))));
  if (ix < 0x3fd33333) return 1 - (0.5 * z - (z * r - x * y));
  // qx = |x| with its low word cleared, / 4 (fdlibm: INSERT_WORDS(qx, ix − 0x00200000, 0))
  const qx = ix > 0x3fe90000 ? 0.28125 : clearLowWord(Math.abs(x)) * 0.25;
  const iz = 0.5 * z - qx;
  const a = 1 - qx;
  return a - (iz - (z * r - x * y));
}

function kernelSin(x: number, y: number, iy: number): number {
  const S1 = -1.66666666666666324348e-1, S2 = 8.33333333332248946124e-3, S3 = -1.98412698298579493134e-4;
  const S4 = 2.75573137070700676789e-6, S5 = -2.50507602534068634195e-8, S6 = 1.58969099521155010221e-10;
  const ix = highWord(x) & 0x7fffffff;
  if (ix < 0x3e400000) {
    if ((x | 0) === 0) return x;
  }
  const z = x * x;
  const v = z * x;
  const r = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)));
  if (iy === 0) return x + v * (S1 + z * r);
  return x - ((z * (0.5 * y - v * r) - y) - v * S1);
}

const pio4 = 7.85398163397448278999e-1;
const pio4lo = 3.06161699786838301793e-17;

/** kernelTan for |x| < 2^−28 (out of line). */
function kernelTanTiny(x: number, y: number, iy: number, ix: number): number {
  const low = lowWord(x);
  if (((ix | low) | (iy + 1)) === 0) return 1 / Math.abs(x);
  if (iy === 1) return x;
  const w = x + y;
  const z = withLowWord(w, 0);
  const v = y - (z - x);
  const a = -1 / w;
  const t = withLowWord(a, 0);
  const s = 1 + t * z;
  return t + a * (s + t * v);
}

function kernelTan(x: number, y: number, iy: number): number {
  const hx = highWord(x);
  const ix = hx & 0x7fffffff;
  let z: number, r: number, v: number, w: number, s: number;
  // (x | 0) === 0 always holds there (|x| < 2^−28)
  if (ix < 0x3e300000 && (x | 0) === 0) return kernelTanTiny(x, y, iy, ix);
  if (ix >= 0x3fe59428) {
    if (hx < 0) {
      x = -x;
      y = -y;
    }
    z = pio4 - x;
    w = pio4lo - y;
    x = z + w;
    y = 0.0;
  }
  z = x * x;
  w = z * z;
  // T[0…12] as literals (keyed loads cost bytecode; kernelTan must stay under V8's inlining limit)
  r = 1.33333333333201242699e-1 + w * (2.18694882948595424599e-2 + w * (3.59207910759131235356e-3 + w * (5.88041240820264096874e-4 + w * (7.81794442939557092300e-5 + w * -1.85586374855275456654e-5))));
  v = z * (5.39682539762260521377e-2 + w * (8.86323982359930005737e-3 + w * (1.45620945432529025516e-3 + w * (2.46463134818469906812e-4 + w * (7.14072491382608190305e-5 + w * 2.59073051863633712884e-5)))));
  s = z * x;
  r = y + z * (s * (r + v) + y);
  r += 3.33333333333334091986e-1 * s;
  w = x + r;
  if (ix >= 0x3fe59428) {
    v = iy;
    return (1 - ((hx >> 30) & 2)) * (v - 2.0 * (x - (w * w / (w + v) - r)));
  }
  if (iy === 1) return w;
  z = withLowWord(w, 0);
  v = r - (z - x);
  const a = -1.0 / w;
  let t = withLowWord(a, 0);
  s = 1.0 + t * z;
  return t + a * (s + t * v);
}

// ───────────── the functions ─────────────

export function sin(x: number): number {
  const ix = highWord(x) & 0x7fffffff;
  if (ix >= 0x7ff00000) return x - x;
  // |x| ≤ π/4: kernelSin(x, 0, 0); else the reduced argument a + b and its quadrant n
  let a = x, b = 0, n = 0, iy = 0;
  if (ix > 0x3fe921fb) {
    n = remPio2(x);
    if (n !== n) return engine.sin(x);
    a = reduced[0]!;
    b = reduced[1]!;
    iy = 1;
  }
  // n mod 4 = 0: sin, 1: cos, 2: −sin, 3: −cos of the reduced argument (one call site per kernel keeps sin small)
  const r = (n & 1) === 0 ? kernelSin(a, b, iy) : kernelCos(a, b);
  // × ±1 is exact (−0 included): no branch to mispredict on random quadrants
  return r * (1 - (n & 2));
}

export function cos(x: number): number {
  const ix = highWord(x) & 0x7fffffff;
  if (ix >= 0x7ff00000) return x - x;
  // |x| ≤ π/4: kernelCos(x, 0); else the reduced argument a + b and its quadrant n
  let a = x, b = 0, n = 0;
  if (ix > 0x3fe921fb) {
    n = remPio2(x);
    if (n !== n) return engine.cos(x);
    a = reduced[0]!;
    b = reduced[1]!;
  }
  // n mod 4 = 0: cos, 1: −sin, 2: −cos, 3: sin of the reduced argument
  const r = (n & 1) === 0 ? kernelCos(a, b) : kernelSin(a, b, 1);
  return r * (1 - ((n + 1) & 2));
}

/**
 * sin(x) into out[0] and cos(x) into out[1], bit for bit those of sin and cos, with one argument
 * reduction and no number returned (a call that is not inlined boxes its returned double: an allocation).
 */
export function sinCos(x: number, out: Float64Array): void {
  const ix = highWord(x) & 0x7fffffff;
  if (ix >= 0x7ff00000) {
    out[0] = x - x;
    out[1] = x - x;
    return;
  }
  if (ix <= 0x3fe921fb) {
    out[0] = kernelSin(x, 0, 0);
    out[1] = kernelCos(x, 0);
    return;
  }
  const n = remPio2(x);
  if (n !== n) {
    out[0] = engine.sin(x);
    out[1] = engine.cos(x);
    return;
  }
  const s = kernelSin(reduced[0]!, reduced[1]!, 1), c = kernelCos(reduced[0]!, reduced[1]!);
  // sin: n mod 4 = 0: s, 1: c, 2: −s, 3: −c; cos: 0: c, 1: −s, 2: −c, 3: s
  out[0] = ((n & 1) === 0 ? s : c) * (1 - (n & 2));
  out[1] = ((n & 1) === 0 ? c : s) * (1 - ((n + 1) & 2));
}

export function tan(x: number): number {
  const ix = highWord(x) & 0x7fffffff;
  if (ix <= 0x3fe921fb) return kernelTan(x, 0, 1);
  if (ix >= 0x7ff00000) return x - x;
  const n = remPio2(x);
  if (Number.isNaN(n)) return engine.tan(x);
  return kernelTan(reduced[0]!, reduced[1]!, 1 - ((n & 1) << 1));
}

const pS0 = 1.66666666666666657415e-1, pS1 = -3.25565818622400915405e-1, pS2 = 2.01212532134862925881e-1;
const pS3 = -4.00555345006794114027e-2, pS4 = 7.91534994289814532176e-4, pS5 = 3.47933107596021167570e-5;
const qS1 = -2.40339491173441421878e0, qS2 = 2.02094576023350569471e0, qS3 = -6.88283971605453293030e-1, qS4 = 7.70381505559019352791e-2;
const pi = 3.14159265358979311600e0;
const pio2_hi = 1.57079632679489655800e0;
const pio2_lo = 6.12323399573676603587e-17;
const pio4_hi = 7.85398163397448278999e-1;

export function acos(x: number): number {
  const hx = highWord(x);
  const ix = hx & 0x7fffffff;
  if (ix >= 0x3ff00000) {
    if (((ix - 0x3ff00000) | lowWord(x)) === 0) return hx > 0 ? 0.0 : pi + 2.0 * pio2_lo;
    return NaN;
  }
  if (ix < 0x3fe00000) {
    if (ix <= 0x3c600000) return pio2_hi + pio2_lo;
    const z = x * x;
    const p = z * (pS0 + z * (pS1 + z * (pS2 + z * (pS3 + z * (pS4 + z * pS5)))));
    const q = 1 + z * (qS1 + z * (qS2 + z * (qS3 + z * qS4)));
    const r = p / q;
    return pio2_hi - (x - (pio2_lo - x * r));
  }
  if (hx < 0) {
    const z = (1 + x) * 0.5;
    const p = z * (pS0 + z * (pS1 + z * (pS2 + z * (pS3 + z * (pS4 + z * pS5)))));
    const q = 1 + z * (qS1 + z * (qS2 + z * (qS3 + z * qS4)));
    const s = Math.sqrt(z);
    const r = p / q;
    const w = r * s - pio2_lo;
    return pi - 2.0 * (s + w);
  }
  const z = (1 - x) * 0.5;
  const s = Math.sqrt(z);
  const df = clearLowWord(s);
  const c = (z - df * df) / (s + df);
  const p = z * (pS0 + z * (pS1 + z * (pS2 + z * (pS3 + z * (pS4 + z * pS5)))));
  const q = 1 + z * (qS1 + z * (qS2 + z * (qS3 + z * qS4)));
  const r = p / q;
  const w = r * s + c;
  return 2.0 * (df + w);
}

export function asin(x: number): number {
  const hx = highWord(x);
  const ix = hx & 0x7fffffff;
  // |x| ≥ 0.5 out of line: the common path stays small enough to inline
  if (ix >= 0x3fe00000) return asinLarge(x, hx, ix);
  let t = 0;
  if (ix < 0x3e400000) {
    if (1.0e300 + x > 1) return x;
  } else {
    t = x * x;
  }
  const p = t * (pS0 + t * (pS1 + t * (pS2 + t * (pS3 + t * (pS4 + t * pS5)))));
  const q = 1 + t * (qS1 + t * (qS2 + t * (qS3 + t * qS4)));
  const w = p / q;
  return x + x * w;
}

function asinLarge(x: number, hx: number, ix: number): number {
  if (ix >= 0x3ff00000) {
    if (((ix - 0x3ff00000) | lowWord(x)) === 0) return x * pio2_hi + x * pio2_lo;
    return NaN;
  }
  let w = 1 - Math.abs(x);
  let t = w * 0.5;
  let p = t * (pS0 + t * (pS1 + t * (pS2 + t * (pS3 + t * (pS4 + t * pS5)))));
  let q = 1 + t * (qS1 + t * (qS2 + t * (qS3 + t * qS4)));
  const s = Math.sqrt(t);
  if (ix >= 0x3fef3333) {
    w = p / q;
    t = pio2_hi - (2.0 * (s + s * w) - pio2_lo);
  } else {
    w = clearLowWord(s);
    const c = (t - w * w) / (s + w);
    const r = p / q;
    p = 2.0 * s * r - (pio2_lo - 2.0 * c);
    q = pio4_hi - 2.0 * w;
    t = pio4_hi - (p - q);
  }
  return hx > 0 ? t : -t;
}

const atanhi = [4.63647609000806093515e-1, 7.85398163397448278999e-1, 9.82793723247329054082e-1, 1.57079632679489655800e0];
const atanlo = [2.26987774529616870924e-17, 3.06161699786838301793e-17, 1.39033110312309984516e-17, 6.12323399573676603587e-17];

/** atan for |x| ≥ 2^66, ∞ and NaN (out of line: the common path stays small enough to inline). */
function atanHuge(x: number, hx: number, ix: number): number {
  if (ix > 0x7ff00000 || (ix === 0x7ff00000 && lowWord(x) !== 0)) return x + x;
  return hx > 0 ? atanhi[3]! + atanlo[3]! : -atanhi[3]! - atanlo[3]!;
}

export function atan(x: number): number {
  const hx = highWord(x);
  const ix = hx & 0x7fffffff;
  let id: number;
  if (ix >= 0x44100000) return atanHuge(x, hx, ix);
  if (ix < 0x3fdc0000) {
    if (ix < 0x3e400000) {
      if (1.0e300 + x > 1) return x;
    }
    id = -1;
  } else {
    x = Math.abs(x);
    if (ix < 0x3ff30000) {
      if (ix < 0x3fe60000) {
        id = 0;
        x = (2.0 * x - 1) / (2.0 + x);
      } else {
        id = 1;
        x = (x - 1) / (x + 1);
      }
    } else if (ix < 0x40038000) {
      id = 2;
      x = (x - 1.5) / (1 + 1.5 * x);
    } else {
      id = 3;
      x = -1.0 / x;
    }
  }
  const z = x * x;
  const w = z * z;
  // aT[0…10] as literals (keeps atan under V8's inlining limit)
  const s1 = z * (3.33333333333329318027e-1 + w * (1.42857142725034663711e-1 + w * (9.09088713343650656196e-2 + w * (6.66107313738753120669e-2 + w * (4.97687799461593236017e-2 + w * 1.62858201153657823623e-2)))));
  const s2 = w * (-1.99999999998764832476e-1 + w * (-1.11111104054623557880e-1 + w * (-7.69187620504482999495e-2 + w * (-5.83357013379057348645e-2 + w * -3.65315727442169155270e-2))));
  if (id < 0) return x - x * (s1 + s2);
  const r = atanhi[id]! - ((x * (s1 + s2) - atanlo[id]!) - x);
  return hx < 0 ? -r : r;
}

const atan2_pi_o_2 = 1.5707963267948965580e0, atan2_pi_lo = 1.2246467991473531772e-16;

export function atan2(y: number, x: number): number {
  if (Number.isNaN(x) || Number.isNaN(y)) return x + y;
  if (x === 1) return atan(y);
  const hx = highWord(x), hy = highWord(y);
  const ix = hx & 0x7fffffff, iy = hy & 0x7fffffff;
  let m = ((hy >> 31) & 1) | ((hx >> 30) & 2);
  // a zero or an infinity out of line: the common path stays small enough to inline
  if ((iy | lowWord(y)) === 0 || (ix | lowWord(x)) === 0 || ix === 0x7ff00000 || iy === 0x7ff00000) return atan2Special(y, x, hy, ix, iy, m);
  const k = (iy - ix) >> 20;
  let z: number;
  if (k > 60) {
    z = atan2_pi_o_2 + 0.5 * atan2_pi_lo;
    m &= 1;
  } else if (hx < 0 && k < -60) {
    z = 0.0;
  } else {
    z = atan(Math.abs(y / x));
  }
  switch (m) {
    case 0: return z;
    case 1: return -z;
    case 2: return pi - (z - atan2_pi_lo);
    default: return (z - atan2_pi_lo) - pi;
  }
}

/** atan2 where y or x is zero or infinite (fdlibm's special cases, in its order). */
function atan2Special(y: number, x: number, hy: number, ix: number, iy: number, m: number): number {
  const tiny = 1.0e-300;
  const pi_o_4 = 7.8539816339744827900e-1, pi_o_2 = 1.5707963267948965580e0;
  const ly = lowWord(y);
  if ((iy | ly) === 0) {
    switch (m) {
      case 0:
      case 1: return y;
      case 2: return pi + tiny;
      default: return -pi - tiny;
    }
  }
  if ((ix | lowWord(x)) === 0) return hy < 0 ? -pi_o_2 - tiny : pi_o_2 + tiny;
  if (ix === 0x7ff00000) {
    if (iy === 0x7ff00000) {
      switch (m) {
        case 0: return pi_o_4 + tiny;
        case 1: return -pi_o_4 - tiny;
        case 2: return 3.0 * pi_o_4 + tiny;
        default: return -3.0 * pi_o_4 - tiny;
      }
    }
    switch (m) {
      case 0: return 0;
      case 1: return -0;
      case 2: return pi + tiny;
      default: return -pi - tiny;
    }
  }
  return hy < 0 ? -pi_o_2 - tiny : pi_o_2 + tiny;
}

const ln2HI = [6.93147180369123816490e-1, -6.93147180369123816490e-1];
const ln2LO = [1.90821492927058770002e-10, -1.90821492927058770002e-10];
const invln2 = 1.44269504088896338700e0;
const P1 = 1.66666666666666019037e-1, P2 = -2.77777777770155933842e-3, P3 = 6.61375632143793436117e-5;
const P4 = -1.65339022054652515390e-6, P5 = 4.13813679705723846039e-8;

const twom1000 = 9.33263618503218878990e-302;

export function exp(x: number): number {
  let hx = highWord(x);
  const xsb = (hx >> 31) & 1;
  hx &= 0x7fffffff;
  // |x| ≥ 709.78 (overflow, underflow, ∞, NaN) out of line: the common path stays small enough to inline
  if (hx >= 0x40862e42) return expLarge(x, hx, xsb);
  return expCore(x, hx, xsb);
}

function expLarge(x: number, hx: number, xsb: number): number {
  const o_threshold = 7.09782712893383973096e2, u_threshold = -7.45133219101941108420e2;
  const huge = 1.0e300;
  if (hx >= 0x7ff00000) {
    if (((hx & 0xfffff) | lowWord(x)) !== 0) return x + x;
    return xsb === 0 ? x : 0.0;
  }
  if (x > o_threshold) return huge * huge;
  if (x < u_threshold) return twom1000 * twom1000;
  return expCore(x, hx, xsb);
}

/** y·2^k for k = 1024 or k < −1021 (out of line). */
function expScale(y: number, k: number): number {
  const two1023 = 8.988465674311579539e307;
  if (k === 1024) return y * 2.0 * two1023;
  return y * pow2(k + 1000) * twom1000;
}

function expCore(x: number, hx: number, xsb: number): number {
  const huge = 1.0e300;
  const E = 2.718281828459045;
  let hi = 0, lo = 0, k = 0;
  if (hx > 0x3fd62e42) {
    if (hx < 0x3ff0a2b2) {
      if (x === 1.0) return E;
      hi = x - ln2HI[xsb]!;
      lo = ln2LO[xsb]!;
      k = 1 - xsb - xsb;
    } else {
      k = (invln2 * x + (xsb === 0 ? 0.5 : -0.5)) | 0;
      const t = k;
      hi = x - t * ln2HI[0]!;
      lo = t * ln2LO[0]!;
    }
    x = hi - lo;
  } else if (hx < 0x3e300000) {
    if (huge + x > 1) return 1 + x;
  } else {
    k = 0;
  }
  const t = x * x;
  const c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  if (k === 0) return 1 - ((x * c) / (c - 2.0) - x);
  const y = 1 - ((lo - (x * c) / (2.0 - c)) - hi);
  if (k >= -1021 && k !== 1024) return y * pow2(k);
  return expScale(y, k);
}

const ln2_hi = 6.93147180369123816490e-1, ln2_lo = 1.90821492927058770002e-10, two54 = 1.80143985094819840000e16;
const Lg1 = 6.666666666666735130e-1, Lg2 = 3.999999999940941908e-1, Lg3 = 2.857142874366239149e-1, Lg4 = 2.222219843214978396e-1;
const Lg5 = 1.818357216161805012e-1, Lg6 = 1.531383769920937332e-1, Lg7 = 1.479819860511658591e-1;

export function log(x: number): number {
  const hx = highWord(x);
  // zero, negative, subnormal, infinite and NaN arguments out of line: the common path stays small enough to inline
  if (hx < 0x00100000 || hx >= 0x7ff00000) return logSpecial(x, hx);
  return logNormal(x, hx, 0);
}

function logSpecial(x: number, hx: number): number {
  if (hx < 0x00100000) {
    if (((hx & 0x7fffffff) | lowWord(x)) === 0) return -Infinity;
    if (hx < 0) return NaN;
    x *= two54;
    return logNormal(x, highWord(x), -54);
  }
  return x + x;
}

/** f − log(1 + f) series for 1 + f within 2^−20 of a power of two (out of line). */
function logNearPowerOfTwo(f: number, k: number): number {
  if (f === 0) {
    if (k === 0) return 0;
    const dk = k;
    return dk * ln2_hi + dk * ln2_lo;
  }
  const R = f * f * (0.5 - 0.33333333333333333 * f);
  if (k === 0) return f - R;
  const dk = k;
  return dk * ln2_hi - ((R - dk * ln2_lo) - f);
}

/** log of a positive normal x with high word hx, plus k·ln 2 (k = −54 for a scaled subnormal). */
function logNormal(x: number, hx: number, k: number): number {
  const e = (hx >> 20) - 1023;
  k += e;
  hx &= 0x000fffff;
  let i = (hx + 0x95f64) & 0x100000;
  // SET_HIGH_WORD(x, hx | (i ^ 0x3ff00000)): the significand with exponent 0 or −1, i.e. x·2^(−e − i/2^20), exact
  x *= pow2(-e - (i >> 20));
  k += i >> 20;
  const f = x - 1.0;
  if ((0x000fffff & (2 + hx)) < 3) return logNearPowerOfTwo(f, k);
  const s = f / (2.0 + f);
  const dk = k;
  const z = s * s;
  i = hx - 0x6147a;
  const w = z * z;
  const j = 0x6b851 - hx;
  const t1 = w * (Lg2 + w * (Lg4 + w * Lg6));
  const t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
  i |= j;
  const R = t2 + t1;
  if (i > 0) {
    const hfsq = 0.5 * f * f;
    if (k === 0) return f - (hfsq - s * (hfsq + R));
    return dk * ln2_hi - ((hfsq - (s * (hfsq + R) + dk * ln2_lo)) - f);
  }
  if (k === 0) return f - s * (f - R);
  return dk * ln2_hi - ((s * (f - R) - dk * ln2_lo) - f);
}

export function log10(x: number): number {
  const ivln10 = 4.34294481903251816668e-1, log10_2hi = 3.01029995663611771306e-1, log10_2lo = 3.69423907715893078616e-13;
  let hx = highWord(x);
  let lx = lowWord(x);
  let k = 0;
  if (hx < 0x00100000) {
    if (((hx & 0x7fffffff) | lx) === 0) return -Infinity;
    if (hx < 0) return NaN;
    k -= 54;
    x *= two54;
    hx = highWord(x);
    lx = lowWord(x);
  }
  if (hx >= 0x7ff00000) return x + x;
  if (hx === 0x3ff00000 && lx === 0) return 0.0;
  k += (hx >> 20) - 1023;
  const i = (k & 0x80000000) >>> 31;
  hx = (hx & 0x000fffff) | ((0x3ff - i) << 20);
  const y = k + i;
  x = fromWords(hx, lx);
  const z = y * log10_2lo + ivln10 * log(x);
  return z + y * log10_2hi;
}

export function expm1(x: number): number {
  const o_threshold = 7.09782712893383973096e2, huge = 1.0e300, tiny = 1.0e-300;
  const Q1 = -3.33333333333331316428e-2, Q2 = 1.58730158725481460165e-3, Q3 = -7.93650757867487942473e-5;
  const Q4 = 4.00821782732936239552e-6, Q5 = -2.01099218183624371326e-7;
  let hx = highWord(x);
  const xsb = hx & 0x80000000;
  hx &= 0x7fffffff;
  let k: number, c = 0, t: number, y: number;
  if (hx >= 0x4043687a) {
    if (hx >= 0x40862e42) {
      if (hx >= 0x7ff00000) {
        if (((hx & 0xfffff) | lowWord(x)) !== 0) return x + x;
        return xsb === 0 ? x : -1.0;
      }
      if (x > o_threshold) return huge * huge;
    }
    if (xsb !== 0) {
      if (x + tiny < 0.0) return tiny - 1;
    }
  }
  if (hx > 0x3fd62e42) {
    let hi: number, lo: number;
    if (hx < 0x3ff0a2b2) {
      if (xsb === 0) {
        hi = x - ln2_hi;
        lo = ln2_lo;
        k = 1;
      } else {
        hi = x + ln2_hi;
        lo = -ln2_lo;
        k = -1;
      }
    } else {
      k = (invln2 * x + (xsb === 0 ? 0.5 : -0.5)) | 0;
      t = k;
      hi = x - t * ln2_hi;
      lo = t * ln2_lo;
    }
    x = hi - lo;
    c = (hi - x) - lo;
  } else if (hx < 0x3c900000) {
    t = huge + x;
    return x - (t - (huge + x));
  } else {
    k = 0;
  }
  const hfx = 0.5 * x;
  const hxs = x * hfx;
  const r1 = 1 + hxs * (Q1 + hxs * (Q2 + hxs * (Q3 + hxs * (Q4 + hxs * Q5))));
  t = 3.0 - r1 * hfx;
  let e = hxs * ((r1 - t) / (6.0 - x * t));
  if (k === 0) return x - (x * e - hxs);
  const twopk = fromWords(0x3ff00000 + (k << 20), 0);
  e = x * (e - c) - c;
  e -= hxs;
  if (k === -1) return 0.5 * (x - e) - 0.5;
  if (k === 1) {
    if (x < -0.25) return -2.0 * (e - (x + 0.5));
    return 1 + 2.0 * (x - e);
  }
  if (k <= -2 || k > 56) {
    y = 1 - (e - x);
    if (k === 1024) y = y * 2.0 * 8.98846567431158e307;
    else y = y * twopk;
    return y - 1;
  }
  t = 1;
  if (k < 20) {
    t = withHighWord(t, 0x3ff00000 - (0x200000 >> k));
    y = t - (e - x);
    y = y * twopk;
  } else {
    t = withHighWord(t, (0x3ff - k) << 20);
    y = x - (e + t);
    y += 1;
    y = y * twopk;
  }
  return y;
}

// pow: FreeBSD msun e_pow.c (fdlibm 5.3), V8's legacy::pow
const bp = [1.0, 1.5];
const dp_h = [0.0, 5.84962487220764160156e-1];
const dp_l = [0.0, 1.35003920212974897128e-8];
const two53 = 9007199254740992.0;
const L1 = 5.99999999999994648725e-1, L2 = 4.28571428578550184252e-1, L3 = 3.33333329818377432918e-1;
const L4 = 2.72728123808534006489e-1, L5 = 2.30660745775561754067e-1, L6 = 2.06975017800338417784e-1;
const lg2 = 6.93147180559945286227e-1, lg2_h = 6.93147182464599609375e-1, lg2_l = -1.90465429995776804525e-9;
const ovt = 8.0085662595372944372e-17;
const cp = 9.61796693925975554329e-1, cp_h = 9.61796700954437255859e-1, cp_l = -7.02846165095275826516e-9;
const ivln2 = 1.44269504088896338700e0, ivln2_h = 1.44269502162933349609e0, ivln2_l = 1.92596299112661746887e-8;

/** 2^n·z for the subnormal results of pow (scalbn). */
function scalbn(z: number, n: number): number {
  while (n < -1000) {
    z *= fromWords(0x3ff00000 - (1000 << 20), 0);
    n += 1000;
  }
  return z * fromWords(0x3ff00000 + (n << 20), 0);
}

export function pow(x: number, y: number): number {
  const huge = 1.0e300, tiny = 1.0e-300;
  const hx = highWord(x), lx = lowWord(x), hy = highWord(y), ly = lowWord(y);
  let ix = hx & 0x7fffffff;
  const iy = hy & 0x7fffffff;
  if ((iy | ly) === 0) return 1;
  // ECMAScript: NaN ** anything but 0 and 1 ** ±∞ are NaN (fdlibm returns 1 for x = 1)
  if (Number.isNaN(y)) return NaN;
  if (hx === 0x3ff00000 && lx === 0) return iy === 0x7ff00000 && ly === 0 ? NaN : 1;
  if (ix > 0x7ff00000 || (ix === 0x7ff00000 && lx !== 0) || iy > 0x7ff00000 || (iy === 0x7ff00000 && ly !== 0)) return (x + 0.0) + (y + 0.0);
  let yisint = 0;
  if (hx < 0) {
    if (iy >= 0x43400000) yisint = 2;
    else if (iy >= 0x3ff00000) {
      const k = (iy >> 20) - 0x3ff;
      if (k > 20) {
        const j = ly >>> (52 - k);
        if (((j << (52 - k)) >>> 0) === ly) yisint = 2 - (j & 1);
      } else if (ly === 0) {
        const j = iy >> (20 - k);
        if ((j << (20 - k)) === iy) yisint = 2 - (j & 1);
      }
    }
  }
  if (ly === 0) {
    if (iy === 0x7ff00000) {
      if (((ix - 0x3ff00000) | lx) === 0) return NaN; // (−1) ** ±∞ (ECMAScript)
      if (ix >= 0x3ff00000) return hy >= 0 ? y : 0;
      return hy < 0 ? -y : 0;
    }
    if (iy === 0x3ff00000) return hy < 0 ? 1 / x : x;
    if (hy === 0x40000000) return x * x;
    if (hy === 0x3fe00000) {
      if (hx >= 0) return Math.sqrt(x);
    }
  }
  let ax = Math.abs(x);
  if (lx === 0) {
    if (ix === 0x7ff00000 || ix === 0 || ix === 0x3ff00000) {
      let z = ax;
      if (hy < 0) z = 1 / z;
      if (hx < 0) {
        if (((ix - 0x3ff00000) | yisint) === 0) z = (z - z) / (z - z);
        else if (yisint === 1) z = -z;
      }
      return z;
    }
  }
  let n = (hx >>> 31) - 1;
  if ((n | yisint) === 0) return (x - x) / (x - x);
  let s = 1;
  if ((n | (yisint - 1)) === 0) s = -1;
  let t1: number, t2: number;
  if (iy > 0x41e00000) {
    if (iy > 0x43f00000) {
      if (ix <= 0x3fefffff) return hy < 0 ? huge * huge : tiny * tiny;
      if (ix >= 0x3ff00000) return hy > 0 ? huge * huge : tiny * tiny;
    }
    if (ix < 0x3fefffff) return hy < 0 ? s * huge * huge : s * tiny * tiny;
    if (ix > 0x3ff00000) return hy > 0 ? s * huge * huge : s * tiny * tiny;
    const t = ax - 1;
    const w = (t * t) * (0.5 - t * (0.3333333333333333333333 - t * 0.25));
    const u = ivln2_h * t;
    const v = t * ivln2_l - w * ivln2;
    t1 = withLowWord(u + v, 0);
    t2 = v - (t1 - u);
  } else {
    n = 0;
    if (ix < 0x00100000) {
      ax *= two53;
      n -= 53;
      ix = highWord(ax);
    }
    n += (ix >> 20) - 0x3ff;
    const j = ix & 0x000fffff;
    ix = j | 0x3ff00000;
    let k: number;
    if (j <= 0x3988e) k = 0;
    else if (j < 0xbb67a) k = 1;
    else {
      k = 0;
      n += 1;
      ix -= 0x00100000;
    }
    ax = withHighWord(ax, ix);
    let u = ax - bp[k]!;
    let v = 1 / (ax + bp[k]!);
    const ss = u * v;
    const s_h = withLowWord(ss, 0);
    let t_h = fromWords(((ix >> 1) | 0x20000000) + 0x00080000 + (k << 18), 0);
    const t_l = ax - (t_h - bp[k]!);
    const s_l = v * ((u - s_h * t_h) - s_h * t_l);
    let s2 = ss * ss;
    let r = s2 * s2 * (L1 + s2 * (L2 + s2 * (L3 + s2 * (L4 + s2 * (L5 + s2 * L6)))));
    r += s_l * (s_h + ss);
    s2 = s_h * s_h;
    t_h = withLowWord(3.0 + s2 + r, 0);
    const t_l2 = r - ((t_h - 3.0) - s2);
    u = s_h * t_h;
    v = s_l * t_h + t_l2 * ss;
    const p_h = withLowWord(u + v, 0);
    const p_l = v - (p_h - u);
    const z_h = cp_h * p_h;
    const z_l = cp_l * p_h + p_l * cp + dp_l[k]!;
    const t = n;
    t1 = withLowWord(((z_h + z_l) + dp_h[k]!) + t, 0);
    t2 = z_l - (((t1 - t) - dp_h[k]!) - z_h);
  }
  const y1 = withLowWord(y, 0);
  const p_l = (y - y1) * t1 + y * t2;
  let p_h = y1 * t1;
  let z = p_l + p_h;
  let j = highWord(z);
  let i = lowWord(z);
  if (j >= 0x40900000) {
    if (((j - 0x40900000) | i) !== 0) return s * huge * huge;
    if (p_l + ovt > z - p_h) return s * huge * huge;
  } else if ((j & 0x7fffffff) >= 0x4090cc00) {
    if (((j - 0xc090cc00) | i) !== 0) return s * tiny * tiny;
    if (p_l <= z - p_h) return s * tiny * tiny;
  }
  i = j & 0x7fffffff;
  let k = (i >> 20) - 0x3ff;
  n = 0;
  if (i > 0x3fe00000) {
    n = j + (0x00100000 >> (k + 1));
    k = ((n & 0x7fffffff) >> 20) - 0x3ff;
    const t = fromWords(n & ~(0x000fffff >> k), 0);
    n = ((n & 0x000fffff) | 0x00100000) >> (20 - k);
    if (j < 0) n = -n;
    p_h -= t;
  }
  const t = withLowWord(p_l + p_h, 0);
  const u = t * lg2_h;
  const v = (p_l - (t - p_h)) * lg2 + t * lg2_l;
  z = u + v;
  const w = v - (z - u);
  const tt = z * z;
  t1 = z - tt * (P1 + tt * (P2 + tt * (P3 + tt * (P4 + tt * P5))));
  // V8's legacy::pow divides by the whole difference (fdlibm: (z·t1)/(t1 − 2) − (w + z·w)); Node 20 does this
  const r = (z * t1) / ((t1 - 2) - (w + z * w));
  z = 1 - (r - z);
  j = highWord(z);
  j += n << 20;
  if (j >> 20 <= 0) z = scalbn(z, n);
  else z = withHighWord(z, j);
  return s * z;
}

/** The functions replaced by installNodeMath. */
export const NODE_MATH = { sin, cos, tan, asin, acos, atan, atan2, exp, expm1, log, log10, pow } as const;

/**
 * Replaces the engine's Math functions with Node 20's (page only: call before loading the bundle).
 * Returns the names that were replaced.
 */
export function installNodeMath(target: Math = Math): string[] {
  const names = Object.keys(NODE_MATH) as (keyof typeof NODE_MATH)[];
  for (const name of names) Object.defineProperty(target, name, { value: NODE_MATH[name], writable: true, configurable: true, enumerable: false });
  return names;
}
