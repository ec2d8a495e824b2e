/**
 * `muid serve`: the browser demo (src/web, built to dist/web by scripts/bundle.mjs) on a small
 * node:http server bound to the loopback interface only — the page needs no network, and nothing
 * of this machine should be reachable from outside. It serves exactly three things, under URLs that
 * mirror the package layout: /dist/web/* (the page), /dist/muid.js (the release bundle it runs) and
 * /weights/*.json|*.safetensors (the shipped weights). Everything else is 404; paths with `..`,
 * backslashes or NUL are refused (400). Ctrl-C stops it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { MuidError, OptionError } from "../errors.js";

/** Loopback names the server accepts for --host. */
export const LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1"] as const;
export const DEMO_PAGE = "/dist/web/index.html";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".safetensors": "application/octet-stream",
  ".png": "image/png",
  ".map": "application/json",
};

export interface ServeOptions {
  /** 0 = an ephemeral port */
  port: number;
  host: string;
  /** package root holding dist/ and weights/ */
  root: string;
}

export interface RunningServer {
  url: string;
  /** the demo page's URL */
  pageUrl: string;
  close(): Promise<void>;
}

/** The package root: the nearest folder above this module with the muid-wasm package.json, else the working directory. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "muid-wasm") return dir;
      } catch {
        // not ours; keep looking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

/**
 * The file a URL path maps to, or a status: 400 for a path that tries to leave its folder, 404 for
 * anything outside the three served places.
 */
export function resolveServedPath(root: string, urlPath: string): { file: string } | { status: 400 | 404 } {
  let path: string;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return { status: 400 };
  }
  if (path.includes("\0") || path.includes("\\") || path.split("/").some((part) => part === ".." || part === ".")) return { status: 400 };
  let folder: string;
  let name: string;
  if (path === "/dist/muid.js") return { file: join(root, "dist", "muid.js") };
  if (path.startsWith("/dist/web/")) {
    folder = join(root, "dist", "web");
    name = path.slice("/dist/web/".length);
  } else if (path.startsWith("/weights/")) {
    folder = join(root, "weights");
    name = path.slice("/weights/".length);
    if (!/\.(json|safetensors)$/.test(name)) return { status: 404 };
  } else return { status: 404 };
  if (name === "" || name.includes("/")) return { status: 404 };
  const file = resolve(folder, name);
  if (!file.startsWith(folder + sep)) return { status: 400 };
  return { file };
}

function send(res: ServerResponse, status: number, body: string | Uint8Array, type = "text/plain; charset=utf-8", head = false): void {
  res.writeHead(status, { "content-type": type, "content-length": String(body.length), "cache-control": "no-store", "x-content-type-options": "nosniff" });
  res.end(head ? undefined : body);
}

function handle(root: string, req: IncomingMessage, res: ServerResponse): void {
  const head = req.method === "HEAD";
  if (req.method !== "GET" && !head) {
    res.setHeader("allow", "GET, HEAD");
    send(res, 405, "method not allowed\n");
    return;
  }
  const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
  if (path === "/" || path === "/index.html") {
    res.writeHead(302, { location: DEMO_PAGE, "cache-control": "no-store" }).end();
    return;
  }
  const target = resolveServedPath(root, path);
  if ("status" in target) {
    send(res, target.status, target.status === 400 ? "bad path\n" : "not found\n", undefined, head);
    return;
  }
  let body: Uint8Array;
  try {
    // symbolic links must not lead out of the package either
    const real = realpathSync(target.file);
    if (!statSync(real).isFile() || !real.startsWith(realpathSync(root) + sep)) throw new Error("not a served file");
    body = readFileSync(real);
  } catch {
    send(res, 404, "not found\n", undefined, head);
    return;
  }
  send(res, 200, body, CONTENT_TYPES[extname(target.file)] ?? "application/octet-stream", head);
}

/** Starts the server; resolves once it listens. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  if (!(LOOPBACK_HOSTS as readonly string[]).includes(options.host)) {
    throw new OptionError(`--host ${options.host}: muid serve binds the loopback interface only (${LOOPBACK_HOSTS.join(", ")})`);
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) throw new OptionError(`--port must be an integer in 0..65535 (got ${options.port})`);
  const root = resolve(options.root);
  const server = createServer((req, res) => handle(root, req, res));
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => reject(new MuidError("IO", `cannot listen on ${options.host}:${options.port}: ${e.code ?? e.message}`)));
    server.listen(options.port, options.host, () => resolveListen());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new MuidError("IO", "the server has no TCP address");
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  return {
    url,
    pageUrl: url + DEMO_PAGE,
    close: () => new Promise<void>((done) => {
      server.closeAllConnections();
      server.close(() => done());
    }),
  };
}

interface ServeCliOptions {
  port: string;
  host: string;
  root?: string;
}

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("serve the browser demo (simulation and the whole chain in the page) on the loopback interface")
    .option("--port <n>", "TCP port (0 = any free port)", "8080")
    .option("--host <address>", `loopback address to bind (${LOOPBACK_HOSTS.join(", ")}); other interfaces are refused`, "127.0.0.1")
    .option("--root <dir>", "package folder with dist/ and weights/ (default: the installed package)")
    .action(async (opts: ServeCliOptions) => {
      const port = Number(opts.port);
      const root = opts.root ?? packageRoot();
      if (!existsSync(join(root, "dist", "web", "index.html"))) throw new OptionError(`${join(root, "dist", "web")} has no demo page: run npm run build`);
      const server = await startServer({ port, host: opts.host, root });
      process.stdout.write(`muid serve: the demo is at ${server.pageUrl} (bound to ${opts.host} only; Ctrl-C stops it)\n`);
      await new Promise<void>((done) => {
        process.once("SIGINT", () => {
          process.stdout.write("\nmuid serve: stopping\n");
          void server.close().then(done);
        });
      });
    });
}
