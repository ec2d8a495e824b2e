/**
 * ISSUE 7 item 3: the browser demo served by `muid serve` loads in headless Chromium, simulates and
 * runs 100 BB̄ events through the release bundle, and every muon probability it shows is bit-identical
 * to the same bundle's in Node (dist/muid.js, the same weights, the same seed). The page leaves the
 * engine's Math alone: the library computes its transcendental functions with src/math (checked by
 * tests/mathDeterminism.test.ts). A screenshot of the page is written with the test output.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { OptionError } from "../src/errors.js";
import { resolveServedPath, startServer, type RunningServer } from "../src/cli/serve.js";
import { loadDemoModels, MUON_ID_METHODS, simulateAndRunEvent, summariseTrack, type MuidLibrary, type TrackSummary } from "../src/web/eventChain.js";
import type { DemoRunResult } from "../src/web/demo.js";
import { chromiumAvailable, launchChromium } from "./browser/chromium.js";

const ROOT = resolve(".");
const SEED = 20261124;
const EVENTS = 100;
const REPORT_DIR = process.env.MUID_TEST_REPORT ?? "test-output";
/**
 * Bits of Math.sin, cos, exp, log, pow, atan2 on 2 000 fixed arguments, as an expression evaluated in
 * the page and in Node: the page does not patch Math, so this shows how far the engines' own Math
 * libraries differ while the library's numbers (src/math) stay equal.
 */
const ENGINE_MATH_PROBE = `(() => {
  const out = [], f = new Float64Array(1), w = new Uint32Array(f.buffer);
  for (let i = 1; i <= 2000; i++) {
    const x = i * 0.0123 + 0.001;
    for (const v of [Math.sin(x), Math.cos(x), Math.exp(x / 40), Math.log(x), Math.pow(x, 1.37), Math.atan2(x, 3 - x)]) { f[0] = v; out.push(w[1] + ":" + w[0]); }
  }
  return out;
})()`;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The probabilities of a track as raw float64 bits (the networks' float32 values are exact doubles, so equal float64 bits mean equal float32 bits). */
function probabilityBits(t: TrackSummary): (string | null)[] {
  return MUON_ID_METHODS.map((m) => {
    const p = t.muonId[m];
    if (p === null) return null;
    const b = new DataView(new ArrayBuffer(8));
    b.setFloat64(0, p);
    return b.getBigUint64(0).toString(16);
  });
}

describe("muid serve: the path rules", () => {
  it("serves the page, the bundle and the weights, and nothing else", () => {
    expect(resolveServedPath(ROOT, "/dist/web/index.html")).toEqual({ file: join(ROOT, "dist/web/index.html") });
    expect(resolveServedPath(ROOT, "/dist/muid.js")).toEqual({ file: join(ROOT, "dist/muid.js") });
    expect(resolveServedPath(ROOT, "/weights/klm-dnn.safetensors")).toEqual({ file: join(ROOT, "weights/klm-dnn.safetensors") });
    for (const path of ["/package.json", "/dist/cli.js", "/src/web/demo.ts", "/weights/README.md", "/dist/web/", "/dist/web/sub/x.js"]) {
      expect(resolveServedPath(ROOT, path), path).toEqual({ status: 404 });
    }
    for (const path of ["/dist/web/../../package.json", "/weights/%2e%2e/package.json", "/dist/web/..%2Fcli.js", "/weights/a%5Cb.json", "/dist/web/%00.js", "/dist/web/%E0%A4%A"]) {
      expect(resolveServedPath(ROOT, path), path).toEqual({ status: 400 });
    }
  });

  it("refuses a host that is not a loopback address", async () => {
    await expect(startServer({ port: 0, host: "0.0.0.0", root: ROOT })).rejects.toThrow(OptionError);
    await expect(startServer({ port: 70000, host: "127.0.0.1", root: ROOT })).rejects.toThrow(OptionError);
  });
});

const haveBuild = existsSync("dist/web/index.html") && existsSync("dist/web/demo.js") && existsSync("dist/muid.js");
if (!chromiumAvailable) console.warn("[serve] /usr/bin/chromium is absent: the browser demo test is skipped");
else if (!haveBuild) console.warn("[serve] dist/web or dist/muid.js is missing (run npm run build): the browser demo test is skipped");

describe.skipIf(!chromiumAvailable || !haveBuild)("muid serve: the demo page in Chromium", () => {
  let server: RunningServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    server = await startServer({ port: 0, host: "127.0.0.1", root: ROOT });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("answers HTTP with the right types, 302 from /, 404 and 400 for the rest", async () => {
    const get = (path: string) => fetch(server.url + path, { redirect: "manual" });
    const root = await get("/");
    expect(root.status).toBe(302);
    expect(root.headers.get("location")).toBe("/dist/web/index.html");
    const pageResponse = await get("/dist/web/index.html");
    expect(pageResponse.headers.get("content-type")).toMatch(/^text\/html/);
    expect((await get("/dist/muid.js")).headers.get("content-type")).toMatch(/^text\/javascript/);
    expect((await get("/weights/klm-likelihood.json")).headers.get("content-type")).toBe("application/json");
    const weights = await get("/weights/klm-dnn.safetensors");
    expect(weights.headers.get("content-type")).toBe("application/octet-stream");
    expect(new Uint8Array(await weights.arrayBuffer())).toEqual(new Uint8Array(readFileSync("weights/klm-dnn.safetensors")));
    expect((await get("/package.json")).status).toBe(404);
    expect((await get("/dist/web/..%2Fcli.js")).status).toBe(400);
    expect((await fetch(server.url + "/dist/muid.js", { method: "POST" })).status).toBe(405);
  });

  it(`runs ${EVENTS} BB̄ events in the page with the probabilities of Node, bit for bit, and writes a screenshot`, async () => {
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    const response = await page.goto(server.url + "/");
    expect(response?.url()).toBe(server.pageUrl);
    await page.waitForFunction("window.muidDemo !== undefined");
    await page.evaluate("window.muidDemo.ready");
    const browserResult = (await page.evaluate(`window.muidDemo.run(${SEED}, ${EVENTS})`)) as DemoRunResult;
    expect(pageErrors).toEqual([]);
    // the page leaves the engine's Math alone (the library computes with src/math): how much Chromium's own Math differs from Node's
    const chromiumMath = (await page.evaluate(ENGINE_MATH_PROBE)) as string[];
    const nodeMath = (new Function(`return ${ENGINE_MATH_PROBE}`) as () => string[])();
    expect(chromiumMath).toHaveLength(nodeMath.length);
    const engineMathDiffers = chromiumMath.filter((bits, i) => bits !== nodeMath[i]).length;

    // the same events in Node through the same bundle and weights
    const muid = (await import(/* @vite-ignore */ pathToFileURL(resolve("dist/muid.js")).href)) as MuidLibrary;
    const models = await loadDemoModels(muid, async (file) => (existsSync(join("weights", file)) ? new Uint8Array(readFileSync(join("weights", file))) : null));
    const reconstructor = await muid.KlmReconstructor.create({ likelihood: models.likelihood, keepCrossings: true });
    const nodeTracks: TrackSummary[] = [];
    for (let e = 0; e < EVENTS; e++) nodeTracks.push(...simulateAndRunEvent(muid, reconstructor, models, SEED, e).tracks.map(summariseTrack));

    expect(browserResult.events).toBe(EVENTS);
    expect(browserResult.chainMs).toHaveLength(EVENTS);
    expect(browserResult.tracks.length).toBe(nodeTracks.length);
    expect(nodeTracks.length).toBeGreaterThan(5 * EVENTS);
    const shipped = { likelihood: "klm-likelihood.json", dnnGlobal: "klm-dnn-global.safetensors", dnn: "klm-dnn.safetensors", eclCnn: "ecl-cnn-plus.safetensors", combined: "combined-muon-id.json" } as const;
    for (const m of MUON_ID_METHODS) expect(browserResult.methods[m], m).toBe(existsSync(join("weights", shipped[m])));

    let compared = 0, differing = 0;
    const perMethod = Object.fromEntries(MUON_ID_METHODS.map((m) => [m, 0])) as Record<(typeof MUON_ID_METHODS)[number], number>;
    browserResult.tracks.forEach((b, i) => {
      const n = nodeTracks[i]!;
      expect([b.event, b.track, b.charge, b.truthPdg]).toEqual([n.event, n.track, n.charge, n.truthPdg]);
      const bb = probabilityBits(b), nb = probabilityBits(n);
      bb.forEach((bits, k) => {
        if (bits === null && nb[k] === null) return;
        compared++;
        if (bits !== null) perMethod[MUON_ID_METHODS[k]!]++;
        if (bits !== nb[k]) differing++;
      });
    });
    console.log(`[serve] ${EVENTS} events, ${nodeTracks.length} tracks; values per method ${JSON.stringify(perMethod)}; ${differing} of ${compared} differ in bits (the engines' own Math differs in ${engineMathDiffers} of ${nodeMath.length} probe values); page latency median ${browserResult.latency.median.toFixed(2)} ms per event`);
    expect(differing).toBe(0);
    expect(browserResult.tracks.map(probabilityBits)).toEqual(nodeTracks.map(probabilityBits));
    // every shipped method gave values (DNNs on tracks with a KLM value, the CNN inside its acceptance)
    for (const m of MUON_ID_METHODS) if (browserResult.methods[m]) expect(perMethod[m], m).toBeGreaterThan(0);
    expect(browserResult.latency.median).toBeGreaterThan(0);

    // the page shows an event: the track table, the two views, one pattern and one image per track
    const rows = await page.locator("#tracks tr").count();
    expect(rows).toBeGreaterThan(0);
    expect(await page.locator("#views canvas").count()).toBe(2);
    expect(await page.locator("#tracks canvas").count()).toBe(2 * rows);

    mkdirSync(REPORT_DIR, { recursive: true });
    const shot = join(REPORT_DIR, "demo.png");
    await page.screenshot({ path: shot, fullPage: true });
    const png = readFileSync(shot);
    expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    // IHDR: width and height of the page, big-endian at bytes 16–23
    expect(png.readUInt32BE(16)).toBe(1280);
    expect(png.readUInt32BE(20)).toBeGreaterThanOrEqual(400);
    expect(statSync(shot).size).toBeGreaterThan(20_000);
    console.log(`[serve] screenshot ${shot}: ${png.readUInt32BE(16)}×${png.readUInt32BE(20)} px, ${(statSync(shot).size / 1024).toFixed(0)} KB`);
  });
});
