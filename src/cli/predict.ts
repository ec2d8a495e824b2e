import type { Command } from "commander";
import { InputError } from "../errors.js";
import { loadModel } from "../models/load.js";
import { rowsToInputs } from "../models/jsonRows.js";
import { readInputFile, writeFileAtomic } from "./files.js";

export function registerPredict(program: Command): void {
  program
    .command("predict")
    .description("run a model file on JSON input rows and print the muon probabilities")
    .requiredOption("-m, --model <file>", "model file (.safetensors with a muid model card)")
    .requiredOption("-i, --input <file>", "JSON rows: KLM DNN [[121 numbers], ...]; ECL CNN [{image, pt, thetaId, phiId}, ...]")
    .option("-o, --output <file>", "write the result JSON here instead of standard output")
    .addHelpText("after", '\nOutput: {"muonProbability": [...], "logits": [[l0, l1], ...]} (class 1 = muon); [] gives empty lists')
    .action(async (opts: { model: string; input: string; output?: string }) => {
      const model = await loadModel(readInputFile(opts.model));
      let rows: unknown;
      try {
        rows = JSON.parse(new TextDecoder().decode(readInputFile(opts.input)));
      } catch (e) {
        if (e instanceof SyntaxError) throw new InputError(`${opts.input} is not valid JSON: ${e.message}`);
        throw e;
      }
      const { inputs, batch } = rowsToInputs(model.card, rows);
      // no rows (an empty event) is a defined, empty result; Model.predict itself requires batch ≥ 1
      const { logits, muonProbability } = batch === 0 ? { logits: new Float32Array(0), muonProbability: new Float32Array(0) } : model.predict(inputs, batch);
      const classes = model.card.outputs[0].classes.length;
      const result = {
        muonProbability: Array.from(muonProbability),
        logits: Array.from({ length: batch }, (_, r) => Array.from(logits.subarray(r * classes, (r + 1) * classes))),
      };
      const text = JSON.stringify(result) + "\n";
      if (opts.output) writeFileAtomic(opts.output, text);
      else process.stdout.write(text);
    });
}
