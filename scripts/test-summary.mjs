// Prints one closing line "N passed, N failed" from the test runners' JSON reports, so a CI run
// that executed no test shows it (neither vitest nor as-pect prints such a line).
import { readFileSync, existsSync } from "node:fs";
const dir = process.argv[2] ?? "out";
let passed = 0, failed = 0, skipped = 0;
const vitestFile = `${dir}/vitest.json`;
if (existsSync(vitestFile)) {
  const r = JSON.parse(readFileSync(vitestFile, "utf8"));
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
}
const asFile = `${dir}/as-pect.json`;
if (existsSync(asFile)) {
  const r = JSON.parse(readFileSync(asFile, "utf8"));
  passed += r.passed ?? 0;
  failed += r.failed ?? 0;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
