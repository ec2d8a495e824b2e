/**
 * Golden output hashes (issue 8, docs/determinism.md): both models and the full chain on a fixed set
 * give the SHA-256 of tests/fixtures/golden.json — on the TypeScript sources (twice in one process,
 * with fresh Model instances each time), on the release bundle dist/muid.js in Node, and on the same
 * bundle in headless Chromium. The hashes were written by `node scripts/golden.mjs --write` (the chain's re-written
 * once for the deep-shower simulation change of issue 4).
 */
import { existsSync, readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import * as src from "../src/index.js";
import { chromiumAvailable, launchChromium, serveFiles } from "./browser/chromium.js";
import { goldenInputs } from "./fixtures/goldenInputs.js";
import { goldenHashes, type GoldenInput, type GoldenValues } from "./fixtures/goldenRun.js";

const BUNDLE = "dist/muid.js";
const expected: Record<string, string> = JSON.parse(readFileSync("tests/fixtures/golden.json", "utf8")).hashes;

/** The expected hashes of the parts computed here (basf2Dnn only when ../shared is present). */
function expectedFor(got: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(expected).filter((k) => k in got || k !== "basf2Dnn").map((k) => [k, expected[k]!]));
}

let input: GoldenInput;
beforeAll(async () => {
  input = await goldenInputs();
  if (input.basf2Dnn === undefined) console.warn("[golden] basf2Dnn not checked: ../shared/reference/basf2 is absent");
});

describe("golden output hashes in Node", () => {
  it("the sources give the recorded hashes, twice in one process with fresh models", { timeout: 60_000 }, async () => {
    const first = await goldenHashes(src, input);
    const second = await goldenHashes(src, input);
    expect(second).toEqual(first);
    expect(first).toEqual(expectedFor(first));
    // SIMD and scalar kernels agree bit for bit
    expect(first.klmDnn).toBe(first.klmDnnScalar);
    console.log(`[golden] sources: ${Object.keys(first).length} hashes match (chain: ${first["chain.tracks"]} tracks)`);
  });

  it("build/muid.wat uses no relaxed SIMD (whose results may differ between engines)", () => {
    if (!existsSync("build/muid.wat")) throw new Error("build/muid.wat is missing: run npm run build:wasm");
    const wat = readFileSync("build/muid.wat", "utf8");
    expect(wat).toMatch(/f32x4\./);
    expect(wat).not.toMatch(/relaxed/);
  });
});

describe("golden output hashes of the release bundle", () => {
  it("dist/muid.js in Node gives the recorded hashes", { timeout: 60_000 }, async () => {
    if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run npm run build first`);
    const muid = await import(/* @vite-ignore */ pathToFileURL(BUNDLE).href);
    const got = await goldenHashes(muid, input);
    expect(got).toEqual(expectedFor(got));
  });

  describe.skipIf(!chromiumAvailable)("in Chromium", () => {
    let browser: Browser;
    let server: Awaited<ReturnType<typeof serveFiles>>;
    beforeAll(async () => {
      if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run npm run build first`);
      const golden = await build({ entryPoints: ["tests/fixtures/goldenRun.ts"], bundle: true, format: "esm", platform: "browser", write: false, logLevel: "error" });
      server = await serveFiles({
        "/index.html": new TextEncoder().encode("<!doctype html><title>muid golden</title>"),
        "/muid.js": BUNDLE,
        "/golden.js": golden.outputFiles[0]!.contents,
        "/klm.safetensors": input.klmDnn,
        "/eclPlus.safetensors": input.eclCnnPlus,
        "/eclMinus.safetensors": input.eclCnnMinus,
        ...(input.basf2Dnn !== undefined ? { "/basf2.safetensors": input.basf2Dnn } : {}),
      });
      browser = await launchChromium();
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await server?.close();
    });

    it("dist/muid.js in Chromium gives the recorded hashes", { timeout: 120_000 }, async () => {
      const page = await browser.newPage();
      await page.goto(server.url + "/index.html");
      const options = { likelihoodJson: input.likelihoodJson, chainEvents: input.chainEvents, chainSeed: input.chainSeed, basf2: input.basf2Dnn !== undefined };
      // Passed as source text: vitest would rewrite a dynamic import() inside a function argument.
      const got = (await page.evaluate(`(async (o) => {
        const base = ${JSON.stringify(server.url)};
        const muid = await import(base + "/muid.js");
        const golden = await import(base + "/golden.js");
        const bytes = async (p) => new Uint8Array(await (await fetch(base + p)).arrayBuffer());
        const input = { klmDnn: await bytes("/klm.safetensors"), eclCnnPlus: await bytes("/eclPlus.safetensors"), eclCnnMinus: await bytes("/eclMinus.safetensors"),
          likelihoodJson: o.likelihoodJson, chainEvents: o.chainEvents, chainSeed: o.chainSeed };
        if (o.basf2) input.basf2Dnn = await bytes("/basf2.safetensors");
        const values = {};
        const hashes = await golden.goldenHashes(muid, input, values);
        return { hashes, values };
      })(${JSON.stringify(options)})`)) as { hashes: Record<string, string>; values: GoldenValues };
      const differing = Object.keys(got.hashes).filter((k) => got.hashes[k] !== expected[k]);
      console.log(`[golden] Chromium ${browser.version()}: ${Object.keys(got.hashes).length} hashes, ${differing.length} differ from Node${differing.length ? ` (${differing.join(", ")})` : ""}`);

      // Everything is bit-identical: the wasm kernels, and the chain's float64 JavaScript, which computes
      // with src/math (fdlibm ports) instead of the engine's Math (docs/determinism.md). On a difference,
      // say how large it is per stage before failing.
      if (differing.length > 0) {
        const nodeValues: GoldenValues = {};
        await goldenHashes(src, input, nodeValues);
        for (const stage of Object.keys(nodeValues)) {
          const a = nodeValues[stage]!, b = got.values[stage] ?? [];
          let worst = 0;
          for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1e-300, Math.abs(a[i]!), Math.abs(b[i]!)));
          console.log(`[golden] Chromium ${stage}: ${b.length} values (Node ${a.length}), largest relative difference ${worst.toExponential(2)}`);
        }
      }
      expect(got.hashes).toEqual(expectedFor(got.hashes));
    });
  });
});
