/**
 * Magnetic field of Belle II for the fast simulation and the muon-hypothesis extrapolation.
 *
 * - Solenoid: uniform Bz = 1.5 T × fieldScale for r < 181.25 cm (mid-radius of the coil winding, the
 *   sharp-edge equivalent of the linear fall across it) and |z − 47| < 230 cm (up to the endcap-yoke
 *   face). physics.md §1.1; the measured map (SolenoidFieldMap.dat.gz) is not available [A].
 * - Return field in the iron: basf2's BFieldComponentKlm1 parametrisation with
 *   geometry/data/KLMFieldMap_belle1.dat (constants.ts BARREL_RETURN_FIELD, ENDCAP_RETURN_FIELD):
 *   barrel plates Bz ≈ −1.8 T (inner plates) to −0.7 T (outer), mean −1.07 T, pointing along −z;
 *   endcap plates radial B_r ≈ 0.8–1.8 T, outward in the forward endcap and inward in the backward one.
 *   The return flux scales with the solenoid current, so fieldScale multiplies it too.
 * - Gaps between plates, the ECL–coil region outside the winding radius and everything else: 0.
 */
import {
  BARREL_RETURN_FIELD,
  DETECTOR_Z_OFFSET,
  ENDCAP_RETURN_FIELD,
  SOLENOID_FIELD,
  SOLENOID_FIELD_HALF_LENGTH,
  SOLENOID_FIELD_RADIUS,
  BKLM_INNER_RADIUS,
  BKLM_OUTER_RADIUS,
  BKLM_HALF_LENGTH,
  BKLM_LAYERS,
  EKLM_LAYER_SLOTS,
  EKLM_SECTION_FRONT,
  EKLM_SECTION_INNER_RADIUS,
  EKLM_SECTION_LENGTH,
} from "../constants.js";
import { barrelIronPlate, endcapIronPlate, octagonRadius } from "./klm.js";
import { hypot2 } from "../math/hypot.js";

/** Solenoid Bz (T) at a point: SOLENOID_FIELD·fieldScale inside the field cylinder, else 0. */
export function solenoidField(x: number, y: number, z: number, fieldScale: number): number {
  if (x * x + y * y >= SOLENOID_FIELD_RADIUS * SOLENOID_FIELD_RADIUS) return 0;
  if (Math.abs(z - DETECTOR_Z_OFFSET) >= SOLENOID_FIELD_HALF_LENGTH) return 0;
  return SOLENOID_FIELD * fieldScale;
}

/** Bz (T) in barrel iron plate `plate` (0–14) at ζ = z − 47 cm (piecewise linear in |ζ|, basf2 Klm1). */
export function barrelReturnField(plate: number, zeta: number, fieldScale: number): number {
  const row = BARREL_RETURN_FIELD[plate]!;
  const a = Math.abs(zeta);
  return (a > row[0] ? row[4] + row[3] * a : row[2] + row[1] * a) * fieldScale;
}

/**
 * Radial field B_r (T, signed: positive = outward) in endcap iron plate `plate` (0–14) at radius r,
 * forward (ζ > 0) or backward (sign flipped, basf2 Klm1 `if (z < 0) br = −br`).
 */
export function endcapReturnField(plate: number, r: number, forward: boolean, fieldScale: number): number {
  const pieces = ENDCAP_RETURN_FIELD[plate]!;
  for (let j = 0; j < pieces.length; j++) {
    const piece = pieces[j]!;
    if (r < piece[0]) {
      const br = (piece[2] + piece[1] * r) * fieldScale;
      return forward ? br : -br;
    }
  }
  return 0;
}

/** Which barrel iron plate (0–14) contains octagon radius perp, or −1 (gap or outside). */
export function barrelPlateAt(perp: number): number {
  if (perp < BKLM_INNER_RADIUS || perp >= BKLM_OUTER_RADIUS) return -1;
  for (let plate = 0; plate < BKLM_LAYERS; plate++) {
    const [inner, outer] = barrelIronPlate(plate);
    if (perp >= inner && perp < outer) return plate;
  }
  return -1;
}

/** Which endcap iron plate (0–14) contains |ζ|, or −1. */
export function endcapPlateAt(absZeta: number): number {
  if (absZeta < EKLM_SECTION_FRONT || absZeta >= EKLM_SECTION_FRONT + EKLM_SECTION_LENGTH) return -1;
  for (let plate = 0; plate <= EKLM_LAYER_SLOTS; plate++) {
    const [inner, outer] = endcapIronPlate(plate);
    if (absZeta >= inner && absZeta < outer) return plate;
  }
  return -1;
}

/** Field vector (T) at a point, written into `out` (a general query; the stepper uses the per-region functions). */
export function magneticField(x: number, y: number, z: number, fieldScale: number, out: { bx: number; by: number; bz: number }): void {
  out.bx = 0;
  out.by = 0;
  out.bz = solenoidField(x, y, z, fieldScale);
  if (out.bz !== 0) return;
  const zeta = z - DETECTOR_Z_OFFSET;
  const perp = octagonRadius(x, y);
  if (Math.abs(zeta) < BKLM_HALF_LENGTH) {
    const plate = barrelPlateAt(perp);
    if (plate >= 0) out.bz = barrelReturnField(plate, zeta, fieldScale);
    return;
  }
  const r = hypot2(x, y);
  if (r < EKLM_SECTION_INNER_RADIUS || perp >= BKLM_OUTER_RADIUS) return;
  const plate = endcapPlateAt(Math.abs(zeta));
  if (plate < 0) return;
  const br = endcapReturnField(plate, r, zeta > 0, fieldScale);
  out.bx = (br * x) / r;
  out.by = (br * y) / r;
}
