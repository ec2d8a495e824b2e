/**
 * The one stepper of muid-wasm: a charged particle moves on exact helix segments through the Belle II
 * material layout (thin shells in the tracking volume, ECL CsI, coil and cryostat, KLM gaps and iron
 * plates), one homogeneous region per step, with material effects applied per step.
 *
 * Two modes share every line of geometry, field and mean energy loss:
 *  - truth transport (a Random is given): energy-loss fluctuations (materials.ts sampleEnergyLoss) and
 *    Gaussian multiple-scattering deflections and displacements (PDG's correlated (y, θ) recipe,
 *    physics.md §2.3); discrete processes (decay, hadronic interactions) limit the steps through a
 *    DiscreteProcesses hook owned by the caller (src/sim/transport.ts);
 *  - muon-hypothesis extrapolation (no Random, as Muid's geant4e swim, klm.md §2.2): mean energy loss and
 *    a 6×6 covariance of (x, y, z, px, py, pz) propagated with the analytic helix Jacobian at fixed path
 *    length, the energy-loss Jacobian, multiple-scattering noise (Highland) and energy-loss straggling.
 *    The covariance at a layer plane is what Muid's χ² gate and Kalman update use (klm.md §2.4–2.5; its
 *    projection H removes the along-track direction, so fixed-path-length propagation is equivalent).
 *
 * Layout (constants.ts; approximations marked [A] there): tracking volume r < 125 cm between the ECL
 * endcap faces with thin shells (VXD, CDC, TOP, QBB); projective CsI: barrel r ≥ 125 cm with depth 30 cm
 * along the ray from the IP (rear surface r = 125 + 30 sin θ), endcaps from z = 196 / −102.02 cm with
 * 30 cm along the ray; ECL container walls as thin Al at the CsI front and rear; coil slabs 170–200 cm;
 * barrel KLM octagon (sector planes) with 15 gaps and 15 iron plates; endcap KLM z-slabs; the 1 cm
 * Al-equivalent detector of each KLM gap as a thin layer on the layer's middle plane, which is also the
 * plane where a layer crossing is recorded (Muid's crossing plane, klm.md §2.3). Without a covariance
 * (truth mode) the two halves of a field-free, empty gap are one step and the crossing point is
 * interpolated on its straight segment; with a covariance the step stops on the plane, so that an
 * observer may update the state there (Muid's Kalman filter).
 *
 * Inner loop: no allocation; the state, the cell and the helix parameters live in preallocated fields.
 * The covariance transport uses the Jacobians' block structure (the dense products' operations minus
 * their structural zeros, so the same bits) and may be deferred (PropagatorOptions.deferCovariance):
 * the trajectory never depends on it, so a caller brings it up to date only where it reads it.
 */
import {
  BEAMLINE_RADIUS,
  BKLM_HALF_LENGTH,
  BKLM_INNER_RADIUS,
  BKLM_LAYERS,
  BKLM_OUTER_RADIUS,
  BKLM_SECTORS,
  COIL_HALF_LENGTH,
  COIL_INNER_RADIUS,
  COIL_OUTER_RADIUS,
  COIL_SLABS,
  CSI,
  ALUMINIUM,
  IRON,
  QUARTZ,
  DETECTOR_Z_OFFSET,
  ECL_BACKWARD_COVERAGE_DEG,
  ECL_BACKWARD_FRONT_PLANE,
  ECL_BARREL_COVERAGE_DEG,
  ECL_CONTAINER_FRONT_THICKNESS,
  ECL_CONTAINER_REAR_THICKNESS,
  ECL_CRYSTAL_DEPTH,
  ECL_FORWARD_COVERAGE_DEG,
  ECL_FORWARD_FRONT_PLANE,
  ECL_FRONT_RADIUS,
  ECL_MAX_STEP,
  EKLM_BACKWARD_LAYERS,
  EKLM_FORWARD_LAYERS,
  EKLM_LAYER_SLOTS,
  EKLM_SECTION_FRONT,
  EKLM_SECTION_INNER_RADIUS,
  EKLM_SECTION_LENGTH,
  EKLM_SECTION_OUTER_RADIUS,
  HELIX_K,
  INNER_MATERIAL_SHELLS,
  KLM_GAP_MATERIAL_THICKNESS,
  SOLENOID_FIELD_HALF_LENGTH,
  SOLENOID_FIELD_RADIUS,
  SPEED_OF_LIGHT,
  STEP_MAX_MOMENTUM_LOSS,
  TRANSPORT_MAX_PATH,
  TRANSPORT_MIN_KINETIC_ENERGY,
  VACUUM_MAX_STEP,
  WORLD_RADIUS,
  type MaterialConstants,
} from "../constants.js";
import { InputError } from "../errors.js";
import type { Random } from "../sim/random.js";
import type { KlmSection, TrackAtIp } from "../sim/types.js";
import { hypot2 } from "../math/hypot.js";
import { barrelReturnField, endcapReturnField, solenoidField } from "./field.js";
import {
  barrelGapInnerRadius,
  barrelGapOuterRadius,
  barrelLayerRadius,
  barrelSectorOf,
  endcapIronPlate,
  endcapSectorOf,
  sectorCos,
  sectorSin,
} from "./klm.js";
import { energyLossVariance, highlandAngle, rangeTable, sampleEnergyLoss, type RangeTable, type StepKinematics } from "./materials.js";
import { asin, atan2, cos, log, sin, sinCos, tan } from "../math/ieee754.js";
/** sin and cos of the helix turning angle (sinCos: one argument reduction, no boxed results). */
const SIN_COS = new Float64Array(2);

// ───────────── materials by id ─────────────

/** Material ids of the stepper: 0 vacuum (or air, neglected), 1 CsI, 2 Fe, 3 Al, 4 SiO2. */
export const MATERIAL_VACUUM = 0;
export const MATERIAL_CSI = 1;
export const MATERIAL_IRON = 2;
export const MATERIAL_ALUMINIUM = 3;
export const MATERIAL_QUARTZ = 4;
export type MaterialId = 0 | 1 | 2 | 3 | 4;
const MATERIAL_CONSTANTS: readonly (MaterialConstants | null)[] = [null, CSI, IRON, ALUMINIUM, QUARTZ];
function materialIdOf(name: "Al" | "SiO2" | "Fe" | "CsI"): MaterialId {
  return name === "CsI" ? MATERIAL_CSI : name === "Fe" ? MATERIAL_IRON : name === "Al" ? MATERIAL_ALUMINIUM : MATERIAL_QUARTZ;
}
/** The constants of a material id (null for vacuum). */
export function materialConstantsOf(id: MaterialId): MaterialConstants | null {
  return MATERIAL_CONSTANTS[id]!;
}

// ───────────── cells ─────────────

/** Cell kinds: where a point is. */
export const CELL_TRACKER = 0;
export const CELL_ECL_BARREL = 1;
export const CELL_ECL_FORWARD = 2;
export const CELL_ECL_BACKWARD = 3;
export const CELL_COIL = 4;
export const CELL_BARREL_KLM = 5;
export const CELL_ENDCAP_KLM = 6;
export const CELL_AIR = 7;
export const CELL_OUTSIDE = 8;

const DEG = Math.PI / 180;
const ECL_FORWARD_COS = [cos(ECL_FORWARD_COVERAGE_DEG[0] * DEG), cos(ECL_FORWARD_COVERAGE_DEG[1] * DEG)] as const;
const ECL_BARREL_COS = [cos(ECL_BARREL_COVERAGE_DEG[0] * DEG), cos(ECL_BARREL_COVERAGE_DEG[1] * DEG)] as const;
const ECL_BACKWARD_COS = [cos(ECL_BACKWARD_COVERAGE_DEG[0] * DEG), cos(ECL_BACKWARD_COVERAGE_DEG[1] * DEG)] as const;

/** Tracking-volume cell boundaries (radii) with a thin shell at every inner boundary. */
const TRACKER_BOUNDS = Float64Array.from([0, ...INNER_MATERIAL_SHELLS.map((s) => s.radius), ECL_FRONT_RADIUS]);
const TRACKER_SHELL_MATERIAL = INNER_MATERIAL_SHELLS.map((s) => materialIdOf(s.material));
const TRACKER_SHELL_THICKNESS = Float64Array.from(INNER_MATERIAL_SHELLS.map((s) => s.thickness));

/** Coil cells between COIL_INNER_RADIUS and COIL_OUTER_RADIUS: boundaries, materials, whether the solenoid field is on. */
const COIL_BOUNDS: number[] = [];
const COIL_MATERIAL: MaterialId[] = [];
{
  let r = COIL_INNER_RADIUS;
  COIL_BOUNDS.push(r);
  const cuts: [number, number, MaterialId][] = COIL_SLABS.map(([a, b, m]) => [a, b, materialIdOf(m)]);
  // split the winding at the field edge
  const withEdge: [number, number, MaterialId][] = [];
  for (const [a, b, m] of cuts) {
    if (a < SOLENOID_FIELD_RADIUS && b > SOLENOID_FIELD_RADIUS) {
      withEdge.push([a, SOLENOID_FIELD_RADIUS, m], [SOLENOID_FIELD_RADIUS, b, m]);
    } else withEdge.push([a, b, m]);
  }
  for (const [a, b, m] of withEdge) {
    if (a > r + 1e-9) {
      COIL_BOUNDS.push(a);
      COIL_MATERIAL.push(MATERIAL_VACUUM);
    }
    COIL_BOUNDS.push(b);
    COIL_MATERIAL.push(m);
    r = b;
  }
  if (r < COIL_OUTER_RADIUS - 1e-9) {
    COIL_BOUNDS.push(COIL_OUTER_RADIUS);
    COIL_MATERIAL.push(MATERIAL_VACUUM);
  }
}
const COIL_BOUNDS_ARRAY = Float64Array.from(COIL_BOUNDS);

/**
 * Barrel KLM cells along the octagon radius, per sector: for layer n three cells (gap inner half, gap
 * outer half, iron plate n−1 behind it); boundaries g_in(n), middle(n, sector), g_out(n), …, 353.5.
 * Cell k: layer = floor(k/3) + 1, part = k mod 3 (0, 1 gap halves, 2 iron).
 */
const BARREL_CELLS = 3 * BKLM_LAYERS;
const BARREL_BOUNDS: Float64Array[] = [];
for (let sector = 1; sector <= BKLM_SECTORS; sector++) {
  const b = new Float64Array(BARREL_CELLS + 1);
  for (let n = 1; n <= BKLM_LAYERS; n++) {
    b[3 * (n - 1)] = barrelGapInnerRadius(n);
    b[3 * (n - 1) + 1] = barrelLayerRadius(n, sector);
    b[3 * (n - 1) + 2] = barrelGapOuterRadius(n);
  }
  b[BARREL_CELLS] = BKLM_OUTER_RADIUS;
  BARREL_BOUNDS.push(b);
}

/**
 * Endcap KLM cells along |ζ|: cell 0 = iron plate 0 in front of layer 1; then for layer n (1–14) the
 * gap halves and iron plate n. Boundaries: 230, g_in(1), middle(1), g_out(1), …, 362.1.
 */
const ENDCAP_CELLS = 1 + 3 * EKLM_LAYER_SLOTS;
const ENDCAP_BOUNDS = new Float64Array(ENDCAP_CELLS + 1);
{
  ENDCAP_BOUNDS[0] = EKLM_SECTION_FRONT;
  for (let n = 1; n <= EKLM_LAYER_SLOTS; n++) {
    const [, gapInner] = endcapIronPlate(n - 1);
    const [gapOuter] = endcapIronPlate(n);
    ENDCAP_BOUNDS[1 + 3 * (n - 1)] = gapInner;
    ENDCAP_BOUNDS[1 + 3 * (n - 1) + 1] = 0.5 * (gapInner + gapOuter);
    ENDCAP_BOUNDS[1 + 3 * (n - 1) + 2] = gapOuter;
  }
  ENDCAP_BOUNDS[ENDCAP_CELLS] = EKLM_SECTION_FRONT + EKLM_SECTION_LENGTH;
}
/** Whether each bounds array is non-decreasing (findCellNear's condition). */
const BARREL_BOUNDS_SORTED = BARREL_BOUNDS.map((b) => isNonDecreasing(b, BARREL_CELLS));
const ENDCAP_BOUNDS_SORTED = isNonDecreasing(ENDCAP_BOUNDS, ENDCAP_CELLS);
const COIL_BOUNDS_SORTED = isNonDecreasing(COIL_BOUNDS_ARRAY, COIL_MATERIAL.length);
const TRACKER_BOUNDS_SORTED = isNonDecreasing(TRACKER_BOUNDS, TRACKER_BOUNDS.length - 1);

/**
 * Normals (−sin e, cos e) of the barrel sector edge planes at e = φ_s ± 22.5° (index = sector 1–8), computed
 * once instead of per step.
 */
const SECTOR_EDGE_UPPER_NX = new Float64Array(BKLM_SECTORS + 1);
const SECTOR_EDGE_UPPER_NY = new Float64Array(BKLM_SECTORS + 1);
const SECTOR_EDGE_LOWER_NX = new Float64Array(BKLM_SECTORS + 1);
const SECTOR_EDGE_LOWER_NY = new Float64Array(BKLM_SECTORS + 1);
for (let sector = 1; sector <= BKLM_SECTORS; sector++) {
  const e1 = (sector - 1) * (Math.PI / 4) + Math.PI / 8;
  const e2 = (sector - 1) * (Math.PI / 4) - Math.PI / 8;
  SECTOR_EDGE_UPPER_NX[sector] = -sin(e1);
  SECTOR_EDGE_UPPER_NY[sector] = cos(e1);
  SECTOR_EDGE_LOWER_NX[sector] = -sin(e2);
  SECTOR_EDGE_LOWER_NY[sector] = cos(e2);
}

function findCell(bounds: ArrayLike<number>, n: number, v: number): number {
  // largest k with bounds[k] ≤ v, in [0, n−1]
  let lo = 0;
  let hi = n;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (bounds[mid]! <= v) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * findCell starting from a guess (the previous cell; a step mostly ends in it or a neighbour): a k with
 * (k = 0 or bounds[k] ≤ v) and (k = n − 1 or bounds[k + 1] > v) is where the binary search ends, and on
 * non-decreasing bounds only one k satisfies both, so checking the guess and its neighbours returns the
 * same cell. Unsorted bounds (none in this layout) always take the binary search.
 */
function findCellNear(bounds: ArrayLike<number>, sorted: boolean, n: number, v: number, guess: number): number {
  if (sorted) {
    for (let k = guess - 1; k <= guess + 1; k++) {
      if (k >= 0 && k < n && (k === 0 || bounds[k]! <= v) && (k === n - 1 || bounds[k + 1]! > v)) return k;
    }
  }
  return findCell(bounds, n, v);
}

function isNonDecreasing(bounds: ArrayLike<number>, n: number): boolean {
  for (let k = 1; k < n; k++) if (!(bounds[k]! >= bounds[k - 1]!)) return false;
  return true;
}

/**
 * One entry of the helix Jacobian's ∂x/∂p0 block: −s u_j/P³ · V_i + (s/P)(∥_ij + f1 ⊥_ij + f2 (b̂ × e_j)_i
 * + (d1 u⊥_i + d2 w_i) ∂φ/∂u_j), in this association order.
 */
function helixPositionEntry(k: number, v: number, g: number, par: number, perp: number, cross: number, f1: number, f2: number, x: number, dphi: number): number {
  return k * v + g * (par + f1 * perp + f2 * cross + x * dphi);
}

/** One entry of the ∂p/∂p0 block: ∥_ij + cos φ ⊥_ij − sin φ (b̂ × e_j)_i + (−sin φ u⊥_i − cos φ w_i) ∂φ/∂u_j. */
function helixMomentumEntry(par: number, perp: number, cross: number, cs: number, sn: number, y: number, dphi: number): number {
  return par + cs * perp - sn * cross + y * dphi;
}

// ───────────── state ─────────────

/** The particle state the stepper moves (cm, GeV/c, ns); `covariance` is the 6×6 row-major covariance or null. */
export class TrackState {
  x = 0; y = 0; z = 0;
  px = 0; py = 0; pz = 0;
  charge: 1 | -1 = 1;
  mass = 0;
  /** ns since the collision */
  time = 0;
  /** path length travelled, cm */
  path = 0;
  covariance: Float64Array | null = null;

  get p(): number {
    return Math.sqrt(this.px * this.px + this.py * this.py + this.pz * this.pz);
  }
}

/** Why `Propagator.run` returned. */
export const STOP_LEFT_WORLD = 0;
export const STOP_RANGED_OUT = 1;
export const STOP_PROCESS = 2;
export const STOP_MAX_PATH = 3;
export const STOP_BEAMLINE = 4;
export const STOP_BY_OBSERVER = 5;
export type StopReason = 0 | 1 | 2 | 3 | 4 | 5;

/** Discrete processes of the truth transport (decay, inelastic interactions): they cut the steps. */
export interface DiscreteProcesses {
  /** Path length (cm) before the next discrete process at momentum p in a material (Infinity if none). */
  distanceToProcess(material: MaterialId, p: number, mass: number): number;
  /** The particle moved `length` cm through `material` at momentum p: spend the budgets. */
  consume(material: MaterialId, length: number, p: number, mass: number): void;
}

/** What the stepper reports while it moves a particle (all methods are called synchronously). */
export interface PropagationObserver {
  /** `energy` (GeV) was lost in `material` over a step of `length` cm centred at (x, y, z). */
  energyLoss(material: MaterialId, cell: number, x: number, y: number, z: number, energy: number, length: number): void;
  /**
   * The particle crossed the middle plane of a KLM layer (outward or inward); `state` is on the plane and
   * may be modified in place (a Kalman update during the extrapolation). Return true to stop.
   */
  layerCrossing(section: KlmSection, sector: number, layer: number, state: TrackState): boolean;
  /** The particle entered cell kind `cell` (for ECL entry, polylines). */
  cellEntered(cell: number, state: TrackState): void;
}

// ───────────── the stepper ─────────────

/** After a boundary step the point is pushed this far (cm) across, so the surface just crossed lies behind it. */
const NUDGE = 1e-6;

export interface PropagatorOptions {
  /** solenoid (and return-field) scale, 1 = 1.5 T */
  fieldScale?: number;
  /** truth mode: fluctuations and scattering from this Random */
  rng?: Random | null;
  /** discrete processes of the truth transport */
  processes?: DiscreteProcesses | null;
  /** propagate this 6×6 covariance (row-major, 36 numbers; copied) */
  covariance?: ArrayLike<number> | null;
  /**
   * Defer the covariance transport: the steps log their Jacobians and noise, and state.covariance is
   * brought up to date (the same operations in the same order, so the same bits) only by
   * materializeCovariance(); the operations after the last call are never done. The trajectory does not
   * depend on the covariance, so only a caller that reads it (Muid's association, at crossings with
   * candidate hits) pays for it. Observers must call materializeCovariance() before reading or changing it.
   */
  deferCovariance?: boolean;
}

/** Words of the deferred covariance log: 64 operations of at most 19 words (kind + helix blocks A, B). */
const COVARIANCE_LOG_WORDS = 64 * 19;
const LOG_HELIX = 1;
const LOG_LOSS = 2;

export class Propagator {
  readonly state = new TrackState();
  private fieldScale = 1;
  private rng: Random | null = null;
  private processes: DiscreteProcesses | null = null;
  private tables: (RangeTable | null)[] = [null, null, null, null, null];
  private tableMass = -1;
  private readonly tablesByMass = new Map<number, (RangeTable | null)[]>();

  // current cell
  private cellKind = CELL_OUTSIDE;
  private cellIndex = 0;
  private cellSector = 1;
  private cellMaterial: MaterialId = MATERIAL_VACUUM;
  private bx = 0;
  private by = 0;
  private bz = 0;

  // helix of the current step
  private hP = 0;
  private hC = 0;
  private hKappa = 0;
  private hbx = 0; private hby = 0; private hbz = 1;
  private uParX = 0; private uParY = 0; private uParZ = 0;
  private uPerpX = 0; private uPerpY = 0; private uPerpZ = 0;
  private wX = 0; private wY = 0; private wZ = 0;
  private straight = true;
  // φ = κ s of the last helixAt with its sin, cos, f1, f2 (for helixJacobian of the same step)
  private stepPhi = 0; private stepSin = 0; private stepCos = 1; private stepF1 = 1; private stepF2 = 0;

  // scratch
  private readonly nx = new Float64Array(6);
  /** helix Jacobian blocks ∂x/∂p0 (A, 0–8) and ∂p/∂p0 (B, 9–17), 3×3 row-major */
  private readonly jac = new Float64Array(18);
  private readonly helixVectors = new Float64Array(21);
  private readonly noiseDirection = new Float64Array(3);
  private readonly tmp = new Float64Array(36);
  private readonly cov = new Float64Array(36);
  // deferred covariance transport (PropagatorOptions.deferCovariance)
  private deferCovariance = false;
  private readonly covarianceLog = new Float64Array(COVARIANCE_LOG_WORDS);
  private covarianceLogLength = 0;
  private readonly kinematics: StepKinematics = { beta: 1, betaGamma: 1, mass: 1 };
  private normalSpare = NaN;
  // start of the current step (for crossings interpolated inside merged gaps)
  private stepX = 0; private stepY = 0; private stepZ = 0; private stepTime = 0;

  /** Sets the particle and the mode; the state is copied. */
  start(
    particle: { x: number; y: number; z: number; px: number; py: number; pz: number; charge: 1 | -1; mass: number },
    options: PropagatorOptions = {},
  ): void {
    const s = this.state;
    if (!(Number.isFinite(particle.x) && Number.isFinite(particle.y) && Number.isFinite(particle.z) && Number.isFinite(particle.px) && Number.isFinite(particle.py) && Number.isFinite(particle.pz))) {
      throw new InputError(`propagation start: position (${particle.x}, ${particle.y}, ${particle.z}) or momentum (${particle.px}, ${particle.py}, ${particle.pz}) is not finite`);
    }
    if (particle.px === 0 && particle.py === 0 && particle.pz === 0) throw new InputError("propagation start: momentum is zero");
    if (!(particle.mass > 0)) throw new InputError(`propagation start: mass ${particle.mass} must be > 0`);
    if (particle.charge !== 1 && particle.charge !== -1) throw new InputError(`propagation start: charge ${String(particle.charge)} must be ±1`);
    s.x = particle.x; s.y = particle.y; s.z = particle.z;
    s.px = particle.px; s.py = particle.py; s.pz = particle.pz;
    s.charge = particle.charge;
    s.mass = particle.mass;
    s.time = 0;
    s.path = 0;
    this.fieldScale = options.fieldScale ?? 1;
    if (!Number.isFinite(this.fieldScale)) throw new InputError(`propagation start: fieldScale ${this.fieldScale} is not finite`);
    this.rng = options.rng ?? null;
    this.normalSpare = NaN;
    this.processes = options.processes ?? null;
    if (options.covariance) {
      if (options.covariance.length !== 36) throw new InputError(`propagation start: covariance needs 36 numbers, got ${options.covariance.length}`);
      this.cov.set(options.covariance);
      s.covariance = this.cov;
    } else s.covariance = null;
    this.deferCovariance = options.deferCovariance === true && s.covariance !== null;
    this.covarianceLogLength = 0;
    this.locate();
  }

  /** Changes the particle in place (a decay or a leading particle): new momentum, mass, charge. */
  replaceParticle(px: number, py: number, pz: number, mass: number, charge: 1 | -1): void {
    const s = this.state;
    s.px = px; s.py = py; s.pz = pz;
    s.mass = mass;
    s.charge = charge;
    this.locate();
  }

  /** Moves this (otherwise idle) propagator's point to (x, y, z) and finds its cell; for geometry queries. */
  locateAt(x: number, y: number, z: number): this {
    const s = this.state;
    s.x = x; s.y = y; s.z = z;
    this.locate();
    return this;
  }

  /** The cell kind the particle is in. */
  get cell(): number {
    return this.cellKind;
  }
  /** The material id of the current cell. */
  get material(): MaterialId {
    return this.cellMaterial;
  }

  private tableFor(material: MaterialId): RangeTable {
    const mass = this.state.mass;
    if (mass !== this.tableMass) {
      // a few masses alternate (μ, π, a decay's μ): keep each mass's tables
      let tables = this.tablesByMass.get(mass);
      if (tables === undefined) {
        tables = [null, null, null, null, null];
        this.tablesByMass.set(mass, tables);
      }
      this.tables = tables;
      this.tableMass = mass;
    }
    let t = this.tables[material];
    if (!t) {
      t = rangeTable(MATERIAL_CONSTANTS[material]!, mass);
      this.tables[material] = t;
    }
    return t;
  }

  // ───────── locate ─────────

  /** Finds the cell of the current position (nudged along the direction by the caller when on a boundary). */
  private locate(): void {
    const s = this.state;
    const x = s.x, y = s.y, z = s.z;
    const zeta = z - DETECTOR_Z_OFFSET;
    const az = Math.abs(zeta);
    const r2 = x * x + y * y;
    const r = Math.sqrt(r2);
    this.bx = 0; this.by = 0; this.bz = 0;
    this.cellMaterial = MATERIAL_VACUUM;
    if (az >= EKLM_SECTION_FRONT + EKLM_SECTION_LENGTH || r >= WORLD_RADIUS) {
      this.cellKind = CELL_OUTSIDE;
      return;
    }
    if (r >= BKLM_INNER_RADIUS) {
      // octagon radius and sector: the largest projection on the 8 sector normals (no atan2 in the hot path)
      let sector = 1;
      let perp = -Infinity;
      for (let k = 1; k <= BKLM_SECTORS; k++) {
        const d = x * sectorCos(k) + y * sectorSin(k);
        if (d > perp) {
          perp = d;
          sector = k;
        }
      }
      if (perp >= BKLM_OUTER_RADIUS) {
        this.cellKind = CELL_OUTSIDE;
        return;
      }
      if (az < BKLM_HALF_LENGTH && perp >= BKLM_INNER_RADIUS) {
        this.cellKind = CELL_BARREL_KLM;
        this.cellSector = sector;
        const k = findCellNear(BARREL_BOUNDS[sector - 1]!, BARREL_BOUNDS_SORTED[sector - 1]!, BARREL_CELLS, perp, this.cellIndex);
        this.cellIndex = k;
        if (k % 3 === 2) {
          this.cellMaterial = MATERIAL_IRON;
          this.bz = barrelReturnField((k - 2) / 3, zeta, this.fieldScale);
        }
        return;
      }
    }
    if (az >= EKLM_SECTION_FRONT) {
      if (r < EKLM_SECTION_INNER_RADIUS) {
        this.cellKind = CELL_OUTSIDE;
        return;
      }
      this.cellKind = CELL_ENDCAP_KLM;
      this.cellSector = endcapSectorOf(x, y);
      const k = findCellNear(ENDCAP_BOUNDS, ENDCAP_BOUNDS_SORTED, ENDCAP_CELLS, az, this.cellIndex);
      this.cellIndex = k;
      if (k === 0 || (k - 1) % 3 === 2) {
        this.cellMaterial = MATERIAL_IRON;
        const plate = k === 0 ? 0 : (k - 3) / 3 + 1;
        const br = endcapReturnField(plate, r, zeta > 0, this.fieldScale);
        if (r > 0) {
          this.bx = (br * x) / r;
          this.by = (br * y) / r;
        }
      }
      return;
    }
    this.bz = solenoidField(x, y, z, this.fieldScale);
    if (r >= COIL_INNER_RADIUS && r < COIL_OUTER_RADIUS && az < COIL_HALF_LENGTH) {
      this.cellKind = CELL_COIL;
      const k = findCellNear(COIL_BOUNDS_ARRAY, COIL_BOUNDS_SORTED, COIL_MATERIAL.length, r, this.cellIndex);
      this.cellIndex = k;
      this.cellMaterial = COIL_MATERIAL[k]!;
      return;
    }
    const dist = Math.sqrt(r2 + z * z);
    const cosTheta = dist > 0 ? z / dist : 1;
    if (r >= ECL_FRONT_RADIUS && cosTheta <= ECL_BARREL_COS[0] && cosTheta >= ECL_BARREL_COS[1] && r < ECL_FRONT_RADIUS + ECL_CRYSTAL_DEPTH * (r / dist)) {
      this.cellKind = CELL_ECL_BARREL;
      this.cellMaterial = MATERIAL_CSI;
      return;
    }
    if (z >= ECL_FORWARD_FRONT_PLANE && cosTheta <= ECL_FORWARD_COS[0] && cosTheta >= ECL_FORWARD_COS[1] && z < ECL_FORWARD_FRONT_PLANE + ECL_CRYSTAL_DEPTH * cosTheta) {
      this.cellKind = CELL_ECL_FORWARD;
      this.cellMaterial = MATERIAL_CSI;
      return;
    }
    if (z <= ECL_BACKWARD_FRONT_PLANE && cosTheta <= ECL_BACKWARD_COS[0] && cosTheta >= ECL_BACKWARD_COS[1] && z > ECL_BACKWARD_FRONT_PLANE + ECL_CRYSTAL_DEPTH * cosTheta) {
      this.cellKind = CELL_ECL_BACKWARD;
      this.cellMaterial = MATERIAL_CSI;
      return;
    }
    if (r < ECL_FRONT_RADIUS && z > ECL_BACKWARD_FRONT_PLANE && z < ECL_FORWARD_FRONT_PLANE) {
      this.cellKind = CELL_TRACKER;
      this.cellIndex = findCellNear(TRACKER_BOUNDS, TRACKER_BOUNDS_SORTED, TRACKER_BOUNDS.length - 1, r, this.cellIndex);
      return;
    }
    if (r < BEAMLINE_RADIUS) {
      this.cellKind = CELL_OUTSIDE;
      return;
    }
    this.cellKind = CELL_AIR;
  }

  // ───────── helix ─────────

  /** Caches the helix parameters of the current state and field for this step. */
  private prepareHelix(): void {
    const s = this.state;
    const ux = s.px, uy = s.py, uz = s.pz;
    const P = Math.sqrt(ux * ux + uy * uy + uz * uz);
    this.hP = P;
    const B = Math.sqrt(this.bx * this.bx + this.by * this.by + this.bz * this.bz);
    if (B === 0) {
      this.straight = true;
      this.hC = 0;
      this.hKappa = 0;
      this.uParX = ux; this.uParY = uy; this.uParZ = uz;
      this.uPerpX = 0; this.uPerpY = 0; this.uPerpZ = 0;
      this.wX = 0; this.wY = 0; this.wZ = 0;
      this.hbx = 0; this.hby = 0; this.hbz = 1;
      return;
    }
    const bhx = this.bx / B, bhy = this.by / B, bhz = this.bz / B;
    this.hbx = bhx; this.hby = bhy; this.hbz = bhz;
    this.straight = false;
    this.hC = HELIX_K * s.charge * B;
    this.hKappa = this.hC / P;
    const par = ux * bhx + uy * bhy + uz * bhz;
    this.uParX = par * bhx; this.uParY = par * bhy; this.uParZ = par * bhz;
    this.uPerpX = ux - this.uParX; this.uPerpY = uy - this.uParY; this.uPerpZ = uz - this.uParZ;
    // w = b̂ × u
    this.wX = bhy * uz - bhz * uy;
    this.wY = bhz * ux - bhx * uz;
    this.wZ = bhx * uy - bhy * ux;
  }

  /** Position and momentum after path length s on the cached helix, into nx[0..5]. */
  private helixAt(sLen: number): void {
    const s = this.state;
    const o = this.nx;
    const P = this.hP;
    if (this.straight) {
      const f = sLen / P;
      o[0] = s.x + f * s.px; o[1] = s.y + f * s.py; o[2] = s.z + f * s.pz;
      o[3] = s.px; o[4] = s.py; o[5] = s.pz;
      return;
    }
    const phi = this.hKappa * sLen;
    sinCos(phi, SIN_COS);
    const sn = SIN_COS[0]!;
    const cs = SIN_COS[1]!;
    let f1: number, f2: number;
    if (Math.abs(phi) < 1e-4) {
      const p2 = phi * phi;
      f1 = 1 - p2 / 6;
      f2 = -phi / 2 + (phi * p2) / 24;
    } else {
      f1 = sn / phi;
      f2 = (cs - 1) / phi;
    }
    // the Jacobian of the same step reuses them (same φ, same values)
    this.stepPhi = phi; this.stepSin = sn; this.stepCos = cs; this.stepF1 = f1; this.stepF2 = f2;
    const g = sLen / P;
    o[0] = s.x + g * (this.uParX + f1 * this.uPerpX + f2 * this.wX);
    o[1] = s.y + g * (this.uParY + f1 * this.uPerpY + f2 * this.wY);
    o[2] = s.z + g * (this.uParZ + f1 * this.uPerpZ + f2 * this.wZ);
    o[3] = this.uParX + cs * this.uPerpX - sn * this.wX;
    o[4] = this.uParY + cs * this.uPerpY - sn * this.wY;
    o[5] = this.uParZ + cs * this.uPerpZ - sn * this.wZ;
  }

  /**
   * Jacobian ∂(x(s), p(s))/∂(x0, p0) of the helix at fixed path length s (analytic). Its structure is
   * [[I, A], [0, B]] (the position does not depend on where the step starts, the momentum only on the
   * momentum): A = ∂x/∂p0 into J[at…at+8], B = ∂p/∂p0 into J[at+9…at+17] (3×3 row-major; jac, or
   * straight into the deferred log); transformHelixCovariance applies it.
   * x = x0 + (s/P)[u∥ + f1(φ) u⊥ + f2(φ) w], p = u∥ + cos φ u⊥ − sin φ w, φ = κ s = c s/P,
   * f1 = sin φ/φ, f2 = (cos φ − 1)/φ, so ∂φ/∂u_j = −φ u_j/P².
   */
  private helixJacobian(sLen: number, J: Float64Array, at: number): void {
    const s = this.state;
    const ux = s.px, uy = s.py, uz = s.pz;
    const P = this.hP;
    const P2 = P * P;
    if (this.straight) {
      // A = (s/P)(1 − u uᵀ/P²), B = 1
      const u = this.helixVectors;
      u[0] = ux; u[1] = uy; u[2] = uz;
      for (let j = 0; j < 3; j++) {
        const uj = u[j]!;
        for (let i = 0; i < 3; i++) {
          const eij = i === j ? 1 : 0;
          J[at + i * 3 + j] = (sLen / P) * (eij - (u[i]! * uj) / P2);
          J[at + 9 + i * 3 + j] = eij;
        }
      }
      return;
    }
    const g = sLen / P;
    const bh0 = this.hbx, bh1 = this.hby, bh2 = this.hbz;
    // φ, sin φ, cos φ, f1, f2 of this step from helixAt (called first with the same s)
    const phi = this.stepPhi, sn = this.stepSin, cs = this.stepCos, f1 = this.stepF1, f2 = this.stepF2;
    let d1: number, d2: number;
    if (Math.abs(phi) < 1e-4) {
      const p2 = phi * phi;
      d1 = -phi / 3;
      d2 = -0.5 + p2 / 8;
    } else {
      d1 = (phi * cs - sn) / (phi * phi);
      d2 = (-phi * sn - (cs - 1)) / (phi * phi);
    }
    const q0 = this.uPerpX, q1 = this.uPerpY, q2 = this.uPerpZ;
    const w0 = this.wX, w1 = this.wY, w2 = this.wZ;
    const v0 = this.uParX + f1 * q0 + f2 * w0;
    const v1 = this.uParY + f1 * q1 + f2 * w1;
    const v2 = this.uParZ + f1 * q2 + f2 * w2;
    // per row i: d1 u⊥_i + d2 w_i and −sin φ u⊥_i − cos φ w_i; per column j: −s u_j/P³ and ∂φ/∂u_j
    const x0 = d1 * q0 + d2 * w0, x1 = d1 * q1 + d2 * w1, x2 = d1 * q2 + d2 * w2;
    const y0 = -sn * q0 - cs * w0, y1 = -sn * q1 - cs * w1, y2 = -sn * q2 - cs * w2;
    const P3 = P2 * P;
    const k0 = (-sLen * ux) / P3, k1 = (-sLen * uy) / P3, k2 = (-sLen * uz) / P3;
    const e0 = (-phi * ux) / P2, e1 = (-phi * uy) / P2, e2 = (-phi * uz) / P2;
    // column j = 0: b̂ × e_x = (0, b̂z, −b̂y)
    let par = bh0 * bh0, perp = 1 - par;
    J[at] = helixPositionEntry(k0, v0, g, par, perp, 0, f1, f2, x0, e0);
    J[at + 9] = helixMomentumEntry(par, perp, 0, cs, sn, y0, e0);
    par = bh1 * bh0; perp = 0 - par;
    J[at + 3] = helixPositionEntry(k0, v1, g, par, perp, bh2, f1, f2, x1, e0);
    J[at + 12] = helixMomentumEntry(par, perp, bh2, cs, sn, y1, e0);
    par = bh2 * bh0; perp = 0 - par;
    J[at + 6] = helixPositionEntry(k0, v2, g, par, perp, -bh1, f1, f2, x2, e0);
    J[at + 15] = helixMomentumEntry(par, perp, -bh1, cs, sn, y2, e0);
    // column j = 1: b̂ × e_y = (−b̂z, 0, b̂x)
    par = bh0 * bh1; perp = 0 - par;
    J[at + 1] = helixPositionEntry(k1, v0, g, par, perp, -bh2, f1, f2, x0, e1);
    J[at + 10] = helixMomentumEntry(par, perp, -bh2, cs, sn, y0, e1);
    par = bh1 * bh1; perp = 1 - par;
    J[at + 4] = helixPositionEntry(k1, v1, g, par, perp, 0, f1, f2, x1, e1);
    J[at + 13] = helixMomentumEntry(par, perp, 0, cs, sn, y1, e1);
    par = bh2 * bh1; perp = 0 - par;
    J[at + 7] = helixPositionEntry(k1, v2, g, par, perp, bh0, f1, f2, x2, e1);
    J[at + 16] = helixMomentumEntry(par, perp, bh0, cs, sn, y2, e1);
    // column j = 2: b̂ × e_z = (b̂y, −b̂x, 0)
    par = bh0 * bh2; perp = 0 - par;
    J[at + 2] = helixPositionEntry(k2, v0, g, par, perp, bh1, f1, f2, x0, e2);
    J[at + 11] = helixMomentumEntry(par, perp, bh1, cs, sn, y0, e2);
    par = bh1 * bh2; perp = 0 - par;
    J[at + 5] = helixPositionEntry(k2, v1, g, par, perp, -bh0, f1, f2, x1, e2);
    J[at + 14] = helixMomentumEntry(par, perp, -bh0, cs, sn, y1, e2);
    par = bh2 * bh2; perp = 1 - par;
    J[at + 8] = helixPositionEntry(k2, v2, g, par, perp, 0, f1, f2, x2, e2);
    J[at + 17] = helixMomentumEntry(par, perp, 0, cs, sn, y2, e2);
  }

  // ───────── surfaces ─────────

  /**
   * Smallest path length s ≥ 0 at which a·sin φ + b·cos φ = k with φ = κ s (Infinity if never). A surface
   * just crossed lies NUDGE behind the point, so its root is negative and the next one is a turn away.
   */
  private trigRoot(a: number, b: number, k: number): number {
    const R = hypot2(a, b);
    if (R === 0 || Math.abs(k) > R) return Infinity;
    const alpha = atan2(b, a);
    const t1 = asin(k / R);
    const kappa = this.hKappa;
    const phiMin = 0;
    let best = Infinity;
    for (let branch = 0; branch < 2; branch++) {
      const base = branch === 0 ? t1 - alpha : Math.PI - t1 - alpha;
      let phi: number;
      if (kappa > 0) phi = base + 2 * Math.PI * Math.ceil((phiMin - base) / (2 * Math.PI));
      else phi = base + 2 * Math.PI * Math.floor((phiMin - base) / (2 * Math.PI));
      const sLen = phi / kappa;
      if (sLen >= 0 && sLen < best) best = sLen;
    }
    return best;
  }

  /**
   * Path length to the plane n·x = d (n unit), or Infinity. A plane at perpendicular distance |f0| cannot be
   * reached in less than |f0| of path, so it is skipped when that already exceeds `best`.
   */
  private planeDistance(nx: number, ny: number, nz: number, d: number, best = Infinity): number {
    const s = this.state;
    const f0 = nx * s.x + ny * s.y + nz * s.z - d;
    if (Math.abs(f0) >= best) return Infinity;
    if (this.straight || Math.abs(this.hKappa) < 1e-10) {
      const rate = (nx * s.px + ny * s.py + nz * s.pz) / this.hP;
      if (rate === 0) return Infinity;
      const sLen = -f0 / rate;
      return sLen >= 0 ? sLen : Infinity;
    }
    const nb = nx * this.hbx + ny * this.hby + nz * this.hbz;
    const nPar = (nx * this.uParX + ny * this.uParY + nz * this.uParZ) / this.hP;
    const nPerp = nx * this.uPerpX + ny * this.uPerpY + nz * this.uPerpZ;
    const nW = nx * this.wX + ny * this.wY + nz * this.wZ;
    if (Math.abs(nb) > 1 - 1e-12) {
      // plane ⟂ field: linear in s
      if (nPar === 0) return Infinity;
      const sLen = -f0 / nPar;
      return sLen >= 0 ? sLen : Infinity;
    }
    if (Math.abs(nb) < 1e-12) {
      // plane ∥ field: f = f0 + (nPerp/c) sin φ + (nW/c)(cos φ − 1)
      const c = this.hC;
      return this.trigRoot(nPerp / c, nW / c, nW / c - f0);
    }
    // general orientation (not in this geometry): straight-line estimate
    const rate = (nx * this.state.px + ny * this.state.py + nz * this.state.pz) / this.hP;
    if (rate === 0) return Infinity;
    const sLen = -f0 / rate;
    return sLen >= 0 ? sLen : Infinity;
  }

  /** Path length to the cylinder x² + y² = R², or Infinity (skipped when |r − R| ≥ best, see planeDistance). */
  private cylinderDistance(R: number, best = Infinity): number {
    const s = this.state;
    const x0 = s.x, y0 = s.y;
    if (Math.abs(Math.sqrt(x0 * x0 + y0 * y0) - R) >= best) return Infinity;
    if (this.straight || Math.abs(this.hbz) < 1 - 1e-12 || Math.abs(this.hKappa) < 1e-10) {
      // straight line (exact without field; a chord approximation in the radial endcap field)
      const tx = s.px / this.hP, ty = s.py / this.hP;
      const a = tx * tx + ty * ty;
      if (a === 0) return Infinity;
      const b = 2 * (x0 * tx + y0 * ty);
      const c = x0 * x0 + y0 * y0 - R * R;
      const disc = b * b - 4 * a * c;
      if (disc < 0) return Infinity;
      const sq = Math.sqrt(disc);
      const s1 = (-b - sq) / (2 * a);
      const s2 = (-b + sq) / (2 * a);
      if (s1 >= 0) return s1;
      if (s2 >= 0) return s2;
      return Infinity;
    }
    // field along ±z: transverse circle x⊥(φ) = C + (sin φ u⊥ + cos φ w)/c, C = x0⊥ − w/c
    const c = this.hC;
    const Cx = x0 - this.wX / c;
    const Cy = y0 - this.wY / c;
    const rho2 = (this.uPerpX * this.uPerpX + this.uPerpY * this.uPerpY) / (c * c);
    const a = (2 / c) * (Cx * this.uPerpX + Cy * this.uPerpY);
    const b = (2 / c) * (Cx * this.wX + Cy * this.wY);
    const k = R * R - (Cx * Cx + Cy * Cy) - rho2;
    return this.trigRoot(a, b, k);
  }

  /** Path length to the nearest boundary of the current cell if shorter than `limit`, else Infinity. */
  private boundaryDistance(limit: number): number {
    const s = this.state;
    let best = limit;
    let d: number;
    switch (this.cellKind) {
      case CELL_TRACKER: {
        const k = this.cellIndex;
        if (k > 0 && (d = this.cylinderDistance(TRACKER_BOUNDS[k]!, best)) < best) best = d;
        if ((d = this.cylinderDistance(TRACKER_BOUNDS[k + 1]!, best)) < best) best = d;
        if ((d = this.planeDistance(0, 0, 1, ECL_FORWARD_FRONT_PLANE, best)) < best) best = d;
        if ((d = this.planeDistance(0, 0, 1, ECL_BACKWARD_FRONT_PLANE, best)) < best) best = d;
        break;
      }
      case CELL_ECL_BARREL: {
        const dist = Math.sqrt(s.x * s.x + s.y * s.y + s.z * s.z);
        const rear = ECL_FRONT_RADIUS + (ECL_CRYSTAL_DEPTH * Math.sqrt(s.x * s.x + s.y * s.y)) / dist;
        if ((d = this.cylinderDistance(ECL_FRONT_RADIUS, best)) < best) best = d;
        if ((d = this.cylinderDistance(rear, best)) < best) best = d;
        break;
      }
      case CELL_ECL_FORWARD:
      case CELL_ECL_BACKWARD: {
        const dist = Math.sqrt(s.x * s.x + s.y * s.y + s.z * s.z);
        const front = this.cellKind === CELL_ECL_FORWARD ? ECL_FORWARD_FRONT_PLANE : ECL_BACKWARD_FRONT_PLANE;
        const rear = front + (ECL_CRYSTAL_DEPTH * s.z) / dist;
        if ((d = this.planeDistance(0, 0, 1, front, best)) < best) best = d;
        if ((d = this.planeDistance(0, 0, 1, rear, best)) < best) best = d;
        break;
      }
      case CELL_COIL: {
        const k = this.cellIndex;
        if ((d = this.cylinderDistance(COIL_BOUNDS_ARRAY[k]!, best)) < best) best = d;
        if ((d = this.cylinderDistance(COIL_BOUNDS_ARRAY[k + 1]!, best)) < best) best = d;
        if ((d = this.planeDistance(0, 0, 1, DETECTOR_Z_OFFSET + COIL_HALF_LENGTH, best)) < best) best = d;
        if ((d = this.planeDistance(0, 0, 1, DETECTOR_Z_OFFSET - COIL_HALF_LENGTH, best)) < best) best = d;
        break;
      }
      case CELL_BARREL_KLM: {
        const sector = this.cellSector;
        const bounds = BARREL_BOUNDS[sector - 1]!;
        const c = sectorCos(sector), sn = sectorSin(sector);
        const k = this.cellIndex;
        // without a covariance the two halves of a gap are one field-free step (crossing interpolated)
        const merge = s.covariance === null && k % 3 !== 2;
        const inner = merge && k % 3 === 1 ? bounds[k - 1]! : bounds[k]!;
        const outer = merge && k % 3 === 0 ? bounds[k + 2]! : bounds[k + 1]!;
        if ((d = this.planeDistance(c, sn, 0, inner, best)) < best) best = d;
        if ((d = this.planeDistance(c, sn, 0, outer, best)) < best) best = d;
        // sector edges at φ_s ± 22.5°: planes through the axis with normals along ∓φ̂ there
        if ((d = this.planeDistance(SECTOR_EDGE_UPPER_NX[sector]!, SECTOR_EDGE_UPPER_NY[sector]!, 0, 0, best)) < best) best = d;
        if ((d = this.planeDistance(SECTOR_EDGE_LOWER_NX[sector]!, SECTOR_EDGE_LOWER_NY[sector]!, 0, 0, best)) < best) best = d;
        if ((d = this.planeDistance(0, 0, 1, DETECTOR_Z_OFFSET + BKLM_HALF_LENGTH, best)) < best) best = d;
        if ((d = this.planeDistance(0, 0, 1, DETECTOR_Z_OFFSET - BKLM_HALF_LENGTH, best)) < best) best = d;
        break;
      }
      case CELL_ENDCAP_KLM: {
        const k = this.cellIndex;
        const sign = s.z > DETECTOR_Z_OFFSET ? 1 : -1;
        const j = k === 0 ? 2 : (k - 1) % 3;
        const merge = s.covariance === null && j !== 2;
        const inner = merge && j === 1 ? ENDCAP_BOUNDS[k - 1]! : ENDCAP_BOUNDS[k]!;
        const outer = merge && j === 0 ? ENDCAP_BOUNDS[k + 2]! : ENDCAP_BOUNDS[k + 1]!;
        if ((d = this.planeDistance(0, 0, 1, DETECTOR_Z_OFFSET + sign * inner, best)) < best) best = d;
        if ((d = this.planeDistance(0, 0, 1, DETECTOR_Z_OFFSET + sign * outer, best)) < best) best = d;
        if ((d = this.cylinderDistance(EKLM_SECTION_INNER_RADIUS, best)) < best) best = d;
        if ((d = this.cylinderDistance(EKLM_SECTION_OUTER_RADIUS, best)) < best) best = d;
        break;
      }
      case CELL_AIR: {
        if ((d = this.cylinderDistance(BEAMLINE_RADIUS, best)) < best) best = d;
        if ((d = this.cylinderDistance(ECL_FRONT_RADIUS, best)) < best) best = d;
        if ((d = this.cylinderDistance(EKLM_SECTION_INNER_RADIUS, best)) < best) best = d;
        if ((d = this.cylinderDistance(COIL_INNER_RADIUS, best)) < best) best = d;
        if ((d = this.cylinderDistance(SOLENOID_FIELD_RADIUS, best)) < best) best = d;
        if ((d = this.cylinderDistance(COIL_OUTER_RADIUS, best)) < best) best = d;
        if ((d = this.planeDistance(0, 0, 1, ECL_FORWARD_FRONT_PLANE, best)) < best) best = d;
        if ((d = this.planeDistance(0, 0, 1, ECL_BACKWARD_FRONT_PLANE, best)) < best) best = d;
        if ((d = this.planeDistance(0, 0, 1, DETECTOR_Z_OFFSET + COIL_HALF_LENGTH, best)) < best) best = d;
        if ((d = this.planeDistance(0, 0, 1, DETECTOR_Z_OFFSET - COIL_HALF_LENGTH, best)) < best) best = d;
        if ((d = this.planeDistance(0, 0, 1, DETECTOR_Z_OFFSET + SOLENOID_FIELD_HALF_LENGTH, best)) < best) best = d;
        if ((d = this.planeDistance(0, 0, 1, DETECTOR_Z_OFFSET - SOLENOID_FIELD_HALF_LENGTH, best)) < best) best = d;
        // the barrel KLM inner face of this sector and its neighbours
        const sector = barrelSectorOf(s.x, s.y);
        for (let ds = -1; ds <= 1; ds++) {
          const sec = ((sector - 1 + ds + BKLM_SECTORS) % BKLM_SECTORS) + 1;
          if ((d = this.planeDistance(sectorCos(sec), sectorSin(sec), 0, BKLM_INNER_RADIUS, best)) < best) best = d;
        }
        break;
      }
      default:
        break;
    }
    return best < limit ? best : Infinity;
  }

  // ───────── material effects ─────────

  /**
   * Energy loss and scattering over `length` cm of material `id` at the current state (after the helix
   * move). `thin`: a thin layer crossed at a point (scattering without displacement). Returns false when
   * the particle ranged out.
   */
  private applyMaterial(id: MaterialId, length: number, thin: boolean, observer: PropagationObserver, mx: number, my: number, mz: number, pIn: number): boolean {
    const s = this.state;
    const m = MATERIAL_CONSTANTS[id]!;
    const mass = s.mass;
    const table = this.tableFor(id);
    const eIn = Math.sqrt(pIn * pIn + mass * mass);
    const tIn = eIn - mass;
    const tMeanOut = table.kineticAfter(tIn, length);
    const meanLoss = tIn - tMeanOut;
    const betaIn = pIn / eIn;
    const kin = this.kinematics;
    kin.beta = betaIn;
    kin.betaGamma = pIn / mass;
    kin.mass = mass;
    let loss = meanLoss;
    if (this.rng) loss = sampleEnergyLoss(m, length, meanLoss, tIn, kin, this.rng);
    const tOut = tIn - loss;
    observer.energyLoss(id, this.cellKind, mx, my, mz, loss, length);
    const pNow = Math.sqrt(s.px * s.px + s.py * s.py + s.pz * s.pz);
    if (tOut <= TRANSPORT_MIN_KINETIC_ENERGY) {
      const f = 1e-9 / pNow;
      s.px *= f; s.py *= f; s.pz *= f;
      return false;
    }
    const pOut = Math.sqrt(tOut * (tOut + 2 * mass));
    const tx = s.px / pNow, ty = s.py / pNow, tz = s.pz / pNow;
    // scattering angle at the mean momentum of the step
    const pMean = 0.5 * (pIn + pOut);
    const theta0 = highlandAngle(m, length, pMean, pMean / Math.sqrt(pMean * pMean + mass * mass));
    const cov = s.covariance;
    if (cov) {
      // energy-loss Jacobian of the momentum block: p_out = g(P_in)·p, g = P_out/P_in, mean loss
      const pMeanOut = Math.sqrt(tMeanOut * (tMeanOut + 2 * mass));
      const g = pMeanOut / pIn;
      const betaOut = pMeanOut / Math.sqrt(pMeanOut * pMeanOut + mass * mass);
      const dPout = tMeanOut > 0 ? (betaIn / betaOut) * (table.stoppingPowerAt(tMeanOut) / table.stoppingPowerAt(tIn)) : 0;
      const dg = dPout / pIn - pMeanOut / (pIn * pIn);
      const variance = energyLossVariance(m, length, kin);
      const sigmaP = Math.sqrt(variance) / betaOut;
      if (this.deferCovariance) this.logLossCovariance(g, dg, tx, ty, tz, pNow, thin ? 0 : length, theta0, pOut, sigmaP);
      else {
        this.scaleMomentumCovariance(g, dg, tx, ty, tz, pNow);
        this.addNoise(thin ? 0 : length, theta0, pOut, sigmaP, tx, ty, tz);
      }
    }
    let ux = tx, uy = ty, uz = tz;
    if (this.rng && theta0 > 0) {
      // PDG (y, θ) recipe in two transverse planes e1, e2
      let e1x = -ty, e1y = tx, e1z = 0;
      let n1 = Math.sqrt(e1x * e1x + e1y * e1y);
      if (n1 < 1e-9) {
        e1x = 1; e1y = 0; n1 = 1;
      }
      e1x /= n1; e1y /= n1;
      const e2x = ty * e1z - tz * e1y, e2y = tz * e1x - tx * e1z, e2z = tx * e1y - ty * e1x;
      const rng = this.rng;
      const z1 = this.normal(rng), z2 = this.normal(rng), z3 = this.normal(rng), z4 = this.normal(rng);
      const th1 = z2 * theta0, th2 = z4 * theta0;
      if (!thin) {
        const y1 = length * theta0 * (z1 / Math.sqrt(12) + z2 / 2);
        const y2 = length * theta0 * (z3 / Math.sqrt(12) + z4 / 2);
        s.x += y1 * e1x + y2 * e2x;
        s.y += y1 * e1y + y2 * e2y;
        s.z += y1 * e1z + y2 * e2z;
      }
      const t1 = tan(Math.min(Math.abs(th1), 1.5)) * Math.sign(th1);
      const t2 = tan(Math.min(Math.abs(th2), 1.5)) * Math.sign(th2);
      ux = tx + t1 * e1x + t2 * e2x;
      uy = ty + t1 * e1y + t2 * e2y;
      uz = tz + t1 * e1z + t2 * e2z;
      const nu = Math.sqrt(ux * ux + uy * uy + uz * uz);
      ux /= nu; uy /= nu; uz /= nu;
    }
    s.px = pOut * ux; s.py = pOut * uy; s.pz = pOut * uz;
    return true;
  }

  /**
   * A standard normal for the scattering sampling: Marsaglia's polar method on 32-bit uniforms from the
   * same Random (Random.gauss draws 53-bit uniforms, twice the random words; 32 bits are ample here).
   * The spare value is cleared in start(), so a transport depends only on its own Random.
   */
  private normal(rng: Random): number {
    const spare = this.normalSpare;
    if (spare === spare) {
      this.normalSpare = NaN;
      return spare;
    }
    let u: number, v: number, q: number;
    do {
      u = rng.nextU32() * 4.656612873077393e-10 - 1;
      v = rng.nextU32() * 4.656612873077393e-10 - 1;
      q = u * u + v * v;
    } while (q >= 1 || q === 0);
    const f = Math.sqrt((-2 * log(q)) / q);
    this.normalSpare = v * f;
    return u * f;
  }

  /**
   * C ← J C Jᵀ for the momentum rescaling p → g(P)·p: J = [[I, 0], [0, G]], G = g·1 + u dg tᵀ.
   *
   * The two transforms below compute the dense product Σ_k over k = 0…5 in the dense order, with the
   * terms whose J factor is a structural 0 left out: such a term is ±0 (for a finite covariance), and
   * the accumulator starts at +0 and can never become −0, so adding ±0 never changed it; a factor 1
   * gives its operand exactly. Hence the same bits as the dense 6×6 loops (row-major C read in full, the
   * upper triangle computed and mirrored), in a fraction of the operations. The leading `0 +` stays:
   * it turns −0 into +0 as the dense sum did.
   */
  private scaleMomentumCovariance(g: number, dg: number, tx: number, ty: number, tz: number, P: number): void {
    const u0 = tx * P, u1 = ty * P, u2 = tz * P;
    const g00 = g + u0 * dg * tx, g01 = 0 + u0 * dg * ty, g02 = 0 + u0 * dg * tz;
    const g10 = 0 + u1 * dg * tx, g11 = g + u1 * dg * ty, g12 = 0 + u1 * dg * tz;
    const g20 = 0 + u2 * dg * tx, g21 = 0 + u2 * dg * ty, g22 = g + u2 * dg * tz;
    const C = this.state.covariance!;
    const T = this.tmp;
    // T = J C: position rows copied, momentum rows G·C[3..5]; only the entries that C = T Jᵀ reads
    // (its upper triangle needs T[i][j ≥ i] of rows 0–2 and T[i][3..5] of every row)
    for (let j = 0; j < 3; j++) {
      T[j] = 0 + C[j]!;
      if (j >= 1) T[6 + j] = 0 + C[6 + j]!;
      if (j === 2) T[14] = 0 + C[14]!;
    }
    for (let j = 3; j < 6; j++) {
      T[j] = 0 + C[j]!;
      T[6 + j] = 0 + C[6 + j]!;
      T[12 + j] = 0 + C[12 + j]!;
      const c3 = C[18 + j]!, c4 = C[24 + j]!, c5 = C[30 + j]!;
      T[18 + j] = 0 + g00 * c3 + g01 * c4 + g02 * c5;
      T[24 + j] = 0 + g10 * c3 + g11 * c4 + g12 * c5;
      T[30 + j] = 0 + g20 * c3 + g21 * c4 + g22 * c5;
    }
    // C = T Jᵀ, upper triangle mirrored
    for (let i = 0; i < 6; i++) {
      const r = i * 6;
      for (let j = i; j < 3; j++) {
        const v = 0 + T[r + j]!;
        C[r + j] = v;
        C[j * 6 + i] = v;
      }
      const t3 = T[r + 3]!, t4 = T[r + 4]!, t5 = T[r + 5]!;
      if (i <= 3) {
        const v = 0 + t3 * g00 + t4 * g01 + t5 * g02;
        C[r + 3] = v;
        C[18 + i] = v;
      }
      if (i <= 4) {
        const v = 0 + t3 * g10 + t4 * g11 + t5 * g12;
        C[r + 4] = v;
        C[24 + i] = v;
      }
      const v = 0 + t3 * g20 + t4 * g21 + t5 * g22;
      C[r + 5] = v;
      C[30 + i] = v;
    }
  }

  /**
   * C ← J C Jᵀ for the helix Jacobian J = [[I, A], [0, B]], A and B (3×3 row-major) at J[at…at+8] and
   * J[at+9…at+17] (jac, or the deferred log); same bits as the dense product (see scaleMomentumCovariance).
   */
  private transformHelixCovariance(J: Float64Array, at: number): void {
    const C = this.state.covariance!;
    const T = this.tmp;
    const a00 = J[at]!, a01 = J[at + 1]!, a02 = J[at + 2]!, a10 = J[at + 3]!, a11 = J[at + 4]!, a12 = J[at + 5]!, a20 = J[at + 6]!, a21 = J[at + 7]!, a22 = J[at + 8]!;
    const b00 = J[at + 9]!, b01 = J[at + 10]!, b02 = J[at + 11]!, b10 = J[at + 12]!, b11 = J[at + 13]!, b12 = J[at + 14]!, b20 = J[at + 15]!, b21 = J[at + 16]!, b22 = J[at + 17]!;
    // T = J C, only the entries that C = T Jᵀ reads (see scaleMomentumCovariance)
    for (let j = 0; j < 3; j++) {
      const c3 = C[18 + j]!, c4 = C[24 + j]!, c5 = C[30 + j]!;
      T[j] = 0 + C[j]! + a00 * c3 + a01 * c4 + a02 * c5;
      if (j >= 1) T[6 + j] = 0 + C[6 + j]! + a10 * c3 + a11 * c4 + a12 * c5;
      if (j === 2) T[14] = 0 + C[14]! + a20 * c3 + a21 * c4 + a22 * c5;
    }
    for (let j = 3; j < 6; j++) {
      const c3 = C[18 + j]!, c4 = C[24 + j]!, c5 = C[30 + j]!;
      T[j] = 0 + C[j]! + a00 * c3 + a01 * c4 + a02 * c5;
      T[6 + j] = 0 + C[6 + j]! + a10 * c3 + a11 * c4 + a12 * c5;
      T[12 + j] = 0 + C[12 + j]! + a20 * c3 + a21 * c4 + a22 * c5;
      T[18 + j] = 0 + b00 * c3 + b01 * c4 + b02 * c5;
      T[24 + j] = 0 + b10 * c3 + b11 * c4 + b12 * c5;
      T[30 + j] = 0 + b20 * c3 + b21 * c4 + b22 * c5;
    }
    // C = T Jᵀ, upper triangle mirrored
    for (let i = 0; i < 6; i++) {
      const r = i * 6;
      const t3 = T[r + 3]!, t4 = T[r + 4]!, t5 = T[r + 5]!;
      let v: number;
      if (i === 0) {
        v = 0 + T[r]! + t3 * a00 + t4 * a01 + t5 * a02;
        C[0] = v;
      }
      if (i <= 1) {
        v = 0 + T[r + 1]! + t3 * a10 + t4 * a11 + t5 * a12;
        C[r + 1] = v;
        C[6 + i] = v;
      }
      if (i <= 2) {
        v = 0 + T[r + 2]! + t3 * a20 + t4 * a21 + t5 * a22;
        C[r + 2] = v;
        C[12 + i] = v;
      }
      if (i <= 3) {
        v = 0 + t3 * b00 + t4 * b01 + t5 * b02;
        C[r + 3] = v;
        C[18 + i] = v;
      }
      if (i <= 4) {
        v = 0 + t3 * b10 + t4 * b11 + t5 * b12;
        C[r + 4] = v;
        C[24 + i] = v;
      }
      v = 0 + t3 * b20 + t4 * b21 + t5 * b22;
      C[r + 5] = v;
      C[30 + i] = v;
    }
  }

  /** Appends the helix Jacobian of this step to the deferred log (computed in place there). */
  private logHelixCovariance(sLen: number): void {
    if (this.covarianceLogLength + 19 > COVARIANCE_LOG_WORDS) this.materializeCovariance();
    const log = this.covarianceLog;
    const k = this.covarianceLogLength;
    log[k] = LOG_HELIX;
    this.helixJacobian(sLen, log, k + 1);
    this.covarianceLogLength = k + 19;
  }

  /** Appends an energy-loss rescaling and its noise (the arguments of scaleMomentumCovariance and addNoise) to the deferred log. */
  private logLossCovariance(g: number, dg: number, tx: number, ty: number, tz: number, pIn: number, length: number, theta0: number, pOut: number, sigmaP: number): void {
    if (this.covarianceLogLength + 11 > COVARIANCE_LOG_WORDS) this.materializeCovariance();
    const log = this.covarianceLog;
    const k = this.covarianceLogLength;
    log[k] = LOG_LOSS;
    log[k + 1] = g; log[k + 2] = dg; log[k + 3] = tx; log[k + 4] = ty; log[k + 5] = tz; log[k + 6] = pIn;
    log[k + 7] = length; log[k + 8] = theta0; log[k + 9] = pOut; log[k + 10] = sigmaP;
    this.covarianceLogLength = k + 11;
  }

  /**
   * Brings state.covariance up to date with a deferred transport (PropagatorOptions.deferCovariance):
   * the logged operations in their order, exactly as the steps would have applied them. Returns it
   * (null without a covariance).
   */
  materializeCovariance(): Float64Array | null {
    const log = this.covarianceLog;
    const n = this.covarianceLogLength;
    let k = 0;
    while (k < n) {
      if (log[k] === LOG_HELIX) {
        this.transformHelixCovariance(log, k + 1);
        k += 19;
      } else {
        const tx = log[k + 3]!, ty = log[k + 4]!, tz = log[k + 5]!;
        this.scaleMomentumCovariance(log[k + 1]!, log[k + 2]!, tx, ty, tz, log[k + 6]!);
        this.addNoise(log[k + 7]!, log[k + 8]!, log[k + 9]!, log[k + 10]!, tx, ty, tz);
        k += 11;
      }
    }
    this.covarianceLogLength = 0;
    return this.state.covariance;
  }

  /** Multiple-scattering and straggling noise at the end of a step of `length` (0 for a thin layer). */
  private addNoise(length: number, theta0: number, P: number, sigmaP: number, tx: number, ty: number, tz: number): void {
    const C = this.state.covariance!;
    const t2 = theta0 * theta0;
    const axx = (length * length * t2) / 3;
    const axp = (length * P * t2) / 2;
    const app = P * P * t2;
    const sp2 = sigmaP * sigmaP;
    const t = this.noiseDirection;
    t[0] = tx; t[1] = ty; t[2] = tz;
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const proj = (i === j ? 1 : 0) - t[i]! * t[j]!;
        C[i * 6 + j] += axx * proj;
        C[i * 6 + 3 + j] += axp * proj;
        C[(3 + i) * 6 + j] += axp * proj;
        C[(3 + i) * 6 + 3 + j] += app * proj + sp2 * t[i]! * t[j]!;
      }
    }
  }

  // ───────── stepping ─────────

  /**
   * Moves the particle until it leaves the world, ranges out, reaches a discrete process, exceeds the
   * path limit, is lost in the beam line or the observer asks to stop.
   */
  run(observer: PropagationObserver): StopReason {
    const s = this.state;
    for (;;) {
      if (this.cellKind === CELL_OUTSIDE) {
        const r = Math.sqrt(s.x * s.x + s.y * s.y);
        return r < BEAMLINE_RADIUS ? STOP_BEAMLINE : STOP_LEFT_WORLD;
      }
      if (s.path >= TRANSPORT_MAX_PATH) return STOP_MAX_PATH;
      this.prepareHelix();
      const pIn = this.hP;
      const mass = s.mass;
      const material = this.cellMaterial;
      const tIn = Math.sqrt(pIn * pIn + mass * mass) - mass;
      if (tIn <= TRANSPORT_MIN_KINETIC_ENERGY) return STOP_RANGED_OUT;
      // physics limit first (energy loss per step, CsI deposit granularity, vacuum step), then geometry
      let limit = VACUUM_MAX_STEP;
      if (material !== MATERIAL_VACUUM) {
        const table = this.tableFor(material);
        const rangeIn = table.range(tIn);
        const residual = rangeIn - table.rangeAt(TRANSPORT_MIN_KINETIC_ENERGY);
        if (residual < 3) limit = Math.max(residual, 0) + 1e-3;
        else {
          const pTarget = pIn * (1 - STEP_MAX_MOMENTUM_LOSS);
          limit = rangeIn - table.range(Math.sqrt(pTarget * pTarget + mass * mass) - mass);
        }
        if (material === MATERIAL_CSI && limit > ECL_MAX_STEP) limit = ECL_MAX_STEP;
      }
      let limitedBy = 1; // 0 geometry, 1 physics (energy/step limit), 2 discrete process
      if (this.processes) {
        const sProc = this.processes.distanceToProcess(material, pIn, mass);
        if (sProc < limit) {
          limit = Math.max(sProc, 0);
          limitedBy = 2;
        }
      }
      if (s.path + limit > TRANSPORT_MAX_PATH) {
        limit = Math.max(TRANSPORT_MAX_PATH - s.path, 0);
        limitedBy = 1;
      }
      let step = this.boundaryDistance(limit);
      if (step < limit) limitedBy = 0;
      else step = limit;
      // move on the helix
      const x0 = s.x, y0 = s.y, z0 = s.z;
      this.stepX = x0; this.stepY = y0; this.stepZ = z0; this.stepTime = s.time;
      this.helixAt(step);
      if (s.covariance) {
        if (this.deferCovariance) this.logHelixCovariance(step);
        else {
          this.helixJacobian(step, this.jac, 0);
          this.transformHelixCovariance(this.jac, 0);
        }
      }
      const o = this.nx;
      s.x = o[0]!; s.y = o[1]!; s.z = o[2]!;
      s.px = o[3]!; s.py = o[4]!; s.pz = o[5]!;
      s.path += step;
      let alive = true;
      let pOut = pIn;
      if (material !== MATERIAL_VACUUM && step > 0) {
        alive = this.applyMaterial(material, step, false, observer, 0.5 * (x0 + s.x), 0.5 * (y0 + s.y), 0.5 * (z0 + s.z), pIn);
        pOut = Math.sqrt(s.px * s.px + s.py * s.py + s.pz * s.pz);
      }
      const pMean = 0.5 * (pIn + pOut);
      s.time += step / ((pMean / Math.sqrt(pMean * pMean + mass * mass)) * SPEED_OF_LIGHT);
      if (this.processes && step > 0) this.processes.consume(material, step, pMean, mass);
      if (!alive) return STOP_RANGED_OUT;
      if (limitedBy === 2) {
        this.locate();
        return STOP_PROCESS;
      }
      if (limitedBy === 0) {
        // on a boundary: nudge across and find the new cell
        const p = Math.sqrt(s.px * s.px + s.py * s.py + s.pz * s.pz);
        s.x += (NUDGE * s.px) / p; s.y += (NUDGE * s.py) / p; s.z += (NUDGE * s.pz) / p;
      }
      const oldKind = this.cellKind;
      const oldIndex = this.cellIndex;
      const oldSector = this.cellSector;
      this.locate();
      if (s.covariance === null && (oldKind === CELL_BARREL_KLM || oldKind === CELL_ENDCAP_KLM)) {
        // merged gap halves: every step that started in a gap is checked for a middle-plane crossing
        const stop = this.crossMergedGap(oldKind, oldIndex, oldSector, observer);
        if (stop !== -1) return stop as StopReason;
      } else if (this.cellKind !== oldKind || this.cellIndex !== oldIndex) {
        const stop = this.crossBoundary(oldKind, oldIndex, observer);
        if (stop !== -1) return stop as StopReason;
      }
    }
  }

  /** Thin layers and crossing records at a cell change. Returns a stop reason or −1. */
  private crossBoundary(oldKind: number, oldIndex: number, observer: PropagationObserver): number {
    const s = this.state;
    const kind = this.cellKind;
    if (kind !== oldKind) observer.cellEntered(kind, s);
    if (kind === CELL_TRACKER && oldKind === CELL_TRACKER) {
      // a thin shell at the boundary between the two cells
      const shell = Math.max(oldIndex, this.cellIndex) - 1;
      if (shell >= 0 && shell < TRACKER_SHELL_MATERIAL.length) {
        const r = Math.sqrt(s.x * s.x + s.y * s.y);
        const p = s.p;
        const cosIncidence = Math.abs((s.x * s.px + s.y * s.py) / (r * p));
        const length = TRACKER_SHELL_THICKNESS[shell]! / Math.max(cosIncidence, 0.1);
        return this.thinLayer(TRACKER_SHELL_MATERIAL[shell]!, length, observer);
      }
      return -1;
    }
    const enteringEcl = kind >= CELL_ECL_BARREL && kind <= CELL_ECL_BACKWARD;
    const leavingEcl = oldKind >= CELL_ECL_BARREL && oldKind <= CELL_ECL_BACKWARD;
    if (enteringEcl !== leavingEcl) {
      const eclKind = enteringEcl ? kind : oldKind;
      const p = s.p;
      let cosIncidence: number;
      if (eclKind === CELL_ECL_BARREL) {
        const r = Math.sqrt(s.x * s.x + s.y * s.y);
        cosIncidence = Math.abs((s.x * s.px + s.y * s.py) / (r * p));
      } else cosIncidence = Math.abs(s.pz / p);
      const thickness = enteringEcl ? ECL_CONTAINER_FRONT_THICKNESS : ECL_CONTAINER_REAR_THICKNESS;
      const stop = this.thinLayer(MATERIAL_ALUMINIUM, thickness / Math.max(cosIncidence, 0.1), observer);
      if (stop !== -1) return stop;
    }
    if (kind === CELL_BARREL_KLM && oldKind === CELL_BARREL_KLM) {
      // the middle plane of layer n separates cells 3(n−1) and 3(n−1)+1
      const lo = Math.min(oldIndex, this.cellIndex);
      const hi = Math.max(oldIndex, this.cellIndex);
      if (hi === lo + 1 && lo % 3 === 0) {
        const layer = lo / 3 + 1;
        const stop = this.layerPlane("barrel", this.cellSector, layer, observer);
        if (stop !== -1) return stop;
      }
      return -1;
    }
    if (kind === CELL_ENDCAP_KLM && oldKind === CELL_ENDCAP_KLM) {
      const lo = Math.min(oldIndex, this.cellIndex);
      const hi = Math.max(oldIndex, this.cellIndex);
      if (hi === lo + 1 && lo >= 1 && (lo - 1) % 3 === 0) {
        const layer = (lo - 1) / 3 + 1;
        const forward = s.z > DETECTOR_Z_OFFSET;
        if (layer <= (forward ? EKLM_FORWARD_LAYERS : EKLM_BACKWARD_LAYERS)) {
          const stop = this.layerPlane(forward ? "forward" : "backward", this.cellSector, layer, observer);
          if (stop !== -1) return stop;
        }
      }
    }
    return -1;
  }

  /**
   * Leaving a KLM cell when the gap halves are merged (no covariance): a step that started in a gap and
   * passed its middle plane crossed the layer there; the gap is field-free and empty, so the crossing point
   * is on the straight segment of the step. The crossing is recorded and the layer's thin material applied
   * at that point; the particle then continues from the end of the step.
   */
  private crossMergedGap(oldKind: number, oldIndex: number, oldSector: number, observer: PropagationObserver): number {
    const s = this.state;
    if (this.cellKind !== oldKind) observer.cellEntered(this.cellKind, s);
    let j: number, layer: number, before: number, after: number;
    let section: KlmSection;
    if (oldKind === CELL_BARREL_KLM) {
      j = oldIndex % 3;
      if (j === 2) return -1;
      layer = (oldIndex - j) / 3 + 1;
      const middle = BARREL_BOUNDS[oldSector - 1]![3 * (layer - 1) + 1]!;
      const c = sectorCos(oldSector), sn = sectorSin(oldSector);
      before = this.stepX * c + this.stepY * sn - middle;
      after = s.x * c + s.y * sn - middle;
      section = "barrel";
    } else {
      j = oldIndex === 0 ? 2 : (oldIndex - 1) % 3;
      if (j === 2) return -1;
      layer = (oldIndex - 1 - j) / 3 + 1;
      const forward = this.stepZ > DETECTOR_Z_OFFSET;
      if (layer > (forward ? EKLM_FORWARD_LAYERS : EKLM_BACKWARD_LAYERS)) return -1;
      const middle = ENDCAP_BOUNDS[1 + 3 * (layer - 1) + 1]!;
      before = Math.abs(this.stepZ - DETECTOR_Z_OFFSET) - middle;
      after = Math.abs(s.z - DETECTOR_Z_OFFSET) - middle;
      section = forward ? "forward" : "backward";
    }
    if ((before < 0) === (after < 0)) return -1;
    const f = before / (before - after);
    const ex = s.x, ey = s.y, ez = s.z, et = s.time;
    s.x = this.stepX + f * (ex - this.stepX);
    s.y = this.stepY + f * (ey - this.stepY);
    s.z = this.stepZ + f * (ez - this.stepZ);
    s.time = this.stepTime + f * (et - this.stepTime);
    const sector = section === "barrel" ? oldSector : endcapSectorOf(s.x, s.y);
    const stop = this.layerPlane(section, sector, layer, observer);
    s.x = ex; s.y = ey; s.z = ez; s.time = et;
    return stop;
  }

  /** A KLM layer middle plane: its thin detector material, then the crossing record. */
  private layerPlane(section: KlmSection, sector: number, layer: number, observer: PropagationObserver): number {
    const s = this.state;
    const p = s.p;
    let cosIncidence: number;
    if (section === "barrel") cosIncidence = Math.abs((s.px * sectorCos(sector) + s.py * sectorSin(sector)) / p);
    else cosIncidence = Math.abs(s.pz / p);
    if (observer.layerCrossing(section, sector, layer, s)) return STOP_BY_OBSERVER;
    return this.thinLayer(MATERIAL_ALUMINIUM, KLM_GAP_MATERIAL_THICKNESS / Math.max(cosIncidence, 0.1), observer);
  }

  /** A thin layer of `length` cm (already divided by the incidence cosine) at the current point. */
  private thinLayer(id: MaterialId, length: number, observer: PropagationObserver): number {
    const s = this.state;
    const pIn = s.p;
    if (this.processes) {
      const sProc = this.processes.distanceToProcess(id, pIn, s.mass);
      this.processes.consume(id, Math.min(length, sProc), pIn, s.mass);
      if (sProc < length) return STOP_PROCESS;
    }
    const alive = this.applyMaterial(id, length, true, observer, s.x, s.y, s.z, pIn);
    if (!alive) return STOP_RANGED_OUT;
    return -1;
  }
}

// ───────────── geometry queries ─────────────

const probe = new Propagator();

/** The cell kind (CELL_…) of a point: a static query of the stepper's layout. */
export function cellAt(x: number, y: number, z: number): number {
  return probe.locateAt(x, y, z).cell;
}

/** The material id at a point (vacuum outside matter). */
export function materialAt(x: number, y: number, z: number): MaterialId {
  return probe.locateAt(x, y, z).material;
}

// ───────────── muon-hypothesis extrapolation ─────────────

/** The extrapolated muon at the middle plane of a crossed KLM layer. */
export interface LayerIntersection {
  section: KlmSection;
  sector: number;
  layer: number;
  x: number; y: number; z: number;
  px: number; py: number; pz: number;
  /** 6×6 row-major covariance of (x, y, z, px, py, pz) */
  covariance: Float64Array;
  /** path length from the start, cm */
  pathLength: number;
  /** time of flight from the start, ns */
  time: number;
}

export interface Extrapolation {
  /** every middle-plane crossing in path order (outward and inward) */
  intersections: LayerIntersection[];
  /** state at the first entry into the ECL CsI (null if never) */
  eclEntry: { x: number; y: number; z: number; px: number; py: number; pz: number; covariance: Float64Array } | null;
  stopReason: StopReason;
}

/** Expands the 21-number upper triangle (row-major) of a symmetric 6×6 matrix (into `out` when given). */
export function covarianceFromUpperTriangle(upper: ArrayLike<number>, out?: Float64Array): Float64Array {
  if (upper.length !== 21) throw new InputError(`covariance: expected 21 upper-triangle numbers, got ${upper.length}`);
  if (out !== undefined && out.length !== 36) throw new InputError(`covariance: the output needs 36 numbers, got ${out.length}`);
  const c = out ?? new Float64Array(36);
  let k = 0;
  for (let i = 0; i < 6; i++) {
    for (let j = i; j < 6; j++) {
      const v = upper[k++]!;
      if (!Number.isFinite(v)) throw new InputError(`covariance element (${i}, ${j}) = ${v} is not finite`);
      c[i * 6 + j] = v;
      c[j * 6 + i] = v;
    }
  }
  return c;
}

/**
 * Muon-hypothesis extrapolation of a track from its state at the IP through the detector (klm.md §2.2:
 * muon mass, mean energy loss, covariance with multiple scattering and straggling, stop below 2 MeV
 * kinetic energy or outside the KLM). `onCrossing` may update the state in place (Kalman filter) and
 * return true to stop; without it every crossing is recorded.
 */
export function extrapolateMuon(
  track: TrackAtIp,
  options: { fieldScale?: number; mass: number; onCrossing?: (section: KlmSection, sector: number, layer: number, state: TrackState) => boolean },
): Extrapolation {
  const propagator = new Propagator();
  const covariance = covarianceFromUpperTriangle(track.covariance);
  propagator.start({ ...track, mass: options.mass }, { fieldScale: options.fieldScale ?? 1, covariance });
  const intersections: LayerIntersection[] = [];
  let eclEntry: Extrapolation["eclEntry"] = null;
  const observer: PropagationObserver = {
    energyLoss() {},
    cellEntered(cell, state) {
      if (eclEntry === null && cell >= CELL_ECL_BARREL && cell <= CELL_ECL_BACKWARD) {
        eclEntry = { x: state.x, y: state.y, z: state.z, px: state.px, py: state.py, pz: state.pz, covariance: Float64Array.from(state.covariance!) };
      }
    },
    layerCrossing(section, sector, layer, state) {
      intersections.push({
        section, sector, layer,
        x: state.x, y: state.y, z: state.z, px: state.px, py: state.py, pz: state.pz,
        covariance: Float64Array.from(state.covariance!),
        pathLength: state.path, time: state.time,
      });
      return options.onCrossing ? options.onCrossing(section, sector, layer, state) : false;
    },
  };
  const stopReason = propagator.run(observer);
  return { intersections, eclEntry, stopReason };
}
