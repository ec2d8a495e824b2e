/**
 * Imports a basf2 ECL CNN μ/π classifier (`CNN_PID_ECL`, ecl.md §1.2) from its PyTorch
 * `state_dict` file (`torch.save(model.state_dict())`, e.g. ECLCNNPID_charge_minus.pt): a torch
 * zip whose data.pkl is an OrderedDict of tensors. Only the globals a state_dict needs are allowed.
 * The basf2 weights are not public (ecl.md §1.7); this reads files of that layout, ours included.
 */
import { ECL_CLIP_ENERGY, ECL_THRESHOLD_DEFAULT } from "../constants.js";
import { FormatError, ModelError } from "../errors.js";
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, type ModelBundle, type ModelCard, type Tensor } from "./card.js";
import { PickleDict, pickleTypeName } from "./pickle.js";
import { loadTorchZip, torchGlobals, TorchTensor } from "./torchZip.js";
import { validateModel } from "./validate.js";

const STATE_DICT_GLOBALS = [
  "collections.OrderedDict",
  "torch._utils._rebuild_tensor_v2",
  "torch._utils._rebuild_parameter",
  "torch.FloatStorage",
  "torch.LongStorage",
] as const;

/**
 * `CNN_PID_ECL` hyper-parameters (ecl.md §1.2, `model_cnn_name()`): 7×7 single-channel image,
 * 64 filters, θ embedding 44×22, φ embedding 144×18, one external input (pT), fc1 3177→128, 2 classes.
 */
const IMAGE_SIZE = 7;
const CONV_FILTERS = 64;
const THETA_EMBEDDINGS = 44;
const THETA_EMBEDDING_DIM = 22;
const PHI_EMBEDDINGS = 144;
const PHI_EMBEDDING_DIM = 18;
const FC1_UNITS = 128;
const NUM_CLASSES = 2;
const FC1_INPUTS = CONV_FILTERS * IMAGE_SIZE * IMAGE_SIZE + 1 + THETA_EMBEDDING_DIM + PHI_EMBEDDING_DIM; // 3177

/**
 * Embedding index ranges (ecl.md §1.5 items 2–3): thetaId 14..57 enters as thetaId − 14 (the
 * LabelEncoder fitted on [14 … 57]); phiId 0..143 enters unchanged.
 * TODO(constants): these are ECL detector facts and belong in src/constants.ts once it has them.
 */
const THETA_ID_MIN = 14;
const THETA_ID_MAX = 57;
const PHI_ID_MIN = 0;
const PHI_ID_MAX = 143;

/** state_dict keys and shapes of the ECL CNN (ecl.md §1.2). */
export const ECL_CNN_STATE_DICT: ReadonlyArray<readonly [string, readonly number[]]> = [
  ["conv1.weight", [CONV_FILTERS, 1, 3, 3]],
  ["conv1.bias", [CONV_FILTERS]],
  ["emb_theta.weight", [THETA_EMBEDDINGS, THETA_EMBEDDING_DIM]],
  ["emb_phi.weight", [PHI_EMBEDDINGS, PHI_EMBEDDING_DIM]],
  ["fc1.weight", [FC1_UNITS, FC1_INPUTS]],
  ["fc1.bias", [FC1_UNITS]],
  ["fc2.weight", [NUM_CLASSES, FC1_UNITS]],
  ["fc2.bias", [NUM_CLASSES]],
];

export interface EclImportOptions {
  /** the track charge this model is for (basf2 keeps one model per charge) */
  charge: 1 | -1;
  /** where the file came from, recorded in provenance */
  sourcePath?: string;
  /** sha256 of the file, recorded in provenance (the CLI computes it) */
  sha256?: string;
}

/** Imports an ECL CNN state_dict zip. ModelError names a missing/extra key or a wrong shape. */
export function importTorchEclCnn(bytes: Uint8Array, options: EclImportOptions): ModelBundle {
  if (options.charge !== 1 && options.charge !== -1) throw new ModelError(`ECL CNN charge must be +1 or -1, got ${String(options.charge)}`);
  const archive = loadTorchZip(bytes, { globals: torchGlobals(STATE_DICT_GLOBALS) });
  const stateDict = archive.value;
  if (!(stateDict instanceof PickleDict)) throw new FormatError(`ECL CNN file holds a ${pickleTypeName(stateDict)}, expected a state_dict (OrderedDict of tensors)`);

  const expected = new Map(ECL_CNN_STATE_DICT);
  const tensors = new Map<string, Tensor>();
  for (const [key, value] of stateDict) {
    if (typeof key !== "string") throw new ModelError(`ECL CNN state_dict has a non-string key (${pickleTypeName(key)})`);
    const shape = expected.get(key);
    if (shape === undefined) throw new ModelError(`ECL CNN state_dict has an unexpected key "${key}" (expected ${[...expected.keys()].join(", ")})`);
    if (!(value instanceof TorchTensor)) throw new ModelError(`ECL CNN state_dict entry "${key}" is a ${pickleTypeName(value)}, not a tensor`);
    if (value.dtype !== "F32") throw new ModelError(`ECL CNN tensor "${key}" has dtype ${value.dtype}, expected F32`);
    if (value.shape.join(",") !== shape.join(",")) throw new ModelError(`ECL CNN tensor "${key}" has shape [${value.shape}], expected [${shape}]`);
    tensors.set(key, { dtype: value.dtype, shape: value.shape.slice(), data: value.data });
  }
  const missing = [...expected.keys()].filter((k) => !tensors.has(k));
  if (missing.length > 0) throw new ModelError(`ECL CNN state_dict is missing ${missing.map((k) => `"${k}"`).join(", ")}`);

  const chargeName = options.charge > 0 ? "plus" : "minus";
  const card: ModelCard = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    name: `ecl-cnn-charge-${chargeName}`,
    task: "ecl-cnn",
    charge: options.charge,
    description:
      `Belle II ECL CNN μ/π classifier (basf2 CNN_PID_ECL, ecl.md §1.2) for charge ${options.charge > 0 ? "+1" : "-1"}: ` +
      `conv 3×3 (1→${CONV_FILTERS}) + ReLU, θ/φ embeddings, fc ${FC1_INPUTS}→${FC1_UNITS} ReLU, fc ${FC1_UNITS}→${NUM_CLASSES}; p(μ) = softmax(logits)[1].`,
    inputs: [
      {
        name: "image",
        shape: [1, IMAGE_SIZE, IMAGE_SIZE],
        kind: "float",
        unit: "GeV",
        description: "ECLCalDigit energies of the 7×7 crystal window around the extrapolated crystal, row-major (ecl.md §1.6)",
        preprocessing: `pixels below ${ECL_THRESHOLD_DEFAULT * 1000} MeV set to 0, then clipped to at most ${ECL_CLIP_ENERGY} GeV (ecl.md §1.5)`,
      },
      { name: "pt", shape: [1], kind: "float", unit: "GeV/c", description: "transverse momentum at the ECL extrapolation point (ExtHit), unscaled" },
      { name: "thetaId", shape: [1], kind: "index", range: [THETA_ID_MIN, THETA_ID_MAX], description: "ECL thetaId of the centre crystal" },
      { name: "phiId", shape: [1], kind: "index", range: [PHI_ID_MIN, PHI_ID_MAX], description: "ECL phiId of the centre crystal" },
    ],
    layers: [
      {
        op: "conv2d",
        input: "image",
        output: "conv1",
        weight: "conv1.weight",
        bias: "conv1.bias",
        inShape: [1, IMAGE_SIZE, IMAGE_SIZE],
        kernel: 3,
        padding: 1,
        stride: 1,
        activation: "relu",
      },
      { op: "embedding", input: "thetaId", output: "emb_theta", weight: "emb_theta.weight", indexOffset: 0 - THETA_ID_MIN },
      // 0 − min rather than −min: −0 would not survive the JSON round trip of the card
      { op: "embedding", input: "phiId", output: "emb_phi", weight: "emb_phi.weight", indexOffset: 0 - PHI_ID_MIN },
      // torch.cat((x1, pt, emb_theta, emb_phi), dim=1): this order (ecl.md §1.2 row 7)
      { op: "concat", inputs: ["conv1", "pt", "emb_theta", "emb_phi"], output: "fc1_input" },
      { op: "dense", input: "fc1_input", output: "fc1", weight: "fc1.weight", bias: "fc1.bias", activation: "relu" },
      { op: "dense", input: "fc1", output: "logits", weight: "fc2.weight", bias: "fc2.bias", activation: "none" },
    ],
    outputs: [{ name: "logits", shape: [NUM_CLASSES], classes: ["pion", "muon"], description: "fc2 output; p(muon) = softmax(logits)[1] (ecl.md §1.3)" }],
    provenance: {
      source: options.sourcePath ?? "PyTorch state_dict (torch.save zip)",
      importedBy: "muid-wasm importTorchEclCnn",
      ...(options.sha256 !== undefined ? { sha256: options.sha256 } : {}),
      notes: `torch archive "${archive.prefix}", format version ${archive.version}; state_dict layout of basf2 cnn_pid_conv_net.py`,
    },
  };
  const bundle = { card, tensors };
  validateModel(bundle);
  return bundle;
}
