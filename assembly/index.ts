// muid-wasm kernels: one module, SIMD, no GC in hot paths. The host owns the memory layout: every
// kernel takes byte pointers into this module's exported `memory`, above heapBase().
export { dense, denseScalar } from "./dense";
export { conv3x3, conv3x3Scalar } from "./conv3x3";
export { embedding } from "./embedding";
export { concatColumns } from "./concat";
export { affine, affineScalar } from "./affine";
export { softmax, softmax2 } from "./softmax";
export { forward, planRecordWords } from "./forward";

/** First byte the host may use: everything below belongs to the module's static data. */
export function heapBase(): usize {
  return __heap_base;
}
export * from "./klmAssociation";
export { eclCnnFast, eclCnnFastScalar, eclCnnScratchBytes } from "./eclCnn";
export { peakMulAdd8, peakMulAdd12 } from "./peak";
