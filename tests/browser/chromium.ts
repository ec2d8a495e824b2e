import { existsSync, readFileSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { CHROMIUM_PATH, launchChromium, servePages, type PageServer } from "../../src/eval/chromium.js";

/** Debian's Chromium (never a downloaded browser: toolchain.md, DEVELOPERS.md). */
export const CHROMIUM = CHROMIUM_PATH;
export const chromiumAvailable = existsSync(CHROMIUM);
export { launchChromium };

const MIME: Record<string, string> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".bin": "application/octet-stream",
  ".safetensors": "application/octet-stream",
};

/** Serves files from `routes` (URL path → file path or bytes), else below `root`, on 127.0.0.1 and an ephemeral port. */
export function serveFiles(routes: Record<string, string | Uint8Array>, root?: string): Promise<PageServer> {
  return servePages((path) => {
    let body: Uint8Array | undefined;
    const route = routes[path];
    if (route instanceof Uint8Array) body = route;
    else if (typeof route === "string") body = readFileSync(route);
    else if (root !== undefined) {
      const file = normalize(join(root, path));
      if (file.startsWith(root) && existsSync(file)) body = readFileSync(file);
    }
    return body === undefined ? undefined : { body, headers: { "content-type": MIME[extname(path)] ?? "application/octet-stream" } };
  });
}
