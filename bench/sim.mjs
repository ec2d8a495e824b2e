// Simulation speed: tracks per second on one core (target ≥ 10 000 single tracks/s, issue 3 item 6).
//
//   node bench/sim.mjs [--seconds S]
//
// The TypeScript sources are bundled on the fly with esbuild's API (no build step needed), then each
// workload runs for S seconds (default 3) after a short warm-up. Figures are printed, never asserted.
// Two rates: per wall-clock second, and per second of CPU time of this process (process.cpuUsage, all
// its threads, GC helpers included) — on a machine shared with other jobs the wall-clock rate also
// counts the time the process waited for a core, the CPU rate does not.
import { build } from "esbuild";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const secondsArg = process.argv.indexOf("--seconds");
const seconds = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 3;
if (!(seconds > 0)) throw new Error("--seconds must be a positive number");

const outDir = mkdtempSync(join(tmpdir(), "muid-bench-sim-"));
const outfile = join(outDir, "sim.mjs");
await build({
  stdin: {
    contents: [
      'export { simulateEvent, eventRandom, defaultDetectorConditions } from "./src/sim/event.ts";',
      'export { generateGunEvent, generateBBbarEvent, klmStudyGun, eclStudyGun } from "./src/sim/generators.ts";',
      'export { rowsToArrowIpc } from "./src/sim/io.ts";',
    ].join("\n"),
    resolveDir: repoRoot,
    loader: "ts",
  },
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  outfile,
  logLevel: "error",
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});
const sim = await import(pathToFileURL(outfile).href);
rmSync(outDir, { recursive: true, force: true });

const conditions = sim.defaultDetectorConditions();

/** Runs whole events (generation + simulation) for `seconds`; returns events/s, tracks/s (wall and CPU) and the last rows. */
function measure(generate, budgetSeconds) {
  let event = 0;
  let tracks = 0;
  let rows = [];
  const warmEnd = performance.now() + 300;
  while (performance.now() < warmEnd) {
    const rng = sim.eventRandom(99, event++);
    sim.simulateEvent(generate(rng), event, rng, conditions);
  }
  event = 0;
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const end = start + budgetSeconds * 1000;
  let now = start;
  while (now < end) {
    for (let k = 0; k < 16; k++) {
      const rng = sim.eventRandom(1, event);
      const out = sim.simulateEvent(generate(rng), event, rng, conditions);
      tracks += out.length;
      if (rows.length < 2000) rows = rows.concat(out);
      event++;
    }
    now = performance.now();
  }
  const elapsed = (now - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { eventsPerSecond: event / elapsed, tracksPerSecond: tracks / elapsed, tracksPerCpuSecond: tracks / cpuSeconds, events: event, rows };
}

const single = (particles) => {
  const gun = { ...sim.klmStudyGun(particles), tracksPerEvent: { min: 1, max: 1 } };
  return (rng) => sim.generateGunEvent(gun, rng);
};
const workloads = [
  ["single μ± tracks (KLM gun, 1 track/event)", single(["mu-", "mu+"])],
  ["single π± tracks (KLM gun, 1 track/event)", single(["pi-", "pi+"])],
  ["single μ±/π± tracks (KLM gun, 1 track/event)", single(["mu-", "mu+", "pi-", "pi+"])],
  ["KLM-study events (4–16 tracks)", (rng) => sim.generateGunEvent(sim.klmStudyGun(), rng)],
  ["ECL-study gun (1 track, pT 0.28–1.0 GeV/c)", (rng) => sim.generateGunEvent(sim.eclStudyGun(), rng)],
  ["BB̄ events", (rng) => sim.generateBBbarEvent(rng)],
];

console.log(`muid-wasm simulation bench: Node ${process.version}, ${seconds} s per workload, one core`);
for (const [name, generate] of workloads) {
  const r = measure(generate, seconds);
  console.log(
    `${name.padEnd(48)} ${r.tracksPerSecond.toFixed(0).padStart(8)} tracks/s  ${r.tracksPerCpuSecond.toFixed(0).padStart(8)} tracks/CPU-s  ` +
      `${r.eventsPerSecond.toFixed(0).padStart(8)} events/s  (${r.events} events)`,
  );
}

// Arrow encoding of the rows (what `muid simulate` adds on top of the simulation)
const sample = measure(single(["mu-", "mu+", "pi-", "pi+"]), 0.5).rows;
const encodeStart = performance.now();
let encoded = 0;
while (performance.now() - encodeStart < 1000) {
  sim.rowsToArrowIpc(sample);
  encoded += sample.length;
}
console.log(`${"Arrow IPC encoding of rows".padEnd(48)} ${(encoded / ((performance.now() - encodeStart) / 1000)).toFixed(0).padStart(8)} rows/s`);
