// Class probabilities from logits.
//
// softmax2: two classes (0 = pion/background, 1 = muon; klm.md §1.5, ecl.md §1.3). The class-1
//   probability is the logistic of the logit difference, p1 = 1/(1 + exp(l0 − l1)), which equals
//   softmax(l)[1] and needs one exp. exp overflow (l0 − l1 > 88.7) gives +inf and p1 = 0 exactly,
//   a large negative difference gives p1 = 1: no NaN for finite logits.
//   logits [batch][logitStride] f32 (classes 0 and 1 in columns 0 and 1), p1 [batch] f32.
// softmax: n classes, y[r][i] = exp(x[r][i] − m)/Σ exp(x[r][k] − m), m = max_k x[r][k] (shifting by
//   the maximum keeps exp finite); sums in ascending k.
//   x [batch][xStride], y [batch][yStride], both f32, n ≤ strides; y may equal x (in place).
// Both use Mathf.exp, compiled into this module, so every engine returns the same bits (never the
// host's Math.exp). The exp is scalar, so there is no SIMD form and no separate scalar twin.

export function softmax2(logits: usize, logitStride: i32, p1: usize, batch: i32): void {
  for (let r = 0; r < batch; r++) {
    const l = logits + ((<usize>r * <usize>logitStride) << 2);
    store<f32>(p1 + (<usize>r << 2), <f32>1 / (<f32>1 + Mathf.exp(load<f32>(l) - load<f32>(l, 4))));
  }
}

export function softmax(x: usize, xStride: i32, y: usize, yStride: i32, n: i32, batch: i32): void {
  for (let r = 0; r < batch; r++) {
    const xr = x + ((<usize>r * <usize>xStride) << 2);
    const yr = y + ((<usize>r * <usize>yStride) << 2);
    let m = load<f32>(xr);
    for (let i = 1; i < n; i++) m = max<f32>(m, load<f32>(xr + (<usize>i << 2)));
    let sum: f32 = 0;
    for (let i = 0; i < n; i++) {
      const e = Mathf.exp(load<f32>(xr + (<usize>i << 2)) - m);
      store<f32>(yr + (<usize>i << 2), e);
      sum += e;
    }
    for (let i = 0; i < n; i++) {
      const p = yr + (<usize>i << 2);
      store<f32>(p, load<f32>(p) / sum);
    }
  }
}
