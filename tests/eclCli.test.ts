/**
 * The ECL commands end to end, in process (commander programs built from the register functions):
 * a torch state_dict with basf2's key names → `muid import torch-ecl-cnn` → `muid predict` on JSON
 * rows, compared with the runtime and an independent TF.js forward pass; `muid train --model
 * ecl-cnn|ecl-ep` on a few hundred simulated rows; `muid eval --task ecl` on a small in-process sample
 * with those models (JSON layout of the issue, HTML report with SVG plots); option errors.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OptionError } from "../src/errors.js";
import { registerEval, simulateEclRows } from "../src/cli/eval.js";
import { registerImport } from "../src/cli/import.js";
import { registerPredict } from "../src/cli/predict.js";
import { registerTrainEcl } from "../src/cli/trainEcl.js";
import { importTorchEclCnn } from "../src/models/importTorchEcl.js";
import { readModelFile } from "../src/models/modelFile.js";
import { Model } from "../src/models/runtime.js";
import { validateEclEpPdfs } from "../src/reco/eclEp.js";
import { rowToJsonLine } from "../src/sim/io.js";
import { Random } from "../src/sim/random.js";
import { eclInputs, randomEclCnnZip } from "./fixtures/eclCnn.js";
import { buildTfjsReference } from "./reference/tfjsForward.js";

const dir = mkdtempSync(join(tmpdir(), "muid-eclcli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const at = (name: string): string => join(dir, name);

/** Runs one muid command line in process; stdout is captured. */
async function muid(args: string[]): Promise<string> {
  const program = new Command().name("muid").exitOverride();
  registerImport(program);
  registerPredict(program);
  registerTrainEcl(program);
  registerEval(program);
  let out = "";
  const write = process.stdout.write.bind(process.stdout);
  const log = console.log;
  process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
  console.log = (...a: unknown[]) => void (out += a.join(" ") + "\n");
  try {
    await program.parseAsync(["node", "muid", ...args]);
  } finally {
    process.stdout.write = write;
    console.log = log;
  }
  return out;
}

describe("a basf2-layout .pt state dict through muid import and muid predict", () => {
  it("imports ECLCNNPID_charge_minus.pt (charge from the name) and predicts JSON rows like the runtime and TF.js", async () => {
    const pt = at("ECLCNNPID_charge_minus.pt");
    const zip = randomEclCnnZip(31);
    writeFileSync(pt, zip);
    const imported = await muid(["import", "torch-ecl-cnn", pt, "-o", at("cnn.safetensors")]);
    expect(imported).toMatch(/ecl-cnn-charge-minus, 8 tensors, 411242 parameters/);
    const rows = 30;
    const x = eclInputs(rows, new Random(8));
    const json = Array.from({ length: rows }, (_, r) => ({ image: Array.from(x.image.subarray(r * 49, (r + 1) * 49)), pt: x.pt[r], thetaId: x.thetaId[r], phiId: x.phiId[r] }));
    writeFileSync(at("rows.json"), JSON.stringify(json));
    await muid(["predict", "-m", at("cnn.safetensors"), "-i", at("rows.json"), "-o", at("pred.json")]);
    const predicted = JSON.parse(readFileSync(at("pred.json"), "utf8")) as { muonProbability: number[]; logits: number[][] };
    const bundle = importTorchEclCnn(zip, { charge: -1 });
    const runtime = (await Model.create(bundle)).predict(x, rows);
    expect(predicted.muonProbability).toEqual(Array.from(runtime.muonProbability));
    const reference = (await buildTfjsReference(bundle)).predict(x, rows);
    for (let r = 0; r < rows; r++) expect(Math.abs(predicted.muonProbability[r]! - reference.muonProbability[r]!)).toBeLessThanOrEqual(1e-5);
    expect(readModelFile(readFileSync(at("cnn.safetensors"))).card.provenance.source).toBe(pt);
  });
});

describe("muid train and muid eval for the ECL", () => {
  beforeAll(() => {
    writeFileSync(at("train.jsonl"), simulateEclRows(900, 4242).map(rowToJsonLine).join("\n") + "\n");
  }, 60_000);

  it("trains a CNN per charge and the E/p PDFs; writes model, checkpoint and card", async () => {
    for (const charge of ["plus", "minus"]) {
      await muid(["train", "--model", "ecl-cnn", "--data", at("train.jsonl"), "--charge", charge, "--epochs", "1", "--seed", "3", "-o", at(`cnn-${charge}.safetensors`), "-q"]);
      const card = readModelFile(readFileSync(at(`cnn-${charge}.safetensors`))).card;
      expect(card.charge).toBe(charge === "plus" ? 1 : -1);
      expect(card.training!.epochs).toBe(1);
      expect(card.training!.seed).toBe(3);
      expect(card.training!.command).toMatch(/--model ecl-cnn/);
      expect(existsSync(at(`cnn-${charge}.checkpoint.safetensors`))).toBe(true);
    }
    await muid(["train", "--model", "ecl-ep", "--data", at("train.jsonl"), "-o", at("ep.json"), "-q"]);
    const pdfs = validateEclEpPdfs(JSON.parse(readFileSync(at("ep.json"), "utf8")));
    expect(pdfs.provenance.samples).toBeGreaterThan(500);
  });

  it("evaluates on an in-process sample: the issue's JSON, thresholds 1/2/5 MeV, background ×0/×1/×3, an HTML report with plots", async () => {
    await muid([
      "eval", "--task", "ecl", "--events", "500", "--seed", "9", "--robustness-events", "200",
      "--cnn-plus", at("cnn-plus.safetensors"), "--cnn-minus", at("cnn-minus.safetensors"), "--ep", at("ep.json"),
      "--json", at("eval.json"), "--report", at("eval.html"), "-q",
    ]);
    const { ecl } = JSON.parse(readFileSync(at("eval.json"), "utf8"));
    expect(ecl.tracks).toBeGreaterThan(400);
    expect(ecl.byPt).toHaveLength(10);
    for (const b of ecl.byPt) {
      expect([1, -1]).toContain(b.charge);
      expect(b.ptMax).toBeGreaterThan(b.ptMin);
      for (const m of [b.cnn, b.ep]) {
        if (b.muons > 0 && b.pions > 0) {
          expect(m.fakeRateAt90).toBeGreaterThanOrEqual(0);
          expect(m.fakeRateAt90).toBeLessThanOrEqual(1);
          expect(m.auc).toBeGreaterThanOrEqual(0);
          expect(m.auc).toBeLessThanOrEqual(1);
        }
      }
    }
    expect(ecl.byPt.map((b: { ptMin: number }) => b.ptMin)).toEqual([0.28, 0.4, 0.5, 0.6, 0.8, 0.28, 0.4, 0.5, 0.6, 0.8]);
    expect(ecl.thresholds.map((t: { thresholdMeV: number }) => t.thresholdMeV)).toEqual([1, 2, 5]);
    expect(ecl.background.map((t: { level: number }) => t.level)).toEqual([0, 1, 3]);
    // a higher threshold can only remove clusters
    expect(ecl.thresholds[2].noClusterFraction).toBeGreaterThanOrEqual(ecl.thresholds[0].noClusterFraction);
    // the 1 MeV threshold point is the main sample itself
    expect(ecl.thresholds[0].byPt).toEqual(ecl.byPt);
    expect(typeof ecl.cnnBeatsEpBelow0p6.all).toBe("boolean");
    const html = readFileSync(at("eval.html"), "utf8");
    expect(html).toMatch(/<svg/);
    expect(html).toMatch(/Threshold study/);
  });

  it("typed option errors", async () => {
    await expect(muid(["train", "--model", "ecl-cnn", "--data", at("train.jsonl"), "-o", at("x.safetensors")])).rejects.toThrow(/--charge/);
    await expect(muid(["train", "--model", "ecl-ep", "--data", at("train.jsonl"), "--charge", "plus", "-o", at("x.json")])).rejects.toThrow(OptionError);
    await expect(muid(["train", "--model", "ecl-cnn", "--data", at("train.jsonl"), "--charge", "minus", "--epochs", "0", "-o", at("x.safetensors")])).rejects.toThrow(/--epochs/);
    await expect(muid(["eval", "--task", "nope"])).rejects.toThrow(/unknown --task/);
    await expect(muid(["eval", "--task", "ecl", "--data", "a", "--events", "3"])).rejects.toThrow(/either --data or --events/);
    await expect(muid(["eval", "--task", "ecl", "--events", "10", "--cnn-plus", at("cnn-minus.safetensors"), "--cnn-minus", at("cnn-minus.safetensors"), "--ep", at("ep.json")])).rejects.toThrow(/charge -1/);
  });
});
