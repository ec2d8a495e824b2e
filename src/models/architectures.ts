/**
 * Model cards of the network architectures muid-wasm knows, built in one place so that every way
 * of obtaining a model (importing basf2/PyTorch weights, training our own) carries the same card.
 *
 * ECL CNN: basf2 `CNN_PID_ECL` / `ConvNet` (ecl.md §1.2, `cnn_pid_conv_net.py`; hyper-parameters
 * from `model_cnn_name()`): conv 3×3 (1→64, padding 1) + ReLU → flatten channel-major (3136) →
 * concat [pt, Emb_θ(44×22)[thetaId−14], Emb_φ(144×18)[phiId]] → fc1 3177→128 + ReLU →
 * (dropout 0.1 in training) → fc2 128→2; p(μ) = softmax(logits)[1] (ecl.md §1.3).
 * Tensor names are the PyTorch state_dict keys, so a `.pt` file and our own training share them.
 */
import { ECL_CLIP_ENERGY, ECL_THRESHOLD_DEFAULT } from "../constants.js";
import { ECL_BARREL_CRYSTALS_PER_RING } from "../geometry/ecl.js";
import { ECL_CNN_THETA_ID_MAX, ECL_CNN_THETA_ID_MIN, ECL_WINDOW_SIZE } from "../geometry/eclWindow.js";
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, type DenseLayer, type LayerSpec, type ModelCard } from "./card.js";
import { KLM_FEATURE_NAMES, KLM_FEATURES, KLM_GLOBAL_FEATURES } from "../reco/klmFeatures.js";

/** `CNN_PID_ECL` hyper-parameters (ecl.md §1.2, `model_cnn_name()`). */
export const ECL_CNN_IMAGE_SIZE = ECL_WINDOW_SIZE;
export const ECL_CNN_CONV_FILTERS = 64;
export const ECL_CNN_THETA_EMBEDDINGS = ECL_CNN_THETA_ID_MAX - ECL_CNN_THETA_ID_MIN + 1; // 44
export const ECL_CNN_THETA_EMBEDDING_DIM = 22;
export const ECL_CNN_PHI_EMBEDDINGS = ECL_BARREL_CRYSTALS_PER_RING; // 144
export const ECL_CNN_PHI_EMBEDDING_DIM = 18;
export const ECL_CNN_FC1_UNITS = 128;
export const ECL_CNN_CLASSES = 2;
/** Dropout after fc1 in training only (`dropout_rate` 0.1). */
export const ECL_CNN_DROPOUT_RATE = 0.1;
/** Conv outputs flattened channel-major: 64·7·7 = 3136. */
export const ECL_CNN_CONV_OUTPUTS = ECL_CNN_CONV_FILTERS * ECL_CNN_IMAGE_SIZE * ECL_CNN_IMAGE_SIZE;
/** fc1 input width: 3136 + 1 (pt) + 22 + 18 = 3177 (ecl.md §1.4). */
export const ECL_CNN_FC1_INPUTS = ECL_CNN_CONV_OUTPUTS + 1 + ECL_CNN_THETA_EMBEDDING_DIM + ECL_CNN_PHI_EMBEDDING_DIM;
/** Embedding index ranges (ecl.md §1.5 items 2–3): thetaId 14..57 enters as thetaId − 14, phiId 0..143 unchanged. */
export const ECL_CNN_PHI_ID_MIN = 0;
export const ECL_CNN_PHI_ID_MAX = ECL_BARREL_CRYSTALS_PER_RING - 1;

/** state_dict keys and shapes of the ECL CNN (ecl.md §1.2), in PyTorch's registration order. */
export const ECL_CNN_TENSOR_SHAPES: ReadonlyArray<readonly [string, readonly number[]]> = [
  ["conv1.weight", [ECL_CNN_CONV_FILTERS, 1, 3, 3]],
  ["conv1.bias", [ECL_CNN_CONV_FILTERS]],
  ["emb_theta.weight", [ECL_CNN_THETA_EMBEDDINGS, ECL_CNN_THETA_EMBEDDING_DIM]],
  ["emb_phi.weight", [ECL_CNN_PHI_EMBEDDINGS, ECL_CNN_PHI_EMBEDDING_DIM]],
  ["fc1.weight", [ECL_CNN_FC1_UNITS, ECL_CNN_FC1_INPUTS]],
  ["fc1.bias", [ECL_CNN_FC1_UNITS]],
  ["fc2.weight", [ECL_CNN_CLASSES, ECL_CNN_FC1_UNITS]],
  ["fc2.bias", [ECL_CNN_CLASSES]],
];

/**
 * The card of an ECL CNN for one charge. `provenance` and `training` are recorded as given; the
 * layer list is the same for imported and trained models.
 */
export function eclCnnCard(charge: 1 | -1, provenance: ModelCard["provenance"], training?: ModelCard["training"]): ModelCard {
  const chargeName = charge > 0 ? "plus" : "minus";
  return {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    name: `ecl-cnn-charge-${chargeName}`,
    task: "ecl-cnn",
    charge,
    description:
      `Belle II ECL CNN μ/π classifier (basf2 CNN_PID_ECL, ecl.md §1.2) for charge ${charge > 0 ? "+1" : "-1"}: ` +
      `conv 3×3 (1→${ECL_CNN_CONV_FILTERS}) + ReLU, θ/φ embeddings, fc ${ECL_CNN_FC1_INPUTS}→${ECL_CNN_FC1_UNITS} ReLU, fc ${ECL_CNN_FC1_UNITS}→${ECL_CNN_CLASSES}; p(μ) = softmax(logits)[1].`,
    inputs: [
      {
        name: "image",
        shape: [1, ECL_CNN_IMAGE_SIZE, ECL_CNN_IMAGE_SIZE],
        kind: "float",
        unit: "GeV",
        description: "ECLCalDigit energies of the 7×7 crystal window around the extrapolated crystal, row-major (ecl.md §1.6)",
        preprocessing: `pixels below ${ECL_THRESHOLD_DEFAULT * 1000} MeV set to 0, then clipped to at most ${ECL_CLIP_ENERGY} GeV (ecl.md §1.5)`,
      },
      { name: "pt", shape: [1], kind: "float", unit: "GeV/c", description: "transverse momentum at the ECL extrapolation point (ExtHit), unscaled" },
      { name: "thetaId", shape: [1], kind: "index", range: [ECL_CNN_THETA_ID_MIN, ECL_CNN_THETA_ID_MAX], description: "ECL thetaId of the centre crystal" },
      { name: "phiId", shape: [1], kind: "index", range: [ECL_CNN_PHI_ID_MIN, ECL_CNN_PHI_ID_MAX], description: "ECL phiId of the centre crystal" },
    ],
    layers: [
      {
        op: "conv2d",
        input: "image",
        output: "conv1",
        weight: "conv1.weight",
        bias: "conv1.bias",
        inShape: [1, ECL_CNN_IMAGE_SIZE, ECL_CNN_IMAGE_SIZE],
        kernel: 3,
        padding: 1,
        stride: 1,
        activation: "relu",
      },
      // 0 − min rather than −min: −0 would not survive the JSON round trip of the card
      { op: "embedding", input: "thetaId", output: "emb_theta", weight: "emb_theta.weight", indexOffset: 0 - ECL_CNN_THETA_ID_MIN },
      { op: "embedding", input: "phiId", output: "emb_phi", weight: "emb_phi.weight", indexOffset: 0 - ECL_CNN_PHI_ID_MIN },
      // torch.cat((x1, pt, emb_theta, emb_phi), dim=1): this order (ecl.md §1.2 row 7)
      { op: "concat", inputs: ["conv1", "pt", "emb_theta", "emb_phi"], output: "fc1_input" },
      { op: "dense", input: "fc1_input", output: "fc1", weight: "fc1.weight", bias: "fc1.bias", activation: "relu" },
      { op: "dense", input: "fc1", output: "logits", weight: "fc2.weight", bias: "fc2.bias", activation: "none" },
    ],
    outputs: [{ name: "logits", shape: [ECL_CNN_CLASSES], classes: ["pion", "muon"], description: "fc2 output; p(muon) = softmax(logits)[1] (ecl.md §1.3)" }],
    provenance: { ...provenance },
    ...(training !== undefined ? { training: { ...training } } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// KLM DNN: basf2 KLMMuonIDDNN `DNN(121, 121*2)` (klm.md §1.5): BatchNorm1d(121, eps 1e-5) →
// linearin 121→242 → hidlayers 242→100→50→50→50 → linearout 50→2, LeakyReLU(0.01) after every
// layer but the last; p(μ) = softmax(logits)[1]. The global-only variant (ISSUE 4 item 5) keeps the
// whole stack and reads only the 5 global inputs (χ², ndof, extLayer − hitLayer, extLayer, pT).
// Tensor names are basf2's state_dict keys, so imported and trained models share them.

/** Inputs of the full KLM DNN: 5 + 4 × 29 (klm.md §1.3). */
export const KLM_DNN_INPUTS = KLM_FEATURES;
/** Inputs of the global-only variant: the first 5 features (klm.md §1.3, indices 0–4). */
export const KLM_DNN_GLOBAL_INPUTS = KLM_GLOBAL_FEATURES;
/** Widths after linearin and each of the 4 hidden layers: 2·121 (`DNN(121, 121*2)`), 100, 50, 50, 50. */
export const KLM_DNN_HIDDEN_WIDTHS: readonly number[] = [2 * KLM_FEATURES, 100, 50, 50, 50];
export const KLM_DNN_CLASSES = 2;
/** BatchNorm1d defaults of the basf2 model: eps 1e-5, momentum 0.1 (klm.md §1.5). */
export const KLM_DNN_BATCHNORM_EPS = 1e-5;
export const KLM_DNN_BATCHNORM_MOMENTUM = 0.1;
/** nn.LeakyReLU() default negative slope (klm.md §1.5). */
export const KLM_DNN_LEAKY_SLOPE = 0.01;
/** Linear layers in forward order (basf2 module names). */
export const KLM_DNN_LINEAR_LAYERS: readonly string[] = ["linearin", "hidlayers.0", "hidlayers.1", "hidlayers.2", "hidlayers.3", "linearout"];

/** state_dict keys and shapes of a KLM DNN reading `inputs` features (BatchNorm running statistics included). */
export function klmDnnTensorShapes(inputs: number): [string, number[]][] {
  const widths = [inputs, ...KLM_DNN_HIDDEN_WIDTHS, KLM_DNN_CLASSES];
  const shapes: [string, number[]][] = [
    ["batchnorm.weight", [inputs]],
    ["batchnorm.bias", [inputs]],
    ["batchnorm.running_mean", [inputs]],
    ["batchnorm.running_var", [inputs]],
  ];
  KLM_DNN_LINEAR_LAYERS.forEach((name, i) => {
    shapes.push([`${name}.weight`, [widths[i + 1]!, widths[i]!]]);
    shapes.push([`${name}.bias`, [widths[i + 1]!]]);
  });
  return shapes;
}

/** What an importer or a trainer may set on a KLM DNN card beyond provenance and training. */
export interface KlmDnnCardOptions {
  name?: string;
  description?: string;
  /** names of the input features (default KLM_FEATURE_NAMES; the basf2 file names them nninput_0…) */
  featureNames?: readonly string[];
  preprocessing?: string;
  /** BatchNorm eps and LeakyReLU slope, if the source states others (default 1e-5 and 0.01) */
  eps?: number;
  negativeSlope?: number;
}

function klmDnnCardFor(inputs: number, task: string, provenance: ModelCard["provenance"], training: ModelCard["training"] | undefined, options: KlmDnnCardOptions): ModelCard {
  const eps = options.eps ?? KLM_DNN_BATCHNORM_EPS;
  const slope = options.negativeSlope ?? KLM_DNN_LEAKY_SLOPE;
  const widths = [inputs, ...KLM_DNN_HIDDEN_WIDTHS, KLM_DNN_CLASSES];
  const features = [...(options.featureNames ?? KLM_FEATURE_NAMES.slice(0, inputs))];
  const layers: LayerSpec[] = [
    { op: "batchnorm", input: "features", output: "batchnorm", weight: "batchnorm.weight", bias: "batchnorm.bias", runningMean: "batchnorm.running_mean", runningVar: "batchnorm.running_var", eps },
  ];
  KLM_DNN_LINEAR_LAYERS.forEach((name, i) => {
    const last = i === KLM_DNN_LINEAR_LAYERS.length - 1;
    const dense: DenseLayer = {
      op: "dense",
      input: i === 0 ? "batchnorm" : KLM_DNN_LINEAR_LAYERS[i - 1]!,
      output: last ? "logits" : name,
      weight: `${name}.weight`,
      bias: `${name}.bias`,
      activation: last ? "none" : "leakyrelu",
    };
    if (!last) dense.alpha = slope;
    layers.push(dense);
  });
  const globalOnly = inputs === KLM_DNN_GLOBAL_INPUTS;
  return {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    name: options.name ?? task,
    task,
    description:
      options.description ??
      `KLM muon-ID DNN (arXiv:2503.11351, basf2 KLMMuonIDDNN architecture${globalOnly ? ", global inputs only" : ""}): ` +
        `BatchNorm1d(${inputs}, eps ${eps}) → ${widths.join("→")} with LeakyReLU(${slope}); p(μ) = softmax(logits)[1].`,
    inputs: [
      {
        name: "features",
        shape: [inputs],
        kind: "float",
        features,
        description: globalOnly
          ? "the 5 global KLMMuonIDDNN inputs (klm.md §1.3): χ², ndof, extLayer−hitLayer, extLayer, pT"
          : "KLMMuonIDDNN input vector (klm.md §1.3): χ², ndof, extLayer−hitLayer, extLayer, pT, then 29 layers (BKLM 1–15, EKLM 1–14) × [width, steplength, chi2, hasext]",
        preprocessing: options.preprocessing ?? "none: normalisation is the in-network BatchNorm",
      },
    ],
    layers,
    outputs: [{ name: "logits", shape: [KLM_DNN_CLASSES], classes: ["pion", "muon"], description: "logits of the linearout layer; p(muon) = softmax(logits)[1] (basf2 apply: model(x)[:, 1])" }],
    provenance: { ...provenance },
    ...(training !== undefined ? { training: { ...training } } : {}),
  };
}

/** The card of the 121-input KLM DNN (task "klm-dnn"), for imported and trained models alike. */
export function klmDnnCard(provenance: ModelCard["provenance"], training?: ModelCard["training"], options: KlmDnnCardOptions = {}): ModelCard {
  return klmDnnCardFor(KLM_DNN_INPUTS, "klm-dnn", provenance, training, options);
}

/** The card of the global-only variant (task "klm-dnn-global"): the same network on the 5 global inputs. */
export function klmDnnGlobalCard(provenance: ModelCard["provenance"], training?: ModelCard["training"], options: KlmDnnCardOptions = {}): ModelCard {
  return klmDnnCardFor(KLM_DNN_GLOBAL_INPUTS, "klm-dnn-global", provenance, training, options);
}
