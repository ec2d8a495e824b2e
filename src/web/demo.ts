/**
 * The browser demo (ISSUE 7 item 3), served by `muid serve`: simulates BB̄ events in the page, runs
 * the muon-ID chain with the shipped weights from the release bundle dist/muid.js, and shows per
 * event the tracks with the muon probability of every method, each track's KLM layer pattern and
 * ECL 7×7 image, the event's KLM hits and extrapolations in x–y and z–r, and the chain latency.
 *
 * URLs mirror the package layout (dist/web/index.html, dist/muid.js, weights/*), so any static server
 * at the package root serves the page as `muid serve` does. Tests drive it through
 * `window.muidDemo.run(seed, events)`.
 */
import { BKLM_INNER_RADIUS, BKLM_OUTER_RADIUS, ECL_BACKWARD_FRONT_PLANE, ECL_FORWARD_FRONT_PLANE, ECL_FRONT_RADIUS, EKLM_SECTION_FRONT } from "../constants.js";
import type { KlmReconstructor } from "../reco/klmChain.js";
import { DEMO_WEIGHTS, loadDemoModels, MUON_ID_METHODS, simulateAndRunEvent, summariseTrack, type ChainEvent, type DemoModels, type MuidLibrary, type TrackSummary } from "./eventChain.js";

/** What `window.muidDemo.run` resolves to: every track's probabilities as numbers, and the latency. */
export interface DemoRunResult {
  seed: number;
  events: number;
  tracks: TrackSummary[];
  /** chain wall time per event (simulation excluded), ms */
  chainMs: number[];
  latency: { median: number; p10: number; p90: number };
  /** which weight files were found */
  methods: Record<(typeof MUON_ID_METHODS)[number], boolean>;
}

declare global {
  interface Window {
    muidDemo: { ready: Promise<void>; run(seed: number, events: number): Promise<DemoRunResult> };
  }
}

const BUNDLE_URL = new URL("../muid.js", import.meta.url).href;
const WEIGHTS_URL = new URL("../../weights/", import.meta.url).href;
/** Largest number of events one run may ask for (keeps the page responsive). */
const MAX_EVENTS = 10_000;
/** Barrel KLM pattern bits 0–14, endcap 15–28 (src/reco/muidPatterns.ts ENDCAP_PATTERN_OFFSET). */
const BARREL_SLOTS = 15;
const ENDCAP_SLOTS = 14;
const TRACK_COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];

/**
 * Nearest-rank median, p10, p90 as src/eval/latency.ts `percentiles` (not in the bundle's API, and
 * importing that module would pull the simulation into the page module).
 */
function percentiles(values: readonly number[]): DemoRunResult["latency"] {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))]!;
  return { median: at(0.5), p10: at(0.1), p90: at(0.9) };
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function byId<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`page is missing #${id}`);
  return e as T;
}

async function fetchWeight(file: string): Promise<Uint8Array | null> {
  const response = await fetch(WEIGHTS_URL + file);
  if (!response.ok) return null;
  return new Uint8Array(await response.arrayBuffer());
}

function colourOf(track: number): string {
  return TRACK_COLOURS[track % TRACK_COLOURS.length]!;
}

function formatProbability(p: number | null): string {
  return p === null ? "—" : p.toFixed(4);
}

/** 2 rows (ext, hit) × 29 KLM layers: barrel 1–15, a gap, endcap 1–14. */
function drawKlmPattern(canvas: HTMLCanvasElement, ext: number, hit: number): void {
  const cell = 7, gap = 6;
  canvas.width = (BARREL_SLOTS + ENDCAP_SLOTS) * cell + gap;
  canvas.height = 2 * cell + 1;
  const g = canvas.getContext("2d")!;
  for (let slot = 0; slot < BARREL_SLOTS + ENDCAP_SLOTS; slot++) {
    const x = slot * cell + (slot >= BARREL_SLOTS ? gap : 0);
    const hasExt = ((ext >>> slot) & 1) === 1;
    const hasHit = ((hit >>> slot) & 1) === 1;
    g.fillStyle = hasExt ? "#9ecae1" : "#f0f0f0";
    g.fillRect(x, 0, cell - 1, cell - 1);
    g.fillStyle = hasHit ? "#08306b" : "#f0f0f0";
    g.fillRect(x, cell + 1, cell - 1, cell - 1);
  }
}

/** The 7×7 window (rows θ, columns φ) as a heat map on a log scale from 1 MeV to 1 GeV. */
function drawEclImage(canvas: HTMLCanvasElement, image: ArrayLike<number> | null): void {
  const cell = 8;
  canvas.width = canvas.height = 7 * cell;
  const g = canvas.getContext("2d")!;
  g.fillStyle = "#fafafa";
  g.fillRect(0, 0, canvas.width, canvas.height);
  if (!image) return;
  for (let k = 0; k < 49; k++) {
    const e = image[k]!;
    if (e <= 0) continue;
    const level = Math.min(1, Math.max(0, Math.log10(e / 1e-3) / 3));
    g.fillStyle = `hsl(${(1 - level) * 60}, 100%, ${85 - 45 * level}%)`;
    g.fillRect((k % 7) * cell, Math.floor(k / 7) * cell, cell - 1, cell - 1);
  }
}

/** A projection of the event: "xy" (transverse) or "zr" (z against signed r). Units cm. */
function drawEventView(canvas: HTMLCanvasElement, event: ChainEvent, view: "xy" | "zr"): void {
  const size = 320;
  canvas.width = canvas.height = size;
  const g = canvas.getContext("2d")!;
  const range = 400; // cm shown from the centre to each edge
  const scale = size / (2 * range);
  const project = (x: number, y: number, z: number): [number, number] => {
    if (view === "xy") return [size / 2 + x * scale, size / 2 - y * scale];
    const r = Math.hypot(x, y) * (y >= 0 ? 1 : -1);
    return [size / 2 + z * scale, size / 2 - r * scale];
  };
  g.fillStyle = "#fff";
  g.fillRect(0, 0, size, size);
  g.strokeStyle = "#bbb";
  g.lineWidth = 1;
  if (view === "xy") {
    for (const r of [ECL_FRONT_RADIUS, BKLM_INNER_RADIUS, BKLM_OUTER_RADIUS]) {
      g.beginPath();
      g.arc(size / 2, size / 2, r * scale, 0, 2 * Math.PI);
      g.stroke();
    }
  } else {
    for (const sign of [1, -1]) {
      g.strokeRect(size / 2 + ECL_BACKWARD_FRONT_PLANE * scale, size / 2 - sign * ECL_FRONT_RADIUS * scale, (ECL_FORWARD_FRONT_PLANE - ECL_BACKWARD_FRONT_PLANE) * scale, 0.5);
      g.strokeRect(size / 2 - EKLM_SECTION_FRONT * scale, size / 2 - sign * BKLM_INNER_RADIUS * scale, 2 * EKLM_SECTION_FRONT * scale, 0.5);
    }
  }
  const owner = new Map<number, number>();
  event.tracks.forEach((t, i) => t.klm.matchedHits.forEach((m) => owner.set(m.hitIndex, i)));
  event.klmHits.forEach((h, k) => {
    const [u, v] = project(h.x, h.y, h.z);
    const i = owner.get(k);
    g.fillStyle = i === undefined ? "#999" : colourOf(i);
    g.fillRect(u - 1.5, v - 1.5, 3, 3);
  });
  event.tracks.forEach((t, i) => {
    const points: [number, number, number][] = [[t.row.ip.x, t.row.ip.y, t.row.ip.z]];
    if (t.ecl.entry) points.push([t.ecl.entry.x, t.ecl.entry.y, t.ecl.entry.z]);
    for (const c of t.klm.crossings) points.push([c.x, c.y, c.z]);
    if (points.length < 2) return;
    g.strokeStyle = colourOf(i);
    g.lineWidth = 1.5;
    g.beginPath();
    points.forEach(([x, y, z], k) => {
      const [u, v] = project(x, y, z);
      if (k === 0) g.moveTo(u, v);
      else g.lineTo(u, v);
    });
    g.stroke();
  });
  g.fillStyle = "#333";
  g.font = "11px sans-serif";
  g.fillText(view === "xy" ? "x–y (cm): ECL, KLM barrel inner/outer" : "z–r (cm)", 6, 14);
}

function renderEvent(event: ChainEvent): void {
  const views = byId<HTMLDivElement>("views");
  views.replaceChildren();
  for (const view of ["xy", "zr"] as const) {
    const canvas = element("canvas", { "data-view": view });
    drawEventView(canvas, event, view);
    views.append(canvas);
  }
  const body = byId<HTMLTableSectionElement>("tracks");
  body.replaceChildren();
  event.tracks.forEach((t, i) => {
    const s = summariseTrack(t);
    const row = element("tr");
    const swatch = element("td");
    swatch.append(element("span", { class: "swatch", style: `background:${colourOf(i)}` }), document.createTextNode(` ${s.track}`));
    row.append(swatch);
    for (const text of [s.charge > 0 ? "+" : "−", s.p.toFixed(3), s.pt.toFixed(3), s.thetaDeg.toFixed(1), String(s.truthPdg)]) row.append(element("td", {}, text));
    for (const m of MUON_ID_METHODS) row.append(element("td", { class: "p" }, formatProbability(s.muonId[m])));
    const pattern = element("canvas");
    drawKlmPattern(pattern, t.klm.extLayerPattern, t.klm.hitLayerPattern);
    const patternCell = element("td");
    patternCell.append(pattern);
    const image = element("canvas");
    drawEclImage(image, t.ecl.accepted ? t.ecl.image : null);
    const imageCell = element("td", { title: t.ecl.accepted ? `thetaId ${t.ecl.thetaId}, phiId ${t.ecl.phiId}` : t.ecl.reason });
    imageCell.append(image);
    row.append(patternCell, imageCell);
    body.append(row);
  });
  byId("event-title").textContent = `Event ${event.event}: ${event.tracks.length} tracks, ${event.klmHits.length} KLM hits, chain ${event.chainMs.toFixed(2)} ms`;
}

class Demo {
  private muid: MuidLibrary | null = null;
  private models: DemoModels | null = null;
  private reconstructor: KlmReconstructor | null = null;
  private events: ChainEvent[] = [];
  readonly ready: Promise<void>;

  constructor() {
    this.ready = this.load();
  }

  private async load(): Promise<void> {
    const status = byId("status");
    status.textContent = "loading the bundle and the weights …";
    this.muid = (await import(/* @vite-ignore */ BUNDLE_URL)) as MuidLibrary;
    this.models = await loadDemoModels(this.muid, fetchWeight);
    this.reconstructor = await this.muid.KlmReconstructor.create({ likelihood: this.models.likelihood, keepCrossings: true });
    const loaded = Object.entries(this.methods()).map(([m, ok]) => `${m} ${ok ? "✓" : "✗ (no weights)"}`);
    status.textContent = `ready: ${loaded.join(", ")}`;
  }

  methods(): DemoRunResult["methods"] {
    const m = this.models;
    return { likelihood: !!m?.likelihood, dnnGlobal: !!m?.klmDnnGlobal, dnn: !!m?.klmDnn, eclCnn: !!(m?.eclCnnPlus && m?.eclCnnMinus), combined: !!m?.combined };
  }

  async run(seed: number, events: number): Promise<DemoRunResult> {
    await this.ready;
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative integer (got ${seed})`);
    if (!Number.isSafeInteger(events) || events < 1 || events > MAX_EVENTS) throw new RangeError(`events must be an integer in 1..${MAX_EVENTS} (got ${events})`);
    const status = byId("status");
    this.events = [];
    for (let e = 0; e < events; e++) {
      this.events.push(simulateAndRunEvent(this.muid!, this.reconstructor!, this.models!, seed, e));
      if (e % 20 === 19) {
        status.textContent = `event ${e + 1}/${events} …`;
        await new Promise((resolve) => setTimeout(resolve, 0)); // let the page repaint
      }
    }
    const chainMs = this.events.map((e) => e.chainMs);
    const latency = percentiles(chainMs);
    const tracks = this.events.flatMap((e) => e.tracks.map(summariseTrack));
    status.textContent = `${events} events (seed ${seed}), ${tracks.length} tracks; chain latency per event: median ${latency.median.toFixed(2)} ms (p10 ${latency.p10.toFixed(2)}, p90 ${latency.p90.toFixed(2)}), simulation not counted`;
    const picker = byId<HTMLInputElement>("event");
    picker.max = String(events - 1);
    picker.value = String(this.firstInterestingEvent());
    this.show(Number(picker.value));
    return { seed, events, tracks, chainMs, latency, methods: this.methods() };
  }

  /** The first event with a track that the KLM DNN calls a muon (else event 0), to open the view on something to see. */
  private firstInterestingEvent(): number {
    const i = this.events.findIndex((e) => e.tracks.some((t) => (t.muonId.dnn ?? 0) > 0.5));
    return Math.max(i, 0);
  }

  show(index: number): void {
    const event = this.events[index];
    if (event) renderEvent(event);
  }
}

function start(): void {
  const demo = new Demo();
  window.muidDemo = { ready: demo.ready, run: (seed, events) => demo.run(seed, events) };
  const seed = byId<HTMLInputElement>("seed");
  const events = byId<HTMLInputElement>("events");
  const picker = byId<HTMLInputElement>("event");
  const button = byId<HTMLButtonElement>("run");
  button.addEventListener("click", () => {
    button.disabled = true;
    demo.run(Number(seed.value), Number(events.value))
      .catch((e: unknown) => (byId("status").textContent = `error: ${(e as Error).message}`))
      .finally(() => (button.disabled = false));
  });
  picker.addEventListener("input", () => demo.show(Number(picker.value)));
  demo.ready.catch((e: unknown) => (byId("status").textContent = `could not load: ${(e as Error).message}`));
  byId("weights").textContent = Object.values(DEMO_WEIGHTS).join(", ");
}

start();
