import { ModelError, VersionError } from "../errors.js";
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, type ModelBundle, type LayerSpec, type Tensor } from "./card.js";

/**
 * Checks that a model card is internally consistent and matches its tensors, and infers the
 * per-row size of every named value. Returns value name → per-row element count.
 * Throws ModelError (or VersionError) naming the first problem found.
 */
export function validateModel(bundle: ModelBundle): Map<string, number> {
  if (bundle === null || typeof bundle !== "object") throw new ModelError("model bundle is missing");
  const { card, tensors } = bundle;
  if (card === null || typeof card !== "object") throw new ModelError("model card is missing");
  if (!(tensors instanceof Map)) throw new ModelError("model tensors must be a Map of name → tensor");
  if (card.format !== MODEL_FORMAT) throw new ModelError(`model card format is ${JSON.stringify(card.format)}, expected "${MODEL_FORMAT}"`);
  if (card.formatVersion !== MODEL_FORMAT_VERSION)
    throw new VersionError(`model format version ${card.formatVersion} is not supported (this build reads version ${MODEL_FORMAT_VERSION})`);
  // what summaries, exports and the fast paths read from a card besides its layers
  if (typeof card.name !== "string" || typeof card.task !== "string") throw new ModelError("model card needs a name and a task (strings)");
  if (card.provenance === null || typeof card.provenance !== "object" || Array.isArray(card.provenance)) throw new ModelError("model card needs a provenance object");
  if (card.charge !== undefined && card.charge !== 1 && card.charge !== -1) throw new ModelError(`model card charge must be +1, -1 or absent, got ${JSON.stringify(card.charge)}`);
  if (!Array.isArray(card.inputs) || card.inputs.length === 0) throw new ModelError("model card lists no inputs");
  if (!Array.isArray(card.layers) || card.layers.length === 0) throw new ModelError("model card lists no layers");
  if (!Array.isArray(card.outputs) || card.outputs.length !== 1) throw new ModelError("model card must list exactly one output (the logits)");

  const size = new Map<string, number>();
  let rowElements = 0;
  if (card.layers.length > MAX_LAYERS) throw new ModelError(`model card lists ${card.layers.length} layers, more than the limit of ${MAX_LAYERS}`);
  for (const input of card.inputs) {
    if (input === null || typeof input !== "object") throw new ModelError("an input is not an object");
    if (typeof input.name !== "string" || input.name === "") throw new ModelError("an input has no name");
    if (size.has(input.name)) throw new ModelError(`input "${input.name}" is listed twice`);
    if (!isShape(input.shape) || input.shape.length === 0) throw new ModelError(`input "${input.name}" has an invalid shape`);
    if (input.kind !== "float" && input.kind !== "index") throw new ModelError(`input "${input.name}" has unknown kind ${JSON.stringify(input.kind)}`);
    if (input.kind === "index") {
      if (!Array.isArray(input.range) || !isInt32(input.range[0]) || !isInt32(input.range[1]) || input.range[0] > input.range[1])
        throw new ModelError(`index input "${input.name}" needs an integer range [min, max] within ±2^31 (ids are int32 in wasm memory)`);
      if (product(input.shape) !== 1) throw new ModelError(`index input "${input.name}" must hold one id per row`);
    }
    const n = product(input.shape);
    checkValueSize(input.name, n);
    if (input.features !== undefined && (!Array.isArray(input.features) || input.features.length !== n))
      throw new ModelError(`input "${input.name}" names ${input.features?.length} features for ${n} values`);
    rowElements += n;
    size.set(input.name, n);
  }

  const tensor = (name: unknown, layer: LayerSpec, what: string, shape: (number | null)[]): Tensor => {
    if (typeof name !== "string") throw new ModelError(`${layer.op} layer "${layer.output}" has no ${what} tensor name`);
    const t = tensors.get(name);
    if (t === undefined) throw new ModelError(`${layer.op} layer "${layer.output}" needs tensor "${name}", which the file does not contain`);
    if (t === null || typeof t !== "object") throw new ModelError(`tensor "${name}" is not a tensor`);
    if (t.dtype !== "F32") throw new ModelError(`tensor "${name}" has dtype ${t.dtype}; layers read F32`);
    if (!isShape(t.shape)) throw new ModelError(`tensor "${name}" has an invalid shape`);
    if (t.shape.length !== shape.length || shape.some((d, i) => d !== null && t.shape[i] !== d))
      throw new ModelError(`tensor "${name}" has shape [${t.shape}], ${layer.op} layer "${layer.output}" expects [${shape.map((d) => d ?? "*")}]`);
    // the kernels copy exactly product(shape) floats: the data must be a Float32Array of that length
    if (!(t.data instanceof Float32Array) || t.data.length !== product(t.shape))
      throw new ModelError(`tensor "${name}" of shape [${t.shape}] must hold ${product(t.shape)} float32 values, it holds ${ArrayBuffer.isView(t.data) ? `${(t.data as Float32Array).length} values in a ${(t.data as { constructor: { name: string } }).constructor.name}` : typeof t.data}`);
    return t;
  };
  const read = (name: unknown, layer: LayerSpec): number => {
    if (typeof name !== "string" || !size.has(name))
      throw new ModelError(`${layer.op} layer "${(layer as { output?: string }).output}" reads "${String(name)}", which is not computed before it`);
    return size.get(name)!;
  };

  for (const layer of card.layers) {
    if (layer === null || typeof layer !== "object") throw new ModelError("a layer is not an object");
    if (typeof layer.output !== "string" || layer.output === "") throw new ModelError(`a ${layer.op} layer has no output name`);
    if (size.has(layer.output)) throw new ModelError(`value "${layer.output}" is written twice`);
    let out: number;
    switch (layer.op) {
      case "batchnorm": {
        const n = read(layer.input, layer);
        for (const k of ["weight", "bias", "runningMean", "runningVar"] as const) tensor(layer[k], layer, k, [n]);
        if (typeof layer.eps !== "number" || !(layer.eps > 0) || !Number.isFinite(layer.eps)) throw new ModelError(`batchnorm layer "${layer.output}" needs a finite eps > 0`);
        out = n;
        break;
      }
      case "dense": {
        const nin = read(layer.input, layer);
        const w = tensor(layer.weight, layer, "weight", [null, nin]);
        out = w.shape[0];
        if (out === 0) throw new ModelError(`dense layer "${layer.output}" has no output units`);
        tensor(layer.bias, layer, "bias", [out]);
        checkActivation(layer.activation, layer.alpha, layer.output);
        break;
      }
      case "conv2d": {
        const n = read(layer.input, layer);
        if (!isShape(layer.inShape) || layer.inShape.length !== 3 || product(layer.inShape) !== n)
          throw new ModelError(`conv2d layer "${layer.output}": inShape [${layer.inShape}] does not hold the ${n} values of "${layer.input}"`);
        if (layer.kernel !== 3 || layer.padding !== 1 || layer.stride !== 1)
          throw new ModelError(`conv2d layer "${layer.output}": only 3×3 kernels with stride 1 and padding 1 are supported`);
        const [cin, h, w] = layer.inShape;
        const wt = tensor(layer.weight, layer, "weight", [null, cin, 3, 3]);
        const cout = wt.shape[0];
        tensor(layer.bias, layer, "bias", [cout]);
        checkActivation(layer.activation, undefined, layer.output);
        out = cout * h * w;
        break;
      }
      case "embedding": {
        const n = read(layer.input, layer);
        if (n !== 1) throw new ModelError(`embedding layer "${layer.output}" reads "${layer.input}" of ${n} values; it takes one id per row`);
        const idx = card.inputs.find((i) => i.name === layer.input);
        if (idx === undefined || idx.kind !== "index") throw new ModelError(`embedding layer "${layer.output}" must read an index input`);
        if (!isInt32(layer.indexOffset)) throw new ModelError(`embedding layer "${layer.output}" needs an integer indexOffset within ±2^31`);
        const wt = tensor(layer.weight, layer, "weight", [null, null]);
        const [lo, hi] = idx.range!;
        if (lo + layer.indexOffset < 0 || hi + layer.indexOffset >= wt.shape[0])
          throw new ModelError(`embedding layer "${layer.output}": ids ${lo}..${hi} with offset ${layer.indexOffset} fall outside the table of ${wt.shape[0]} rows`);
        out = wt.shape[1];
        break;
      }
      case "concat": {
        if (!Array.isArray(layer.inputs) || layer.inputs.length === 0) throw new ModelError(`concat layer "${layer.output}" has no inputs`);
        out = layer.inputs.reduce((s, name) => s + read(name, layer), 0);
        break;
      }
      default:
        throw new ModelError(`unknown layer op ${JSON.stringify((layer as { op: unknown }).op)}`);
    }
    checkValueSize(layer.output, out);
    rowElements += out;
    if (rowElements > MAX_ROW_ELEMENTS)
      throw new ModelError(`the model's values hold more than ${MAX_ROW_ELEMENTS} elements per row (limit MAX_ROW_ELEMENTS) at layer "${layer.output}"`);
    size.set(layer.output, out);
  }

  const output = card.outputs[0];
  if (output === null || typeof output !== "object" || typeof output.name !== "string") throw new ModelError("the model output has no name");
  if (!isShape(output.shape)) throw new ModelError(`output "${output.name}" has an invalid shape`);
  const last = card.layers[card.layers.length - 1];
  if (output.name !== last.output) throw new ModelError(`output "${output.name}" is not the value of the last layer ("${last.output}")`);
  if (size.get(output.name) !== product(output.shape) || !Array.isArray(output.classes) || output.classes.length !== size.get(output.name))
    throw new ModelError(`output "${output.name}" has ${size.get(output.name)} values; the card declares shape [${output.shape}] and ${output.classes?.length} classes`);
  return size;
}

/**
 * Limits that bound what a (possibly hostile) card can make the runtime allocate, independently of
 * its tensors: a card of a few bytes could otherwise declare an input of 10^9 values that no layer
 * reads and make Model.create reserve gigabytes. Our largest real value is the ECL CNN's conv output,
 * 64 × 7 × 7 = 3136 per row (ecl.md §1.2); the limits leave three orders of magnitude of room.
 */
/** Most elements one named value (input or layer output) may hold per row. */
export const MAX_VALUE_ELEMENTS = 1 << 20;
/** Most elements all values of a model may hold per row together (activations of one row: ≤ 64 MiB). */
export const MAX_ROW_ELEMENTS = 1 << 24;
/** Most layers a card may list (real models have 2–7). */
export const MAX_LAYERS = 4096;

function checkValueSize(name: string, n: number): void {
  if (n > MAX_VALUE_ELEMENTS) throw new ModelError(`value "${name}" holds ${n} elements per row, more than the limit of ${MAX_VALUE_ELEMENTS} (MAX_VALUE_ELEMENTS)`);
}

function isInt32(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= -(2 ** 31) && (v as number) < 2 ** 31;
}

function checkActivation(act: unknown, alpha: unknown, name: string): void {
  if (act !== "none" && act !== "relu" && act !== "leakyrelu") throw new ModelError(`layer "${name}" has unknown activation ${JSON.stringify(act)}`);
  if (act === "leakyrelu" && alpha !== undefined && !(typeof alpha === "number" && Number.isFinite(alpha)))
    throw new ModelError(`layer "${name}" has an invalid leakyrelu slope`);
}

function isShape(s: unknown): s is number[] {
  return Array.isArray(s) && s.every((d) => Number.isInteger(d) && d >= 0);
}

export function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
