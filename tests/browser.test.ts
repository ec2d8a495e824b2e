/**
 * The release bundle (dist/muid.js) in headless Chromium gives bit-identical outputs to the same
 * bundle in Node, for the real basf2 KLM DNN (when ../shared is present) and an ECL CNN.
 */
import { existsSync, readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { writeModelFile } from "../src/models/modelFile.js";
import { importBasf2KlmDnn } from "../src/models/importBasf2.js";
import { Random } from "../src/sim/random.js";
import { chromiumAvailable, launchChromium, serveFiles } from "./browser/chromium.js";
import { eclInputs, randomEclCnn } from "./fixtures/eclCnn.js";
import { klmInputs } from "./fixtures/klmInputs.js";
import { BASF2_XML, haveBasf2 } from "./fixtures/shared.js";

const BUNDLE = "dist/muid.js";
const BUNDLE_LIMIT_BYTES = 300 * 1024;

interface Case { name: string; model: Uint8Array; inputs: Record<string, Float32Array>; batch: number }

/** Runs a case through a loaded bundle and returns the logits and probabilities as raw float32 bits. */
async function runCase(muid: { loadModel(b: Uint8Array): Promise<{ predict(i: Record<string, Float32Array>, n: number): { logits: Float32Array; muonProbability: Float32Array } }> }, c: Case): Promise<number[]> {
  const model = await muid.loadModel(c.model);
  const out = model.predict(c.inputs, c.batch);
  return [...new Uint32Array(out.logits.buffer, out.logits.byteOffset, out.logits.length), ...new Uint32Array(out.muonProbability.buffer, out.muonProbability.byteOffset, out.muonProbability.length)];
}

describe.skipIf(!chromiumAvailable)("the bundle in Chromium and in Node", () => {
  const cases: Case[] = [];
  let browser: Browser;
  let server: Awaited<ReturnType<typeof serveFiles>>;

  beforeAll(async () => {
    if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run npm run build first`);
    const rng = new Random(11);
    if (haveBasf2) {
      const klm = await importBasf2KlmDnn(readFileSync(BASF2_XML, "utf8"));
      const mean = klm.tensors.get("batchnorm.running_mean")!.data as Float32Array;
      const variance = klm.tensors.get("batchnorm.running_var")!.data as Float32Array;
      cases.push({ name: "basf2 KLM DNN", model: writeModelFile(klm), inputs: { features: klmInputs(mean, variance, 64, rng) }, batch: 64 });
    }
    const ecl = eclInputs(32, rng);
    cases.push({ name: "ECL CNN", model: writeModelFile(randomEclCnn(5)), inputs: ecl, batch: 32 });
    server = await serveFiles({ "/index.html": new TextEncoder().encode("<!doctype html><title>muid</title>"), "/muid.js": BUNDLE });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it(`the release bundle is under ${BUNDLE_LIMIT_BYTES / 1024} KB and carries SIMD wasm`, () => {
    const size = readFileSync(BUNDLE).length;
    console.log(`[bundle] ${BUNDLE}: ${(size / 1024).toFixed(1)} KB`);
    expect(size).toBeLessThan(BUNDLE_LIMIT_BYTES);
    const wat = readFileSync("build/muid.wat", "utf8");
    expect(wat).toMatch(/f32x4\.(add|mul)/);
    expect(wat).not.toMatch(/relaxed/);
  });

  it("gives bit-identical logits and probabilities in Chromium and Node", async () => {
    const muid = await import(/* @vite-ignore */ pathToFileURL(BUNDLE).href);
    const page = await browser.newPage();
    await page.goto(server.url + "/index.html");
    for (const c of cases) {
      const node = await runCase(muid, c);
      // Passed as source text: vitest would rewrite a dynamic import() inside a function argument.
      const payload = { model: Array.from(c.model), batch: c.batch, inputs: Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, Array.from(v)])) };
      const chromium = (await page.evaluate(`(async (c) => {
        const muid = await import(${JSON.stringify(server.url + "/muid.js")});
        const inputs = {};
        for (const [k, v] of Object.entries(c.inputs)) inputs[k] = Float32Array.from(v);
        const model = await muid.loadModel(Uint8Array.from(c.model));
        const out = model.predict(inputs, c.batch);
        return [...new Uint32Array(out.logits.buffer, out.logits.byteOffset, out.logits.length),
                ...new Uint32Array(out.muonProbability.buffer, out.muonProbability.byteOffset, out.muonProbability.length)];
      })(${JSON.stringify(payload)})`)) as number[];
      expect(chromium.length).toBe(c.batch * 3);
      const differing = chromium.filter((bits, i) => bits !== node[i]).length;
      console.log(`[browser] ${c.name}: ${c.batch} rows, ${differing} of ${chromium.length} float32 values differ in bits`);
      expect(chromium).toEqual(node);
    }
  });
});
