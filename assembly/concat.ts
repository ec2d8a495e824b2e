// Concatenation along the feature axis, one input at a time: copies `width` columns of each row of
// x into y, whose pointer already includes the input's column offset inside the concatenated row.
//
// Memory layout (f32, byte pointers laid out by the host):
//   x  [batch][xStride]   the input value, width ≤ xStride
//   y  [batch][yStride]   the concatenated buffer; y = base + 4·columnOffset
// A concat of n inputs is n calls (n plan records). A pure copy: no scalar twin needed.

export function concatColumns(x: usize, xStride: i32, y: usize, yStride: i32, width: i32, batch: i32): void {
  const bytes = <usize>width << 2;
  for (let r = 0; r < batch; r++) {
    memory.copy(y + ((<usize>r * <usize>yStride) << 2), x + ((<usize>r * <usize>xStride) << 2), bytes);
  }
}
