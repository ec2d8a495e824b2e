// muid-wasm kernels: one module, SIMD, no GC in hot paths. The host owns the memory layout.
export function heapBase(): usize {
  return __heap_base;
}
