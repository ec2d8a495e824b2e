/**
 * The wasm inference engine: one instance of build/muid.wasm (the AssemblyScript kernels in
 * assembly/) with its own linear memory, and a bump arena above the module's static data.
 *
 * The host lays out weights, activations and the compiled plan in the arena once (plan-build
 * time); predict-time code only writes inputs, calls the kernels and reads outputs, so memory never
 * grows while predicting. `memory.grow` detaches every typed-array view of the old buffer
 * (toolchain.md "AssemblyScript build and loading"), so views are taken through `f32()`/`i32()`,
 * which re-create them when the buffer has changed.
 *
 * Each engine is a separate instance of one compiled module (compiled once per process), so a
 * Model owns its memory and can reset its arena when it re-plans for a larger batch; the module is
 * a few kilobytes and instantiates in well under a millisecond.
 */
import wasmBytes from "../../build/muid.wasm";
import { ModelError } from "../errors.js";

/** Raw exports of build/muid.wasm: byte pointers (u32), strides in f32 elements. */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  dense(x: number, xStride: number, wt: number, bias: number, y: number, yStride: number, rows: number, nin: number, noutPadded: number, activation: number, alpha: number): void;
  denseScalar(x: number, xStride: number, wt: number, bias: number, y: number, yStride: number, rows: number, nin: number, noutPadded: number, activation: number, alpha: number): void;
  conv3x3(x: number, xStride: number, wt: number, bias: number, y: number, yStride: number, batch: number, cin: number, height: number, width: number, cout: number, coutPadded: number, activation: number, alpha: number): void;
  conv3x3Scalar(x: number, xStride: number, wt: number, bias: number, y: number, yStride: number, batch: number, cin: number, height: number, width: number, cout: number, coutPadded: number, activation: number, alpha: number): void;
  embedding(ids: number, table: number, dim: number, indexOffset: number, y: number, yStride: number, batch: number): void;
  concatColumns(x: number, xStride: number, y: number, yStride: number, width: number, batch: number): void;
  affine(x: number, xStride: number, center: number, scale: number, shift: number, y: number, yStride: number, n: number, batch: number): void;
  affineScalar(x: number, xStride: number, center: number, scale: number, shift: number, y: number, yStride: number, n: number, batch: number): void;
  softmax(x: number, xStride: number, y: number, yStride: number, n: number, batch: number): void;
  softmax2(logits: number, logitStride: number, p1: number, batch: number): void;
  forward(planPtr: number, nOps: number, batch: number): number;
  planRecordWords(): number;
}

/** Activation codes of assembly/activation.ts. */
export const ACTIVATION_CODE = { none: 0, relu: 1, leakyrelu: 2 } as const;

/** Plan record layout of assembly/forward.ts (opcodes, flag, words per record). */
export const OPCODE = { dense: 1, conv3x3: 2, embedding: 3, concat: 4, affine: 5, softmax2: 6, softmax: 7 } as const;
export const FLAG_SCALAR = 1;
export const PLAN_RECORD_WORDS = 16;

const PAGE_BYTES = 65536;
/** Alignment of every arena block: a cache line, so no v128 load straddles two lines needlessly. */
const BLOCK_ALIGN = 64;
/** wasm32 linear memory cannot exceed 4 GiB; V8 caps it there too. */
const MAX_MEMORY_BYTES = 4 * 1024 * 1024 * 1024;

let compiledModule: Promise<WebAssembly.Module> | undefined;

export class Engine {
  readonly kernels: KernelExports;
  /** First arena byte (the module's heapBase rounded up). */
  readonly base: number;
  private top: number;
  private viewBuffer: ArrayBuffer | null = null;
  private f32View = new Float32Array(0);
  private i32View = new Int32Array(0);

  constructor(instance: WebAssembly.Instance) {
    this.kernels = instance.exports as unknown as KernelExports;
    if (this.kernels.planRecordWords() !== PLAN_RECORD_WORDS)
      throw new Error(`build/muid.wasm uses ${this.kernels.planRecordWords()} words per plan record, engine.ts ${PLAN_RECORD_WORDS}: rebuild with npm run build:wasm`);
    this.base = alignUp(this.kernels.heapBase(), BLOCK_ALIGN);
    this.top = this.base;
  }

  get memory(): WebAssembly.Memory {
    return this.kernels.memory;
  }

  /** Current size of the linear memory in bytes. */
  get memoryBytes(): number {
    return this.kernels.memory.buffer.byteLength;
  }

  /** Bytes of the arena in use. */
  get usedBytes(): number {
    return this.top - this.base;
  }

  /**
   * Reserves `bytes` (rounded up to the block alignment) and returns the byte pointer. Grows the
   * memory when needed: call only at plan-build time, never while predicting.
   */
  alloc(bytes: number): number {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new Error(`arena allocation of ${bytes} bytes`);
    const ptr = this.top;
    const end = alignUp(ptr + bytes, BLOCK_ALIGN);
    this.reserve(end);
    this.top = end;
    return ptr;
  }

  /** Makes sure memory holds `end` bytes, growing it if needed (ModelError if it cannot). */
  reserve(end: number): void {
    const have = this.kernels.memory.buffer.byteLength;
    if (end <= have) return;
    if (end > MAX_MEMORY_BYTES) throw new ModelError(`the model needs ${end} bytes of wasm memory, more than the 4 GiB a wasm32 module can address`);
    try {
      this.kernels.memory.grow(Math.ceil((end - have) / PAGE_BYTES));
    } catch (e) {
      throw new ModelError(`cannot grow wasm memory to ${end} bytes: ${(e as Error).message}`);
    }
  }

  /** The current arena top, to hand to `release` later. */
  mark(): number {
    return this.top;
  }

  /** Frees everything allocated after `mark` (the memory stays grown). */
  release(mark: number): void {
    if (mark < this.base || mark > this.top) throw new Error(`arena release to ${mark} outside [${this.base}, ${this.top}]`);
    this.top = mark;
  }

  /** A Float32Array over the whole memory; index = byte pointer / 4. Re-fetch after any alloc. */
  f32(): Float32Array {
    this.refreshViews();
    return this.f32View;
  }

  /** An Int32Array over the whole memory; index = byte pointer / 4. Re-fetch after any alloc. */
  i32(): Int32Array {
    this.refreshViews();
    return this.i32View;
  }

  /** Allocates and fills an f32 block; returns its byte pointer. */
  allocF32(values: ArrayLike<number>): number {
    const ptr = this.alloc(values.length * 4);
    this.f32().set(values, ptr >>> 2);
    return ptr;
  }

  /** Allocates and fills an i32 block; returns its byte pointer. */
  allocI32(values: ArrayLike<number>): number {
    const ptr = this.alloc(values.length * 4);
    this.i32().set(values, ptr >>> 2);
    return ptr;
  }

  /** Copies n f32 values starting at byte pointer ptr out of wasm memory. */
  readF32(ptr: number, n: number): Float32Array {
    return this.f32().slice(ptr >>> 2, (ptr >>> 2) + n);
  }

  private refreshViews(): void {
    const buffer = this.kernels.memory.buffer;
    if (buffer !== this.viewBuffer) {
      this.viewBuffer = buffer;
      this.f32View = new Float32Array(buffer);
      this.i32View = new Int32Array(buffer);
    }
  }
}

/** A new engine: its own instance and memory, from the module compiled once per process. */
export async function createEngine(): Promise<Engine> {
  compiledModule ??= WebAssembly.compile(wasmBytes as BufferSource);
  const instance = await WebAssembly.instantiate(await compiledModule, {});
  return new Engine(instance);
}

export function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

/** Smallest multiple of 4 ≥ n: output widths are padded so kernels have no scalar tails. */
export function padTo4(n: number): number {
  return (n + 3) & ~3;
}
