import type { Command } from "commander";
import { readModelFile } from "../models/modelFile.js";
import { exportOnnx } from "../models/onnx.js";
import { readInputFile, writeFileAtomic } from "./files.js";

export function registerExport(program: Command): void {
  const exporter = program.command("export").description("write a muid model in another format");
  exporter
    .command("onnx")
    .description("export a model file to ONNX (opset 17): inputs as in the model card, outputs logits and probabilities")
    .argument("<model>", "muid model file (.safetensors)")
    .requiredOption("-o, --output <file>", "ONNX file to write")
    .action((modelPath: string, opts: { output: string }) => {
      const bundle = readModelFile(readInputFile(modelPath));
      const onnx = exportOnnx(bundle);
      writeFileAtomic(opts.output, onnx);
      process.stderr.write(`${opts.output}: ${bundle.card.name}, ${onnx.length} bytes, ONNX ir_version 8, opset 17\n`);
    });
}
