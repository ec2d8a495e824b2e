/**
 * Passage of charged particles through matter (physics.md §2.1–2.3, §5.1): mean energy loss by the
 * Bethe–Bloch formula with the Sternheimer density effect, CSDA ranges, multiple scattering by the
 * Highland formula, and energy-loss fluctuations (Landau/Vavilov for thin steps, Gaussian/Bohr for thick
 * ones). Shell, Barkas and Bloch corrections and radiative losses are omitted, as in physics.md §2.1.
 *
 * Units: GeV, GeV/c, cm; a stopping power is in GeV/cm.
 */
import { InputError } from "../errors.js";
import {
  ALUMINIUM,
  BETHE_K_MEV,
  CSI,
  ELECTRON_MASS,
  HIGHLAND_LOG_COEFFICIENT,
  HIGHLAND_SCALE,
  IRON,
  QUARTZ,
  VAVILOV_GAUSSIAN_KAPPA,
  type MaterialConstants,
} from "../constants.js";
import type { Random } from "../sim/random.js";
import { exp, log, log10, pow } from "../math/ieee754.js";

export type MaterialName = "CsI" | "Fe" | "Al" | "SiO2";

const MATERIALS: Readonly<Record<MaterialName, MaterialConstants>> = { CsI: CSI, Fe: IRON, Al: ALUMINIUM, SiO2: QUARTZ };

/** The constants of a material by its name (physics.md §2.1). */
export function materialByName(name: MaterialName): MaterialConstants {
  const m = MATERIALS[name];
  if (m === undefined) throw new InputError(`unknown material ${JSON.stringify(name)} (known: ${Object.keys(MATERIALS).join(", ")})`);
  return m;
}

const LN10 = Math.LN10;
const BETHE_K = BETHE_K_MEV * 1e-3; // GeV cm²/mol

/** Sternheimer density-effect correction δ(βγ) (physics.md §2.1). */
export function densityEffect(m: MaterialConstants, betaGamma: number): number {
  const x = log10(betaGamma);
  if (x >= m.sternheimerX1) return 2 * LN10 * x - m.sternheimerC;
  if (x >= m.sternheimerX0) return 2 * LN10 * x - m.sternheimerC + m.sternheimerA * pow(m.sternheimerX1 - x, m.sternheimerK);
  return m.sternheimerDelta0 * pow(10, 2 * (x - m.sternheimerX0));
}

/** Largest energy transfer to a free electron in one collision, GeV (physics.md §2.1 Wmax). */
export function maxEnergyTransfer(betaGamma: number, mass: number): number {
  const gamma = Math.sqrt(1 + betaGamma * betaGamma);
  const r = ELECTRON_MASS / mass;
  return (2 * ELECTRON_MASS * betaGamma * betaGamma) / (1 + 2 * gamma * r + r * r);
}

/** Mean ionisation loss −dE/dx (GeV/cm) of a singly charged particle of the given mass at momentum p (Bethe–Bloch). */
export function stoppingPower(m: MaterialConstants, mass: number, p: number): number {
  const bg = p / mass;
  const beta2 = (bg * bg) / (1 + bg * bg);
  const wmax = maxEnergyTransfer(bg, mass);
  const arg = (2 * ELECTRON_MASS * bg * bg * wmax) / (m.meanExcitation * m.meanExcitation);
  const bracket = 0.5 * log(arg) - beta2 - densityEffect(m, bg) / 2;
  return ((BETHE_K * m.zOverA) / beta2) * bracket * m.density;
}

/** Landau width parameter ξ = (K/2)⟨Z/A⟩ρx/β², GeV, for a step of x cm (physics.md §5.1). */
export function landauXi(m: MaterialConstants, stepLength: number, beta: number): number {
  return ((0.5 * BETHE_K * m.zOverA * m.density * stepLength) / (beta * beta));
}

/**
 * Highland plane-projected rms scattering angle (rad) after x cm of material (physics.md §2.3),
 * θ0 = 13.6 MeV/(βcp)·|z|·√(x/X0)·[1 + 0.038 ln(x z²/(X0 β²))].
 */
export function highlandAngle(m: MaterialConstants, stepLength: number, p: number, beta: number, chargeMagnitude = 1): number {
  if (stepLength <= 0) return 0;
  const t = stepLength / m.radiationLength;
  const z2 = chargeMagnitude * chargeMagnitude;
  const correction = 1 + HIGHLAND_LOG_COEFFICIENT * log((t * z2) / (beta * beta));
  return ((HIGHLAND_SCALE / (beta * p)) * chargeMagnitude * Math.sqrt(t) * Math.max(correction, 0));
}

// ───────────── CSDA range tables ─────────────

/** Lower end of the range integral, GeV (physics.md §2.2: starts at T = 1 MeV, the residual is negligible). */
export const RANGE_TABLE_MIN_KINETIC = 0.001;
const RANGE_TABLE_MAX_KINETIC = 50.0;
const RANGE_TABLE_POINTS = 2400;

/**
 * Mean dE/dx and CSDA range R(T) = ∫ dT/(dE/dx) of one particle mass in one material, tabulated on a
 * uniform grid in ln T (1 MeV … 50 GeV); lookups interpolate linearly. The range table is what makes a
 * thick step exact for the mean loss: T_out = R⁻¹(R(T_in) − x).
 */
export class RangeTable {
  readonly material: MaterialConstants;
  readonly mass: number;
  private readonly lnTMin = log(RANGE_TABLE_MIN_KINETIC);
  private readonly dLnT: number;
  private readonly kinetic = new Float64Array(RANGE_TABLE_POINTS);
  private readonly dEdx = new Float64Array(RANGE_TABLE_POINTS);
  private readonly ranges = new Float64Array(RANGE_TABLE_POINTS);

  constructor(material: MaterialConstants, mass: number) {
    this.material = material;
    this.mass = mass;
    this.dLnT = (log(RANGE_TABLE_MAX_KINETIC) - this.lnTMin) / (RANGE_TABLE_POINTS - 1);
    for (let i = 0; i < RANGE_TABLE_POINTS; i++) {
      const t = exp(this.lnTMin + i * this.dLnT);
      const p = Math.sqrt(t * (t + 2 * mass));
      this.kinetic[i] = t;
      this.dEdx[i] = stoppingPower(material, mass, p);
    }
    // trapezoid in ln T: dR = T/(dE/dx) d(ln T)
    this.ranges[0] = 0;
    for (let i = 1; i < RANGE_TABLE_POINTS; i++) {
      const a = this.kinetic[i - 1]! / this.dEdx[i - 1]!;
      const b = this.kinetic[i]! / this.dEdx[i]!;
      this.ranges[i] = this.ranges[i - 1]! + 0.5 * (a + b) * this.dLnT;
    }
    // guide[b − guideBase]: the last index whose range lies in a bucket below b (every range of bucket b
    // is above it, so the search for r in bucket b starts there)
    this.guideBase = logBucket(this.ranges[1]!);
    const increasing = this.ranges[1]! > 0 && this.ranges.every((r, i) => i === 0 || r >= this.ranges[i - 1]!);
    if (increasing) {
      const top = logBucket(this.ranges[RANGE_TABLE_POINTS - 1]!);
      const guide = new Int32Array(top - this.guideBase + 1);
      let last = 0;
      for (let bucket = this.guideBase, i = 1; bucket <= top; bucket++) {
        while (i < RANGE_TABLE_POINTS - 1 && logBucket(this.ranges[i]!) < bucket) last = i++;
        guide[bucket - this.guideBase] = last;
      }
      this.guide = guide;
    } else this.guide = null;
  }
  private readonly guideBase: number;
  /** null when the stopping power is not positive everywhere (an exotic mass): kineticForRange searches then */
  private readonly guide: Int32Array | null;

  private position(t: number): number {
    // a material step asks for T_in (range, then stopping power), the step-limit target and T_out:
    // the last three answers are kept (a pure function of t, so the same bits)
    if (t === this.positionT0) return this.positionU0;
    if (t === this.positionT1) return this.positionU1;
    if (t === this.positionT2) return this.positionU2;
    const u = Math.min(Math.max((log(t) - this.lnTMin) / this.dLnT, 0), RANGE_TABLE_POINTS - 1.000001);
    this.positionT2 = this.positionT1; this.positionU2 = this.positionU1;
    this.positionT1 = this.positionT0; this.positionU1 = this.positionU0;
    this.positionT0 = t; this.positionU0 = u;
    return u;
  }
  private positionT0 = NaN; private positionU0 = 0;
  private positionT1 = NaN; private positionU1 = 0;
  private positionT2 = NaN; private positionU2 = 0;

  /** Mean stopping power at kinetic energy T (GeV/cm). */
  stoppingPowerAt(t: number): number {
    if (t <= RANGE_TABLE_MIN_KINETIC) return this.dEdx[0]!;
    const u = this.position(t);
    const i = Math.floor(u);
    const f = u - i;
    return this.dEdx[i]! * (1 - f) + this.dEdx[i + 1]! * f;
  }

  /** CSDA range (cm) of kinetic energy T (0 at and below 1 MeV). */
  range(t: number): number {
    if (t <= RANGE_TABLE_MIN_KINETIC) return 0;
    // a transport step asks for the range of its kinetic energy twice (step limit, then the mean loss),
    // with another lookup in between: the last two answers are kept
    if (t === this.recentKinetic0) return this.recentRange0;
    if (t === this.recentKinetic1) return this.recentRange1;
    const u = this.position(t);
    const i = Math.floor(u);
    const f = u - i;
    const r = this.ranges[i]! * (1 - f) + this.ranges[i + 1]! * f;
    this.recentKinetic1 = this.recentKinetic0;
    this.recentRange1 = this.recentRange0;
    this.recentKinetic0 = t;
    this.recentRange0 = r;
    return r;
  }
  private recentKinetic0 = NaN;
  private recentRange0 = 0;
  private recentKinetic1 = NaN;
  private recentRange1 = 0;

  /** Kinetic energy whose CSDA range is r (cm); 0 for r ≤ 0. */
  kineticForRange(r: number): number {
    if (r <= 0) return 0;
    const ranges = this.ranges;
    if (r >= ranges[RANGE_TABLE_POINTS - 1]!) return this.kinetic[RANGE_TABLE_POINTS - 1]!;
    // the last lo with ranges[lo] ≤ r: from the guide of r's logarithmic bucket in one to three steps
    // (the binary search's answer on a table that never decreases; on any other, the binary search)
    let lo: number;
    if (this.guide !== null) {
      const b = logBucket(r) - this.guideBase;
      lo = b < 0 ? 0 : this.guide[b]!;
      while (ranges[lo + 1]! <= r) lo++;
    } else {
      lo = 0;
      let hi = RANGE_TABLE_POINTS - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >>> 1;
        if (ranges[mid]! <= r) lo = mid;
        else hi = mid;
      }
    }
    const hi = lo + 1;
    const f = (r - ranges[lo]!) / (ranges[hi]! - ranges[lo]!);
    // ln T is linear in the index: interpolate there
    return exp(this.lnTMin + (lo + f) * this.dLnT);
  }

  /** Kinetic energy after x cm of continuous mean loss from T (0 when the particle ranges out). */
  kineticAfter(t: number, stepLength: number): number {
    return this.kineticForRange(this.range(t) - stepLength);
  }

  /** CSDA range at `kinetic` GeV, computed once per call site that needs a fixed stopping energy. */
  rangeAt(kinetic: number): number {
    if (kinetic === this.lastFixedKinetic) return this.lastFixedRange;
    let r = this.fixedRanges.get(kinetic);
    if (r === undefined) {
      r = this.range(kinetic);
      this.fixedRanges.set(kinetic, r);
    }
    this.lastFixedKinetic = kinetic;
    this.lastFixedRange = r;
    return r;
  }
  private readonly fixedRanges = new Map<number, number>();
  private lastFixedKinetic = NaN;
  private lastFixedRange = 0;
}

/** The bits of a double: the high word holds sign, exponent and the top of the mantissa. */
const bitsOfDouble = new Float64Array(1);
const wordsOfDouble = new Uint32Array(bitsOfDouble.buffer);
const HIGH_WORD = new Uint8Array(Float64Array.of(1).buffer)[7] === 0x3f ? 1 : 0;

/**
 * A logarithmic bucket of a positive number: exponent and the top 6 mantissa bits (64 buckets per
 * octave), monotonic in the number; for the range-table search without a logarithm.
 */
function logBucket(v: number): number {
  bitsOfDouble[0] = v;
  return wordsOfDouble[HIGH_WORD]! >>> 14;
}

const tableCache = new Map<string, RangeTable>();

/** The (cached) range table of a material and a particle mass. */
export function rangeTable(m: MaterialConstants, mass: number): RangeTable {
  const key = `${m.name}:${mass}`;
  let table = tableCache.get(key);
  if (table === undefined) {
    table = new RangeTable(m, mass);
    tableCache.set(key, table);
  }
  return table;
}

/** CSDA range (cm) of a particle of the given mass and momentum p in a material (physics.md §2.2). */
export function csdaRange(m: MaterialConstants, mass: number, p: number): number {
  if (!(p > 0) || !(mass > 0)) throw new InputError(`csdaRange: need p > 0 and mass > 0 (got p=${p}, mass=${mass})`);
  const t = Math.sqrt(p * p + mass * mass) - mass;
  return rangeTable(m, mass).range(t);
}

// ───────────── energy-loss fluctuations ─────────────

/**
 * Landau density φ(λ) (CERNLIB G110 DENLAN rational approximations, as in ROOT and GSL). λ is the
 * universal Landau variable; the most probable value is at λ ≈ −0.2228.
 */
export function landauDensity(v: number): number {
  if (v < -5.5) {
    const u = exp(v + 1.0);
    if (u < 1e-10) return 0;
    const ue = exp(-1 / u);
    const us = Math.sqrt(u);
    return 0.3989422803 * (ue / us) * (1 + (0.04166666667 + (-0.01996527778 + 0.02709538966 * u) * u) * u);
  }
  if (v < -1) {
    const u = exp(-v - 1);
    return (
      (exp(-u) * Math.sqrt(u) * (0.4259894875 + (-0.124976255 + (0.039842437 + (-0.006298287635 + 0.001511162253 * v) * v) * v) * v)) /
      (1 + (-0.3388260629 + (0.09594393323 + (-0.01608042283 + 0.003778942063 * v) * v) * v) * v)
    );
  }
  if (v < 1) {
    return (
      (0.1788541609 + (0.1173957403 + (0.01488850518 + (-0.001394989411 + 0.0001283617211 * v) * v) * v) * v) /
      (1 + (0.7428795082 + (0.3153932961 + (0.06694219548 + 0.008790609714 * v) * v) * v) * v)
    );
  }
  if (v < 5) {
    return (
      (0.1788544503 + (0.09359161662 + (0.006325387654 + (0.00006611667319 - 0.000002031049101 * v) * v) * v) * v) /
      (1 + (0.6097809921 + (0.2560616665 + (0.04746722384 + 0.006957301675 * v) * v) * v) * v)
    );
  }
  if (v < 12) {
    const u = 1 / v;
    return (
      (u * u * (0.9874054407 + (118.6723273 + (849.279436 + (-743.7792444 + 427.0262186 * u) * u) * u) * u)) /
      (1 + (106.8615961 + (337.6496214 + (2016.712389 + 1597.063511 * u) * u) * u) * u)
    );
  }
  if (v < 50) {
    const u = 1 / v;
    return (
      (u * u * (1.003675074 + (167.5702434 + (4789.711289 + (21217.86767 - 22324.9491 * u) * u) * u) * u)) /
      (1 + (156.9424537 + (3745.310488 + (9834.698876 + 66924.28357 * u) * u) * u) * u)
    );
  }
  if (v < 300) {
    const u = 1 / v;
    return (
      (u * u * (1.000827619 + (664.9143136 + (62972.92665 + (475554.6998 - 5743609.109 * u) * u) * u) * u)) /
      (1 + (651.4101098 + (56974.73333 + (165917.4725 - 2815759.939 * u) * u) * u) * u)
    );
  }
  const u = 1 / (v - (v * log(v)) / (v + 1));
  return u * u * (1 + (-1.84556867 - 4.284640743 * u) * u);
}

/** The most probable value of the Landau variable λ. */
export const LANDAU_MOST_PROBABLE = -0.22278;

/**
 * Tables of the Landau distribution truncated at λ_max: cumulative C(λ) and the truncated mean
 * m(λ) = ∫^λ λ'φ dλ' / C(λ). Grid: step 0.01 on [−3.8, 20], then logarithmic to 1e5.
 */
const landauGrid = (() => {
  const points: number[] = [];
  for (let v = -3.8; v < 20; v += 0.01) points.push(v);
  const nLog = 600;
  for (let i = 0; i <= nLog; i++) points.push(20 * pow(1e5 / 20, i / nLog));
  const n = points.length;
  const lambda = Float64Array.from(points);
  const cdf = new Float64Array(n);
  const mean = new Float64Array(n);
  let c = 0;
  let m1 = 0;
  let prevPdf = landauDensity(lambda[0]!);
  mean[0] = lambda[0]!;
  for (let i = 1; i < n; i++) {
    const pdf = landauDensity(lambda[i]!);
    const h = lambda[i]! - lambda[i - 1]!;
    c += 0.5 * h * (pdf + prevPdf);
    m1 += 0.5 * h * (pdf * lambda[i]! + prevPdf * lambda[i - 1]!);
    cdf[i] = c;
    mean[i] = c > 0 ? m1 / c : lambda[i]!;
    prevPdf = pdf;
  }
  return { lambda, cdf, mean, n };
})();

/** Smallest index i with array[i] ≥ x (array increasing), clamped to [1, n−1]. */
function searchAbove(array: Float64Array, x: number, n: number): number {
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (array[mid]! < x) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** λ at cumulative probability u, by binary search in the Landau grid (exact up to the grid's linear interpolation). */
function landauQuantileSearch(u: number): number {
  const g = landauGrid;
  const j = searchAbove(g.cdf, u, g.n);
  const c0 = g.cdf[j - 1]!;
  const c1 = g.cdf[j]!;
  const f = c1 > c0 ? (u - c0) / (c1 - c0) : 0;
  return g.lambda[j - 1]! + f * (g.lambda[j]! - g.lambda[j - 1]!);
}

/** Lookup tables for O(1) sampling: the quantile function on a uniform u grid up to QUANTILE_U_MAX, and C(λ_max) versus the truncated mean. */
const QUANTILE_POINTS = 8192;
const QUANTILE_U_MAX = 0.98;
const TRUNCATION_MEAN_MIN = -1.8;
const TRUNCATION_MEAN_STEP = 0.005;
const landauLookup = (() => {
  const quantile = new Float64Array(QUANTILE_POINTS + 1);
  for (let i = 0; i <= QUANTILE_POINTS; i++) quantile[i] = landauQuantileSearch((QUANTILE_U_MAX * i) / QUANTILE_POINTS);
  const g = landauGrid;
  const maxMean = g.mean[g.n - 1]!;
  const nMean = Math.floor((maxMean - TRUNCATION_MEAN_MIN) / TRUNCATION_MEAN_STEP) + 1;
  const cdfAtTruncation = new Float64Array(nMean);
  for (let i = 0; i < nMean; i++) {
    const k = searchAbove(g.mean, TRUNCATION_MEAN_MIN + i * TRUNCATION_MEAN_STEP, g.n);
    // interpolate C between the grid points bracketing the target mean
    const m0 = g.mean[k - 1]!;
    const m1 = g.mean[k]!;
    const f = m1 > m0 ? (TRUNCATION_MEAN_MIN + i * TRUNCATION_MEAN_STEP - m0) / (m1 - m0) : 1;
    cdfAtTruncation[i] = g.cdf[k - 1]! + Math.min(Math.max(f, 0), 1) * (g.cdf[k]! - g.cdf[k - 1]!);
  }
  return { quantile, cdfAtTruncation, nMean };
})();

/**
 * The Landau variable drawn from the distribution truncated at the λ_max whose truncated mean is
 * `targetMean`; NaN when no truncation reaches so low a mean (the step is then Gaussian).
 */
function sampleTruncatedLandau(targetMean: number, rng: Random): number {
  if (targetMean <= TRUNCATION_MEAN_MIN) return NaN; // truncations below λ ≈ −1.8 are not Landau-like any more
  const t = (targetMean - TRUNCATION_MEAN_MIN) / TRUNCATION_MEAN_STEP;
  const L = landauLookup;
  let cMax: number;
  if (t >= L.nMean - 1) cMax = L.cdfAtTruncation[L.nMean - 1]!;
  else {
    const i = Math.floor(t);
    const f = t - i;
    cMax = L.cdfAtTruncation[i]! * (1 - f) + L.cdfAtTruncation[i + 1]! * f;
  }
  const u = rng.uniform() * cMax;
  if (u >= QUANTILE_U_MAX) return landauQuantileSearch(u);
  const v = (u / QUANTILE_U_MAX) * QUANTILE_POINTS;
  const i = Math.floor(v);
  const f = v - i;
  return L.quantile[i]! * (1 - f) + L.quantile[i + 1]! * f;
}

/** Kinematics of a step needed by the fluctuation models. */
export interface StepKinematics {
  /** velocity β at the start of the step */
  beta: number;
  /** βγ at the start of the step */
  betaGamma: number;
  mass: number;
}

/**
 * Energy lost in one step (GeV), fluctuating about `meanLoss`:
 *  - κ = ξ/W_max ≥ VAVILOV_GAUSSIAN_KAPPA: Gaussian with the Bohr variance ξ·W_max·(1 − β²/2);
 *  - otherwise a Landau distribution truncated so that its mean is `meanLoss` and its most probable value
 *    is the PDG Δp = ξ[ln(2mc²β²γ²/I) + ln(ξ/I) + 0.200 − β² − δ]: mean − Δp = ξ[ln(W_max/ξ) − β² − 0.2]
 *    (the truncation is what turns Landau into a Vavilov-like distribution as κ grows).
 * The result is clamped to [0, kineticEnergy].
 */
export function sampleEnergyLoss(
  m: MaterialConstants,
  stepLength: number,
  meanLoss: number,
  kineticEnergy: number,
  kin: StepKinematics,
  rng: Random,
): number {
  if (meanLoss <= 0) return 0;
  const xi = landauXi(m, stepLength, kin.beta);
  const wmax = maxEnergyTransfer(kin.betaGamma, kin.mass);
  const kappa = xi / wmax;
  let loss: number;
  const beta2 = kin.beta * kin.beta;
  const targetMean = LANDAU_MOST_PROBABLE - log(kappa) - beta2 - 0.2;
  const lambda = kappa < VAVILOV_GAUSSIAN_KAPPA ? sampleTruncatedLandau(targetMean, rng) : NaN;
  if (lambda === lambda) {
    loss = meanLoss + xi * (lambda - targetMean);
  } else {
    const sigma = Math.sqrt(xi * wmax * (1 - beta2 / 2));
    loss = meanLoss + sigma * rng.gauss();
  }
  return Math.min(Math.max(loss, 0), kineticEnergy);
}

/**
 * Variance of the energy loss in a step (GeV²) used in the covariance propagation: the Bohr variance
 * ξ·W_max·(1 − β²/2) where the loss is Gaussian; in the Landau regime the Bohr variance is dominated by
 * rare hard collisions that a Gaussian track fit does not see, so the core width (FWHM ≈ 4ξ, σ ≈ 4ξ/2.355)
 * is used instead [A].
 */
export function energyLossVariance(m: MaterialConstants, stepLength: number, kin: StepKinematics): number {
  const xi = landauXi(m, stepLength, kin.beta);
  const wmax = maxEnergyTransfer(kin.betaGamma, kin.mass);
  if (xi / wmax >= VAVILOV_GAUSSIAN_KAPPA) return xi * wmax * (1 - (kin.beta * kin.beta) / 2);
  const sigma = (4 * xi) / 2.355;
  return sigma * sigma;
}
