/**
 * `muid eval --task …`: evaluations of the trained models on fresh samples.
 *
 *   muid eval --task ecl [--data FILE[,FILE…] | --events N --seed S] [--json OUT.json] [--report OUT.html]
 *             [--cnn-plus FILE] [--cnn-minus FILE] [--ep FILE] [--robustness-events N] [--quiet]
 *
 * ecl (src/eval/ecl.ts): the main sample is --data (simulated rows of `muid simulate --kind ecl`,
 * background ×1, 1 MeV) or else --events N of the ECL study gun (μ±, π± drawn uniformly) simulated in
 * process with --seed S (default 3; the shipped weights were trained on seeds 1001–1004 and
 * 2001–2004). The background study simulates --robustness-events N events (default a third of the
 * main sample, at least 6000; 0: none) at ×0, ×1 and ×3 with seed S + 1, the same particles at each
 * level. Models default to weights/ecl-cnn-plus.safetensors, weights/ecl-cnn-minus.safetensors and
 * weights/ecl-ep.json. The figures go to --json; --report writes a self-contained HTML page with
 * tables and vega-lite plots as inline SVG; the terminal gets a table.
 *
 * Task combined: the combined muon probability (src/eval/combined.ts) on --events N events (default
 * 12000) of the combined study guns (src/train/combinedMuonId.ts) with --seed S (default 12; the
 * shipped calibration used seed 11), scored by the shipped KLM DNN and ECL CNNs and the calibration
 * --calibration FILE (default weights/combined-muon-id.json).
 *
 * Task klm: src/cli/evalKlm.ts (KLM helper) provides registerEvalKlm(evalCommand) and
 * runKlmEvalCommand(opts); the lead wires them here (see registerEval).
 */
import type { Command } from "commander";
import { OptionError } from "../errors.js";
import { readModelFile } from "../models/modelFile.js";
import { EclCnnFast } from "../models/eclCnnFast.js";
import { validateEclEpPdfs } from "../reco/eclEp.js";
import { readEclRowFiles } from "../reco/eclRowFile.js";
import { buildEclSample, type EclSample } from "../reco/eclSample.js";
import { defaultDetectorConditions, eventRandom, simulateEvent } from "../sim/event.js";
import { eclStudyGun, generateGunEvent } from "../sim/generators.js";
import type { SimTrackRow } from "../sim/types.js";
import { ECL_EVAL_BACKGROUND_LEVELS, eclReportHtml, eclSummaryTable, evaluateEcl, type EclEvaluation } from "../eval/ecl.js";
import { readInputFile, writeFileAtomic } from "./files.js";
import { runKlmEvalCommand } from "./evalKlm.js";
import { CombinedMuonId } from "../reco/combinedMuonId.js";
import { buildCombinedSampleWithProgress, DEFAULT_COMBINED_ECL_CNN_MINUS, DEFAULT_COMBINED_ECL_CNN_PLUS, DEFAULT_COMBINED_KLM_DNN, DEFAULT_COMBINED_OUTPUT, loadCombinedModels } from "../train/combinedMuonId.js";
import { combinedReportHtml, combinedSummaryTable, evaluateCombined, type CombinedEvaluation } from "../eval/combined.js";

export const EVAL_TASKS = ["ecl", "klm", "combined"] as const;
export const DEFAULT_COMBINED_EVAL_EVENTS = 12000;
export const DEFAULT_COMBINED_EVAL_SEED = 12;
export const DEFAULT_ECL_CNN_PLUS = "weights/ecl-cnn-plus.safetensors";
export const DEFAULT_ECL_CNN_MINUS = "weights/ecl-cnn-minus.safetensors";
export const DEFAULT_ECL_EP = "weights/ecl-ep.json";
export const DEFAULT_ECL_EVAL_EVENTS = 60000;
export const DEFAULT_ECL_EVAL_SEED = 3;
/** Smallest default background-study sample (events per level). */
const MIN_ROBUSTNESS_EVENTS = 6000;

export interface EvalCliOptions {
  task?: string;
  data?: string;
  events?: string;
  seed?: string;
  json?: string;
  report?: string;
  cnnPlus?: string;
  cnnMinus?: string;
  ep?: string;
  robustnessEvents?: string;
  calibration?: string;
  quiet?: boolean;
}

function integer(option: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text.trim());
  if (text.trim() === "" || !Number.isSafeInteger(v) || v < min || v > max) throw new OptionError(`${option} must be an integer in [${min}, ${max}] (got ${JSON.stringify(text)})`);
  return v;
}

/** Simulates `events` ECL-gun events in process (rows without their KLM hits, which the ECL never reads). */
export function simulateEclRows(events: number, seed: number, eclBackground = 1): SimTrackRow[] {
  const gun = eclStudyGun();
  const conditions = { ...defaultDetectorConditions(), eclBackground, klmBackground: eclBackground };
  const rows: SimTrackRow[] = [];
  for (let event = 0; event < events; event++) {
    const rng = eventRandom(seed, event);
    for (const row of simulateEvent(generateGunEvent(gun, rng), event, rng, conditions)) rows.push({ ...row, klmHits: [] });
  }
  return rows;
}

async function loadEclCnn(path: string): Promise<EclCnnFast> {
  const bundle = readModelFile(readInputFile(path));
  return EclCnnFast.create(bundle);
}

/** Runs `muid eval --task ecl` and returns the evaluation (also written to --json/--report); `keep.main` receives the main sample. */
export async function runEclEvalCommand(opts: EvalCliOptions, progress: NodeJS.WritableStream = process.stderr, keep: { main?: EclSample } = {}): Promise<EclEvaluation> {
  const say = (text: string): void => {
    if (!opts.quiet) progress.write(text + "\n");
  };
  if (opts.data !== undefined && opts.events !== undefined) throw new OptionError("use either --data or --events, not both");
  const events = integer("--events", opts.events, 1, 1e8);
  const seed = integer("--seed", opts.seed, 0, 4294967295) ?? DEFAULT_ECL_EVAL_SEED;
  const paths = { cnnPlus: opts.cnnPlus ?? DEFAULT_ECL_CNN_PLUS, cnnMinus: opts.cnnMinus ?? DEFAULT_ECL_CNN_MINUS, ep: opts.ep ?? DEFAULT_ECL_EP };
  const models = {
    cnn: { plus: await loadEclCnn(paths.cnnPlus), minus: await loadEclCnn(paths.cnnMinus) },
    ep: (() => {
      const text = new TextDecoder().decode(readInputFile(paths.ep));
      try {
        return validateEclEpPdfs(JSON.parse(text));
      } catch (e) {
        if (e instanceof SyntaxError) throw new OptionError(`--ep ${paths.ep} is not valid JSON: ${e.message}`);
        throw e;
      }
    })(),
  };
  if (models.cnn.plus.card.charge !== 1) throw new OptionError(`--cnn-plus ${paths.cnnPlus} is a model for charge ${models.cnn.plus.card.charge}`);
  if (models.cnn.minus.card.charge !== -1) throw new OptionError(`--cnn-minus ${paths.cnnMinus} is a model for charge ${models.cnn.minus.card.charge}`);

  const started = performance.now();
  let main: EclSample;
  let mainName: string;
  if (opts.data !== undefined) {
    main = buildEclSample(readEclRowFiles(opts.data));
    mainName = opts.data;
  } else {
    const n = events ?? DEFAULT_ECL_EVAL_EVENTS;
    say(`eval ecl: simulating ${n} events (seed ${seed})`);
    main = buildEclSample(simulateEclRows(n, seed));
    mainName = `simulated in process: ECL study gun, ${n} events, seed ${seed}, background ×1, 1 MeV`;
  }
  keep.main = main;
  say(`eval ecl: main sample ${main.n} tracks with a CNN value of ${main.rows} rows (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  const robustness = integer("--robustness-events", opts.robustnessEvents, 0, 1e8) ?? Math.max(MIN_ROBUSTNESS_EVENTS, Math.round(main.rows / 3));
  const backgrounds: { level: number; sample: EclSample }[] = [];
  if (robustness > 0) {
    for (const level of ECL_EVAL_BACKGROUND_LEVELS) {
      say(`eval ecl: background ×${level}: simulating ${robustness} events (seed ${seed + 1})`);
      backgrounds.push({ level, sample: buildEclSample(simulateEclRows(robustness, seed + 1, level)) });
    }
  }
  const evaluation = evaluateEcl({
    main, backgrounds, models,
    modelNames: { cnnPlus: paths.cnnPlus, cnnMinus: paths.cnnMinus, ep: paths.ep },
    sampleNames: { main: mainName, background: robustness > 0 ? `simulated in process: ECL study gun, ${robustness} events per level, seed ${seed + 1}` : "none" },
  });
  say(eclSummaryTable(evaluation.ecl));
  say(`eval ecl: CNN below E/p at 90 % efficiency in every bin below 0.6 GeV/c: ${evaluation.ecl.cnnBeatsEpBelow0p6.all ? "yes" : "NO"}`);
  if (opts.json !== undefined) writeFileAtomic(opts.json, JSON.stringify(evaluation, null, 1) + "\n");
  if (opts.report !== undefined) writeFileAtomic(opts.report, await eclReportHtml(evaluation));
  return evaluation;
}

/** Runs `muid eval --task combined` and returns the evaluation (also written to --json/--report). */
export async function runCombinedEvalCommand(opts: EvalCliOptions, progress: NodeJS.WritableStream = process.stderr): Promise<CombinedEvaluation> {
  const say = (text: string): void => {
    if (!opts.quiet) progress.write(`muid eval combined: ${text}\n`);
  };
  if (opts.data !== undefined) throw new OptionError("--task combined simulates its sample in process (--events, --seed); --data is not read");
  if (opts.robustnessEvents !== undefined) throw new OptionError("--robustness-events applies to --task ecl and klm (the demo shows their scans), not to combined");
  const events = integer("--events", opts.events, 1, 1e8) ?? DEFAULT_COMBINED_EVAL_EVENTS;
  const seed = integer("--seed", opts.seed, 0, 4294967295) ?? DEFAULT_COMBINED_EVAL_SEED;
  const calibrationFile = opts.calibration ?? DEFAULT_COMBINED_OUTPUT;
  const calibration = CombinedMuonId.fromJsonText(new TextDecoder().decode(readInputFile(calibrationFile)));
  const files = { klmDnn: DEFAULT_COMBINED_KLM_DNN, eclCnnPlus: opts.cnnPlus ?? DEFAULT_COMBINED_ECL_CNN_PLUS, eclCnnMinus: opts.cnnMinus ?? DEFAULT_COMBINED_ECL_CNN_MINUS };
  const models = await loadCombinedModels(files);
  const started = performance.now();
  say(`simulating ${events} events (seed ${seed}) and scoring them`);
  const sample = await buildCombinedSampleWithProgress("muid eval combined", models, events, seed, progress, opts.quiet === true);
  const evaluation = evaluateCombined(sample, calibration, {
    calibration: calibrationFile, models: files, events, seed,
    sample: "combined study guns (p 0.2–5 and 0.2–2 GeV/c, θ 18°–155°, 4–16 tracks), nominal conditions",
    seconds: Math.round((performance.now() - started) / 1000),
  });
  if (!opts.quiet) progress.write(combinedSummaryTable(evaluation.combined) + "\n");
  if (opts.json !== undefined) writeFileAtomic(opts.json, JSON.stringify(evaluation, null, 1) + "\n");
  if (opts.report !== undefined) writeFileAtomic(opts.report, await combinedReportHtml(evaluation));
  return evaluation;
}

/**
 * Registers `muid eval`. The KLM task joins by `registerEvalKlm(evalCommand)` (adds its options) and a
 * `--task klm` branch in the action calling `runKlmEvalCommand(opts)`.
 */
export function registerEval(program: Command): Command {
  const evalCommand = program
    .command("eval")
    .description("evaluate the muon ID on a fresh sample (pion fake rate at 90 % muon efficiency, ROC, robustness)")
    .option("--task <task>", `what to evaluate: ${EVAL_TASKS.join(", ")}`)
    .option("--data <files>", "ecl: simulated rows (comma-separated files); klm: a KLM sample cache or simulated rows; default: simulate --events in process")
    .option("--events <n>", `events to simulate: ecl (ECL study gun) default ${DEFAULT_ECL_EVAL_EVENTS}, klm (KLM study gun) 13000, combined (p 0.2–5 GeV/c guns) ${DEFAULT_COMBINED_EVAL_EVENTS}`)
    .option("--seed <s>", `seed of the simulated sample (default: ecl ${DEFAULT_ECL_EVAL_SEED}, klm 2, combined ${DEFAULT_COMBINED_EVAL_SEED}; the shipped weights used other seeds)`)
    .option("--json <file>", "write the figures as JSON")
    .option("--report <file>", "write an HTML report with tables and plots")
    .option("--cnn-plus <file>", `ecl: CNN for positive tracks (default ${DEFAULT_ECL_CNN_PLUS})`)
    .option("--cnn-minus <file>", `ecl: CNN for negative tracks (default ${DEFAULT_ECL_CNN_MINUS})`)
    .option("--ep <file>", `ecl: E/p likelihood PDFs (default ${DEFAULT_ECL_EP})`)
    .option("--robustness-events <n>", "ecl: events per background level ×0/×1/×3; klm: events per variation (background ×3, efficiency −10 %, field ±10 %); default a third of the main sample; 0: none")
    .option("--calibration <file>", `combined: calibration of the combined muon probability (default ${DEFAULT_COMBINED_OUTPUT})`)
    .option("-q, --quiet", "no progress or table on stderr")
    .addHelpText("after", "\nExamples:\n  muid eval --task klm --events 2000 --report klm.html\n  muid eval --task combined --json combined.json --report combined.html");
  evalCommand.action(async (opts: EvalCliOptions) => {
    if (opts.task === undefined) throw new OptionError(`--task is required (${EVAL_TASKS.join(", ")})`);
    if (opts.task === "ecl") {
      await runEclEvalCommand(opts);
      return;
    }
    if (opts.task === "klm") {
      await runKlmEvalCommand(opts);
      return;
    }
    if (opts.task === "combined") {
      await runCombinedEvalCommand(opts);
      return;
    }
    throw new OptionError(`unknown --task ${JSON.stringify(opts.task)} (known: ${EVAL_TASKS.join(", ")})`);
  });
  return evalCommand;
}
