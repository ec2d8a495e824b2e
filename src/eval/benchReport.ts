/**
 * What `muid bench` writes: the JSON document (ISSUE 6 item 4: events, msPerEvent per engine,
 * stages, peakGflops, denseGflops, medians; plus the machine, the options, every engine's details,
 * Chromium, workers and where each target stands) and the printed markdown table.
 */
import { execFileSync } from "node:child_process";
import os from "node:os";
import { LATENCY_STAGES, type LatencyStage, type Percentiles } from "./latency.js";
import { ENGINES, ENGINE_LABELS, type EngineName } from "./benchEngines.js";
import type { EngineBench, NodeBench } from "./benchChain.js";
import type { PeakResult } from "./benchPeak.js";
import type { BrowserBench } from "./benchBrowser.js";
import type { WorkerThroughput } from "./benchWorkers.js";

export const BENCH_FORMAT = "muid-bench";
export const BENCH_FORMAT_VERSION = 1;

/** ISSUE 6 targets (benchmarks, not tests). */
export const TARGET_CHAIN_MS_PER_EVENT = 0.08;
export const TARGET_SPEEDUP_OVER_WASM_PEERS = 5;
export const TARGET_DENSE_SHARE_OF_PEAK = 0.7;

export interface MachineInfo {
  host: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  v8: string;
  platform: string;
  /** 1, 5 and 15 minute load averages at the start and the end of the run */
  loadAverage: { start: number[]; end: number[] };
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    host: os.hostname(),
    cpu: cpus[0]?.model ?? "unknown CPU",
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.arch()} ${os.release()}`,
    loadAverage: { start: os.loadavg().map(round2), end: [] },
  };
}

/** The source the bench ran on: git commit and whether tracked files differed from it (null: no git). */
export interface SourceInfo {
  commit: string | null;
  dirty: boolean | null;
}

export function sourceInfo(): SourceInfo {
  const git = (...args: string[]): string | null => {
    try {
      return execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      return null;
    }
  };
  const commit = git("rev-parse", "HEAD");
  const status = commit === null ? null : git("status", "--porcelain", "--untracked-files=no");
  return { commit, dirty: status === null ? null : status !== "" };
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

export interface BenchTarget {
  name: string;
  target: string;
  /** the measured figure the target is about (null: not measured) */
  value: number | null;
  met: boolean | null;
  /** what bounds it, when missed (from this run's figures) */
  note?: string;
}

export interface BenchDocument {
  format: typeof BENCH_FORMAT;
  formatVersion: number;
  date: string;
  machine: MachineInfo;
  source: SourceInfo;
  options: { events: number; seed: number; rounds: number; warmup: number; warmupSeconds: number; quick: boolean; engines: EngineName[] };
  events: number;
  tracks: number;
  /** full chain per event, ms, medians: muid measured directly, peers = shared reconstruction + their model work */
  msPerEvent: Record<EngineName, number | null>;
  /** the per-event model work alone, ms, medians; and the KLM DNN and the ECL CNN (both charges) alone */
  modelMsPerEvent: Record<EngineName, number | null>;
  klmDnnMsPerEvent: Record<EngineName, number | null>;
  eclCnnMsPerEvent: Record<EngineName, number | null>;
  msPerTrack: Record<EngineName, number | null>;
  eventsPerSecond: Record<EngineName, number | null>;
  /** the muid chain's stages: share of the summed time, mean ms per event, median ms per event */
  stages: Record<LatencyStage, { share: number; msPerEvent: number; medianMsPerEvent: number }>;
  chain: NodeBench["chain"];
  reconstructionMsPerEvent: Percentiles;
  engines: NodeBench["engines"];
  peakGflops: number | null;
  denseGflops: number | null;
  peak: PeakResult | null;
  browser: BrowserBench | null;
  workers: WorkerThroughput[] | { unavailable: string } | null;
  targets: BenchTarget[];
}

export interface BenchParts {
  machine: MachineInfo;
  source: SourceInfo;
  options: BenchDocument["options"];
  node: NodeBench;
  peak: PeakResult | null;
  browser: BrowserBench | null;
  workers: BenchDocument["workers"];
}

export function benchDocument(parts: BenchParts): BenchDocument {
  const { node } = parts;
  const byEngine = <T>(value: (e: EngineBench) => T | undefined): Record<EngineName, T | null> =>
    Object.fromEntries(
      ENGINES.map((name) => {
        const e = node.engines.find((x) => x.name === name && x.available);
        return [name, e === undefined ? null : (value(e) ?? null)];
      }),
    ) as Record<EngineName, T | null>;
  const msPerEvent = byEngine((e) => e.chainMsPerEvent?.median);
  msPerEvent.muid = node.chain.msPerEvent.median;
  const msPerTrack = byEngine((e) => e.chainMsPerTrack?.median);
  msPerTrack.muid = node.chain.msPerTrack.median;
  const eventsPerSecond = byEngine((e) => e.eventsPerSecond);
  eventsPerSecond.muid = node.chain.eventsPerSecond;
  const meanMs = 1000 / node.chain.eventsPerSecond;
  const stages = Object.fromEntries(
    LATENCY_STAGES.map((s) => [s, { share: node.chain.stageShare[s], msPerEvent: node.chain.stageShare[s] * meanMs, medianMsPerEvent: node.stageMsPerEvent[s].median }]),
  ) as BenchDocument["stages"];
  const machine = { ...parts.machine, loadAverage: { ...parts.machine.loadAverage, end: os.loadavg().map(round2) } };
  const doc: Omit<BenchDocument, "targets"> = {
    format: BENCH_FORMAT,
    formatVersion: BENCH_FORMAT_VERSION,
    date: new Date().toISOString(),
    machine,
    source: parts.source,
    options: parts.options,
    events: node.events,
    tracks: node.tracks,
    msPerEvent,
    modelMsPerEvent: byEngine((e) => e.modelMsPerEvent?.median),
    klmDnnMsPerEvent: byEngine((e) => e.klmDnnMsPerEvent?.median),
    eclCnnMsPerEvent: byEngine((e) => e.eclCnnMsPerEvent?.median),
    msPerTrack,
    eventsPerSecond,
    stages,
    chain: node.chain,
    reconstructionMsPerEvent: node.reconstructionMsPerEvent,
    engines: node.engines,
    peakGflops: parts.peak?.peakGflops ?? null,
    denseGflops: parts.peak?.denseGflops ?? null,
    peak: parts.peak,
    browser: parts.browser,
    workers: parts.workers,
  };
  return { ...doc, targets: benchTargets(doc) };
}

function benchTargets(doc: Omit<BenchDocument, "targets">): BenchTarget[] {
  const targets: BenchTarget[] = [];
  const chain = doc.msPerEvent.muid!;
  const slowest = LATENCY_STAGES.reduce((a, s) => (doc.stages[s].share > doc.stages[a].share ? s : a), LATENCY_STAGES[0]);
  targets.push({
    name: "full chain per BB̄ event (median, one core, Node)",
    target: `≤ ${TARGET_CHAIN_MS_PER_EVENT} ms`,
    value: chain,
    met: chain <= TARGET_CHAIN_MS_PER_EVENT,
    ...(chain > TARGET_CHAIN_MS_PER_EVENT
      ? { note: `${slowest} takes ${(100 * doc.stages[slowest].share).toFixed(0)} % of the chain (${doc.stages[slowest].msPerEvent.toFixed(3)} ms/event mean); the model work alone is ${(doc.modelMsPerEvent.muid ?? NaN).toFixed(3)} ms/event` }
      : {}),
  });
  const ours = doc.modelMsPerEvent.muid;
  // Per model, for the note on a missed ratio: where the peer is closest to muid.
  const perModel = (peer: EngineName): string => {
    const part = (label: string, table: Record<EngineName, number | null>) => {
      const a = table.muid, b = table[peer];
      return a === null || b === null ? `${label} –` : `${label} ${(1000 * b).toFixed(0)} vs ${(1000 * a).toFixed(0)} µs (${(b / a).toFixed(1)}×)`;
    };
    return `per event, peer vs muid: ${part("KLM DNN", doc.klmDnnMsPerEvent)}, ${part("ECL CNN", doc.eclCnnMsPerEvent)}`;
  };
  const ratio = (peer: EngineName, want: number, label: string) => {
    const theirs = doc.modelMsPerEvent[peer];
    const value = ours !== null && theirs !== null ? theirs / ours : null;
    const met = value === null ? null : value >= want;
    targets.push({ name: `model work: ${ENGINE_LABELS[peer]} / muid (medians per event)`, target: label, value, met, ...(met === false ? { note: perModel(peer) } : {}) });
  };
  ratio("onnxruntimeWeb", TARGET_SPEEDUP_OVER_WASM_PEERS, `≥ ${TARGET_SPEEDUP_OVER_WASM_PEERS}×`);
  ratio("tfjsWasm", TARGET_SPEEDUP_OVER_WASM_PEERS, `≥ ${TARGET_SPEEDUP_OVER_WASM_PEERS}×`);
  const native = doc.modelMsPerEvent.onnxruntimeNode;
  const nativeRatio = ours !== null && native !== null ? native / ours : null;
  const nativeMet = nativeRatio === null ? null : nativeRatio > 1;
  targets.push({ name: `model work: ${ENGINE_LABELS.onnxruntimeNode} / muid`, target: "> 1× (muid faster)", value: nativeRatio, met: nativeMet, ...(nativeMet === false ? { note: perModel("onnxruntimeNode") } : {}) });
  const share = doc.peak ? doc.peak.denseShareOfPeak : null;
  targets.push({ name: `dense kernels (KLM DNN, batch ${doc.peak?.denseBatch ?? "–"}) / wasm f32x4 peak`, target: `≥ ${100 * TARGET_DENSE_SHARE_OF_PEAK} %`, value: share, met: share === null ? null : share >= TARGET_DENSE_SHARE_OF_PEAK });
  return targets;
}

const ms = (v: number | null | undefined, digits = 3): string => (v === null || v === undefined ? "–" : v.toFixed(digits));

/** The printed (markdown) table, with the date and machine on top. */
export function benchTable(doc: BenchDocument): string {
  const m = doc.machine;
  const lines: string[] = [];
  const c = doc.chain;
  const source = doc.source.commit === null ? "" : `, source ${doc.source.commit.slice(0, 7)}${doc.source.dirty ? " + uncommitted changes" : ""}`;
  lines.push(`muid bench, ${doc.date.slice(0, 10)}, ${m.cpu} (${m.cores} cores), Node ${m.node}, load average ${m.loadAverage.start.join(" ")} → ${m.loadAverage.end.join(" ")}${source}`);
  lines.push(`${doc.events} BB̄ events (seed ${doc.options.seed}), ${(doc.tracks / doc.events).toFixed(1)} tracks/event, ${c.klmTracksPerEvent.toFixed(1)} KLM DNN rows and ${c.eclTracksPerEvent.toFixed(1)} ECL CNN rows per event; one thread; medians over events (p10–p90), best of ${doc.options.rounds} round(s)`);
  lines.push("");
  const header = ["engine", "model work ms/event", "KLM DNN / ECL CNN ms", "full chain ms/event", "ms/track", "events/s", "largest Δp vs muid"];
  const rows: string[][] = [];
  rows.push(["muid-wasm full chain (measured)", "–", "–", `${ms(c.msPerEvent.median)} (${ms(c.msPerEvent.p10)}–${ms(c.msPerEvent.p90)})`, ms(c.msPerTrack.median, 4), c.eventsPerSecond.toFixed(0), "–"]);
  for (const e of doc.engines) {
    if (!e.available) {
      rows.push([ENGINE_LABELS[e.name], e.unavailable ?? "not available", "–", "–", "–", "–", "–"]);
      continue;
    }
    const a = e.agreement!;
    rows.push([
      `${e.label}${e.version ? ` ${e.version}` : ""}`,
      `${ms(e.modelMsPerEvent!.median)} (${ms(e.modelMsPerEvent!.p10)}–${ms(e.modelMsPerEvent!.p90)})`,
      `${ms(e.klmDnnMsPerEvent!.median)} / ${ms(e.eclCnnMsPerEvent!.median)}`,
      `${ms(e.chainMsPerEvent!.median)} (${ms(e.chainMsPerEvent!.p10)}–${ms(e.chainMsPerEvent!.p90)})`,
      ms(e.chainMsPerTrack!.median, 4),
      e.eventsPerSecond!.toFixed(0),
      `${a.max.toExponential(1)}${a.agrees ? "" : " DISAGREES"}`,
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => "| " + cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(" | ") + " |";
  lines.push(line(header));
  lines.push("|" + widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":")).join("|") + "|");
  for (const r of rows) lines.push(line(r));
  lines.push("");
  lines.push(`stages of the muid chain (share of the summed time; mean / median ms per event): ${LATENCY_STAGES.map((s) => `${s} ${(100 * doc.stages[s].share).toFixed(1)} % (${ms(doc.stages[s].msPerEvent)} / ${ms(doc.stages[s].medianMsPerEvent)})`).join(", ")}; shared reconstruction ${ms(doc.reconstructionMsPerEvent.median)} ms/event (median)`);
  if (doc.peak) {
    const p = doc.peak;
    lines.push(`wasm f32x4 mul+add peak ${p.peakGflops.toFixed(1)} GFLOP/s (8 chains ${p.chains["8"].toFixed(1)}, 12 chains ${p.chains["12"].toFixed(1)}); dense kernels on the KLM DNN at batch ${p.denseBatch}: ${p.denseGflops.toFixed(1)} GFLOP/s = ${(100 * p.denseShareOfPeak).toFixed(1)} % of peak`);
  }
  if (doc.browser) {
    const b = doc.browser;
    if (!b.available) lines.push(`Chromium: ${b.unavailable}`);
    else {
      lines.push(`${b.browser} (headless, dist/muid.js): full chain ${ms(b.chain.msPerEvent.median)} ms/event (p10 ${ms(b.chain.msPerEvent.p10)}, p90 ${ms(b.chain.msPerEvent.p90)}), ${b.chain.eventsPerSecond.toFixed(0)} events/s; Node ${ms(c.msPerEvent.median)} ms/event`);
      const w = b.modelWork;
      lines.push("unavailable" in w
        ? `  model work in the page: ${w.unavailable}`
        : `  model work in the page: muid ${ms(w.muid.median)} ms/event, onnxruntime-web (wasm, 1 thread) ${ms(w.onnxruntimeWeb.median)} ms/event (${(w.onnxruntimeWeb.median / w.muid.median).toFixed(2)}×), max |Δp| ${w.maxAbsDiff.toExponential(1)} on ${w.agreementEvents} events`);
    }
  }
  if (doc.workers) {
    lines.push(Array.isArray(doc.workers)
      ? `worker_threads throughput: ${doc.workers.map((w) => `${w.workers} worker${w.workers > 1 ? "s" : ""} ${w.eventsPerSecond.toFixed(0)} events/s`).join(", ")} (${m.cores} cores)`
      : `worker_threads: ${doc.workers.unavailable}`);
  }
  lines.push("");
  lines.push("targets:");
  for (const t of doc.targets) {
    const value = t.value === null ? "not measured" : t.target.includes("%") ? `${(100 * t.value).toFixed(1)} %` : t.target.includes("×") ? `${t.value.toFixed(2)}×` : `${t.value.toFixed(3)} ms`;
    lines.push(`  ${t.met === null ? "?" : t.met ? "met   " : "missed"}  ${t.name}: ${value} (target ${t.target})${t.note ? ` — ${t.note}` : ""}`);
  }
  return lines.join("\n");
}
