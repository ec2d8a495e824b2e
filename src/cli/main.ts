import { Command } from "commander";

const program = new Command();
program.name("muid").description("Belle II muon identification in WebAssembly").version("0.1.0");
await program.parseAsync(process.argv);
