/**
 * Tracking resolution: turns the true state of a particle at the IP into the reconstructed track
 * (TrackAtIp) that the KLM and ECL reconstruction start from, with the covariance a fit would report.
 *
 * The track is smeared in its perigee parameters (d0, z0, φ0, θ, pT) with independent Gaussian
 * errors (constants.ts, "tracking resolution"): pT by the Belle II CDC resolution σ(pT)/pT =
 * 0.0011·pT ⊕ 0.0025/β, the impact parameters and angles by a constant ⊕ multiple-scattering term.
 * The covariance of (x, y, z, px, py, pz) is J·diag(σ²)·Jᵀ with J = ∂(x…pz)/∂(perigee) at the
 * reconstructed point; it has rank 5 (the point is constrained to the perigee).
 *
 * Perigee convention: POCA to the z axis = (−d0 sin φ0, d0 cos φ0, z0); p = (pT cos φ0, pT sin φ0, pT cot θ).
 */
import type { ParticleState, TrackAtIp } from "./types.js";
import type { Random } from "./random.js";
import { hypot2 } from "../math/hypot.js";
import {
  TRACK_PT_RESOLUTION_LINEAR,
  TRACK_PT_RESOLUTION_CONSTANT,
  TRACK_D0_RESOLUTION_CONSTANT,
  TRACK_D0_RESOLUTION_SCATTERING,
  TRACK_Z0_RESOLUTION_CONSTANT,
  TRACK_Z0_RESOLUTION_SCATTERING,
  TRACK_ANGLE_RESOLUTION_CONSTANT,
  TRACK_ANGLE_RESOLUTION_SCATTERING,
} from "../constants.js";
import { atan2, cos, pow, sin, tan } from "../math/ieee754.js";

/** Standard deviations of the perigee parameters: d0, z0 (cm), φ0, θ (rad), pT (GeV/c). */
export interface PerigeeResolution {
  d0: number;
  z0: number;
  phi0: number;
  theta: number;
  pt: number;
}

/** The resolution for a track of momentum p (GeV/c), polar angle θ (rad) and mass (GeV/c²). */
export function perigeeResolution(p: number, theta: number, mass: number): PerigeeResolution {
  const pt = p * sin(theta);
  const beta = p / Math.sqrt(p * p + mass * mass);
  const pBeta = Math.max(p * beta, 1e-6);
  const sinTheta = Math.max(Math.abs(sin(theta)), 1e-3);
  return {
    d0: hypot2(TRACK_D0_RESOLUTION_CONSTANT, TRACK_D0_RESOLUTION_SCATTERING / (pBeta * pow(sinTheta, 1.5))),
    z0: hypot2(TRACK_Z0_RESOLUTION_CONSTANT, TRACK_Z0_RESOLUTION_SCATTERING / (pBeta * pow(sinTheta, 2.5))),
    phi0: hypot2(TRACK_ANGLE_RESOLUTION_CONSTANT, TRACK_ANGLE_RESOLUTION_SCATTERING / pBeta),
    theta: hypot2(TRACK_ANGLE_RESOLUTION_CONSTANT, TRACK_ANGLE_RESOLUTION_SCATTERING / pBeta),
    pt: pt * hypot2(TRACK_PT_RESOLUTION_LINEAR * pt, TRACK_PT_RESOLUTION_CONSTANT / beta),
  };
}

/** Index of element (i, j), i ≤ j, of a symmetric n×n matrix in its row-major upper triangle. */
export function upperTriangleIndex(i: number, j: number, n = 6): number {
  if (i > j) [i, j] = [j, i];
  return i * n - (i * (i - 1)) / 2 + (j - i);
}

/** The full symmetric n×n matrix (row-major, n² numbers) from its row-major upper triangle. */
export function unpackUpperTriangle(upper: readonly number[], n = 6): number[] {
  const full = new Array<number>(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) full[i * n + j] = upper[upperTriangleIndex(i, j, n)];
  }
  return full;
}

const perigeeJacobian = new Float64Array(30);
const perigeeVariance = new Float64Array(5);

/**
 * Covariance of (x, y, z, px, py, pz), upper triangle (21 numbers), of a track with perigee
 * (d0, z0, φ0, θ, pT) and independent errors σ (J·diag(σ²)·Jᵀ).
 */
export function cartesianCovariance(
  d0: number, phi0: number, theta: number, pt: number, sigma: PerigeeResolution,
): number[] {
  const s = sin(phi0), c = cos(phi0);
  const sinT = sin(theta), cosT = cos(theta);
  // J rows: x, y, z, px, py, pz; columns: d0, z0, φ0, θ, pT (row-major in a reused scratch array)
  const jac = perigeeJacobian; // zero except the entries set here
  jac[0] = -s; jac[2] = -d0 * c;
  jac[5] = c; jac[7] = -d0 * s;
  jac[11] = 1;
  jac[17] = -pt * s; jac[19] = c;
  jac[22] = pt * c; jac[24] = s;
  jac[28] = -pt / (sinT * sinT); jac[29] = cosT / sinT;
  const variance = perigeeVariance;
  variance[0] = sigma.d0 ** 2;
  variance[1] = sigma.z0 ** 2;
  variance[2] = sigma.phi0 ** 2;
  variance[3] = sigma.theta ** 2;
  variance[4] = sigma.pt ** 2;
  const upper: number[] = [];
  for (let i = 0; i < 6; i++) {
    for (let j = i; j < 6; j++) {
      let sum = 0;
      for (let k = 0; k < 5; k++) sum += jac[i * 5 + k]! * variance[k]! * jac[j * 5 + k]!;
      upper.push(sum);
    }
  }
  return upper;
}

/**
 * The reconstructed track of a particle whose true state is `state` (at or near the IP): true
 * perigee → Gaussian smearing → Cartesian state at the smeared perigee with its covariance.
 */
export function reconstructTrackAtIp(state: ParticleState, rng: Random): TrackAtIp {
  const ptTrue = hypot2(state.px, state.py);
  const p = hypot2(ptTrue, state.pz);
  const phiTrue = atan2(state.py, state.px);
  const thetaTrue = atan2(ptTrue, state.pz);
  const s = sin(phiTrue), c = cos(phiTrue);
  // straight-line POCA to the z axis (the IP offset is microns, the curvature there negligible)
  const d0True = -state.x * s + state.y * c;
  const along = state.x * c + state.y * s;
  const z0True = state.z - along * (state.pz / Math.max(ptTrue, 1e-12));

  const sigma = perigeeResolution(p, thetaTrue, state.mass);
  const d0 = d0True + sigma.d0 * rng.gauss();
  const z0 = z0True + sigma.z0 * rng.gauss();
  const phi0 = phiTrue + sigma.phi0 * rng.gauss();
  const theta = Math.min(Math.max(thetaTrue + sigma.theta * rng.gauss(), 1e-4), Math.PI - 1e-4);
  const pt = Math.abs(ptTrue + sigma.pt * rng.gauss());

  // the covariance a fit reports: evaluated at its own (reconstructed) parameters
  const reported = perigeeResolution(pt / sin(theta), theta, state.mass);
  const sp = sin(phi0), cp = cos(phi0);
  return {
    charge: state.charge,
    x: -d0 * sp,
    y: d0 * cp,
    z: z0,
    px: pt * cp,
    py: pt * sp,
    pz: pt / tan(theta),
    covariance: cartesianCovariance(d0, phi0, theta, pt, reported),
  };
}
