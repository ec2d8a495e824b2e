/**
 * muid model files: a safetensors file whose `__metadata__` holds the model card as JSON under
 * `muid.card` (card.ts), next to the tensors the card names. Reading validates the card against
 * the tensors (validate.ts); writing validates first, so an inconsistent model is never written.
 */
import { FormatError } from "../errors.js";
import { CARD_METADATA_KEY, type ModelBundle, type ModelCard, type LayerSpec } from "./card.js";
import { checkJsonDepth } from "./jsonDepth.js";
import { readSafetensors, writeSafetensors, type SafetensorsLimits } from "./safetensors.js";
import { product, validateModel } from "./validate.js";

/** Reads a model file. FormatError for a bad file or card, VersionError for an unsupported card version, ModelError for an inconsistent one. */
export function readModelFile(bytes: Uint8Array, limits: Partial<SafetensorsLimits> = {}): ModelBundle {
  const { metadata, tensors } = readSafetensors(bytes, limits);
  const text = metadata[CARD_METADATA_KEY];
  if (text === undefined) throw new FormatError(`model file has no model card (safetensors metadata key "${CARD_METADATA_KEY}" is missing)`);
  let card: unknown;
  try {
    card = JSON.parse(text);
  } catch (e) {
    throw new FormatError(`model card in "${CARD_METADATA_KEY}" is not valid JSON (${(e as Error).message})`);
  }
  if (card === null || typeof card !== "object" || Array.isArray(card)) throw new FormatError(`model card in "${CARD_METADATA_KEY}" is not a JSON object`);
  checkJsonDepth(card, "model card");
  const bundle: ModelBundle = { card: card as ModelCard, tensors };
  validateModel(bundle);
  return bundle;
}

/** Writes a model file after validating the card against the tensors. */
export function writeModelFile(bundle: ModelBundle): Uint8Array {
  validateModel(bundle);
  return writeSafetensors(bundle.tensors, { [CARD_METADATA_KEY]: JSON.stringify(bundle.card) });
}

/** Tensor names a layer reads as weights (not running statistics or stray buffers). */
function parameterTensors(layer: LayerSpec): string[] {
  switch (layer.op) {
    case "batchnorm":
      return [layer.weight, layer.bias];
    case "dense":
    case "conv2d":
      return [layer.weight, layer.bias];
    case "embedding":
      return [layer.weight];
    case "concat":
      return [];
  }
}

/**
 * Trainable parameter count: elements of the weight/bias/embedding tensors the layers use
 * (BatchNorm running statistics and unreferenced buffers excluded, as PyTorch's
 * `sum(p.numel() for p in model.parameters())` does).
 */
export function countParameters(bundle: ModelBundle): number {
  const names = new Set(bundle.card.layers.flatMap(parameterTensors));
  let n = 0;
  for (const name of names) {
    const t = bundle.tensors.get(name);
    if (t !== undefined) n += product(t.shape);
  }
  return n;
}

/** A few lines describing a model card, for CLI output. */
export function cardSummary(card: ModelCard): string {
  const lines: string[] = [];
  lines.push(`${card.name} (${card.task}${card.charge !== undefined ? `, charge ${card.charge > 0 ? "+1" : "-1"}` : ""}), format ${card.format} v${card.formatVersion}`);
  for (const i of card.inputs) lines.push(`  input  ${i.name} [${i.shape}] ${i.kind}${i.range ? ` ${i.range[0]}..${i.range[1]}` : ""}${i.unit ? ` (${i.unit})` : ""}`);
  for (const l of card.layers) {
    const from = l.op === "concat" ? l.inputs.join(", ") : l.input;
    const act = l.op === "dense" || l.op === "conv2d" ? ` ${l.activation}${l.op === "dense" && l.alpha !== undefined ? `(${l.alpha})` : ""}` : "";
    lines.push(`  layer  ${l.op} ${from} -> ${l.output}${act}`);
  }
  for (const o of card.outputs) lines.push(`  output ${o.name} [${o.shape}] classes ${o.classes.join(", ")}`);
  lines.push(`  source ${card.provenance.source}${card.provenance.license ? ` (${card.provenance.license})` : ""}`);
  return lines.join("\n");
}
