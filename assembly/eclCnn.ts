// The ECL CNN (ecl.md §1.2: conv 3×3 1→64 + ReLU → fc1 3177→128 + ReLU → fc2 128→2) evaluated
// sparsely with folded tables, one call for all tracks of an event.
//
// fc1's pre-activation for output o is
//   z_o = b1_o + Σ_{c,pix} W1[o][c·49+pix]·relu(conv_c(pix)) + W1[o][3136]·pt
//             + Σ_d W1[o][3137+d]·Emb_θ[t][d] + Σ_d W1[o][3159+d]·Emb_φ[p][d].
// A conv output whose 3×3 receptive field is all zero is relu(convBias_c), a constant; the host
// folds those constants, b1 and the embeddings into per-model tables (src/models/eclCnnFast.ts):
//   base[o]         = b1_o + Σ_{c,pix} W1[o][c·49+pix]·relu(convBias_c)
//   thetaTable[t][o] = Σ_d W1[o][3137+d]·Emb_θ[t][d],   phiTable[p][o] = Σ_d W1[o][3159+d]·Emb_φ[p][d]
//   ptColumn[o]     = W1[o][3136]
// so at run time
//   z_o = ((base_o + pt·ptColumn_o) + thetaTable[t]_o) + phiTable[p]_o
//         + Σ_{active pix, ascending} ( Σ_{c with δ ≠ 0, ascending} δ_c(pix)·W1pix[pix][c][o] )
// with δ_c(pix) = relu(conv_c(pix)) − relu(convBias_c); a pixel is "active" when its receptive field
// holds a nonzero input, and channels with δ = 0 (both sides of the ReLU at 0) are skipped, both
// exactly. Each active pixel's channel sum is formed from zero and then added to z (two-level
// summation, as in dense.ts).
//
// Memory layout (f32 unless noted, byte pointers laid out by the host):
//   convW      [9][64]          conv1 weight, tap = kh·3 + kw, channels contiguous
//   convB      [64]             conv1 bias;  reluB [64] = max(convB, 0)
//   w1pix      [49][64][128]    fc1 weight columns of the conv outputs, regrouped pixel-major
//   base, ptColumn [128];  thetaTable [44][128];  phiTable [144][128]
//   w2         [2][128]         fc2 weight (PyTorch layout);  b2 [2]
//   image      [batch][49];  pt [batch];  thetaIndex, phiIndex [batch] i32 (thetaId − 14, phiId),
//              checked by the host
//   logits     [batch][2];  p1 [batch] = softmax(logits)[1] = 1/(1 + exp(l0 − l1))
//   scratch    SCRATCH_BYTES: channel lists of the active pixels and the hidden layer
//
// Summation orders, identical in eclCnnFast and eclCnnFastScalar (so they agree bit for bit):
//   conv: acc_c = convB_c; taps kh = 0..2, kw = 0..2 inside the image: acc_c = acc_c + x·convW[tap][c]
//         (the order of assembly/conv3x3.ts); δ_c = max(acc_c, 0) − reluB_c;
//   fc1:  as z_o above, separate multiply and add (no FMA, no relaxed SIMD); h_o = max(z_o, 0);
//   fc2:  four partial sums q_j = Σ_{o ≡ j mod 4, ascending} h_o·w2[k][o], l_k = b2_k + ((q0 + q1) + (q2 + q3)).
// The order differs from the dense path's (which sums 3177 columns in chunks of 16), so the two
// agree to float rounding, not bit for bit.

const SIDE: i32 = 7;
const PIXELS: i32 = 49;
const CHANNELS: i32 = 64;
const HIDDEN: i32 = 128;
const TAPS: i32 = 9;

// scratch layout (bytes)
const LIST_CHANNEL: usize = 0; // i32 [49·64]
const LIST_DELTA: usize = LIST_CHANNEL + <usize>(PIXELS * CHANNELS * 4); // f32 [49·64]
const ACTIVE_PIXEL: usize = LIST_DELTA + <usize>(PIXELS * CHANNELS * 4); // i32 [49]
const ACTIVE_START: usize = ACTIVE_PIXEL + <usize>(64 * 4); // i32 [50]
const HIDDEN_VALUES: usize = ACTIVE_START + <usize>(64 * 4); // f32 [128]
const SCRATCH_END: usize = HIDDEN_VALUES + <usize>(HIDDEN * 4);

/** Bytes of scratch memory the host must provide. */
export function eclCnnScratchBytes(): i32 {
  return <i32>SCRATCH_END;
}

// True when pixel (h, w) has a nonzero input in its 3×3 receptive field.
// @ts-ignore: decorator
@inline
function fieldHasSignal(x: usize, h: i32, w: i32): bool {
  for (let kh = 0; kh < 3; kh++) {
    const ih = h + kh - 1;
    if (ih < 0 || ih >= SIDE) continue;
    for (let kw = 0; kw < 3; kw++) {
      const iw = w + kw - 1;
      if (iw < 0 || iw >= SIDE) continue;
      if (load<f32>(x + (<usize>(ih * SIDE + iw) << 2)) != 0) return true;
    }
  }
  return false;
}

// Appends the nonzero δ of one channel to the lists; returns the new list length.
// @ts-ignore: decorator
@inline
function push(scratch: usize, n: i32, c: i32, delta: f32): i32 {
  if (delta != 0) {
    store<i32>(scratch + LIST_CHANNEL + (<usize>n << 2), c);
    store<f32>(scratch + LIST_DELTA + (<usize>n << 2), delta);
    return n + 1;
  }
  return n;
}

// Conv phase of one track: the active pixels and their nonzero δ lists. Returns the number of
// active pixels; ACTIVE_PIXEL[a] is the pixel, ACTIVE_START[a]..ACTIVE_START[a+1] its list entries.
function convDeltas(x: usize, convW: usize, convB: usize, reluB: usize, scratch: usize, simd: bool): i32 {
  let nActive = 0;
  let n = 0;
  for (let h = 0; h < SIDE; h++) {
    for (let w = 0; w < SIDE; w++) {
      if (!fieldHasSignal(x, h, w)) continue;
      store<i32>(scratch + ACTIVE_PIXEL + (<usize>nActive << 2), h * SIDE + w);
      store<i32>(scratch + ACTIVE_START + (<usize>nActive << 2), n);
      nActive++;
      if (simd) {
        const zero = f32x4.splat(0);
        for (let c = 0; c < CHANNELS; c += 16) {
          const bc = convB + (<usize>c << 2);
          let a0 = v128.load(bc, 0), a1 = v128.load(bc, 16), a2 = v128.load(bc, 32), a3 = v128.load(bc, 48);
          for (let kh = 0; kh < 3; kh++) {
            const ih = h + kh - 1;
            if (ih < 0 || ih >= SIDE) continue;
            for (let kw = 0; kw < 3; kw++) {
              const iw = w + kw - 1;
              if (iw < 0 || iw >= SIDE) continue;
              const s = f32x4.splat(load<f32>(x + (<usize>(ih * SIDE + iw) << 2)));
              const wp = convW + ((<usize>((kh * 3 + kw) * CHANNELS + c)) << 2);
              a0 = f32x4.add(a0, f32x4.mul(s, v128.load(wp, 0)));
              a1 = f32x4.add(a1, f32x4.mul(s, v128.load(wp, 16)));
              a2 = f32x4.add(a2, f32x4.mul(s, v128.load(wp, 32)));
              a3 = f32x4.add(a3, f32x4.mul(s, v128.load(wp, 48)));
            }
          }
          const rb = reluB + (<usize>c << 2);
          const d0 = f32x4.sub(f32x4.max(a0, zero), v128.load(rb, 0));
          const d1 = f32x4.sub(f32x4.max(a1, zero), v128.load(rb, 16));
          const d2 = f32x4.sub(f32x4.max(a2, zero), v128.load(rb, 32));
          const d3 = f32x4.sub(f32x4.max(a3, zero), v128.load(rb, 48));
          n = push(scratch, n, c, f32x4.extract_lane(d0, 0));
          n = push(scratch, n, c + 1, f32x4.extract_lane(d0, 1));
          n = push(scratch, n, c + 2, f32x4.extract_lane(d0, 2));
          n = push(scratch, n, c + 3, f32x4.extract_lane(d0, 3));
          n = push(scratch, n, c + 4, f32x4.extract_lane(d1, 0));
          n = push(scratch, n, c + 5, f32x4.extract_lane(d1, 1));
          n = push(scratch, n, c + 6, f32x4.extract_lane(d1, 2));
          n = push(scratch, n, c + 7, f32x4.extract_lane(d1, 3));
          n = push(scratch, n, c + 8, f32x4.extract_lane(d2, 0));
          n = push(scratch, n, c + 9, f32x4.extract_lane(d2, 1));
          n = push(scratch, n, c + 10, f32x4.extract_lane(d2, 2));
          n = push(scratch, n, c + 11, f32x4.extract_lane(d2, 3));
          n = push(scratch, n, c + 12, f32x4.extract_lane(d3, 0));
          n = push(scratch, n, c + 13, f32x4.extract_lane(d3, 1));
          n = push(scratch, n, c + 14, f32x4.extract_lane(d3, 2));
          n = push(scratch, n, c + 15, f32x4.extract_lane(d3, 3));
        }
      } else {
        for (let c = 0; c < CHANNELS; c++) {
          let acc = load<f32>(convB + (<usize>c << 2));
          for (let kh = 0; kh < 3; kh++) {
            const ih = h + kh - 1;
            if (ih < 0 || ih >= SIDE) continue;
            for (let kw = 0; kw < 3; kw++) {
              const iw = w + kw - 1;
              if (iw < 0 || iw >= SIDE) continue;
              acc += load<f32>(x + (<usize>(ih * SIDE + iw) << 2)) * load<f32>(convW + ((<usize>((kh * 3 + kw) * CHANNELS + c)) << 2));
            }
          }
          n = push(scratch, n, c, max<f32>(acc, 0) - load<f32>(reluB + (<usize>c << 2)));
        }
      }
    }
  }
  store<i32>(scratch + ACTIVE_START + (<usize>nActive << 2), n);
  return nActive;
}

// fc2 and the class-1 probability from the hidden layer in scratch.
// @ts-ignore: decorator
@inline
function head(scratch: usize, w2: usize, b2: usize, logits: usize, p1: usize, simd: bool): void {
  const hv = scratch + HIDDEN_VALUES;
  let l0: f32, l1: f32;
  if (simd) {
    let q0 = f32x4.splat(0), q1 = f32x4.splat(0);
    for (let o = 0; o < HIDDEN; o += 4) {
      const h = v128.load(hv + (<usize>o << 2));
      q0 = f32x4.add(q0, f32x4.mul(h, v128.load(w2 + (<usize>o << 2))));
      q1 = f32x4.add(q1, f32x4.mul(h, v128.load(w2 + (<usize>(HIDDEN + o) << 2))));
    }
    l0 = load<f32>(b2) + ((f32x4.extract_lane(q0, 0) + f32x4.extract_lane(q0, 1)) + (f32x4.extract_lane(q0, 2) + f32x4.extract_lane(q0, 3)));
    l1 = load<f32>(b2, 4) + ((f32x4.extract_lane(q1, 0) + f32x4.extract_lane(q1, 1)) + (f32x4.extract_lane(q1, 2) + f32x4.extract_lane(q1, 3)));
  } else {
    let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
    let c0: f32 = 0, c1: f32 = 0, c2: f32 = 0, c3: f32 = 0;
    for (let o = 0; o < HIDDEN; o += 4) {
      const p = hv + (<usize>o << 2);
      const k0 = w2 + (<usize>o << 2);
      const k1 = w2 + (<usize>(HIDDEN + o) << 2);
      a0 += load<f32>(p, 0) * load<f32>(k0, 0);
      a1 += load<f32>(p, 4) * load<f32>(k0, 4);
      a2 += load<f32>(p, 8) * load<f32>(k0, 8);
      a3 += load<f32>(p, 12) * load<f32>(k0, 12);
      c0 += load<f32>(p, 0) * load<f32>(k1, 0);
      c1 += load<f32>(p, 4) * load<f32>(k1, 4);
      c2 += load<f32>(p, 8) * load<f32>(k1, 8);
      c3 += load<f32>(p, 12) * load<f32>(k1, 12);
    }
    l0 = load<f32>(b2) + ((a0 + a1) + (a2 + a3));
    l1 = load<f32>(b2, 4) + ((c0 + c1) + (c2 + c3));
  }
  store<f32>(logits, l0);
  store<f32>(logits, l1, 4);
  store<f32>(p1, <f32>1 / (<f32>1 + Mathf.exp(l0 - l1)));
}

function run(
  convW: usize, convB: usize, reluB: usize, w1pix: usize, base: usize, ptColumn: usize, thetaTable: usize, phiTable: usize,
  w2: usize, b2: usize, image: usize, pt: usize, thetaIndex: usize, phiIndex: usize, logits: usize, p1: usize,
  scratch: usize, batch: i32, simd: bool,
): void {
  const rowBytes = <usize>HIDDEN << 2;
  for (let r = 0; r < batch; r++) {
    const x = image + (<usize>(r * PIXELS) << 2);
    const nActive = convDeltas(x, convW, convB, reluB, scratch, simd);
    const ptr = load<f32>(pt + (<usize>r << 2));
    const tRow = thetaTable + <usize>load<i32>(thetaIndex + (<usize>r << 2)) * rowBytes;
    const pRow = phiTable + <usize>load<i32>(phiIndex + (<usize>r << 2)) * rowBytes;
    const hv = scratch + HIDDEN_VALUES;
    if (simd) {
      const vpt = f32x4.splat(ptr);
      const zero = f32x4.splat(0);
      // 16 outputs at a time: 4 running totals + 4 partial sums in registers over all active pixels
      for (let o = 0; o < HIDDEN; o += 16) {
        const ob = <usize>o << 2;
        let t0 = f32x4.add(f32x4.add(f32x4.add(v128.load(base + ob, 0), f32x4.mul(vpt, v128.load(ptColumn + ob, 0))), v128.load(tRow + ob, 0)), v128.load(pRow + ob, 0));
        let t1 = f32x4.add(f32x4.add(f32x4.add(v128.load(base + ob, 16), f32x4.mul(vpt, v128.load(ptColumn + ob, 16))), v128.load(tRow + ob, 16)), v128.load(pRow + ob, 16));
        let t2 = f32x4.add(f32x4.add(f32x4.add(v128.load(base + ob, 32), f32x4.mul(vpt, v128.load(ptColumn + ob, 32))), v128.load(tRow + ob, 32)), v128.load(pRow + ob, 32));
        let t3 = f32x4.add(f32x4.add(f32x4.add(v128.load(base + ob, 48), f32x4.mul(vpt, v128.load(ptColumn + ob, 48))), v128.load(tRow + ob, 48)), v128.load(pRow + ob, 48));
        for (let a = 0; a < nActive; a++) {
          const pix = load<i32>(scratch + ACTIVE_PIXEL + (<usize>a << 2));
          const eEnd = load<i32>(scratch + ACTIVE_START + (<usize>(a + 1) << 2));
          const pixBase = w1pix + <usize>pix * <usize>(CHANNELS * HIDDEN * 4) + ob;
          let p0 = zero, p1v = zero, p2 = zero, p3 = zero;
          for (let e = load<i32>(scratch + ACTIVE_START + (<usize>a << 2)); e < eEnd; e++) {
            const s = f32x4.splat(load<f32>(scratch + LIST_DELTA + (<usize>e << 2)));
            const wp = pixBase + <usize>load<i32>(scratch + LIST_CHANNEL + (<usize>e << 2)) * rowBytes;
            p0 = f32x4.add(p0, f32x4.mul(s, v128.load(wp, 0)));
            p1v = f32x4.add(p1v, f32x4.mul(s, v128.load(wp, 16)));
            p2 = f32x4.add(p2, f32x4.mul(s, v128.load(wp, 32)));
            p3 = f32x4.add(p3, f32x4.mul(s, v128.load(wp, 48)));
          }
          t0 = f32x4.add(t0, p0);
          t1 = f32x4.add(t1, p1v);
          t2 = f32x4.add(t2, p2);
          t3 = f32x4.add(t3, p3);
        }
        v128.store(hv + ob, f32x4.max(t0, zero), 0);
        v128.store(hv + ob, f32x4.max(t1, zero), 16);
        v128.store(hv + ob, f32x4.max(t2, zero), 32);
        v128.store(hv + ob, f32x4.max(t3, zero), 48);
      }
    } else {
      for (let o = 0; o < HIDDEN; o++) {
        const ob = <usize>o << 2;
        let t: f32 = ((load<f32>(base + ob) + ptr * load<f32>(ptColumn + ob)) + load<f32>(tRow + ob)) + load<f32>(pRow + ob);
        for (let a = 0; a < nActive; a++) {
          const pix = load<i32>(scratch + ACTIVE_PIXEL + (<usize>a << 2));
          const eEnd = load<i32>(scratch + ACTIVE_START + (<usize>(a + 1) << 2));
          const pixBase = w1pix + <usize>pix * <usize>(CHANNELS * HIDDEN * 4) + ob;
          let p: f32 = 0;
          for (let e = load<i32>(scratch + ACTIVE_START + (<usize>a << 2)); e < eEnd; e++) {
            p += load<f32>(scratch + LIST_DELTA + (<usize>e << 2)) * load<f32>(pixBase + <usize>load<i32>(scratch + LIST_CHANNEL + (<usize>e << 2)) * rowBytes);
          }
          t += p;
        }
        store<f32>(hv + ob, max<f32>(t, 0));
      }
    }
    head(scratch, w2, b2, logits + (<usize>(r * 2) << 2), p1 + (<usize>r << 2), simd);
  }
}

/** Sparse/folded ECL CNN over `batch` tracks (SIMD). See the layout above. */
export function eclCnnFast(
  convW: usize, convB: usize, reluB: usize, w1pix: usize, base: usize, ptColumn: usize, thetaTable: usize, phiTable: usize,
  w2: usize, b2: usize, image: usize, pt: usize, thetaIndex: usize, phiIndex: usize, logits: usize, p1: usize,
  scratch: usize, batch: i32,
): void {
  run(convW, convB, reluB, w1pix, base, ptColumn, thetaTable, phiTable, w2, b2, image, pt, thetaIndex, phiIndex, logits, p1, scratch, batch, true);
}

/** Scalar twin of `eclCnnFast`: same layout and summation order, bit-identical results. */
export function eclCnnFastScalar(
  convW: usize, convB: usize, reluB: usize, w1pix: usize, base: usize, ptColumn: usize, thetaTable: usize, phiTable: usize,
  w2: usize, b2: usize, image: usize, pt: usize, thetaIndex: usize, phiIndex: usize, logits: usize, p1: usize,
  scratch: usize, batch: i32,
): void {
  run(convW, convB, reluB, w1pix, base, ptColumn, thetaTable, phiTable, w2, b2, image, pt, thetaIndex, phiIndex, logits, p1, scratch, batch, false);
}
