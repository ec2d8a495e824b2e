import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, describe, expect, it, vi } from "vitest";
import { FormatError, ModelError, MuidError, UnsafeFileError } from "../src/errors.js";
import type { DenseLayer, ModelBundle, Tensor } from "../src/models/card.js";
import { decodeBase64, importBasf2KlmDnn, scanWeightfileElements } from "../src/models/importBasf2.js";
import { countParameters, readModelFile, writeModelFile } from "../src/models/modelFile.js";
import { unpickle } from "../src/models/pickle.js";
import { ZipArchive, crc32 } from "../src/models/torchZip.js";
import { registerImport } from "../src/cli/import.js";

// Reference data, read in place and never copied into the repository (reference README.md).
const REFERENCE = "../shared/reference/basf2";
const XML_PATH = `${REFERENCE}/KLMMuonIDDNNWeightFile.xml`;
const JSON_PATH = `${REFERENCE}/klm_dnn_v4.5.json`;
const haveReference = existsSync(XML_PATH) && existsSync(JSON_PATH);
if (!haveReference) console.warn(`SKIPPING tests/importBasf2.test.ts reference tests: ${REFERENCE} not found (needs the shared basf2 reference files)`);

/** sha256 of the public weight file, from the reference README. */
const README_XML_SHA256 = "c366566e823a13e3e4e7b4e6585aee2ce8c9cf4abfcd12f10bb549ca838ca1ca";

interface ReferenceTensor {
  name: string;
  shape: number[];
  dtype: "float32" | "int64";
  sha256_le: string;
  values: number[];
}

const bytesOf = (t: Tensor) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);

describe("basf2 weight-file pieces", () => {
  it("decodes base64 with and without padding, and rejects garbage", () => {
    expect(Array.from(decodeBase64("AAEC/w", "t"))).toEqual([0, 1, 2, 255]);
    expect(Array.from(decodeBase64("AAEC/w==", "t"))).toEqual([0, 1, 2, 255]);
    expect(Array.from(decodeBase64("aGVsbG8", "t"))).toEqual(Array.from(Buffer.from("hello")));
    expect(() => decodeBase64("aGV!bG8", "t")).toThrow(/invalid base64 character "!" at position 3/);
    expect(() => decodeBase64("aGVsb", "t")).toThrow(/cannot be complete/);
  });

  it("scans top-level elements of a file with no single root", () => {
    const m = scanWeightfileElements('<?xml version="1.0"?>\n<a>x</a>\n<b>&quot;q&quot; &amp; &#65;</b>\n<c/>\n');
    expect([...m]).toEqual([
      ["a", "x"],
      ["b", '"q" & A'],
      ["c", ""],
    ]);
    expect(() => scanWeightfileElements("<a>x</a><a>y</a>")).toThrow(/appears twice/);
    expect(() => scanWeightfileElements("<a><b>x</b></a>")).toThrow(/contains markup/);
    expect(() => scanWeightfileElements("<a>x")).toThrow(/not closed/);
    expect(() => scanWeightfileElements("<a>x</a> junk")).toThrow(/expected an element/);
    expect(() => scanWeightfileElements("<a>&bogus;</a>")).toThrow(/unknown entity/);
  });

  it("computes the standard CRC-32 check value", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array())).toBe(0);
  });
});

describe.skipIf(!haveReference)(`basf2 KLM DNN import (needs ${REFERENCE})`, () => {
  const xmlBytes = haveReference ? new Uint8Array(readFileSync(XML_PATH)) : new Uint8Array();
  const xmlText = new TextDecoder().decode(xmlBytes);
  const reference = haveReference ? (JSON.parse(readFileSync(JSON_PATH, "utf8")) as { tensors: ReferenceTensor[] }) : { tensors: [] };
  let imported: ModelBundle | undefined;
  const model = async () => (imported ??= await importBasf2KlmDnn(xmlBytes, { sourcePath: XML_PATH }));

  it("imports 17 tensors bit-equal to the independently decoded reference JSON", async () => {
    const { tensors } = await model();
    expect(reference.tensors.length).toBe(17);
    expect([...tensors.keys()].sort()).toEqual(reference.tensors.map((t) => t.name).sort());
    let f32 = 0;
    for (const ref of reference.tensors) {
      const t = tensors.get(ref.name)!;
      expect(t.shape, ref.name).toEqual(ref.shape);
      if (ref.dtype === "float32") {
        f32++;
        expect(t.dtype).toBe("F32");
        // the JSON holds the exact float64 value of each float32: round to float32 and compare bits
        const expected = Float32Array.from(ref.values, Math.fround);
        expect(Buffer.from(bytesOf(t)).equals(Buffer.from(expected.buffer)), ref.name).toBe(true);
      } else {
        expect(t.dtype).toBe("I64");
        expect(Array.from(t.data as BigInt64Array)).toEqual(ref.values.map(BigInt));
      }
      // and against the reference's own hash of the little-endian bytes
      expect(createHash("sha256").update(bytesOf(t)).digest("hex"), ref.name).toBe(ref.sha256_le);
    }
    expect(f32).toBe(16);
    expect((tensors.get("batchnorm.num_batches_tracked")!.data as BigInt64Array)[0]).toBe(11200n);
  });

  it("builds the card from the pickled hyper-parameters and the XML (klm.md §1.5-1.6)", async () => {
    const bundle = await model();
    const { card } = bundle;
    expect(card.task).toBe("klm-dnn");
    expect(card.inputs).toHaveLength(1);
    expect(card.inputs[0].shape).toEqual([121]);
    expect(card.inputs[0].features).toEqual(Array.from({ length: 121 }, (_, i) => `nninput_${i}`));
    expect(card.layers.map((l) => l.op)).toEqual(["batchnorm", "dense", "dense", "dense", "dense", "dense", "dense"]);
    const bn = card.layers[0];
    expect(bn.op === "batchnorm" && bn.eps).toBe(1e-5);
    const dense = card.layers.slice(1) as DenseLayer[];
    expect(dense.map((l) => l.weight)).toEqual(["linearin.weight", "hidlayers.0.weight", "hidlayers.1.weight", "hidlayers.2.weight", "hidlayers.3.weight", "linearout.weight"]);
    expect(dense.map((l) => l.activation)).toEqual(["leakyrelu", "leakyrelu", "leakyrelu", "leakyrelu", "leakyrelu", "none"]);
    expect(dense.slice(0, 5).map((l) => l.alpha)).toEqual([0.01, 0.01, 0.01, 0.01, 0.01]);
    expect(dense.map((l) => bundle.tensors.get(l.weight)!.shape[0])).toEqual([242, 100, 50, 50, 50, 2]);
    expect(card.outputs).toEqual([expect.objectContaining({ name: "logits", shape: [2], classes: ["pion", "muon"] })]);
    expect(card.provenance.sha256).toBe(README_XML_SHA256);
    expect(card.provenance.source).toBe("basf2 mva/methods/tests/KLMMuonIDDNNWeightFile.xml, dnnmodelv4.5");
    expect(card.provenance.license).toBe("LGPL-3.0");
    // 64,318 trainable parameters (klm.md §1.5)
    expect(countParameters(bundle)).toBe(64_318);
  });

  it("gives the same result for the XML as text", async () => {
    const fromText = await importBasf2KlmDnn(xmlText, { sourcePath: XML_PATH });
    expect(fromText.card).toEqual((await model()).card);
  });

  it("round-trips through writeModelFile/readModelFile bit-equal", async () => {
    const bundle = await model();
    const back = readModelFile(writeModelFile(bundle));
    expect(back.card).toEqual(bundle.card);
    expect(back.tensors.size).toBe(17);
    for (const [name, t] of bundle.tensors) {
      const u = back.tensors.get(name)!;
      expect(u.dtype).toBe(t.dtype);
      expect(u.shape).toEqual(t.shape);
      expect(Buffer.from(bytesOf(u)).equals(Buffer.from(bytesOf(t))), name).toBe(true);
    }
  });

  // --- hostile and damaged inputs -----------------------------------------------------------
  const weightfile = () => {
    const m = /<Python_Weightfile>([^<]*)<\/Python_Weightfile>/.exec(xmlText)!;
    return { start: m.index + "<Python_Weightfile>".length, text: m[1] };
  };
  const withWeightfile = (b64: string) => {
    const { start, text } = weightfile();
    return xmlText.slice(0, start) + b64 + xmlText.slice(start + text.length);
  };
  const outerPickle = () => new Uint8Array(Buffer.from(weightfile().text, "base64"));
  const ZIP_START = 38; // after the outer pickle's prefix (klm.md §1.6 step 2)

  it("locates the torch zip where klm.md §1.6 says (outer pickle prefix of 38 bytes)", () => {
    const outer = unpickle(outerPickle()) as [string[], Uint8Array[]];
    expect(outer[0]).toEqual(["my_model.pt"]);
    expect(outer[1][0].length).toBe(265_074);
    expect(Buffer.from(outerPickle().subarray(ZIP_START, ZIP_START + 4)).toString("latin1")).toBe("PK\x03\x04");
    const zip = new ZipArchive(outer[1][0]);
    // local header at 27,864 (klm.md §1.6); its data starts at the next 64-byte boundary after the header
    const dataOffset = zip.entries.get("archive/data/5")!.dataOffset;
    expect(dataOffset % 64).toBe(0);
    expect(dataOffset - 27_864).toBeGreaterThanOrEqual(30 + "archive/data/5".length);
    expect(dataOffset - 27_864).toBeLessThan(30 + "archive/data/5".length + 4 + 64);
  });

  it("rejects a truncated XML", async () => {
    const cut = xmlText.slice(0, 100_000);
    await expect(importBasf2KlmDnn(cut)).rejects.toThrow(FormatError);
    await expect(importBasf2KlmDnn(cut)).rejects.toThrow(/<Python_Weightfile> is not closed/);
  });

  it("rejects a truncated weight file inside an intact XML", async () => {
    const b64 = weightfile().text;
    for (const keep of [20, 1000, 200_000, b64.length - 100]) {
      const p = importBasf2KlmDnn(withWeightfile(b64.slice(0, keep - (keep % 4))));
      await expect(p, `${keep} base64 characters`).rejects.toThrow(FormatError);
    }
  });

  it("rejects base64 garbage", async () => {
    const b64 = weightfile().text;
    await expect(importBasf2KlmDnn(withWeightfile(b64.slice(0, 5000) + "*" + b64.slice(5001)))).rejects.toThrow(/invalid base64 character "\*"/);
  });

  it("rejects a zip with one flipped data byte by its CRC-32", async () => {
    const outer = outerPickle();
    const at = ZIP_START + 27_864 + 64 + 1000; // inside archive/data/5 (linearin.weight)
    outer[at] ^= 0x01;
    const p = importBasf2KlmDnn(withWeightfile(Buffer.from(outer).toString("base64").replace(/=+$/, "")));
    await expect(p).rejects.toThrow(FormatError);
    await expect(p).rejects.toThrow(/zip entry "archive\/data\/5" fails its CRC-32 check/);
  });

  it("refuses an outer pickle that names any global", async () => {
    // replace the outer pickle by one that calls os.system
    const evil = Buffer.from("\x80\x02cos\nsystem\nX\x02\x00\x00\x00ls\x85R.", "latin1").toString("base64");
    await expect(importBasf2KlmDnn(withWeightfile(evil))).rejects.toThrow(UnsafeFileError);
    await expect(importBasf2KlmDnn(withWeightfile(evil))).rejects.toThrow("pickle global os.system is not allowed");
  });

  it("rejects other methods, frameworks and feature counts with clear errors", async () => {
    await expect(importBasf2KlmDnn(xmlText.replace("<method>Python</method>", "<method>FastBDT</method>"))).rejects.toThrow(/MVA method "FastBDT"/);
    await expect(importBasf2KlmDnn(xmlText.replace("<Python_framework>torch</Python_framework>", "<Python_framework>keras</Python_framework>"))).rejects.toThrow(
      /framework "keras"/,
    );
    const p = importBasf2KlmDnn(xmlText.replace("<number_feature_variables>121<", "<number_feature_variables>120<"));
    await expect(p).rejects.toThrow(ModelError);
    await expect(p).rejects.toThrow(/number_feature_variables = 120/);
    await expect(importBasf2KlmDnn(xmlText.replace("<variable57>nninput_57</variable57>\n", ""))).rejects.toThrow(/no <variable57> element/);
  });

  it("throws only MuidErrors when random bytes of the torch zip are damaged", async () => {
    const base = outerPickle();
    let s = 12345;
    const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0), s);
    for (let i = 0; i < 40; i++) {
      const outer = base.slice();
      // damage the zip's central directory / headers region or the pickle region
      const region = i % 2 === 0 ? [ZIP_START, ZIP_START + 3700] : [ZIP_START + 263_826, ZIP_START + 265_074];
      for (let k = 0; k < 3; k++) outer[region[0] + (next() % (region[1] - region[0]))] = next() & 0xff;
      try {
        await importBasf2KlmDnn(withWeightfile(Buffer.from(outer).toString("base64")));
      } catch (e) {
        if (!(e instanceof MuidError)) throw e;
      }
    }
  });

  describe("muid import basf2-klm-dnn", () => {
    const dir = mkdtempSync(join(tmpdir(), "muid-import-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("writes a model file atomically and prints a one-line summary", async () => {
      const program = new Command().exitOverride();
      registerImport(program);
      const out = join(dir, "klm.safetensors");
      const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
      await program.parseAsync(["import", "basf2-klm-dnn", XML_PATH, "-o", out], { from: "user" });
      const calls = log.mock.calls.map((c) => String(c[0]));
      log.mockRestore();
      const written = new Uint8Array(readFileSync(out));
      const sha = createHash("sha256").update(written).digest("hex");
      expect(calls).toHaveLength(1);
      const line = calls[0];
      expect(line).toContain("17 tensors");
      expect(line).toContain("64318 parameters");
      expect(line).toContain(`sha256 ${sha}`);
      const back = readModelFile(written);
      const bundle = await model();
      for (const [name, t] of bundle.tensors) expect(Buffer.from(bytesOf(back.tensors.get(name)!)).equals(Buffer.from(bytesOf(t)))).toBe(true);
      expect(back.card.provenance.sha256).toBe(README_XML_SHA256);
    });

    it("reports an unreadable input as an IO MuidError", async () => {
      const program = new Command().exitOverride();
      registerImport(program);
      const p = program.parseAsync(["import", "basf2-klm-dnn", join(dir, "missing.xml"), "-o", join(dir, "x.safetensors")], { from: "user" });
      await expect(p).rejects.toThrow(MuidError);
      await expect(p).rejects.toMatchObject({ code: "IO" });
    });
  });
});
