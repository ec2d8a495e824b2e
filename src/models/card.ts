/**
 * The model card: what a muid model file says about itself (lwtnn-style). It is stored as JSON in
 * the safetensors `__metadata__` under the key `muid.card`, next to the tensors it names.
 *
 * A model is a list of layers in execution order. Each layer reads named values and writes one
 * named value; the model's inputs are the first values, its `logits` output the last. Shapes are
 * per row (the batch dimension is implicit and always first).
 */
export const MODEL_FORMAT = "muid-model";
export const MODEL_FORMAT_VERSION = 1;
export const CARD_METADATA_KEY = "muid.card";

export type Activation = "none" | "relu" | "leakyrelu";

/** y = (x − runningMean)/sqrt(runningVar + eps)·weight + bias, per feature (PyTorch BatchNorm1d, eval mode). */
export interface BatchNormLayer {
  op: "batchnorm";
  input: string;
  output: string;
  weight: string;
  bias: string;
  runningMean: string;
  runningVar: string;
  eps: number;
}

/** y = act(x·Wᵀ + b); `weight` is a tensor of shape [out, in] (PyTorch nn.Linear layout). */
export interface DenseLayer {
  op: "dense";
  input: string;
  output: string;
  weight: string;
  bias: string;
  activation: Activation;
  /** negative slope for leakyrelu (PyTorch default 0.01) */
  alpha?: number;
}

/**
 * 3×3 convolution, stride 1, zero padding 1, on an input of shape [cin, H, W] (row-major).
 * `weight` has shape [cout, cin, 3, 3], `bias` [cout]. The output is flattened channel-major,
 * index c·H·W + h·W + w, exactly as PyTorch's `x.view(-1, cout*H*W)`.
 */
export interface Conv2dLayer {
  op: "conv2d";
  input: string;
  output: string;
  weight: string;
  bias: string;
  inShape: [number, number, number];
  kernel: 3;
  padding: 1;
  stride: 1;
  activation: Activation;
}

/** y = weight[index + indexOffset], weight of shape [num, dim]; the input is one integer id per row. */
export interface EmbeddingLayer {
  op: "embedding";
  input: string;
  output: string;
  weight: string;
  indexOffset: number;
}

/** Concatenation along the feature axis, in the listed order. */
export interface ConcatLayer {
  op: "concat";
  inputs: string[];
  output: string;
}

export type LayerSpec = BatchNormLayer | DenseLayer | Conv2dLayer | EmbeddingLayer | ConcatLayer;

export interface InputSpec {
  name: string;
  /** per-row shape, e.g. [121] or [1, 7, 7] or [1] */
  shape: number[];
  /** "float": real numbers; "index": an integer id with an inclusive valid range */
  kind: "float" | "index";
  range?: [number, number];
  /** names of the individual features, in order (KLM DNN: 121 names) */
  features?: string[];
  unit?: string;
  description?: string;
  /** preprocessing the caller must have applied, in words (e.g. "1 MeV threshold, clip at 1 GeV") */
  preprocessing?: string;
}

export interface OutputSpec {
  /** the value name produced by the last layer */
  name: string;
  shape: number[];
  /** class names by index; class 1 is the muon */
  classes: string[];
  description: string;
}

export interface ModelCard {
  format: typeof MODEL_FORMAT;
  formatVersion: number;
  name: string;
  /** what the model is for: "klm-dnn" (121 inputs), "klm-dnn-global" (5 inputs), "ecl-cnn" */
  task: string;
  /** for per-charge models: +1 or −1; absent when charge-independent */
  charge?: 1 | -1;
  description: string;
  inputs: InputSpec[];
  layers: LayerSpec[];
  outputs: OutputSpec[];
  provenance: { source: string; license?: string; importedBy?: string; sha256?: string; notes?: string };
  training?: { framework?: string; samples?: number; epochs?: number; seed?: number; command?: string; notes?: string };
}

/** A named tensor as read from or written to a model file (little-endian, row-major). */
export type TensorDType = "F32" | "F64" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";
export interface Tensor {
  dtype: TensorDType;
  shape: number[];
  /** F32 → Float32Array, F64 → Float64Array, I64 → BigInt64Array, I32 → Int32Array, I16 → Int16Array,
   *  I8 → Int8Array, U8/BOOL → Uint8Array, F16/BF16 → Uint16Array (raw bits) */
  data: Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array;
}

/** A model as held in memory: its card and its tensors by name. */
export interface ModelBundle {
  card: ModelCard;
  tensors: Map<string, Tensor>;
}
