/**
 * `muid reconstruct --data IN -o OUT`: runs the KLM chain (src/reco/klmChain.ts) on every row of a
 * simulation file (or a user's own tracks and hits in the same format) and writes the rows back with a
 * `klm` record (src/reco/klmRowFile.ts): the 121 features, Muid's outcome / layers / χ² / ndof, the
 * likelihood's log-likelihoods and muon probability, and the muon probability of every KLM DNN model.
 *
 * Likelihood tables: --likelihood FILE, else weights/klm-likelihood.json when it exists (no likelihood
 * otherwise). DNN models: --model name=FILE (repeatable), else every weights/klm-dnn*.safetensors;
 * --no-models disables the discoveries.
 *
 * The combined muon probability (src/reco/combinedMuonId.ts): with the calibration --combined FILE (else
 * weights/combined-muon-id.json when present) every row also gets klm.muonId.combined = P(μ) over all
 * momenta and klm.muonId.combinedSources = which detectors answered (0 none → P = 0.5, 1 KLM DNN,
 * 2 ECL CNN, 3 both). The KLM source is the DNN loaded from the file the calibration names (its
 * muonId method); the ECL source the shipped CNNs weights/ecl-cnn-{plus,minus}.safetensors. (They
 * live in the klm record because the Arrow schema of reconstructed rows is that record.)
 */
import * as fs from "node:fs";
import type { Command } from "commander";
import { OptionError } from "../errors.js";
import { formatFromPath, readSimRows, type SimFormat } from "../sim/io.js";
import { KlmReconstructor, type KlmTrackReconstruction } from "../reco/klmChain.js";
import { KlmLikelihood } from "../reco/muidLikelihood.js";
import { discoverKlmDnnFiles, loadKlmDnnMethods, scoreKlmDnn, type KlmDnnMethod } from "../reco/klmDnnMethods.js";
import { klmRowResult, writeReconstructedRows, type ReconstructedRow } from "../reco/klmRowFile.js";
import { readInputFile } from "./files.js";
import type { SimTrackRow } from "../sim/types.js";
import type { AssociationBackend } from "../reco/klmAssociator.js";
import { CombinedMuonId } from "../reco/combinedMuonId.js";
import { DEFAULT_COMBINED_ECL_CNN_MINUS, DEFAULT_COMBINED_ECL_CNN_PLUS, DEFAULT_COMBINED_OUTPUT, eclCnnLogitDifferences, klmDnnLogitDifferences, loadCombinedModels } from "../train/combinedMuonId.js";
import * as path from "node:path";

export const DEFAULT_LIKELIHOOD_FILE = "weights/klm-likelihood.json";
export const DEFAULT_WEIGHTS_FOLDER = "weights";

export interface ReconstructCliOptions {
  data?: string;
  output?: string;
  likelihood?: string;
  model?: string[];
  models?: boolean;
  fieldScale?: string;
  efficiency?: string;
  backend?: string;
  format?: string;
  combined?: string;
  quiet?: boolean;
}

export interface ReconstructSettings {
  data: string;
  output: string;
  format: SimFormat;
  likelihoodFile: string | null;
  models: { name: string; file: string }[];
  fieldScale: number;
  efficiency: number | undefined;
  backend: AssociationBackend;
  /** calibration of the combined muon probability, or null */
  combinedFile: string | null;
  quiet: boolean;
}

/** muonId names the combined probability takes (a DNN method may not use them). */
export const COMBINED_MUON_ID_KEYS = ["combined", "combinedSources"] as const;

function number(value: string, option: string, min: number, max: number): number {
  const v = Number(value);
  if (value.trim() === "" || !Number.isFinite(v) || v < min || v > max) throw new OptionError(`${option} must be a number in [${min}, ${max}], got ${JSON.stringify(value)}`);
  return v;
}

/** Validates the options (OptionError naming the bad one). */
export function parseReconstructOptions(raw: ReconstructCliOptions): ReconstructSettings {
  if (!raw.data) throw new OptionError("--data IN is required");
  if (!raw.output) throw new OptionError("-o, --output OUT is required");
  if (!fs.existsSync(raw.data)) throw new OptionError(`--data ${raw.data}: no such file`);
  let format: SimFormat;
  if (raw.format === undefined) format = formatFromPath(raw.output);
  else if (raw.format === "arrow" || raw.format === "jsonl") format = raw.format;
  else throw new OptionError(`--format must be arrow or jsonl, got ${JSON.stringify(raw.format)}`);
  const discover = raw.models !== false;
  let likelihoodFile: string | null = null;
  if (raw.likelihood !== undefined) {
    if (!fs.existsSync(raw.likelihood)) throw new OptionError(`--likelihood ${raw.likelihood}: no such file`);
    likelihoodFile = raw.likelihood;
  } else if (discover && fs.existsSync(DEFAULT_LIKELIHOOD_FILE)) likelihoodFile = DEFAULT_LIKELIHOOD_FILE;
  let models: { name: string; file: string }[];
  if (raw.model && raw.model.length > 0) {
    models = raw.model.map((spec) => {
      const eq = spec.indexOf("=");
      if (eq <= 0 || eq === spec.length - 1) throw new OptionError(`--model must be name=FILE, got ${JSON.stringify(spec)}`);
      const file = spec.slice(eq + 1);
      if (!fs.existsSync(file)) throw new OptionError(`--model ${spec}: no such file`);
      return { name: spec.slice(0, eq), file };
    });
  } else models = discover ? discoverKlmDnnFiles(DEFAULT_WEIGHTS_FOLDER) : [];
  for (const m of models) if ((COMBINED_MUON_ID_KEYS as readonly string[]).includes(m.name)) throw new OptionError(`--model ${m.name}=…: the name "${m.name}" is reserved for the combined muon probability`);
  let combinedFile: string | null = null;
  if (raw.combined !== undefined) {
    if (!fs.existsSync(raw.combined)) throw new OptionError(`--combined ${raw.combined}: no such file`);
    combinedFile = raw.combined;
  } else if (discover && fs.existsSync(DEFAULT_COMBINED_OUTPUT)) combinedFile = DEFAULT_COMBINED_OUTPUT;
  const backend = raw.backend ?? "wasm";
  if (backend !== "wasm" && backend !== "scalar") throw new OptionError(`--backend must be wasm or scalar, got ${JSON.stringify(backend)}`);
  return {
    data: raw.data,
    output: raw.output,
    format,
    likelihoodFile,
    models,
    fieldScale: raw.fieldScale === undefined ? 1 : number(raw.fieldScale, "--field-scale", 0, 10),
    efficiency: raw.efficiency === undefined ? undefined : number(raw.efficiency, "--efficiency", 0, 1),
    backend,
    combinedFile,
    quiet: raw.quiet === true,
  };
}

export interface ReconstructSummary {
  rows: number;
  methods: string[];
  output: string;
}

/** Runs a validated reconstruction; progress lines go to `progress` (stderr by default) unless quiet. */
export async function runReconstruct(settings: ReconstructSettings, progress: NodeJS.WritableStream = process.stderr): Promise<ReconstructSummary> {
  const rows = readSimRows(settings.data);
  const likelihood = settings.likelihoodFile ? KlmLikelihood.fromJsonText(new TextDecoder().decode(readInputFile(settings.likelihoodFile))) : null;
  const methods: KlmDnnMethod[] = await loadKlmDnnMethods(settings.models);
  const reconstructor = await KlmReconstructor.create({
    backend: settings.backend, fieldScale: settings.fieldScale, layerEfficiency: settings.efficiency, likelihood, keepCrossings: false,
  });
  const results: KlmTrackReconstruction[] = [];
  let start = 0;
  let nextReport = 0;
  while (start < rows.length) {
    let end = start + 1;
    while (end < rows.length && rows[end]!.event === rows[start]!.event) end++;
    for (const r of reconstructor.reconstructRows(rows.slice(start, end))) results.push(r);
    start = end;
    if (!settings.quiet && end >= nextReport) {
      progress.write(`muid reconstruct: ${end}/${rows.length} tracks\n`);
      nextReport = end + Math.max(1, Math.ceil(rows.length / 10));
    }
  }
  const scores = methods.map((m) => scoreKlmDnn(m, results.map((r) => r.features)));
  const combined = settings.combinedFile ? await combinedProbabilities(settings.combinedFile, methods, rows, results, settings.quiet ? null : progress) : null;
  const out: ReconstructedRow[] = rows.map((row, i) => {
    const perMethod: Record<string, number> = {};
    methods.forEach((m, j) => (perMethod[m.name] = scores[j]![i]!));
    if (combined) {
      perMethod.combined = combined.probability[i]!;
      perMethod.combinedSources = combined.sourceMask[i]!;
    }
    return { ...row, klm: klmRowResult(results[i]!, perMethod) };
  });
  writeReconstructedRows(settings.output, out, settings.format);
  const names = [...(likelihood ? ["likelihood"] : []), ...methods.map((m) => m.name), ...(combined ? ["combined"] : [])];
  if (!settings.quiet) progress.write(`muid reconstruct: wrote ${out.length} rows to ${settings.output} (muonId: ${names.join(", ") || "none"})\n`);
  return { rows: out.length, methods: names, output: settings.output };
}

/** The combined muon probability of every row: KLM DNN (the calibration's model, when loaded) ⊕ ECL CNN. */
async function combinedProbabilities(file: string, methods: readonly KlmDnnMethod[], rows: readonly SimTrackRow[], results: readonly KlmTrackReconstruction[], progress: NodeJS.WritableStream | null): Promise<{ probability: Float64Array; sourceMask: Uint8Array }> {
  const calibration = CombinedMuonId.fromJsonText(new TextDecoder().decode(readInputFile(file)));
  const calibrated = path.resolve(calibration.tables.sources.klmDnn.model);
  const dnn = methods.find((m) => path.resolve(m.file) === calibrated) ?? null;
  if (!dnn) progress?.write(`muid reconstruct: the combined probability's KLM source ${calibration.tables.sources.klmDnn.model} is not among the DNN models; combined uses the ECL CNN only\n`);
  const haveEcl = fs.existsSync(DEFAULT_COMBINED_ECL_CNN_PLUS) && fs.existsSync(DEFAULT_COMBINED_ECL_CNN_MINUS);
  if (!haveEcl) progress?.write(`muid reconstruct: no ECL CNN weights (${DEFAULT_COMBINED_ECL_CNN_PLUS}, ${DEFAULT_COMBINED_ECL_CNN_MINUS}); combined uses the KLM DNN only\n`);
  const ecl = haveEcl ? await loadCombinedModels({ klmDnn: null, eclCnnPlus: DEFAULT_COMBINED_ECL_CNN_PLUS, eclCnnMinus: DEFAULT_COMBINED_ECL_CNN_MINUS }) : { eclCnnPlus: null, eclCnnMinus: null };
  const klmDnn = dnn ? klmDnnLogitDifferences(dnn.model, results) : new Float32Array(rows.length).fill(NaN);
  const eclCnn = eclCnnLogitDifferences(ecl, rows);
  return calibration.probabilities({
    p: rows.map((r) => Math.hypot(r.ip.px, r.ip.py, r.ip.pz)),
    charge: rows.map((r) => r.ip.charge),
    klmDnn, eclCnn,
  });
}

export function registerReconstruct(program: Command): void {
  program
    .command("reconstruct")
    .description("run the KLM reconstruction (Muid extrapolation, hit association, 121 DNN features, muon ID) on every row")
    .option("--data <file>", "simulated rows (Arrow or JSONL, as written by muid simulate)")
    .option("-o, --output <file>", "output rows with a klm record (.jsonl → JSON Lines, else Arrow)")
    .option("--likelihood <file>", `Muid likelihood tables (default ${DEFAULT_LIKELIHOOD_FILE} when present)`)
    .option("--model <name=file>", "a KLM DNN model file as muonId.<name> (repeatable; default weights/klm-dnn*.safetensors)", (v: string, acc: string[] = []) => [...acc, v])
    .option("--no-models", "do not look for likelihood tables and DNN models in weights/")
    .option("--field-scale <s>", "field scale of the extrapolation only (robustness studies, default 1)")
    .option("--efficiency <e>", "layer efficiency for the likelihood's missing-layer factor (default: the tables' value)")
    .option("--backend <backend>", "association: wasm (default) or scalar")
    .option("--format <format>", "arrow or jsonl (default: from the output name)")
    .option("--combined <file>", `calibration of the combined muon probability → muonId.combined, muonId.combinedSources (default ${DEFAULT_COMBINED_OUTPUT} when present)`)
    .option("-q, --quiet", "no progress on stderr")
    .action(async (opts: ReconstructCliOptions) => {
      await runReconstruct(parseReconstructOptions(opts));
    });
}
