// muid-wasm public API.
export * from "./errors.js";
export * from "./models/card.js";
