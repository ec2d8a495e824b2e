// Muid's KLM hit association and Kalman update at one crossed layer (basf2 TrackExtrapolateG4e
// findMatchingBarrelHit / findMatchingEndcapHit, adjustIntersection and the volume check of
// createMuidHit; klm.md §2.4–2.5). The host (src/reco/klmAssociationWasm.ts) calls it at every layer
// crossing of the muon-hypothesis swim (src/reco/klmExtrapolation.ts) and continues the swim from the
// filtered state it writes back.
//
// Memory layout (float64, byte pointers laid out by the host; element offsets in
// src/reco/klmAssociationLayout.ts, which documents every field):
//   config   [160]                 Muid parameters, sector normals, barrel module radii [layer][sector]
//   crossing [64]                  in: inBarrel, isForward, sector, layer, state (6), covariance (6×6);
//                                  out: χ², matched candidate, applied flag, point on the hit plane,
//                                  residuals and H C Hᵀ + V; filtered state and covariance when applied
//   hits     [8][capacity]         structure of arrays: x, y, z, varU, varV, time, sector, isForward
//   candidates of this crossing:   [first, first + count)
//
// The candidate distances (normal distance to the plane and squared in-plane distance) are computed
// two hits at a time in f64x2 lanes; the decisions then run lane by lane in candidate order, so the first
// of equally near candidates wins as in the scalar loop. Every lane operation is the same IEEE f64
// operation in the same order as the scalar twin src/reco/klmAssociationScalar.ts, so both agree bit for
// bit. Everything is f64 (see the layout file for why).

// config offsets
const CFG_MAX_DIST_SQ: i32 = 0;
const CFG_SAME_MAX_DN: i32 = 1;
const CFG_ADJ_MAX_DN: i32 = 2;
const CFG_ADJ_PLANE_TOL: i32 = 3;
const CFG_ADJ_MAX_PROJ: i32 = 4;
const CFG_MEAN_DT: i32 = 5;
const CFG_MAX_DT: i32 = 6;
const CFG_VARIANCE_SCALE: i32 = 7;
const CFG_MIN_DIR_NORMAL: i32 = 8;
const CFG_BARREL_MIN_R: i32 = 9;
const CFG_BARREL_MAX_R: i32 = 10;
const CFG_BARREL_HALF_LENGTH: i32 = 11;
const CFG_Z_OFFSET: i32 = 12;
const CFG_ENDCAP_MIN_R: i32 = 13;
const CFG_ENDCAP_MAX_R: i32 = 14;
const CFG_ENDCAP_MIDDLE_Z: i32 = 15;
const CFG_ENDCAP_HALF_LENGTH: i32 = 16;
const CFG_SECTOR_COS: i32 = 24;
const CFG_SECTOR_SIN: i32 = 32;
const CFG_BARREL_RADIUS: i32 = 40;

// crossing offsets
const X_IN_BARREL: i32 = 0;
const X_IS_FORWARD: i32 = 1;
const X_SECTOR: i32 = 2;
const X_LAYER: i32 = 3;
const X_STATE: i32 = 4;
const X_COV: i32 = 10;
const X_CHI2: i32 = 46;
const X_HIT: i32 = 47;
const X_APPLIED: i32 = 48;
const X_AT_HIT_PLANE: i32 = 49;
const X_RESIDUAL: i32 = 52;
const X_RESIDUAL_COV: i32 = 54;

// hit arrays
const H_X: i32 = 0;
const H_Y: i32 = 1;
const H_Z: i32 = 2;
const H_VAR_U: i32 = 3;
const H_VAR_V: i32 = 4;
const H_TIME: i32 = 5;
const H_SECTOR: i32 = 6;
const H_IS_FORWARD: i32 = 7;

const CROSSING_WORDS: i32 = 64;

/** Words of the crossing block (the host checks it against src/reco/klmAssociationLayout.ts). */
export function klmCrossingWords(): i32 {
  return CROSSING_WORDS;
}

// scratch in the static data segment (below heapBase, never in the host's arena)
const C: usize = memory.data(36 * 8, 16);
const CF: usize = memory.data(36 * 8, 16);
const CHT: usize = memory.data(12 * 8, 16);
const K: usize = memory.data(12 * 8, 16);
const PAR: usize = memory.data(6 * 8, 16);

@inline function at(base: usize, i: i32): f64 {
  return load<f64>(base + (<usize>i << 3));
}
@inline function put(base: usize, i: i32, v: f64): void {
  store<f64>(base + (<usize>i << 3), v);
}

// running best candidate of the selection
let best: f64 = 1.0e60;
let bestHit: i32 = -1;
let e0x: f64 = 0;
let e0y: f64 = 0;
let e0z: f64 = 0;

/** The candidate decisions of the scalar twin for candidate k, given its dx, dy, dz, dn and in-plane m2. */
@inline function consider(
  config: usize, hits: usize, capacity: i32, k: i32, inBarrel: bool, sector: i32, layer: i32,
  px: f64, py: f64, pz: f64, mx: f64, my: f64, mz: f64,
  dx: f64, dy: f64, dz: f64, dn: f64, m2: f64,
): void {
  const meanDt = at(config, CFG_MEAN_DT);
  const maxDt = at(config, CFG_MAX_DT);
  const t = at(hits, H_TIME * capacity + k);
  if (Math.abs(t - meanDt) > maxDt) return;
  const sameMax = at(config, CFG_SAME_MAX_DN);
  const adn = Math.abs(dn);
  if (inBarrel ? adn < sameMax : adn <= sameMax) {
    if (m2 < best) {
      best = m2;
      bestHit = k;
      e0x = px; e0y = py; e0z = pz;
    }
    return;
  }
  if (!inBarrel) return;
  if (adn > at(config, CFG_ADJ_MAX_DN)) return;
  const hitSector = <i32>at(hits, H_SECTOR * capacity + k);
  const dSector = abs<i32>(sector - hitSector);
  if (dSector != 1 && dSector != 7) return;
  const ax = at(config, CFG_SECTOR_COS + hitSector);
  const ay = at(config, CFG_SECTOR_SIN + hitSector);
  const dn2 = px * ax + py * ay - at(config, CFG_BARREL_RADIUS + layer * 8 + hitSector);
  const dnHit = dx * ax + dy * ay + dn2;
  if (Math.abs(dnHit) > at(config, CFG_ADJ_PLANE_TOL)) return;
  const inv = 1.0 / Math.sqrt(mx * mx + my * my + mz * mz);
  const ux = mx * inv, uy = my * inv, uz = mz * inv;
  const dirA = ux * ax + uy * ay;
  if (Math.abs(dirA) < at(config, CFG_MIN_DIR_NORMAL)) return;
  const f = dn2 / dirA;
  const qx = ux * f, qy = uy * f, qz = uz * f;
  if (Math.sqrt(qx * qx + qy * qy + qz * qz) > at(config, CFG_ADJ_MAX_PROJ)) return;
  const ix = dx + (qx - ax * dnHit);
  const iy = dy + (qy - ay * dnHit);
  const iz = dz + qz;
  const a2 = ix * ix + iy * iy + iz * iz;
  if (a2 < best) {
    best = a2;
    bestHit = k;
    e0x = px - qx; e0y = py - qy; e0z = pz - qz;
  }
}

/**
 * Associates the candidates [first, first + count) with the crossing and applies Muid's Kalman update.
 * Returns 1 if a hit was matched (its χ² and whether the update was applied are in the crossing block).
 */
export function klmAssociateLayer(config: usize, crossing: usize, hits: usize, capacity: i32, first: i32, count: i32): i32 {
  put(crossing, X_CHI2, -1.0);
  put(crossing, X_HIT, -1.0);
  put(crossing, X_APPLIED, 0.0);
  const inBarrel = at(crossing, X_IN_BARREL) != 0.0;
  let isForward = at(crossing, X_IS_FORWARD) != 0.0;
  let sector = <i32>at(crossing, X_SECTOR);
  const layer = <i32>at(crossing, X_LAYER);
  const px = at(crossing, X_STATE), py = at(crossing, X_STATE + 1), pz = at(crossing, X_STATE + 2);
  const mx = at(crossing, X_STATE + 3), my = at(crossing, X_STATE + 4), mz = at(crossing, X_STATE + 5);

  let nx: f64, ny: f64, nz: f64;
  if (inBarrel) {
    nx = at(config, CFG_SECTOR_COS + sector);
    ny = at(config, CFG_SECTOR_SIN + sector);
    nz = 0.0;
  } else {
    nx = 0.0;
    ny = 0.0;
    nz = isForward ? 1.0 : -1.0;
  }

  // ── 1. nearest candidate in the plane, two candidates per f64x2 ──
  best = 1.0e60;
  bestHit = -1;
  e0x = px; e0y = py; e0z = pz;
  const hx = hits + (<usize>(H_X * capacity) << 3);
  const hy = hits + (<usize>(H_Y * capacity) << 3);
  const hz = hits + (<usize>(H_Z * capacity) << 3);
  const pxv = f64x2.splat(px), pyv = f64x2.splat(py), pzv = f64x2.splat(pz);
  const nxv = f64x2.splat(nx), nyv = f64x2.splat(ny), nzv = f64x2.splat(nz);
  const end = first + count;
  let k = first;
  for (; k + 2 <= end; k += 2) {
    const o = <usize>k << 3;
    const dxv = f64x2.sub(v128.load(hx + o), pxv);
    const dyv = f64x2.sub(v128.load(hy + o), pyv);
    const dzv = f64x2.sub(v128.load(hz + o), pzv);
    const dnv = f64x2.add(f64x2.add(f64x2.mul(dxv, nxv), f64x2.mul(dyv, nyv)), f64x2.mul(dzv, nzv));
    const ixv = f64x2.sub(dxv, f64x2.mul(nxv, dnv));
    const iyv = f64x2.sub(dyv, f64x2.mul(nyv, dnv));
    const izv = f64x2.sub(dzv, f64x2.mul(nzv, dnv));
    const m2v = f64x2.add(f64x2.add(f64x2.mul(ixv, ixv), f64x2.mul(iyv, iyv)), f64x2.mul(izv, izv));
    consider(config, hits, capacity, k, inBarrel, sector, layer, px, py, pz, mx, my, mz,
      f64x2.extract_lane(dxv, 0), f64x2.extract_lane(dyv, 0), f64x2.extract_lane(dzv, 0), f64x2.extract_lane(dnv, 0), f64x2.extract_lane(m2v, 0));
    consider(config, hits, capacity, k + 1, inBarrel, sector, layer, px, py, pz, mx, my, mz,
      f64x2.extract_lane(dxv, 1), f64x2.extract_lane(dyv, 1), f64x2.extract_lane(dzv, 1), f64x2.extract_lane(dnv, 1), f64x2.extract_lane(m2v, 1));
  }
  for (; k < end; k++) {
    const dx = at(hx, k) - px;
    const dy = at(hy, k) - py;
    const dz = at(hz, k) - pz;
    const dn = dx * nx + dy * ny + dz * nz;
    const ix = dx - nx * dn;
    const iy = dy - ny * dn;
    const iz = dz - nz * dn;
    const m2 = ix * ix + iy * iy + iz * iz;
    consider(config, hits, capacity, k, inBarrel, sector, layer, px, py, pz, mx, my, mz, dx, dy, dz, dn, m2);
  }
  if (bestHit < 0) return 0;
  const h = bestHit;

  isForward = at(hits, H_IS_FORWARD * capacity + h) != 0.0;
  if (inBarrel) sector = <i32>at(hits, H_SECTOR * capacity + h);
  put(crossing, X_IS_FORWARD, isForward ? 1.0 : 0.0);
  put(crossing, X_SECTOR, <f64>sector);

  // ── 2. adjustIntersection ──
  let aX: f64, aY: f64, aZ: f64, bX: f64, bY: f64, bZ: f64, cX: f64, cY: f64, cZ: f64;
  if (inBarrel) {
    aX = at(config, CFG_SECTOR_COS + sector); aY = at(config, CFG_SECTOR_SIN + sector); aZ = 0.0;
    bX = -aY; bY = aX; bZ = 0.0;
    cX = 0.0; cY = 0.0; cZ = 1.0;
  } else {
    const out: f64 = isForward ? 1.0 : -1.0;
    aX = 0.0; aY = 0.0; aZ = out;
    bX = out; bY = 0.0; bZ = 0.0;
    cX = 0.0; cY = out; cZ = 0.0;
  }
  const hitX = at(hx, h), hitY = at(hy, h), hitZ = at(hz, h);
  const scale = at(config, CFG_VARIANCE_SCALE);
  const v0 = at(hits, H_VAR_U * capacity + h) * scale;
  const v1 = at(hits, H_VAR_V * capacity + h) * scale;

  const pInv = 1.0 / Math.sqrt(mx * mx + my * my + mz * mz);
  const ux = mx * pInv, uy = my * pInv, uz = mz * pInv;
  let ex = e0x, ey = e0y, ez = e0z;
  let fx = hitX - ex, fy = hitY - ey, fz = hitZ - ez;
  const dirA = ux * aX + uy * aY + uz * aZ;
  if (Math.abs(dirA) < at(config, CFG_MIN_DIR_NORMAL)) return 0;
  const dirBA = (ux * bX + uy * bY + uz * bZ) / dirA;
  const dirCA = (ux * cX + uy * cY + uz * cZ) / dirA;
  const mv = (fx * aX + fy * aY + fz * aZ) / dirA;
  const movex = ux * mv, movey = uy * mv, movez = uz * mv;
  ex += movex; ey += movey; ez += movez;
  fx -= movex; fy -= movey; fz -= movez;
  put(crossing, X_AT_HIT_PLANE, ex);
  put(crossing, X_AT_HIT_PLANE + 1, ey);
  put(crossing, X_AT_HIT_PLANE + 2, ez);
  const h0x = bX - aX * dirBA, h0y = bY - aY * dirBA, h0z = bZ - aZ * dirBA;
  const h1x = cX - aX * dirCA, h1y = cY - aY * dirCA, h1z = cZ - aZ * dirCA;
  const r0 = fx * h0x + fy * h0y + fz * h0z;
  const r1 = fx * h1x + fy * h1y + fz * h1z;
  put(crossing, X_RESIDUAL, r0);
  put(crossing, X_RESIDUAL + 1, r1);

  for (let i = 0; i < 36; i++) put(C, i, at(crossing, X_COV + i));
  for (let i = 0; i < 6; i++) {
    put(CHT, 2 * i, at(C, 6 * i) * h0x + at(C, 6 * i + 1) * h0y + at(C, 6 * i + 2) * h0z);
    put(CHT, 2 * i + 1, at(C, 6 * i) * h1x + at(C, 6 * i + 1) * h1y + at(C, 6 * i + 2) * h1z);
  }
  const r00 = h0x * at(CHT, 0) + h0y * at(CHT, 2) + h0z * at(CHT, 4) + v0;
  const r01 = h0x * at(CHT, 1) + h0y * at(CHT, 3) + h0z * at(CHT, 5);
  const r11 = h1x * at(CHT, 1) + h1y * at(CHT, 3) + h1z * at(CHT, 5) + v1;
  put(crossing, X_RESIDUAL_COV, r00);
  put(crossing, X_RESIDUAL_COV + 1, r01);
  put(crossing, X_RESIDUAL_COV + 2, r11);
  const maxDistSq = at(config, CFG_MAX_DIST_SQ);
  if (r0 * r0 > r00 * maxDistSq) return 0;
  if (r1 * r1 > r11 * maxDistSq) return 0;
  const det = r00 * r11 - r01 * r01;
  if (det == 0.0) return 0;
  const s = 1.0 / det;
  const g00 = s * r11, g01 = r01 * -s, g11 = s * r00;
  let chi2 = (r0 * g00 + r1 * g01) * r0 + (r0 * g01 + r1 * g11) * r1;
  put(crossing, X_CHI2, chi2);
  put(crossing, X_HIT, <f64>(h - first));

  for (let i = 0; i < 6; i++) {
    put(K, 2 * i, at(CHT, 2 * i) * g00 + at(CHT, 2 * i + 1) * g01);
    put(K, 2 * i + 1, at(CHT, 2 * i) * g01 + at(CHT, 2 * i + 1) * g11);
  }
  for (let i = 0; i < 6; i++) {
    for (let j = i; j < 6; j++) {
      const v = at(C, 6 * i + j) - (at(K, 2 * i) * at(CHT, 2 * j) + at(K, 2 * i + 1) * at(CHT, 2 * j + 1));
      put(CF, 6 * i + j, v);
      put(CF, 6 * j + i, v);
    }
  }
  put(PAR, 0, e0x); put(PAR, 1, e0y); put(PAR, 2, e0z);
  put(PAR, 3, mx); put(PAR, 4, my); put(PAR, 5, mz);
  for (let i = 0; i < 6; i++) put(PAR, i, at(PAR, i) + (at(K, 2 * i) * r0 + at(K, 2 * i + 1) * r1));

  const q0 = at(CF, 0) * h0x + at(CF, 1) * h0y + at(CF, 2) * h0z;
  const q1 = at(CF, 6) * h0x + at(CF, 7) * h0y + at(CF, 8) * h0z;
  const q2 = at(CF, 12) * h0x + at(CF, 13) * h0y + at(CF, 14) * h0z;
  const q3 = at(CF, 0) * h1x + at(CF, 1) * h1y + at(CF, 2) * h1z;
  const q4 = at(CF, 6) * h1x + at(CF, 7) * h1y + at(CF, 8) * h1z;
  const q5 = at(CF, 12) * h1x + at(CF, 13) * h1y + at(CF, 14) * h1z;
  const s00 = v0 - (h0x * q0 + h0y * q1 + h0z * q2);
  const s01 = 0.0 - (h0x * q3 + h0y * q4 + h0z * q5);
  const s11 = v1 - (h1x * q3 + h1y * q4 + h1z * q5);
  const det2 = s00 * s11 - s01 * s01;
  let newX = px, newY = py, newZ = pz, newPx = mx, newPy = my, newPz = mz;
  let updateState = false;
  if (det2 != 0.0) {
    const t = 1.0 / det2;
    const w00 = t * s11, w01 = s01 * -t, w11 = t * s00;
    const dfx = hitX - at(PAR, 0), dfy = hitY - at(PAR, 1), dfz = hitZ - at(PAR, 2);
    const f0 = dfx * h0x + dfy * h0y + dfz * h0z;
    const f1 = dfx * h1x + dfy * h1y + dfz * h1z;
    chi2 = (f0 * w00 + f1 * w01) * f0 + (f0 * w01 + f1 * w11) * f1;
    put(crossing, X_CHI2, chi2);
    const back = ((px - at(PAR, 0)) * aX + (py - at(PAR, 1)) * aY + (pz - at(PAR, 2)) * aZ) / dirA;
    newX = at(PAR, 0) + ux * back;
    newY = at(PAR, 1) + uy * back;
    newZ = at(PAR, 2) + uz * back;
    const pMag = Math.sqrt(mx * mx + my * my + mz * mz);
    const fInv = 1.0 / Math.sqrt(at(PAR, 3) * at(PAR, 3) + at(PAR, 4) * at(PAR, 4) + at(PAR, 5) * at(PAR, 5));
    newPx = pMag * (at(PAR, 3) * fInv);
    newPy = pMag * (at(PAR, 4) * fInv);
    newPz = pMag * (at(PAR, 5) * fInv);
    updateState = true;
  }

  // ── 3. the updated point must stay inside Muid's barrel / endcap volume ──
  const r = Math.sqrt(newX * newX + newY * newY);
  const az = Math.abs(newZ - at(config, CFG_Z_OFFSET));
  let outside: bool;
  if (inBarrel) {
    outside = r <= at(config, CFG_BARREL_MIN_R) || r >= at(config, CFG_BARREL_MAX_R) || az >= at(config, CFG_BARREL_HALF_LENGTH);
  } else {
    outside = r <= at(config, CFG_ENDCAP_MIN_R) || r >= at(config, CFG_ENDCAP_MAX_R) || Math.abs(az - at(config, CFG_ENDCAP_MIDDLE_Z)) >= at(config, CFG_ENDCAP_HALF_LENGTH);
  }
  if (outside) return 1;
  put(crossing, X_APPLIED, 1.0);
  if (updateState) {
    put(crossing, X_STATE, newX); put(crossing, X_STATE + 1, newY); put(crossing, X_STATE + 2, newZ);
    put(crossing, X_STATE + 3, newPx); put(crossing, X_STATE + 4, newPy); put(crossing, X_STATE + 5, newPz);
    for (let i = 0; i < 36; i++) put(crossing, X_COV + i, at(CF, i));
  }
  return 1;
}
