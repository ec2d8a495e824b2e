/**
 * Scalar TypeScript twin of the association kernel (assembly/klmAssociation.ts): Muid's hit association
 * and Kalman update at one crossed KLM layer (TrackExtrapolateG4e findMatchingBarrelHit /
 * findMatchingEndcapHit, adjustIntersection and the volume check of createMuidHit; klm.md §2.4–2.5).
 * Same layout (klmAssociationLayout.ts), same IEEE float64 operations in the same order as the kernel, so
 * both make the same decisions and return the same bits; the tests compare them.
 *
 * 1. Candidates (the bucket of the crossing's layer): |t − MeanDt| ≤ MaxDt; barrel: same sector if
 *    |dn| < 2 cm along the sector normal, else a hit of an adjacent sector with |dn| ≤ 50 cm, plane
 *    mismatch ≤ 1 cm and a track projection onto its plane ≤ 15 cm; endcap: |dn| ≤ 2 cm. The nearest in
 *    the plane wins (first one on ties); Muid does not fall back to the next one if it fails the gate.
 * 2. adjustIntersection (Frühwirth NIM A262 (1987) 444, eq. 7): move the point along the track onto the
 *    hit's plane; H (2×6) projects on the (n̂_B, n̂_C) readout directions; R = H C Hᵀ + V; per-coordinate
 *    gate r_i² ≤ 3.5²·R_ii; K = C Hᵀ R⁻¹; x ← x + K r (from the point before the move, as basf2 does);
 *    C ← C − K H C; χ² = r_fᵀ (V − H C_f Hᵀ)⁻¹ r_f on the filtered state; the filtered point is projected
 *    back onto the crossing plane along the original direction and |p| is kept.
 * 3. If the updated point left the Muid barrel/endcap volume, the hit counts in the patterns but the update
 *    and its χ² are discarded (createMuidHit).
 */
import { CONFIG, CROSSING, HIT_ARRAYS } from "./klmAssociationLayout.js";

/** Scratch of the twin (module-level: the twin is synchronous and not re-entrant). */
const C = new Float64Array(36);
const CF = new Float64Array(36);
const CHT = new Float64Array(12);
const K = new Float64Array(12);
const PAR = new Float64Array(6);

/**
 * Associates the candidates [first, first + count) of `hits` (array stride `capacity`) with the crossing
 * in `crossing` (at element `crossingOffset`) under `config` (at `configOffset`). Returns 1 if a hit was
 * matched, else 0; results and the updated state are written into the crossing block.
 */
export function associateLayerScalar(
  config: Float64Array, configOffset: number,
  crossing: Float64Array, crossingOffset: number,
  hits: Float64Array, hitsOffset: number, capacity: number,
  first: number, count: number,
): number {
  const g = configOffset;
  const c = crossingOffset;
  crossing[c + CROSSING.chi2] = -1;
  crossing[c + CROSSING.hit] = -1;
  crossing[c + CROSSING.applied] = 0;
  const inBarrel = crossing[c + CROSSING.inBarrel]! !== 0;
  let isForward = crossing[c + CROSSING.isForward]! !== 0;
  let sector = crossing[c + CROSSING.sector]! | 0;
  const layer = crossing[c + CROSSING.layer]! | 0;
  const px = crossing[c + CROSSING.state]!, py = crossing[c + CROSSING.state + 1]!, pz = crossing[c + CROSSING.state + 2]!;
  const mx = crossing[c + CROSSING.state + 3]!, my = crossing[c + CROSSING.state + 4]!, mz = crossing[c + CROSSING.state + 5]!;

  // readout-plane normal of the crossing
  let nx: number, ny: number, nz: number;
  if (inBarrel) {
    nx = config[g + CONFIG.sectorCos + sector]!;
    ny = config[g + CONFIG.sectorSin + sector]!;
    nz = 0;
  } else {
    nx = 0;
    ny = 0;
    nz = isForward ? 1 : -1;
  }
  const meanDt = config[g + CONFIG.meanDt]!;
  const maxDt = config[g + CONFIG.maxDt]!;
  const sameMax = config[g + CONFIG.sameSectorMaxDn]!;
  const hx = hitsOffset + HIT_ARRAYS.x * capacity;
  const hy = hitsOffset + HIT_ARRAYS.y * capacity;
  const hz = hitsOffset + HIT_ARRAYS.z * capacity;
  const ht = hitsOffset + HIT_ARRAYS.time * capacity;
  const hs = hitsOffset + HIT_ARRAYS.sector * capacity;

  // ── 1. nearest candidate in the plane ──
  let best = 1.0e60;
  let bestHit = -1;
  let e0x = px, e0y = py, e0z = pz;
  for (let k = first; k < first + count; k++) {
    const t = hits[ht + k]!;
    if (Math.abs(t - meanDt) > maxDt) continue;
    const dx = hits[hx + k]! - px;
    const dy = hits[hy + k]! - py;
    const dz = hits[hz + k]! - pz;
    const dn = dx * nx + dy * ny + dz * nz;
    const adn = Math.abs(dn);
    if (inBarrel ? adn < sameMax : adn <= sameMax) {
      const ix = dx - nx * dn;
      const iy = dy - ny * dn;
      const iz = dz - nz * dn;
      const m2 = ix * ix + iy * iy + iz * iz;
      if (m2 < best) {
        best = m2;
        bestHit = k;
        e0x = px; e0y = py; e0z = pz;
      }
      continue;
    }
    if (!inBarrel) continue;
    // a hit in the adjacent sector
    if (adn > config[g + CONFIG.adjacentMaxDn]!) continue;
    const hitSector = hits[hs + k]! | 0;
    const dSector = Math.abs(sector - hitSector);
    if (dSector !== 1 && dSector !== 7) continue;
    const ax = config[g + CONFIG.sectorCos + hitSector]!;
    const ay = config[g + CONFIG.sectorSin + hitSector]!;
    const dn2 = px * ax + py * ay - config[g + CONFIG.barrelRadius + layer * 8 + hitSector]!;
    const dnHit = dx * ax + dy * ay + dn2;
    if (Math.abs(dnHit) > config[g + CONFIG.adjacentPlaneTolerance]!) continue;
    const inv = 1.0 / Math.sqrt(mx * mx + my * my + mz * mz);
    const ux = mx * inv, uy = my * inv, uz = mz * inv;
    const dirA = ux * ax + uy * ay;
    if (Math.abs(dirA) < config[g + CONFIG.minDirectionNormal]!) continue;
    const f = dn2 / dirA;
    const qx = ux * f, qy = uy * f, qz = uz * f;
    if (Math.sqrt(qx * qx + qy * qy + qz * qz) > config[g + CONFIG.adjacentMaxProjection]!) continue;
    // diff += projection − n̂_hit·dn (CLHEP order)
    const ix = dx + (qx - ax * dnHit);
    const iy = dy + (qy - ay * dnHit);
    const iz = dz + qz;
    const m2 = ix * ix + iy * iy + iz * iz;
    if (m2 < best) {
      best = m2;
      bestHit = k;
      e0x = px - qx; e0y = py - qy; e0z = pz - qz;
    }
  }
  if (bestHit < 0) return 0;

  // the matched hit decides the sector (and the barrel half) of the readout plane
  isForward = hits[hitsOffset + HIT_ARRAYS.isForward * capacity + bestHit]! !== 0;
  if (inBarrel) sector = hits[hs + bestHit]! | 0;
  crossing[c + CROSSING.isForward] = isForward ? 1 : 0;
  crossing[c + CROSSING.sector] = sector;

  // ── 2. adjustIntersection ──
  let aX: number, aY: number, aZ: number, bX: number, bY: number, bZ: number, cX: number, cY: number, cZ: number;
  if (inBarrel) {
    aX = config[g + CONFIG.sectorCos + sector]!; aY = config[g + CONFIG.sectorSin + sector]!; aZ = 0;
    bX = -aY; bY = aX; bZ = 0;
    cX = 0; cY = 0; cZ = 1;
  } else {
    const out = isForward ? 1 : -1;
    aX = 0; aY = 0; aZ = out;
    bX = out; bY = 0; bZ = 0;
    cX = 0; cY = out; cZ = 0;
  }
  const hitX = hits[hx + bestHit]!, hitY = hits[hy + bestHit]!, hitZ = hits[hz + bestHit]!;
  const scale = config[g + CONFIG.varianceScale]!;
  const v0 = hits[hitsOffset + HIT_ARRAYS.varU * capacity + bestHit]! * scale;
  const v1 = hits[hitsOffset + HIT_ARRAYS.varV * capacity + bestHit]! * scale;

  const pInv = 1.0 / Math.sqrt(mx * mx + my * my + mz * mz);
  const ux = mx * pInv, uy = my * pInv, uz = mz * pInv;
  let ex = e0x, ey = e0y, ez = e0z;
  let fx = hitX - ex, fy = hitY - ey, fz = hitZ - ez;
  const dirA = ux * aX + uy * aY + uz * aZ;
  if (Math.abs(dirA) < config[g + CONFIG.minDirectionNormal]!) return 0;
  const dirBA = (ux * bX + uy * bY + uz * bZ) / dirA;
  const dirCA = (ux * cX + uy * cY + uz * cZ) / dirA;
  const mv = (fx * aX + fy * aY + fz * aZ) / dirA;
  const movex = ux * mv, movey = uy * mv, movez = uz * mv;
  ex += movex; ey += movey; ez += movez;
  fx -= movex; fy -= movey; fz -= movez;
  crossing[c + CROSSING.positionAtHitPlane] = ex;
  crossing[c + CROSSING.positionAtHitPlane + 1] = ey;
  crossing[c + CROSSING.positionAtHitPlane + 2] = ez;
  const h0x = bX - aX * dirBA, h0y = bY - aY * dirBA, h0z = bZ - aZ * dirBA;
  const h1x = cX - aX * dirCA, h1y = cY - aY * dirCA, h1z = cZ - aZ * dirCA;
  const r0 = fx * h0x + fy * h0y + fz * h0z;
  const r1 = fx * h1x + fy * h1y + fz * h1z;
  crossing[c + CROSSING.residual] = r0;
  crossing[c + CROSSING.residual + 1] = r1;

  const cov = c + CROSSING.covariance;
  for (let i = 0; i < 36; i++) C[i] = crossing[cov + i]!;
  // C Hᵀ (6×2): only the position columns of H are non-zero
  for (let i = 0; i < 6; i++) {
    CHT[2 * i] = C[6 * i]! * h0x + C[6 * i + 1]! * h0y + C[6 * i + 2]! * h0z;
    CHT[2 * i + 1] = C[6 * i]! * h1x + C[6 * i + 1]! * h1y + C[6 * i + 2]! * h1z;
  }
  const r00 = h0x * CHT[0]! + h0y * CHT[2]! + h0z * CHT[4]! + v0;
  const r01 = h0x * CHT[1]! + h0y * CHT[3]! + h0z * CHT[5]!;
  const r11 = h1x * CHT[1]! + h1y * CHT[3]! + h1z * CHT[5]! + v1;
  crossing[c + CROSSING.residualCovariance] = r00;
  crossing[c + CROSSING.residualCovariance + 1] = r01;
  crossing[c + CROSSING.residualCovariance + 2] = r11;
  const maxDistSq = config[g + CONFIG.maxDistSq]!;
  if (r0 * r0 > r00 * maxDistSq) return 0;
  if (r1 * r1 > r11 * maxDistSq) return 0;
  const det = r00 * r11 - r01 * r01;
  if (det === 0) return 0;
  const s = 1.0 / det;
  const g00 = s * r11, g01 = r01 * -s, g11 = s * r00;
  // fall-back χ² (pre-filter residual), kept if the filtered one cannot be formed
  let chi2 = (r0 * g00 + r1 * g01) * r0 + (r0 * g01 + r1 * g11) * r1;
  crossing[c + CROSSING.chi2] = chi2;
  crossing[c + CROSSING.hit] = bestHit - first;

  // gain K = C Hᵀ R⁻¹, filtered covariance C − K (C Hᵀ)ᵀ, state from the point before the move
  for (let i = 0; i < 6; i++) {
    K[2 * i] = CHT[2 * i]! * g00 + CHT[2 * i + 1]! * g01;
    K[2 * i + 1] = CHT[2 * i]! * g01 + CHT[2 * i + 1]! * g11;
  }
  for (let i = 0; i < 6; i++) {
    for (let j = i; j < 6; j++) {
      const v = C[6 * i + j]! - (K[2 * i]! * CHT[2 * j]! + K[2 * i + 1]! * CHT[2 * j + 1]!);
      CF[6 * i + j] = v;
      CF[6 * j + i] = v;
    }
  }
  PAR[0] = e0x; PAR[1] = e0y; PAR[2] = e0z;
  PAR[3] = mx; PAR[4] = my; PAR[5] = mz;
  for (let i = 0; i < 6; i++) PAR[i] = PAR[i]! + (K[2 * i]! * r0 + K[2 * i + 1]! * r1);

  // χ² on the filtered state: r_fᵀ (V − H C_f Hᵀ)⁻¹ r_f
  const q0 = CF[0]! * h0x + CF[1]! * h0y + CF[2]! * h0z;
  const q1 = CF[6]! * h0x + CF[7]! * h0y + CF[8]! * h0z;
  const q2 = CF[12]! * h0x + CF[13]! * h0y + CF[14]! * h0z;
  const q3 = CF[0]! * h1x + CF[1]! * h1y + CF[2]! * h1z;
  const q4 = CF[6]! * h1x + CF[7]! * h1y + CF[8]! * h1z;
  const q5 = CF[12]! * h1x + CF[13]! * h1y + CF[14]! * h1z;
  const s00 = v0 - (h0x * q0 + h0y * q1 + h0z * q2);
  const s01 = 0.0 - (h0x * q3 + h0y * q4 + h0z * q5);
  const s11 = v1 - (h1x * q3 + h1y * q4 + h1z * q5);
  const det2 = s00 * s11 - s01 * s01;
  let newX = px, newY = py, newZ = pz, newPx = mx, newPy = my, newPz = mz;
  let updateState = false;
  if (det2 !== 0) {
    const t = 1.0 / det2;
    const w00 = t * s11, w01 = s01 * -t, w11 = t * s00;
    const dfx = hitX - PAR[0]!, dfy = hitY - PAR[1]!, dfz = hitZ - PAR[2]!;
    const f0 = dfx * h0x + dfy * h0y + dfz * h0z;
    const f1 = dfx * h1x + dfy * h1y + dfz * h1z;
    chi2 = (f0 * w00 + f1 * w01) * f0 + (f0 * w01 + f1 * w11) * f1;
    crossing[c + CROSSING.chi2] = chi2;
    // back onto the crossing plane along the original direction; keep |p|
    const back = ((px - PAR[0]!) * aX + (py - PAR[1]!) * aY + (pz - PAR[2]!) * aZ) / dirA;
    newX = PAR[0]! + ux * back;
    newY = PAR[1]! + uy * back;
    newZ = PAR[2]! + uz * back;
    const pMag = Math.sqrt(mx * mx + my * my + mz * mz);
    const fInv = 1.0 / Math.sqrt(PAR[3]! * PAR[3]! + PAR[4]! * PAR[4]! + PAR[5]! * PAR[5]!);
    newPx = pMag * (PAR[3]! * fInv);
    newPy = pMag * (PAR[4]! * fInv);
    newPz = pMag * (PAR[5]! * fInv);
    updateState = true;
  }

  // ── 3. the updated point must stay inside Muid's barrel / endcap volume ──
  const r = Math.sqrt(newX * newX + newY * newY);
  const az = Math.abs(newZ - config[g + CONFIG.zOffset]!);
  const outside = inBarrel
    ? r <= config[g + CONFIG.barrelMinR]! || r >= config[g + CONFIG.barrelMaxR]! || az >= config[g + CONFIG.barrelHalfLength]!
    : r <= config[g + CONFIG.endcapMinR]! || r >= config[g + CONFIG.endcapMaxR]! || Math.abs(az - config[g + CONFIG.endcapMiddleZ]!) >= config[g + CONFIG.endcapHalfLength]!;
  if (outside) return 1;
  crossing[c + CROSSING.applied] = 1;
  if (updateState) {
    const st = c + CROSSING.state;
    crossing[st] = newX; crossing[st + 1] = newY; crossing[st + 2] = newZ;
    crossing[st + 3] = newPx; crossing[st + 4] = newPy; crossing[st + 5] = newPz;
    for (let i = 0; i < 36; i++) crossing[cov + i] = CF[i]!;
  }
  return 1;
}
