/**
 * Structured mutations for the fuzz targets (targets.ts). Random bytes alone never get past a magic
 * number or a CRC, so every target starts from a VALID seed file and applies a short list of
 * mutations drawn by fast-check: byte-level edits (bit flips, interesting values, 32/64-bit length
 * fields set to huge values, truncation, deletion, insertion, duplicated chunks) and, for the JSON
 * parts of a file (safetensors header, model card, likelihood tables), tree edits (delete a key,
 * replace a node with a hostile value, copy one node over another — which makes duplicated and
 * overlapping tensor offsets —, grow a string or an array).
 */
import fc from "fast-check";

/** Values that break assumptions: boundaries of u8/u32/u64 length fields, signs, NaN patterns. */
const INTERESTING_U8 = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 0x0a, 0x28, 0x2e, 0x52, 0x7d, 0x5d];
const INTERESTING_U32 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const INTERESTING_U64 = [0n, 1n, 7n, 8n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n - 1n, 2n ** 64n - 1n];

export type ByteMutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "set"; at: number; value: number }
  | { kind: "u32"; at: number; value: number }
  | { kind: "u64"; at: number; value: bigint }
  | { kind: "truncate"; at: number }
  | { kind: "delete"; at: number; length: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "duplicate"; at: number; length: number; to: number };

/** A position: half the time near the start (headers, length fields), else anywhere. */
const position = fc.oneof(fc.nat(255), fc.nat(0x7fffffff));

export const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: position, bit: fc.nat(7) }),
  fc.record({ kind: fc.constant("set" as const), at: position, value: fc.oneof(fc.constantFrom(...INTERESTING_U8), fc.nat(255)) }),
  fc.record({ kind: fc.constant("u32" as const), at: position, value: fc.oneof(fc.constantFrom(...INTERESTING_U32), fc.nat(0xffffffff)) }),
  fc.record({ kind: fc.constant("u64" as const), at: position, value: fc.constantFrom(...INTERESTING_U64) }),
  fc.record({ kind: fc.constant("truncate" as const), at: position }),
  fc.record({ kind: fc.constant("delete" as const), at: position, length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant("duplicate" as const), at: position, length: fc.integer({ min: 1, max: 256 }), to: position }),
);

export const byteMutations = fc.array(byteMutation, { minLength: 1, maxLength: 4 });

/** Applies byte mutations to a copy of `seed`. */
export function mutateBytes(seed: Uint8Array, mutations: readonly ByteMutation[]): Uint8Array {
  let b: Uint8Array = seed.slice();
  for (const m of mutations) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    switch (m.kind) {
      case "flip":
        b[at] ^= 1 << m.bit;
        break;
      case "set":
        b[at] = m.value;
        break;
      case "u32":
        if (at + 4 <= b.length) new DataView(b.buffer, b.byteOffset).setUint32(at, m.value >>> 0, true);
        break;
      case "u64":
        if (at + 8 <= b.length) new DataView(b.buffer, b.byteOffset).setBigUint64(at, m.value, true);
        break;
      case "truncate":
        b = b.slice(0, at);
        break;
      case "delete":
        b = concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + m.length)));
        break;
      case "insert":
        b = concat(b.subarray(0, at), m.bytes, b.subarray(at));
        break;
      case "duplicate": {
        const chunk = b.slice(at, Math.min(b.length, at + m.length));
        const to = m.to % (b.length + 1);
        b = concat(b.subarray(0, to), chunk, b.subarray(to));
        break;
      }
    }
  }
  return b;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// JSON tree mutations

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Hostile replacement values: wrong types, huge and negative numbers, long strings and arrays. */
const HOSTILE_JSON: Json[] = [
  null, true, false, 0, -1, 1, 2, 3, 0.5, -0.0, 1e-300, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 64, 1e308, -1e308, -(2 ** 53),
  "", "F32", "F64", "I64", "BOOL", "dense", "conv2d", "embedding", "concat", "batchnorm", "relu", "leakyrelu", "index", "float",
  "__proto__", "x".repeat(300), [], [0], [-1], [1e9, 1e9], [0, 2 ** 53], [1, 2, 3, 4, 5], ["a"], [null], {}, { op: "dense" },
  { dtype: "F32", shape: [1], data_offsets: [0, 4] }, { __proto__: 1 } as unknown as Json,
];

export type JsonMutation =
  | { kind: "replace"; node: number; value: number }
  | { kind: "delete"; node: number }
  | { kind: "copy"; node: number; from: number }
  | { kind: "grow"; node: number; factor: number }
  | { kind: "rename"; node: number; name: string };

export const jsonMutation: fc.Arbitrary<JsonMutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("replace" as const), node: fc.nat(), value: fc.nat(HOSTILE_JSON.length - 1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("delete" as const), node: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("copy" as const), node: fc.nat(), from: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("grow" as const), node: fc.nat(), factor: fc.integer({ min: 2, max: 50 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("rename" as const), node: fc.nat(), name: fc.constantFrom("__metadata__", "", "weight", "__proto__", "constructor", "muid.card") }) },
);

export const jsonMutations = fc.array(jsonMutation, { minLength: 1, maxLength: 3 });

interface Slot {
  parent: Json[] | { [key: string]: Json } | null;
  key: string | number;
  value: Json;
}

/** Every node of a JSON tree with its parent and key (the root has parent null). */
function slots(root: Json): Slot[] {
  const out: Slot[] = [];
  const walk = (value: Json, parent: Slot["parent"], key: string | number) => {
    out.push({ parent, key, value });
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, value, i));
    else if (value !== null && typeof value === "object") for (const k of Object.keys(value)) walk(value[k]!, value, k);
  };
  walk(root, null, "");
  return out;
}

/** Applies JSON mutations to a deep copy of `value`; the root itself may be replaced. */
export function mutateJson(value: unknown, mutations: readonly JsonMutation[]): unknown {
  let root = structuredClone(value) as Json;
  for (const m of mutations) {
    const all = slots(root);
    const target = all[m.node % all.length]!;
    const set = (v: Json) => {
      if (target.parent === null) root = v;
      else (target.parent as Record<string | number, Json>)[target.key] = v;
    };
    switch (m.kind) {
      case "replace":
        set(structuredClone(HOSTILE_JSON[m.value]!));
        break;
      case "delete":
        if (target.parent === null) root = null;
        else if (Array.isArray(target.parent)) target.parent.splice(target.key as number, 1);
        else delete target.parent[target.key as string];
        break;
      case "copy":
        set(structuredClone(all[m.from % all.length]!.value));
        break;
      case "grow":
        if (typeof target.value === "string") set(target.value.repeat(m.factor));
        else if (Array.isArray(target.value)) set(Array.from({ length: m.factor }, () => target.value).flat() as Json);
        else if (typeof target.value === "number") set(target.value * 2 ** (m.factor - 1));
        break;
      case "rename":
        if (target.parent !== null && !Array.isArray(target.parent)) {
          const v = target.parent[target.key as string]!;
          delete target.parent[target.key as string];
          Object.defineProperty(target.parent, m.name, { value: v, enumerable: true, writable: true, configurable: true });
        }
        break;
    }
  }
  return root;
}

/** `arbitrary` in `percent` % of the cases, else null (fc.option's freq is the inverse: 1/freq nulls). */
export function sometimes<T>(arbitrary: fc.Arbitrary<T>, percent = 30): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: 100 - percent, arbitrary: fc.constant(null) }, { weight: percent, arbitrary });
}

/** A short printable summary of a case input, for crash reports. */
export function describeInput(input: unknown): string {
  const text = fc.stringify(input);
  return text.length > 600 ? `${text.slice(0, 600)}… (${text.length} characters)` : text;
}
