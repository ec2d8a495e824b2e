/**
 * `muid simulate`: generate events, run them through the fast simulation and write one row per track
 * (Arrow IPC or JSON Lines, src/sim/io.ts).
 *
 *   muid simulate --kind klm|ecl|bbbar --events N [--seed S] [--particle mu-,pi+,…]
 *                 [--p GeV | --p-range a,b | --pt-range a,b] [--theta deg | --theta-range a,b]
 *                 [--tracks n | --tracks a,b] [--background X] [--efficiency E] [--threshold MeV]
 *                 [--format arrow|jsonl] [--quiet] -o FILE
 *
 * Every bad option is an OptionError naming the option (the CLI exits non-zero); the output appears
 * under its final name only when the run completed (SIGINT/SIGTERM remove the partial file).
 */
import type { Command } from "commander";
import { SingleBar, Presets } from "cli-progress";
import type { Writable } from "node:stream";
import { OptionError } from "../errors.js";
import type { DetectorConditions, ParticleName, ParticleState } from "../sim/types.js";
import type { Random } from "../sim/random.js";
import {
  PARTICLE_NAMES, eclStudyGun, generateBBbarEvent, generateGunEvent, isParticleName, klmStudyGun,
  validateParticleGun, type Interval, type ParticleGun,
} from "../sim/generators.js";
import { defaultDetectorConditions, eventRandom, simulateEvent } from "../sim/event.js";
import { SimRowFileWriter, checkWritablePath, formatFromPath, type SimFormat } from "../sim/io.js";

export type SimulationKind = "klm" | "ecl" | "bbbar";
const KINDS: readonly SimulationKind[] = ["klm", "ecl", "bbbar"];

/** The options as commander hands them over (all strings; validated by parseSimulateOptions). */
export interface SimulateCliOptions {
  kind?: string;
  events?: string;
  seed?: string;
  particle?: string;
  p?: string;
  pRange?: string;
  ptRange?: string;
  theta?: string;
  thetaRange?: string;
  tracks?: string;
  background?: string;
  efficiency?: string;
  threshold?: string;
  format?: string;
  output?: string;
  quiet?: boolean;
}

/** A validated run. */
export interface SimulateSettings {
  kind: SimulationKind;
  events: number;
  seed: number;
  /** the gun of kinds klm and ecl (null for bbbar) */
  gun: ParticleGun | null;
  conditions: DetectorConditions;
  output: string;
  format: SimFormat;
  quiet: boolean;
}

function number(option: string, text: string): number {
  const value = Number(text.trim());
  if (text.trim() === "" || !Number.isFinite(value)) throw new OptionError(`${option} ${JSON.stringify(text)} is not a number`);
  return value;
}

function range(option: string, text: string): Interval {
  const parts = text.split(",");
  if (parts.length !== 2) throw new OptionError(`${option} needs two numbers "min,max" (got ${JSON.stringify(text)})`);
  const min = number(option, parts[0]);
  const max = number(option, parts[1]);
  if (min > max) throw new OptionError(`${option} ${text}: the range is reversed (min ${min} > max ${max})`);
  return { min, max };
}

function integer(option: string, text: string, min: number, max: number): number {
  const value = number(option, text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new OptionError(`${option} must be an integer in [${min}, ${max}] (got ${text})`);
  }
  return value;
}

function bounded(option: string, text: string, min: number, max: number, unit = ""): number {
  const value = number(option, text);
  if (value < min || value > max) throw new OptionError(`${option} must be in [${min}, ${max}]${unit} (got ${text})`);
  return value;
}

/** Validates the command-line options; every problem is an OptionError naming the option. */
export function parseSimulateOptions(raw: SimulateCliOptions): SimulateSettings {
  if (raw.kind === undefined) throw new OptionError(`--kind is required (${KINDS.join(", ")})`);
  if (!(KINDS as readonly string[]).includes(raw.kind)) {
    throw new OptionError(`unknown --kind ${JSON.stringify(raw.kind)} (known: ${KINDS.join(", ")})`);
  }
  const kind = raw.kind as SimulationKind;
  if (raw.events === undefined) throw new OptionError("--events is required");
  const events = integer("--events", raw.events, 1, 1e9);
  const seed = raw.seed === undefined ? 1 : integer("--seed", raw.seed, 0, 4294967295);
  if (raw.output === undefined || raw.output.trim() === "") throw new OptionError("-o/--output FILE is required");
  let format: SimFormat;
  if (raw.format === undefined) format = formatFromPath(raw.output);
  else if (raw.format === "arrow" || raw.format === "jsonl") format = raw.format;
  else throw new OptionError(`unknown --format ${JSON.stringify(raw.format)} (known: arrow, jsonl)`);

  const conditions = defaultDetectorConditions();
  if (raw.background !== undefined) {
    const level = bounded("--background", raw.background, 0, 5, " (× nominal)");
    conditions.klmBackground = level;
    conditions.eclBackground = level;
  }
  if (raw.efficiency !== undefined) conditions.klmEfficiency = bounded("--efficiency", raw.efficiency, 0, 1);
  if (raw.threshold !== undefined) {
    const mev = bounded("--threshold", raw.threshold, 0, 1000, " MeV");
    conditions.eclThreshold = mev / 1000;
  }

  const gunOptions = ["particle", "p", "pRange", "ptRange", "theta", "thetaRange", "tracks"] as const;
  let gun: ParticleGun | null = null;
  if (kind === "bbbar") {
    const used = gunOptions.filter((o) => raw[o] !== undefined);
    if (used.length > 0) {
      throw new OptionError(`--kind bbbar generates its own particles; remove ${used.map((o) => "--" + o.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())).join(", ")}`);
    }
  } else {
    let particles: readonly ParticleName[] = PARTICLE_NAMES;
    if (raw.particle !== undefined) {
      const names = raw.particle.split(",").map((s) => s.trim());
      for (const name of names) {
        if (!isParticleName(name)) throw new OptionError(`unknown --particle ${JSON.stringify(name)} (known: ${PARTICLE_NAMES.join(", ")})`);
      }
      particles = names as ParticleName[];
    }
    gun = kind === "klm" ? klmStudyGun(particles) : eclStudyGun(particles);
    const momentumOptions = [raw.p, raw.pRange, raw.ptRange].filter((v) => v !== undefined);
    if (momentumOptions.length > 1) throw new OptionError("use only one of --p, --p-range, --pt-range");
    if (raw.p !== undefined) {
      const p = number("--p", raw.p);
      if (!(p > 0) || p > 100) throw new OptionError(`--p must be in (0, 100] GeV/c (got ${raw.p})`);
      gun.momentum = { variable: "p", min: p, max: p };
    } else if (raw.pRange !== undefined) {
      const r = range("--p-range", raw.pRange);
      if (!(r.min > 0) || r.max > 100) throw new OptionError(`--p-range must lie in (0, 100] GeV/c (got ${raw.pRange})`);
      gun.momentum = { variable: "p", ...r };
    } else if (raw.ptRange !== undefined) {
      const r = range("--pt-range", raw.ptRange);
      if (!(r.min > 0) || r.max > 100) throw new OptionError(`--pt-range must lie in (0, 100] GeV/c (got ${raw.ptRange})`);
      gun.momentum = { variable: "pt", ...r };
    }
    if (raw.theta !== undefined && raw.thetaRange !== undefined) throw new OptionError("use only one of --theta, --theta-range");
    if (raw.theta !== undefined) {
      const t = bounded("--theta", raw.theta, 0, 180, "°");
      gun.thetaDeg = { min: t, max: t };
    } else if (raw.thetaRange !== undefined) {
      const r = range("--theta-range", raw.thetaRange);
      if (r.min < 0 || r.max > 180) throw new OptionError(`--theta-range must lie in [0, 180]° (got ${raw.thetaRange})`);
      gun.thetaDeg = r;
    }
    if (gun.momentum.variable === "pt" && (gun.thetaDeg.min <= 0 || gun.thetaDeg.max >= 180)) {
      throw new OptionError("a pT range needs θ strictly between 0° and 180° (p = pT / sin θ)");
    }
    if (raw.tracks !== undefined) {
      const r = raw.tracks.includes(",") ? range("--tracks", raw.tracks) : { min: number("--tracks", raw.tracks), max: number("--tracks", raw.tracks) };
      if (!Number.isInteger(r.min) || !Number.isInteger(r.max) || r.min < 1 || r.max > 1000) {
        throw new OptionError(`--tracks must be integers in [1, 1000] (got ${raw.tracks})`);
      }
      gun.tracksPerEvent = r;
    }
    validateParticleGun(gun);
  }
  checkWritablePath(raw.output);
  return { kind, events, seed, gun, conditions, output: raw.output, format, quiet: raw.quiet === true };
}

/** The particles of event `event` for a run (kind klm/ecl: the gun; bbbar: the BB̄ generator). */
export function generateEventParticles(settings: SimulateSettings, rng: Random): ParticleState[] {
  return settings.gun === null ? generateBBbarEvent(rng) : generateGunEvent(settings.gun, rng);
}

export interface SimulateRunHooks {
  /** where the progress bar goes when it is a TTY (default process.stderr) */
  progressStream?: Writable & { isTTY?: boolean };
  /** stops the run; the partial file is removed and the promise rejects */
  signal?: AbortSignal;
}

export interface SimulateSummary {
  events: number;
  tracks: number;
  output: string;
}

/** How long the event loop may run before it yields (so that signals are handled), ms. */
const YIELD_INTERVAL_MS = 50;

/**
 * Runs a validated simulation and writes the file atomically. The loop yields to the event loop
 * every 50 ms so that an interrupt can remove the partial file.
 */
export async function runSimulate(settings: SimulateSettings, hooks: SimulateRunHooks = {}): Promise<SimulateSummary> {
  const stream = hooks.progressStream ?? process.stderr;
  const showBar = !settings.quiet && stream.isTTY === true;
  const bar = showBar
    ? new SingleBar(
      { stream, format: "simulate {bar} {percentage}% | {value}/{total} events | {tracks} tracks | ETA {eta_formatted}", hideCursor: false },
      Presets.shades_classic,
    )
    : null;
  const writer = new SimRowFileWriter(settings.output, settings.format);
  const onAbort = (): void => writer.abort();
  hooks.signal?.addEventListener("abort", onAbort);
  let tracks = 0;
  try {
    bar?.start(settings.events, 0, { tracks: 0 });
    let lastYield = performance.now();
    for (let event = 0; event < settings.events; event++) {
      if (hooks.signal?.aborted) throw new OptionError(`simulation interrupted; ${settings.output} was not written`);
      const rng = eventRandom(settings.seed, event);
      const particles = generateEventParticles(settings, rng);
      const rows = simulateEvent(particles, event, rng, settings.conditions);
      writer.write(rows);
      tracks += rows.length;
      const now = performance.now();
      if (now - lastYield >= YIELD_INTERVAL_MS) {
        bar?.update(event + 1, { tracks });
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
    }
    if (hooks.signal?.aborted) throw new OptionError(`simulation interrupted; ${settings.output} was not written`);
    await writer.close();
    bar?.update(settings.events, { tracks });
    return { events: settings.events, tracks, output: settings.output };
  } catch (e) {
    writer.abort();
    throw e;
  } finally {
    bar?.stop();
    hooks.signal?.removeEventListener("abort", onAbort);
  }
}

export function registerSimulate(program: Command): void {
  program
    .command("simulate")
    .description("simulate μ±/π± tracks through Belle II (ECL + KLM) and write one row per track")
    .option("--kind <kind>", "klm (4–16 tracks, p 0.6–5 GeV/c, θ 18°–155°), ecl (1 track, pT 0.28–1.0 GeV/c, ECL barrel) or bbbar")
    .option("--events <n>", "number of events")
    .option("--seed <s>", "random seed, integer 0…2³²−1 (default 1)")
    .option("--particle <names>", `comma-separated species drawn uniformly (${PARTICLE_NAMES.join(", ")}; default all)`)
    .option("--p <GeV>", "fixed momentum, GeV/c")
    .option("--p-range <a,b>", "momentum flat in [a, b] GeV/c")
    .option("--pt-range <a,b>", "transverse momentum flat in [a, b] GeV/c")
    .option("--theta <deg>", "fixed polar angle, degrees")
    .option("--theta-range <a,b>", "polar angle range, degrees (uniform in cos θ)")
    .option("--tracks <n|a,b>", "tracks per event (klm default 4,16; ecl default 1)")
    .option("--background <x>", "beam-background level (KLM and ECL), × nominal, 0–5 (default 1)")
    .option("--efficiency <e>", "KLM per-layer efficiency, 0–1 (default 0.96)")
    .option("--threshold <MeV>", "ECL crystal threshold, MeV (default 1)")
    .option("--format <format>", "arrow or jsonl (default: from the file name; .jsonl → jsonl)")
    .option("-o, --output <file>", "output file")
    .option("-q, --quiet", "no progress bar")
    .action(async (opts: SimulateCliOptions) => {
      const settings = parseSimulateOptions(opts);
      const controller = new AbortController();
      const onSignal = (signal: NodeJS.Signals): void => {
        controller.abort();
        process.stderr.write(`\nmuid simulate: ${signal}, ${settings.output} not written\n`);
        process.exit(signal === "SIGINT" ? 130 : 143);
      };
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      try {
        await runSimulate(settings, { signal: controller.signal });
      } finally {
        process.removeListener("SIGINT", onSignal);
        process.removeListener("SIGTERM", onSignal);
      }
    });
}
