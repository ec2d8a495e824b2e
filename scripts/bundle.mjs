// Bundles the library (dist/muid.js: ESM, wasm inlined, runs in Node 20 and browsers)
// and the command line (dist/cli.js). Target es2022: newer targets make esbuild emit
// Uint8Array.fromBase64 for inlined wasm, which Node 20 lacks (toolchain.md).
import { build } from "esbuild";
import { chmodSync, copyFileSync, mkdirSync } from "node:fs";

const common = { bundle: true, format: "esm", target: "es2022", loader: { ".wasm": "binary" }, logLevel: "warning" };

await build({ ...common, entryPoints: ["src/index.ts"], outfile: "dist/muid.js", platform: "neutral", minify: true, mainFields: ["module", "main"] });
await build({
  ...common,
  entryPoints: ["src/cli/main.ts"],
  outfile: "dist/cli.js",
  platform: "node",
  packages: "external",
  banner: { js: "#!/usr/bin/env node" },
});
chmodSync("dist/cli.js", 0o755);

// The browser demo (src/web, served by `muid serve`): the page module loads dist/muid.js at run time
// (a dynamic import of a URL, left alone by esbuild), so the page runs the release bundle itself.
mkdirSync("dist/web", { recursive: true });
await build({ ...common, entryPoints: ["src/web/demo.ts"], outfile: "dist/web/demo.js", platform: "browser", minify: true });
copyFileSync("src/web/index.html", "dist/web/index.html");
