/**
 * The fuzz targets of issue 8. Each takes a fast-check input (usually a list of mutations of a VALID
 * seed) and either returns after checking that the result is valid, or throws. A MuidError is the
 * expected outcome for bad input; anything else (bare Error, RangeError, TypeError, a wasm trap, a
 * failed result check, a case over the hang guard) is a crash (harness.ts).
 *
 * Targets: safetensors reader, model-file reader (+ compile + predict), pickle interpreter, torch zip
 * reader, ECL CNN state_dict importer, basf2 weight-file importer (XML → base64 → pickle → zip →
 * pickled nn.Module), ONNX export round trip (valid and mutated models), Model / EclCnnFast predict
 * inputs, KLM likelihood tables, and the chain API on hostile events.
 */
import { existsSync, readFileSync } from "node:fs";
import fc from "fast-check";
import protobuf from "protobufjs";
import { CARD_METADATA_KEY, type ModelBundle, type ModelCard, type Tensor } from "../../src/models/card.js";
import { EclCnnFast } from "../../src/models/eclCnnFast.js";
import { decodeBase64, importBasf2KlmDnn, scanWeightfileElements } from "../../src/models/importBasf2.js";
import { importTorchEclCnn } from "../../src/models/importTorchEcl.js";
import { cardSummary, readModelFile, writeModelFile } from "../../src/models/modelFile.js";
import { exportOnnx } from "../../src/models/onnx.js";
import { PickleDict, unpickle } from "../../src/models/pickle.js";
import { Model, type Prediction } from "../../src/models/runtime.js";
import { readSafetensors, writeSafetensors } from "../../src/models/safetensors.js";
import { loadTorchZip, TorchStorage, torchGlobals, TorchTensor, ZipArchive } from "../../src/models/torchZip.js";
import { validateModel } from "../../src/models/validate.js";
import { rowsToInputs } from "../../src/models/jsonRows.js";
import { eclCnnInput } from "../../src/reco/eclImage.js";
import { KlmReconstructor } from "../../src/reco/klmChain.js";
import { KlmLikelihood } from "../../src/reco/muidLikelihood.js";
import type { MuidResult } from "../../src/reco/muidPatterns.js";
import { defaultDetectorConditions, eventRandom, simulateEvent } from "../../src/sim/event.js";
import { generateBBbarEvent } from "../../src/sim/generators.js";
import { Random } from "../../src/sim/random.js";
import type { EclDigit, KlmHit, ParticleState, SimTrackRow, TrackAtIp } from "../../src/sim/types.js";
import { randomEclCnn, randomEclCnnZip } from "../fixtures/eclCnn.js";
import { BASF2_XML } from "../fixtures/shared.js";
import { contiguousStrides, stateDictPickle, torchStyleZip, type FixtureEntry } from "../fixtures/torchZipWriter.js";
import { invariant, KnownFinding, type FuzzTarget } from "./harness.js";
import { byteMutations, concat, sometimes, jsonMutations, mutateBytes, mutateJson, type ByteMutation, type JsonMutation } from "./mutate.js";
import { randomKlmDnn, syntheticLikelihoodTables, tinyConvModel, tinyMixedModel, zeroInputs } from "./seeds.js";

const text = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// result checks shared by several targets

function checkTensor(name: string, t: Tensor): void {
  const n = t.shape.reduce((a, b) => a * b, 1);
  invariant(t.data.length === n, `tensor "${name}" of shape [${t.shape}] holds ${t.data.length} values`);
}

function checkPrediction(p: Prediction, batch: number, classes: number): void {
  invariant(p.logits instanceof Float32Array && p.logits.length === batch * classes, `logits length ${p.logits.length}, expected ${batch * classes}`);
  invariant(p.muonProbability instanceof Float32Array && p.muonProbability.length === batch, `probabilities length ${p.muonProbability.length}, expected ${batch}`);
}

/** Runs a model that passed validation: compile, predict two rows of zeros. */
async function compileAndPredict(bundle: ModelBundle): Promise<void> {
  const model = await Model.create(bundle);
  checkPrediction(model.predict(zeroInputs(bundle.card, 2), 2), 2, model.classes);
}

// ---------------------------------------------------------------------------------------------
// safetensors: header JSON edits (with a correct or a hostile length field) and byte mutations

/** Splits a safetensors file into its parsed header and its data section. */
function splitSafetensors(bytes: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), data: bytes.subarray(8 + n) };
}

function joinSafetensors(header: unknown, data: Uint8Array, lengthField?: bigint): Uint8Array {
  const json = text.encode(JSON.stringify(header) ?? "");
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthField ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

interface SafetensorsCase {
  seed: number;
  header: JsonMutation[] | null;
  lengthField: bigint | null;
  dataEdit: { kind: "truncate" | "extend"; n: number } | null;
  bytes: ByteMutation[] | null;
}

function safetensorsCase(): fc.Arbitrary<SafetensorsCase> {
  return fc.record({
    seed: fc.nat(),
    header: sometimes(jsonMutations, 30),
    lengthField: sometimes(fc.constantFrom(0n, 1n, 2n, 7n, 2n ** 24n, 2n ** 32n + 2n, 2n ** 53n + 1n, 2n ** 64n - 1n), 10),
    dataEdit: sometimes(fc.record({ kind: fc.constantFrom("truncate" as const, "extend" as const), n: fc.integer({ min: 1, max: 40 }) }), 10),
    bytes: sometimes(byteMutations, 35),
  });
}

function buildSafetensors(c: SafetensorsCase, seeds: Uint8Array[]): Uint8Array {
  let bytes = seeds[c.seed % seeds.length]!;
  if (c.header !== null || c.lengthField !== null || c.dataEdit !== null) {
    const { header, data } = splitSafetensors(bytes);
    let d = data;
    if (c.dataEdit?.kind === "truncate") d = data.subarray(0, Math.max(0, data.length - c.dataEdit.n));
    if (c.dataEdit?.kind === "extend") d = concat(data, new Uint8Array(c.dataEdit.n));
    bytes = joinSafetensors(c.header !== null ? mutateJson(header, c.header) : header, d, c.lengthField ?? undefined);
  }
  return c.bytes !== null ? mutateBytes(bytes, c.bytes) : bytes;
}

let safetensorsSeeds: Uint8Array[] = [];

const safetensorsTarget: FuzzTarget<SafetensorsCase> = {
  name: "safetensors",
  description: "readSafetensors on mutated valid files (header JSON edits, length fields, data truncation, byte edits)",
  weight: 14,
  async prepare() {
    const all = new Map<string, Tensor>([
      ["f64", { dtype: "F64", shape: [3], data: Float64Array.from([1, -2, 3.5]) }],
      ["i64", { dtype: "I64", shape: [2, 1], data: BigInt64Array.from([1n, -7n]) }],
      ["f32", { dtype: "F32", shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
      ["f16", { dtype: "F16", shape: [2], data: Uint16Array.from([0x3c00, 0xc000]) }],
      ["u8", { dtype: "U8", shape: [4], data: Uint8Array.from([0, 1, 254, 255]) }],
      ["empty", { dtype: "F32", shape: [0, 3], data: new Float32Array(0) }],
      ["scalar", { dtype: "I32", shape: [], data: Int32Array.from([42]) }],
    ]);
    safetensorsSeeds = [writeSafetensors(all, { note: "fuzz seed" }), writeModelFile(tinyMixedModel(1)), writeModelFile(tinyConvModel(2))];
  },
  arbitrary: safetensorsCase,
  run(c) {
    const { metadata, tensors } = readSafetensors(buildSafetensors(c, safetensorsSeeds));
    for (const v of Object.values(metadata)) invariant(typeof v === "string", "metadata value is not a string");
    for (const [name, t] of tensors) checkTensor(name, t);
  },
};

// ---------------------------------------------------------------------------------------------
// model files: card JSON edits + safetensors edits, then compile and predict what validates

interface ModelFileCase extends SafetensorsCase {
  card: JsonMutation[] | null;
  /** nest a free-form card field this deep (JSON.stringify/structuredClone overflow near 10⁴) */
  deep: number | null;
}

/** JSON text of `value` with the string "__DEEP__" replaced by `depth` nested arrays (built as text: no recursion). */
function stringifyWithDeep(value: unknown, depth: number | null): string {
  const text = JSON.stringify(value) ?? "";
  return depth === null ? text : text.replace('"__DEEP__"', "[".repeat(depth) + "]".repeat(depth));
}

let modelFileSeeds: ModelBundle[] = [];

const modelFileTarget: FuzzTarget<ModelFileCase> = {
  name: "model file",
  description: "readModelFile + Model.create + predict on mutated model cards and safetensors containers",
  weight: 12,
  async prepare() {
    modelFileSeeds = [tinyMixedModel(3), tinyConvModel(4), randomKlmDnn(5, true)];
  },
  arbitrary: () =>
    safetensorsCase().chain((base) =>
      fc.record({ card: sometimes(jsonMutations, 50), deep: sometimes(fc.integer({ min: 60, max: 200_000 }), 5) }).map((extra) => ({ ...base, ...extra })),
    ),
  async run(c) {
    const seed = modelFileSeeds[c.seed % modelFileSeeds.length]!;
    let card = c.card !== null ? mutateJson(seed.card, c.card) : seed.card;
    if (c.deep !== null && card !== null && typeof card === "object") card = { ...card, provenance: { source: "deep", notes: "__DEEP__" } };
    const file = writeSafetensors(seed.tensors, { [CARD_METADATA_KEY]: stringifyWithDeep(card, c.deep) });
    const bundle = readModelFile(buildSafetensors({ ...c, seed: 0 }, [file]));
    await compileAndPredict(bundle);
    // what loads must also summarise, write back and export
    invariant(cardSummary(bundle.card).length > 0, "empty card summary");
    readModelFile(writeModelFile(bundle));
    checkOnnxRoundTrip(exportOnnx(bundle), bundle);
  },
};

// ---------------------------------------------------------------------------------------------
// pickle: byte mutations of real pickles and grammar-generated opcode programs

/** One pickle "instruction" of the generator grammar: an opcode with plausible (or hostile) arguments. */
type PickleOp =
  | { op: "raw"; bytes: readonly number[] }
  | { op: "str"; s: string }
  | { op: "bytes"; n: number }
  | { op: "global"; which: number }
  | { op: "nest"; depth: number; how: number }
  | { op: "bigLength"; code: number; value: number }
  | { op: "hashBomb"; depth: number; copies: number; as: number };

const PICKLE_GLOBALS = [
  "torch._utils\n_rebuild_tensor_v2\n", "torch._utils\n_rebuild_parameter\n", "collections\nOrderedDict\n", "torch\nFloatStorage\n",
  "torch\nLongStorage\n", "__builtin__\nset\n", "builtins\nset\n", "os\nsystem\n", "builtins\neval\n", "torch\nload\n", "nosuch\n",
];

const pickleOp: fc.Arbitrary<PickleOp> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(
    [0x28], [0x74], [0x85], [0x86], [0x87], [0x29], [0x5d], [0x7d], [0x8f], [0x6c], [0x64], [0x61], [0x65], [0x73], [0x75], [0x90], [0x91],
    [0x4e], [0x88], [0x89], [0x30], [0x31], [0x32], [0x52], [0x81], [0x62], [0x51], [0x93], [0x94], [0x2e], [0x80, 2], [0x80, 4], [0x80, 9],
    [0x4b, 0], [0x4b, 3], [0x4b, 255], [0x4d, 0xff, 0xff], [0x4a, 0xff, 0xff, 0xff, 0xff], [0x4a, 0, 0, 0, 0x80], [0x71, 0], [0x71, 1], [0x68, 0], [0x68, 1],
    [0x72, 0xff, 0xff, 0xff, 0x7f], [0x6a, 0, 0, 0, 0], [0x8a, 1, 0xff], [0x8a, 9, 1, 2, 3, 4, 5, 6, 7, 8, 0x80], [0x8a, 0xff], [0x47, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0],
    [0x95, 8, 0, 0, 0, 0, 0, 0, 0], [0x46], [0x49], [0x63], [0x99], [0x00],
  ).map((bytes) => ({ op: "raw" as const, bytes })) },
  { weight: 2, arbitrary: fc.constantFrom("storage", "cpu", "0", "1", "", "weight", "_metadata", "../etc", "a\u0000b").map((s) => ({ op: "str" as const, s })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 64 }).map((n) => ({ op: "bytes" as const, n })) },
  { weight: 3, arbitrary: fc.nat(PICKLE_GLOBALS.length - 1).map((which) => ({ op: "global" as const, which })) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("nest" as const), depth: fc.integer({ min: 1, max: 20000 }), how: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("hashBomb" as const), depth: fc.integer({ min: 1, max: 3000 }), copies: fc.integer({ min: 1, max: 3000 }), as: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("bigLength" as const), code: fc.constantFrom(0x58, 0x42, 0x8d, 0x8e, 0x8b, 0x95), value: fc.constantFrom(0xffffffff, 0x7fffffff, 2 ** 31, 1e6) }) },
);

function emitPickle(ops: readonly PickleOp[]): Uint8Array {
  const out: number[] = [0x80, 2];
  const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
  for (const o of ops) {
    switch (o.op) {
      case "raw":
        out.push(...o.bytes);
        break;
      case "str": {
        const b = text.encode(o.s);
        out.push(0x58, ...u32(b.length), ...b);
        break;
      }
      case "bytes":
        out.push(0x43, o.n, ...new Array<number>(o.n).fill(7));
        break;
      case "global":
        out.push(0x63, ...text.encode(PICKLE_GLOBALS[o.which]!));
        break;
      case "nest":
        // deep structures built without MARK: list-in-tuple chains, nested tuples, dicts in lists
        out.push(0x5d);
        for (let i = 0; i < o.depth; i++) out.push(...(o.how === 0 ? [0x85] : o.how === 1 ? [0x5d, 0x32, 0x30, 0x85] : [0x7d, 0x85]));
        break;
      case "hashBomb":
        // one deep tuple in the memo, used `copies` times as a set item / frozenset item / dict key
        out.push(0x4e, ...new Array<number>(o.depth).fill(0x85), 0x72, 0x39, 0x30, 0, 0, 0x30);
        if (o.as === 0) out.push(0x8f, 0x28, ...Array.from({ length: o.copies }, () => [0x6a, 0x39, 0x30, 0, 0]).flat(), 0x90);
        else if (o.as === 1) out.push(0x28, ...Array.from({ length: o.copies }, () => [0x6a, 0x39, 0x30, 0, 0]).flat(), 0x91);
        else out.push(0x7d, 0x28, ...Array.from({ length: o.copies }, () => [0x6a, 0x39, 0x30, 0, 0, 0x4e]).flat(), 0x75);
        break;
      case "bigLength":
        out.push(o.code, ...u32(o.value), ...(o.code === 0x8d || o.code === 0x8e || o.code === 0x95 ? u32(o.value) : []));
        break;
    }
  }
  out.push(0x2e);
  return Uint8Array.from(out);
}

const STATE_DICT_ENTRIES = (): FixtureEntry[] => [
  { name: "w", storage: { key: "0", dtype: "F32", data: Float32Array.from({ length: 12 }, (_, i) => i / 4) }, offset: 0, size: [3, 4], stride: [4, 1], parameter: true },
  { name: "wt", storage: { key: "0", dtype: "F32", data: Float32Array.from({ length: 12 }, (_, i) => i / 4) }, offset: 1, size: [2, 3], stride: [1, 4] },
  { name: "n", storage: { key: "1", dtype: "I64", data: BigInt64Array.from([5n]) }, offset: 0, size: [], stride: [] },
  { name: "d", storage: { key: "2", dtype: "F64", data: Float64Array.from([1.5, -2]) }, offset: 0, size: [2], stride: [1] },
];

/** Every global the torch readers know, so mutated programs reach rebuildTensor, sets and OrderedDicts. */
const ALL_TORCH_FUNCTIONS = [
  "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter", "collections.OrderedDict", "__builtin__.set", "builtins.set",
  "torch.FloatStorage", "torch.LongStorage", "torch.DoubleStorage",
];

/** A persistent_load that hands out small storages (the zip loader's checks are fuzzed in torchZipTarget). */
function fakeStorages(pid: unknown): TorchStorage {
  if (!Array.isArray(pid) || pid.length !== 5) return new TorchStorage("x", "F32", new Float32Array(4));
  const n = Number.isSafeInteger(pid[4]) ? Math.min(Math.max(pid[4] as number, 0), 64) : 4;
  return new TorchStorage(String(pid[2]), "F32", new Float32Array(n));
}

interface PickleCase {
  kind: "mutated" | "generated";
  seed: number;
  mutations: ByteMutation[];
  program: PickleOp[];
}

let pickleSeeds: Uint8Array[] = [];

const pickleTarget: FuzzTarget<PickleCase> = {
  name: "pickle",
  description: "the restricted unpickler on byte-mutated torch pickles and grammar-generated opcode programs (hostile globals, lengths, nesting)",
  weight: 16,
  async prepare() {
    pickleSeeds = [stateDictPickle(STATE_DICT_ENTRIES()), stateDictPickle(STATE_DICT_ENTRIES().slice(0, 1), { extraGlobal: ["os", "system"] })];
  },
  arbitrary: () =>
    fc.record({
      kind: fc.constantFrom("mutated" as const, "generated" as const),
      seed: fc.nat(),
      mutations: byteMutations,
      program: fc.array(pickleOp, { minLength: 1, maxLength: 40 }),
    }),
  run(c) {
    const bytes = c.kind === "mutated" ? mutateBytes(pickleSeeds[c.seed % pickleSeeds.length]!, c.mutations) : emitPickle(c.program);
    const value = unpickle(bytes, { globals: torchGlobals(ALL_TORCH_FUNCTIONS, ["torch.nn.modules.linear.Linear"]), persistentLoad: fakeStorages });
    if (value instanceof PickleDict) for (const [k, v] of value) if (v instanceof TorchTensor) checkTensor(String(k), v);
  },
};

// ---------------------------------------------------------------------------------------------
// torch zip: hostile tensor views, pickle mutations (with valid CRCs), entry edits, zip byte edits

interface TorchZipCase {
  view: { entry: number; offset: number; size: number[]; stride: number[] } | null;
  pickle: ByteMutation[] | null;
  files: { drop: number | null; rename: number | null; version: string | null; storageCut: number | null } | null;
  zip: ByteMutation[] | null;
}

const hostileDim = fc.oneof(fc.nat(6), fc.constantFrom(0, 1, 2 ** 16, 2 ** 20, 2 ** 24, 2 ** 30, 0xffffffff));

function torchZipCase(): fc.Arbitrary<TorchZipCase> {
  return fc.record({
    view: sometimes(
      fc.record({
        entry: fc.nat(),
        offset: fc.oneof(fc.nat(12), fc.constantFrom(2 ** 31, 0xffffffff)),
        size: fc.array(hostileDim, { maxLength: 4 }),
        stride: fc.array(fc.oneof(fc.nat(5), fc.constantFrom(0, 2 ** 30)), { maxLength: 4 }),
      }),
      40,
    ),
    pickle: sometimes(byteMutations, 35),
    files: sometimes(
      fc.record({
        drop: sometimes(fc.nat()),
        rename: sometimes(fc.nat()),
        version: sometimes(fc.constantFrom("0", "4", "1\n", "-1", "x", "99999999999999999999", "")),
        storageCut: sometimes(fc.integer({ min: 1, max: 16 })),
      }),
      30,
    ),
    zip: sometimes(byteMutations, 35),
  });
}

/** Builds the archive of a case from `entries` (views edited), with every CRC recomputed. */
function buildTorchZip(c: TorchZipCase, entries: FixtureEntry[], prefix = "archive"): Uint8Array {
  const list = entries.map((e) => ({ ...e }));
  if (c.view !== null) {
    const e = list[c.view.entry % list.length]!;
    list[c.view.entry % list.length] = { ...e, offset: c.view.offset, size: c.view.size, stride: c.view.stride.length === c.view.size.length ? c.view.stride : contiguousStrides(c.view.size) };
  }
  let pkl = stateDictPickle(list);
  if (c.pickle !== null) pkl = mutateBytes(pkl, c.pickle);
  const storages = new Map(list.map((e) => [e.storage.key, e.storage]));
  let files: [string, Uint8Array][] = [[`${prefix}/data.pkl`, pkl]];
  for (const s of storages.values()) files.push([`${prefix}/data/${s.key}`, new Uint8Array(s.data.buffer, s.data.byteOffset, s.data.byteLength).slice()]);
  files.push([`${prefix}/version`, text.encode("3\n")]);
  if (c.files !== null) {
    if (c.files.storageCut !== null && files.length > 1) files[1] = [files[1]![0], files[1]![1].subarray(c.files.storageCut)];
    if (c.files.version !== null) files[files.length - 1] = [`${prefix}/version`, text.encode(c.files.version)];
    if (c.files.rename !== null) {
      const i = c.files.rename % files.length;
      files[i] = [["../evil", `${prefix}/data.pkl`, `other/data.pkl`, `${prefix}/data/9`, ""][c.files.rename % 5]!, files[i]![1]];
    }
    if (c.files.drop !== null) files = files.filter((_, i) => i !== c.files!.drop! % files.length);
  }
  const zip = torchStyleZip(files);
  return c.zip !== null ? mutateBytes(zip, c.zip) : zip;
}

function checkTorchValue(value: unknown): void {
  if (value instanceof PickleDict) for (const [k, v] of value) if (v instanceof TorchTensor) checkTensor(String(k), v);
}

const torchZipTarget: FuzzTarget<TorchZipCase> = {
  name: "torch zip",
  description: "loadTorchZip (state_dict globals) on archives with hostile views, mutated data.pkl, renamed/dropped/short entries and zip byte edits",
  weight: 14,
  arbitrary: torchZipCase,
  run(c) {
    const archive = loadTorchZip(buildTorchZip(c, STATE_DICT_ENTRIES()), {
      globals: torchGlobals(["collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter", "torch.FloatStorage", "torch.LongStorage", "torch.DoubleStorage"]),
    });
    checkTorchValue(archive.value);
  },
};

// The ECL CNN importer on its real-size state_dict (1.6 MB): fewer cases.
let eclZipEntries: FixtureEntry[] = [];

const eclImportTarget: FuzzTarget<TorchZipCase> = {
  name: "ECL CNN import",
  description: "importTorchEclCnn + EclCnnFast on mutated real-size state_dict archives",
  weight: 3,
  async prepare() {
    // the entries of the fixture archive, read back through the reader under test once
    const zip = randomEclCnnZip(21);
    const archive = loadTorchZip(zip, { globals: torchGlobals(["collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage"]) });
    eclZipEntries = [...(archive.value as PickleDict)].map(([name, t], i) => {
      const tensor = t as TorchTensor;
      return { name: String(name), storage: { key: String(i), dtype: "F32" as const, data: tensor.data as Float32Array }, offset: 0, size: tensor.shape, stride: contiguousStrides(tensor.shape) };
    });
  },
  arbitrary: torchZipCase,
  async run(c) {
    const bundle = importTorchEclCnn(buildTorchZip(c, eclZipEntries), { charge: 1 });
    const fast = await EclCnnFast.create(bundle);
    checkPrediction(fast.predict({ image: new Float32Array(49), pt: [0.5], thetaId: [30], phiId: [7] }, 1), 1, 2);
  },
};

// ---------------------------------------------------------------------------------------------
// basf2 weight file: XML text edits, element edits, and deep edits of the pickled nn.Module

interface Basf2Case {
  level: "xml" | "element" | "module" | "zip";
  mutations: ByteMutation[];
  element: { name: number; value: number };
}

const BASF2_ELEMENT_VALUES = ["", "Python", "torch", "tensorflow", "120", "121", "-1", "2", "3", "true", "&amp;", "&#x110000;", "&bogus;", "<x>", "A===", "AAAA", "Zm9v"];
let basf2Xml = "";
let basf2Elements: string[] = [];
let basf2Zip: [string, Uint8Array][] = [];
let basf2ModelName = "";

/** The outer pickle of basf2's Python_Weightfile: [[file name], [file bytes], [], []]. */
function outerPickle(name: string, file: Uint8Array): Uint8Array {
  const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
  const nameBytes = text.encode(name);
  return concat(
    Uint8Array.from([0x80, 0x04, 0x5d, 0x28, 0x5d, 0x8c, nameBytes.length, ...nameBytes, 0x61, 0x5d, 0x42, ...u32(file.length)]),
    file,
    Uint8Array.from([0x61, 0x5d, 0x5d, 0x65, 0x2e]),
  );
}

function replaceElement(xml: string, name: string, value: string): string {
  const open = `<${name}>`;
  const start = xml.indexOf(open);
  if (start < 0) return xml;
  const end = xml.indexOf(`</${name}>`, start);
  return xml.slice(0, start + open.length) + value + xml.slice(end);
}

const basf2Target: FuzzTarget<Basf2Case> = {
  name: "basf2 XML",
  description: "importBasf2KlmDnn on the public weight file with XML byte edits, element edits, and data.pkl / zip edits re-wrapped with valid CRCs and base64",
  weight: 6,
  skipReason: () => (existsSync(BASF2_XML) ? null : `${BASF2_XML} not found beside this checkout`),
  async prepare() {
    basf2Xml = readFileSync(BASF2_XML, "utf8");
    const elements = scanWeightfileElements(basf2Xml);
    basf2Elements = [...elements.keys()];
    const outer = unpickle(decodeBase64(elements.get("Python_Weightfile")!, "fuzz"), { globals: {} }) as [string[], Uint8Array[]];
    basf2ModelName = outer[0][0]!;
    const zip = new ZipArchive(outer[1][0]!);
    basf2Zip = [...zip.entries.keys()].map((name) => [name, zip.read(name)]);
  },
  arbitrary: () =>
    fc.record({
      level: fc.constantFrom("xml" as const, "element" as const, "module" as const, "module" as const, "zip" as const),
      mutations: byteMutations,
      element: fc.record({ name: fc.nat(), value: fc.nat(BASF2_ELEMENT_VALUES.length - 1) }),
    }),
  async run(c) {
    let input: string | Uint8Array = basf2Xml;
    if (c.level === "xml") {
      // edits biased to the text part before the base64 blob and its end
      input = mutateBytes(text.encode(basf2Xml), c.mutations);
    } else if (c.level === "element") {
      input = replaceElement(basf2Xml, basf2Elements[c.element.name % basf2Elements.length]!, BASF2_ELEMENT_VALUES[c.element.value]!);
    } else {
      const files = basf2Zip.map(([n, b]): [string, Uint8Array] => [n, n.endsWith("data.pkl") && c.level === "module" ? mutateBytes(b, c.mutations) : b]);
      let zip = torchStyleZip(files);
      if (c.level === "zip") zip = mutateBytes(zip, c.mutations);
      const base64 = Buffer.from(outerPickle(basf2ModelName, zip)).toString("base64").replace(/=+$/, "");
      input = replaceElement(basf2Xml, "Python_Weightfile", base64);
    }
    const bundle = await importBasf2KlmDnn(input);
    for (const [name, t] of bundle.tensors) checkTensor(name, t);
  },
};

// ---------------------------------------------------------------------------------------------
// ONNX export round trip

/** Decoding schema (ONNX field numbers, the subset the exporter writes), independent of src/models/onnx.ts. */
const ONNX_DECODE_SCHEMA = `
syntax = "proto3"; package onnxcheck;
message Attr { string name = 1; float f = 2; int64 i = 3; repeated int64 ints = 8; int32 type = 20; }
message ValueInfo { string name = 1; }
message Node { repeated string input = 1; repeated string output = 2; string name = 3; string op_type = 4; repeated Attr attribute = 5; }
message Entry { string key = 1; string value = 2; }
message Opset { string domain = 1; int64 version = 2; }
message TensorP { repeated int64 dims = 1; int32 data_type = 2; string name = 8; bytes raw_data = 9; }
message Graph { repeated Node node = 1; string name = 2; repeated TensorP initializer = 5; repeated ValueInfo input = 11; repeated ValueInfo output = 12; }
message ModelP { int64 ir_version = 1; repeated Opset opset_import = 8; Graph graph = 7; repeated Entry metadata_props = 14; }
`;
let onnxType: protobuf.Type | undefined;

interface OnnxGraph {
  ir_version: number;
  opset_import: { version: number }[];
  metadata_props: { key: string; value: string }[];
  graph: {
    node: { input: string[]; output: string[]; op_type: string }[];
    initializer: { name: string; dims: number[]; data_type: number; raw_data: Uint8Array }[];
    input: { name: string }[];
    output: { name: string }[];
  };
}

/** Parses exported ONNX bytes back and checks the graph against the bundle. */
export function checkOnnxRoundTrip(bytes: Uint8Array, bundle: ModelBundle): void {
  onnxType ??= protobuf.parse(ONNX_DECODE_SCHEMA, { keepCase: true }).root.lookupType("onnxcheck.ModelP");
  const m = onnxType.toObject(onnxType.decode(bytes), { longs: Number, bytes: Uint8Array, defaults: true, arrays: true }) as OnnxGraph;
  invariant(m.ir_version === 8 && m.opset_import.length === 1 && m.opset_import[0]!.version === 17, "ONNX ir_version/opset");
  const card = bundle.card;
  invariant(JSON.stringify(m.graph.input.map((i) => i.name)) === JSON.stringify(card.inputs.map((i) => i.name)), "ONNX graph inputs differ from the card's");
  invariant(m.graph.output.map((o) => o.name).join(",") === `${card.outputs[0]!.name},probabilities`, "ONNX graph outputs");
  invariant(JSON.stringify(JSON.parse(m.metadata_props.find((p) => p.key === "muid.card")?.value ?? "null")) === JSON.stringify(card), "ONNX metadata card");
  const known = new Set<string>([...card.inputs.map((i) => i.name), ...m.graph.initializer.map((t) => t.name)]);
  for (const t of m.graph.initializer) {
    const n = t.dims.reduce((a, b) => a * b, 1);
    invariant(t.raw_data.length === n * (t.data_type === 7 ? 8 : 4), `ONNX initializer "${t.name}" holds ${t.raw_data.length} bytes for dims [${t.dims}]`);
    const source = bundle.tensors.get(t.name);
    if (source !== undefined) {
      invariant(JSON.stringify(t.dims) === JSON.stringify(source.shape), `ONNX initializer "${t.name}" dims`);
      const bits = new Uint8Array(source.data.buffer, source.data.byteOffset, source.data.byteLength);
      invariant(bits.every((b, i) => b === t.raw_data[i]), `ONNX initializer "${t.name}" bits differ from the tensor`);
    }
  }
  for (const node of m.graph.node) {
    for (const i of node.input) invariant(known.has(i), `ONNX node ${node.op_type} reads "${i}" before it is produced`);
    for (const o of node.output) known.add(o);
  }
  invariant(known.has(card.outputs[0]!.name) && known.has("probabilities"), "ONNX outputs are never produced");
  for (const layer of card.layers) invariant(known.has(layer.output), `ONNX graph lacks value "${layer.output}"`);
}

interface OnnxCase {
  arch: number;
  weightSeed: number;
  specials: { at: number; value: number }[];
  card: JsonMutation[] | null;
  tensor: { which: number; edit: "shape" | "dtype" | "drop" | "short" | "f64" | "rename" } | null;
}

const SPECIAL_WEIGHTS = [NaN, Infinity, -Infinity, -0, 3.4e38, -3.4e38, 1e-45, 1e30];
let eclOnnxSeeds: ModelBundle[] = [];

const onnxTarget: FuzzTarget<OnnxCase> = {
  name: "ONNX round trip",
  description: "exportOnnx on models of the real architectures (random and extreme weights) parsed back and checked; mutated models through validateModel",
  weight: 5,
  async prepare() {
    eclOnnxSeeds = [randomEclCnn(31, 1)];
  },
  arbitrary: () =>
    fc.record({
      arch: fc.nat(4),
      weightSeed: fc.nat(1000),
      specials: fc.array(fc.record({ at: fc.nat(), value: fc.nat(SPECIAL_WEIGHTS.length - 1) }), { maxLength: 4 }),
      card: sometimes(jsonMutations, 35),
      tensor: sometimes(fc.record({ which: fc.nat(), edit: fc.constantFrom("shape" as const, "dtype" as const, "drop" as const, "short" as const, "f64" as const, "rename" as const) }), 35),
    }),
  async run(c) {
    const base =
      c.arch === 0 ? randomKlmDnn(c.weightSeed) : c.arch === 1 ? randomKlmDnn(c.weightSeed, true) : c.arch === 2 ? tinyMixedModel(c.weightSeed) : c.arch === 3 ? tinyConvModel(c.weightSeed) : eclOnnxSeeds[0]!;
    const tensors = new Map([...base.tensors].map(([k, t]) => [k, { ...t, data: t.data.slice() } as Tensor]));
    const names = [...tensors.keys()];
    for (const s of c.specials) {
      const t = tensors.get(names[s.at % names.length]!)!;
      if (t.data.length > 0) (t.data as Float32Array)[s.at % t.data.length] = SPECIAL_WEIGHTS[s.value]!;
    }
    let card = base.card;
    if (c.card !== null) card = mutateJson(card, c.card) as ModelCard;
    if (c.tensor !== null) {
      const name = names[c.tensor.which % names.length]!;
      const t = tensors.get(name)!;
      if (c.tensor.edit === "shape") tensors.set(name, { ...t, shape: [...t.shape, 1].reverse() });
      else if (c.tensor.edit === "dtype") tensors.set(name, { ...t, dtype: "F16" });
      else if (c.tensor.edit === "drop") tensors.delete(name);
      else if (c.tensor.edit === "short") tensors.set(name, { ...t, data: t.data.subarray(0, Math.max(0, t.data.length - 1)) as Float32Array });
      else if (c.tensor.edit === "f64") tensors.set(name, { ...t, data: Float64Array.from(t.data as Float32Array) });
      else tensors.set("x" + name, tensors.get(name)!);
    }
    const bundle: ModelBundle = { card, tensors };
    validateModel(bundle); // typed error for every inconsistent model
    checkOnnxRoundTrip(exportOnnx(bundle), bundle);
    if (c.arch !== 4 && (c.card !== null || c.tensor !== null)) await compileAndPredict(bundle);
  },
};

// ---------------------------------------------------------------------------------------------
// predict inputs: Model (KLM DNN, dense ECL CNN, tiny mixed) and EclCnnFast

interface PredictCase {
  model: number;
  batch: number;
  lengthDelta: number;
  container: "f32" | "array" | "f64" | "i32" | "null" | "string" | "object" | "undefined";
  containerInput: number;
  specials: { input: number; at: number; value: number }[];
  extraKey: string | null;
  dropKey: number | null;
  inputsObject: "object" | "null" | "array" | "rows";
}

const SPECIAL_INPUTS: unknown[] = [NaN, Infinity, -Infinity, 1e39, -1e39, 3.4e38, -0, 0.5, 13, 14, 57, 58, -1, 143, 144, 2 ** 31, -(2 ** 31) - 1, 1e6, "1", null, undefined, true, 2 ** 53 + 2];
let predictors: { name: string; card: ModelCard; predict: (i: Record<string, unknown>, b: number) => Prediction; reference: () => void }[] = [];

const predictTarget: FuzzTarget<PredictCase> = {
  name: "predict inputs",
  description: "Model.predict / EclCnnFast.predict / rowsToInputs with wrong lengths, containers and batches, NaN/Inf, out-of-range and non-integer ids; the model must still give the same bits after every error",
  weight: 14,
  async prepare() {
    const make = async (name: string, bundle: ModelBundle, fast = false) => {
      const m = fast ? await EclCnnFast.create(bundle) : await Model.create(bundle, { maxBatch: 8 });
      const inputs = zeroInputs(bundle.card, 3);
      for (const v of Object.values(inputs)) for (let i = 0; i < v.length; i++) v[i] += (i % 7) * 0.125;
      const ids = bundle.card.inputs.filter((s) => s.kind === "index");
      for (const s of ids) inputs[s.name]!.fill(s.range![0] + 1);
      if (fast) {
        inputs.thetaId!.fill(20);
        inputs.phiId!.fill(5);
      }
      const bits = (p: Prediction) => Array.from(new Uint32Array(p.logits.buffer, p.logits.byteOffset, p.logits.length)).join(",");
      const before = bits(m.predict(inputs as Record<string, Float32Array>, 3));
      predictors.push({
        name,
        card: bundle.card,
        predict: (i, b) => m.predict(i as Record<string, Float32Array>, b),
        reference: () => invariant(bits(m.predict(inputs as Record<string, Float32Array>, 3)) === before, `${name}: a bad input changed later results`),
      });
    };
    predictors = [];
    const ecl = randomEclCnn(41, 1);
    await make("KLM DNN", randomKlmDnn(42));
    await make("ECL CNN dense", ecl);
    await make("ECL CNN fast", ecl, true);
    await make("tiny mixed", tinyMixedModel(43));
  },
  arbitrary: () =>
    fc.record({
      model: fc.nat(3),
      batch: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.constantFrom(0, -1, 1.5, NaN, Infinity, 2 ** 53, -0, 257, 1000, 3000)),
      lengthDelta: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) }),
      container: fc.oneof({ weight: 6, arbitrary: fc.constant("f32" as const) }, { weight: 3, arbitrary: fc.constantFrom("array" as const, "f64" as const, "i32" as const, "null" as const, "string" as const, "object" as const, "undefined" as const) }),
      containerInput: fc.nat(),
      specials: fc.array(fc.record({ input: fc.nat(), at: fc.nat(), value: fc.nat(SPECIAL_INPUTS.length - 1) }), { maxLength: 3 }),
      extraKey: sometimes(fc.constantFrom("__proto__", "extra", "constructor", "image"), 12),
      dropKey: sometimes(fc.nat(), 12),
      inputsObject: fc.oneof({ weight: 10, arbitrary: fc.constant("object" as const) }, { weight: 1, arbitrary: fc.constantFrom("null" as const, "array" as const, "rows" as const) }),
    }),
  run(c) {
    const p = predictors[c.model % predictors.length]!;
    const batch = c.batch;
    const rowsFor = Number.isSafeInteger(batch) && batch > 0 && batch <= 3000 ? batch : 2;
    const inputs: Record<string, unknown> = {};
    p.card.inputs.forEach((spec, k) => {
      const n = spec.shape.reduce((a, b) => a * b, 1);
      const length = Math.max(0, rowsFor * n + (k === c.containerInput % p.card.inputs.length ? c.lengthDelta : 0));
      const values = new Float32Array(length);
      for (let i = 0; i < length; i++) values[i] = spec.kind === "index" ? spec.range![0] + (i % (spec.range![1] - spec.range![0] + 1)) : Math.sin(i) * 2;
      if (spec.name === "thetaId") values.fill(30);
      if (spec.name === "phiId") values.fill(100);
      let container: unknown = values;
      if (k === c.containerInput % p.card.inputs.length) {
        container =
          c.container === "f32" ? values : c.container === "array" ? Array.from(values) : c.container === "f64" ? Float64Array.from(values)
            : c.container === "i32" ? Int32Array.from(values) : c.container === "null" ? null : c.container === "string" ? "1,2,3"
              : c.container === "object" ? { length: values.length } : undefined;
      }
      inputs[spec.name] = container;
    });
    for (const s of c.specials) {
      const spec = p.card.inputs[s.input % p.card.inputs.length]!;
      const arr = inputs[spec.name];
      if ((arr instanceof Float32Array || Array.isArray(arr)) && arr.length > 0) {
        const v = SPECIAL_INPUTS[s.value];
        if (Array.isArray(arr)) arr[s.at % arr.length] = v;
        else arr[s.at % arr.length] = typeof v === "number" ? v : NaN;
      }
    }
    if (c.extraKey !== null) inputs[c.extraKey] = new Float32Array(1);
    if (c.dropKey !== null) delete inputs[p.card.inputs[c.dropKey % p.card.inputs.length]!.name];
    try {
      if (c.inputsObject === "rows") {
        // the CLI path: JSON rows → rowsToInputs → predict
        const single = p.card.inputs.length === 1 ? Array.from((inputs[p.card.inputs[0]!.name] as ArrayLike<number> | null) ?? []) : [];
        const rows = Array.from({ length: rowsFor }, (_, r) =>
          p.card.inputs.length === 1 ? single.slice(r * 121, (r + 1) * 121) : Object.fromEntries(p.card.inputs.map((s) => [s.name, (inputs[s.name] as ArrayLike<number> | undefined)?.[r]])),
        );
        const { inputs: batched, batch: b } = rowsToInputs(p.card, JSON.parse(JSON.stringify(rows)));
        checkPrediction(p.predict(batched, b), b, 2);
        return;
      }
      const arg = c.inputsObject === "object" ? inputs : c.inputsObject === "null" ? null : [inputs];
      const out = p.predict(arg as Record<string, unknown>, batch);
      checkPrediction(out, batch, 2);
      // finite inputs within float32 give finite logits (the arbitrary's specials stay below overflow)
      for (const v of out.muonProbability) invariant(!(v < 0 || v > 1), `${p.name}: probability ${v} outside [0, 1]`);
    } finally {
      p.reference();
    }
  },
};

// ---------------------------------------------------------------------------------------------
// KLM likelihood tables

interface LikelihoodCase {
  json: JsonMutation[] | null;
  bytes: ByteMutation[] | null;
  deep: number | null;
}

let likelihoodText = "";
let likelihoodJson: unknown;
let muidResults: MuidResult[] = [];

function edgeMuidResults(): MuidResult[] {
  const eff = () => new Float64Array(15).fill(1);
  const base = { isForward: true, barrelHitLayer: -1, endcapHitLayer: -1, extLayer: -1, hitLayer: -1, barrelEfficiency: eff(), endcapEfficiency: eff().subarray(0, 14) };
  return [
    { ...base, outcome: 1, barrelExtLayer: 14, endcapExtLayer: -1, extLayerPattern: 0x7fff, hitLayerPattern: 0x7fff, chi2: 12, ndof: 30 },
    { ...base, outcome: 1, barrelExtLayer: 3, endcapExtLayer: -1, extLayerPattern: 0xf, hitLayerPattern: 0x5, chi2: 0, ndof: 4 },
    { ...base, outcome: 2, barrelExtLayer: -1, endcapExtLayer: 5, extLayerPattern: 0x3f << 15, hitLayerPattern: 0x3 << 15, chi2: 1e6, ndof: 2 },
    { ...base, outcome: 0, barrelExtLayer: -1, endcapExtLayer: -1, extLayerPattern: 0, hitLayerPattern: 0, chi2: 0, ndof: 0 },
    { ...base, outcome: 1, barrelExtLayer: 14, endcapExtLayer: -1, extLayerPattern: 0x7fff, hitLayerPattern: 0x7fff, chi2: 5000, ndof: 80 },
  ];
}

const likelihoodTarget: FuzzTarget<LikelihoodCase> = {
  name: "KLM likelihood JSON",
  description: "KlmLikelihood.fromJsonText on mutated table files (tree edits and text edits), then evaluate on real and edge Muid results",
  weight: 8,
  async prepare() {
    // a subset of the longitudinal rows (missing rows read as zeros): keeps each case's tree small
    likelihoodJson = syntheticLikelihoodTables(40);
    likelihoodText = JSON.stringify(likelihoodJson);
    const reco = await KlmReconstructor.create({ keepCrossings: false });
    const rng = eventRandom(7, 0);
    const rows = simulateEvent(generateBBbarEvent(rng), 0, rng, defaultDetectorConditions());
    muidResults = [...reco.reconstructEvent(rows.map((r) => r.ip), rows[0]?.klmHits ?? []).map((r) => r.muid), ...edgeMuidResults()];
  },
  arbitrary: () => fc.oneof(
    { weight: 3, arbitrary: fc.record({ json: jsonMutations, bytes: fc.constant(null), deep: sometimes(fc.integer({ min: 60, max: 200_000 }), 5) }) },
    { weight: 1, arbitrary: fc.record({ json: fc.constant(null), bytes: byteMutations, deep: fc.constant(null) }) },
  ),
  run(c) {
    let source: string;
    if (c.json !== null) {
      const mutated = mutateJson(likelihoodJson, c.json);
      source = stringifyWithDeep(c.deep !== null && mutated !== null && typeof mutated === "object" ? { ...mutated, training: "__DEEP__" } : mutated, c.deep);
    } else source = new TextDecoder().decode(mutateBytes(text.encode(likelihoodText), c.bytes!));
    const likelihood = KlmLikelihood.fromJsonText(source);
    JSON.stringify(likelihood.training); // what loads can be written back (reports do)
    for (const r of muidResults) {
      const v = likelihood.evaluate(r);
      invariant(v.muonId >= 0 && v.muonId <= 1, `muonId ${v.muonId} outside [0, 1]`);
    }
  },
};

// ---------------------------------------------------------------------------------------------
// the chain API on hostile events

interface ChainCase {
  kind: "klm" | "ecl" | "sim";
  event: number;
  trackEdits: { track: number; field: number; value: number }[];
  hitEdits: { hit: number; field: number; value: number }[];
  digitEdits: { digit: number; field: number; value: number }[];
  copies: number;
}

const HOSTILE_NUMBERS: unknown[] = [NaN, Infinity, -Infinity, 0, -0, -1, 1e-300, 1e300, 1e6, -1e6, 0.5, 16, 15, 14, 9, 8736, 8737, 2 ** 31, 1.5, "1", null, undefined];
const TRACK_FIELDS = ["x", "y", "z", "px", "py", "pz", "charge", "covariance", "covariance[0]", "covariance.length"] as const;
const HIT_FIELDS = ["x", "y", "z", "layer", "sector", "section", "time", "uStripMin", "vStripMax", "self"] as const;
const DIGIT_FIELDS = ["cellId", "energy", "self"] as const;
let chainEvents: SimTrackRow[][] = [];
let chainReco: KlmReconstructor;

function editRecord(record: Record<string, unknown>, field: string, value: unknown): unknown {
  if (record === null || typeof record !== "object") return record;
  if (field === "self") return value;
  if (field === "section") return { ...record, section: typeof value === "number" ? ["barrel", "forward", "backward", "top", ""][Math.abs(Math.trunc(value)) % 5 || 0] : value };
  const covariance = Array.isArray(record.covariance) ? (record.covariance as unknown[]) : [];
  if (field === "covariance[0]") return { ...record, covariance: [value, ...covariance.slice(1)] };
  if (field === "covariance.length") return { ...record, covariance: covariance.slice(0, 3) };
  return { ...record, [field]: value };
}

const chainTarget: FuzzTarget<ChainCase> = {
  name: "chain API",
  description: "KlmReconstructor.reconstructEvent, eclCnnInput and simulateEvent on simulated BB̄ events with hostile tracks, KLM hits and ECL digits (NaN/Inf, out-of-range layers, sectors and cellIds, wrong types, empty and repeated events)",
  weight: 8,
  async prepare() {
    chainReco = await KlmReconstructor.create({ keepCrossings: false, likelihood: new KlmLikelihood(syntheticLikelihoodTables()) });
    chainEvents = [];
    for (let e = 0; chainEvents.length < 4; e++) {
      const rng = eventRandom(11, e);
      const rows = simulateEvent(generateBBbarEvent(rng), e, rng, defaultDetectorConditions());
      if (rows.length > 0) chainEvents.push(rows);
    }
  },
  arbitrary: () =>
    fc.record({
      kind: fc.constantFrom("klm" as const, "klm" as const, "ecl" as const, "sim" as const),
      event: fc.nat(),
      trackEdits: fc.array(fc.record({ track: fc.nat(), field: fc.nat(TRACK_FIELDS.length - 1), value: fc.nat(HOSTILE_NUMBERS.length - 1) }), { maxLength: 2 }),
      hitEdits: fc.array(fc.record({ hit: fc.nat(), field: fc.nat(HIT_FIELDS.length - 1), value: fc.nat(HOSTILE_NUMBERS.length - 1) }), { maxLength: 3 }),
      digitEdits: fc.array(fc.record({ digit: fc.nat(), field: fc.nat(DIGIT_FIELDS.length - 1), value: fc.nat(HOSTILE_NUMBERS.length - 1) }), { maxLength: 3 }),
      copies: fc.oneof({ weight: 8, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constantFrom(0, 3, 20) }),
    }),
  run(c) {
    const rows = chainEvents[c.event % chainEvents.length]!;
    let tracks: unknown[] = rows.map((r) => r.ip);
    tracks = Array.from({ length: c.copies }, () => tracks).flat();
    for (const e of c.trackEdits) {
      if (tracks.length === 0) break;
      const i = e.track % tracks.length;
      tracks[i] = editRecord(tracks[i] as Record<string, unknown>, TRACK_FIELDS[e.field]!, HOSTILE_NUMBERS[e.value]);
    }
    if (c.kind === "klm") {
      const hits: unknown[] = [...rows[0]!.klmHits];
      for (const e of c.hitEdits) {
        if (hits.length === 0) break;
        const i = e.hit % hits.length;
        hits[i] = editRecord(hits[i] as Record<string, unknown>, HIT_FIELDS[e.field]!, HOSTILE_NUMBERS[e.value]);
      }
      let out;
      try {
        out = chainReco.reconstructEvent(tracks as TrackAtIp[], hits as KlmHit[]);
      } catch (e) {
        if (e instanceof TypeError && hits.some((h) => h === null || h === undefined))
          throw new KnownFinding("F1", "reconstructEvent reads .section of a null/undefined KLM hit (src/reco/klmAssociationLayout.ts)");
        throw e;
      }
      invariant(out.length === tracks.length, "one reconstruction per track");
      // beyond float32's range a finite momentum overflows the float32 features to ±Inf
      const overflow = tracks.some((t) => ["px", "py", "pz", "x", "y", "z"].some((k) => Math.abs((t as Record<string, number>)[k]!) > 3.4e38));
      for (const r of out) {
        invariant(r.features.length === 121, "121 features");
        if (overflow && !r.features.every(Number.isFinite)) throw new KnownFinding("F2", "a finite IP state beyond float32 range (|p| > 3.4e38) gives ±Inf/NaN DNN features; validateTrack does not bound it (src/reco/klmChain.ts)");
        invariant(r.features.every(Number.isFinite), "non-finite DNN feature");
        invariant(Number.isFinite(r.chi2) && Number.isInteger(r.ndof), "chi2/ndof");
        if (r.likelihood !== null) invariant(r.likelihood.muonId >= 0 && r.likelihood.muonId <= 1, "muonId outside [0, 1]");
      }
    } else if (c.kind === "ecl") {
      const row = rows[c.event % rows.length]!;
      const digits: unknown[] = [...row.eclDigits];
      for (const e of c.digitEdits) {
        if (digits.length === 0) break;
        const i = e.digit % digits.length;
        digits[i] = editRecord(digits[i] as Record<string, unknown>, DIGIT_FIELDS[e.field]!, HOSTILE_NUMBERS[e.value]);
      }
      const track = (tracks[c.event % Math.max(1, tracks.length)] ?? row.ip) as TrackAtIp;
      const r = eclCnnInput(track, digits as EclDigit[]);
      if (r.accepted) {
        invariant(r.image.length === 49 && r.image.every((v) => v >= 0 && v <= 1), "ECL image pixel outside [0, 1 GeV]");
        invariant(r.pt >= 0.2 && r.pt <= 1 && r.thetaId >= 14 && r.thetaId <= 57 && r.phiId >= 0 && r.phiId <= 143, "ECL CNN input outside its acceptance");
      }
    } else {
      // hostile particles into the simulation (validateParticle is the API boundary)
      const rng = new Random(c.event);
      const particles = generateBBbarEvent(rng).slice(0, 3) as unknown[];
      for (const e of c.trackEdits) {
        if (particles.length === 0) break;
        const i = e.track % particles.length;
        const field = (["x", "y", "z", "px", "py", "pz", "charge", "mass", "pdg", "self"] as const)[e.field % 10]!;
        // F3 (fixed): extreme but finite particles (a 1.5 GeV/c² pion with px = 8737 GeV/c, a pion of mass
        // 8736 GeV/c² with pz = 1000 GeV/c) used to step for minutes; validateParticle now bounds |p| and mass
        const value = HOSTILE_NUMBERS[e.value];
        particles[i] = editRecord(particles[i] as Record<string, unknown>, field, value);
      }
      let out;
      try {
        out = simulateEvent(particles as ParticleState[], 0, rng, defaultDetectorConditions());
      } catch (e) {
        if (e instanceof TypeError && particles.some((q) => q === null || q === undefined))
          throw new KnownFinding("F4", "simulateEvent reads fields of a null/undefined particle (src/sim/event.ts validateParticle)");
        throw e;
      }
      invariant(out.length === particles.length, "one row per particle");
    }
  },
};


// ---------------------------------------------------------------------------------------------
// public API functions called with hostile argument values (wrong types, null, empty, huge)

const HOSTILE_ARGS: (() => unknown)[] = [
  () => undefined, () => null, () => 0, () => -1, () => NaN, () => "", () => "x", () => true, () => ({}), () => [], () => [null], () => [{}],
  () => new Uint8Array(0), () => new Uint8Array(9).fill(0xff), () => new Uint16Array(4), () => new Float32Array(3), () => new Map(), () => new Map([["a", null]]),
  () => ({ card: null, tensors: new Map() }), () => ({ card: {}, tensors: {} }), () => ({ kernels: "gpu" }), () => ({ maxBatch: 0 }), () => ({ charge: 2 }),
  () => ({ fieldScale: NaN }), () => ({ threshold: -1 }), () => ({ backend: "cuda" }), () => ({ layerEfficiency: 2 }), () => Symbol("s"), () => () => 1,
];

type ApiCall = (args: unknown[]) => unknown;
let apiCalls: [string, ApiCall][] = [];

interface ApiCase {
  call: number;
  args: number[];
  valid: number;
}

const apiTarget: FuzzTarget<ApiCase> = {
  name: "API arguments",
  description: "every public entry point called with hostile argument values (wrong types, null, empty, symbols, functions)",
  weight: 4,
  async prepare() {
    const model = await Model.create(tinyMixedModel(70));
    const fast = await EclCnnFast.create(randomEclCnn(71, 1));
    const reco = await KlmReconstructor.create({ keepCrossings: false });
    apiCalls = [
      ["readSafetensors", (a) => readSafetensors(a[0] as Uint8Array, a[1] as object)],
      ["readModelFile", (a) => readModelFile(a[0] as Uint8Array, a[1] as object)],
      ["writeSafetensors", (a) => writeSafetensors(a[0] as Map<string, Tensor>, a[1] as Record<string, string>)],
      ["writeModelFile", (a) => writeModelFile(a[0] as ModelBundle)],
      ["validateModel", (a) => validateModel(a[0] as ModelBundle)],
      ["Model.create", (a) => Model.create(a[0] as ModelBundle, a[1] as object)],
      ["Model.predict", (a) => model.predict(a[0] as Record<string, Float32Array>, a[1] as number)],
      ["EclCnnFast.create", (a) => EclCnnFast.create(a[0] as ModelBundle, a[1] as object)],
      ["EclCnnFast.predict", (a) => fast.predict(a[0] as Record<string, Float32Array>, a[1] as number)],
      ["rowsToInputs", (a) => rowsToInputs(model.card, a[0])],
      ["exportOnnx", (a) => exportOnnx(a[0] as ModelBundle)],
      ["unpickle", (a) => unpickle(a[0] as Uint8Array, a[1] as object)],
      ["loadTorchZip", (a) => loadTorchZip(a[0] as Uint8Array, a[1] as never)],
      ["importTorchEclCnn", (a) => importTorchEclCnn(a[0] as Uint8Array, a[1] as never)],
      ["importBasf2KlmDnn", (a) => importBasf2KlmDnn(a[0] as string, a[1] as object)],
      ["KlmLikelihood.fromJsonText", (a) => KlmLikelihood.fromJsonText(a[0] as string)],
      ["new KlmLikelihood", (a) => new KlmLikelihood(a[0] as never)],
      ["eclCnnInput", (a) => eclCnnInput(a[0] as TrackAtIp, a[1] as EclDigit[], a[2] as object)],
      ["KlmReconstructor.create", (a) => KlmReconstructor.create(a[0] as object)],
      ["reconstructEvent", (a) => reco.reconstructEvent(a[0] as TrackAtIp[], a[1] as KlmHit[])],
    ];
  },
  arbitrary: () => fc.record({ call: fc.nat(), args: fc.array(fc.nat(HOSTILE_ARGS.length - 1), { minLength: 0, maxLength: 3 }), valid: fc.nat(3) }),
  async run(c) {
    const [name, call] = apiCalls[c.call % apiCalls.length]!;
    const args = c.args.map((i) => HOSTILE_ARGS[i]!());
    try {
      await call(args);
    } catch (e) {
      if (e instanceof TypeError && ["reconstructEvent", "KlmReconstructor.create"].includes(name))
        throw new KnownFinding("F5", `${name} with a hostile argument throws a TypeError (${e.message.slice(0, 60)}) (src/reco/klmChain.ts)`);
      throw e;
    }
  },
};

export const FUZZ_TARGETS: FuzzTarget[] = [
  safetensorsTarget, modelFileTarget, pickleTarget, torchZipTarget, eclImportTarget, basf2Target, onnxTarget, predictTarget, likelihoodTarget, chainTarget, apiTarget,
] as unknown as FuzzTarget[];
