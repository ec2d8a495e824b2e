/**
 * Reader for `torch.save` zip archives (PyTorch ≥ 1.6 "zipfile" serialization, written by
 * caffe2's PyTorchStreamWriter / miniz): `<prefix>/data.pkl` (the pickled object graph),
 * `<prefix>/data/<key>` (raw little-endian storages, STORED, data 64-byte aligned),
 * `<prefix>/version`, optionally `<prefix>/byteorder`. The prefix varies (`archive`, the file
 * stem, …). Local headers carry zero sizes and CRCs (data descriptors follow the data), so sizes
 * and CRC-32s come from the central directory; torch always appends a zip64 end record.
 *
 * Limits guard against zip bombs; every entry read is checked against its CRC-32 (fflate's unzip
 * does not check CRCs and exports no CRC function, so CRC-32 is computed here).
 * Browser-safe: no node: imports.
 */
import { inflateSync } from "fflate";
import { FormatError, UnsafeFileError } from "../errors.js";
import type { Tensor, TensorDType } from "./card.js";
import { PickleDict, PickleGlobalRef, pickleTypeName, pickleClass, unpickle, type PickleGlobal, type PickleLimits } from "./pickle.js";
import { DTYPE_ITEMSIZE, decodeTensorData } from "./safetensors.js";

// ---------------------------------------------------------------------------------------------
// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, as in zip: APPNOTE.TXT §4.4.7)

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 of `bytes` (continuing from `crc` if given). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Zip container (APPNOTE.TXT: end of central directory §4.3.16, zip64 §4.3.14–15, central file
// header §4.3.12, local file header §4.3.7)

export interface ZipLimits {
  /** most entries in the central directory */
  maxEntries: number;
  /** total uncompressed bytes of all entries */
  maxTotalBytes: number;
  /** largest uncompressed/compressed ratio of a deflated entry */
  maxRatio: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxEntries: 10_000,
  maxTotalBytes: 1024 * 1024 * 1024,
  maxRatio: 100,
};

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate */
  compression: number;
  compressedSize: number;
  size: number;
  crc32: number;
  dataOffset: number;
}

/** A zip archive read from memory: entries from the central directory, data CRC-checked on read. */
export class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();

  constructor(
    private readonly bytes: Uint8Array,
    limits: Partial<ZipLimits> = {},
  ) {
    if (!(bytes instanceof Uint8Array)) throw new FormatError("zip input is not a byte array");
    const lim = { ...DEFAULT_ZIP_LIMITS, ...limits };
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const u16 = (o: number) => view.getUint16(o, true);
    const u32 = (o: number) => view.getUint32(o, true);
    const u64 = (o: number) => view.getUint32(o + 4, true) * 2 ** 32 + view.getUint32(o, true);
    const within = (o: number, n: number) => o >= 0 && n >= 0 && o + n <= bytes.length;

    // End of central directory: 22 bytes plus a comment of at most 65535 bytes, at the very end.
    let eocd = -1;
    for (let e = bytes.length - 22; e >= 0 && e >= bytes.length - 22 - 0xffff; e--) {
      if (u32(e) === 0x06054b50 && e + 22 + u16(e + 20) === bytes.length) {
        eocd = e;
        break;
      }
    }
    if (eocd < 0) throw new FormatError("not a zip archive (no end-of-central-directory record; legacy non-zip torch.save files are not supported)");
    if (u16(eocd + 4) !== 0 || u16(eocd + 6) !== 0) throw new FormatError("multi-disk zip archives are not supported");
    let count = u16(eocd + 10);
    let cdSize = u32(eocd + 12);
    let cdOffset = u32(eocd + 16);
    const locator = eocd - 20;
    if (locator >= 0 && u32(locator) === 0x07064b50) {
      const z = u64(locator + 8);
      if (!within(z, 56) || u32(z) !== 0x06064b50) throw new FormatError("zip64 end-of-central-directory locator points to no zip64 record");
      count = u64(z + 32);
      cdSize = u64(z + 40);
      cdOffset = u64(z + 48);
    }
    if (count > lim.maxEntries) throw new UnsafeFileError(`zip archive lists ${count} entries, more than the limit of ${lim.maxEntries}`);
    if (!within(cdOffset, cdSize)) throw new FormatError(`zip central directory (${cdSize} bytes at ${cdOffset}) lies outside the ${bytes.length}-byte file`);

    const utf8 = new TextDecoder("utf-8", { fatal: true });
    let total = 0;
    let o = cdOffset;
    for (let i = 0; i < count; i++) {
      if (!within(o, 46) || u32(o) !== 0x02014b50) throw new FormatError(`zip central directory entry ${i} at byte ${o} is malformed`);
      const flags = u16(o + 8);
      const compression = u16(o + 10);
      const crc = u32(o + 16);
      let compressedSize = u32(o + 20);
      let size = u32(o + 24);
      const nameLength = u16(o + 28);
      const extraLength = u16(o + 30);
      const commentLength = u16(o + 32);
      let localOffset = u32(o + 42);
      const nameBytes = bytes.subarray(o + 46, o + 46 + nameLength);
      if (!within(o + 46, nameLength + extraLength + commentLength)) throw new FormatError(`zip central directory entry ${i} runs past the end of the file`);
      let name: string;
      try {
        name = utf8.decode(nameBytes);
      } catch {
        throw new FormatError(`zip entry ${i} has a file name that is not valid UTF-8`);
      }
      // zip64 extended information (§4.5.3): present for each field saturated at 0xFFFFFFFF
      if (size === 0xffffffff || compressedSize === 0xffffffff || localOffset === 0xffffffff) {
        let e = o + 46 + nameLength;
        const end = e + extraLength;
        let found = false;
        while (e + 4 <= end) {
          const id = u16(e);
          const len = u16(e + 2);
          if (e + 4 + len > end) break;
          if (id === 0x0001) {
            let f = e + 4;
            const take = (): number => {
              if (f + 8 > e + 4 + len) throw new FormatError(`zip entry "${name}" has a short zip64 extra field`);
              const v = u64(f);
              f += 8;
              return v;
            };
            if (size === 0xffffffff) size = take();
            if (compressedSize === 0xffffffff) compressedSize = take();
            if (localOffset === 0xffffffff) localOffset = take();
            found = true;
          }
          e += 4 + len;
        }
        if (!found) throw new FormatError(`zip entry "${name}" needs a zip64 extra field and has none`);
      }
      o += 46 + nameLength + extraLength + commentLength;

      if (flags & 0x1) throw new UnsafeFileError(`zip entry "${name}" is encrypted`);
      if (compression !== 0 && compression !== 8) throw new FormatError(`zip entry "${name}" uses compression method ${compression} (only stored and deflate are supported)`);
      if (compression === 0 && size !== compressedSize) throw new FormatError(`stored zip entry "${name}" declares ${size} bytes but occupies ${compressedSize}`);
      if (compression === 8 && size > lim.maxRatio * Math.max(compressedSize, 1))
        throw new UnsafeFileError(`zip entry "${name}" expands ${compressedSize} bytes to ${size}, beyond the ratio limit of ${lim.maxRatio}`);
      total += size;
      if (total > lim.maxTotalBytes) throw new UnsafeFileError(`zip archive holds more than ${lim.maxTotalBytes} uncompressed bytes`);
      if (this.entries.has(name)) throw new FormatError(`zip archive lists entry "${name}" twice`);

      if (!within(localOffset, 30) || u32(localOffset) !== 0x04034b50) throw new FormatError(`zip entry "${name}" has no local header at byte ${localOffset}`);
      const localNameLength = u16(localOffset + 26);
      const localExtraLength = u16(localOffset + 28);
      const dataOffset = localOffset + 30 + localNameLength + localExtraLength;
      if (!within(localOffset + 30, localNameLength) || !equalBytes(bytes.subarray(localOffset + 30, localOffset + 30 + localNameLength), nameBytes))
        throw new FormatError(`zip entry "${name}": local header names a different file`);
      if (!within(dataOffset, compressedSize) || dataOffset + compressedSize > cdOffset)
        throw new FormatError(`zip entry "${name}": its ${compressedSize} data bytes at ${dataOffset} run past the file or into the central directory`);
      this.entries.set(name, { name, compression, compressedSize, size, crc32: crc, dataOffset });
    }
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The uncompressed bytes of an entry (a copy), after checking its size and CRC-32. */
  read(name: string): Uint8Array {
    const e = this.entries.get(name);
    if (e === undefined) throw new FormatError(`zip archive has no entry "${name}"`);
    const raw = this.bytes.subarray(e.dataOffset, e.dataOffset + e.compressedSize);
    let data: Uint8Array;
    if (e.compression === 0) {
      data = raw.slice();
    } else {
      try {
        data = inflateSync(raw, { out: new Uint8Array(e.size) });
      } catch (err) {
        throw new FormatError(`zip entry "${name}" does not inflate: ${(err as Error).message}`);
      }
      if (data.length !== e.size) throw new FormatError(`zip entry "${name}" inflates to ${data.length} bytes, its header says ${e.size}`);
    }
    const crc = crc32(data);
    if (crc !== e.crc32)
      throw new FormatError(`zip entry "${name}" fails its CRC-32 check (stored ${hex32(e.crc32)}, computed ${hex32(crc)}): the file is corrupt`);
    return data;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hex32(v: number): string {
  return `0x${v.toString(16).padStart(8, "0")}`;
}

// ---------------------------------------------------------------------------------------------
// torch storages and tensors

/** torch storage classes (as pickled by torch.save) and their element types. */
export const TORCH_STORAGE_DTYPES: Readonly<Record<string, TensorDType>> = {
  "torch.FloatStorage": "F32",
  "torch.DoubleStorage": "F64",
  "torch.HalfStorage": "F16",
  "torch.BFloat16Storage": "BF16",
  "torch.LongStorage": "I64",
  "torch.IntStorage": "I32",
  "torch.ShortStorage": "I16",
  "torch.CharStorage": "I8",
  "torch.ByteStorage": "U8",
  "torch.BoolStorage": "BOOL",
};

/** One storage of a torch archive: a flat typed buffer several tensors may view. */
export class TorchStorage {
  constructor(
    readonly key: string,
    readonly dtype: TensorDType,
    readonly data: Tensor["data"],
  ) {}
  get numel(): number {
    return this.data.length;
  }
}

/** A tensor materialised from a torch archive: contiguous, row-major, its own copy of the data. */
export class TorchTensor implements Tensor {
  constructor(
    readonly dtype: TensorDType,
    readonly shape: number[],
    readonly data: Tensor["data"],
  ) {}
}

function allocate(dtype: TensorDType, n: number): Tensor["data"] {
  switch (dtype) {
    case "F32":
      return new Float32Array(n);
    case "F64":
      return new Float64Array(n);
    case "I64":
      return new BigInt64Array(n);
    case "I32":
      return new Int32Array(n);
    case "I16":
      return new Int16Array(n);
    case "I8":
      return new Int8Array(n);
    case "F16":
    case "BF16":
      return new Uint16Array(n);
    case "U8":
    case "BOOL":
      return new Uint8Array(n);
  }
}

function intTuple(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new FormatError(`torch tensor ${what} ${String(v)} is not a tuple of non-negative integers`);
  return v as number[];
}

/**
 * `torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
 * backward_hooks[, metadata])`: the view `storage[offset + Σ index_i·stride_i]`, materialised
 * contiguous. Every element the view reaches must lie inside its storage.
 */
/**
 * Largest tensor one view may materialise, bytes. A view with stride 0 repeats storage elements, so a
 * 4-byte storage could otherwise expand to gigabytes (a "view bomb"); the real models hold at most
 * ~1.6 MB per tensor (ECL CNN fc1.weight).
 */
export const MAX_TORCH_TENSOR_BYTES = 256 * 1024 * 1024;

/** Bytes left for materialised tensors of one archive (loadTorchZip starts it at the zip's maxTotalBytes). */
export interface TensorBudget {
  remainingBytes: number;
}

export function rebuildTensor(args: readonly unknown[], budget?: TensorBudget): TorchTensor {
  if (args.length < 4) throw new FormatError(`torch _rebuild_tensor_v2 takes at least 4 arguments, got ${args.length}`);
  const [storage, offset, sizeArg, strideArg] = args;
  if (!(storage instanceof TorchStorage)) throw new FormatError(`torch _rebuild_tensor_v2 expects a storage, got a ${pickleTypeName(storage)}`);
  if (!Number.isSafeInteger(offset) || (offset as number) < 0) throw new FormatError(`torch tensor storage offset ${String(offset)} is not a non-negative integer`);
  const size = intTuple(sizeArg, "size");
  const stride = intTuple(strideArg, "stride");
  if (size.length !== stride.length) throw new FormatError(`torch tensor has ${size.length} sizes but ${stride.length} strides`);
  const start = offset as number;
  let numel = 1;
  for (const d of size) numel *= d;
  if (numel === 0) return new TorchTensor(storage.dtype, size.slice(), allocate(storage.dtype, 0));
  let last = start;
  for (let i = 0; i < size.length; i++) last += (size[i] - 1) * stride[i];
  if (!Number.isSafeInteger(last) || last >= storage.numel)
    throw new FormatError(
      `torch tensor view (offset ${start}, size [${size}], stride [${stride}]) reaches element ${last} of storage "${storage.key}", which holds ${storage.numel}`,
    );
  // checked before allocating: a stride-0 view of a small storage can ask for any size
  const bytes = numel * DTYPE_ITEMSIZE[storage.dtype];
  if (!Number.isSafeInteger(bytes) || bytes > MAX_TORCH_TENSOR_BYTES)
    throw new UnsafeFileError(`torch tensor view of size [${size}] would materialise ${numel} elements, more than the limit of ${MAX_TORCH_TENSOR_BYTES} bytes per tensor`);
  if (budget !== undefined) {
    if (bytes > budget.remainingBytes) throw new UnsafeFileError(`torch archive materialises more tensor bytes than its limit (zip maxTotalBytes)`);
    budget.remainingBytes -= bytes;
  }
  const out = allocate(storage.dtype, numel);
  const src = storage.data as unknown as ArrayLike<number | bigint>;
  const dst = out as unknown as { [i: number]: number | bigint };
  // Odometer over the index space in row-major order.
  const rank = size.length;
  const index = new Array<number>(rank).fill(0);
  let at = start;
  for (let n = 0; n < numel; n++) {
    dst[n] = src[at];
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d] < size[d]) {
        at += stride[d];
        break;
      }
      at -= (size[d] - 1) * stride[d];
      index[d] = 0;
    }
  }
  return new TorchTensor(storage.dtype, size.slice(), out);
}

/** `torch._utils._rebuild_parameter(data, requires_grad, backward_hooks)`: the tensor itself. */
export function rebuildParameter(args: readonly unknown[]): TorchTensor {
  const t = args[0];
  if (!(t instanceof TorchTensor)) throw new FormatError(`torch _rebuild_parameter expects a tensor, got a ${pickleTypeName(t)}`);
  return t;
}

/** Implementations of the globals a torch archive may need; importers pick the ones they allow. */
const KNOWN_GLOBALS: Readonly<Record<string, () => PickleGlobal>> = {
  "torch._utils._rebuild_tensor_v2": () => rebuildTensor,
  "torch._utils._rebuild_parameter": () => rebuildParameter,
  "collections.OrderedDict": () => (args) => {
    const d = new PickleDict();
    d.className = "collections.OrderedDict";
    if (args.length > 0) throw new FormatError(`collections.OrderedDict with ${args.length} arguments is not supported`);
    return d;
  },
  // Python 2 name, as protocol-2 pickles spell builtins.set
  "__builtin__.set": () => pythonSet,
  "builtins.set": () => pythonSet,
  ...Object.fromEntries(Object.keys(TORCH_STORAGE_DTYPES).map((name) => [name, () => pickleClass()])),
};

function pythonSet(args: readonly unknown[]): Set<unknown> {
  if (args.length === 0) return new Set();
  const items = args[0];
  if (args.length !== 1 || !Array.isArray(items)) throw new FormatError("set() takes one list of items");
  return new Set(items);
}

/**
 * The allowlist for unpickling: the named torch/builtin globals with their implementations, plus
 * `classes` as inert class markers (e.g. nn.Module subclasses, rebuilt as PickleObjects).
 */
export function torchGlobals(names: readonly string[], classes: readonly string[] = []): Record<string, PickleGlobal> {
  const out: Record<string, PickleGlobal> = {};
  for (const name of names) {
    const make = Object.prototype.hasOwnProperty.call(KNOWN_GLOBALS, name) ? KNOWN_GLOBALS[name] : undefined;
    if (make === undefined) throw new Error(`torchGlobals: no implementation for ${name}`); // programming error, not user input
    out[name] = make();
  }
  for (const name of classes) out[name] = pickleClass();
  return out;
}

export interface TorchLoadOptions {
  /** the complete allowlist for data.pkl (see torchGlobals) */
  globals: Record<string, PickleGlobal>;
  zipLimits?: Partial<ZipLimits>;
  pickleLimits?: Partial<PickleLimits>;
}

export interface TorchArchive {
  /** the archive's top folder (`archive`, `my_model`, …) */
  prefix: string;
  /** `<prefix>/version` */
  version: number;
  /** the unpickled object graph; tensors are TorchTensor */
  value: unknown;
}

/** Torch archive format versions this reader understands (caffe2 kMinSupportedFileFormatVersion..kMaxSupportedFileFormatVersion writes 1..3 for eager models). */
const SUPPORTED_TORCH_VERSIONS = [1, 2, 3];

/** Reads a `torch.save` zip and unpickles its data.pkl with only the allowed globals. */
export function loadTorchZip(bytes: Uint8Array, options: TorchLoadOptions): TorchArchive {
  if (options === null || typeof options !== "object" || options.globals === null || typeof options.globals !== "object")
    throw new FormatError("loadTorchZip needs options with a globals allow-list");
  const zip = new ZipArchive(bytes, options.zipLimits);
  const pkls = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkls.length === 0) throw new FormatError("zip archive is not a torch.save archive (no <folder>/data.pkl)");
  if (pkls.length > 1) throw new FormatError(`torch archive has ${pkls.length} data.pkl files (${pkls.join(", ")})`);
  const prefix = pkls[0].slice(0, -"/data.pkl".length);

  const versionName = [`${prefix}/version`, `${prefix}/.data/version`].find((n) => zip.has(n));
  if (versionName === undefined) throw new FormatError(`torch archive has no ${prefix}/version record`);
  const versionText = new TextDecoder().decode(zip.read(versionName)).trim();
  const version = Number(versionText);
  if (!/^\d+$/.test(versionText) || !SUPPORTED_TORCH_VERSIONS.includes(version))
    throw new FormatError(`torch archive format version ${JSON.stringify(versionText)} is not supported (${SUPPORTED_TORCH_VERSIONS.join(", ")})`);
  if (zip.has(`${prefix}/byteorder`)) {
    const order = new TextDecoder().decode(zip.read(`${prefix}/byteorder`)).trim();
    if (order !== "little") throw new FormatError(`torch archive byte order "${order}" is not supported (little only)`);
  }

  const storages = new Map<string, TorchStorage>();
  const persistentLoad = (pid: unknown): TorchStorage => {
    if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== "storage")
      throw new FormatError(`torch persistent id ${pickleTypeName(pid)} is not ('storage', type, key, location, numel)`);
    const [, type, key, location, numel] = pid as unknown[];
    if (!(type instanceof PickleGlobalRef) || !Object.prototype.hasOwnProperty.call(TORCH_STORAGE_DTYPES, type.name)) throw new FormatError(`torch storage type ${pickleTypeName(type)} is not a known storage class`);
    if (typeof key !== "string" || !/^[A-Za-z0-9_]+$/.test(key)) throw new FormatError(`torch storage key ${JSON.stringify(key)} is not a plain name`);
    if (typeof location !== "string") throw new FormatError(`torch storage "${key}" has a non-string location`);
    if (!Number.isSafeInteger(numel) || (numel as number) < 0) throw new FormatError(`torch storage "${key}" has invalid element count ${String(numel)}`);
    const dtype = TORCH_STORAGE_DTYPES[type.name];
    const cached = storages.get(key);
    if (cached !== undefined) {
      if (cached.dtype !== dtype) throw new FormatError(`torch storage "${key}" is used as both ${cached.dtype} and ${dtype}`);
      return cached;
    }
    const name = `${prefix}/data/${key}`;
    if (!zip.has(name)) throw new FormatError(`torch archive has no storage entry "${name}"`);
    const raw = zip.read(name);
    const itemsize = DTYPE_ITEMSIZE[dtype];
    if (raw.length !== (numel as number) * itemsize)
      throw new FormatError(`torch storage "${key}" holds ${raw.length} bytes, expected ${numel} × ${itemsize} (${type.name})`);
    const storage = new TorchStorage(key, dtype, decodeTensorData(dtype, raw, 0, numel as number));
    storages.set(key, storage);
    return storage;
  };
  // Every tensor the pickle materialises draws from one budget: many views of one storage cannot
  // multiply the archive's bytes beyond the zip limit.
  const budget: TensorBudget = { remainingBytes: { ...DEFAULT_ZIP_LIMITS, ...options.zipLimits }.maxTotalBytes };
  const globals: Record<string, PickleGlobal> = {};
  for (const [name, impl] of Object.entries(options.globals)) globals[name] = impl === rebuildTensor ? (args: readonly unknown[]) => rebuildTensor(args, budget) : impl;
  const value = unpickle(zip.read(pkls[0]), { globals, persistentLoad, limits: options.pickleLimits });
  return { prefix, version, value };
}
