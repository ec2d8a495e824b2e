/**
 * Runs a fuzz target with fast-check (fixed seed) and classifies every case:
 *  - ok: the target returned a valid result (its own checks passed);
 *  - typed: it threw a MuidError (FormatError, UnsafeFileError, InputError, …): the expected outcome
 *    for bad input;
 *  - crash: anything else — a bare Error, RangeError, TypeError, a wasm trap ("RuntimeError: memory
 *    access out of bounds"), a failed result check — or a case slower than `slowMs` (hang guard).
 * The property never fails, so fast-check does not stop or shrink: every case runs and every crash is
 * recorded with its input (fc.stringify) for the report.
 */
import fc from "fast-check";
import { MuidError } from "../../src/errors.js";
import { describeInput } from "./mutate.js";

export interface FuzzTarget<T = unknown> {
  name: string;
  /** one line: what is fuzzed and how */
  description: string;
  /** relative share of the total case budget */
  weight: number;
  /** why the target cannot run here (e.g. ../shared absent), or null */
  skipReason?: () => string | null;
  /** builds seeds once (may be slow); called before the first case */
  prepare?: () => Promise<void>;
  arbitrary: () => fc.Arbitrary<T>;
  /** one case: returns after checking the result, or throws */
  run: (input: T) => void | Promise<void>;
}

export interface FuzzCrash {
  target: string;
  error: string;
  input: string;
  ms: number;
}

export interface FuzzOutcome {
  target: string;
  cases: number;
  ok: number;
  typed: number;
  /** known, routed findings by id (KnownFinding) */
  known: Record<string, number>;
  crashes: FuzzCrash[];
  /** typed errors by error code, e.g. { FORMAT: 812, UNSAFE: 31 } */
  codes: Record<string, number>;
  maxCaseMs: number;
  totalMs: number;
  skipped?: string;
}

export interface RunOptions {
  cases: number;
  seed: number;
  /** a case slower than this is a finding (hang guard), ms */
  slowMs?: number;
  /** called after every case (progress, heartbeat) */
  onCase?: (done: number) => void;
}

/** Thrown by a target's result check: a valid-looking result that breaks an invariant. */
export class InvariantViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvariantViolation";
  }
}

/**
 * A crash already reported and routed to the owner of the code (listed in docs/security.md "Open
 * findings"): counted and printed apart, so the run stays green while the finding stays visible.
 */
export class KnownFinding extends Error {
  constructor(readonly id: string, message: string) {
    super(`${id}: ${message}`);
    this.name = "KnownFinding";
  }
}

export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantViolation(message);
}

export async function runTarget<T>(target: FuzzTarget<T>, options: RunOptions): Promise<FuzzOutcome> {
  const outcome: FuzzOutcome = { target: target.name, cases: 0, ok: 0, typed: 0, known: {}, crashes: [], codes: {}, maxCaseMs: 0, totalMs: 0 };
  const skip = target.skipReason?.() ?? null;
  if (skip !== null) return { ...outcome, skipped: skip };
  const slowMs = options.slowMs ?? 2000;
  const started = performance.now();
  await target.prepare?.();
  await fc.assert(
    fc.asyncProperty(target.arbitrary(), async (input) => {
      const t0 = performance.now();
      let error: unknown = null;
      try {
        await target.run(input);
      } catch (e) {
        error = e;
      }
      const ms = performance.now() - t0;
      outcome.cases++;
      outcome.maxCaseMs = Math.max(outcome.maxCaseMs, ms);
      if (error === null) outcome.ok++;
      else if (error instanceof KnownFinding) outcome.known[error.id] = (outcome.known[error.id] ?? 0) + 1;
      else if (error instanceof MuidError) {
        outcome.typed++;
        outcome.codes[error.code] = (outcome.codes[error.code] ?? 0) + 1;
      } else {
        const text = error instanceof Error ? `${error.name}: ${error.message}` : `non-Error thrown: ${String(error)}`;
        outcome.crashes.push({ target: target.name, error: text.slice(0, 400), input: describeInput(input), ms });
      }
      if (ms > slowMs) outcome.crashes.push({ target: target.name, error: `slow case: ${ms.toFixed(0)} ms > ${slowMs} ms (hang guard)`, input: describeInput(input), ms });
      options.onCase?.(outcome.cases);
      return true;
    }),
    { seed: options.seed, numRuns: options.cases, endOnFailure: true },
  );
  outcome.totalMs = performance.now() - started;
  return outcome;
}

/** `[fuzz] <target>: N cases, K typed errors, C crashes` */
export function summaryLine(o: FuzzOutcome): string {
  if (o.skipped !== undefined) return `[fuzz] ${o.target}: SKIPPED (${o.skipped})`;
  const codes = Object.entries(o.codes).map(([k, v]) => `${k} ${v}`).join(", ");
  const known = Object.entries(o.known).map(([k, v]) => `${k} ${v}`).join(", ");
  return `[fuzz] ${o.target}: ${o.cases} cases, ${o.typed} typed errors${codes ? ` (${codes})` : ""}, ${o.ok} valid results, ${o.crashes.length} crashes${known ? `, known routed findings: ${known}` : ""}; slowest case ${o.maxCaseMs.toFixed(1)} ms, ${(o.totalMs / 1000).toFixed(1)} s`;
}
