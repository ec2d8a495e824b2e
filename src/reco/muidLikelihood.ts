/**
 * The Muid KLM likelihood (basf2 klm/muid MuidBuilder, klm.md §2.9–2.12): per particle hypothesis a
 * longitudinal (penetration) PDF read from tables [outcome][lastLayer][layer] and a transverse PDF of the
 * reduced χ² of the matched hits per number of degrees of freedom and detector (barrel only, endcap only,
 * both); L = longitudinal × transverse; muonID = L_μ / (L_μ + L_π).
 *
 * The tables come from a JSON file (format "muid-klm-likelihood", version 1) written by
 * src/train/klmLikelihood.ts from our simulation, with the shapes of basf2's KLMLikelihoodParameters
 * payload (§2.12):
 *
 *   { "format": "muid-klm-likelihood", "version": 1,
 *     "efficiency": ε,                          // layer efficiency the hit probabilities were divided by
 *     "hypotheses": { "<name>": {               // e.g. "muon", "pion" (any number; structure open)
 *         "pdg": 13,                            // |PDG code| of the hypothesis
 *         "longitudinal": [ { "outcome": o, "lastLayer": l, "layers": [29 probabilities] }, … ],
 *         "transverse": [ { "detector": 0|1|2, "ndof": 2k, "threshold": t, "scaleX": sx, "scaleY": sy,
 *                           "histogram": [100 log-PDF values at reduced χ² = 0.05, 0.15, …, 9.95] }, … ] } },
 *     "training": { … free-form provenance … } }
 *
 * Missing longitudinal rows read as zeros (basf2 initialises its table to 0, §2.9); missing transverse
 * entries are an error only when evaluated.
 */
import { FormatError, InputError, VersionError } from "../errors.js";
import { checkJsonDepth } from "../models/jsonDepth.js";
import { BKLM_LAYERS } from "../constants.js";
import { KLM_SLOTS } from "../geometry/klm.js";
import { muidSpline } from "./muidSpline.js";
import {
  MAXIMAL_BARREL_LAYER,
  MAXIMAL_ENDCAP_BACKWARD_LAYER,
  MAXIMAL_ENDCAP_FORWARD_LAYER,
  MAXIMAL_OUTCOME,
  Outcome,
  checkExtrapolationOutcome,
  lastLayerOf,
  type MuidResult,
} from "./muidPatterns.js";
import { exp, log, pow } from "../math/ieee754.js";

export const LIKELIHOOD_FORMAT = "muid-klm-likelihood";
export const LIKELIHOOD_FORMAT_VERSION = 1;

/** MuidElementNumbers: 18 half-ndof tables, 100 reduced-χ² bins up to 10 (klm.md §2.8). */
export const MAXIMAL_HALF_NDOF = 18;
export const REDUCED_CHI2_BINS = 100;
export const MAXIMAL_REDUCED_CHI2 = 10;
/** Bin width of the reduced-χ² histogram, 10/100 (MuidBuilder m_ReducedChiSquaredDx). */
export const REDUCED_CHI2_DX = MAXIMAL_REDUCED_CHI2 / REDUCED_CHI2_BINS;
/** Detector selector of the transverse PDF (MuidElementNumbers: c_Both, c_OnlyBarrel, c_OnlyEndcap). */
export const Detector = { Both: 0, OnlyBarrel: 1, OnlyEndcap: 2 } as const;
export const DETECTORS = 3;
/** Default log-likelihood of a hypothesis with no value (KLMMuidLikelihood, klm.md §2.11). */
export const DEFAULT_LOG_LIKELIHOOD = -1e20;
/** finishTrack flags a track "junk" when Σ pdf over the hypotheses is below this (klm.md §2.11). */
export const JUNK_PDF_SUM = 1e-20;

export interface LongitudinalRow {
  outcome: number;
  lastLayer: number;
  layers: number[];
}

export interface TransverseEntry {
  detector: number;
  ndof: number;
  threshold: number;
  scaleX: number;
  scaleY: number;
  histogram: number[];
}

export interface HypothesisTables {
  pdg: number;
  longitudinal: LongitudinalRow[];
  transverse: TransverseEntry[];
}

export interface LikelihoodTablesJson {
  format: typeof LIKELIHOOD_FORMAT;
  version: number;
  efficiency: number;
  hypotheses: Record<string, HypothesisTables>;
  training?: Record<string, unknown>;
}

const LAYER_ROWS = MAXIMAL_BARREL_LAYER + 1;
const LAYER_STRIDE = KLM_SLOTS;
const HALF_NDOF_SLOTS = MAXIMAL_HALF_NDOF + 1;

/** Index of a (detector, halfNdof) transverse table. */
function transverseIndex(detector: number, halfNdof: number): number {
  return detector * HALF_NDOF_SLOTS + halfNdof;
}

/** The transverse detector selector of a track (MuidBuilder::getTransversePDF). */
export function transverseDetector(result: Pick<MuidResult, "barrelExtLayer" | "endcapExtLayer">): number {
  if (result.endcapExtLayer < 0) return Detector.OnlyBarrel;
  if (result.barrelExtLayer < 0) return Detector.OnlyEndcap;
  return Detector.Both;
}

/** One hypothesis's PDFs (MuidBuilder for one PDG code), ready to evaluate. */
export class MuidHypothesisPdf {
  readonly name: string;
  readonly pdg: number;
  /** [outcome 0–66][lastLayer 0–14][layer slot 0–28] */
  readonly layerPdf = new Float64Array((MAXIMAL_OUTCOME + 1) * LAYER_ROWS * LAYER_STRIDE);
  readonly threshold = new Float64Array(DETECTORS * HALF_NDOF_SLOTS);
  readonly scaleX = new Float64Array(DETECTORS * HALF_NDOF_SLOTS);
  readonly scaleY = new Float64Array(DETECTORS * HALF_NDOF_SLOTS);
  /** log-PDF histogram and its spline coefficients D1–D3, [detector][halfNdof][bin] */
  readonly lnPdf = new Float64Array(DETECTORS * HALF_NDOF_SLOTS * REDUCED_CHI2_BINS);
  readonly d1 = new Float64Array(DETECTORS * HALF_NDOF_SLOTS * REDUCED_CHI2_BINS);
  readonly d2 = new Float64Array(DETECTORS * HALF_NDOF_SLOTS * REDUCED_CHI2_BINS);
  readonly d3 = new Float64Array(DETECTORS * HALF_NDOF_SLOTS * REDUCED_CHI2_BINS);
  private readonly present = new Uint8Array(DETECTORS * HALF_NDOF_SLOTS);

  constructor(name: string, tables: HypothesisTables) {
    this.name = name;
    this.pdg = tables.pdg;
    for (const row of tables.longitudinal) {
      const base = (row.outcome * LAYER_ROWS + row.lastLayer) * LAYER_STRIDE;
      for (let i = 0; i < row.layers.length; i++) this.layerPdf[base + i] = row.layers[i]!;
    }
    const n = REDUCED_CHI2_BINS;
    const b = new Float64Array(n), c = new Float64Array(n), d = new Float64Array(n);
    for (const entry of tables.transverse) {
      const t = transverseIndex(entry.detector, entry.ndof >> 1);
      this.present[t] = 1;
      this.threshold[t] = entry.threshold;
      this.scaleX[t] = entry.scaleX;
      this.scaleY[t] = entry.scaleY;
      this.lnPdf.set(entry.histogram, t * n);
      // MuidBuilder::fillPDFs: spline over the first 99 knots, coefficients of the last bin zeroed
      b.fill(0); c.fill(0); d.fill(0);
      muidSpline(n - 1, REDUCED_CHI2_DX, entry.histogram, b, c, d);
      b[n - 1] = 0; c[n - 1] = 0; d[n - 1] = 0;
      this.d1.set(b, t * n);
      this.d2.set(c, t * n);
      this.d3.set(d, t * n);
    }
  }

  /** P[layer slot] for (outcome, lastLayer), 0 where the table has no row. */
  layerProbability(outcome: number, lastLayer: number, slot: number): number {
    return this.layerPdf[(outcome * LAYER_ROWS + lastLayer) * LAYER_STRIDE + slot]!;
  }

  /** MuidBuilder::getLongitudinalPDF (klm.md §2.9): product over crossed layers of P (hit) or 1 − P·ε (no hit). */
  longitudinalPdf(result: MuidResult): number {
    const outcome = result.outcome;
    if (outcome <= Outcome.NotReached || outcome > MAXIMAL_OUTCOME) return 0;
    const barrelExtLayer = result.barrelExtLayer;
    if (barrelExtLayer > MAXIMAL_BARREL_LAYER) return 0;
    const endcapExtLayer = result.endcapExtLayer;
    if (endcapExtLayer > MAXIMAL_ENDCAP_FORWARD_LAYER) return 0;
    const ext = result.extLayerPattern;
    const hit = result.hitLayerPattern;
    const lastLayer = lastLayerOf(result);
    const base = (outcome * LAYER_ROWS + lastLayer) * LAYER_STRIDE;
    const P = this.layerPdf;
    let pdf = 1.0;
    for (let layer = 0; layer <= barrelExtLayer; layer++) {
      const bit = 1 << layer;
      if ((ext & bit) === 0) continue;
      if ((hit & bit) !== 0) pdf *= P[base + layer]!;
      else if ((layer === 0 && outcome < Outcome.CrossBarrelStopInForwardMin) || layer === MAXIMAL_BARREL_LAYER || layer < barrelExtLayer) {
        pdf *= 1 - P[base + layer]! * result.barrelEfficiency[layer]!;
      }
    }
    const maxLayer = result.isForward ? MAXIMAL_ENDCAP_FORWARD_LAYER : MAXIMAL_ENDCAP_BACKWARD_LAYER;
    for (let layer = 0; layer <= endcapExtLayer; layer++) {
      const bit = 1 << (layer + BKLM_LAYERS);
      if ((ext & bit) === 0) continue;
      if ((hit & bit) !== 0) pdf *= P[base + BKLM_LAYERS + layer]!;
      else if (layer === 0 || layer === maxLayer || layer < endcapExtLayer) {
        pdf *= 1 - P[base + BKLM_LAYERS + layer]! * result.endcapEfficiency[layer]!;
      }
    }
    return pdf;
  }

  /** MuidBuilder::getTransversePDF (klm.md §2.10): spline of the log-PDF below the threshold, scaled-χ² tail above. */
  transversePdf(result: Pick<MuidResult, "chi2" | "ndof" | "barrelExtLayer" | "endcapExtLayer">): number {
    const ndof = result.ndof;
    if (ndof <= 0) return 1.0;
    const chiSquared = result.chi2;
    if (chiSquared < 0) return 0.0;
    const halfNdof = ndof >> 1;
    let x = chiSquared / ndof;
    const detector = transverseDetector(result);
    if (halfNdof > MAXIMAL_HALF_NDOF) {
      const t = transverseIndex(detector, MAXIMAL_HALF_NDOF);
      this.requireTransverse(t, detector, MAXIMAL_HALF_NDOF);
      x *= this.scaleX[t]! * halfNdof;
      return this.scaleY[t]! * pow(x, halfNdof - 1.0) * exp(-x);
    }
    const t = transverseIndex(detector, halfNdof);
    this.requireTransverse(t, detector, halfNdof);
    if (x > this.threshold[t]!) {
      x *= this.scaleX[t]! * halfNdof;
      const y = this.scaleY[t]!;
      if (halfNdof === 1) return y * exp(-x);
      if (halfNdof === 2) return y * x * exp(-x);
      if (halfNdof === 3) return y * x * x * exp(-x);
      return y * pow(x, halfNdof - 1.0) * exp(-x);
    }
    x -= 0.5 * REDUCED_CHI2_DX;
    // C++ (int) truncates toward zero: x in [−0.05, 0) reads bin 0 with a negative offset
    const i = Math.trunc(x / REDUCED_CHI2_DX);
    const k = t * REDUCED_CHI2_BINS + i;
    const dx = x - i * REDUCED_CHI2_DX;
    const logPdf = this.lnPdf[k]! + dx * (this.d1[k]! + dx * (this.d2[k]! + dx * this.d3[k]!));
    return exp(logPdf);
  }

  /** MuidBuilder::getPDF = longitudinal × transverse. */
  pdf(result: MuidResult): number {
    return this.longitudinalPdf(result) * this.transversePdf(result);
  }

  private requireTransverse(t: number, detector: number, halfNdof: number): void {
    if (this.present[t] !== 1) throw new InputError(`likelihood tables of hypothesis "${this.name}" have no transverse PDF for detector ${detector}, ndof ${2 * halfNdof}`);
  }
}

/** Likelihood values of one track: the PDF per hypothesis, its log, and the muon probability. */
export interface KlmLikelihoodValues {
  /** pdf per hypothesis name (0 when the track did not reach the KLM) */
  pdf: Record<string, number>;
  /** ln pdf, or DEFAULT_LOG_LIKELIHOOD (−1e20) when pdf = 0, not reached or junk */
  logL: Record<string, number>;
  /** Σ pdf < 1e-20 with the track in the KLM (finishTrack's JunkPDFValue) */
  junk: boolean;
  /** L_μ/(L_μ + L_π); 0.5 (no information) when not reached or junk */
  muonId: number;
}

/** The Muid likelihood over all hypotheses of a table file. */
export class KlmLikelihood {
  readonly hypotheses: readonly MuidHypothesisPdf[];
  /** layer efficiency the tables were normalised to (the hit probability is P·ε) */
  readonly efficiency: number;
  readonly training: Record<string, unknown>;
  private readonly muon: MuidHypothesisPdf;
  private readonly pion: MuidHypothesisPdf;

  constructor(tables: LikelihoodTablesJson) {
    validateLikelihoodTables(tables);
    this.efficiency = tables.efficiency;
    this.training = tables.training ?? {};
    this.hypotheses = Object.entries(tables.hypotheses).map(([name, t]) => new MuidHypothesisPdf(name, t));
    const muon = this.hypotheses.find((h) => h.pdg === 13);
    const pion = this.hypotheses.find((h) => h.pdg === 211);
    if (!muon || !pion) throw new FormatError("likelihood tables need a muon (pdg 13) and a pion (pdg 211) hypothesis for muonID");
    this.muon = muon;
    this.pion = pion;
  }

  /** Parses and validates a table file's text. */
  static fromJsonText(text: string): KlmLikelihood {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new FormatError(`likelihood tables are not valid JSON: ${(e as Error).message}`);
    }
    return new KlmLikelihood(value as LikelihoodTablesJson);
  }

  /** PDFs, log-likelihoods and muonID of one track (finishTrack, klm.md §2.11). */
  evaluate(result: MuidResult): KlmLikelihoodValues {
    checkMuidResult(result);
    const pdf: Record<string, number> = {};
    const logL: Record<string, number> = {};
    for (const h of this.hypotheses) {
      pdf[h.name] = 0;
      logL[h.name] = DEFAULT_LOG_LIKELIHOOD;
    }
    if (result.outcome === Outcome.NotReached) return { pdf, logL, junk: false, muonId: 0.5 };
    let denom = 0;
    for (const h of this.hypotheses) {
      const value = h.pdf(result);
      pdf[h.name] = value;
      denom += value;
    }
    if (denom < JUNK_PDF_SUM) return { pdf, logL, junk: true, muonId: 0.5 };
    for (const h of this.hypotheses) if (pdf[h.name]! > 0) logL[h.name] = log(pdf[h.name]!);
    const lMu = pdf[this.muon.name]!;
    const lPi = pdf[this.pion.name]!;
    // from the logs so that two tiny likelihoods keep their ratio
    let muonId: number;
    if (lMu === 0 && lPi === 0) muonId = 0.5;
    else if (lPi === 0) muonId = 1;
    else if (lMu === 0) muonId = 0;
    else muonId = 1 / (1 + exp(logL[this.pion.name]! - logL[this.muon.name]!));
    return { pdf, logL, junk: false, muonId };
  }
}

/**
 * API boundary of evaluate: the fields the PDFs index tables with must be integers in their ranges and
 * χ² must be a finite number (a NaN would read no table bin and give a NaN likelihood). Results of
 * KlmReconstructor always pass; this guards hand-made MuidResults.
 */
function checkMuidResult(r: MuidResult): void {
  if (r === null || typeof r !== "object") throw new InputError("Muid result must be an object");
  const int = (v: unknown, lo: number, hi: number) => Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi;
  if (!int(r.outcome, 0, MAXIMAL_OUTCOME)) throw new InputError(`Muid result: outcome ${String(r.outcome)} is not an integer 0..${MAXIMAL_OUTCOME}`);
  if (!int(r.barrelExtLayer, -1, MAXIMAL_BARREL_LAYER)) throw new InputError(`Muid result: barrelExtLayer ${String(r.barrelExtLayer)} is not an integer −1..${MAXIMAL_BARREL_LAYER}`);
  if (!int(r.endcapExtLayer, -1, MAXIMAL_ENDCAP_FORWARD_LAYER)) throw new InputError(`Muid result: endcapExtLayer ${String(r.endcapExtLayer)} is not an integer −1..${MAXIMAL_ENDCAP_FORWARD_LAYER}`);
  if (!int(r.extLayerPattern, 0, 2 ** 31 - 1) || !int(r.hitLayerPattern, 0, 2 ** 31 - 1)) throw new InputError("Muid result: layer patterns must be non-negative 31-bit integers");
  if (!int(r.ndof, 0, 2 ** 31 - 1)) throw new InputError(`Muid result: ndof ${String(r.ndof)} is not a non-negative integer`);
  // a negative χ² is allowed: getTransversePDF defines its PDF as 0 (klm.md §2.10)
  if (typeof r.chi2 !== "number" || !Number.isFinite(r.chi2)) throw new InputError(`Muid result: chi2 ${String(r.chi2)} must be a finite number`);
  if (!(r.barrelEfficiency?.length >= BKLM_LAYERS) || !(r.endcapEfficiency?.length >= KLM_SLOTS - BKLM_LAYERS))
    throw new InputError("Muid result: barrelEfficiency and endcapEfficiency must hold one value per layer");
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

/** Checks a table file against the format (FormatError / VersionError naming the problem). */
export function validateLikelihoodTables(value: unknown): asserts value is LikelihoodTablesJson {
  if (typeof value !== "object" || value === null) throw new FormatError("likelihood tables must be a JSON object");
  checkJsonDepth(value, "likelihood tables");
  const t = value as Partial<LikelihoodTablesJson>;
  if (t.format !== LIKELIHOOD_FORMAT) throw new FormatError(`likelihood tables: format must be "${LIKELIHOOD_FORMAT}", got ${JSON.stringify(t.format)}`);
  if (t.version !== LIKELIHOOD_FORMAT_VERSION) throw new VersionError(`likelihood tables: version ${String(t.version)} is not supported (expected ${LIKELIHOOD_FORMAT_VERSION})`);
  if (!isFiniteNumber(t.efficiency) || t.efficiency <= 0 || t.efficiency > 1) throw new FormatError(`likelihood tables: efficiency must be in (0, 1], got ${String(t.efficiency)}`);
  if (typeof t.hypotheses !== "object" || t.hypotheses === null || Object.keys(t.hypotheses).length === 0) throw new FormatError("likelihood tables: no hypotheses");
  for (const [name, h] of Object.entries(t.hypotheses)) {
    const where = `likelihood tables, hypothesis "${name}"`;
    if (typeof h !== "object" || h === null) throw new FormatError(`${where}: not an object`);
    if (!Number.isInteger(h.pdg) || h.pdg <= 0) throw new FormatError(`${where}: pdg must be a positive integer (|PDG code|)`);
    if (!Array.isArray(h.longitudinal) || !Array.isArray(h.transverse)) throw new FormatError(`${where}: needs "longitudinal" and "transverse" arrays`);
    const seen = new Set<number>();
    for (const row of h.longitudinal) {
      if (!checkExtrapolationOutcome(row?.outcome, row?.lastLayer)) throw new FormatError(`${where}: (outcome ${row?.outcome}, lastLayer ${row?.lastLayer}) is not a valid pair (klm.md §2.8)`);
      const key = row.outcome * LAYER_ROWS + row.lastLayer;
      if (seen.has(key)) throw new FormatError(`${where}: duplicate row (outcome ${row.outcome}, lastLayer ${row.lastLayer})`);
      seen.add(key);
      if (!Array.isArray(row.layers) || row.layers.length > KLM_SLOTS || !row.layers.every((p) => isFiniteNumber(p) && p >= 0 && p <= 1)) {
        throw new FormatError(`${where}: row (outcome ${row.outcome}, lastLayer ${row.lastLayer}) needs ≤ ${KLM_SLOTS} probabilities in [0, 1]`);
      }
    }
    const seenT = new Set<number>();
    for (const e of h.transverse) {
      const ok = e && Number.isInteger(e.detector) && e.detector >= 0 && e.detector < DETECTORS &&
        Number.isInteger(e.ndof) && e.ndof >= 2 && e.ndof <= 2 * MAXIMAL_HALF_NDOF && e.ndof % 2 === 0;
      if (!ok) throw new FormatError(`${where}: transverse entry needs detector 0–2 and even ndof 2–${2 * MAXIMAL_HALF_NDOF}`);
      const key = transverseIndex(e.detector, e.ndof >> 1);
      if (seenT.has(key)) throw new FormatError(`${where}: duplicate transverse entry (detector ${e.detector}, ndof ${e.ndof})`);
      seenT.add(key);
      // the tabulated region must stay inside the 100 bins: threshold ≤ 10 − dx/2
      if (!isFiniteNumber(e.threshold) || e.threshold < 0 || e.threshold > MAXIMAL_REDUCED_CHI2 - REDUCED_CHI2_DX / 2) {
        throw new FormatError(`${where}: transverse threshold must be in [0, ${MAXIMAL_REDUCED_CHI2 - REDUCED_CHI2_DX / 2}] (detector ${e.detector}, ndof ${e.ndof})`);
      }
      if (!isFiniteNumber(e.scaleX) || e.scaleX <= 0 || !isFiniteNumber(e.scaleY) || e.scaleY < 0) throw new FormatError(`${where}: transverse scaleX must be > 0 and scaleY ≥ 0 (detector ${e.detector}, ndof ${e.ndof})`);
      if (!Array.isArray(e.histogram) || e.histogram.length !== REDUCED_CHI2_BINS || !e.histogram.every(isFiniteNumber)) {
        throw new FormatError(`${where}: transverse histogram needs ${REDUCED_CHI2_BINS} finite log-PDF values (detector ${e.detector}, ndof ${e.ndof})`);
      }
    }
  }
}
