/**
 * ISSUE 7 item 3: the browser demo served by `muid serve` loads in headless Chromium, simulates and
 * runs 100 BB̄ events through the release bundle, and every muon probability it shows is bit-identical
 * to the same bundle's in Node (dist/muid.js, the same weights, the same seed). A screenshot of the
 * page is written with the test output.
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
import { NODE_MATH } from "../src/math/ieee754.js";
import { Random } from "../src/sim/random.js";
import { chromiumAvailable, launchChromium } from "./browser/chromium.js";

const ROOT = resolve(".");
const SEED = 20261124;
const EVENTS = 100;
const REPORT_DIR = process.env.MUID_TEST_REPORT ?? "test-output";
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

/** Arguments per function in the ranges the chain uses (and around them), from a seeded generator. */
function mathArguments(name: keyof typeof NODE_MATH, rng: Random): number[] {
  const u = () => rng.uniform();
  switch (name) {
    case "sin": case "cos": return [(u() - 0.5) * 40];
    case "tan": return [(u() - 0.5) * 6];
    case "asin": case "acos": return [2 * u() - 1];
    case "atan": return [(u() - 0.5) * 10 ** (8 * u() - 4)];
    case "atan2": return [(u() - 0.5) * 10 ** (6 * u() - 3), (u() - 0.5) * 10 ** (6 * u() - 3)];
    case "exp": return [(u() - 0.5) * 80];
    case "expm1": return [(u() - 0.5) * 10 ** (4 * u() - 3)];
    case "log": case "log10": return [10 ** (40 * u() - 20)];
    case "pow": return [10 ** (6 * u() - 3), (u() - 0.5) * 10];
  }
}

/** Whether this Node's Math is the one the page installs (Node 20–22: fdlibm, V8's own pow; Node ≥ 23 takes pow from the C library). */
function nodeMathMismatches(samples: number): Record<string, number> {
  const rng = new Random(2026);
  const out: Record<string, number> = {};
  for (const name of Object.keys(NODE_MATH) as (keyof typeof NODE_MATH)[]) {
    let bad = 0;
    for (let i = 0; i < samples; i++) {
      const args = mathArguments(name, rng);
      const port = (NODE_MATH[name] as (...a: number[]) => number)(...args);
      const native = (Math[name] as (...a: number[]) => number)(...args);
      if (!Object.is(port, native)) bad++;
    }
    out[name] = bad;
  }
  return out;
}

const mathMismatches = nodeMathMismatches(20_000);
const nodeMathIsPorted = Object.values(mathMismatches).every((n) => n === 0);
if (!nodeMathIsPorted) console.warn(`[serve] this Node's Math differs from the page's ports (${JSON.stringify(mathMismatches)}, V8 ${process.versions.v8}): the bit-for-bit page test is skipped`);

describe("the page's Math is Node's", () => {
  it.skipIf(!process.versions.v8.startsWith("11.") && !process.versions.v8.startsWith("12."))("the fdlibm ports give Node 20's Math bit for bit (V8 11–12)", () => {
    console.log(`[serve] Math ports vs Node ${process.version}: mismatches in 20 000 arguments each ${JSON.stringify(mathMismatches)}`);
    expect(mathMismatches).toEqual(Object.fromEntries(Object.keys(NODE_MATH).map((k) => [k, 0])));
    // special values
    const specials = [0, -0, 1, -1, 0.5, 2, 3, -1.5, Infinity, -Infinity, NaN, 5e-324, 1e-310, 1e308, Math.PI / 4, Math.PI / 2, 823549, 709.78, -745.2];
    for (const name of Object.keys(NODE_MATH) as (keyof typeof NODE_MATH)[]) {
      for (const a of specials) for (const b of specials) {
        const args = name === "atan2" || name === "pow" ? [a, b] : [a];
        expect(Object.is((NODE_MATH[name] as (...v: number[]) => number)(...args), (Math[name] as (...v: number[]) => number)(...args)), `${name}(${args.join(", ")})`).toBe(true);
      }
    }
  });
});

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

describe.skipIf(!chromiumAvailable || !haveBuild || !nodeMathIsPorted)("muid serve: the demo page in Chromium", () => {
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
    expect(browserResult.nodeMath.sort()).toEqual(Object.keys(NODE_MATH).sort());

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
    console.log(`[serve] ${EVENTS} events, ${nodeTracks.length} tracks; values per method ${JSON.stringify(perMethod)}; ${differing} of ${compared} differ in bits; page latency median ${browserResult.latency.median.toFixed(2)} ms per event`);
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
