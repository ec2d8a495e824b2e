/**
 * KLM detector response (SKELETON: interface only): layer crossings → KlmHit (strip quantisation, RPC
 * cluster sizes, per-layer efficiency, δ-ray strips, shower clusters) and beam-background hits.
 */
import type { DetectorConditions, KlmHit } from "./types.js";
import type { Random } from "./random.js";
import type { KlmCrossing } from "./transport.js";

/** SKELETON: no hits until the response lands. */
export function klmHitsFromCrossings(_crossings: readonly KlmCrossing[], _trackIndex: number, _rng: Random, _conditions: DetectorConditions): KlmHit[] {
  return [];
}

/** SKELETON: no background until the response lands. */
export function klmBackgroundHits(_rng: Random, _conditions: DetectorConditions): KlmHit[] {
  return [];
}
