/**
 * safetensors reader and writer (https://huggingface.co/docs/safetensors, "Format"):
 * an 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON, then the data section.
 * The header maps each tensor name to {dtype, shape, data_offsets: [begin, end]} (offsets relative
 * to the data section) and may hold `__metadata__`, a string→string map. The spec requires the
 * data section to be fully indexed: no holes, no overlaps.
 *
 * Browser-safe: no node: imports. Every failure is a FormatError or UnsafeFileError naming the
 * tensor and the problem.
 */
import { FormatError, UnsafeFileError } from "../errors.js";
import type { Tensor, TensorDType } from "./card.js";

export interface SafetensorsLimits {
  /** largest accepted JSON header, bytes (default 16 MiB; the reference implementation caps at 100 MB) */
  maxHeaderBytes: number;
  /** most tensors accepted in one file (default 10 000) */
  maxTensors: number;
  /** largest accepted data section, bytes (default 1 GiB) */
  maxTotalBytes: number;
}

export const DEFAULT_SAFETENSORS_LIMITS: SafetensorsLimits = {
  maxHeaderBytes: 16 * 1024 * 1024,
  maxTensors: 10_000,
  maxTotalBytes: 1024 * 1024 * 1024,
};

/** Bytes per element of each dtype (safetensors dtype names). */
export const DTYPE_ITEMSIZE: Readonly<Record<TensorDType, number>> = {
  F64: 8,
  I64: 8,
  F32: 4,
  I32: 4,
  F16: 2,
  BF16: 2,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export function isTensorDType(s: unknown): s is TensorDType {
  return typeof s === "string" && Object.prototype.hasOwnProperty.call(DTYPE_ITEMSIZE, s);
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Decodes `count` little-endian elements of `dtype` starting at `bytes[offset]` into a fresh,
 * aligned typed array (a view at an unaligned offset would throw, so the bytes are always copied).
 */
export function decodeTensorData(dtype: TensorDType, bytes: Uint8Array, offset: number, count: number): Tensor["data"] {
  const itemsize = DTYPE_ITEMSIZE[dtype];
  // Uint8Array's slice always copies; a Node Buffer's own slice would return a view of the file.
  const copy = Uint8Array.prototype.slice.call(bytes, offset, offset + count * itemsize);
  if (copy.length !== count * itemsize) throw new FormatError(`tensor data needs ${count * itemsize} bytes, only ${copy.length} present`);
  if (!HOST_IS_LITTLE_ENDIAN && itemsize > 1) {
    for (let i = 0; i < copy.length; i += itemsize) copy.subarray(i, i + itemsize).reverse();
  }
  const buf = copy.buffer;
  switch (dtype) {
    case "F32":
      return new Float32Array(buf);
    case "F64":
      return new Float64Array(buf);
    case "I64":
      return new BigInt64Array(buf);
    case "I32":
      return new Int32Array(buf);
    case "I16":
      return new Int16Array(buf);
    case "I8":
      return new Int8Array(buf);
    case "F16":
    case "BF16":
      return new Uint16Array(buf);
    case "U8":
    case "BOOL":
      return copy;
  }
}

/** The little-endian bytes of a tensor's data (a copy). */
export function encodeTensorData(t: Tensor): Uint8Array {
  const out = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice();
  const itemsize = t.data.BYTES_PER_ELEMENT;
  if (!HOST_IS_LITTLE_ENDIAN && itemsize > 1) {
    for (let i = 0; i < out.length; i += itemsize) out.subarray(i, i + itemsize).reverse();
  }
  return out;
}

const EXPECTED_ARRAY: Record<TensorDType, string> = {
  F32: "Float32Array",
  F64: "Float64Array",
  I64: "BigInt64Array",
  I32: "Int32Array",
  I16: "Int16Array",
  I8: "Int8Array",
  U8: "Uint8Array",
  BOOL: "Uint8Array",
  F16: "Uint16Array",
  BF16: "Uint16Array",
};

/** Checks that a tensor's dtype, shape and data agree (used before writing). */
export function checkTensor(name: string, t: Tensor): void {
  if (t === null || typeof t !== "object") throw new FormatError(`tensor "${name}" is not a tensor object`);
  if (!isTensorDType(t.dtype)) throw new FormatError(`tensor "${name}" has unknown dtype ${JSON.stringify(t.dtype)}`);
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw new FormatError(`tensor "${name}" has shape [${t.shape}], which is not a list of non-negative integers`);
  // the typed-array tag, not the constructor: a Node Buffer is a Uint8Array
  const name_ = ArrayBuffer.isView(t.data) ? (t.data as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag] : typeof t.data;
  if (name_ !== EXPECTED_ARRAY[t.dtype]) throw new FormatError(`tensor "${name}" of dtype ${t.dtype} holds a ${name_}, expected a ${EXPECTED_ARRAY[t.dtype]}`);
  const numel = t.shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== numel) throw new FormatError(`tensor "${name}" has shape [${t.shape}] (${numel} values) but holds ${t.data.length} values`);
}

/**
 * Reads a safetensors file. Tensor data is copied out of `bytes`. Throws FormatError for a
 * malformed file and UnsafeFileError for one beyond the limits.
 */
export function readSafetensors(
  bytes: Uint8Array,
  limits: Partial<SafetensorsLimits> = {},
): { metadata: Record<string, string>; tensors: Map<string, Tensor> } {
  if (limits === null || typeof limits !== "object") throw new FormatError("safetensors limits must be an object");
  const lim = { ...DEFAULT_SAFETENSORS_LIMITS, ...limits };
  if (!(bytes instanceof Uint8Array)) throw new FormatError("safetensors input is not a byte array");
  if (bytes.length < 8) throw new FormatError(`safetensors file of ${bytes.length} bytes is shorter than its 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const headerLength = hi * 2 ** 32 + lo;
  if (headerLength > lim.maxHeaderBytes)
    throw new UnsafeFileError(`safetensors header of ${headerLength} bytes exceeds the limit of ${lim.maxHeaderBytes} bytes`);
  if (headerLength > bytes.length - 8)
    throw new FormatError(`safetensors header length ${headerLength} is larger than the ${bytes.length - 8} bytes after it (truncated or not a safetensors file)`);
  if (headerLength < 2) throw new FormatError(`safetensors header of ${headerLength} bytes cannot hold a JSON object`);

  let headerText: string;
  try {
    headerText = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    throw new FormatError("safetensors header is not valid UTF-8");
  }
  if (headerText[0] !== "{") throw new FormatError("safetensors header does not start with '{'");
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (e) {
    throw new FormatError(`safetensors header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) throw new FormatError("safetensors header is not a JSON object");

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  if (dataLength > lim.maxTotalBytes) throw new UnsafeFileError(`safetensors data section of ${dataLength} bytes exceeds the limit of ${lim.maxTotalBytes} bytes`);

  const metadata: Record<string, string> = Object.create(null);
  const entries: { name: string; dtype: TensorDType; shape: number[]; begin: number; end: number; numel: number }[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (info === null || typeof info !== "object" || Array.isArray(info)) throw new FormatError("safetensors __metadata__ is not an object");
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== "string") throw new FormatError(`safetensors __metadata__ value "${k}" is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    if (entries.length >= lim.maxTensors) throw new UnsafeFileError(`safetensors file lists more than ${lim.maxTensors} tensors`);
    entries.push(parseTensorInfo(name, info, dataLength));
  }

  // Fully indexed data section: sorted by offsets, each tensor starts where the previous ended.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous = "";
  for (const e of sorted) {
    if (e.begin < cursor) throw new FormatError(`safetensors tensor "${e.name}" (bytes ${e.begin}..${e.end}) overlaps tensor "${previous}"`);
    if (e.begin > cursor) throw new FormatError(`safetensors data has a hole of ${e.begin - cursor} bytes before tensor "${e.name}" (at byte ${cursor})`);
    cursor = e.end;
    previous = e.name;
  }
  if (cursor !== dataLength)
    throw new FormatError(`safetensors data section has ${dataLength} bytes but its tensors index ${cursor} (${dataLength > cursor ? "trailing bytes" : "truncated"})`);

  const tensors = new Map<string, Tensor>();
  for (const e of entries) {
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: decodeTensorData(e.dtype, bytes, dataStart + e.begin, e.numel) });
  }
  return { metadata: { ...metadata }, tensors };
}

function parseTensorInfo(name: string, info: unknown, dataLength: number) {
  if (info === null || typeof info !== "object" || Array.isArray(info)) throw new FormatError(`safetensors tensor "${name}": its header entry is not an object`);
  const rec = info as Record<string, unknown>;
  for (const key of Object.keys(rec)) {
    if (key !== "dtype" && key !== "shape" && key !== "data_offsets") throw new FormatError(`safetensors tensor "${name}": unknown header field "${key}"`);
  }
  const { dtype, shape, data_offsets: offsets } = rec;
  if (!isTensorDType(dtype)) throw new FormatError(`safetensors tensor "${name}": unknown or unsupported dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw new FormatError(`safetensors tensor "${name}": shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw new FormatError(`safetensors tensor "${name}": data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`);
  const [begin, end] = offsets as [number, number];
  if (begin > end) throw new FormatError(`safetensors tensor "${name}": data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataLength) throw new FormatError(`safetensors tensor "${name}": data_offsets [${begin}, ${end}] run past the ${dataLength}-byte data section`);
  const itemsize = DTYPE_ITEMSIZE[dtype];
  let numel = 1;
  const empty = (shape as number[]).includes(0);
  for (const d of shape as number[]) {
    numel *= d;
    // a product beyond the data section cannot match (and guards against unsafe integers)
    if (!empty && numel * itemsize > dataLength)
      throw new FormatError(`safetensors tensor "${name}": shape [${shape}] needs more bytes than the ${dataLength}-byte data section`);
  }
  if (end - begin !== numel * itemsize)
    throw new FormatError(`safetensors tensor "${name}": data_offsets [${begin}, ${end}] span ${end - begin} bytes, shape [${shape}] of ${dtype} needs ${numel * itemsize}`);
  return { name, dtype, shape: (shape as number[]).slice(), begin, end, numel };
}

/**
 * Writes a safetensors file. Tensors are laid out by decreasing item size, then by name (as the
 * reference writer does), so every tensor is aligned to its item size; the header is padded with
 * spaces to a multiple of 8 bytes.
 */
export function writeSafetensors(tensors: Map<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  if (!(tensors instanceof Map)) throw new FormatError("tensors to write must be a Map of name → tensor");
  if (metadata === null || typeof metadata !== "object") throw new FormatError("safetensors metadata must be an object of strings");
  const header: Record<string, unknown> = {};
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== "string") throw new FormatError(`safetensors metadata value "${k}" is not a string`);
    meta[k] = v;
  }
  if (Object.keys(meta).length > 0) header.__metadata__ = meta;

  const names = [...tensors.keys()];
  for (const name of names) {
    if (name === "__metadata__") throw new FormatError('a tensor cannot be named "__metadata__"');
    checkTensor(name, tensors.get(name)!);
  }
  names.sort((a, b) => {
    const d = DTYPE_ITEMSIZE[tensors.get(b)!.dtype] - DTYPE_ITEMSIZE[tensors.get(a)!.dtype];
    return d !== 0 ? d : a < b ? -1 : a > b ? 1 : 0;
  });
  let offset = 0;
  const blobs: Uint8Array[] = [];
  for (const name of names) {
    const t = tensors.get(name)!;
    const blob = encodeTensorData(t);
    header[name] = { dtype: t.dtype, shape: t.shape.slice(), data_offsets: [offset, offset + blob.length] };
    offset += blob.length;
    blobs.push(blob);
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.length % 2 ** 32, true);
  view.setUint32(4, Math.floor(json.length / 2 ** 32), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const b of blobs) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}
