import { describe, expect, it } from "vitest";
import { Random } from "../src/sim/random.js";

describe("Random (xoshiro128**)", () => {
  it("is reproducible for a seed and differs between seeds", () => {
    const a = new Random(42), b = new Random(42), c = new Random(43);
    const sa = Array.from({ length: 5 }, () => a.nextU32());
    const sb = Array.from({ length: 5 }, () => b.nextU32());
    const sc = Array.from({ length: 5 }, () => c.nextU32());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
  });
  it("uniform and gauss have the right first two moments (1e5 draws)", () => {
    const r = new Random(7);
    let su = 0, su2 = 0, sg = 0, sg2 = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const u = r.uniform(); su += u; su2 += u * u;
      const g = r.gauss(); sg += g; sg2 += g * g;
    }
    expect(su / n).toBeCloseTo(0.5, 2);
    expect(su2 / n - (su / n) ** 2).toBeCloseTo(1 / 12, 2);
    expect(sg / n).toBeCloseTo(0, 1);
    expect(sg2 / n).toBeCloseTo(1, 1);
  });
  it("poisson mean matches for small and large means", () => {
    const r = new Random(9);
    for (const mean of [0.5, 3, 50]) {
      let s = 0;
      for (let i = 0; i < 20_000; i++) s += r.poisson(mean);
      expect(Math.abs(s / 20_000 - mean)).toBeLessThan(0.05 * mean + 0.02);
    }
  });
});
