import protobuf from "protobufjs";
import { ModelError } from "../errors.js";
import type { ModelBundle, Tensor } from "./card.js";
import { validateModel } from "./validate.js";

/**
 * Export a muid model to ONNX (ir_version 8, opset 17), so the same weights run in onnxruntime and
 * in basf2's ONNX MVA backend. The schema below is the subset of onnx.proto (onnx/onnx, Apache-2.0)
 * that the exporter writes; field numbers are ONNX's. protobufjs parses it with keepCase, otherwise
 * snake_case fields vanish and onnxruntime reports "Missing opset" (toolchain.md).
 *
 * Graph: float inputs as [N, ...shape]; index inputs as int64 [N]; outputs "logits" [N, C] and
 * "probabilities" = Softmax(logits) [N, C]. BatchNorm is exported as BatchNormalization (unfused).
 */
const ONNX_SUBSET = `
syntax = "proto3";
package onnx;
message AttributeProto {
  enum AttributeType { UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; FLOATS = 6; INTS = 7; }
  string name = 1; float f = 2; int64 i = 3; bytes s = 4; TensorProto t = 5;
  repeated float floats = 7; repeated int64 ints = 8; AttributeType type = 20;
}
message ValueInfoProto { string name = 1; TypeProto type = 2; }
message NodeProto { repeated string input = 1; repeated string output = 2; string name = 3; string op_type = 4; repeated AttributeProto attribute = 5; string domain = 7; }
message StringStringEntryProto { string key = 1; string value = 2; }
message ModelProto {
  int64 ir_version = 1; repeated OperatorSetIdProto opset_import = 8; string producer_name = 2; string producer_version = 3;
  string doc_string = 6; GraphProto graph = 7; repeated StringStringEntryProto metadata_props = 14;
}
message GraphProto { repeated NodeProto node = 1; string name = 2; repeated TensorProto initializer = 5; repeated ValueInfoProto input = 11; repeated ValueInfoProto output = 12; }
message TensorProto { repeated int64 dims = 1; int32 data_type = 2; string name = 8; bytes raw_data = 9; }
message TensorShapeProto { message Dimension { oneof value { int64 dim_value = 1; string dim_param = 2; } } repeated Dimension dim = 1; }
message TypeProto { message Tensor { int32 elem_type = 1; TensorShapeProto shape = 2; } oneof value { Tensor tensor_type = 1; } }
message OperatorSetIdProto { string domain = 1; int64 version = 2; }
`;

const FLOAT = 1;
const INT64 = 7;
const ATTR = { FLOAT: 1, INT: 2, INTS: 7 } as const;

let modelType: protobuf.Type | undefined;
function onnxModelType(): protobuf.Type {
  modelType ??= protobuf.parse(ONNX_SUBSET, { keepCase: true }).root.lookupType("onnx.ModelProto");
  return modelType;
}

interface Node { op_type: string; input: string[]; output: string[]; name: string; attribute?: object[] }

export function exportOnnx(bundle: ModelBundle): Uint8Array {
  validateModel(bundle);
  const { card, tensors } = bundle;
  const initializers: object[] = [];
  const nodes: Node[] = [];
  const used = new Set<string>();
  const initializer = (name: string): string => {
    if (!used.has(name)) {
      used.add(name);
      initializers.push(floatTensor(name, tensors.get(name)!));
    }
    return name;
  };
  const dim = (values: (number | string)[]) => ({ dim: values.map((v) => (typeof v === "string" ? { dim_param: v } : { dim_value: v })) });
  const inputs = card.inputs.map((i) => ({
    name: i.name,
    type: { tensor_type: i.kind === "index" ? { elem_type: INT64, shape: dim(["N"]) } : { elem_type: FLOAT, shape: dim(["N", ...i.shape]) } },
  }));
  // Values of per-row shape [k] that are float inputs declared with a longer shape are flattened first.
  const flatName = new Map<string, string>();
  const asFlat = (value: string): string => {
    const spec = card.inputs.find((i) => i.name === value && i.kind === "float" && i.shape.length > 1);
    if (spec === undefined) return value;
    if (!flatName.has(value)) {
      flatName.set(value, `${value}_flat`);
      nodes.push({ op_type: "Flatten", input: [value], output: [`${value}_flat`], name: `flatten_${value}`, attribute: [intAttr("axis", 1)] });
    }
    return flatName.get(value)!;
  };
  const activation = (act: string, alpha: number | undefined, pre: string, out: string, name: string) => {
    if (act === "relu") nodes.push({ op_type: "Relu", input: [pre], output: [out], name: `${name}_relu` });
    else if (act === "leakyrelu") nodes.push({ op_type: "LeakyRelu", input: [pre], output: [out], name: `${name}_leaky`, attribute: [floatAttr("alpha", alpha ?? 0.01)] });
  };
  for (const layer of card.layers) {
    switch (layer.op) {
      case "batchnorm":
        nodes.push({
          op_type: "BatchNormalization",
          input: [asFlat(layer.input), initializer(layer.weight), initializer(layer.bias), initializer(layer.runningMean), initializer(layer.runningVar)],
          output: [layer.output],
          name: layer.output,
          attribute: [floatAttr("epsilon", layer.eps)],
        });
        break;
      case "dense": {
        const pre = layer.activation === "none" ? layer.output : `${layer.output}_pre`;
        nodes.push({ op_type: "Gemm", input: [asFlat(layer.input), initializer(layer.weight), initializer(layer.bias)], output: [pre], name: layer.output, attribute: [intAttr("transB", 1)] });
        activation(layer.activation, layer.alpha, pre, layer.output, layer.output);
        break;
      }
      case "conv2d": {
        const pre = `${layer.output}_conv`;
        nodes.push({
          op_type: "Conv",
          input: [layer.input, initializer(layer.weight), initializer(layer.bias)],
          output: [pre],
          name: layer.output,
          attribute: [intsAttr("kernel_shape", [3, 3]), intsAttr("pads", [1, 1, 1, 1]), intsAttr("strides", [1, 1])],
        });
        const act = layer.activation === "none" ? pre : `${layer.output}_act`;
        activation(layer.activation, undefined, pre, act, layer.output);
        // PyTorch's x.view(-1, C·H·W): channel-major, which is ONNX Flatten of NCHW.
        nodes.push({ op_type: "Flatten", input: [act], output: [layer.output], name: `${layer.output}_flatten`, attribute: [intAttr("axis", 1)] });
        break;
      }
      case "embedding": {
        let index = layer.input;
        if (layer.indexOffset !== 0) {
          const offsetName = `${layer.output}_offset`;
          initializers.push({ name: offsetName, data_type: INT64, dims: [], raw_data: int64Bytes([layer.indexOffset]) });
          index = `${layer.output}_index`;
          nodes.push({ op_type: "Add", input: [layer.input, offsetName], output: [index], name: index });
        }
        nodes.push({ op_type: "Gather", input: [initializer(layer.weight), index], output: [layer.output], name: layer.output, attribute: [intAttr("axis", 0)] });
        break;
      }
      case "concat":
        nodes.push({ op_type: "Concat", input: layer.inputs.map(asFlat), output: [layer.output], name: layer.output, attribute: [intAttr("axis", 1)] });
        break;
      default:
        throw new ModelError(`ONNX export: unsupported layer ${(layer as { op: string }).op}`);
    }
  }
  const out = card.outputs[0];
  nodes.push({ op_type: "Softmax", input: [out.name], output: ["probabilities"], name: "softmax", attribute: [intAttr("axis", 1)] });
  const classes = out.classes.length;
  const model = {
    ir_version: 8,
    opset_import: [{ domain: "", version: 17 }],
    producer_name: "muid-wasm",
    producer_version: "0.1.0",
    doc_string: `${card.name}: ${card.description}`,
    metadata_props: [{ key: "muid.card", value: JSON.stringify(card) }],
    graph: {
      name: card.name,
      node: nodes,
      initializer: initializers,
      input: inputs,
      output: [
        { name: out.name, type: { tensor_type: { elem_type: FLOAT, shape: dim(["N", classes]) } } },
        { name: "probabilities", type: { tensor_type: { elem_type: FLOAT, shape: dim(["N", classes]) } } },
      ],
    },
  };
  const type = onnxModelType();
  const problem = type.verify(model);
  if (problem) throw new ModelError(`ONNX export: ${problem}`);
  return type.encode(type.fromObject(model)).finish();
}

function floatTensor(name: string, t: Tensor): object {
  const data = t.data as Float32Array;
  const raw = new Uint8Array(data.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return { name, data_type: FLOAT, dims: t.shape, raw_data: raw };
}

function int64Bytes(values: number[]): Uint8Array {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return raw;
}

const intAttr = (name: string, i: number) => ({ name, i, type: ATTR.INT });
const intsAttr = (name: string, ints: number[]) => ({ name, ints, type: ATTR.INTS });
const floatAttr = (name: string, f: number) => ({ name, f, type: ATTR.FLOAT });
