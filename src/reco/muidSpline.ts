/**
 * basf2 framework/utilities Spline::muidSpline: the cubic-spline coefficients Muid uses to smooth the
 * tabulated log-PDF of the reduced χ² (klm.md §2.10). A port of the published algorithm, same
 * operation order: on n equally spaced knots Y[0..n−1] (spacing dx) it fills B, C, D so that between
 * knots i and i+1, Y(x_i + t) = Y[i] + t·(B[i] + t·(C[i] + t·D[i])). The end conditions are those of
 * the original (third differences matched at both ends). B, C, D must hold at least n numbers.
 */
import { InputError } from "../errors.js";

export function muidSpline(n: number, dx: number, Y: ArrayLike<number>, B: Float64Array, C: Float64Array, D: Float64Array): void {
  // basf2 B2FATALs below 3 knots; the end formulas read C[2] and C[n−3]
  if (!Number.isInteger(n) || n < 4) throw new InputError(`muidSpline needs at least 4 knots, got ${n}`);
  if (Y.length < n || B.length < n || C.length < n || D.length < n) throw new InputError(`muidSpline: arrays shorter than ${n}`);
  if (!(dx > 0)) throw new InputError(`muidSpline: knot spacing ${dx} must be > 0`);
  D[0] = dx;
  C[1] = (Y[1]! - Y[0]!) / dx;
  for (let i = 1; i < n - 1; i++) {
    D[i] = dx;
    B[i] = dx * 4.0;
    C[i + 1] = (Y[i + 1]! - Y[i]!) / dx;
    C[i] = C[i + 1]! - C[i]!;
  }
  B[0] = -dx;
  B[n - 1] = -dx;
  C[0] = (C[2]! - C[1]!) / 6.0;
  C[n - 1] = -(C[n - 2]! - C[n - 3]!) / 6.0;
  for (let i = 1; i < n; i++) {
    const temp = dx / B[i - 1]!;
    B[i] = B[i]! - temp * dx;
    C[i] = C[i]! - temp * C[i - 1]!;
  }
  C[n - 1] = C[n - 1]! / B[n - 1]!;
  for (let i = n - 2; i >= 0; i--) {
    C[i] = (C[i]! - D[i]! * C[i + 1]!) / B[i]!;
  }
  B[n - 1] = (Y[n - 1]! - Y[n - 2]!) / dx + (C[n - 2]! + C[n - 1]! * 2.0) * dx;
  for (let i = 0; i < n - 1; i++) {
    B[i] = (Y[i + 1]! - Y[i]!) / dx - (C[i + 1]! + C[i]! * 2.0) * dx;
    D[i] = (C[i + 1]! - C[i]!) / dx;
    C[i] = C[i]! * 3.0;
  }
  C[n - 1] = C[n - 1]! * 3.0;
  D[n - 1] = D[n - 2]!;
}
