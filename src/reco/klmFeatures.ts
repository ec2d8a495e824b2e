/**
 * The 121 inputs of the KLM muon-ID DNN (basf2 KLMMuonIDDNNExpertModule::getNNmuProbability,
 * klm.md §1.3–1.4), in the order of the weight file's nninput_0 … nninput_120:
 *
 *   0 Σχ² of the matched hits   1 ndof   2 extLayer − hitLayer   3 extLayer   4 pT (GeV/c)
 *   5 + 4·slot + k, slot 0–28 (barrel layers 1–15, then endcap layers 1–14, both endcaps sharing them):
 *     k = 0 width (cm): √(w1² + w2²), w_i = strip width × strips / 2 (klmHitWidth)
 *     k = 1 steplength (cm): distance to the previous matched hit in slot order; 0 for the first
 *     k = 2 chi2: the per-hit Kalman χ² (the Track→hit relation weight)
 *     k = 3 hasext: 1 if the layer's extrapolation bit is set
 *   A slot without a matched hit has width = steplength = chi2 = −1; hasext defaults to 0.
 *
 * The slot map keeps the first matched hit of a slot (std::map::insert in relation order) and is
 * read in increasing slot order.
 */
import { KLM_SLOTS, klmHitWidth } from "../geometry/klm.js";
import type { KlmHit } from "../sim/types.js";
import { InputError } from "../errors.js";

export const KLM_GLOBAL_FEATURES = 5;
export const KLM_FEATURES_PER_SLOT = 4;
/** 5 + 4 × 29 = 121 (the expert B2FATALs on any other count). */
export const KLM_FEATURES = KLM_GLOBAL_FEATURES + KLM_FEATURES_PER_SLOT * KLM_SLOTS;

/** Names of the 121 features, in input order. */
export const KLM_FEATURE_NAMES: readonly string[] = [
  "chi2", "ndof", "extLayerMinusHitLayer", "extLayer", "pt",
  ...Array.from({ length: KLM_SLOTS }, (_, slot) => [`width${slot}`, `steplength${slot}`, `chi2_${slot}`, `hasext${slot}`]).flat(),
];

/** A hit the association matched to the track, in matching (relation) order. */
export interface MatchedKlmHit {
  /** 29-slot index of the hit's layer */
  slot: number;
  hit: Pick<KlmHit, "section" | "layer" | "x" | "y" | "z" | "uStripMin" | "uStripMax" | "vStripMin" | "vStripMax">;
  /** the per-hit χ² (relation weight) */
  chi2: number;
}

export interface KlmFeatureInput {
  /** Σχ² and ndof of the Muid result */
  chi2: number;
  ndof: number;
  /** Muid's extLayer and hitLayer (combined numbering, −1 for none) */
  extLayer: number;
  hitLayer: number;
  /** track transverse momentum at the IP, GeV/c */
  pt: number;
  /** 29-bit extrapolation pattern (hasext) */
  extLayerPattern: number;
  matchedHits: readonly MatchedKlmHit[];
}

/** Fills the 121 features of one track into `out` (a new Float32Array by default) and returns it. */
export function klmFeatures(input: KlmFeatureInput, out: Float32Array = new Float32Array(KLM_FEATURES)): Float32Array {
  if (out.length < KLM_FEATURES) throw new InputError(`feature buffer holds ${out.length} numbers, needs ${KLM_FEATURES}`);
  out[0] = input.chi2;
  out[1] = input.ndof;
  out[2] = input.extLayer - input.hitLayer;
  out[3] = input.extLayer;
  out[4] = input.pt;
  const bySlot: (MatchedKlmHit | undefined)[] = new Array(KLM_SLOTS);
  for (const m of input.matchedHits) {
    if (!Number.isInteger(m.slot) || m.slot < 0 || m.slot >= KLM_SLOTS) throw new InputError(`matched hit slot ${m.slot} is out of range (0..${KLM_SLOTS - 1})`);
    if (bySlot[m.slot] === undefined) bySlot[m.slot] = m;
  }
  let previous: MatchedKlmHit | undefined;
  for (let slot = 0; slot < KLM_SLOTS; slot++) {
    const base = KLM_GLOBAL_FEATURES + KLM_FEATURES_PER_SLOT * slot;
    const m = bySlot[slot];
    if (m === undefined) {
      out[base] = -1;
      out[base + 1] = -1;
      out[base + 2] = -1;
    } else {
      out[base] = klmHitWidth(m.hit);
      if (previous === undefined) out[base + 1] = 0;
      else {
        const dx = m.hit.x - previous.hit.x, dy = m.hit.y - previous.hit.y, dz = m.hit.z - previous.hit.z;
        out[base + 1] = Math.sqrt(dx * dx + dy * dy + dz * dz);
      }
      out[base + 2] = m.chi2;
      previous = m;
    }
    out[base + 3] = (input.extLayerPattern >>> slot) & 1;
  }
  return out;
}
