import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Writable } from "node:stream";
import { build } from "esbuild";
import { FixedSizeList, Float64, List, RecordBatch, Struct, Table, makeBuilder, tableFromIPC, tableToIPC, vectorFromArray } from "apache-arrow";
import { Random } from "../src/sim/random.js";
import type { KlmHit, SimTrackRow } from "../src/sim/types.js";
import {
  SIM_ROW_SCHEMA, SimRowFileWriter, formatFromPath, readSimRows, rowsFromArrowIpc, rowsFromJsonl,
  rowsToArrowIpc, rowToJsonLine,
} from "../src/sim/io.js";
import { parseSimulateOptions, runSimulate, type SimulateCliOptions } from "../src/cli/simulate.js";
import { defaultDetectorConditions, eventRandom, simulateEvent } from "../src/sim/event.js";
import { generateGunEvent, klmStudyGun } from "../src/sim/generators.js";
import { FormatError, OptionError } from "../src/errors.js";
import { upperTriangleIndex, unpackUpperTriangle, reconstructTrackAtIp } from "../src/sim/tracking.js";
import { particleAtIp } from "../src/sim/generators.js";

const repoRoot = path.resolve(__dirname, "..");
let tmp = "";

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "muid-simulate-test-"));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Rows with every kind of value the schema holds (null region, empty lists, negative and tiny numbers). */
function syntheticRows(n: number, seed: number): SimTrackRow[] {
  const rng = new Random(seed);
  const sections = ["barrel", "forward", "backward"] as const;
  const rows: SimTrackRow[] = [];
  for (let i = 0; i < n; i++) {
    const hits: KlmHit[] = [];
    const nHits = rng.int(5);
    for (let h = 0; h < nHits; h++) {
      hits.push({
        section: sections[rng.int(3)], sector: 1 + rng.int(8), layer: 1 + rng.int(15),
        x: rng.gauss() * 300, y: rng.gauss() * 300, z: rng.gauss() * 1e-7,
        uStripMin: rng.int(40), uStripMax: 40 + rng.int(8), vStripMin: rng.int(40), vStripMax: 40 + rng.int(8),
        time: rng.uniform() * 50, truthTrack: rng.int(17) - 1,
      });
    }
    const region = rng.int(4);
    rows.push({
      event: Math.floor(i / 3),
      track: i % 3,
      truth: {
        pdg: [13, -13, 211, -211][rng.int(4)], charge: rng.uniform() < 0.5 ? 1 : -1,
        p: rng.range(0.1, 5), pt: rng.uniform(), theta: rng.range(0, 180), phi: rng.range(-180, 180),
        decayedInFlight: rng.uniform() < 0.1, interactedInEcl: rng.uniform() < 0.5, interactedInKlm: rng.uniform() < 0.3,
        klmLayerReached: rng.int(16), klmRegion: region === 3 ? null : sections[region], eclDeposit: rng.uniform() * 0.3,
      },
      ip: {
        charge: rng.uniform() < 0.5 ? 1 : -1, x: rng.gauss() * 1e-3, y: -rng.uniform(), z: rng.gauss(),
        px: rng.gauss(), py: rng.gauss(), pz: rng.gauss(),
        covariance: Array.from({ length: 21 }, () => rng.gauss() * 1e-6),
      },
      klmHits: hits,
      eclDigits: Array.from({ length: rng.int(4) }, () => ({ cellId: 1 + rng.int(8736), energy: rng.uniform() })),
    });
  }
  return rows;
}

describe("row files: Arrow IPC and JSONL", () => {
  it("Arrow IPC has nested truth/ip/klmHits/eclDigits columns and reads back equal", () => {
    const rows = syntheticRows(300, 1);
    const bytes = rowsToArrowIpc(rows);
    const table = tableFromIPC(bytes);
    expect(table.numRows).toBe(300);
    expect(table.schema.fields.map((f) => f.name)).toEqual(["event", "track", "truth", "ip", "klmHits", "eclDigits"]);
    expect(table.schema.fields[2].type).toBeInstanceOf(Struct);
    expect(table.schema.fields[3].type).toBeInstanceOf(Struct);
    const cov = (table.schema.fields[3].type as Struct).children.find((f) => f.name === "covariance")!;
    expect(cov.type).toBeInstanceOf(FixedSizeList);
    expect(table.schema.fields[4].type).toBeInstanceOf(List);
    expect((table.schema.fields[4].type as List).children[0].type).toBeInstanceOf(Struct);
    expect(table.schema.fields[5].type).toBeInstanceOf(List);
    expect(rowsFromArrowIpc(bytes)).toEqual(rows);
  });

  it("the columnar codec agrees with apache-arrow's own row builders and row proxies", () => {
    const rows = syntheticRows(200, 9);
    // independent encoder: apache-arrow's generic builder from row objects, as an IPC stream
    const builder = makeBuilder({ type: new Struct(SIM_ROW_SCHEMA.fields), nullValues: [null, undefined] });
    for (const r of rows) builder.append(r as never);
    const table = new Table([new RecordBatch(SIM_ROW_SCHEMA, builder.finish().flush() as never)]);
    expect(rowsFromArrowIpc(tableToIPC(table, "stream"))).toEqual(rows);
    // independent decoder: apache-arrow's row proxies on our file
    const ours = tableFromIPC(rowsToArrowIpc(rows));
    for (let i = 0; i < rows.length; i += 37) {
      const proxy = ours.get(i)!.toJSON() as Record<string, { toJSON?: () => unknown; toArray?: () => unknown[] } & Record<string, unknown>>;
      expect(proxy.event).toBe(rows[i].event);
      expect((proxy.truth as unknown as { toJSON(): unknown }).toJSON()).toEqual(rows[i].truth);
      const hits = (proxy.klmHits as unknown as { toArray(): { toJSON(): unknown }[] }).toArray().map((h) => h.toJSON());
      expect(hits).toEqual(rows[i].klmHits);
      const ip = (proxy.ip as unknown as { toJSON(): Record<string, unknown> }).toJSON();
      expect(Array.from(ip.covariance as Iterable<number>)).toEqual(rows[i].ip.covariance);
    }
    // a column of another type is refused with a FormatError naming it
    const wrong = new Table({ event: vectorFromArray([1.5], new Float64()) });
    expect(() => rowsFromArrowIpc(tableToIPC(wrong, "file"))).toThrow(/column "event" has type Float64/);
  });

  it("JSONL reads back equal; a broken line is a FormatError naming it", () => {
    const rows = syntheticRows(50, 2);
    const text = rows.map(rowToJsonLine).join("\n") + "\n";
    expect(rowsFromJsonl(text)).toEqual(rows);
    expect(() => rowsFromJsonl(rowToJsonLine(rows[0]) + "\n{oops\n")).toThrow(/line 2/);
    expect(() => rowsFromJsonl('{"a":1}\n')).toThrow(FormatError);
    expect(() => rowsFromArrowIpc(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))).toThrow(FormatError);
  });

  it("the streaming writer spans several record batches, writes atomically and reads back equal in both formats", async () => {
    const rows = syntheticRows(5000, 3); // > 2 batches of 2048
    for (const name of ["rows.arrow", "rows.jsonl"]) {
      const file = path.join(tmp, name);
      const writer = new SimRowFileWriter(file);
      expect(writer.format).toBe(formatFromPath(name));
      for (let i = 0; i < rows.length; i += 700) writer.write(rows.slice(i, i + 700));
      await new Promise((r) => setTimeout(r, 20));
      expect(fs.existsSync(file)).toBe(false); // nothing under the final name before close
      expect(fs.existsSync(writer.tempFile)).toBe(true);
      await writer.close();
      expect(fs.existsSync(writer.tempFile)).toBe(false);
      expect(readSimRows(file)).toEqual(rows);
    }
    const empty = path.join(tmp, "empty.arrow");
    const w = new SimRowFileWriter(empty);
    await w.close();
    expect(readSimRows(empty)).toEqual([]);
    expect(tableFromIPC(fs.readFileSync(empty)).schema.fields.length).toBe(SIM_ROW_SCHEMA.fields.length);
  });

  it("abort leaves neither the final nor the temporary file", async () => {
    const file = path.join(tmp, "aborted.arrow");
    const writer = new SimRowFileWriter(file);
    writer.write(syntheticRows(3000, 4));
    await new Promise((r) => setTimeout(r, 20));
    writer.abort();
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.existsSync(writer.tempFile)).toBe(false);
  });
});

describe("tracking resolution", () => {
  it("covariance is the symmetric 6×6 J·diag(σ²)·Jᵀ: positive semi-definite, σ(pT)/pT ≈ 0.0011·pT ⊕ 0.0025/β", () => {
    expect(upperTriangleIndex(0, 0)).toBe(0);
    expect(upperTriangleIndex(0, 5)).toBe(5);
    expect(upperTriangleIndex(1, 1)).toBe(6);
    expect(upperTriangleIndex(5, 5)).toBe(20);
    expect(upperTriangleIndex(3, 2)).toBe(upperTriangleIndex(2, 3));
    const rng = new Random(5);
    const truth = particleAtIp("mu-", 2, Math.PI / 2, 0.3);
    let sumRel = 0, sumRel2 = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const t = reconstructTrackAtIp(truth, rng);
      const rel = Math.hypot(t.px, t.py) / 2 - 1;
      sumRel += rel;
      sumRel2 += rel * rel;
      if (i < 20) {
        const full = unpackUpperTriangle(t.covariance);
        for (let a = 0; a < 6; a++) {
          expect(full[a * 6 + a]).toBeGreaterThanOrEqual(0);
          for (let b = 0; b < 6; b++) {
            expect(full[a * 6 + b]).toBe(full[b * 6 + a]);
            // Cauchy–Schwarz for a covariance
            expect(full[a * 6 + b] ** 2).toBeLessThanOrEqual(full[a * 6 + a] * full[b * 6 + b] * (1 + 1e-9) + 1e-30);
          }
        }
        // reported σ(pT) from the covariance: pT² σ² = px² σxx + 2 px py σxy + py² σyy
        const pxx = full[3 * 6 + 3], pxy = full[3 * 6 + 4], pyy = full[4 * 6 + 4];
        const ptRec = Math.hypot(t.px, t.py);
        const sigmaPt = Math.sqrt(t.px ** 2 * pxx + 2 * t.px * t.py * pxy + t.py ** 2 * pyy) / ptRec;
        const beta = 2 / Math.hypot(2, 0.1056583755);
        expect(sigmaPt / ptRec).toBeCloseTo(Math.hypot(0.0011 * ptRec, 0.0025 / beta), 5);
      }
    }
    const mean = sumRel / n;
    const rms = Math.sqrt(sumRel2 / n - mean * mean);
    const beta = 2 / Math.hypot(2, 0.1056583755);
    expect(rms / Math.hypot(0.0011 * 2, 0.0025 / beta)).toBeCloseTo(1, 1);
    expect(Math.abs(mean)).toBeLessThan(5 * rms / Math.sqrt(n));
  });
});

/** The options of a good run, to be spoiled one at a time. */
function goodOptions(over: Partial<SimulateCliOptions> = {}): SimulateCliOptions {
  return { kind: "klm", events: "3", seed: "1", output: path.join(tmp, "good.arrow"), quiet: true, ...over };
}

describe("muid simulate options", () => {
  it("accepts a good run and applies the overrides", () => {
    const s = parseSimulateOptions(goodOptions({ particle: "mu-,pi+", p: "1.5", theta: "90", tracks: "1", background: "3", efficiency: "0.9", threshold: "2" }));
    expect(s.kind).toBe("klm");
    expect(s.events).toBe(3);
    expect(s.gun!.particles).toEqual(["mu-", "pi+"]);
    expect(s.gun!.momentum).toEqual({ variable: "p", min: 1.5, max: 1.5 });
    expect(s.gun!.thetaDeg).toEqual({ min: 90, max: 90 });
    expect(s.gun!.tracksPerEvent).toEqual({ min: 1, max: 1 });
    expect(s.conditions).toEqual({ ...defaultDetectorConditions(), klmBackground: 3, eclBackground: 3, klmEfficiency: 0.9, eclThreshold: 0.002 });
    expect(s.format).toBe("arrow");
    expect(parseSimulateOptions(goodOptions({ output: path.join(tmp, "x.jsonl") })).format).toBe("jsonl");
    expect(parseSimulateOptions(goodOptions({ kind: "ecl", ptRange: "0.3,0.5" })).gun!.momentum).toEqual({ variable: "pt", min: 0.3, max: 0.5 });
    expect(parseSimulateOptions(goodOptions({ kind: "bbbar" })).gun).toBeNull();
  });

  const bad: [string, Partial<SimulateCliOptions>, RegExp][] = [
    ["negative events", { events: "-5" }, /--events/],
    ["zero events", { events: "0" }, /--events/],
    ["fractional events", { events: "2.5" }, /--events/],
    ["missing events", { events: undefined }, /--events/],
    ["unknown kind", { kind: "tau" }, /unknown --kind "tau"/],
    ["unknown particle", { particle: "mu-,kaon" }, /unknown --particle "kaon"/],
    ["unwritable path", { output: "/nonexistent-dir-muid/x.arrow" }, /cannot write .*does not exist/],
    ["output is a directory", { output: os.tmpdir() }, /is a directory/],
    ["reversed p range", { pRange: "3,1" }, /--p-range 3,1: the range is reversed/],
    ["reversed θ range", { thetaRange: "120,40" }, /--theta-range.*reversed/],
    ["two momentum options", { p: "1", pRange: "1,2" }, /only one of --p/],
    ["non-numeric p", { p: "fast" }, /--p "fast" is not a number/],
    ["θ out of range", { theta: "200" }, /--theta/],
    ["bad efficiency", { efficiency: "1.5" }, /--efficiency/],
    ["negative background", { background: "-1" }, /--background/],
    ["bad format", { format: "csv" }, /unknown --format/],
    ["bbbar with a gun option", { kind: "bbbar", p: "1" }, /bbbar.*--p/],
    ["bad seed", { seed: "-3" }, /--seed/],
  ];
  for (const [name, over, message] of bad) {
    it(`rejects ${name} with an OptionError`, () => {
      let error: unknown;
      try {
        parseSimulateOptions(goodOptions(over));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(OptionError);
      expect((error as Error).message).toMatch(message);
    });
  }
});

describe("simulateEvent and runSimulate", () => {
  it("is reproducible for a seed and differs between seeds", () => {
    const conditions = defaultDetectorConditions();
    const run = (seed: number): SimTrackRow[] => {
      const rows: SimTrackRow[] = [];
      for (let e = 0; e < 5; e++) {
        const rng = eventRandom(seed, e);
        rows.push(...simulateEvent(generateGunEvent(klmStudyGun(), rng), e, rng, conditions));
      }
      return rows;
    };
    const a = run(1);
    expect(a).toEqual(run(1));
    expect(a).not.toEqual(run(2));
    expect(new Set(a.map((r) => r.event))).toEqual(new Set([0, 1, 2, 3, 4]));
    for (const r of a) expect(r.track).toBeLessThan(16);
  });

  it("writes the file and shows a progress bar only on a TTY and without --quiet", async () => {
    let written = "";
    const tty = Object.assign(new Writable({ write(chunk, _enc, cb) { written += String(chunk); cb(); } }), { isTTY: true, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
    const out = path.join(tmp, "bar.jsonl");
    const settings = parseSimulateOptions({ kind: "ecl", events: "20", seed: "4", output: out });
    const summary = await runSimulate(settings, { progressStream: tty as never });
    expect(summary.events).toBe(20);
    expect(summary.tracks).toBe(20); // the ECL gun has one track per event
    expect(written).toMatch(/20\/20 events/);
    expect(readSimRows(out).length).toBe(20);

    written = "";
    await runSimulate({ ...settings, quiet: true }, { progressStream: tty as never });
    expect(written).toBe("");
    const notTty = Object.assign(new Writable({ write(chunk, _enc, cb) { written += String(chunk); cb(); } }), { isTTY: false });
    await runSimulate(settings, { progressStream: notTty as never });
    expect(written).toBe("");
  });

  it("an aborted run rejects and leaves no file", async () => {
    const out = path.join(tmp, "aborted-run.arrow");
    const controller = new AbortController();
    const settings = parseSimulateOptions({ kind: "klm", events: "1000000000", seed: "4", output: out, quiet: true });
    const running = runSimulate(settings, { signal: controller.signal });
    setTimeout(() => controller.abort(), 300);
    await expect(running).rejects.toThrow(/interrupted/);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(tmp).filter((f) => f.includes("aborted-run"))).toEqual([]);
  });
});

/**
 * The command runs as a child process of src/cli/main.ts bundled with esbuild (as scripts/bundle.mjs
 * does: wasm inlined, packages external, so the bundle sits under node_modules/.cache to resolve them).
 * main.ts inlines build/muid.wasm; without a wasm build the test falls back to this minimal entry
 * with main.ts's error handling (OptionError → exit 2) and says so.
 */
const fallbackEntry = `
import { Command, CommanderError } from "commander";
import { MuidError } from "./src/errors.ts";
import { registerSimulate } from "./src/cli/simulate.ts";
const program = new Command().name("muid").exitOverride();
registerSimulate(program);
try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exitCode = e.exitCode === 0 ? 0 : 2;
  else if (e instanceof MuidError) {
    process.stderr.write("muid: " + e.message + "\\n");
    process.exitCode = e.code === "OPTION" ? 2 : e.code === "IO" ? 4 : 3;
  } else {
    process.stderr.write("muid: internal error: " + (e && e.stack) + "\\n");
    process.exitCode = 1;
  }
}
`;

describe("muid simulate as a command", () => {
  let cli = "";
  let bundleDir = "";
  beforeAll(async () => {
    fs.mkdirSync(path.join(repoRoot, "node_modules", ".cache"), { recursive: true });
    bundleDir = fs.mkdtempSync(path.join(repoRoot, "node_modules", ".cache", "muid-simulate-test-"));
    cli = path.join(bundleDir, "cli.mjs");
    const haveWasm = fs.existsSync(path.join(repoRoot, "build", "muid.wasm"));
    if (!haveWasm) console.warn("simulate.test: build/muid.wasm is missing (npm run build:wasm); testing the command through a minimal entry instead of src/cli/main.ts");
    await build({
      ...(haveWasm
        ? { entryPoints: [path.join(repoRoot, "src", "cli", "main.ts")] }
        : { stdin: { contents: fallbackEntry, resolveDir: repoRoot, loader: "ts" as const, sourcefile: "fallback-main.ts" } }),
      bundle: true, platform: "node", format: "esm", target: "es2022", outfile: cli, logLevel: "error",
      loader: { ".wasm": "binary" }, packages: "external",
    });
  });
  afterAll(() => {
    if (bundleDir) fs.rmSync(bundleDir, { recursive: true, force: true });
  });

  const runCli = (args: string[]): { status: number | null; stderr: string; stdout: string } => {
    const r = spawnSync(process.execPath, [cli, "simulate", ...args], { encoding: "utf8", timeout: 120_000 });
    return { status: r.status, stderr: r.stderr, stdout: r.stdout };
  };

  it("bad options exit 2 with a clear message", () => {
    const out = path.join(tmp, "cli-bad.arrow");
    const cases: [string[], RegExp][] = [
      [["--kind", "klm", "--events", "-5", "-o", out], /--events must be an integer/],
      [["--kind", "quark", "--events", "5", "-o", out], /unknown --kind "quark"/],
      [["--kind", "klm", "--events", "5", "--particle", "e-", "-o", out], /unknown --particle "e-"/],
      [["--kind", "klm", "--events", "5", "-o", "/nonexistent-dir-muid/x.arrow"], /does not exist/],
      [["--kind", "klm", "--events", "5", "--p-range", "4,1", "-o", out], /reversed/],
    ];
    for (const [args, message] of cases) {
      const r = runCli(args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(fs.existsSync(out)).toBe(false);
    }
  });

  it("a run writes the file and prints nothing on a non-TTY stderr", () => {
    const out = path.join(tmp, "cli-ok.arrow");
    const r = runCli(["--kind", "klm", "--events", "10", "--seed", "3", "-o", out]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const rows = readSimRows(out);
    expect(new Set(rows.map((x) => x.event))).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    // same seed, same rows, whatever the format
    const again = path.join(tmp, "cli-ok.jsonl");
    expect(runCli(["--kind", "klm", "--events", "10", "--seed", "3", "-o", again]).status).toBe(0);
    expect(readSimRows(again)).toEqual(rows);
  });

  it("end to end through the real chain: --kind klm --events 200 --seed 1 gives physical rows", () => {
    const out = path.join(tmp, "e2e.arrow");
    const r = runCli(["--kind", "klm", "--events", "200", "--seed", "1", "-o", out]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const rows = readSimRows(out);
    const byEvent = new Map<number, SimTrackRow[]>();
    for (const row of rows) byEvent.set(row.event, [...(byEvent.get(row.event) ?? []), row]);
    let deepTracks = 0, deepTracksWithHits = 0;
    expect([...byEvent.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    for (const event of byEvent.values()) {
      expect(event.length).toBeGreaterThanOrEqual(4);
      expect(event.length).toBeLessThanOrEqual(16);
      expect(event.map((x) => x.track)).toEqual(event.map((_, i) => i));
      // every row carries the event's hits: its own, the other tracks' and the background
      for (const x of event) expect(x.klmHits).toEqual(event[0].klmHits);
      const owners = new Set(event[0].klmHits.map((h) => h.truthTrack));
      for (const x of event) {
        if (x.truth.klmLayerReached <= 1) continue;
        deepTracks++;
        if (owners.has(x.track)) deepTracksWithHits++;
      }
    }
    // a track through ≥ 2 layers has hits of its own, except in the strip-less zones (endcap |x| or |y| < 32 cm)
    expect(deepTracksWithHits / deepTracks).toBeGreaterThan(0.9);
    const mean = (list: SimTrackRow[], f: (x: SimTrackRow) => number): number => list.reduce((a, x) => a + f(x), 0) / list.length;
    const muons = rows.filter((x) => Math.abs(x.truth.pdg) === 13);
    const pions = rows.filter((x) => Math.abs(x.truth.pdg) === 211);
    // physics.md §6: a muon with p ≥ 1.3 GeV/c at normal incidence crosses all 15 barrel layers
    const stiffBarrelMuons = muons.filter((x) => x.truth.p > 1.5 && x.truth.theta > 55 && x.truth.theta < 115);
    expect(stiffBarrelMuons.length).toBeGreaterThan(200);
    expect(mean(stiffBarrelMuons, (x) => x.truth.klmLayerReached)).toBeGreaterThan(13);
    expect(mean(stiffBarrelMuons, (x) => (x.truth.klmRegion === "barrel" ? 1 : 0))).toBeGreaterThan(0.9);
    // physics.md §5.1: a muon leaves ≈170–220 MeV in 30 cm of CsI; it never interacts hadronically
    expect(mean(stiffBarrelMuons, (x) => x.truth.eclDeposit)).toBeGreaterThan(0.15);
    expect(mean(stiffBarrelMuons, (x) => x.truth.eclDeposit)).toBeLessThan(0.3);
    expect(muons.some((x) => x.truth.interactedInEcl || x.truth.interactedInKlm || x.truth.decayedInFlight)).toBe(false);
    // physics.md §5.2: ≈55 % of pions interact in the ECL; far fewer reach deep KLM layers than muons
    expect(mean(pions, (x) => (x.truth.interactedInEcl ? 1 : 0))).toBeGreaterThan(0.35);
    expect(mean(pions, (x) => (x.truth.interactedInEcl ? 1 : 0))).toBeLessThan(0.75);
    expect(mean(pions, (x) => x.truth.klmLayerReached)).toBeLessThan(mean(muons, (x) => x.truth.klmLayerReached) / 2);
    // the ECL neighbourhood of a track that deposited energy holds digits, all inside the 11×11 map
    const deposited = rows.filter((x) => x.truth.eclDeposit > 0.05);
    expect(mean(deposited, (x) => (x.eclDigits.length > 0 ? 1 : 0))).toBeGreaterThan(0.95);
    for (const x of rows) for (const d of x.eclDigits) expect(d.energy).toBeGreaterThanOrEqual(0.001);
  });

  it("SIGINT mid-run leaves no file under the final name (and removes the partial one)", async () => {
    const out = path.join(tmp, "cli-interrupted.arrow");
    const child = spawn(process.execPath, [cli, "simulate", "--kind", "klm", "--events", "100000000", "-o", out], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += String(d)));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    // wait until the partial file exists and holds data, i.e. the run is mid-way
    const partial = path.join(tmp, `.cli-interrupted.arrow.partial-${child.pid}`);
    const deadline = Date.now() + 60_000;
    while (!(fs.existsSync(partial) && fs.statSync(partial).size > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(fs.existsSync(partial)).toBe(true);
    child.kill("SIGINT");
    const code = await exited;
    expect(code).toBe(130);
    expect(stderr).toMatch(/SIGINT/);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.existsSync(partial)).toBe(false);
  });
});

/**
 * Test doubles for src/sim/transport.ts and src/sim/klmResponse.ts, written as stand-ins before their
 * bodies existed and kept for a deterministic check of the wiring: a straight-line "transport" that
 * leaves six 30 MeV ionisation deposits along the ray through the ECL barrel (none below 0.28 GeV/c)
 * and crosses barrel layers 1–3, and a response that makes one hit per crossing plus one background
 * hit. They test simulateEvent's sharing of hits and crystal energies between the tracks of an event;
 * the real chain is tested end to end above.
 */
const standInTransport = (state: { px: number; py: number; pz: number }) => {
  const p = Math.hypot(state.px, state.py, state.pz);
  const ux = state.px / p, uy = state.py / p, uz = state.pz / p;
  const rho = Math.hypot(ux, uy);
  const reaches = p >= 0.28;
  const deposits = reaches ? [0, 1, 2, 3, 4, 5].map((k) => {
    const r = (127.5 + 5 * k) / rho;
    return { x: ux * r, y: uy * r, z: uz * r, energy: 0.03, kind: "ionisation" as const };
  }) : [];
  const crossings = reaches ? [1, 2, 3].map((layer) => {
    const r = (203.96 + 9.1 * (layer - 1)) / rho;
    return { section: "barrel" as const, sector: 1, layer, x: ux * r, y: uy * r, z: uz * r, time: layer, px: state.px, py: state.py, pz: state.pz, kind: "muon" as const, clusterHalfWidth: 0 };
  }) : [];
  return {
    truth: { decayedInFlight: false, interactedInEcl: false, interactedInKlm: false, klmLayerReached: reaches ? 3 : 0, klmRegion: reaches ? "barrel" as const : null, eclDeposit: reaches ? 0.18 : 0 },
    eclDeposits: deposits, klmCrossings: crossings, path: [],
  };
};
const standInHits = (crossings: { section: "barrel"; sector: number; layer: number; x: number; y: number; z: number; time: number }[], trackIndex: number): KlmHit[] =>
  crossings.map((c) => ({ section: c.section, sector: c.sector, layer: c.layer, x: c.x, y: c.y, z: c.z, uStripMin: 0, uStripMax: 0, vStripMin: 0, vStripMax: 0, time: c.time, truthTrack: trackIndex }));
const standInBackground = (): KlmHit[] => [{ section: "forward", sector: 2, layer: 7, x: 50, y: 50, z: 300, uStripMin: 3, uStripMax: 3, vStripMin: 9, vStripMax: 9, time: 12, truthTrack: -1 }];

describe("simulateEvent wiring (test-double transport and KLM response)", () => {
  it("shares every track's KLM hits and ECL crystal energies within the event", async () => {
    vi.resetModules();
    vi.doMock("../src/sim/transport.js", () => ({ transportParticle: standInTransport }));
    vi.doMock("../src/sim/klmResponse.js", () => ({ klmHitsFromCrossings: standInHits, klmBackgroundHits: standInBackground }));
    try {
      const event = await import("../src/sim/event.js");
      const ecl = await import("../src/geometry/ecl.js");
      const DEG = Math.PI / 180;
      const particles = [particleAtIp("mu-", 1.5, 90 * DEG, 0.5 * DEG), particleAtIp("pi+", 1.2, 90 * DEG, 5.5 * DEG), particleAtIp("mu+", 0.1, 90 * DEG, 180 * DEG)];
      const conditions = { ...event.defaultDetectorConditions(), eclBackground: 0 };
      const { rows } = event.simulateEventDetailed(particles, 7, new Random(1), conditions);
      expect(rows.map((r) => [r.event, r.track])).toEqual([[7, 0], [7, 1], [7, 2]]);
      // every row holds all hits of the event: 3 + 3 crossings and the background hit
      for (const r of rows) {
        expect(r.klmHits.length).toBe(7);
        expect(r.klmHits.map((h) => h.truthTrack).sort()).toEqual([-1, 0, 0, 0, 1, 1, 1]);
      }
      expect(rows[0].truth).toMatchObject({ pdg: 13, charge: -1, klmLayerReached: 3, klmRegion: "barrel", eclDeposit: 0.18 });
      expect(rows[0].truth.p).toBeCloseTo(1.5, 12);
      expect(rows[0].truth.theta).toBeCloseTo(90, 10);
      expect(rows[1].truth.phi).toBeCloseTo(5.5, 10);
      // track 1's crystal (2 crystals away in φ) lies inside track 0's 11×11 neighbourhood and vice versa
      const cell0 = ecl.crystalTowards(1, Math.tan(0.5 * DEG), 0)!;
      const cell1 = ecl.crystalTowards(1, Math.tan(5.5 * DEG), 0)!;
      expect(cell1).not.toBe(cell0);
      for (const r of rows.slice(0, 2)) {
        const cells = r.eclDigits.map((d) => d.cellId);
        expect(cells).toContain(cell0);
        expect(cells).toContain(cell1);
      }
      const energy = (r: SimTrackRow, cell: number): number => r.eclDigits.find((d) => d.cellId === cell)!.energy;
      expect(energy(rows[0], cell1)).toBe(energy(rows[1], cell1));
      // 6 × 30 MeV, less the δ-ray leakage into neighbours
      expect(energy(rows[0], cell0)).toBeGreaterThan(0.15);
      expect(energy(rows[0], cell0)).toBeLessThanOrEqual(0.18);
      // the 0.1 GeV/c track never reached the ECL
      expect(rows[2].eclDigits).toEqual([]);
    } finally {
      vi.doUnmock("../src/sim/transport.js");
      vi.doUnmock("../src/sim/klmResponse.js");
      vi.resetModules();
    }
  });
});
