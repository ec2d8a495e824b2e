// Embedding gather: y[r] = table[ids[r] + indexOffset] (PyTorch nn.Embedding; the ECL CNN's θ and
// φ embeddings, ecl.md §1.2 rows 5–6, with offset −14 for θ, ecl.md §1.5).
//
// Memory layout (byte pointers laid out by the host):
//   ids    [batch] i32           one id per row; the host has checked every id + indexOffset is a
//                                row of the table (the kernel does not check: no traps in wasm)
//   table  [num][dim] f32        row-major, as stored by PyTorch
//   y      [batch][yStride] f32  dim values written at the start of each row; yStride ≥ dim, so y
//                                may point into a concat buffer at the embedding's column offset
// A pure copy: no arithmetic, so there is no separate scalar twin (the bits cannot differ).

export function embedding(ids: usize, table: usize, dim: i32, indexOffset: i32, y: usize, yStride: i32, batch: i32): void {
  const bytes = <usize>dim << 2;
  for (let r = 0; r < batch; r++) {
    const row = load<i32>(ids + (<usize>r << 2)) + indexOffset;
    memory.copy(y + ((<usize>r * <usize>yStride) << 2), table + <usize>row * bytes, bytes);
  }
}
