import { FormatError } from "../errors.js";

/**
 * Deepest nesting of arrays/objects accepted in a JSON document read from a file (model card,
 * likelihood tables). JSON.parse accepts any depth, but JSON.stringify and structuredClone recurse
 * and overflow the call stack near depth 10⁴ (V8), so a card nested 10⁶ deep inside a free-form
 * field would load and then crash a later export. Real cards nest 4 levels.
 */
export const MAX_JSON_DEPTH = 64;

/** Throws FormatError when `value` nests deeper than MAX_JSON_DEPTH (iterative: safe on any depth). */
export function checkJsonDepth(value: unknown, what: string): void {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth > MAX_JSON_DEPTH) throw new FormatError(`${what} nests deeper than ${MAX_JSON_DEPTH} levels (MAX_JSON_DEPTH)`);
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
  }
}
