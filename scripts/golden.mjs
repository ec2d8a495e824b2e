#!/usr/bin/env node
// Golden output hashes (docs/determinism.md): computes the hashes of tests/fixtures/goldenRun.ts on the
// current TypeScript sources and compares them with tests/fixtures/golden.json, or writes that file.
//
//   node scripts/golden.mjs           compare (exit 1 on any difference)
//   node scripts/golden.mjs --write   (re)write tests/fixtures/golden.json from the current code
//
// Write ONCE, from code whose outputs are known good; a later difference means an output bit moved.
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { importTs, repoRoot } from "../bench/bundle.mjs";

const GOLDEN = join(repoRoot, "tests", "fixtures", "golden.json");
const write = process.argv.includes("--write");
const { goldenHashes, goldenInputs, muid } = await importTs([
  'export { goldenHashes } from "./tests/fixtures/goldenRun.ts";',
  'export { goldenInputs } from "./tests/fixtures/goldenInputs.ts";',
  'export * as muid from "./src/index.ts";',
]);
const input = await goldenInputs();
const hashes = await goldenHashes(muid, input);
if (write) {
  const doc = {
    description: "SHA-256 of the raw output bits of tests/fixtures/goldenRun.ts (docs/determinism.md); written by node scripts/golden.mjs --write",
    node: process.version,
    hashes,
  };
  writeFileSync(GOLDEN, JSON.stringify(doc, null, 2) + "\n");
  console.log(`wrote ${GOLDEN}:`);
  for (const [k, v] of Object.entries(hashes)) console.log(`  ${k.padEnd(24)} ${v}`);
  if (input.basf2Dnn === undefined) console.log("  (basf2Dnn not written: ../shared/reference/basf2 is absent)");
} else {
  if (!existsSync(GOLDEN)) {
    console.error(`${GOLDEN} is missing: run node scripts/golden.mjs --write`);
    process.exit(1);
  }
  const expected = JSON.parse(readFileSync(GOLDEN, "utf8")).hashes;
  let bad = 0;
  for (const [k, v] of Object.entries(expected)) {
    const got = hashes[k];
    const same = got === v;
    if (!same && got !== undefined) bad++;
    console.log(`${same ? "same" : got === undefined ? "n/a " : "DIFF"}  ${k.padEnd(24)} ${got ?? "(not computed here)"}`);
  }
  process.exit(bad === 0 ? 0 : 1);
}
