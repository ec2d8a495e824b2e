/**
 * `muid import …`: converts external model weights into muid model files (.safetensors with a
 * model card). Output is written atomically (temporary file, then rename).
 */
import { createHash } from "node:crypto";
import { readFile, rename, unlink, writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { MuidError, OptionError } from "../errors.js";
import type { ModelBundle } from "../models/card.js";
import { importBasf2KlmDnn } from "../models/importBasf2.js";
import { importTorchEclCnn } from "../models/importTorchEcl.js";
import { countParameters, writeModelFile } from "../models/modelFile.js";

export function registerImport(program: Command): void {
  const importCommand = program.command("import").description("convert external model weights into a muid model file (.safetensors)");

  importCommand
    .command("basf2-klm-dnn")
    .description("import the KLM muon-ID DNN from a basf2 MVA weight file (KLMMuonIDDNNWeightFile.xml)")
    .argument("<xml>", "basf2 weight-file XML")
    .requiredOption("-o, --output <file>", "output model file (.safetensors)")
    .action(async (xml: string, opts: { output: string }) => {
      const bytes = await readInput(xml);
      const bundle = await importBasf2KlmDnn(bytes, { sourcePath: xml });
      await writeOutput(opts.output, bundle);
    });

  importCommand
    .command("torch-ecl-cnn")
    .description("import an ECL CNN from a PyTorch state_dict file (torch.save zip)")
    .argument("<pt>", "PyTorch state_dict file (.pt)")
    .requiredOption("-o, --output <file>", "output model file (.safetensors)")
    .option("--charge <charge>", "track charge the model is for: plus or minus (default: from a file name containing charge_plus/charge_minus)")
    .action(async (pt: string, opts: { output: string; charge?: string }) => {
      const charge = parseCharge(opts.charge, pt);
      const bytes = await readInput(pt);
      const bundle = importTorchEclCnn(bytes, { charge, sourcePath: pt, sha256: sha256Hex(bytes) });
      await writeOutput(opts.output, bundle);
    });
}

function parseCharge(option: string | undefined, path: string): 1 | -1 {
  if (option !== undefined) {
    if (option === "plus") return 1;
    if (option === "minus") return -1;
    throw new OptionError(`--charge must be "plus" or "minus", got ${JSON.stringify(option)}`);
  }
  const base = path.replace(/^.*[\\/]/, "");
  if (/charge_plus/.test(base)) return 1;
  if (/charge_minus/.test(base)) return -1;
  throw new OptionError(`cannot tell the charge from the file name "${base}": pass --charge plus or --charge minus`);
}

async function readInput(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new MuidError("IO", `cannot read ${path}: ${(e as Error).message}`);
  }
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Writes the model file via a temporary file and a rename, then prints a one-line summary. */
async function writeOutput(path: string, bundle: ModelBundle): Promise<void> {
  const bytes = writeModelFile(bundle);
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, bytes);
    await rename(temporary, path);
  } catch (e) {
    await unlink(temporary).catch(() => undefined);
    throw new MuidError("IO", `cannot write ${path}: ${(e as Error).message}`);
  }
  console.log(
    `${path}: ${bundle.card.name}, ${bundle.tensors.size} tensors, ${countParameters(bundle)} parameters, ${bytes.length} bytes, sha256 ${sha256Hex(bytes)}`,
  );
}
