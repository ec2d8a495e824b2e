// Hand-computed cases for the KLM association kernel (layout: src/reco/klmAssociationLayout.ts).
// Barrel sector 0 (normal +x, φ̂ = +y), layer index 1 at r = 212.916 cm; scintillator variances 4²/12.
// A track at normal incidence with uncorrelated U/V errors: R = diag(C_yy + V, C_zz + V), the gain is
// C_·y/R00 and C_·z/R11, and the filtered χ² equals r0²/R00 + r1²/R11.
import { klmAssociateLayer, klmCrossingWords } from "../klmAssociation";

const R: f64 = 212.916;
const V: f64 = 16.0 / 12.0;

function config(): Float64Array {
  const c = new Float64Array(160);
  c[0] = 12.25; c[1] = 2.0; c[2] = 50.0; c[3] = 1.0; c[4] = 15.0;
  c[5] = 0.0; c[6] = 10000.0; c[7] = 1.0; c[8] = 1e-6;
  c[9] = 201.9; c[10] = 382.6; c[11] = 230.0; c[12] = 47.0;
  c[13] = 128.0; c[14] = 353.5; c[15] = 296.05; c[16] = 66.05;
  for (let s = 0; s < 8; s++) {
    c[24 + s] = Math.cos(<f64>s * Math.PI / 4.0);
    c[32 + s] = Math.sin(<f64>s * Math.PI / 4.0);
    for (let l = 0; l < 15; l++) c[40 + l * 8 + s] = R;
  }
  return c;
}

function barrelCrossing(): Float64Array {
  const x = new Float64Array(64);
  x[0] = 1.0; x[1] = 1.0; x[2] = 0.0; x[3] = 1.0;
  x[4] = R; x[5] = 10.0; x[6] = 60.0; x[7] = 2.0; x[8] = 0.0; x[9] = 0.0;
  x[10 + 0] = 0.5; x[10 + 7] = 1.0; x[10 + 14] = 2.0; x[10 + 21] = 1e-4; x[10 + 28] = 4e-4; x[10 + 35] = 4e-4;
  x[10 + 1 * 6 + 4] = 0.01; x[10 + 4 * 6 + 1] = 0.01;
  return x;
}

/** Structure of arrays for n hits: x, y, z, varU, varV, time, sector, isForward. */
function hits(xs: f64[], ys: f64[], zs: f64[]): Float64Array {
  const n = xs.length;
  const h = new Float64Array(8 * n);
  for (let i = 0; i < n; i++) {
    h[i] = xs[i]; h[n + i] = ys[i]; h[2 * n + i] = zs[i];
    h[3 * n + i] = V; h[4 * n + i] = V; h[5 * n + i] = 0.0; h[6 * n + i] = 0.0; h[7 * n + i] = 1.0;
  }
  return h;
}

describe("klmAssociateLayer", () => {
  it("reports its crossing block size", () => {
    expect<i32>(klmCrossingWords()).toBe(64);
  });

  it("normal incidence: filtered state and χ² by hand", () => {
    const c = config();
    const x = barrelCrossing();
    const h = hits([R], [10.8], [59.5]);
    expect<i32>(klmAssociateLayer(c.dataStart, x.dataStart, h.dataStart, 1, 0, 1)).toBe(1);
    const r00 = 1.0 + V, r11 = 2.0 + V;
    expect<f64>(x[47]).toBe(0.0);
    expect<f64>(x[48]).toBe(1.0);
    expect<f64>(x[46]).toBeCloseTo(0.64 / r00 + 0.25 / r11, 12);
    expect<f64>(x[4]).toBeCloseTo(R, 12);
    expect<f64>(x[5]).toBeCloseTo(10.0 + 0.8 / r00, 12);
    expect<f64>(x[6]).toBeCloseTo(60.0 - 1.0 / r11, 12);
    expect<f64>(x[10 + 7]).toBeCloseTo(1.0 - 1.0 / r00, 12);
    expect<f64>(x[10 + 14]).toBeCloseTo(2.0 - 4.0 / r11, 12);
  });

  it("takes the nearest hit in the plane and does not fall back when it fails the 3.5σ gate", () => {
    const c = config();
    // hit 0: 5.4 cm in U, beyond sqrt(R00·12.25) = 5.346; hit 1: 5.45 cm in V, inside sqrt(R11·12.25) = 6.39
    const h = hits([R, R], [15.4, 10.0], [60.0, 65.45]);
    const x = barrelCrossing();
    expect<i32>(klmAssociateLayer(c.dataStart, x.dataStart, h.dataStart, 2, 0, 2)).toBe(0);
    expect<f64>(x[46]).toBe(-1.0);
    expect<f64>(x[47]).toBe(-1.0);
    const y = barrelCrossing();
    expect<i32>(klmAssociateLayer(c.dataStart, y.dataStart, h.dataStart, 2, 1, 1)).toBe(1);
    expect<f64>(y[47]).toBe(0.0);
  });

  it("finds the nearest of three candidates in the scalar tail of the two-lane loop", () => {
    const c = config();
    const h = hits([R, R, R], [13.0, 7.0, 10.5], [60.0, 60.0, 60.2]);
    const x = barrelCrossing();
    expect<i32>(klmAssociateLayer(c.dataStart, x.dataStart, h.dataStart, 3, 0, 3)).toBe(1);
    expect<f64>(x[47]).toBe(2.0);
    expect<f64>(x[52]).toBeCloseTo(0.5, 12);
    expect<f64>(x[53]).toBeCloseTo(0.2, 12);
  });

  it("accepts an endcap hit exactly 2 cm from the plane and rejects a barrel hit 2.001 cm away", () => {
    const c = config();
    const e = new Float64Array(64);
    e[0] = 0.0; e[1] = 1.0; e[3] = 5.0;
    e[4] = 180.0; e[5] = 100.0; e[6] = 290.0; e[7] = 0.0; e[8] = 0.0; e[9] = 2.0;
    for (let i = 0; i < 6; i++) e[10 + 7 * i] = i < 3 ? 1.0 : 1e-4;
    const he = hits([180.5], [100.5], [292.0]);
    expect<i32>(klmAssociateLayer(c.dataStart, e.dataStart, he.dataStart, 1, 0, 1)).toBe(1);
    const x = barrelCrossing();
    const hb = hits([R + 2.001], [10.2], [60.0]);
    expect<i32>(klmAssociateLayer(c.dataStart, x.dataStart, hb.dataStart, 1, 0, 1)).toBe(0);
  });
});
