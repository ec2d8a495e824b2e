/**
 * Seeded random numbers for everything stochastic in muid-wasm (simulation, weight init, shuffles).
 * xoshiro128** (Blackman & Vigna 2018) on 32-bit integer arithmetic only, so a seed gives the same
 * sequence in every JavaScript engine; seeded through splitmix32.
 */
import { exp, log } from "../math/ieee754.js";

export class Random {
  /** the xoshiro128** state words s0…s3, as int32 (the same bits as uint32; typed storage keeps them unboxed) */
  private readonly state = new Int32Array(4);
  private spareGauss = NaN;

  constructor(seed: number) {
    let x = seed >>> 0;
    const splitmix32 = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    const s = this.state;
    s[0] = splitmix32();
    s[1] = splitmix32();
    s[2] = splitmix32();
    s[3] = splitmix32();
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.state;
    const s0 = s[0]!, s1 = s[1]!, s2 = s[2]!, s3 = s[3]!;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    // s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= s1 << 9; s3 = rotl(s3, 11)
    const t2 = s2 ^ s0;
    const t3 = s3 ^ s1;
    s[0] = s0 ^ t3;
    s[1] = s1 ^ t2;
    s[2] = t2 ^ (s1 << 9);
    s[3] = rotl(t3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in [a, b). */
  range(a: number, b: number): number {
    return a + (b - a) * this.uniform();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal (Marsaglia polar method; the spare value is kept). */
  gauss(): number {
    if (!Number.isNaN(this.spareGauss)) {
      const g = this.spareGauss;
      this.spareGauss = NaN;
      return g;
    }
    let u: number, v: number, s: number;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * log(s)) / s);
    this.spareGauss = v * f;
    return u * f;
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -mean * log(1 - this.uniform());
  }

  /** Poisson-distributed integer (Knuth for small means, normal approximation above 30). */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.gauss()));
    const limit = exp(-mean);
    let k = 0;
    let p = this.uniform();
    while (p > limit) {
      k++;
      p *= this.uniform();
    }
    return k;
  }

  /** An independent stream derived from this one (for per-event or per-worker streams). */
  fork(): Random {
    return new Random(this.nextU32());
  }
}

/** 32-bit rotation left (as int32; callers take >>> 0 where they need the unsigned value). */
function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
