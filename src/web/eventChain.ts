/**
 * The muon-ID chain on one simulated BB̄ event, as the browser demo runs it and as its test and the
 * Phoenix export repeat it in Node: simulateEvent → KlmReconstructor.reconstructEvent (Muid swim,
 * association, likelihood) → the KLM DNNs on the tracks with a KLM value (hasKlmDnnValue) → the ECL
 * CNN of each charge on the accepted tracks (the order of src/eval/latency.ts).
 *
 * The library is passed in, never imported: the page hands over the release bundle it loaded
 * (dist/muid.js), the test the same file loaded in Node, the CLI the sources. So "the same numbers
 * in the browser and in Node" is a statement about one bundle.
 */
import type * as MuidApi from "../index.js";
import type { DetectorConditions, KlmHit, SimTrackRow } from "../sim/types.js";
import type { KlmTrackReconstruction, KlmReconstructor } from "../reco/klmChain.js";
import type { KlmLikelihood } from "../reco/muidLikelihood.js";
import type { Model } from "../models/runtime.js";
import type { EclCnnFast } from "../models/eclCnnFast.js";
import type { CombinedMuonId } from "../reco/combinedMuonId.js";
import type { EclCnnInput, EclImageResult } from "../reco/eclImage.js";
import { atan2 } from "../math/ieee754.js";
import { hypot2, hypot3 } from "../math/hypot.js";

/** What the chain needs from the library (a namespace import of src/index.ts or of dist/muid.js). */
export type MuidLibrary = Pick<
  typeof MuidApi,
  | "simulateEvent" | "generateBBbarEvent" | "eventRandom" | "defaultDetectorConditions" | "KlmReconstructor"
  | "hasKlmDnnValue" | "KlmLikelihood" | "eclCnnInput" | "batchEclCnnInputs" | "EclCnnFast" | "loadModel" | "readModelFile"
  | "CombinedMuonId" | "logitDifferences" | "ModelError"
>;

/** The shipped weight files (weights/); the Belle II DNN is not shipped. */
export const DEMO_WEIGHTS = {
  likelihood: "klm-likelihood.json",
  klmDnn: "klm-dnn.safetensors",
  klmDnnGlobal: "klm-dnn-global.safetensors",
  eclCnnPlus: "ecl-cnn-plus.safetensors",
  eclCnnMinus: "ecl-cnn-minus.safetensors",
  combined: "combined-muon-id.json",
} as const;

export interface DemoModels {
  likelihood: KlmLikelihood | null;
  klmDnn: Model | null;
  klmDnnGlobal: Model | null;
  eclCnnPlus: EclCnnFast | null;
  eclCnnMinus: EclCnnFast | null;
  /** calibration of the combined probability (src/reco/combinedMuonId.ts), made with klm-dnn and the ECL CNNs */
  combined: CombinedMuonId | null;
}

/** Loads the models from their file bytes; `readWeight` returns null for a file that is not there. */
export async function loadDemoModels(muid: MuidLibrary, readWeight: (file: string) => Promise<Uint8Array | null>): Promise<DemoModels> {
  const [likelihood, klmDnn, klmDnnGlobal, eclCnnPlus, eclCnnMinus, combined] = await Promise.all([
    readWeight(DEMO_WEIGHTS.likelihood),
    readWeight(DEMO_WEIGHTS.klmDnn),
    readWeight(DEMO_WEIGHTS.klmDnnGlobal),
    readWeight(DEMO_WEIGHTS.eclCnnPlus),
    readWeight(DEMO_WEIGHTS.eclCnnMinus),
    readWeight(DEMO_WEIGHTS.combined),
  ]);
  const ecl = (bytes: Uint8Array | null) => (bytes ? muid.EclCnnFast.create(muid.readModelFile(bytes)) : null);
  return {
    likelihood: likelihood ? muid.KlmLikelihood.fromJsonText(new TextDecoder().decode(likelihood)) : null,
    klmDnn: klmDnn ? await muid.loadModel(klmDnn) : null,
    klmDnnGlobal: klmDnnGlobal ? await muid.loadModel(klmDnnGlobal) : null,
    eclCnnPlus: await ecl(eclCnnPlus),
    eclCnnMinus: await ecl(eclCnnMinus),
    combined: combined ? muid.CombinedMuonId.fromJsonText(new TextDecoder().decode(combined)) : null,
  };
}

/** The muon probability of every method for one track; null where the method gives no value. */
export interface MuonProbabilities {
  /** Muid likelihood muonID (0.5 when the track did not reach the KLM), null without tables */
  likelihood: number | null;
  /** KLM DNN on the 5 global features, null without a KLM value */
  dnnGlobal: number | null;
  /** KLM DNN on the 121 features, null without a KLM value */
  dnn: number | null;
  /** ECL CNN of the track's charge, null outside its acceptance */
  eclCnn: number | null;
  /** KLM DNN and ECL CNN combined (their calibrated log-likelihood ratios summed; 0.5 when neither answers), null without the calibration */
  combined: number | null;
}

export const MUON_ID_METHODS = ["likelihood", "dnnGlobal", "dnn", "eclCnn", "combined"] as const;
export type MuonIdMethod = (typeof MUON_ID_METHODS)[number];

/** One track through the chain: the rows it came from, the reconstruction and the probabilities. */
export interface ChainTrack {
  row: SimTrackRow;
  klm: KlmTrackReconstruction;
  ecl: EclImageResult;
  muonId: MuonProbabilities;
}

export interface ChainEvent {
  event: number;
  /** the event's KLM hits (shared by its rows) */
  klmHits: readonly KlmHit[];
  tracks: ChainTrack[];
  /** wall time of the chain without the simulation, ms */
  chainMs: number;
}

/** Runs the chain on the rows of one event (all rows share the event's KLM hits). */
export function runChainOnRows(muid: MuidLibrary, reconstructor: KlmReconstructor, models: DemoModels, rows: readonly SimTrackRow[], now: () => number = () => performance.now()): ChainEvent {
  const event = rows[0]?.event ?? -1;
  const klmHits = rows[0]?.klmHits ?? [];
  const t0 = now();
  const klm = rows.length > 0 ? reconstructor.reconstructEvent(rows.map((r) => r.ip), klmHits) : [];
  const tracks: ChainTrack[] = rows.map((row, i) => ({
    row,
    klm: klm[i]!,
    ecl: { accepted: false, reason: "no-ecl-entry", entry: null },
    muonId: { likelihood: klm[i]!.likelihood?.muonId ?? null, dnnGlobal: null, dnn: null, eclCnn: null, combined: null },
  }));
  // logit differences z_μ − z_π of the KLM DNN and the ECL CNN, the combination's inputs
  const klmScore = new Map<ChainTrack, number>(), eclScore = new Map<ChainTrack, number>();
  const withKlm = tracks.filter((t) => muid.hasKlmDnnValue(t.klm));
  for (const [model, key] of [[models.klmDnn, "dnn"], [models.klmDnnGlobal, "dnnGlobal"]] as const) {
    if (!model || withKlm.length === 0) continue;
    const input = model.card.inputs[0]!;
    const width = input.shape.reduce((a, b) => a * b, 1);
    const available = withKlm[0]!.klm.features.length;
    if (model.card.inputs.length !== 1 || width > available) throw new muid.ModelError(`${model.card.name}: a KLM DNN takes one input of at most ${available} features (this one: ${model.card.inputs.map((i) => `${i.name} ${i.shape.reduce((a, b) => a * b, 1)}`).join(", ")})`);
    const batch = new Float32Array(withKlm.length * width);
    // the global-only variant reads the first 5 of the 121 features (src/reco/klmDnnMethods.ts)
    withKlm.forEach((t, r) => batch.set(t.klm.features.subarray(0, width), r * width));
    const prediction = model.predict({ [input.name]: batch }, withKlm.length);
    withKlm.forEach((t, r) => (t.muonId[key] = prediction.muonProbability[r]!));
    if (key === "dnn") muid.logitDifferences(prediction, withKlm.length).forEach((s, r) => klmScore.set(withKlm[r]!, s));
  }
  const plus: ChainTrack[] = [], minus: ChainTrack[] = [];
  for (const t of tracks) {
    t.ecl = muid.eclCnnInput(t.row.ip, t.row.eclDigits);
    if (t.ecl.accepted) (t.row.ip.charge > 0 ? plus : minus).push(t);
  }
  for (const [group, model] of [[plus, models.eclCnnPlus], [minus, models.eclCnnMinus]] as const) {
    if (!model || group.length === 0) continue;
    const { image, pt, thetaId, phiId, batch } = muid.batchEclCnnInputs(group.map((t) => t.ecl as EclCnnInput));
    const prediction = model.predict({ image, pt, thetaId, phiId }, batch);
    group.forEach((t, r) => (t.muonId.eclCnn = prediction.muonProbability[r]!));
    muid.logitDifferences(prediction, batch).forEach((s, r) => eclScore.set(group[r]!, s));
  }
  if (models.combined) {
    for (const t of tracks) {
      const { px, py, pz, charge } = t.row.ip;
      t.muonId.combined = models.combined.probability({ p: hypot3(px, py, pz), charge, klmDnn: klmScore.get(t) ?? null, eclCnn: eclScore.get(t) ?? null }).probability;
    }
  }
  return { event, klmHits, tracks, chainMs: now() - t0 };
}

/** Simulates BB̄ event `event` of `seed` (eventRandom: every event reproducible on its own) and runs the chain. */
export function simulateAndRunEvent(
  muid: MuidLibrary, reconstructor: KlmReconstructor, models: DemoModels, seed: number, event: number, conditions?: DetectorConditions,
): ChainEvent {
  const rng = muid.eventRandom(seed, event);
  const rows = muid.simulateEvent(muid.generateBBbarEvent(rng), event, rng, conditions ?? muid.defaultDetectorConditions());
  const result = runChainOnRows(muid, reconstructor, models, rows);
  result.event = event;
  return result;
}

/** The numbers of one track that the page hands to its tests (plain JSON). */
export interface TrackSummary {
  event: number;
  track: number;
  charge: number;
  /** momentum at the IP, GeV/c, and its polar angle, degrees */
  p: number;
  pt: number;
  thetaDeg: number;
  truthPdg: number;
  muonId: MuonProbabilities;
}

export function summariseTrack(t: ChainTrack): TrackSummary {
  const { px, py, pz } = t.row.ip;
  const pt = hypot2(px, py);
  return {
    event: t.row.event,
    track: t.row.track,
    charge: t.row.ip.charge,
    p: hypot2(pt, pz),
    pt,
    thetaDeg: (atan2(pt, pz) * 180) / Math.PI,
    truthPdg: t.row.truth.pdg,
    muonId: { ...t.muonId },
  };
}
