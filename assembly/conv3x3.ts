// 3×3 convolution, stride 1, zero padding 1, over a batch of images (the ECL CNN's conv1, 1→64 on
// 7×7, ecl.md §1.2), followed by an activation.
//
// Memory layout (f32, byte pointers laid out by the host):
//   x     [batch][xStride]        image r, channel ci, pixel (h, w) at x + 4·(r·xStride + ci·H·W + h·W + w)
//   wt    [cin][3][3][coutPadded] the PyTorch weight [cout][cin][3][3] transposed so the output
//                                 channels are contiguous (the kernel vectorises over them);
//                                 padding channels are zero
//   bias  [coutPadded]
//   y     [batch][yStride]        yStride ≥ cout·H·W; output channel c of pixel (h, w) at
//                                 y + 4·(r·yStride + c·H·W + h·W + w): channel-major, exactly
//                                 PyTorch's x.view(-1, cout·H·W) (ecl.md §1.2 step 3), so the
//                                 following dense layer uses the PyTorch FC1 weight as it is.
//                                 Only the cout real channels are written.
// coutPadded is a multiple of 4. The channel-major store takes the four lanes apart (one scalar
// store each); at cin = 1 that is 4 stores per 9 vector multiply-adds, and the convolution is
// ~7 % of the ECL CNN's arithmetic, so a permuted (HWC) layout was not worth its bookkeeping.
//
// Summation order, identical in `conv3x3` and `conv3x3Scalar`:
//   acc = b[c]; for ci ascending, kh = 0..2, kw = 0..2 (taps outside the image are skipped, which is
//   what zero padding contributes): acc = acc + x[ci][h+kh−1][w+kw−1]·W[c][ci][kh][kw]; y = act(acc).
import { activate1, activate4 } from "./activation";

// @ts-ignore: decorator
@inline
function storeChannels(v: v128, p: usize, plane: usize, c: i32, cout: i32): void {
  // p points at channel c of one output pixel; consecutive channels are `plane` bytes apart.
  if (c + 4 <= cout) {
    store<f32>(p, f32x4.extract_lane(v, 0));
    store<f32>(p + plane, f32x4.extract_lane(v, 1));
    store<f32>(p + 2 * plane, f32x4.extract_lane(v, 2));
    store<f32>(p + 3 * plane, f32x4.extract_lane(v, 3));
  } else {
    if (c < cout) store<f32>(p, f32x4.extract_lane(v, 0));
    if (c + 1 < cout) store<f32>(p + plane, f32x4.extract_lane(v, 1));
    if (c + 2 < cout) store<f32>(p + 2 * plane, f32x4.extract_lane(v, 2));
  }
}

export function conv3x3(
  x: usize, xStride: i32, wt: usize, bias: usize, y: usize, yStride: i32,
  batch: i32, cin: i32, height: i32, width: i32, cout: i32, coutPadded: i32, activation: i32, alpha: f32,
): void {
  const hw = height * width;
  const plane = <usize>hw << 2;
  const ws = <usize>coutPadded << 2;
  const va = f32x4.splat(alpha);
  for (let r = 0; r < batch; r++) {
    const xr = x + ((<usize>r * <usize>xStride) << 2);
    const yr = y + ((<usize>r * <usize>yStride) << 2);
    for (let h = 0; h < height; h++) {
      for (let w = 0; w < width; w++) {
        const yp = yr + (<usize>(h * width + w) << 2);
        let c = 0;
        for (; c + 16 <= coutPadded; c += 16) {
          const bc = bias + (<usize>c << 2);
          let a0 = v128.load(bc, 0), a1 = v128.load(bc, 16), a2 = v128.load(bc, 32), a3 = v128.load(bc, 48);
          for (let ci = 0; ci < cin; ci++) {
            for (let kh = 0; kh < 3; kh++) {
              const ih = h + kh - 1;
              if (ih < 0 || ih >= height) continue;
              for (let kw = 0; kw < 3; kw++) {
                const iw = w + kw - 1;
                if (iw < 0 || iw >= width) continue;
                const s = f32x4.splat(load<f32>(xr + (<usize>(ci * hw + ih * width + iw) << 2)));
                const wp = wt + <usize>(ci * 9 + kh * 3 + kw) * ws + (<usize>c << 2);
                a0 = f32x4.add(a0, f32x4.mul(s, v128.load(wp, 0)));
                a1 = f32x4.add(a1, f32x4.mul(s, v128.load(wp, 16)));
                a2 = f32x4.add(a2, f32x4.mul(s, v128.load(wp, 32)));
                a3 = f32x4.add(a3, f32x4.mul(s, v128.load(wp, 48)));
              }
            }
          }
          const p = yp + <usize>c * plane;
          storeChannels(activate4(a0, activation, va), p, plane, c, cout);
          storeChannels(activate4(a1, activation, va), p + 4 * plane, plane, c + 4, cout);
          storeChannels(activate4(a2, activation, va), p + 8 * plane, plane, c + 8, cout);
          storeChannels(activate4(a3, activation, va), p + 12 * plane, plane, c + 12, cout);
        }
        for (; c < coutPadded; c += 4) {
          let a0 = v128.load(bias + (<usize>c << 2));
          for (let ci = 0; ci < cin; ci++) {
            for (let kh = 0; kh < 3; kh++) {
              const ih = h + kh - 1;
              if (ih < 0 || ih >= height) continue;
              for (let kw = 0; kw < 3; kw++) {
                const iw = w + kw - 1;
                if (iw < 0 || iw >= width) continue;
                const s = f32x4.splat(load<f32>(xr + (<usize>(ci * hw + ih * width + iw) << 2)));
                a0 = f32x4.add(a0, f32x4.mul(s, v128.load(wt + <usize>(ci * 9 + kh * 3 + kw) * ws + (<usize>c << 2))));
              }
            }
          }
          storeChannels(activate4(a0, activation, va), yp + <usize>c * plane, plane, c, cout);
        }
      }
    }
  }
}

/** Scalar twin of `conv3x3`: same layout and summation order, one output value at a time. */
export function conv3x3Scalar(
  x: usize, xStride: i32, wt: usize, bias: usize, y: usize, yStride: i32,
  batch: i32, cin: i32, height: i32, width: i32, cout: i32, coutPadded: i32, activation: i32, alpha: f32,
): void {
  const hw = height * width;
  const ws = <usize>coutPadded << 2;
  for (let r = 0; r < batch; r++) {
    const xr = x + ((<usize>r * <usize>xStride) << 2);
    const yr = y + ((<usize>r * <usize>yStride) << 2);
    for (let c = 0; c < cout; c++) {
      const wc = wt + (<usize>c << 2);
      for (let h = 0; h < height; h++) {
        for (let w = 0; w < width; w++) {
          let acc = load<f32>(bias + (<usize>c << 2));
          for (let ci = 0; ci < cin; ci++) {
            for (let kh = 0; kh < 3; kh++) {
              const ih = h + kh - 1;
              if (ih < 0 || ih >= height) continue;
              for (let kw = 0; kw < 3; kw++) {
                const iw = w + kw - 1;
                if (iw < 0 || iw >= width) continue;
                acc += load<f32>(xr + (<usize>(ci * hw + ih * width + iw) << 2)) * load<f32>(wc + <usize>(ci * 9 + kh * 3 + kw) * ws);
              }
            }
          }
          store<f32>(yr + (<usize>(c * hw + h * width + w) << 2), activate1(acc, activation, alpha));
        }
      }
    }
  }
}
