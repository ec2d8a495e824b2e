import { Command, CommanderError } from "commander";
import { MuidError } from "../errors.js";
import { registerBench } from "./bench.js";
import { registerDemo } from "./demo.js";
import { registerEval } from "./eval.js";
import { registerEvalKlm } from "./evalKlm.js";
import { registerExport } from "./export.js";
import { registerImport } from "./import.js";
import { registerPredict } from "./predict.js";
import { registerReconstruct } from "./reconstruct.js";
import { registerServe } from "./serve.js";
import { registerSimulate } from "./simulate.js";
import { registerTrain } from "./train.js";

/** Exit codes: 0 ok, 1 unexpected failure, 2 bad usage or option, 3 bad input or file, 4 IO. */
const EXIT = { ok: 0, internal: 1, usage: 2, input: 3, io: 4 } as const;

const program = new Command();
program
  .name("muid")
  .description("Belle II muon identification (KLM likelihood and DNN, ECL CNN) in WebAssembly")
  .version("0.1.0")
  .showHelpAfterError()
  .addHelpText("after", "\nnpm start runs `muid demo`. Progress goes to stderr (-q, --quiet: none), results to stdout or files.\nExit codes: 0 ok; 1 unexpected internal failure; 2 bad usage or option; 3 bad input, model or data file\n(format, version, content); 4 a file cannot be read or written.")
  .exitOverride();
registerDemo(program);
registerBench(program);
registerImport(program);
registerExport(program);
registerPredict(program);
registerSimulate(program);
registerServe(program);
registerReconstruct(program);
registerTrain(program);
registerEvalKlm(registerEval(program));

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else if (e instanceof MuidError) {
    process.stderr.write(`muid: ${e.message}\n`);
    process.exitCode = e.code === "OPTION" ? EXIT.usage : e.code === "IO" ? EXIT.io : EXIT.input;
  } else {
    process.stderr.write(`muid: internal error: ${(e as Error).stack ?? e}\n`);
    process.exitCode = EXIT.internal;
  }
}
