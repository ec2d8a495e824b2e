/**
 * Selects the TensorFlow.js WebAssembly backend for training in Node (toolchain.md "Training with
 * TensorFlow.js": the wasm backend trains ~10× faster than the cpu backend; @tensorflow/tfjs-node
 * cannot be installed here). The backend's .wasm binaries are read from
 * node_modules/@tensorflow/tfjs-backend-wasm/dist/ (no network), with one XNNPACK thread so that a
 * training run uses one core and its numbers do not depend on the machine's core count.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { setThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { MuidError } from "../errors.js";

let ready: Promise<typeof tf> | undefined;

/** Directory holding tfjs-backend-wasm's .wasm files, with a trailing separator (setWasmPaths wants a prefix). */
export function tfjsWasmDirectory(): string {
  const require = createRequire(import.meta.url);
  let packageJson: string;
  try {
    packageJson = require.resolve("@tensorflow/tfjs-backend-wasm/package.json");
  } catch (e) {
    throw new MuidError("IO", `cannot find @tensorflow/tfjs-backend-wasm in node_modules: ${(e as Error).message}`);
  }
  return join(dirname(packageJson), "dist") + "/";
}

/** Initialises TF.js on the wasm backend once (single thread) and returns the tf namespace. */
export function useTfjsWasmBackend(): Promise<typeof tf> {
  ready ??= (async () => {
    setWasmPaths(tfjsWasmDirectory());
    setThreadsCount(1);
    const ok = await tf.setBackend("wasm");
    if (!ok) throw new MuidError("IO", "TensorFlow.js could not start its wasm backend");
    await tf.ready();
    return tf;
  })();
  return ready;
}
