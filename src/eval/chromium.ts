/**
 * Headless Chromium for the in-browser benchmark and the browser tests: Debian's /usr/bin/chromium
 * (never a downloaded browser; toolchain.md) driven by playwright-core, and a loopback page server.
 */
import { createServer, type Server } from "node:http";
import type { Browser } from "playwright-core";

export const CHROMIUM_PATH = "/usr/bin/chromium";
export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"];

/** Launches Debian's Chromium headless (playwright-core is a dev dependency, imported on demand). */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

/** What a page server answers for a URL path; undefined → 404. */
export type PageResponse = { body: string | Uint8Array; headers: Record<string, string> } | undefined;

export interface PageServer {
  url: string;
  close: () => Promise<void>;
}

/** Serves `respond(path)` on 127.0.0.1 and an ephemeral port (the path is URL-decoded). */
export async function servePages(respond: (path: string) => PageResponse): Promise<PageServer> {
  const server: Server = createServer((req, res) => {
    const answer = respond(decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname));
    if (answer === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, answer.headers).end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the page server has no port");
  return { url: `http://127.0.0.1:${address.port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
