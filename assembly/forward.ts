// Plan interpreter: runs a whole compiled model in one host→wasm call per batch (llama2.c style:
// the host lays out weights, activations and this plan in one arena once, then calls forward()).
//
// A plan is nOps records of PLAN_RECORD_WORDS i32 words each, starting at planPtr. Word 0 is the
// opcode, word 1 the flags (FLAG_SCALAR: run the scalar twin), the rest are byte pointers, strides
// (in f32 elements) and dimensions as listed. src/models/engine.ts mirrors these numbers.
//
//   OP_DENSE     x xStride wt bias y yStride nin noutPadded activation alphaBits
//   OP_CONV3X3   x xStride wt bias y yStride cin height width cout coutPadded activation alphaBits
//   OP_EMBEDDING ids table dim indexOffset y yStride
//   OP_CONCAT    x xStride y yStride width
//   OP_AFFINE    x xStride center scale shift y yStride n
//   OP_SOFTMAX2  logits logitStride p1
//   OP_SOFTMAX   x xStride y yStride n
//
// Returns nOps, or −(i + 1) if record i has an unknown opcode (the records before it have run).
import { dense, denseScalar } from "./dense";
import { conv3x3, conv3x3Scalar } from "./conv3x3";
import { embedding } from "./embedding";
import { concatColumns } from "./concat";
import { affine, affineScalar } from "./affine";
import { softmax, softmax2 } from "./softmax";

export const PLAN_RECORD_WORDS: i32 = 16;
export const OP_DENSE: i32 = 1;
export const OP_CONV3X3: i32 = 2;
export const OP_EMBEDDING: i32 = 3;
export const OP_CONCAT: i32 = 4;
export const OP_AFFINE: i32 = 5;
export const OP_SOFTMAX2: i32 = 6;
export const OP_SOFTMAX: i32 = 7;
export const FLAG_SCALAR: i32 = 1;

// @ts-ignore: decorator
@inline
function word(rec: usize, i: i32): i32 {
  return load<i32>(rec + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline
function ptr(rec: usize, i: i32): usize {
  return <usize>load<u32>(rec + (<usize>i << 2));
}

export function forward(planPtr: usize, nOps: i32, batch: i32): i32 {
  for (let i = 0; i < nOps; i++) {
    const rec = planPtr + ((<usize>i * <usize>PLAN_RECORD_WORDS) << 2);
    const op = word(rec, 0);
    const scalar = (word(rec, 1) & FLAG_SCALAR) != 0;
    if (op == OP_DENSE) {
      const alpha = reinterpret<f32>(word(rec, 11));
      if (scalar) denseScalar(ptr(rec, 2), word(rec, 3), ptr(rec, 4), ptr(rec, 5), ptr(rec, 6), word(rec, 7), batch, word(rec, 8), word(rec, 9), word(rec, 10), alpha);
      else dense(ptr(rec, 2), word(rec, 3), ptr(rec, 4), ptr(rec, 5), ptr(rec, 6), word(rec, 7), batch, word(rec, 8), word(rec, 9), word(rec, 10), alpha);
    } else if (op == OP_CONV3X3) {
      const alpha = reinterpret<f32>(word(rec, 14));
      if (scalar) conv3x3Scalar(ptr(rec, 2), word(rec, 3), ptr(rec, 4), ptr(rec, 5), ptr(rec, 6), word(rec, 7), batch, word(rec, 8), word(rec, 9), word(rec, 10), word(rec, 11), word(rec, 12), word(rec, 13), alpha);
      else conv3x3(ptr(rec, 2), word(rec, 3), ptr(rec, 4), ptr(rec, 5), ptr(rec, 6), word(rec, 7), batch, word(rec, 8), word(rec, 9), word(rec, 10), word(rec, 11), word(rec, 12), word(rec, 13), alpha);
    } else if (op == OP_EMBEDDING) {
      embedding(ptr(rec, 2), ptr(rec, 3), word(rec, 4), word(rec, 5), ptr(rec, 6), word(rec, 7), batch);
    } else if (op == OP_CONCAT) {
      concatColumns(ptr(rec, 2), word(rec, 3), ptr(rec, 4), word(rec, 5), word(rec, 6), batch);
    } else if (op == OP_AFFINE) {
      if (scalar) affineScalar(ptr(rec, 2), word(rec, 3), ptr(rec, 4), ptr(rec, 5), ptr(rec, 6), ptr(rec, 7), word(rec, 8), word(rec, 9), batch);
      else affine(ptr(rec, 2), word(rec, 3), ptr(rec, 4), ptr(rec, 5), ptr(rec, 6), ptr(rec, 7), word(rec, 8), word(rec, 9), batch);
    } else if (op == OP_SOFTMAX2) {
      softmax2(ptr(rec, 2), word(rec, 3), ptr(rec, 4), batch);
    } else if (op == OP_SOFTMAX) {
      softmax(ptr(rec, 2), word(rec, 3), ptr(rec, 4), word(rec, 5), word(rec, 6), batch);
    } else {
      return -(i + 1);
    }
  }
  return nOps;
}

/** Words per plan record, so the host can check it agrees with this build. */
export function planRecordWords(): i32 {
  return PLAN_RECORD_WORDS;
}
