/**
 * Imports a basf2 ECL CNN μ/π classifier (`CNN_PID_ECL`, ecl.md §1.2) from its PyTorch
 * `state_dict` file (`torch.save(model.state_dict())`, e.g. ECLCNNPID_charge_minus.pt): a torch
 * zip whose data.pkl is an OrderedDict of tensors. Only the globals a state_dict needs are allowed.
 * The basf2 weights are not public (ecl.md §1.7); this reads files of that layout, ours included.
 */
import { FormatError, ModelError } from "../errors.js";
import { ECL_CNN_TENSOR_SHAPES, eclCnnCard } from "./architectures.js";
import type { ModelBundle, Tensor } from "./card.js";
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

/** state_dict keys and shapes of the ECL CNN (ecl.md §1.2); the architecture lives in architectures.ts. */
export const ECL_CNN_STATE_DICT: ReadonlyArray<readonly [string, readonly number[]]> = ECL_CNN_TENSOR_SHAPES;

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
  if (options === null || typeof options !== "object") throw new ModelError("importTorchEclCnn needs options { charge: 1 | -1 }");
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

  const card = eclCnnCard(options.charge, {
    source: options.sourcePath ?? "PyTorch state_dict (torch.save zip)",
    importedBy: "muid-wasm importTorchEclCnn",
    ...(options.sha256 !== undefined ? { sha256: options.sha256 } : {}),
    notes: `torch archive "${archive.prefix}", format version ${archive.version}; state_dict layout of basf2 cnn_pid_conv_net.py`,
  });
  const bundle = { card, tensors };
  validateModel(bundle);
  return bundle;
}
