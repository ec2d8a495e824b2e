/**
 * `muid train --model klm-dnn|klm-dnn-global` (src/cli/trainKlmDnn.ts): a tiny run writes a model,
 * its checkpoint, the sample cache and likelihood tables; the global variant then trains on the cached
 * sample; option errors are OptionErrors naming the option; registering on a train command that
 * already has shared options (--seed, --epochs) adds only the missing ones.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, describe, expect, it } from "vitest";
import { OptionError } from "../src/errors.js";
import { registerTrainKlmDnn, runKlmDnnTrainCommand } from "../src/cli/trainKlmDnn.js";
import { readModelFile } from "../src/models/modelFile.js";
import { validateLikelihoodTables } from "../src/reco/muidLikelihood.js";
import { readKlmSample } from "../src/train/klmSample.js";

describe("muid train --model klm-dnn", () => {
  const dir = mkdtempSync(join(tmpdir(), "muid-klm-dnn-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const sink = { lines: [] as string[], write(s: string) { this.lines.push(s); return true; } };

  it("trains both variants, the second from the sample cache", async () => {
    const cache = join(dir, "sample.bin"), tables = join(dir, "likelihood.json");
    const full = join(dir, "klm-dnn.safetensors"), global = join(dir, "klm-dnn-global.safetensors");
    await runKlmDnnTrainCommand({ model: "klm-dnn", events: "25", seed: "3", epochs: "1", batchSize: "32", output: full, sampleCache: cache, likelihoodOutput: tables }, sink as never, ["node", "muid", "train"]);
    const bundle = readModelFile(new Uint8Array(readFileSync(full)));
    expect(bundle.card.task).toBe("klm-dnn");
    expect(bundle.card.training?.seed).toBe(3);
    expect(bundle.card.training?.command).toBe("muid train");
    expect(existsSync(join(dir, "klm-dnn.checkpoint.safetensors"))).toBe(true);
    const sample = readKlmSample(cache);
    expect([sample.provenance.seed, sample.provenance.events]).toEqual([3, 25]);
    const parsed: unknown = JSON.parse(readFileSync(tables, "utf8"));
    validateLikelihoodTables(parsed);

    sink.lines.length = 0;
    await runKlmDnnTrainCommand({ model: "klm-dnn-global", events: "25", seed: "3", epochs: "1", batchSize: "32", output: global, sampleCache: cache }, sink as never);
    expect(sink.lines.some((l) => l.includes(`read ${sample.n} tracks`))).toBe(true);
    const g = readModelFile(new Uint8Array(readFileSync(global)));
    expect(g.card.task).toBe("klm-dnn-global");
    expect(g.card.inputs[0]!.shape).toEqual([5]);
    // the training sample notes record the run
    expect(g.card.provenance.notes).toContain("seed 3, 25 events");
  });

  it("rejects bad options naming them", async () => {
    const out = join(dir, "x.safetensors");
    await expect(runKlmDnnTrainCommand({ model: "klm-dnn", output: out }, sink as never)).rejects.toThrow(/--events/);
    await expect(runKlmDnnTrainCommand({ model: "klm-dnn", events: "ten", output: out }, sink as never)).rejects.toThrow(OptionError);
    await expect(runKlmDnnTrainCommand({ model: "klm-dnnx", events: "10", output: out }, sink as never)).rejects.toThrow(/--model/);
    await expect(runKlmDnnTrainCommand({ model: "klm-dnn", events: "10" }, sink as never)).rejects.toThrow(/--output/);
    await expect(runKlmDnnTrainCommand({ model: "klm-dnn", events: "10", output: out, batchSize: "1" }, sink as never)).rejects.toThrow(/--batch-size/);
    await expect(runKlmDnnTrainCommand({ model: "klm-dnn", events: "10", output: out, checkpoint: out }, sink as never)).rejects.toThrow(/--checkpoint/);
    await expect(runKlmDnnTrainCommand({ model: "klm-dnn", events: "10", output: out, seed: "-1" }, sink as never)).rejects.toThrow(/--seed/);
  });

  it("adds only the options a train command lacks", () => {
    const train = new Command("train").option("--model <m>").option("--seed <s>").option("--epochs <n>").option("-o, --output <f>");
    registerTrainKlmDnn(train);
    const longs = train.options.map((o) => o.long);
    expect(longs.filter((l) => l === "--seed").length).toBe(1);
    for (const l of ["--events", "--batch-size", "--sample-cache", "--likelihood-output", "--patience", "--max-minutes", "--checkpoint", "--validation-fraction"]) expect(longs).toContain(l);
  });
});
