// Bundles TypeScript sources of this repository on the fly with esbuild's API and imports them,
// so benchmarks run on the current sources without a build step.
import { build } from "esbuild";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** `lines`: export statements relative to the repository root, e.g. 'export { Model } from "./src/models/runtime.ts";' */
export async function importTs(lines) {
  // Inside the repository (ignored by git), so bare imports resolve against node_modules.
  mkdirSync(join(repoRoot, "bench", ".build"), { recursive: true });
  const outDir = mkdtempSync(join(repoRoot, "bench", ".build", "run-"));
  const outfile = join(outDir, "entry.mjs");
  await build({
    stdin: { contents: lines.join("\n"), resolveDir: repoRoot, loader: "ts" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile,
    packages: "external",
    loader: { ".wasm": "binary" },
    logLevel: "error",
  });
  try {
    return await import(pathToFileURL(outfile).href);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

/** Median of an array of numbers. */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A one-line description of this machine for benchmark reports. */
export async function machineInfo() {
  const os = await import("node:os");
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  return { host: os.hostname(), cpu, cores: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.arch()}` };
}
