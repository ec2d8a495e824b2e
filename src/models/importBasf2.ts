/**
 * Imports the basf2 KLM muon-ID DNN from a basf2 MVA weight-file XML (klm.md §1.5–1.6), without
 * torch: XML (no single root) → `<Python_Weightfile>` base64 (no padding) → outer pickle
 * `[['my_model.pt'], [bytes], [], []]` (no globals allowed) → torch zip → `data.pkl`, the whole
 * pickled `nn.Module`, with exactly the 12 globals of klm.md §1.6 → state_dict tensors → a
 * ModelBundle. Hyper-parameters (eps, widths, LeakyReLU slope, softmax dim) are read from the
 * pickled modules and checked against the published architecture.
 */
import { FormatError, ModelError } from "../errors.js";
import { KLM_DNN_CLASSES, KLM_DNN_HIDDEN_WIDTHS, KLM_DNN_INPUTS, klmDnnCard } from "./architectures.js";
import type { ModelBundle, Tensor } from "./card.js";
import { PickleDict, PickleObject, pickleTypeName, unpickle } from "./pickle.js";
import { loadTorchZip, torchGlobals, TorchTensor } from "./torchZip.js";
import { validateModel } from "./validate.js";

/** The 12 globals data.pkl of the basf2 KLM DNN references (klm.md §1.6 step 3): functions… */
const BASF2_DNN_FUNCTIONS = [
  "torch._utils._rebuild_parameter",
  "torch._utils._rebuild_tensor_v2",
  "torch.FloatStorage",
  "torch.LongStorage",
  "collections.OrderedDict",
  "__builtin__.set",
] as const;
/** …and the module classes, rebuilt as inert records. */
const BASF2_DNN_CLASSES = [
  "basf2_mva_python_interface.torch.DNN",
  "torch.nn.modules.batchnorm.BatchNorm1d",
  "torch.nn.modules.linear.Linear",
  "torch.nn.modules.container.ModuleList",
  "torch.nn.modules.activation.LeakyReLU",
  "torch.nn.modules.activation.Softmax",
] as const;

/** Layer widths of `DNN(121, 121*2)`: 121 → 242 → 100 → 50 → 50 → 50 → 2 (klm.md §1.5; architectures.ts). */
const KLM_DNN_WIDTHS = [KLM_DNN_INPUTS, ...KLM_DNN_HIDDEN_WIDTHS, KLM_DNN_CLASSES];
const KLM_DNN_HIDDEN_LAYERS = KLM_DNN_HIDDEN_WIDTHS.length - 1;

/** sha256 of the public basf2 test weight file (reference README.md, basf2/ data files). */
const PUBLIC_WEIGHTFILE_SHA256 = "c366566e823a13e3e4e7b4e6585aee2ce8c9cf4abfcd12f10bb549ca838ca1ca";
const PUBLIC_WEIGHTFILE_SOURCE = "basf2 mva/methods/tests/KLMMuonIDDNNWeightFile.xml";

export interface Basf2ImportOptions {
  /** where the XML came from, recorded in the card's provenance */
  sourcePath?: string;
}

/**
 * Imports a basf2 KLMMuonIDDNN weight file. `xml` is the file's bytes (hashed as given) or its
 * text (hashed as UTF-8). Async only because SHA-256 comes from Web Crypto.
 */
export async function importBasf2KlmDnn(xml: string | Uint8Array, options: Basf2ImportOptions = {}): Promise<ModelBundle> {
  let text: string;
  let bytes: Uint8Array;
  if (typeof xml !== "string" && !(xml instanceof Uint8Array)) throw new FormatError("basf2 weight file must be given as text or bytes");
  if (options === null || typeof options !== "object") throw new FormatError("basf2 import options must be an object");
  if (typeof xml === "string") {
    text = xml;
    bytes = new TextEncoder().encode(xml);
  } else {
    bytes = xml;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(xml);
    } catch {
      throw new FormatError("basf2 weight file is not valid UTF-8");
    }
  }
  const elements = scanWeightfileElements(text);
  const get = (name: string): string => {
    const v = elements.get(name);
    if (v === undefined) throw new FormatError(`basf2 weight file has no <${name}> element`);
    return v;
  };

  // General options (klm.md §1.6): Python/torch, 121 features, 2 classes, muon = class 1, no extra normalisation.
  const method = get("method").trim();
  if (method !== "Python") throw new ModelError(`basf2 weight file uses MVA method "${method}"; the KLM DNN importer reads method "Python"`);
  const framework = get("Python_framework").trim();
  if (framework !== "torch") throw new ModelError(`basf2 weight file uses Python framework "${framework}"; the KLM DNN importer reads "torch"`);
  const nFeatures = get("number_feature_variables").trim();
  if (nFeatures !== String(KLM_DNN_WIDTHS[0]))
    throw new ModelError(`basf2 weight file has number_feature_variables = ${nFeatures}; the KLM DNN takes ${KLM_DNN_WIDTHS[0]}`);
  const nClasses = elements.get("nClasses")?.trim();
  if (nClasses !== undefined && nClasses !== "2") throw new ModelError(`basf2 weight file has nClasses = ${nClasses}; the KLM DNN has 2`);
  const signalClass = elements.get("signal_class")?.trim();
  if (signalClass !== undefined && signalClass !== "1") throw new ModelError(`basf2 weight file has signal_class = ${signalClass}; the importer expects the muon as class 1`);
  const normalize = elements.get("Python_normalize")?.trim();
  if (normalize !== undefined && normalize !== "false")
    throw new ModelError(`basf2 weight file has Python_normalize = ${normalize}; input scaling in the MVA layer is not supported`);
  const features: string[] = [];
  for (let i = 0; i < KLM_DNN_WIDTHS[0]; i++) features.push(get(`variable${i}`).trim());

  // Weightfile → outer pickle → the one saved model file (basf2_mva_python_interface/torch.py end_fit/load).
  const outer = unpickle(decodeBase64(get("Python_Weightfile"), "Python_Weightfile"), { globals: {} });
  if (!Array.isArray(outer) || outer.length < 2 || !Array.isArray(outer[0]) || !Array.isArray(outer[1]))
    throw new FormatError(`basf2 Python_Weightfile holds a ${pickleTypeName(outer)}, expected [[file names], [file contents], …]`);
  const [fileNames, fileContents] = outer as [unknown[], unknown[]];
  if (fileNames.length !== 1 || fileContents.length !== 1 || typeof fileNames[0] !== "string" || !(fileContents[0] instanceof Uint8Array))
    throw new FormatError(`basf2 Python_Weightfile should hold exactly one saved model file, found ${fileNames.length} names and ${fileContents.length} contents`);
  const modelFileName = fileNames[0];

  const archive = loadTorchZip(fileContents[0], { globals: torchGlobals(BASF2_DNN_FUNCTIONS, BASF2_DNN_CLASSES) });
  const dnn = archive.value;
  const { tensors: stateDict, eps, negativeSlope } = readDnnModule(dnn);

  const tensors = new Map<string, Tensor>();
  for (const [name, t] of stateDict) tensors.set(name, { dtype: t.dtype, shape: t.shape.slice(), data: t.data });

  const sha256 = await sha256Hex(bytes);
  const modelName = modelNameFromConfig(elements.get("Python_config")) ?? modelFileName.replace(/\.[^.]*$/, "");
  const isPublicFile = sha256 === PUBLIC_WEIGHTFILE_SHA256;
  // The layer list is the architecture's (architectures.ts): readDnnModule has checked widths, shapes, eps and slope.
  const card = klmDnnCard(
    {
      source: `${isPublicFile ? PUBLIC_WEIGHTFILE_SOURCE : `basf2 MVA weight file ${options.sourcePath ?? "(unnamed)"}`}, ${modelName}`,
      license: "LGPL-3.0",
      importedBy: "muid-wasm importBasf2KlmDnn",
      sha256,
      notes:
        `imported from ${options.sourcePath ?? "(bytes)"}; saved model file ${modelFileName} (torch archive "${archive.prefix}", format version ${archive.version}); ` +
        `whole nn.Module ${(dnn as PickleObject).__class__}; ${elements.get("Python_config") ?? ""}`.trim(),
    },
    undefined,
    {
      name: `basf2-klm-dnn-${modelName}`,
      description:
        `Belle II KLM muon-ID DNN (arXiv:2503.11351), ${modelName}, imported from a basf2 MVA weight file: ` +
        `BatchNorm1d(${KLM_DNN_WIDTHS[0]}, eps ${eps}) → ${KLM_DNN_WIDTHS.join("→")} with LeakyReLU(${negativeSlope}); p(μ) = softmax(logits)[1].`,
      featureNames: features,
      preprocessing: "none: normalisation is the in-network BatchNorm (Python_normalize=false)",
      eps,
      negativeSlope,
    },
  );
  const bundle = { card, tensors };
  validateModel(bundle);
  return bundle;
}

// ---------------------------------------------------------------------------------------------
// The weight-file XML: a declaration and top-level elements with no single root (klm.md §1.6)

/**
 * Scans `<name>text</name>` elements at the top level of a basf2 weight file. No DOM parser: the
 * file has no single root. Elements must not nest or carry attributes; text is entity-decoded.
 */
export function scanWeightfileElements(xml: string): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  const skipSpace = () => {
    while (pos < xml.length && /\s/.test(xml[pos])) pos++;
  };
  if (xml.charCodeAt(0) === 0xfeff) pos = 1;
  skipSpace();
  if (xml.startsWith("<?xml", pos)) {
    const end = xml.indexOf("?>", pos);
    if (end < 0) throw new FormatError("basf2 weight file: the XML declaration is not closed");
    pos = end + 2;
  }
  for (;;) {
    skipSpace();
    if (pos >= xml.length) break;
    if (xml.startsWith("<!--", pos)) {
      const end = xml.indexOf("-->", pos + 4);
      if (end < 0) throw new FormatError(`basf2 weight file: comment at character ${pos} is not closed`);
      pos = end + 3;
      continue;
    }
    const open = /^<([A-Za-z_][A-Za-z0-9_.-]*)(\s*\/)?>/.exec(xml.slice(pos, pos + 256));
    if (open === null) throw new FormatError(`basf2 weight file: expected an element at character ${pos}, found ${JSON.stringify(xml.slice(pos, pos + 20))}`);
    const name = open[1];
    pos += open[0].length;
    let value = "";
    if (open[2] === undefined) {
      const close = `</${name}>`;
      const end = xml.indexOf(close, pos);
      if (end < 0) throw new FormatError(`basf2 weight file: element <${name}> is not closed (truncated file?)`);
      const raw = xml.slice(pos, end);
      if (raw.includes("<")) throw new FormatError(`basf2 weight file: element <${name}> contains markup; only text elements are expected`);
      value = decodeEntities(raw, name);
      pos = end + close.length;
    }
    if (out.has(name)) throw new FormatError(`basf2 weight file: element <${name}> appears twice`);
    out.set(name, value);
  }
  if (out.size === 0) throw new FormatError("basf2 weight file contains no elements");
  return out;
}

function decodeEntities(raw: string, element: string): string {
  return raw.replace(/&(#x[0-9A-Fa-f]+|#[0-9]+|[A-Za-z]+);|&/g, (m, ent: string | undefined) => {
    if (ent === undefined) throw new FormatError(`basf2 weight file: stray "&" in <${element}>`);
    const named: Record<string, string> = { quot: '"', amp: "&", lt: "<", gt: ">", apos: "'" };
    if (ent[0] === "#") {
      const code = ent[1] === "x" ? parseInt(ent.slice(2), 16) : parseInt(ent.slice(1), 10);
      if (!(code >= 0 && code <= 0x10ffff)) throw new FormatError(`basf2 weight file: invalid character reference ${m} in <${element}>`);
      return String.fromCodePoint(code);
    }
    if (!Object.prototype.hasOwnProperty.call(named, ent)) throw new FormatError(`basf2 weight file: unknown entity ${m} in <${element}>`);
    return named[ent];
  });
}

const BASE64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64_VALUE = (() => {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < 64; i++) t[BASE64_ALPHABET.charCodeAt(i)] = i;
  return t;
})();

/** Standard base64 with or without `=` padding (basf2 writes none); ASCII whitespace is ignored. */
export function decodeBase64(text: string, what: string): Uint8Array {
  const s = text.replace(/[ \t\r\n]+/g, "").replace(/={1,2}$/, "");
  if (s.length % 4 === 1) throw new FormatError(`${what}: base64 text of ${s.length} characters cannot be complete (truncated?)`);
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? BASE64_VALUE[c] : -1;
    if (v < 0) throw new FormatError(`${what}: invalid base64 character ${JSON.stringify(s[i])} at position ${i}`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

function modelNameFromConfig(config: string | undefined): string | undefined {
  if (config === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(config);
    const path = (parsed as { file_path?: unknown })?.file_path;
    if (typeof path !== "string") return undefined;
    return path.replace(/^.*\//, "").replace(/\.[^.]*$/, "") || undefined;
  } catch {
    return undefined;
  }
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", bytes.slice().buffer);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// ---------------------------------------------------------------------------------------------
// The pickled nn.Module (klm.md §1.5)

/** The instance __dict__ of a pickled nn.Module of the expected class. */
function moduleState(v: unknown, cls: string, path: string): PickleDict {
  if (!(v instanceof PickleObject)) throw new ModelError(`basf2 DNN: ${path} is a ${pickleTypeName(v)}, expected a ${cls}`);
  if (v.__class__ !== cls) throw new ModelError(`basf2 DNN: ${path} is a ${v.__class__}, expected a ${cls}`);
  if (!(v.state instanceof PickleDict)) throw new ModelError(`basf2 DNN: ${path} (${cls}) has no attribute dict`);
  return v.state;
}

function attr(state: PickleDict, key: string, path: string): unknown {
  if (!state.has(key)) throw new ModelError(`basf2 DNN: ${path} has no attribute "${key}"`);
  return state.get(key);
}

function dictAttr(state: PickleDict, key: string, path: string): PickleDict {
  const v = attr(state, key, path);
  if (!(v instanceof PickleDict)) throw new ModelError(`basf2 DNN: ${path}.${key} is a ${pickleTypeName(v)}, expected a dict`);
  return v;
}

/**
 * `model.state_dict()`, computed from the pickled module tree as nn.Module does: each module's
 * parameters, then its persistent buffers, then its children, names joined with ".".
 */
export function moduleStateDict(root: unknown, maxDepth = 32): Map<string, TorchTensor> {
  const out = new Map<string, TorchTensor>();
  const visited = new Set<unknown>();
  const walk = (m: unknown, prefix: string, depth: number) => {
    if (depth > maxDepth) throw new ModelError(`pickled module tree is deeper than ${maxDepth} levels`);
    if (!(m instanceof PickleObject) || !(m.state instanceof PickleDict)) throw new ModelError(`module "${prefix || "(root)"}" is a ${pickleTypeName(m)}, not a pickled nn.Module`);
    if (visited.has(m)) throw new ModelError(`module "${prefix}" appears twice in the module tree`);
    visited.add(m);
    const path = prefix.replace(/\.$/, "") || m.__class__;
    const params = dictAttr(m.state, "_parameters", path);
    const buffers = dictAttr(m.state, "_buffers", path);
    const nonPersistent = m.state.get("_non_persistent_buffers_set");
    const skip = nonPersistent instanceof Set ? nonPersistent : new Set();
    const add = (name: unknown, t: unknown) => {
      if (t === null) return;
      if (typeof name !== "string") throw new ModelError(`module "${path}" has a non-string tensor name`);
      if (!(t instanceof TorchTensor)) throw new ModelError(`${prefix}${name} is a ${pickleTypeName(t)}, not a tensor`);
      out.set(prefix + name, t);
    };
    for (const [name, t] of params) add(name, t);
    for (const [name, t] of buffers) if (!skip.has(name)) add(name, t);
    for (const [name, child] of dictAttr(m.state, "_modules", path)) {
      if (child === null) continue;
      walk(child, `${prefix}${String(name)}.`, depth + 1);
    }
  };
  walk(root, "", 0);
  return out;
}

function positiveInt(state: PickleDict, key: string, path: string): number {
  const v = attr(state, key, path);
  if (!Number.isSafeInteger(v) || (v as number) <= 0) throw new ModelError(`basf2 DNN: ${path}.${key} = ${String(v)} is not a positive integer`);
  return v as number;
}

/** Reads and checks the DNN module: state_dict, widths and tensor shapes, BatchNorm eps, LeakyReLU slope. */
function readDnnModule(dnn: unknown): { tensors: Map<string, TorchTensor>; eps: number; negativeSlope: number } {
  const top = moduleState(dnn, "basf2_mva_python_interface.torch.DNN", "the pickled model");
  const modules = dictAttr(top, "_modules", "DNN");
  const expected = ["batchnorm", "linearin", "hidlayers", "linearout", "activate_linear", "softmax"];
  const names = [...modules.keys()].map(String);
  const missing = expected.filter((n) => !names.includes(n));
  const extra = names.filter((n) => !expected.includes(n));
  if (missing.length > 0 || extra.length > 0)
    throw new ModelError(`basf2 DNN submodules differ from the KLM DNN: ${missing.length ? `missing ${missing.join(", ")}` : ""}${missing.length && extra.length ? "; " : ""}${extra.length ? `unexpected ${extra.join(", ")}` : ""}`);

  const bn = moduleState(modules.get("batchnorm"), "torch.nn.modules.batchnorm.BatchNorm1d", "batchnorm");
  const numFeatures = positiveInt(bn, "num_features", "batchnorm");
  const eps = attr(bn, "eps", "batchnorm");
  if (typeof eps !== "number" || !(eps > 0) || !Number.isFinite(eps)) throw new ModelError(`basf2 DNN: batchnorm.eps = ${String(eps)} is not a positive number`);
  if (attr(bn, "affine", "batchnorm") !== true) throw new ModelError("basf2 DNN: batchnorm is not affine");
  if (attr(bn, "track_running_stats", "batchnorm") !== true) throw new ModelError("basf2 DNN: batchnorm does not track running statistics");

  const leaky = moduleState(modules.get("activate_linear"), "torch.nn.modules.activation.LeakyReLU", "activate_linear");
  const negativeSlope = attr(leaky, "negative_slope", "activate_linear");
  if (typeof negativeSlope !== "number" || !Number.isFinite(negativeSlope)) throw new ModelError(`basf2 DNN: activate_linear.negative_slope = ${String(negativeSlope)} is not a number`);
  const softmax = moduleState(modules.get("softmax"), "torch.nn.modules.activation.Softmax", "softmax");
  const dim = attr(softmax, "dim", "softmax");
  if (dim !== 1) throw new ModelError(`basf2 DNN: softmax over dim ${String(dim)}, expected 1 (over the classes)`);

  const hidden = moduleState(modules.get("hidlayers"), "torch.nn.modules.container.ModuleList", "hidlayers");
  const hiddenModules = dictAttr(hidden, "_modules", "hidlayers");
  const hiddenNames = [...hiddenModules.keys()].map(String);
  const expectedHidden = Array.from({ length: KLM_DNN_HIDDEN_LAYERS }, (_, i) => String(i));
  if (hiddenNames.join(",") !== expectedHidden.join(","))
    throw new ModelError(`basf2 DNN: hidlayers holds [${hiddenNames.join(", ")}], expected [${expectedHidden.join(", ")}]`);

  // Linear layers in forward order (klm.md §1.5: linearin, hidlayers 0–3, linearout).
  const linears: [string, unknown][] = [
    ["linearin", modules.get("linearin")],
    ...hiddenNames.map((n): [string, unknown] => [`hidlayers.${n}`, hiddenModules.get(n)]),
    ["linearout", modules.get("linearout")],
  ];
  const widths = [numFeatures];
  for (const [path, m] of linears) {
    const s = moduleState(m, "torch.nn.modules.linear.Linear", path);
    const nin = positiveInt(s, "in_features", path);
    const nout = positiveInt(s, "out_features", path);
    if (nin !== widths[widths.length - 1]) throw new ModelError(`basf2 DNN: ${path} takes ${nin} inputs, the previous layer gives ${widths[widths.length - 1]}`);
    widths.push(nout);
  }
  if (widths.join(",") !== KLM_DNN_WIDTHS.join(","))
    throw new ModelError(`basf2 DNN widths ${widths.join("→")} differ from the KLM DNN architecture ${KLM_DNN_WIDTHS.join("→")} (klm.md §1.5)`);

  const tensors = moduleStateDict(dnn);
  const expectShape = (name: string, shape: number[], dtype: "F32" | "I64" = "F32") => {
    const t = tensors.get(name);
    if (t === undefined) throw new ModelError(`basf2 DNN has no tensor "${name}"`);
    if (t.dtype !== dtype || t.shape.join(",") !== shape.join(","))
      throw new ModelError(`basf2 DNN tensor "${name}" is ${t.dtype} [${t.shape}], expected ${dtype} [${shape}]`);
  };
  for (const k of ["weight", "bias", "running_mean", "running_var"]) expectShape(`batchnorm.${k}`, [numFeatures]);
  expectShape("batchnorm.num_batches_tracked", [], "I64");

  linears.forEach(([path], i) => {
    expectShape(`${path}.weight`, [widths[i + 1], widths[i]]);
    expectShape(`${path}.bias`, [widths[i + 1]]);
  });
  const extraTensors = [...tensors.keys()].filter((n) => !/^(batchnorm\.(weight|bias|running_mean|running_var|num_batches_tracked)|(linearin|hidlayers\.\d+|linearout)\.(weight|bias))$/.test(n));
  if (extraTensors.length > 0) throw new ModelError(`basf2 DNN has unexpected tensors: ${extraTensors.join(", ")}`);
  return { tensors, eps, negativeSlope };
}
