// Speed of the library's transcendental math (src/math: fdlibm ports of Node 20's Math, V8's hypot in
// plain arithmetic) against the engine's own Math, in ns per call, on arguments in the ranges the chain
// uses (those of tests/mathDeterminism.test.ts).
//
//   node bench/math.mjs [--rounds R] [--baseline REF]
//
// Each function gets its own timing loop (a fresh Function per function and variant, so every call site
// stays monomorphic and the optimising compiler may inline the port, as in the library's hot loops).
// A round times every function once per variant (the order alternates between rounds); the table gives
// the median over the rounds. With --baseline REF, src/math/ieee754.ts of commit REF is timed as a third
// variant (to measure a change of the ports). Each loop also returns a checksum of the results, and the
// variants' results are compared bit for bit (they must agree: the ports equal Node 20's Math).
// Figures are printed, never asserted.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { importTs, machineInfo, median, repoRoot } from "./bundle.mjs";

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
}
const rounds = Number(option("--rounds", "15"));
const baselineRef = option("--baseline", null);
if (!(rounds > 0)) throw new Error("--rounds must be positive");

const ports = await importTs([
  'export * from "./src/math/ieee754.ts";',
  'export { hypot2, hypot3 } from "./src/math/hypot.ts";',
  'export { Random } from "./src/sim/random.ts";',
]);
let baseline = null;
if (baselineRef) {
  const commit = execFileSync("git", ["rev-parse", "--short", baselineRef], { cwd: repoRoot, encoding: "utf8" }).trim();
  const dir = join(repoRoot, "bench", ".build", `math-${commit}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "ieee754.ts"), execFileSync("git", ["show", `${commit}:src/math/ieee754.ts`], { cwd: repoRoot, encoding: "utf8" }));
  baseline = { commit, m: await importTs([`export * from "./bench/.build/math-${commit}/ieee754.ts";`]) };
}

const N = 4096;
const rng = new ports.Random(2026);
const u = () => rng.uniform();
/** Argument generators in the chain's ranges (as tests/mathDeterminism.test.ts). */
const ranges = {
  sin: () => [(u() - 0.5) * 40],
  cos: () => [(u() - 0.5) * 40],
  tan: () => [(u() - 0.5) * 6],
  asin: () => [2 * u() - 1],
  acos: () => [2 * u() - 1],
  atan: () => [(u() - 0.5) * 10 ** (8 * u() - 4)],
  atan2: () => [(u() - 0.5) * 10 ** (6 * u() - 3), (u() - 0.5) * 10 ** (6 * u() - 3)],
  exp: () => [(u() - 0.5) * 80],
  expm1: () => [(u() - 0.5) * 10 ** (4 * u() - 3)],
  log: () => [10 ** (40 * u() - 20)],
  log10: () => [10 ** (40 * u() - 20)],
  pow: () => [10 ** (6 * u() - 3), (u() - 0.5) * 10],
  hypot2: () => [(u() - 0.5) * 600, (u() - 0.5) * 600],
  hypot3: () => [(u() - 0.5) * 600, (u() - 0.5) * 600, (u() - 0.5) * 10],
};
const names = Object.keys(ranges);

/**
 * One timing loop per (function, variant): calls f on the N argument sets `reps` times, returns a
 * checksum. The label goes into the source: V8 shares compiled code (and call-site feedback) between
 * Functions of identical source, which would make every call site megamorphic.
 */
function makeLoop(arity, label) {
  const args = ["a", "b", "c"].slice(0, arity);
  const call = `f(${args.map((a) => `${a}[i]`).join(", ")})`;
  return new Function("f", ...args, "reps", `/* ${label} */ let s = 0; for (let r = 0; r < reps; r++) for (let i = 0; i < ${N}; i++) s += ${call}; return s;`);
}

const cases = names.map((name) => {
  const columns = [new Float64Array(N), new Float64Array(N), new Float64Array(N)];
  const arity = ranges[name]().length;
  for (let i = 0; i < N; i++) ranges[name]().forEach((v, k) => (columns[k][i] = v));
  const engine = name === "hypot2" || name === "hypot3" ? Math.hypot : Math[name];
  const variants = [
    { variant: "Math", f: engine },
    { variant: "port", f: ports[name] },
  ];
  if (baseline && !name.startsWith("hypot")) variants.push({ variant: `port@${baseline.commit}`, f: baseline.m[name] });
  return {
    name, arity, columns,
    variants: variants.map((v) => ({ ...v, loop: makeLoop(arity, `${name} ${v.variant}`), ns: [], checksum: null })),
  };
});

// bit-for-bit agreement of the variants on every argument (not timed)
for (const c of cases) {
  const [a, b, d] = c.columns;
  for (let i = 0; i < N; i++) {
    const args = [a[i], b[i], d[i]].slice(0, c.arity);
    const ref = c.variants[0].f(...args);
    for (const v of c.variants.slice(1)) if (!Object.is(v.f(...args), ref)) throw new Error(`${v.variant} ${c.name}(${args.join(", ")}) differs from Math`);
  }
}

/** Repetitions so one timing is about 4 ms. */
function calibrate(c, v) {
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    v.loop(v.f, ...c.columns.slice(0, c.arity), reps);
    const ms = performance.now() - t0;
    if (ms > 4 || reps > 1 << 12) return reps;
    reps *= 2;
  }
}
for (const c of cases) {
  // warm-up: let the optimising compiler see each loop
  for (const v of c.variants) for (let k = 0; k < 5; k++) v.loop(v.f, ...c.columns.slice(0, c.arity), 4);
  c.reps = Math.max(...c.variants.map((v) => calibrate(c, v)));
}
for (let r = 0; r < rounds; r++) {
  for (const c of cases) {
    const order = r % 2 === 0 ? c.variants : [...c.variants].reverse();
    for (const v of order) {
      const t0 = performance.now();
      const s = v.loop(v.f, ...c.columns.slice(0, c.arity), c.reps);
      const ns = ((performance.now() - t0) * 1e6) / (c.reps * N);
      v.ns.push(ns);
      v.checksum = s;
    }
  }
}

const info = await machineInfo();
console.log(`muid-wasm math bench: ${info.cpu}, Node ${process.version}, ${rounds} rounds, ${N} arguments per function in the chain's ranges; ns per call, median over rounds`);
const header = ["function", ...cases[0].variants.map((v) => v.variant), "port / Math"];
console.log(header.map((h, i) => (i === 0 ? h.padEnd(10) : h.padStart(14))).join(""));
for (const c of cases) {
  const med = c.variants.map((v) => median(v.ns));
  const cells = [c.name.padEnd(10), ...med.map((m) => m.toFixed(2).padStart(14)), (med[1] / med[0]).toFixed(2).padStart(14)];
  if (c.variants.some((v) => !Object.is(v.checksum, c.variants[0].checksum))) cells.push("  checksums differ!");
  console.log(cells.join(""));
}
