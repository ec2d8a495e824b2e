/**
 * `muid demo` (npm start) end to end with tiny samples: the printed tables (KLM, ECL, combined,
 * robustness, latency) and the report folder (pages with Vega-Lite SVG plots, JSON figures that
 * agree with the printed numbers). Needs the shipped weights in weights/.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { OptionError } from "../src/errors.js";
import { runDemo } from "../src/cli/demo.js";

const haveWeights = ["klm-dnn.safetensors", "ecl-cnn-plus.safetensors", "ecl-cnn-minus.safetensors", "combined-muon-id.json", "klm-likelihood.json"].every((f) => existsSync(join("weights", f)));

function sink(): { stream: NodeJS.WritableStream; text: () => string } {
  const parts: string[] = [];
  return { stream: { write: (t: string) => (parts.push(t), true) } as unknown as NodeJS.WritableStream, text: () => parts.join("") };
}

describe.skipIf(!haveWeights)("muid demo", () => {
  const dir = mkdtempSync(join(tmpdir(), "muid-demo-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("prints the tables and writes the report", async () => {
    const out = sink(), err = sink();
    await runDemo({ klmEvents: "60", eclEvents: "400", combinedEvents: "120", bbbarEvents: "20", seed: "5", report: dir, robustness: true }, out.stream, err.stream);
    const text = out.text();
    for (const heading of ["KLM muon ID:", "ECL muon ID", "Combined muon probability", "Robustness", "background-x3", "beam background ×3", "beam background ×3 (KLM and ECL)", "Latency of the full chain"]) expect(text).toContain(heading);
    expect(err.text()).toContain("muid demo: simulating");
    for (const page of ["index.html", "klm.html", "ecl.html", "combined.html"]) expect(readFileSync(join(dir, page), "utf8")).toContain("<svg");
    const index = readFileSync(join(dir, "index.html"), "utf8");
    expect(index).toContain("Typical μ and π ECL images");
    expect(index).toContain("Pions that fake muons");
    // the printed combined line over all momenta is the JSON's
    const combined = JSON.parse(readFileSync(join(dir, "combined.json"), "utf8")).combined;
    const fake = (100 * combined.overall.methods.combined.fakeRateAt90).toFixed(1);
    expect(text).toMatch(new RegExp(`0\\.2–5 +│ +\\d+ % +${fake.replace(".", "\\.")} %`));
    const latency = JSON.parse(readFileSync(join(dir, "latency.json"), "utf8"));
    expect(latency.events).toBe(20);
  }, 120_000);

  it("rejects bad sizes with an OptionError", async () => {
    await expect(runDemo({ klmEvents: "0", eclEvents: "1", combinedEvents: "1", bbbarEvents: "1", seed: "1", report: dir, robustness: false }, sink().stream, sink().stream)).rejects.toThrow(OptionError);
  });
});
