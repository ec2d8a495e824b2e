import { defineConfig, type Plugin } from "vitest/config";
import { readFileSync } from "node:fs";

/** Import `*.wasm` as its bytes, as esbuild's binary loader does in the bundle. */
function wasmBytes(): Plugin {
  return {
    name: "muid-wasm-bytes",
    enforce: "pre",
    load(id) {
      if (!id.endsWith(".wasm")) return null;
      const b64 = readFileSync(id).toString("base64");
      return `export default new Uint8Array(Buffer.from(${JSON.stringify(b64)}, "base64"));`;
    },
  };
}

export default defineConfig({
  plugins: [wasmBytes()],
  test: {
    include: ["tests/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    // CI asks for a JSON report to print one "N passed, N failed" closing line.
    ...(process.env.MUID_TEST_REPORT
      ? { reporters: ["default", "json"], outputFile: { json: `${process.env.MUID_TEST_REPORT}/vitest.json` } }
      : {}),
  },
});
