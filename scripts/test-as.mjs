// Runs the AssemblyScript unit tests (as-pect) and makes their outcome machine-readable.
//
// Streams as-pect's output as it comes, parses its closing "[Tests]: passed / total" line, writes
// ${MUID_TEST_REPORT}/as-pect.json = {"passed": n, "failed": n} when MUID_TEST_REPORT is set (read
// by scripts/test-summary.mjs), and exits non-zero when as-pect fails, any test fails, the
// summary is missing (e.g. a compile error), or no test ran at all.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const cliDir = join(root, "node_modules", "@as-pect", "cli");
const asp = join(cliDir, JSON.parse(readFileSync(join(cliDir, "package.json"), "utf8")).bin.asp);

const child = spawn(process.execPath, [asp, "--config", "as-pect.config.js"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
let output = "";
child.stdout.on("data", (chunk) => {
  process.stdout.write(chunk);
  output += chunk;
});
child.stderr.on("data", (chunk) => {
  process.stderr.write(chunk);
  output += chunk;
});

child.on("close", (code, signal) => {
  // eslint-disable-next-line no-control-regex
  const plain = output.replace(/\x1b\[[0-9;]*m/g, "");
  const summary = /\[Tests\]:\s*(\d+)\s*\/\s*(\d+)/.exec(plain);
  const compileErrors = /FAILURE\s+(\d+)\s+compile error/.exec(plain);
  let passed = 0;
  let failed = 0;
  if (summary) {
    passed = Number(summary[1]);
    failed = Number(summary[2]) - passed;
  }
  const problems = [];
  if (signal) problems.push(`as-pect was killed by ${signal}`);
  else if (code !== 0) problems.push(`as-pect exited with code ${code}`);
  if (compileErrors) problems.push(`${compileErrors[1]} compile error(s)`);
  if (!summary) problems.push("no test summary in as-pect's output");
  else if (passed + failed === 0) problems.push("no AssemblyScript test ran");
  // A run that broke or ran nothing counts as a failure in the report too.
  if (problems.length > 0) failed = Math.max(failed, 1);

  if (process.env.MUID_TEST_REPORT) {
    mkdirSync(process.env.MUID_TEST_REPORT, { recursive: true });
    writeFileSync(join(process.env.MUID_TEST_REPORT, "as-pect.json"), JSON.stringify({ passed, failed }) + "\n");
  }

  console.log(`[test-as] ${passed} passed, ${failed} failed`);
  if (problems.length > 0 || failed > 0) {
    if (problems.length > 0) console.error(`[test-as] ${problems.join("; ")}`);
    process.exit(1);
  }
});
