/**
 * `muid export phoenix` (ISSUE 7 item 4): the file follows the HSF Phoenix event data format
 * (HSF/phoenix guides/developers/event_data_format.md: event objects with "event number" and
 * "run number", object types holding named collections, Tracks with `pos` triplets, Hits as Points,
 * CaloCells with energy/eta/phi, Muons linking "COLLECTION:INDEX" tracks), in mm, and a small simulated
 * file survives the JSONL → chain → Phoenix → JSON round trip with the probabilities of the chain.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as library from "../src/index.js";
import { FormatError, OptionError } from "../src/errors.js";
import { rowToJsonLine } from "../src/sim/io.js";
import type { SimTrackRow } from "../src/sim/types.js";
import { BKLM_INNER_RADIUS, DETECTOR_Z_OFFSET, EKLM_SECTION_FRONT } from "../src/constants.js";
import { buildPhoenixFile, parsePhoenixOptions } from "../src/cli/export.js";
import { PHOENIX_MUON_ID_ATTRIBUTES, type PhoenixEvent } from "../src/eval/phoenix.js";
import { loadDemoModels, MUON_ID_METHODS, runChainOnRows } from "../src/web/eventChain.js";
import { readInputFile } from "../src/cli/files.js";
import { parseReconstructOptions, runReconstruct } from "../src/cli/reconstruct.js";
import { readReconstructedRows } from "../src/reco/klmRowFile.js";
import { existsSync } from "node:fs";

const SEED = 77;
const EVENTS = 4;
/** Object types of the format description ("Supported object types"). */
const PHOENIX_OBJECT_TYPES = ["Tracks", "Jets", "Hits", "CaloClusters", "CaloCells", "PlanarCaloCells", "IrregularCaloCells", "Vertices", "MissingEnergy", "Muons", "Electrons", "Photons"];

/** A written position (mm, rounded to 1 µm) against the simulated one. */
function expectMm(written: number, expected: number): void {
  expect(Math.abs(written - expected)).toBeLessThanOrEqual(0.0005 + 1e-9);
}

const isFiniteNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isTriplet = (v: unknown): v is [number, number, number] => Array.isArray(v) && v.length === 3 && v.every(isFiniteNumber);

/** Checks an event file against the format description; returns the problems found. */
function formatProblems(file: unknown): string[] {
  const problems: string[] = [];
  if (typeof file !== "object" || file === null || Array.isArray(file)) return ["the file is not a JSON object of events"];
  for (const [key, event] of Object.entries(file as Record<string, unknown>)) {
    const at = (what: string) => problems.push(`${key}: ${what}`);
    if (typeof event !== "object" || event === null) { at("not an object"); continue; }
    const e = event as Record<string, unknown>;
    if (!Number.isInteger(e["event number"] ?? e["eventNumber"])) at("no integer event number");
    if (!Number.isInteger(e["run number"] ?? e["runNumber"])) at("no integer run number");
    for (const [type, value] of Object.entries(e)) {
      if (typeof value !== "object" || value === null) continue; // metadata: free strings and numbers
      if (!PHOENIX_OBJECT_TYPES.includes(type)) { at(`unknown object type ${type}`); continue; }
      for (const [collection, objects] of Object.entries(value as Record<string, unknown>)) {
        if (!Array.isArray(objects)) { at(`${type}/${collection} is not an array`); continue; }
        objects.forEach((o: Record<string, unknown>, i) => {
          const where = `${type}/${collection}[${i}]`;
          if (type === "Tracks") {
            if (!Array.isArray(o.pos) || o.pos.length < 3 || !o.pos.every(isTriplet)) at(`${where}: pos needs ≥ 3 finite [x, y, z]`);
            if (!Array.isArray(o.dparams) || o.dparams.length !== 5 || !o.dparams.every(isFiniteNumber)) at(`${where}: dparams needs 5 numbers`);
            for (const k of ["phi", "eta", "d0", "z0", "pT", "charge", "mom"]) if (!isFiniteNumber(o[k])) at(`${where}: ${k} is not a number`);
            if (isFiniteNumber(o.phi) && Math.abs(o.phi) > Math.PI) at(`${where}: phi outside [−π, π]`);
          } else if (type === "Hits") {
            if (o.type !== (objects[0] as Record<string, unknown>).type) at(`${where}: hits of one collection must share a type`);
            if (!["Point", "CircularPoint", undefined].includes(o.type as string | undefined) || !isTriplet(o.pos)) at(`${where}: a Point needs pos [x, y, z]`);
          } else if (type === "CaloCells" || type === "CaloClusters") {
            for (const k of ["energy", "eta", "phi"]) if (!isFiniteNumber(o[k])) at(`${where}: ${k} is required`);
            if (isFiniteNumber(o.phi) && Math.abs(o.phi) > Math.PI) at(`${where}: phi outside [−π, π]`);
          } else if (type === "Muons") {
            const links = o.LinkedTracks;
            if (!Array.isArray(links) || links.length === 0) { at(`${where}: no LinkedTracks`); return; }
            for (const link of links) {
              const m = typeof link === "string" ? /^(.+):(\d+)$/.exec(link) : null;
              const tracks = m ? ((e.Tracks as Record<string, unknown[]> | undefined)?.[m[1]!]) : undefined;
              if (!m || !tracks || Number(m[2]) >= tracks.length) at(`${where}: link ${JSON.stringify(link)} names no track of the event`);
            }
          }
        });
      }
    }
  }
  return problems;
}

describe("muid export phoenix", () => {
  let dir: string;
  let dataFile: string;
  const rowsByEvent: SimTrackRow[][] = [];
  let events: Record<string, PhoenixEvent>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "muid-phoenix-"));
    dataFile = join(dir, "bbbar.jsonl");
    const conditions = library.defaultDetectorConditions();
    for (let e = 0; e < EVENTS; e++) {
      const rng = library.eventRandom(SEED, e);
      rowsByEvent.push(library.simulateEvent(library.generateBBbarEvent(rng), e, rng, conditions));
    }
    writeFileSync(dataFile, rowsByEvent.flat().map(rowToJsonLine).join("\n") + "\n");
    const settings = parsePhoenixOptions({ data: dataFile, output: join(dir, "events.json"), weights: "weights", muonMethod: "dnn", muonThreshold: "0.5", run: "7" });
    events = (await buildPhoenixFile(settings)).events;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("follows the Phoenix event data format", () => {
    const text = JSON.stringify(events);
    const parsed = JSON.parse(text) as unknown;
    expect(parsed).toEqual(events); // plain JSON: nothing lost on the way to the file
    expect(formatProblems(parsed)).toEqual([]);
    expect(Object.keys(events)).toEqual(rowsByEvent.map((_, e) => `Event ${e}`));
    for (const [e, event] of Object.values(events).entries()) {
      expect(event["event number"]).toBe(e);
      expect(event["run number"]).toBe(7);
    }
    // the checker finds what it is for
    expect(formatProblems({ A: { "event number": 1, "run number": 0, Tracks: { T: [{ pos: [[0, 0, 0]] }] } } }).length).toBeGreaterThan(0);
    expect(formatProblems({ A: { "event number": 1, "run number": 0, Tracks: { T: [] }, Muons: { M: [{ LinkedTracks: ["T:0"] }] } } })).toEqual(["A: Muons/M[0]: link \"T:0\" names no track of the event"]);
  });

  it("writes tracks, KLM hits and ECL digits in mm at the simulated positions", () => {
    Object.values(events).forEach((event, e) => {
      const rows = rowsByEvent[e]!;
      const tracks = event.Tracks.MuidTracks!;
      expect(tracks).toHaveLength(rows.length);
      tracks.forEach((t, i) => {
        const ip = rows[i]!.ip;
        // starts at the point of closest approach, ×10 for cm → mm
        expectMm(t.pos[0]![0], 10 * ip.x);
        expectMm(t.pos[0]![1], 10 * ip.y);
        expectMm(t.pos[0]![2], 10 * ip.z);
        expect(t.pT).toBeCloseTo(Math.hypot(ip.px, ip.py), 12);
        expect(t.charge).toBe(ip.charge);
        // the sampled part, inside the KLM's inner surfaces: steps of at most 5 cm of path (= 50 mm of chord)
        const insideKlm = ([x, y, z]: number[]) => Math.hypot(x!, y!) < 9 * BKLM_INNER_RADIUS && Math.abs(z! - 10 * DETECTOR_Z_OFFSET) < 9 * EKLM_SECTION_FRONT;
        const reachedKlm = t.pos.some((p) => !insideKlm(p));
        for (let k = 1; k < t.pos.length; k++) {
          const [a, b] = [t.pos[k - 1]!, t.pos[k]!];
          if (insideKlm(a) && insideKlm(b)) expect(Math.hypot(b[0] - a[0], b[1] - a[1], b[2] - a[2])).toBeLessThanOrEqual(50 + 2e-3); // 1 µm rounding per coordinate
        }
        // a track Muid found in the KLM is drawn into it
        if (t.klmOutcome !== 0) expect(reachedKlm).toBe(true);
      });
      const hits = event.Hits.KLMHit2d!;
      const klmHits = rows[0]?.klmHits ?? [];
      expect(hits).toHaveLength(klmHits.length);
      hits.forEach((h, k) => {
        expect(h.type).toBe("Point");
        h.pos.forEach((v, j) => expectMm(v, 10 * [klmHits[k]!.x, klmHits[k]!.y, klmHits[k]!.z][j]!));
        expect(h.matchedTrack).toBeGreaterThanOrEqual(-1);
        expect(h.matchedTrack).toBeLessThan(rows.length);
      });
      const digits = new Map<number, number>();
      for (const r of rows) for (const d of r.eclDigits) digits.set(d.cellId, d.energy);
      const cells = event.CaloCells.ECLCalDigits!;
      expect(cells.map((c) => c.cellId)).toEqual([...digits.keys()].sort((a, b) => a - b));
      for (const c of cells) {
        expect(c.energy).toBeCloseTo(1000 * digits.get(c.cellId)!, 9); // MeV
        expect(2 * Math.atan(Math.exp(-c.eta))).toBeCloseTo(c.theta, 12);
        // radius and z put the box on the crystal's axis, 1–2.6 m from the IP
        expect(Math.atan2(c.radius, c.z)).toBeCloseTo(c.theta <= Math.PI / 2 ? c.theta : Math.PI - c.theta, 9);
        expect(Math.hypot(c.radius, c.z)).toBeGreaterThan(1000);
        expect(Math.hypot(c.radius, c.z)).toBeLessThan(2600);
      }
    });
  });

  it("carries the chain's muon probabilities and links every muon to its track", async () => {
    const models = await loadDemoModels(library, async (file) => (existsSync(join("weights", file)) ? readInputFile(join("weights", file)) : null));
    const reconstructor = await library.KlmReconstructor.create({ likelihood: models.likelihood, keepCrossings: true });
    let muons = 0, values = 0;
    Object.values(events).forEach((event, e) => {
      // the chain on the in-memory rows (never through the file)
      const chain = runChainOnRows(library, reconstructor, models, rowsByEvent[e]!);
      const tracks = event.Tracks.MuidTracks!;
      chain.tracks.forEach((t, i) => {
        for (const m of MUON_ID_METHODS) {
          const attribute = tracks[i]![PHOENIX_MUON_ID_ATTRIBUTES[m]];
          if (t.muonId[m] === null) expect(attribute, `${m} of track ${i}`).toBeUndefined();
          else {
            expect(attribute).toBe(t.muonId[m]);
            values++;
          }
        }
      });
      const expected = chain.tracks.flatMap((t, i) => (t.muonId.dnn !== null && t.muonId.dnn >= 0.5 ? [`MuidTracks:${i}`] : []));
      const linked = event.Muons.MuidMuons!.map((m) => m.LinkedTracks[0]);
      expect(linked).toEqual(expected);
      for (const m of event.Muons.MuidMuons!) {
        const track = tracks[Number(m.LinkedTracks[0]!.split(":")[1])]!;
        expect(m.muonProbability).toBe(track.muonIdDnn);
        expect(m.pT).toBe(track.pT);
      }
      muons += linked.length;
    });
    console.log(`[phoenix] ${EVENTS} events: ${values} probabilities, ${muons} muons (dnn ≥ 0.5)`);
    expect(values).toBeGreaterThan(EVENTS);
  });

  it("gives the probabilities muid reconstruct writes for the same file", async () => {
    const output = join(dir, "reconstructed.jsonl");
    const sink = { write: () => true } as unknown as NodeJS.WritableStream;
    await runReconstruct(parseReconstructOptions({ data: dataFile, output, quiet: true }), sink);
    const rows = readReconstructedRows(output);
    const tracks = Object.values(events).flatMap((e) => e.Tracks.MuidTracks!);
    expect(tracks).toHaveLength(rows.length);
    const compared: Record<string, number> = {};
    rows.forEach((row, i) => {
      for (const m of ["likelihood", "dnnGlobal", "dnn", "combined"] as const) {
        const mine = tracks[i]![PHOENIX_MUON_ID_ATTRIBUTES[m]];
        // reconstruct scores the DNNs on every row; the chain only on rows with a KLM value
        if (mine === undefined || row.klm.muonId[m] === undefined) continue;
        expect(mine, `row ${i} ${m}`).toBe(row.klm.muonId[m]);
        compared[m] = (compared[m] ?? 0) + 1;
      }
    });
    console.log(`[phoenix] equal to muid reconstruct: ${JSON.stringify(compared)}`);
    expect(compared.likelihood).toBe(rows.length);
    expect(compared.dnn).toBeGreaterThan(0);
  });

  it("refuses bad options and bad input with typed errors", async () => {
    const base = { data: dataFile, output: join(dir, "x.json"), weights: "weights", muonMethod: "dnn", muonThreshold: "0.5", run: "0" };
    expect(() => parsePhoenixOptions({ ...base, data: join(dir, "missing.jsonl") })).toThrow(OptionError);
    expect(() => parsePhoenixOptions({ ...base, muonMethod: "belle" })).toThrow(OptionError);
    expect(() => parsePhoenixOptions({ ...base, muonThreshold: "1.5" })).toThrow(OptionError);
    expect(() => parsePhoenixOptions({ ...base, maxEvents: "0" })).toThrow(OptionError);
    expect(() => parsePhoenixOptions({ ...base, output: join(dir, "no-such-folder", "x.json") })).toThrow(OptionError);
    const garbage = join(dir, "garbage.jsonl");
    writeFileSync(garbage, "{\"event\": 1}\nnot json\n");
    await expect(buildPhoenixFile(parsePhoenixOptions({ ...base, data: garbage }))).rejects.toThrow(FormatError);
    const limited = await buildPhoenixFile(parsePhoenixOptions({ ...base, maxEvents: "2" }));
    expect(Object.keys(limited.events)).toEqual(["Event 0", "Event 1"]);
  });
});
