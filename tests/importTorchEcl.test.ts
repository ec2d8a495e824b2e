import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { zipSync } from "fflate";
import { afterAll, describe, expect, it, vi } from "vitest";
import { FormatError, ModelError, MuidError, OptionError, UnsafeFileError } from "../src/errors.js";
import type { Tensor } from "../src/models/card.js";
import { ECL_CNN_STATE_DICT, importTorchEclCnn } from "../src/models/importTorchEcl.js";
import { countParameters, readModelFile, writeModelFile } from "../src/models/modelFile.js";
import { TorchTensor, ZipArchive, loadTorchZip, torchGlobals } from "../src/models/torchZip.js";
import { registerImport } from "../src/cli/import.js";
import { Random } from "../src/sim/random.js";
import { contiguousStrides, writeTorchStateDictZip, type FixtureEntry, type FixtureStorage } from "./fixtures/torchZipWriter.js";

const bytesOf = (t: Tensor) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
const product = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Known tensors for every state_dict key, seeded. */
function knownTensors(seed = 1): Map<string, Float32Array> {
  const r = new Random(seed);
  const out = new Map<string, Float32Array>();
  for (const [name, shape] of ECL_CNN_STATE_DICT) out.set(name, Float32Array.from({ length: product(shape) }, () => r.gauss() * 0.1));
  return out;
}

/**
 * The state_dict entries as torch would pickle them, with two deliberate layouts:
 * conv1.weight lives at storage offset 64 of a storage it shares with conv1.bias, and fc1.weight
 * is a transposed view (stride [1, 128]) of a storage holding Wᵀ row-major.
 */
function eclEntries(known: Map<string, Float32Array>, skip: string[] = []): FixtureEntry[] {
  const shapes = new Map(ECL_CNN_STATE_DICT);
  const entries: FixtureEntry[] = [];
  let key = 0;
  const plain = (name: string, parameter = false): FixtureEntry => {
    const shape = [...shapes.get(name)!];
    const storage: FixtureStorage = { key: String(key++), dtype: "F32", data: known.get(name)!.slice() };
    return { name, storage, offset: 0, size: shape, stride: contiguousStrides(shape), parameter };
  };
  // shared storage: [bias (64) | weight (576)]
  const bias = known.get("conv1.bias")!;
  const weight = known.get("conv1.weight")!;
  const sharedData = new Float32Array(bias.length + weight.length);
  sharedData.set(bias, 0);
  sharedData.set(weight, bias.length);
  const shared: FixtureStorage = { key: String(key++), dtype: "F32", data: sharedData };
  entries.push({ name: "conv1.weight", storage: shared, offset: bias.length, size: [64, 1, 3, 3], stride: [9, 9, 3, 1] });
  entries.push({ name: "conv1.bias", storage: shared, offset: 0, size: [64], stride: [1] });
  entries.push(plain("emb_theta.weight", true)); // via _rebuild_parameter
  entries.push(plain("emb_phi.weight"));
  // fc1.weight [128, 3177] as the transpose of a contiguous [3177, 128] storage
  const w = known.get("fc1.weight")!;
  const wt = new Float32Array(w.length);
  for (let o = 0; o < 128; o++) for (let i = 0; i < 3177; i++) wt[i * 128 + o] = w[o * 3177 + i];
  entries.push({ name: "fc1.weight", storage: { key: String(key++), dtype: "F32", data: wt }, offset: 0, size: [128, 3177], stride: [1, 128] });
  entries.push(plain("fc1.bias"));
  entries.push(plain("fc2.weight"));
  entries.push(plain("fc2.bias"));
  return entries.filter((e) => !skip.includes(e.name));
}

describe("torch zip reader on torch.save-format fixtures", () => {
  it("materialises offsets and arbitrary strides row-major, bit-exactly", () => {
    const storage: FixtureStorage = { key: "0", dtype: "F32", data: Float32Array.from({ length: 24 }, (_, i) => i + 0.5) };
    const entries: FixtureEntry[] = [
      { name: "t", storage, offset: 2, size: [2, 3], stride: [1, 4] }, // element (i,j) = storage[2 + i + 4j]
      { name: "step", storage, offset: 1, size: [3], stride: [7] },
      { name: "broadcast", storage, offset: 5, size: [2, 2], stride: [0, 1] },
      { name: "empty", storage, offset: 0, size: [0, 5], stride: [5, 1] },
    ];
    const zip = writeTorchStateDictZip(entries, { prefix: "my_model" });
    const { value, prefix, version } = loadTorchZip(zip, { globals: torchGlobals(["collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage"]) });
    expect(prefix).toBe("my_model");
    expect(version).toBe(3);
    const sd = value as Map<string, TorchTensor>;
    expect(Array.from(sd.get("t")!.data as Float32Array)).toEqual([2.5, 6.5, 10.5, 3.5, 7.5, 11.5]);
    expect(Array.from(sd.get("step")!.data as Float32Array)).toEqual([1.5, 8.5, 15.5]);
    expect(Array.from(sd.get("broadcast")!.data as Float32Array)).toEqual([5.5, 6.5, 5.5, 6.5]);
    expect(sd.get("empty")!.shape).toEqual([0, 5]);
    expect(sd.get("empty")!.data.length).toBe(0);
  });

  it("reads int64 and float64 storages", () => {
    const entries: FixtureEntry[] = [
      { name: "n", storage: { key: "a", dtype: "I64", data: new BigInt64Array([11200n, -3n]) }, offset: 1, size: [], stride: [] },
      { name: "d", storage: { key: "b", dtype: "F64", data: new Float64Array([Math.PI, -0]) }, offset: 0, size: [2], stride: [1] },
    ];
    const zip = writeTorchStateDictZip(entries);
    const globals = torchGlobals(["collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.LongStorage", "torch.DoubleStorage"]);
    const sd = loadTorchZip(zip, { globals }).value as Map<string, TorchTensor>;
    expect(sd.get("n")!.shape).toEqual([]);
    expect(Array.from(sd.get("n")!.data as BigInt64Array)).toEqual([-3n]);
    expect(Object.is((sd.get("d")!.data as Float64Array)[1], -0)).toBe(true);
    expect((sd.get("d")!.data as Float64Array)[0]).toBe(Math.PI);
  });

  it("rejects a view that reaches outside its storage", () => {
    const storage: FixtureStorage = { key: "0", dtype: "F32", data: new Float32Array(10) };
    const zip = writeTorchStateDictZip([{ name: "t", storage, offset: 4, size: [2, 4], stride: [4, 1] }]);
    const globals = torchGlobals(["collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage"]);
    expect(() => loadTorchZip(zip, { globals })).toThrow(FormatError);
    expect(() => loadTorchZip(zip, { globals })).toThrow(/reaches element 11 of storage "0", which holds 10/);
  });

  it("reads a re-zipped (deflated, no zip64) archive written by another zip writer, checking fflate's CRCs", () => {
    const entries = eclEntries(knownTensors()).slice(0, 2); // conv1 weight + bias in a shared storage
    const torchZip = new ZipArchive(writeTorchStateDictZip(entries, { prefix: "archive" }));
    const files: Record<string, Uint8Array> = {};
    for (const name of torchZip.entries.keys()) files[name] = torchZip.read(name);
    const deflated = zipSync(files, { level: 6 });
    const globals = torchGlobals(["collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage"]);
    const sd = loadTorchZip(deflated, { globals }).value as Map<string, TorchTensor>;
    expect(Buffer.from(bytesOf(sd.get("conv1.weight")!)).equals(Buffer.from(knownTensors().get("conv1.weight")!.buffer))).toBe(true);
    expect(new ZipArchive(deflated).entries.get("archive/data.pkl")!.compression).toBe(8);
  });

  it("refuses a deflated entry beyond the expansion-ratio limit (zip bomb)", () => {
    const bomb = zipSync({ "archive/data.pkl": new Uint8Array(10_000_000) }, { level: 9 });
    expect(() => new ZipArchive(bomb)).toThrow(UnsafeFileError);
    expect(() => new ZipArchive(bomb)).toThrow(/beyond the ratio limit of 100/);
  });

  it("enforces entry-count and total-size limits", () => {
    const zip = writeTorchStateDictZip(eclEntries(knownTensors()).slice(0, 2));
    const globals = torchGlobals(["collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage"]);
    expect(() => loadTorchZip(zip, { globals, zipLimits: { maxEntries: 2 } })).toThrow(UnsafeFileError);
    expect(() => loadTorchZip(zip, { globals, zipLimits: { maxTotalBytes: 1000 } })).toThrow(/more than 1000 uncompressed bytes/);
  });
});

describe("ECL CNN import", () => {
  const known = knownTensors();
  const zip = writeTorchStateDictZip(eclEntries(known));

  it("imports a torch.save state_dict bit-exactly, including a shared-storage offset and a transposed view", () => {
    const bundle = importTorchEclCnn(zip, { charge: -1, sourcePath: "ECLCNNPID_charge_minus.pt" });
    expect([...bundle.tensors.keys()].sort()).toEqual(ECL_CNN_STATE_DICT.map(([k]) => k).sort());
    for (const [name, shape] of ECL_CNN_STATE_DICT) {
      const t = bundle.tensors.get(name)!;
      expect(t.dtype).toBe("F32");
      expect(t.shape).toEqual([...shape]);
      expect(Buffer.from(bytesOf(t)).equals(Buffer.from(known.get(name)!.buffer)), name).toBe(true);
    }
    // 411,242 trainable parameters (ecl.md §1.2)
    expect(countParameters(bundle)).toBe(411_242);
  });

  it("builds the card of ecl.md §1.2", () => {
    const { card } = importTorchEclCnn(zip, { charge: 1 });
    expect(card.task).toBe("ecl-cnn");
    expect(card.charge).toBe(1);
    expect(card.inputs.map((i) => [i.name, i.shape, i.kind, i.range])).toEqual([
      ["image", [1, 7, 7], "float", undefined],
      ["pt", [1], "float", undefined],
      ["thetaId", [1], "index", [14, 57]],
      ["phiId", [1], "index", [0, 143]],
    ]);
    expect(card.layers.map((l) => l.op)).toEqual(["conv2d", "embedding", "embedding", "concat", "dense", "dense"]);
    const concat = card.layers[3];
    expect(concat.op === "concat" && concat.inputs).toEqual(["conv1", "pt", "emb_theta", "emb_phi"]);
    const [, embTheta, embPhi] = card.layers;
    expect(embTheta.op === "embedding" && embTheta.indexOffset).toBe(-14);
    expect(embPhi.op === "embedding" && embPhi.indexOffset).toBe(0);
    expect(card.layers.map((l) => ("activation" in l ? l.activation : null))).toEqual(["relu", null, null, null, "relu", "none"]);
    expect(card.outputs[0].classes).toEqual(["pion", "muon"]);
  });

  it("round-trips through a model file bit-exactly", () => {
    const bundle = importTorchEclCnn(zip, { charge: 1 });
    const back = readModelFile(writeModelFile(bundle));
    expect(back.card).toEqual(bundle.card);
    for (const [name, t] of bundle.tensors) expect(Buffer.from(bytesOf(back.tensors.get(name)!)).equals(Buffer.from(bytesOf(t)))).toBe(true);
  });

  it("names a missing key", () => {
    const z = writeTorchStateDictZip(eclEntries(known, ["fc2.bias"]));
    expect(() => importTorchEclCnn(z, { charge: 1 })).toThrow(ModelError);
    expect(() => importTorchEclCnn(z, { charge: 1 })).toThrow(/missing "fc2.bias"/);
  });

  it("names an extra key", () => {
    const extra: FixtureEntry = { name: "fc3.weight", storage: { key: "99", dtype: "F32", data: new Float32Array(4) }, offset: 0, size: [4], stride: [1] };
    const z = writeTorchStateDictZip([...eclEntries(known), extra]);
    expect(() => importTorchEclCnn(z, { charge: 1 })).toThrow(/unexpected key "fc3.weight"/);
  });

  it("names a wrong shape and a wrong dtype", () => {
    const entries = eclEntries(known);
    const fc2 = entries.find((e) => e.name === "fc2.weight")!;
    fc2.size = [128, 2];
    fc2.stride = [2, 1];
    const z = writeTorchStateDictZip(entries);
    expect(() => importTorchEclCnn(z, { charge: 1 })).toThrow(ModelError);
    expect(() => importTorchEclCnn(z, { charge: 1 })).toThrow(/"fc2.weight" has shape \[128,2\], expected \[2,128\]/);

    const longBias: FixtureEntry = { name: "fc2.bias", storage: { key: "77", dtype: "I64", data: new BigInt64Array(2) }, offset: 0, size: [2], stride: [1] };
    const z2 = writeTorchStateDictZip([...eclEntries(known, ["fc2.bias"]), longBias]);
    expect(() => importTorchEclCnn(z2, { charge: 1 })).toThrow(/"fc2.bias" has dtype I64/);
  });

  it("refuses globals outside the state_dict allowlist", () => {
    const z = writeTorchStateDictZip(eclEntries(known), { extraGlobal: ["os", "system"] });
    expect(() => importTorchEclCnn(z, { charge: 1 })).toThrow(UnsafeFileError);
    expect(() => importTorchEclCnn(z, { charge: 1 })).toThrow("pickle global os.system is not allowed");
    // a float64 storage class is not on the state_dict allowlist either
    const f64: FixtureEntry = { name: "fc2.bias", storage: { key: "88", dtype: "F64", data: new Float64Array(2) }, offset: 0, size: [2], stride: [1] };
    const z2 = writeTorchStateDictZip([...eclEntries(known, ["fc2.bias"]), f64]);
    expect(() => importTorchEclCnn(z2, { charge: 1 })).toThrow("pickle global torch.DoubleStorage is not allowed");
  });

  it("detects a flipped data byte by CRC-32", () => {
    const z = zip.slice();
    // flip a byte inside the largest storage (fc1.weight, ~1.6 MB): the middle of the file is in it
    z[Math.floor(z.length / 2)] ^= 0x80;
    expect(() => importTorchEclCnn(z, { charge: 1 })).toThrow(/fails its CRC-32 check/);
  });

  it("throws only MuidErrors when a small torch zip is damaged at random", () => {
    const small = writeTorchStateDictZip(eclEntries(known).filter((e) => e.name.startsWith("conv1") || e.name === "fc2.bias"));
    const globals = torchGlobals(["collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter", "torch.FloatStorage"]);
    const r = new Random(99);
    let rejected = 0;
    for (let i = 0; i < 1500; i++) {
      let z = small.slice();
      const n = 1 + r.int(3);
      for (let k = 0; k < n; k++) z[r.int(z.length)] = r.int(256);
      if (i % 5 === 0) z = z.slice(0, r.int(z.length));
      try {
        loadTorchZip(z, { globals });
      } catch (e) {
        rejected++;
        if (!(e instanceof MuidError)) throw e;
      }
    }
    expect(rejected).toBeGreaterThan(300);
  });
});

describe("muid import torch-ecl-cnn", () => {
  const dir = mkdtempSync(join(tmpdir(), "muid-ecl-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const known = knownTensors(5);
  const input = join(dir, "ECLCNNPID_charge_plus.pt");
  writeFileSync(input, writeTorchStateDictZip(eclEntries(known)));

  const run = async (args: string[]) => {
    const program = new Command().exitOverride();
    registerImport(program);
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    try {
      await program.parseAsync(args, { from: "user" });
      return log.mock.calls.map((c) => String(c[0]));
    } finally {
      log.mockRestore();
    }
  };

  it("takes the charge from the file name or --charge and writes a model file", async () => {
    const out = join(dir, "plus.safetensors");
    const lines = await run(["import", "torch-ecl-cnn", input, "-o", out]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/8 tensors, 411242 parameters, \d+ bytes, sha256 [0-9a-f]{64}$/);
    const back = readModelFile(new Uint8Array(readFileSync(out)));
    expect(back.card.charge).toBe(1);
    expect(back.card.provenance.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Buffer.from(bytesOf(back.tensors.get("fc1.weight")!)).equals(Buffer.from(known.get("fc1.weight")!.buffer))).toBe(true);

    const out2 = join(dir, "minus.safetensors");
    await run(["import", "torch-ecl-cnn", input, "-o", out2, "--charge", "minus"]);
    expect(readModelFile(new Uint8Array(readFileSync(out2))).card.charge).toBe(-1);
  });

  it("rejects a bad --charge and an unknowable charge with OptionError", async () => {
    await expect(run(["import", "torch-ecl-cnn", input, "-o", join(dir, "x.safetensors"), "--charge", "up"])).rejects.toThrow(OptionError);
    const anon = join(dir, "model.pt");
    writeFileSync(anon, readFileSync(input));
    await expect(run(["import", "torch-ecl-cnn", anon, "-o", join(dir, "y.safetensors")])).rejects.toThrow(/pass --charge plus or --charge minus/);
  });
});
