/**
 * Muid's layer bookkeeping (basf2 MuidElementNumbers, KLMMuidLikelihood, TrackExtrapolateG4e::finishTrack;
 * klm.md §2.6–2.8): the 29-bit extrapolation and hit patterns, the outermost crossed / hit layers, the
 * extrapolation outcome 0–66 and the "last layer" that indexes the longitudinal PDF.
 *
 * Layers here are 0-based as in Muid: barrel 0–14, endcap 0–13 (forward and backward share the endcap
 * numbers and the pattern bits 15–28); −1 means none.
 */
import { InputError } from "../errors.js";
import { BKLM_LAYERS, EKLM_BACKWARD_LAYERS, EKLM_FORWARD_LAYERS, EKLM_LAYER_SLOTS } from "../constants.js";

/** MuidElementNumbers::getMaximalBarrelLayer(): 14 (0-based). */
export const MAXIMAL_BARREL_LAYER = BKLM_LAYERS - 1;
/** MuidElementNumbers::getMaximalEndcapForwardLayer(): 13 (0-based). */
export const MAXIMAL_ENDCAP_FORWARD_LAYER = EKLM_FORWARD_LAYERS - 1;
/** MuidElementNumbers::getMaximalEndcapBackwardLayer(): 11 (0-based). */
export const MAXIMAL_ENDCAP_BACKWARD_LAYER = EKLM_BACKWARD_LAYERS - 1;
/** First pattern bit of the endcap layers (bit 15 = endcap layer 0). */
export const ENDCAP_PATTERN_OFFSET = BKLM_LAYERS;
/** Mask of the barrel bits 0–14 and of the endcap bits 15–28. */
export const BARREL_PATTERN_MASK = (1 << BKLM_LAYERS) - 1;
export const ENDCAP_PATTERN_MASK = ((1 << EKLM_LAYER_SLOTS) - 1) << BKLM_LAYERS;

/** MuidElementNumbers::Outcome (klm.md §2.8). */
export const Outcome = {
  NotReached: 0,
  StopInBarrel: 1,
  StopInForwardEndcap: 2,
  ExitBarrel: 3,
  ExitForwardEndcap: 4,
  StopInBackwardEndcap: 5,
  ExitBackwardEndcap: 6,
  CrossBarrelStopInForwardMin: 7,
  CrossBarrelStopInForwardMax: 21,
  CrossBarrelStopInBackwardMin: 22,
  CrossBarrelStopInBackwardMax: 36,
  CrossBarrelExitForwardMin: 37,
  CrossBarrelExitForwardMax: 51,
  CrossBarrelExitBackwardMin: 52,
  CrossBarrelExitBackwardMax: 66,
} as const;
/** MuidElementNumbers::getMaximalOutcome(). */
export const MAXIMAL_OUTCOME = Outcome.CrossBarrelExitBackwardMax;

/**
 * MuidElementNumbers::calculateExtrapolationOutcome: the category of how the extrapolation ended
 * (klm.md §2.8), e.g. (forward, not escaped, barrel 2, endcap 6) → 7 + 2 = 9.
 */
export function calculateExtrapolationOutcome(isForward: boolean, escaped: boolean, lastBarrelLayer: number, lastEndcapLayer: number): number {
  if (lastBarrelLayer < 0 && lastEndcapLayer < 0) return Outcome.NotReached;
  if (lastEndcapLayer < 0) return escaped ? Outcome.ExitBarrel : Outcome.StopInBarrel;
  if (escaped) {
    if (lastBarrelLayer < 0) return isForward ? Outcome.ExitForwardEndcap : Outcome.ExitBackwardEndcap;
    return (isForward ? Outcome.CrossBarrelExitForwardMin : Outcome.CrossBarrelExitBackwardMin) + lastBarrelLayer;
  }
  if (lastBarrelLayer < 0) return isForward ? Outcome.StopInForwardEndcap : Outcome.StopInBackwardEndcap;
  return (isForward ? Outcome.CrossBarrelStopInForwardMin : Outcome.CrossBarrelStopInBackwardMin) + lastBarrelLayer;
}

/**
 * MuidElementNumbers::checkExtrapolationOutcome: whether (outcome, lastLayer) can occur (klm.md §2.8
 * table; 829 valid pairs). lastLayer is the endcap layer when the endcap was reached, else the barrel layer.
 */
export function checkExtrapolationOutcome(outcome: number, lastLayer: number): boolean {
  if (!Number.isInteger(outcome) || !Number.isInteger(lastLayer) || lastLayer < 0) return false;
  let maximal: number;
  if (outcome === Outcome.StopInBarrel) maximal = MAXIMAL_BARREL_LAYER - 1;
  else if (outcome === Outcome.StopInForwardEndcap) maximal = MAXIMAL_ENDCAP_FORWARD_LAYER - 1;
  else if (outcome === Outcome.ExitBarrel) maximal = MAXIMAL_BARREL_LAYER;
  else if (outcome === Outcome.ExitForwardEndcap) maximal = MAXIMAL_ENDCAP_FORWARD_LAYER;
  else if (outcome === Outcome.StopInBackwardEndcap) maximal = MAXIMAL_ENDCAP_BACKWARD_LAYER - 1;
  else if (outcome === Outcome.ExitBackwardEndcap) maximal = MAXIMAL_ENDCAP_BACKWARD_LAYER;
  else if (outcome >= Outcome.CrossBarrelStopInForwardMin && outcome <= Outcome.CrossBarrelStopInForwardMax) maximal = MAXIMAL_ENDCAP_FORWARD_LAYER - 1;
  else if (outcome >= Outcome.CrossBarrelStopInBackwardMin && outcome <= Outcome.CrossBarrelStopInBackwardMax) maximal = MAXIMAL_ENDCAP_BACKWARD_LAYER - 1;
  else if (outcome >= Outcome.CrossBarrelExitForwardMin && outcome <= Outcome.CrossBarrelExitForwardMax) maximal = MAXIMAL_ENDCAP_FORWARD_LAYER;
  else if (outcome >= Outcome.CrossBarrelExitBackwardMin && outcome <= Outcome.CrossBarrelExitBackwardMax) maximal = MAXIMAL_ENDCAP_BACKWARD_LAYER;
  else return false;
  return lastLayer <= maximal;
}

/** Every valid (outcome, lastLayer) pair, outcome-major (829 pairs, klm.md §2.8). */
export function validOutcomeLayers(): { outcome: number; lastLayer: number }[] {
  const pairs: { outcome: number; lastLayer: number }[] = [];
  for (let outcome = 1; outcome <= MAXIMAL_OUTCOME; outcome++) {
    for (let lastLayer = 0; lastLayer <= MAXIMAL_BARREL_LAYER; lastLayer++) {
      if (checkExtrapolationOutcome(outcome, lastLayer)) pairs.push({ outcome, lastLayer });
    }
  }
  return pairs;
}

/** Number of set bits of a 32-bit pattern. */
function bitCount(value: number): number {
  let v = value >>> 0;
  let n = 0;
  while (v !== 0) {
    v &= v - 1;
    n++;
  }
  return n;
}

/** KLMMuidLikelihood::getTotalBarrelHits: hits in barrel layers (bits 0–14 of the hit pattern). */
export function totalBarrelHits(hitLayerPattern: number): number {
  return bitCount(hitLayerPattern & BARREL_PATTERN_MASK);
}

/** KLMMuidLikelihood::getTotalEndcapHits: hits in endcap layers (bits 15–28). */
export function totalEndcapHits(hitLayerPattern: number): number {
  return bitCount(hitLayerPattern & ENDCAP_PATTERN_MASK);
}

/** KLMMuidLikelihood::isExtrapolatedBarrelLayerCrossed(layer), layer 0–14. */
export function isExtrapolatedBarrelLayerCrossed(extLayerPattern: number, layer: number): boolean {
  if (!Number.isInteger(layer) || layer < 0 || layer > MAXIMAL_BARREL_LAYER) throw new InputError(`barrel layer ${layer} is out of range (0..${MAXIMAL_BARREL_LAYER})`);
  return ((extLayerPattern >>> layer) & 1) === 1;
}

/** KLMMuidLikelihood::isExtrapolatedEndcapLayerCrossed(layer), layer 0–13. */
export function isExtrapolatedEndcapLayerCrossed(extLayerPattern: number, layer: number): boolean {
  if (!Number.isInteger(layer) || layer < 0 || layer > MAXIMAL_ENDCAP_FORWARD_LAYER) throw new InputError(`endcap layer ${layer} is out of range (0..${MAXIMAL_ENDCAP_FORWARD_LAYER})`);
  return ((extLayerPattern >>> (ENDCAP_PATTERN_OFFSET + layer)) & 1) === 1;
}

/** A pattern from a bit string written most-significant bit first, as the basf2 tests do ("111" = bits 0–2). */
export function patternFromBits(bits: string): number {
  if (!/^[01]{1,31}$/.test(bits)) throw new InputError(`layer pattern must be 1–31 characters of 0/1, got ${JSON.stringify(bits)}`);
  return parseInt(bits, 2);
}

/**
 * What the extrapolation accumulates while it swims (TrackExtrapolateG4e ExtState): patterns, outermost
 * layers, whether it escaped through the outermost layer, Σχ² and the number of measured coordinates.
 */
export interface MuidSwimState {
  extLayerPattern: number;
  hitLayerPattern: number;
  lastBarrelExtLayer: number;
  lastEndcapExtLayer: number;
  lastBarrelHitLayer: number;
  lastEndcapHitLayer: number;
  escaped: boolean;
  chi2: number;
  nPoint: number;
  /** per-layer efficiencies of crossed layers (KLMMuidLikelihood default 1.0), barrel 15 and endcap 14 */
  barrelEfficiency: Float64Array;
  endcapEfficiency: Float64Array;
}

export function newMuidSwimState(): MuidSwimState {
  return {
    extLayerPattern: 0,
    hitLayerPattern: 0,
    lastBarrelExtLayer: -1,
    lastEndcapExtLayer: -1,
    lastBarrelHitLayer: -1,
    lastEndcapHitLayer: -1,
    escaped: false,
    chi2: 0,
    nPoint: 0,
    barrelEfficiency: new Float64Array(BKLM_LAYERS).fill(1),
    endcapEfficiency: new Float64Array(EKLM_LAYER_SLOTS).fill(1),
  };
}

/** The fields of basf2's KLMMuidLikelihood that the likelihood and the DNN read (finishTrack, klm.md §2.7). */
export interface MuidResult {
  outcome: number;
  isForward: boolean;
  barrelExtLayer: number;
  endcapExtLayer: number;
  barrelHitLayer: number;
  endcapHitLayer: number;
  /** outermost extrapolated layer, combined barrel + endcap numbering (§2.7) */
  extLayer: number;
  /** outermost hit layer in the same numbering */
  hitLayer: number;
  chi2: number;
  /** 2 × matched hits with a Kalman update */
  ndof: number;
  extLayerPattern: number;
  hitLayerPattern: number;
  barrelEfficiency: Float64Array;
  endcapEfficiency: Float64Array;
}

/** TrackExtrapolateG4e::finishTrack: the KLMMuidLikelihood fields from the swim state (klm.md §2.7). */
export function finishMuid(state: MuidSwimState, isForward: boolean): MuidResult {
  return {
    outcome: calculateExtrapolationOutcome(isForward, state.escaped, state.lastBarrelExtLayer, state.lastEndcapExtLayer),
    isForward,
    barrelExtLayer: state.lastBarrelExtLayer,
    endcapExtLayer: state.lastEndcapExtLayer,
    barrelHitLayer: state.lastBarrelHitLayer,
    endcapHitLayer: state.lastEndcapHitLayer,
    extLayer: state.lastBarrelExtLayer + state.lastEndcapExtLayer + 1,
    hitLayer: state.lastEndcapHitLayer === -1 ? state.lastBarrelHitLayer : state.lastBarrelExtLayer + state.lastEndcapHitLayer + 1,
    chi2: state.chi2,
    ndof: state.nPoint,
    extLayerPattern: state.extLayerPattern,
    hitLayerPattern: state.hitLayerPattern,
    barrelEfficiency: state.barrelEfficiency,
    endcapEfficiency: state.endcapEfficiency,
  };
}

/** The layer that indexes the longitudinal PDF: the endcap layer if the endcap was reached, else the barrel layer (§2.8). */
export function lastLayerOf(result: Pick<MuidResult, "barrelExtLayer" | "endcapExtLayer">): number {
  return result.endcapExtLayer < 0 ? result.barrelExtLayer : result.endcapExtLayer;
}
