/**
 * A restricted unpickler: reads Python pickles (protocols 2–4, the opcodes `torch.save` and the
 * basf2 MVA interface write) without ever running code. Globals resolve only through the caller's
 * allowlist; a class in the allowlist builds an inert record ({ __class__, args, state }), a
 * function in it is the caller's own TypeScript. Anything else is refused with an UnsafeFileError
 * naming the opcode or global; malformed or truncated input is a FormatError.
 *
 * Value mapping: None → null, bool → boolean, int → number (bigint beyond 2^53), float → number,
 * str → string, bytes → Uint8Array, list → array, tuple → frozen array, dict → PickleDict (a Map,
 * so keys such as "__proto__" are data, never object structure), set/frozenset → Set.
 * Opcode reference: CPython Lib/pickletools.py.
 */
import { FormatError, UnsafeFileError } from "../errors.js";

/** A Python dict (or OrderedDict); `attributes` receives BUILD state, e.g. a state_dict's `_metadata`. */
export class PickleDict extends Map<unknown, unknown> {
  className?: string;
  attributes?: unknown;
}

/** An instance of an allowed class, built without running any of its code. */
export class PickleObject {
  /** state set by BUILD (for nn.Modules: the instance __dict__ as a PickleDict) */
  state: unknown = undefined;
  constructor(
    readonly __class__: string,
    readonly args: readonly unknown[],
  ) {}
}

const CLASS_MARKER = Symbol("pickle class");
/** Marks an allowed global as a class: REDUCE/NEWOBJ on it builds a PickleObject. */
export interface PickleClass {
  readonly [CLASS_MARKER]: true;
}
export function pickleClass(): PickleClass {
  return { [CLASS_MARKER]: true };
}

/** An allowed callable: receives the REDUCE/NEWOBJ argument tuple, returns the value to push. */
export type PickleCallable = (args: readonly unknown[]) => unknown;
export type PickleGlobal = PickleCallable | PickleClass;

/** A global as it sits on the unpickler stack (and inside values, e.g. a storage type in a persistent id). */
export class PickleGlobalRef {
  constructor(
    /** "module.name", e.g. "torch.FloatStorage" */
    readonly name: string,
    readonly impl: PickleGlobal,
  ) {}
}

export interface PickleLimits {
  /** opcodes executed */
  maxOps: number;
  /** values on the stack at once */
  maxStack: number;
  /** nested MARKs */
  maxMarkDepth: number;
  /** memo entries */
  maxMemo: number;
  /** length of one str or bytes value */
  maxBytes: number;
  /** bytes of one LONG1/LONG4 integer */
  maxLongBytes: number;
}

export const DEFAULT_PICKLE_LIMITS: PickleLimits = {
  maxOps: 50_000_000,
  maxStack: 1_000_000,
  maxMarkDepth: 1_000,
  maxMemo: 1_000_000,
  maxBytes: 1024 * 1024 * 1024,
  maxLongBytes: 64,
};

export interface UnpickleOptions {
  /** allowed globals by "module.name" (exactly as the pickle spells them, e.g. "__builtin__.set") */
  globals?: Record<string, PickleGlobal>;
  /** resolves BINPERSID ids; without it a persistent id is refused */
  persistentLoad?: (pid: unknown) => unknown;
  limits?: Partial<PickleLimits>;
}

/** Opcode names, for error messages (pickletools). */
const OPCODE_NAMES: Record<number, string> = {
  0x28: "MARK", 0x2e: "STOP", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x46: "FLOAT", 0x49: "INT", 0x4a: "BININT",
  0x4b: "BININT1", 0x4c: "LONG", 0x4d: "BININT2", 0x4e: "NONE", 0x50: "PERSID", 0x51: "BINPERSID", 0x52: "REDUCE",
  0x53: "STRING", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING", 0x56: "UNICODE", 0x58: "BINUNICODE", 0x61: "APPEND",
  0x62: "BUILD", 0x63: "GLOBAL", 0x64: "DICT", 0x7d: "EMPTY_DICT", 0x65: "APPENDS", 0x67: "GET", 0x68: "BINGET",
  0x69: "INST", 0x6a: "LONG_BINGET", 0x6c: "LIST", 0x5d: "EMPTY_LIST", 0x6f: "OBJ", 0x70: "PUT", 0x71: "BINPUT",
  0x72: "LONG_BINPUT", 0x73: "SETITEM", 0x74: "TUPLE", 0x29: "EMPTY_TUPLE", 0x75: "SETITEMS", 0x47: "BINFLOAT",
  0x80: "PROTO", 0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x85: "TUPLE1", 0x86: "TUPLE2", 0x87: "TUPLE3",
  0x88: "NEWTRUE", 0x89: "NEWFALSE", 0x8a: "LONG1", 0x8b: "LONG4", 0x42: "BINBYTES", 0x43: "SHORT_BINBYTES",
  0x8c: "SHORT_BINUNICODE", 0x8d: "BINUNICODE8", 0x8e: "BINBYTES8", 0x8f: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET",
  0x92: "NEWOBJ_EX", 0x93: "STACK_GLOBAL", 0x94: "MEMOIZE", 0x95: "FRAME", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER",
  0x98: "READONLY_BUFFER",
};

export function opcodeName(op: number): string {
  return `0x${op.toString(16).padStart(2, "0")} ${OPCODE_NAMES[op] ?? "(unknown)"}`;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Unpickles `bytes` under the allowlist in `options`. Never executes code from the pickle. */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions = {}): unknown {
  if (!(bytes instanceof Uint8Array)) throw new FormatError("pickle input is not a byte array");
  if (options === null || typeof options !== "object") throw new FormatError("unpickle options must be an object");
  const lim = { ...DEFAULT_PICKLE_LIMITS, ...options.limits };
  const globals = options.globals ?? {};
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const memo = new Map<number, unknown>();
  // hashability of every tuple already checked: memo references let a small pickle use one deep tuple
  // as a key many times, and re-walking it each time would be quadratic (a "hash bomb")
  const hashable = new WeakMap<object, boolean>();
  const marks: unknown[][] = [];
  let stack: unknown[] = [];
  let pos = 0;
  let opPos = 0;
  let op = 0;
  let ops = 0;

  const need = (n: number): void => {
    if (n > bytes.length - pos)
      throw new FormatError(`pickle is truncated: ${opcodeName(op)} at byte ${opPos} needs ${n} more bytes, ${bytes.length - pos} remain`);
  };
  const u8 = (): number => {
    need(1);
    return bytes[pos++];
  };
  const u16 = (): number => {
    need(2);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const lo = view.getUint32(pos, true);
    const hi = view.getUint32(pos + 4, true);
    pos += 8;
    return hi * 2 ** 32 + lo; // exact below 2^53; larger lengths fail the limits below anyway
  };
  const take = (n: number, what: string): Uint8Array => {
    if (n > lim.maxBytes) throw new UnsafeFileError(`pickle ${what} of ${n} bytes at byte ${opPos} exceeds the limit of ${lim.maxBytes} bytes`);
    need(n);
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const text = (n: number): string => {
    const b = take(n, "string");
    try {
      return utf8.decode(b);
    } catch {
      throw new FormatError(`pickle string at byte ${opPos} is not valid UTF-8`);
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw new FormatError(`pickle is truncated: ${opcodeName(op)} at byte ${opPos} has no terminating newline`);
    const s = bytes.subarray(pos, end);
    pos = end + 1;
    try {
      return utf8.decode(s);
    } catch {
      throw new FormatError(`pickle ${opcodeName(op)} at byte ${opPos} is not valid UTF-8`);
    }
  };
  const push = (v: unknown): void => {
    if (stack.length >= lim.maxStack) throw new UnsafeFileError(`pickle stack exceeds the limit of ${lim.maxStack} values (at byte ${opPos})`);
    stack.push(v);
  };
  const pop = (): unknown => {
    if (stack.length === 0) throw new FormatError(`pickle ${opcodeName(op)} at byte ${opPos} pops an empty stack`);
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) throw new FormatError(`pickle ${opcodeName(op)} at byte ${opPos} needs a value on the stack`);
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = marks.pop();
    if (prev === undefined) throw new FormatError(`pickle ${opcodeName(op)} at byte ${opPos} has no matching MARK`);
    stack = prev;
    return items;
  };
  const memoPut = (index: number): void => {
    if (!memo.has(index) && memo.size >= lim.maxMemo) throw new UnsafeFileError(`pickle memo exceeds the limit of ${lim.maxMemo} entries`);
    memo.set(index, top());
  };
  const memoGet = (index: number): void => {
    if (!memo.has(index)) throw new FormatError(`pickle ${opcodeName(op)} at byte ${opPos} reads memo entry ${index}, which was never stored`);
    push(memo.get(index));
  };
  const resolveGlobal = (module: string, name: string): void => {
    const full = `${module}.${name}`;
    if (!Object.prototype.hasOwnProperty.call(globals, full)) throw new UnsafeFileError(`pickle global ${full} is not allowed (at byte ${opPos})`);
    push(new PickleGlobalRef(full, globals[full]));
  };
  const call = (callee: unknown, args: unknown): unknown => {
    if (!(callee instanceof PickleGlobalRef))
      throw new UnsafeFileError(`pickle ${opcodeName(op)} at byte ${opPos} calls a ${pickleTypeName(callee)}, not an allowed global`);
    if (!Array.isArray(args)) throw new FormatError(`pickle ${opcodeName(op)} at byte ${opPos} passes a ${pickleTypeName(args)} as arguments to ${callee.name}`);
    const impl = callee.impl;
    if (typeof impl === "function") return impl(args);
    return new PickleObject(callee.name, args);
  };
  const listTarget = (): unknown[] => {
    const t = top();
    if (!Array.isArray(t) || Object.isFrozen(t)) throw new FormatError(`pickle ${opcodeName(op)} at byte ${opPos} appends to a ${pickleTypeName(t)}, not a list`);
    return t;
  };
  const dictTarget = (): PickleDict => {
    const t = top();
    if (!(t instanceof PickleDict)) throw new FormatError(`pickle ${opcodeName(op)} at byte ${opPos} sets items on a ${pickleTypeName(t)}, not a dict`);
    return t;
  };
  const setItem = (d: PickleDict, k: unknown, v: unknown): void => {
    if (!isHashable(k, hashable)) throw new FormatError(`pickle dict key at byte ${opPos} is an unhashable ${pickleTypeName(k)}`);
    d.set(k, v);
  };
  const long = (n: number): number | bigint => {
    if (n > lim.maxLongBytes) throw new UnsafeFileError(`pickle integer of ${n} bytes at byte ${opPos} exceeds the limit of ${lim.maxLongBytes} bytes`);
    const b = take(n, "integer");
    if (n === 0) return 0;
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[n - 1] & 0x80) v -= 1n << BigInt(8 * n); // two's complement
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  for (;;) {
    if (pos >= bytes.length) throw new FormatError(`pickle is truncated: it ends at byte ${bytes.length} without STOP`);
    if (++ops > lim.maxOps) throw new UnsafeFileError(`pickle runs more than ${lim.maxOps} opcodes`);
    opPos = pos;
    op = bytes[pos++];
    switch (op) {
      case 0x80: {
        // PROTO
        const proto = u8();
        if (proto < 2 || proto > 5) throw new FormatError(`pickle protocol ${proto} at byte ${opPos} is not supported (2–5)`);
        break;
      }
      case 0x95: {
        // FRAME: a length prefix for buffered reading; the content follows inline
        const n = u64();
        if (n > bytes.length - pos) throw new FormatError(`pickle is truncated: FRAME at byte ${opPos} announces ${n} bytes, ${bytes.length - pos} remain`);
        break;
      }
      case 0x2e: {
        // STOP
        if (marks.length !== 0) throw new FormatError(`pickle STOP at byte ${opPos} with ${marks.length} unclosed MARK(s)`);
        if (stack.length !== 1) throw new FormatError(`pickle STOP at byte ${opPos} with ${stack.length} values on the stack (expected 1)`);
        if (pos !== bytes.length) throw new FormatError(`pickle has ${bytes.length - pos} bytes after STOP`);
        return stack[0];
      }
      case 0x28: // MARK
        if (marks.length >= lim.maxMarkDepth) throw new UnsafeFileError(`pickle nests MARKs deeper than the limit of ${lim.maxMarkDepth} (at byte ${opPos})`);
        marks.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x7d: // EMPTY_DICT
        push(new PickleDict());
        break;
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        push(Object.freeze([]));
        break;
      case 0x8f: // EMPTY_SET
        push(new Set());
        break;
      case 0x74: // TUPLE
        push(Object.freeze(popMark()));
        break;
      case 0x85: // TUPLE1
        push(Object.freeze([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        push(Object.freeze([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        push(Object.freeze([a, b, c]));
        break;
      }
      case 0x6c: // LIST
        push(popMark());
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        listTarget().push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = listTarget();
        for (const v of items) list.push(v);
        break;
      }
      case 0x64: {
        // DICT
        const items = popMark();
        if (items.length % 2 !== 0) throw new FormatError(`pickle DICT at byte ${opPos} has an odd number of items`);
        const d = new PickleDict();
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItem(dictTarget(), k, v);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        if (items.length % 2 !== 0) throw new FormatError(`pickle SETITEMS at byte ${opPos} has an odd number of items`);
        const d = dictTarget();
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        break;
      }
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) throw new FormatError(`pickle ADDITEMS at byte ${opPos} adds to a ${pickleTypeName(s)}, not a set`);
        for (const v of items) {
          if (!isHashable(v, hashable)) throw new FormatError(`pickle set item at byte ${opPos} is an unhashable ${pickleTypeName(v)}`);
          s.add(v);
        }
        break;
      }
      case 0x91: {
        // FROZENSET
        const items = popMark();
        if (!items.every((v) => isHashable(v, hashable))) throw new FormatError(`pickle FROZENSET at byte ${opPos} holds an unhashable item`);
        push(new Set(items));
        break;
      }
      case 0x4a: // BININT
        need(4);
        push(view.getInt32(pos, true));
        pos += 4;
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x8a: // LONG1
        push(long(u8()));
        break;
      case 0x8b: // LONG4
        push(long(u32()));
        break;
      case 0x47: // BINFLOAT (big-endian IEEE double)
        need(8);
        push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(text(u8()));
        break;
      case 0x58: // BINUNICODE
        push(text(u32()));
        break;
      case 0x8d: // BINUNICODE8
        push(text(u64()));
        break;
      case 0x43: // SHORT_BINBYTES
        push(take(u8(), "bytes").slice());
        break;
      case 0x42: // BINBYTES
        push(take(u32(), "bytes").slice());
        break;
      case 0x8e: // BINBYTES8
        push(take(u64(), "bytes").slice());
        break;
      case 0x71: // BINPUT
        memoPut(u8());
        break;
      case 0x72: // LONG_BINPUT
        memoPut(u32());
        break;
      case 0x94: // MEMOIZE
        memoPut(memo.size);
        break;
      case 0x68: // BINGET
        memoGet(u8());
        break;
      case 0x6a: // LONG_BINGET
        memoGet(u32());
        break;
      case 0x63: {
        // GLOBAL: "module\nname\n"
        const module = line();
        const name = line();
        resolveGlobal(module, name);
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") throw new FormatError(`pickle STACK_GLOBAL at byte ${opPos} needs two strings`);
        resolveGlobal(module, name);
        break;
      }
      case 0x52: {
        // REDUCE: callable(*args)
        const args = pop();
        const callee = pop();
        push(call(callee, args));
        break;
      }
      case 0x81: {
        // NEWOBJ: cls.__new__(cls, *args)
        const args = pop();
        const cls = pop();
        push(call(cls, args));
        break;
      }
      case 0x62: {
        // BUILD: setstate on the object below
        const state = pop();
        const target = top();
        if (target instanceof PickleObject) {
          if (target.state instanceof PickleDict && state instanceof PickleDict) for (const [k, v] of state) target.state.set(k, v);
          else target.state = state;
        } else if (target instanceof PickleDict) {
          target.attributes = state;
        } else {
          throw new FormatError(`pickle BUILD at byte ${opPos} sets state on a ${pickleTypeName(target)}, which is not supported`);
        }
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = pop();
        if (options.persistentLoad === undefined) throw new UnsafeFileError(`pickle BINPERSID at byte ${opPos}: persistent ids are not allowed here`);
        push(options.persistentLoad(pid));
        break;
      }
      default:
        throw new UnsafeFileError(`pickle opcode ${opcodeName(op)} at byte ${opPos} is not supported`);
    }
  }
}

/**
 * Python hashability: scalars and tuples of hashables. Iterative, as tuples may nest deeply; results
 * for tuples are cached in `known` (tuples are frozen, so their hashability never changes), so every
 * tuple of one pickle is walked at most once however often memo references repeat it.
 */
function isHashable(key: unknown, known: WeakMap<object, boolean>): boolean {
  const scalar = (k: unknown) => k === null || typeof k === "string" || typeof k === "number" || typeof k === "bigint" || typeof k === "boolean";
  if (scalar(key)) return true;
  if (!Array.isArray(key) || !Object.isFrozen(key)) return false;
  const cached = known.get(key);
  if (cached !== undefined) return cached;
  // depth-first post-order over the tuples not yet known; a tuple is hashable iff all its items are
  const stack: { tuple: readonly unknown[]; next: number }[] = [{ tuple: key, next: 0 }];
  const onStack = new Set<object>([key]);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next === top.tuple.length) {
      known.set(top.tuple, true);
      onStack.delete(top.tuple);
      stack.pop();
      continue;
    }
    const item = top.tuple[top.next++];
    if (scalar(item)) continue;
    if (!Array.isArray(item) || !Object.isFrozen(item)) {
      // one unhashable item makes every tuple on the path unhashable
      for (const f of stack) known.set(f.tuple, false);
      return false;
    }
    const c = known.get(item);
    if (c === true || onStack.has(item)) continue;
    if (c === false) {
      for (const f of stack) known.set(f.tuple, false);
      return false;
    }
    onStack.add(item);
    stack.push({ tuple: item, next: 0 });
  }
  return known.get(key)!;
}

/** A short description of a value's kind, for error messages. */
export function pickleTypeName(v: unknown): string {
  if (v === null) return "None";
  if (Array.isArray(v)) return Object.isFrozen(v) ? "tuple" : "list";
  if (v instanceof PickleDict) return v.className ?? "dict";
  if (v instanceof PickleObject) return v.__class__;
  if (v instanceof PickleGlobalRef) return `global ${v.name}`;
  if (v instanceof Uint8Array) return "bytes";
  if (v instanceof Set) return "set";
  return typeof v;
}
