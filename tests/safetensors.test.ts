import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { FormatError, ModelError, MuidError, UnsafeFileError, VersionError } from "../src/errors.js";
import { CARD_METADATA_KEY, MODEL_FORMAT, MODEL_FORMAT_VERSION, type ModelBundle, type ModelCard, type Tensor } from "../src/models/card.js";
import { readSafetensors, writeSafetensors } from "../src/models/safetensors.js";
import { countParameters, readModelFile, writeModelFile } from "../src/models/modelFile.js";
import { Random } from "../src/sim/random.js";

/** One tensor of every supported dtype, filled from a seeded generator. */
function allDtypes(): Map<string, Tensor> {
  const r = new Random(7);
  const bits = (n: number) => Array.from({ length: n }, () => r.nextU32());
  const m = new Map<string, Tensor>();
  m.set("f32", { dtype: "F32", shape: [2, 3], data: new Float32Array(new Uint32Array(bits(6)).buffer) });
  m.set("f64", { dtype: "F64", shape: [3], data: new Float64Array(new Uint32Array(bits(6)).buffer) });
  m.set("f16", { dtype: "F16", shape: [5], data: new Uint16Array(bits(5).map((b) => b & 0xffff)) });
  m.set("bf16", { dtype: "BF16", shape: [1, 1], data: new Uint16Array([0x3f80]) });
  m.set("i64", { dtype: "I64", shape: [2], data: new BigInt64Array([-(2n ** 62n) - 5n, 11200n]) });
  m.set("i32", { dtype: "I32", shape: [3], data: new Int32Array([-1, 2 ** 31 - 1, -(2 ** 31)]) });
  m.set("i16", { dtype: "I16", shape: [2], data: new Int16Array([-32768, 12345]) });
  m.set("i8", { dtype: "I8", shape: [3], data: new Int8Array([-128, 0, 127]) });
  m.set("u8", { dtype: "U8", shape: [1], data: new Uint8Array([255]) });
  m.set("bool", { dtype: "BOOL", shape: [2], data: new Uint8Array([0, 1]) });
  m.set("scalar", { dtype: "I64", shape: [], data: new BigInt64Array([42n]) });
  m.set("empty", { dtype: "F32", shape: [0, 4], data: new Float32Array(0) });
  return m;
}

function bytesOf(t: Tensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** Builds a file by hand from a header object and a data section (independent of writeSafetensors). */
function rawFile(header: unknown, data: Uint8Array, headerText?: string | Uint8Array): Uint8Array {
  const json = headerText instanceof Uint8Array ? headerText : new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe("safetensors", () => {
  it("round-trips every supported dtype bit-exactly, with metadata", () => {
    const tensors = allDtypes();
    const file = writeSafetensors(tensors, { a: "1", "muid.card": "{}" });
    const back = readSafetensors(file);
    expect(back.metadata).toEqual({ a: "1", "muid.card": "{}" });
    expect([...back.tensors.keys()].sort()).toEqual([...tensors.keys()].sort());
    for (const [name, t] of tensors) {
      const u = back.tensors.get(name)!;
      expect(u.dtype).toBe(t.dtype);
      expect(u.shape).toEqual(t.shape);
      expect(u.data.constructor).toBe(t.data.constructor);
      expect(Buffer.from(bytesOf(u)).equals(Buffer.from(bytesOf(t)))).toBe(true);
    }
  });

  it("writes the documented layout: u64 LE header length, space-padded JSON to a multiple of 8, aligned data", () => {
    const tensors = allDtypes();
    const file = writeSafetensors(tensors, {});
    const n = new DataView(file.buffer).getUint32(0, true);
    expect(new DataView(file.buffer).getUint32(4, true)).toBe(0);
    expect(n % 8).toBe(0);
    const text = new TextDecoder().decode(file.subarray(8, 8 + n));
    const header = JSON.parse(text);
    expect(text.trimEnd().length).toBeLessThanOrEqual(n);
    expect(/^ *$/.test(text.slice(text.trimEnd().length))).toBe(true);
    // each tensor's bytes sit at its offsets, aligned to its item size
    for (const [name, t] of tensors) {
      const [b, e] = header[name].data_offsets;
      expect(b % t.data.BYTES_PER_ELEMENT).toBe(0);
      expect(Buffer.from(file.subarray(8 + n + b, 8 + n + e)).equals(Buffer.from(bytesOf(t)))).toBe(true);
    }
  });

  it("reads a hand-built file with data at unaligned positions (copies out)", () => {
    // header length 27 → data starts at byte 35: a Float32Array view there would throw
    const header = { x: { dtype: "F32", shape: [2], data_offsets: [0, 8] } };
    const text = JSON.stringify(header);
    const padded = text + " ".repeat(Math.max(0, 27 - text.length));
    const data = new Uint8Array(new Float32Array([1.5, -2.25]).buffer);
    const file = rawFile(null, data, padded);
    const t = readSafetensors(file).tensors.get("x")!;
    expect(Array.from(t.data as Float32Array)).toEqual([1.5, -2.25]);
  });

  const f32 = new Uint8Array(new Float32Array([1, 2]).buffer);
  const hostile: [string, () => Uint8Array, typeof MuidError, RegExp][] = [
    ["shorter than 8 bytes", () => new Uint8Array(5), FormatError, /shorter than/],
    [
      "header length beyond the file",
      () => {
        const f = rawFile({}, new Uint8Array());
        new DataView(f.buffer).setUint32(0, 1000, true);
        return f;
      },
      FormatError,
      /larger than/,
    ],
    [
      "header length beyond the limit",
      () => {
        const f = new Uint8Array(16);
        new DataView(f.buffer).setUint32(4, 1, true); // 4 GiB
        return f;
      },
      UnsafeFileError,
      /exceeds the limit/,
    ],
    ["invalid UTF-8", () => rawFile(null, new Uint8Array(), Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), FormatError, /not valid UTF-8/],
    ["invalid JSON", () => rawFile(null, new Uint8Array(), '{"a": '), FormatError, /not valid JSON/],
    ["header not an object", () => rawFile(null, new Uint8Array(), "[1,2]"), FormatError, /start with|not a JSON object/],
    ["unknown dtype", () => rawFile({ w: { dtype: "F8_E4M3", shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2)), FormatError, /"w".*unknown or unsupported dtype/],
    ["negative shape", () => rawFile({ w: { dtype: "F32", shape: [-2], data_offsets: [0, 8] } }, f32), FormatError, /"w".*shape/],
    ["fractional shape", () => rawFile({ w: { dtype: "F32", shape: [1.5], data_offsets: [0, 8] } }, f32), FormatError, /"w".*shape/],
    ["offsets out of range", () => rawFile({ w: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, f32), FormatError, /"w".*run past/],
    ["offsets reversed", () => rawFile({ w: { dtype: "F32", shape: [0], data_offsets: [8, 0] } }, f32), FormatError, /"w".*end before/],
    ["offsets not numel × itemsize", () => rawFile({ w: { dtype: "F32", shape: [1], data_offsets: [0, 8] } }, f32), FormatError, /"w".*needs 4/],
    ["huge shape", () => rawFile({ w: { dtype: "F64", shape: [2 ** 40, 2 ** 12], data_offsets: [0, 8] } }, f32), FormatError, /"w"/],
    [
      "overlapping tensors",
      () =>
        rawFile(
          { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [1], data_offsets: [4, 8] } },
          f32,
        ),
      FormatError,
      /"b".*overlaps tensor "a"/,
    ],
    ["a hole", () => rawFile({ a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, f32), FormatError, /hole of 4 bytes before tensor "a"/],
    ["trailing bytes", () => rawFile({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, f32), FormatError, /trailing/],
    ["metadata not strings", () => rawFile({ __metadata__: { a: 1 } }, new Uint8Array()), FormatError, /__metadata__ value "a"/],
    ["extra tensor fields", () => rawFile({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8], x: 1 } }, f32), FormatError, /"a": unknown header field "x"/],
  ];
  for (const [what, make, type, message] of hostile) {
    it(`rejects ${what}`, () => {
      const f = make();
      expect(() => readSafetensors(f)).toThrow(type);
      expect(() => readSafetensors(f)).toThrow(message);
    });
  }

  it("enforces the tensor-count and total-size limits", () => {
    const many = new Map<string, Tensor>();
    for (let i = 0; i < 5; i++) many.set(`t${i}`, { dtype: "U8", shape: [1], data: new Uint8Array([i]) });
    const file = writeSafetensors(many, {});
    expect(readSafetensors(file).tensors.size).toBe(5);
    expect(() => readSafetensors(file, { maxTensors: 4 })).toThrow(UnsafeFileError);
    expect(() => readSafetensors(file, { maxTotalBytes: 4 })).toThrow(/data section of 5 bytes exceeds/);
    expect(() => readSafetensors(file, { maxHeaderBytes: 16 })).toThrow(UnsafeFileError);
  });

  it("keeps a tensor named __proto__ as data", () => {
    const f = rawFile(null, new Uint8Array([9]), '{"__proto__": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}');
    const t = readSafetensors(f).tensors.get("__proto__")!;
    expect(Array.from(t.data as Uint8Array)).toEqual([9]);
  });

  it("refuses to write a tensor whose data does not match its dtype or shape", () => {
    expect(() => writeSafetensors(new Map([["a", { dtype: "F32", shape: [3], data: new Float32Array(2) } as Tensor]]), {})).toThrow(/"a".*holds 2 values/);
    expect(() => writeSafetensors(new Map([["a", { dtype: "F64", shape: [2], data: new Float32Array(2) } as Tensor]]), {})).toThrow(/Float64Array/);
  });

  it("throws only MuidErrors on thousands of random mutations and truncations of a valid file", () => {
    const valid = writeSafetensors(allDtypes(), { note: "fuzz" });
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant("flip" as const), at: fc.nat(valid.length - 1), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant("truncate" as const), at: fc.nat(valid.length - 1), value: fc.constant(0) }),
      fc.record({ kind: fc.constant("insert" as const), at: fc.nat(valid.length - 1), value: fc.integer({ min: 0, max: 255 }) }),
    );
    let rejected = 0;
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => {
        let f = valid.slice();
        for (const m of ms) {
          const at = Math.min(m.at, f.length - 1);
          if (m.kind === "flip") f[at] = m.value;
          else if (m.kind === "truncate") f = f.slice(0, at);
          else f = Uint8Array.from([...f.subarray(0, at), m.value, ...f.subarray(at)]);
          if (f.length === 0) break;
        }
        try {
          readSafetensors(f);
        } catch (e) {
          rejected++;
          if (!(e instanceof MuidError)) throw e;
        }
      }),
      { numRuns: 3000, seed: 20240601 },
    );
    expect(rejected).toBeGreaterThan(1000); // most mutations of header or length must be caught
  });
});

describe("model file", () => {
  const card: ModelCard = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    name: "tiny",
    task: "test",
    description: "two dense layers",
    inputs: [{ name: "x", shape: [3], kind: "float" }],
    layers: [
      { op: "dense", input: "x", output: "h", weight: "w1", bias: "b1", activation: "leakyrelu", alpha: 0.01 },
      { op: "dense", input: "h", output: "logits", weight: "w2", bias: "b2", activation: "none" },
    ],
    outputs: [{ name: "logits", shape: [2], classes: ["pion", "muon"], description: "logits" }],
    provenance: { source: "unit test" },
  };
  const tensors = new Map<string, Tensor>([
    ["w1", { dtype: "F32", shape: [4, 3], data: new Float32Array(12).map((_, i) => i / 7) }],
    ["b1", { dtype: "F32", shape: [4], data: new Float32Array([1, 2, 3, 4]) }],
    ["w2", { dtype: "F32", shape: [2, 4], data: new Float32Array(8).map((_, i) => -i / 3) }],
    ["b2", { dtype: "F32", shape: [2], data: new Float32Array([0.5, -0.5]) }],
  ]);
  const bundle: ModelBundle = { card, tensors };

  it("round-trips card and tensors", () => {
    const back = readModelFile(writeModelFile(bundle));
    expect(back.card).toEqual(card);
    for (const [k, t] of tensors) expect(Buffer.from(bytesOf(back.tensors.get(k)!)).equals(Buffer.from(bytesOf(t)))).toBe(true);
    expect(countParameters(back)).toBe(12 + 4 + 8 + 2);
  });

  it("refuses to write an inconsistent model", () => {
    const bad = new Map(tensors);
    bad.set("b1", { dtype: "F32", shape: [5], data: new Float32Array(5) });
    expect(() => writeModelFile({ card, tensors: bad })).toThrow(ModelError);
  });

  it("rejects a missing card, a card that is not JSON, and a wrong format version", () => {
    expect(() => readModelFile(writeSafetensors(tensors, {}))).toThrow(/no model card/);
    expect(() => readModelFile(writeSafetensors(tensors, { [CARD_METADATA_KEY]: "{not json" }))).toThrow(FormatError);
    expect(() => readModelFile(writeSafetensors(tensors, { [CARD_METADATA_KEY]: "[]" }))).toThrow(FormatError);
    const v2 = JSON.stringify({ ...card, formatVersion: MODEL_FORMAT_VERSION + 1 });
    expect(() => readModelFile(writeSafetensors(tensors, { [CARD_METADATA_KEY]: v2 }))).toThrow(VersionError);
  });
});

describe("reading from a Node Buffer", () => {
  it("copies each tensor's own bytes (Buffer.slice is a view, not a copy)", async () => {
    const { readSafetensors: read, writeSafetensors: write } = await import("../src/models/safetensors.js");
    const tensors = new Map([
      ["a", { dtype: "F32" as const, shape: [3], data: Float32Array.from([1, 2, 3]) }],
      ["b", { dtype: "F32" as const, shape: [2], data: Float32Array.from([4, 5]) }],
    ]);
    const back = read(Buffer.from(write(tensors, {})));
    expect(Array.from(back.tensors.get("a")!.data as Float32Array)).toEqual([1, 2, 3]);
    expect(Array.from(back.tensors.get("b")!.data as Float32Array)).toEqual([4, 5]);
  });
});
