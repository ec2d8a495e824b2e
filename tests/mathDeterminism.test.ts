/**
 * The library's numbers do not depend on the JavaScript engine's Math library.
 *
 * 1. A scan of the library code that produces physics numbers (src/sim, src/geometry, src/reco,
 *    src/eval/phoenix.ts, src/web/eventChain.ts and every src module they import): no call of an
 *    implementation-approximated Math function (ECMAScript §21.3.2: sin, cos, exp, log, pow, hypot, …)
 *    and no `**` whose result an engine may round differently. Allowed are the functions the
 *    specification defines exactly (sqrt is correctly rounded; abs, floor, ceil, trunc, round, sign,
 *    min, max, fround, imul, clz32) and the Math constants; `x ** 2` (every pow returns the correctly
 *    rounded x·x, fdlibm literally x*x) and `2 ** n` for an integer literal n (exact powers of two).
 *    The transcendental functions come from src/math/ieee754.ts (ports of Node 20's fdlibm) and
 *    src/math/hypot.ts (V8's hypot in plain arithmetic) instead.
 * 2. On Node 20–22 (V8 11–12, whose Math is fdlibm and V8's legacy pow) the ports equal Node's Math bit
 *    for bit, so converting the library changed no number in Node; hypot2/hypot3 equal Math.hypot on
 *    100 000+ argument sets from tiny to huge with zeros, infinities and NaN.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { NODE_MATH, sinCos } from "../src/math/ieee754.js";
import { hypot2, hypot3 } from "../src/math/hypot.js";
import { Random } from "../src/sim/random.js";

const ROOT = resolve(".");
/** The implementation itself (it falls back to the engine beyond its argument reduction). */
const IMPLEMENTATION = "src/math/ieee754.ts";
/** Math members whose results the specification fixes exactly (or that are constants). */
const EXACT_MATH = new Set([
  "sqrt", "abs", "floor", "ceil", "trunc", "round", "sign", "min", "max", "fround", "imul", "clz32",
  "PI", "E", "LN2", "LN10", "LOG2E", "LOG10E", "SQRT2", "SQRT1_2",
]);

interface Finding { file: string; line: number; text: string }

function isIntegerLiteral(n: ts.Expression): boolean {
  return ts.isNumericLiteral(n) && /^\d+$/.test(n.text);
}

/** Direct uses of engine-approximated math in one source text. */
export function approximatedMathUses(file: string, text: string): Finding[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const found: Finding[] = [];
  const report = (node: ts.Node) => {
    const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
    found.push({ file, line: line + 1, text: node.getText(source).slice(0, 80) });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && node.text === "Math") {
      const parent = node.parent;
      const member = ts.isPropertyAccessExpression(parent) && parent.expression === node ? parent.name.text : null;
      // Math.sin, Math["sin"], const { sin } = Math, f(Math), Math.random (never allowed: seeded Random only)
      if (member === null || !EXACT_MATH.has(member)) report(parent);
    }
    if (ts.isBinaryExpression(node)) {
      const op = node.operatorToken.kind;
      if (op === ts.SyntaxKind.AsteriskAsteriskToken || op === ts.SyntaxKind.AsteriskAsteriskEqualsToken) {
        const right = node.right, left = node.left;
        const square = ts.isNumericLiteral(right) && right.text === "2";
        const powerOfTwo = op === ts.SyntaxKind.AsteriskAsteriskToken && ts.isNumericLiteral(left) && left.text === "2" && isIntegerLiteral(right);
        if (!square && !powerOfTwo) report(node);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Relative imports (`./x.js` → ./x.ts) of a source file that live under src/. */
function localImports(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const out: string[] = [];
  for (const s of source.statements) {
    const spec = (ts.isImportDeclaration(s) || ts.isExportDeclaration(s)) && s.moduleSpecifier && ts.isStringLiteral(s.moduleSpecifier) ? s.moduleSpecifier.text : null;
    // type-only imports carry no code
    if (spec === null || !spec.startsWith(".")) continue;
    if (ts.isImportDeclaration(s) && s.importClause?.isTypeOnly) continue;
    if (ts.isExportDeclaration(s) && s.isTypeOnly) continue;
    out.push(relative(ROOT, join(dirname(resolve(ROOT, file)), spec.replace(/\.js$/, ".ts"))));
  }
  return out;
}

function tsFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFilesUnder(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

/** The physics library: the listed folders and files and every src module they import (transitively). */
function physicsModules(): string[] {
  const seen = new Set<string>();
  const queue = [...["src/sim", "src/geometry", "src/reco"].flatMap(tsFilesUnder), "src/eval/phoenix.ts", "src/web/eventChain.ts"];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const dep of localImports(file, readFileSync(file, "utf8"))) if (dep.startsWith("src/") && !seen.has(dep)) queue.push(dep);
  }
  return [...seen].sort();
}

describe("the library calls no engine-approximated Math", () => {
  it("the scan finds what it must find (and passes what it must pass)", () => {
    const bad = [
      "const a = Math.sin(x);", "const b = Math.hypot(x, y);", "const c = x ** 1.5;", "const d = x ** y;", "x **= 0.5;",
      "const { exp } = Math;", 'const e = Math["log"](x);', "const f = [1, 2].map(Math.log);", "const g = Math.random();", "const h = x ** 3;", "const i = 10 ** 2.5;",
    ];
    for (const line of bad) expect(approximatedMathUses("bad.ts", line), line).toHaveLength(1);
    const good = [
      "const a = Math.sqrt(x) + Math.abs(y) + Math.floor(z) + Math.min(1, 2) + Math.PI + Math.fround(x) + Math.imul(3, 4);",
      "const b = x ** 2 + (y - 1.5) ** 2;", "const c = 2 ** 31 - 1;", "// Math.sin(x) in a comment", 'const s = "Math.exp(x) in a string";',
      "const d = sin(x) * pow(y, 1.5);",
    ];
    for (const line of good) expect(approximatedMathUses("good.ts", line), line).toEqual([]);
  });

  it("src/sim, src/geometry, src/reco, the Phoenix export, the demo's event chain and all they import", () => {
    const modules = physicsModules();
    // the closure reaches the math module itself and the scanned folders
    for (const f of ["src/math/ieee754.ts", "src/math/hypot.ts", "src/sim/transport.ts", "src/geometry/propagation.ts", "src/reco/klmChain.ts", "src/eval/phoenix.ts"]) expect(modules).toContain(f);
    const findings = modules.filter((f) => f !== IMPLEMENTATION).flatMap((f) => approximatedMathUses(f, readFileSync(f, "utf8")));
    console.log(`[mathDeterminism] ${modules.length} modules scanned, ${findings.length} direct uses of engine-approximated Math`);
    expect(findings.map((f) => `${f.file}:${f.line}: ${f.text}`)).toEqual([]);
  });
});

// ───────────── the ports against Node's own Math ─────────────

const word = new Float64Array(1);
const words = new Uint32Array(word.buffer);

/** A double from 64 random bits (every exponent, subnormals, infinities and NaNs included). */
function randomBits(rng: Random): number {
  words[0] = rng.nextU32();
  words[1] = rng.nextU32();
  return word[0]!;
}

/** Arguments per function in the ranges the chain uses and around them, from a seeded generator (as tests/serve.test.ts had them). */
function chainArguments(name: keyof typeof NODE_MATH, rng: Random): number[] {
  const u = () => rng.uniform();
  switch (name) {
    case "sin": case "cos": return [(u() - 0.5) * 40];
    case "tan": return [(u() - 0.5) * 6];
    case "asin": case "acos": return [2 * u() - 1];
    case "atan": return [(u() - 0.5) * 10 ** (8 * u() - 4)];
    case "atan2": return [(u() - 0.5) * 10 ** (6 * u() - 3), (u() - 0.5) * 10 ** (6 * u() - 3)];
    case "exp": return [(u() - 0.5) * 80];
    case "expm1": return [(u() - 0.5) * 10 ** (4 * u() - 3)];
    case "log": case "log10": return [10 ** (40 * u() - 20)];
    case "pow": return [10 ** (6 * u() - 3), (u() - 0.5) * 10];
  }
}

/** Arguments over the whole range each function's fdlibm code handles itself (sin/cos/tan: |x| ≤ 2^19·π/2). */
function wideArguments(name: keyof typeof NODE_MATH, rng: Random): number[] {
  const u = () => rng.uniform();
  const sign = () => (u() < 0.5 ? -1 : 1);
  switch (name) {
    case "sin": case "cos": case "tan": return [sign() * 2 ** (u() * 79 - 60)];
    case "atan2": return [randomBits(rng), randomBits(rng)];
    case "pow": return u() < 0.5 ? [randomBits(rng), randomBits(rng)] : [sign() * 2 ** (u() * 40 - 20), sign() * Math.floor(u() * 64) / (u() < 0.5 ? 1 : 2)];
    default: return [randomBits(rng)];
  }
}

type Ported = (...a: number[]) => number;
const v8 = process.versions.v8;
const fdlibmNode = v8.startsWith("11.") || v8.startsWith("12.");
if (!fdlibmNode) console.warn(`[mathDeterminism] V8 ${v8} (Node ${process.version}) is not Node 20–22's: its Math is not the fdlibm the ports reproduce, the equality checks are skipped`);

describe.skipIf(!fdlibmNode)("the ports equal Node 20–22's Math bit for bit", () => {
  it("sin … pow: 20 000 chain-range and 20 000 whole-range arguments each, and special values", () => {
    const rng = new Random(2026);
    const mismatches: Record<string, number> = {};
    const examples: string[] = [];
    for (const name of Object.keys(NODE_MATH) as (keyof typeof NODE_MATH)[]) {
      let bad = 0;
      const port = NODE_MATH[name] as Ported, native = Math[name] as Ported;
      for (let i = 0; i < 40_000; i++) {
        const args = i < 20_000 ? chainArguments(name, rng) : wideArguments(name, rng);
        if (!Object.is(port(...args), native(...args))) {
          bad++;
          if (examples.length < 10) examples.push(`${name}(${args.join(", ")})`);
        }
      }
      mismatches[name] = bad;
    }
    console.log(`[mathDeterminism] ports vs Node ${process.version}: mismatches in 40 000 arguments each ${JSON.stringify(mismatches)}`);
    expect(examples).toEqual([]);
    const specials = [0, -0, 1, -1, 0.5, -0.5, 2, 3, -1.5, 10, Infinity, -Infinity, NaN, 5e-324, -5e-324, 1e-310, 2.2250738585072014e-308, 1e308, -1e308, Math.PI / 4, Math.PI / 2, Math.PI, 823549, 823550, 709.78, -745.2, 1e-8, 0.7, 1 + 2 ** -52, 1 - 2 ** -53];
    for (const name of Object.keys(NODE_MATH) as (keyof typeof NODE_MATH)[]) {
      const port = NODE_MATH[name] as Ported, native = Math[name] as Ported;
      for (const a of specials) for (const b of specials) {
        const args = name === "atan2" || name === "pow" ? [a, b] : [a];
        expect(Object.is(port(...args), native(...args)), `${name}(${args.join(", ")})`).toBe(true);
      }
    }
  });

  it("sinCos gives sin's and cos's bits (and so Node's) on 100 000 arguments", () => {
    const rng = new Random(99);
    const out = new Float64Array(2);
    const bad: string[] = [];
    const specials = [0, -0, Infinity, -Infinity, NaN, Math.PI / 4, Math.PI / 2, Math.PI, 5e-324, 1e-300, 823549, 823550, 1e10];
    for (let i = 0; i < 100_000 + specials.length; i++) {
      const x = i < 100_000 ? (i % 4 === 0 ? randomBits(rng) : (rng.uniform() - 0.5) * 10 ** (rng.uniform() * 8 - 3)) : specials[i - 100_000]!;
      sinCos(x, out);
      if ((!Object.is(out[0], NODE_MATH.sin(x)) || !Object.is(out[1], NODE_MATH.cos(x)) || !Object.is(out[0], Math.sin(x)) || !Object.is(out[1], Math.cos(x))) && bad.length < 10) bad.push(`sinCos(${x})`);
    }
    expect(bad).toEqual([]);
  });

  it("sin, cos, tan next to multiples of π/2 (the reductions that cancel leading bits) and at the 2^19·π/2 limit", () => {
    const bits = new Float64Array(1), bits64 = new BigInt64Array(bits.buffer);
    const neighbour = (x: number, ulps: number): number => {
      bits[0] = x;
      bits64[0] = bits64[0]! + BigInt(ulps);
      return bits[0]!;
    };
    const bad: string[] = [];
    let checked = 0;
    for (let k = 1; k <= 400; k++) {
      for (const centre of [(k * Math.PI) / 2, k * (Math.PI / 2), 823549.6 - k * 0.37]) {
        for (let d = -4; d <= 4; d++) {
          for (const x of [neighbour(centre, d), -neighbour(centre, d)]) {
            for (const name of ["sin", "cos", "tan"] as const) {
              checked++;
              if (!Object.is(NODE_MATH[name](x), Math[name](x)) && bad.length < 10) bad.push(`${name}(${x})`);
            }
          }
        }
      }
    }
    console.log(`[mathDeterminism] sin/cos/tan next to k·π/2: ${checked} calls`);
    expect(bad).toEqual([]);
  });

  it("hypot2 and hypot3: 80 000 argument pairs and triples (160 000 calls) from 1e-320 to 1e308, zeros of both signs, ties, infinities and NaN", () => {
    const rng = new Random(77);
    const u = () => rng.uniform();
    const value = (): number => {
      const r = u();
      if (r < 0.03) return u() < 0.5 ? 0 : -0;
      if (r < 0.04) return u() < 0.5 ? Infinity : -Infinity;
      if (r < 0.05) return NaN;
      if (r < 0.15) return randomBits(rng);
      return (u() < 0.5 ? -1 : 1) * 10 ** (u() * 628 - 320);
    };
    let bad = 0, checked = 0;
    const examples: string[] = [];
    for (let i = 0; i < 60_000; i++) {
      let a = value(), b = value(), c = value();
      if (i % 10 === 0) b = -a; // ties
      if (i % 10 === 1) c = a * (1 + 2 ** -52);
      if (i % 10 === 2) { b = a * 1e-9; c = a * 3e-17; } // small against large
      if (!Object.is(hypot2(a, b), Math.hypot(a, b))) { bad++; if (examples.length < 10) examples.push(`hypot(${a}, ${b})`); }
      if (!Object.is(hypot3(a, b, c), Math.hypot(a, b, c))) { bad++; if (examples.length < 10) examples.push(`hypot(${a}, ${b}, ${c})`); }
      checked += 2;
    }
    // the chain's magnitudes: momenta and positions
    for (let i = 0; i < 20_000; i++) {
      const a = (u() - 0.5) * 600, b = (u() - 0.5) * 600, c = (u() - 0.5) * 10;
      if (!Object.is(hypot2(a, b), Math.hypot(a, b)) || !Object.is(hypot3(a, b, c), Math.hypot(a, b, c))) bad++;
      checked += 2;
    }
    console.log(`[mathDeterminism] hypot2/hypot3 vs Math.hypot: ${bad} of ${checked} differ`);
    expect(examples).toEqual([]);
    expect(bad).toBe(0);
    expect(hypot2(3, 4)).toBe(5);
    expect(hypot3(2, 3, 6)).toBe(7);
    expect(hypot2(NaN, Infinity)).toBe(Infinity);
    expect(hypot3(-0, 0, -0)).toBe(0);
  });
});
