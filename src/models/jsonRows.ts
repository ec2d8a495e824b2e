import { InputError } from "../errors.js";
import type { ModelCard } from "./card.js";
import { product } from "./validate.js";

/**
 * Converts JSON rows into the batched typed arrays a Model takes.
 * A model with one input takes rows as arrays of numbers (KLM DNN: `[[121 numbers], ...]`); a model
 * with several inputs takes rows as objects keyed by input name (ECL CNN:
 * `[{"image": [49 numbers], "pt": 0.5, "thetaId": 30, "phiId": 10}, ...]`). Values are checked for
 * type and count here; finiteness and id ranges are checked by Model.predict.
 */
export function rowsToInputs(card: ModelCard, rows: unknown): { inputs: Record<string, Float32Array>; batch: number } {
  if (!Array.isArray(rows)) throw new InputError("input must be a JSON array of rows");
  const batch = rows.length;
  const inputs: Record<string, Float32Array> = {};
  const single = card.inputs.length === 1;
  for (const spec of card.inputs) {
    const n = product(spec.shape);
    const out = new Float32Array(batch * n);
    rows.forEach((row, r) => {
      const value = single && Array.isArray(row) ? row : (row as Record<string, unknown> | null)?.[spec.name];
      if (value === undefined) {
        throw new InputError(single ? `row ${r} must be an array of ${n} numbers` : `row ${r} has no "${spec.name}"`);
      }
      if (n === 1 && typeof value === "number") {
        out[r] = value;
        return;
      }
      if (!Array.isArray(value) || value.length !== n) {
        const got = Array.isArray(value) ? `${value.length} values` : typeof value;
        throw new InputError(`row ${r}: "${spec.name}" must have ${n} numbers, got ${got}`);
      }
      for (let i = 0; i < n; i++) {
        const v = value[i];
        if (typeof v !== "number") throw new InputError(`row ${r}: "${spec.name}"[${i}] is not a number`);
        out[r * n + i] = v;
      }
    });
    inputs[spec.name] = out;
  }
  return { inputs, batch };
}
