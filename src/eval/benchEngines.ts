/**
 * The engines `muid bench` runs the per-event model work on: muid-wasm and its peers with the same
 * weights and the same per-event batches (EventModelInputs: the KLM DNN on all KLM tracks of the
 * event, the ECL CNN of each charge on the event's accepted tracks of that charge).
 *
 *   muid             Model (KLM DNN) + EclCnnFast (ECL CNN: the sparse/folded kernel the chain uses)
 *   muidDense        Model for both (the ECL CNN's dense conv + fc1 path), for reference
 *   onnxruntimeWeb   onnxruntime-web, wasm backend, 1 thread; ONNX from exportOnnx (= muid export onnx)
 *   onnxruntimeNode  onnxruntime-node, native CPU provider, 1 intra-op and 1 inter-op thread
 *   tfjsWasm         @tensorflow/tfjs-backend-wasm, 1 thread (benchTfjs.ts graph)
 *   tfjsCpu          @tensorflow/tfjs cpu backend (plain JS kernels)
 *   js               plain JavaScript loops (jsForward.ts)
 *
 * Peers are imported dynamically; one that is not installed is reported as unavailable with the
 * reason, never an error. Each engine converts the inputs to its own format inside its model
 * calls (ONNX wants int64 ids, TF.js tensors): that is part of its model work.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { ModelBundle } from "../models/card.js";
import { readModelFile } from "../models/modelFile.js";
import { KlmLikelihood } from "../reco/muidLikelihood.js";
import { readInputFile } from "../cli/files.js";
import { Model } from "../models/runtime.js";
import { EclCnnFast } from "../models/eclCnnFast.js";
import { exportOnnx } from "../models/onnx.js";
import type { EclCnnBatch } from "../reco/eclImage.js";
import type { EventModelInputs, EventModelOutputs, Predictor } from "./latency.js";
import { JsForward } from "./jsForward.js";
import { buildTfjsForward } from "./benchTfjs.js";

export const PEER_ENGINES = ["onnxruntimeWeb", "onnxruntimeNode", "tfjsWasm", "tfjsCpu", "js"] as const;
export const ENGINES = ["muid", "muidDense", ...PEER_ENGINES] as const;
export type EngineName = (typeof ENGINES)[number];
export type PeerName = (typeof PEER_ENGINES)[number];

export const ENGINE_LABELS: Record<EngineName, string> = {
  muid: "muid-wasm (SIMD; ECL CNN sparse/folded)",
  muidDense: "muid-wasm (SIMD; ECL CNN dense)",
  onnxruntimeWeb: "onnxruntime-web (wasm, 1 thread)",
  onnxruntimeNode: "onnxruntime-node (native, 1 thread)",
  tfjsWasm: "tfjs-wasm (1 thread)",
  tfjsCpu: "tfjs-cpu",
  js: "plain JS loops",
};

/** The three models of the chain, as bundles (the same weights for every engine). */
export interface BenchBundles {
  klmDnn: ModelBundle;
  eclCnnPlus: ModelBundle;
  eclCnnMinus: ModelBundle;
}

/** Where the bench reads its weights (the shipped ones in weights/ by default: src/cli/bench.ts). */
export interface BenchWeightPaths {
  klmDnn: string;
  eclCnnPlus: string;
  eclCnnMinus: string;
  /** Muid likelihood tables (JSON); null: the chain computes no likelihood */
  likelihood: string | null;
}

export interface BenchWeights {
  bundles: BenchBundles;
  likelihood: KlmLikelihood | null;
}

/** Reads the three model files and the likelihood tables (MuidError IO / FormatError / ModelError). */
export function readBenchWeights(paths: BenchWeightPaths): BenchWeights {
  const model = (path: string) => readModelFile(readInputFile(path));
  return {
    bundles: { klmDnn: model(paths.klmDnn), eclCnnPlus: model(paths.eclCnnPlus), eclCnnMinus: model(paths.eclCnnMinus) },
    likelihood: paths.likelihood === null ? null : KlmLikelihood.fromJsonText(new TextDecoder().decode(readInputFile(paths.likelihood))),
  };
}

/** One model on one event: its batch from the event's inputs → muon probabilities (null: no rows). */
export type ModelCall = (inputs: EventModelInputs) => Float32Array | null | Promise<Float32Array | null>;

export interface ModelWorkEngine {
  readonly name: EngineName;
  /** the peer's version, when known */
  readonly version: string | null;
  /** the three models of EventModelOutputs, called one after the other per event */
  readonly models: Readonly<Record<keyof EventModelOutputs, ModelCall>>;
  dispose(): void | Promise<void>;
}

export type EngineOrReason = { engine: ModelWorkEngine } | { unavailable: string };

type SyncPredict = (inputs: Record<string, Float32Array>, batch: number) => Float32Array;

/** An engine whose three models predict synchronously and return muon probabilities. */
function syncEngine(name: EngineName, version: string | null, klm: SyncPredict, plus: SyncPredict, minus: SyncPredict, dispose: () => void = () => {}): ModelWorkEngine {
  const ecl = (b: EclCnnBatch | null, f: SyncPredict) => (b ? f({ image: b.image, pt: b.pt, thetaId: b.thetaId, phiId: b.phiId }, b.batch) : null);
  return {
    name,
    version,
    models: {
      klm: (x) => (x.klm ? klm({ features: x.klm.features }, x.klm.batch) : null),
      eclPlus: (x) => ecl(x.eclPlus, plus),
      eclMinus: (x) => ecl(x.eclMinus, minus),
    },
    dispose,
  };
}

const probabilities = (p: Predictor): SyncPredict => (inputs, batch) => p.predict(inputs, batch).muonProbability;

async function packageVersion(name: string): Promise<string | null> {
  try {
    const require = createRequire(import.meta.url);
    const { readFileSync } = await import("node:fs");
    let dir = dirname(require.resolve(name));
    for (let i = 0; i < 4; i++) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
        if (pkg.name === name) return pkg.version ?? null;
      } catch {
        /* not here: one folder up */
      }
      dir = dirname(dir);
    }
  } catch {
    /* unresolvable: no version */
  }
  return null;
}

async function tryImport<T>(specifier: string): Promise<T | null> {
  try {
    return (await import(/* @vite-ignore */ specifier)) as T;
  } catch {
    return null;
  }
}

interface OrtLike {
  Tensor: new (type: string, data: Float32Array | BigInt64Array, dims: number[]) => unknown;
  InferenceSession: { create(model: Uint8Array, options: Record<string, unknown>): Promise<OrtSession> };
  env: { wasm?: { numThreads?: number }; logLevel?: string };
}
interface OrtSession {
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown }>>;
  release(): Promise<void>;
}

async function ortEngine(name: "onnxruntimeWeb" | "onnxruntimeNode", bundles: BenchBundles): Promise<EngineOrReason> {
  const specifier = name === "onnxruntimeWeb" ? "onnxruntime-web" : "onnxruntime-node";
  const mod = await tryImport<OrtLike & { default?: OrtLike }>(specifier);
  if (mod === null) return { unavailable: `${specifier} not installed` };
  const ort = (mod.InferenceSession ? mod : mod.default) as OrtLike;
  ort.env.logLevel = "error";
  const options: Record<string, unknown> = { graphOptimizationLevel: "all" };
  if (name === "onnxruntimeWeb") {
    ort.env.wasm!.numThreads = 1;
    options.executionProviders = ["wasm"];
  } else {
    Object.assign(options, { executionProviders: ["cpu"], intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: "sequential" });
  }
  const [klm, plus, minus] = await Promise.all([bundles.klmDnn, bundles.eclCnnPlus, bundles.eclCnnMinus].map((b) => ort.InferenceSession.create(exportOnnx(b), options)));
  const p1 = (out: Record<string, { data: unknown }>, batch: number) => {
    const p = out.probabilities!.data as Float32Array;
    const muon = new Float32Array(batch);
    for (let r = 0; r < batch; r++) muon[r] = p[r * 2 + 1]!;
    return muon;
  };
  const ids = (a: Float32Array) => new ort.Tensor("int64", BigInt64Array.from(a, (v) => BigInt(v)), [a.length]);
  const ecl = async (session: OrtSession, b: EclCnnBatch | null) =>
    b === null
      ? null
      : p1(await session.run({ image: new ort.Tensor("float32", b.image, [b.batch, 1, 7, 7]), pt: new ort.Tensor("float32", b.pt, [b.batch, 1]), thetaId: ids(b.thetaId), phiId: ids(b.phiId) }), b.batch);
  return {
    engine: {
      name,
      version: await packageVersion(specifier),
      models: {
        klm: async (x) => (x.klm ? p1(await klm!.run({ features: new ort.Tensor("float32", x.klm.features, [x.klm.batch, x.klm.features.length / x.klm.batch]) }), x.klm.batch) : null),
        eclPlus: (x) => ecl(plus!, x.eclPlus),
        eclMinus: (x) => ecl(minus!, x.eclMinus),
      },
      dispose: async () => {
        for (const s of [klm, plus, minus]) await s!.release();
      },
    },
  };
}

type Tf = typeof import("@tensorflow/tfjs");
let tfjsWasmReady: Promise<string | null> | undefined;

/** Registers the TF.js wasm backend once (1 thread, .wasm files from node_modules); null when it cannot. */
function registerTfjsWasm(): Promise<string | null> {
  tfjsWasmReady ??= (async () => {
    const wasm = await tryImport<typeof import("@tensorflow/tfjs-backend-wasm")>("@tensorflow/tfjs-backend-wasm");
    if (wasm === null) return "@tensorflow/tfjs-backend-wasm not installed";
    const dir = dirname(createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm"));
    wasm.setWasmPaths(dir.endsWith("/") ? dir : dir + "/");
    wasm.setThreadsCount?.(1);
    return null;
  })();
  return tfjsWasmReady;
}

async function tfjsEngine(name: "tfjsWasm" | "tfjsCpu", bundles: BenchBundles): Promise<EngineOrReason> {
  const tf = await tryImport<Tf>("@tensorflow/tfjs");
  if (tf === null) return { unavailable: "@tensorflow/tfjs not installed" };
  if (name === "tfjsWasm") {
    const reason = await registerTfjsWasm();
    if (reason !== null) return { unavailable: reason };
  }
  // Production mode: what a TF.js user sets for speed; it also silences the cpu backend's "install
  // tfjs-node" banner, which would land in the middle of the bench's output.
  tf.enableProdMode();
  const backend = name === "tfjsWasm" ? "wasm" : "cpu";
  if (!(await tf.setBackend(backend))) return { unavailable: `TF.js backend "${backend}" failed to start` };
  await tf.ready();
  const [klm, plus, minus] = [bundles.klmDnn, bundles.eclCnnPlus, bundles.eclCnnMinus].map((b) => buildTfjsForward(tf, b));
  const predict = (f: typeof klm): SyncPredict => (inputs, batch) => f!.predict(inputs, batch).muonProbability;
  const version = await packageVersion(name === "tfjsWasm" ? "@tensorflow/tfjs-backend-wasm" : "@tensorflow/tfjs");
  return { engine: syncEngine(name, version, predict(klm), predict(plus), predict(minus), () => [klm, plus, minus].forEach((f) => f!.dispose())) };
}

/** Builds one engine with the given weights (ModelError for a bundle it cannot run). */
export async function createModelWorkEngine(name: EngineName, bundles: BenchBundles): Promise<EngineOrReason> {
  switch (name) {
    case "muid": {
      const [klm, plus, minus] = await Promise.all([Model.create(bundles.klmDnn), EclCnnFast.create(bundles.eclCnnPlus), EclCnnFast.create(bundles.eclCnnMinus)]);
      return { engine: syncEngine(name, null, probabilities(klm), probabilities(plus), probabilities(minus)) };
    }
    case "muidDense": {
      const [klm, plus, minus] = await Promise.all([bundles.klmDnn, bundles.eclCnnPlus, bundles.eclCnnMinus].map((b) => Model.create(b)));
      return { engine: syncEngine(name, null, probabilities(klm!), probabilities(plus!), probabilities(minus!)) };
    }
    case "onnxruntimeWeb":
    case "onnxruntimeNode":
      return ortEngine(name, bundles);
    case "tfjsWasm":
    case "tfjsCpu":
      return tfjsEngine(name, bundles);
    case "js": {
      const [klm, plus, minus] = [bundles.klmDnn, bundles.eclCnnPlus, bundles.eclCnnMinus].map((b) => JsForward.create(b));
      return { engine: syncEngine(name, null, probabilities(klm!), probabilities(plus!), probabilities(minus!)) };
    }
  }
}
