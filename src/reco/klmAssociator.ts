/**
 * The two backends of Muid's per-layer association (klm.md §2.4–2.5) behind one interface: the
 * AssemblyScript kernel `klmAssociateLayer` in build/muid.wasm, and its scalar TypeScript twin. Both
 * read and write the layout of klmAssociationLayout.ts; the wasm one copies the blocks in and out of its
 * linear memory.
 *
 * The wasm module is loaded through src/models/engine.ts (`createEngine`: one instance of the compiled
 * module with its own memory and bump arena), the same loader the models use; engine.ts only offers
 * f32/i32 views, so this file keeps a Float64Array view of the same memory (re-created when it grows).
 */
import { InputError } from "../errors.js";
import { createEngine, type Engine } from "../models/engine.js";
import {
  CONFIG_WORDS,
  CROSSING_WORDS,
  HIT_ARRAY_COUNT,
  writeAssociationConfig,
  type AssociationSettings,
  type EventHitTable,
} from "./klmAssociationLayout.js";
import { associateLayerScalar } from "./klmAssociationScalar.js";

export type AssociationBackend = "wasm" | "scalar";

/** One crossed layer's association: reads and writes a CROSSING block; returns 1 when a hit matched. */
export interface LayerAssociator {
  readonly backend: AssociationBackend;
  /** The hits of the event whose crossings follow. */
  setEventHits(table: EventHitTable): void;
  /** Associates the candidates [first, first + count) of the current event with `crossing` (CROSSING_WORDS numbers, updated in place). */
  associate(crossing: Float64Array, first: number, count: number): number;
}

/** The scalar twin on host memory. */
export class ScalarLayerAssociator implements LayerAssociator {
  readonly backend = "scalar" as const;
  private readonly config = new Float64Array(CONFIG_WORDS);
  private table: EventHitTable | null = null;

  constructor(settings: AssociationSettings = {}) {
    writeAssociationConfig(this.config, 0, settings);
  }

  setEventHits(table: EventHitTable): void {
    this.table = table;
  }

  associate(crossing: Float64Array, first: number, count: number): number {
    const t = this.table;
    if (!t) throw new InputError("association: no event hits were set");
    return associateLayerScalar(this.config, 0, crossing, 0, t.data, 0, t.stride, first, count);
  }
}

interface AssociationExports {
  klmAssociateLayer(config: number, crossing: number, hits: number, capacity: number, first: number, count: number): number;
  klmCrossingWords(): number;
}

/** The AssemblyScript kernel in its own engine instance. */
export class WasmLayerAssociator implements LayerAssociator {
  readonly backend = "wasm" as const;
  private readonly engine: Engine;
  private readonly kernel: AssociationExports;
  private readonly configPtr: number;
  private readonly crossingPtr: number;
  private readonly hitsMark: number;
  private hitsPtr = 0;
  private hitsWords = 0;
  private stride = 1;
  private buffer: ArrayBuffer | null = null;
  private view = new Float64Array(0);

  private constructor(engine: Engine, settings: AssociationSettings) {
    this.engine = engine;
    this.kernel = engine.kernels as unknown as AssociationExports;
    if (typeof this.kernel.klmAssociateLayer !== "function") throw new Error("build/muid.wasm lacks klmAssociateLayer: rebuild with npm run build:wasm");
    if (this.kernel.klmCrossingWords() !== CROSSING_WORDS)
      throw new Error(`build/muid.wasm uses ${this.kernel.klmCrossingWords()} words per crossing, klmAssociationLayout.ts ${CROSSING_WORDS}: rebuild with npm run build:wasm`);
    this.configPtr = engine.alloc(CONFIG_WORDS * 8);
    this.crossingPtr = engine.alloc(CROSSING_WORDS * 8);
    this.hitsMark = engine.mark();
    const config = new Float64Array(CONFIG_WORDS);
    writeAssociationConfig(config, 0, settings);
    this.f64().set(config, this.configPtr >>> 3);
  }

  static async create(settings: AssociationSettings = {}): Promise<WasmLayerAssociator> {
    return new WasmLayerAssociator(await createEngine(), settings);
  }

  private f64(): Float64Array {
    const buffer = this.engine.memory.buffer;
    if (buffer !== this.buffer) {
      this.buffer = buffer;
      this.view = new Float64Array(buffer);
    }
    return this.view;
  }

  setEventHits(table: EventHitTable): void {
    const words = table.data.length;
    if (words > this.hitsWords) {
      // grow the hit block (the only allocation; config and crossing blocks stay below the mark)
      this.engine.release(this.hitsMark);
      const capacity = Math.max(words, 2 * this.hitsWords, 64 * HIT_ARRAY_COUNT);
      this.hitsPtr = this.engine.alloc(capacity * 8);
      this.hitsWords = capacity;
    }
    this.stride = table.stride;
    this.f64().set(table.data, this.hitsPtr >>> 3);
  }

  associate(crossing: Float64Array, first: number, count: number): number {
    if (this.hitsWords === 0) throw new InputError("association: no event hits were set");
    const memory = this.f64();
    const at = this.crossingPtr >>> 3;
    memory.set(crossing.subarray(0, CROSSING_WORDS), at);
    const matched = this.kernel.klmAssociateLayer(this.configPtr, this.crossingPtr, this.hitsPtr, this.stride, first, count);
    crossing.set(memory.subarray(at, at + CROSSING_WORDS));
    return matched;
  }
}

/** An associator of the given backend (wasm by default). */
export async function createLayerAssociator(backend: AssociationBackend = "wasm", settings: AssociationSettings = {}): Promise<LayerAssociator> {
  if (backend === "scalar") return new ScalarLayerAssociator(settings);
  if (backend === "wasm") return WasmLayerAssociator.create(settings);
  throw new InputError(`unknown association backend ${JSON.stringify(backend)} (wasm or scalar)`);
}
