import { describe, expect, it } from "vitest";
import { FormatError, MuidError, UnsafeFileError } from "../src/errors.js";
import { PickleDict, PickleGlobalRef, PickleObject, pickleClass, unpickle } from "../src/models/pickle.js";

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const ascii = (s: string) => Uint8Array.from(Buffer.from(s, "latin1"));

/**
 * CPython 3.11 `pickle.dumps(obj, protocol=N)` of
 * {'a': [1, 2.5, None, True, False, 'é€', b'\x00\x01'],
 *  'b': (300, -5, 2**70, -(2**70), 65535, 2**31-1, -2**31),
 *  'c': {'__proto__': 1}, 'd': {1, 2}, 'e': frozenset({'x'})}
 */
const PROTOCOL_4 = hex(`
80049586000000000000007d94288c0161945d94284b014740040000000000004e88898c05c3a9e282ac944302000194658c016294284d2c014afbffffff
8a090000000000000000408a090000000000000000c04dffff4affffff7f4a0000008074948c0163947d948c095f5f70726f746f5f5f944b01738c016494
8f94284b014b02908c016594288c0178949194752e`);
const PROTOCOL_3 = hex(`
80037d71002858010000006171015d7102284b014740040000000000004e88895805000000c3a9e282ac7103430200017104655801000000627105284d2c01
4afbffffff8a090000000000000000408a090000000000000000c04dffff4affffff7f4a0000008074710658010000006371077d710858090000005f5f7072
6f746f5f5f71094b0173580100000064710a636275696c74696e730a7365740a710b5d710c284b014b026585710d52710e580100000065710f636275696c
74696e730a66726f7a656e7365740a71105d7111580100000078711261857113527114752e`);

function checkSampleValue(v: unknown): void {
  expect(v).toBeInstanceOf(PickleDict);
  const d = v as PickleDict;
  expect([...d.keys()]).toEqual(["a", "b", "c", "d", "e"]);
  const a = d.get("a") as unknown[];
  expect(a.slice(0, 6)).toEqual([1, 2.5, null, true, false, "é€"]);
  expect(Array.from(a[6] as Uint8Array)).toEqual([0, 1]);
  expect(Object.isFrozen(a)).toBe(false); // list
  const b = d.get("b") as unknown[];
  expect(Object.isFrozen(b)).toBe(true); // tuple
  expect(b).toEqual([300, -5, 2n ** 70n, -(2n ** 70n), 65535, 2 ** 31 - 1, -(2 ** 31)]);
  const c = d.get("c") as PickleDict;
  expect(c.get("__proto__")).toBe(1);
  expect(Object.getPrototypeOf(c)).toBe(PickleDict.prototype);
  expect([...(d.get("d") as Set<unknown>)].sort()).toEqual([1, 2]);
  expect([...(d.get("e") as Set<unknown>)]).toEqual(["x"]);
}

describe("restricted unpickler", () => {
  it("reads a CPython protocol-4 pickle (FRAME, MEMOIZE, EMPTY_SET/ADDITEMS, FROZENSET) with no globals", () => {
    checkSampleValue(unpickle(PROTOCOL_4));
  });

  it("reads the protocol-3 form once its set globals are allowed, and refuses it otherwise", () => {
    const set = (args: readonly unknown[]) => new Set(args[0] as unknown[]);
    checkSampleValue(unpickle(PROTOCOL_3, { globals: { "builtins.set": set, "builtins.frozenset": set } }));
    expect(() => unpickle(PROTOCOL_3)).toThrow("pickle global builtins.set is not allowed");
  });

  it("keeps shared references shared (BINPUT/BINGET)", () => {
    // pickle.dumps([l, l], 2) with l = [1]
    const v = unpickle(hex("80025d7100285d71014b01616801652e")) as unknown[][];
    expect(v).toEqual([[1], [1]]);
    expect(v[0]).toBe(v[1]);
  });

  it("refuses os.system in GLOBAL form, naming it", () => {
    // cos\nsystem\n (X 'ls') TUPLE1 REDUCE STOP
    const p = Uint8Array.from([...ascii("\x80\x02cos\nsystem\n"), 0x58, 2, 0, 0, 0, ...ascii("ls"), 0x85, 0x52, 0x2e]);
    expect(() => unpickle(p)).toThrow(UnsafeFileError);
    expect(() => unpickle(p)).toThrow(/^pickle global os\.system is not allowed/);
    // allowing something else does not help
    expect(() => unpickle(p, { globals: { "collections.OrderedDict": () => new PickleDict() } })).toThrow("pickle global os.system is not allowed");
  });

  it("refuses os.system in STACK_GLOBAL form, naming it", () => {
    const p = Uint8Array.from([0x80, 0x04, 0x8c, 2, ...ascii("os"), 0x8c, 6, ...ascii("system"), 0x93, 0x8c, 2, ...ascii("ls"), 0x85, 0x52, 0x2e]);
    expect(() => unpickle(p)).toThrow(UnsafeFileError);
    expect(() => unpickle(p)).toThrow(/^pickle global os\.system is not allowed/);
    const posix = Uint8Array.from([0x80, 0x04, 0x8c, 5, ...ascii("posix"), 0x8c, 6, ...ascii("system"), 0x93, 0x2e]);
    expect(() => unpickle(posix)).toThrow("pickle global posix.system is not allowed");
  });

  it("does not resolve globals through the allowlist's prototype", () => {
    const p = Uint8Array.from([...ascii("\x80\x02c__proto__\nconstructor\n"), 0x2e]);
    expect(() => unpickle(p, { globals: {} })).toThrow(UnsafeFileError);
    const q = Uint8Array.from([...ascii("\x80\x02cObject\nprototype\n"), 0x2e]);
    expect(() => unpickle(q)).toThrow("pickle global Object.prototype is not allowed");
  });

  it("refuses opcodes it does not implement, naming opcode and byte position", () => {
    // INST 'os' 'system' (protocol 0 object creation)
    expect(() => unpickle(ascii("\x80\x02(ios\nsystem\n."))).toThrow(/^pickle opcode 0x69 INST at byte 3 is not supported/);
    expect(() => unpickle(Uint8Array.from([0x80, 0x02, 0xff, 0x2e]))).toThrow(/0xff \(unknown\) at byte 2/);
    expect(() => unpickle(ascii("\x80\x02I42\n."))).toThrow(/0x49 INT at byte 2/);
    expect(() => unpickle(Uint8Array.from([0x80, 0x02, 0x82, 0x01, 0x2e]))).toThrow(/0x82 EXT1/);
  });

  it("refuses REDUCE/NEWOBJ on anything that is not an allowed global", () => {
    // a string used as a callable: X 'x' ) R .
    const p = Uint8Array.from([0x80, 0x02, 0x58, 1, 0, 0, 0, 0x78, 0x29, 0x52, 0x2e]);
    expect(() => unpickle(p)).toThrow(/REDUCE at byte 9 calls a string, not an allowed global/);
  });

  it("builds allowed classes as inert records and calls allowed functions with their arguments", () => {
    // cmod\nK\n ) NEWOBJ } (X 'w' K 5 u BUILD .   and   cmod\nf\n (K 1 K 2) R
    const cls = Uint8Array.from([...ascii("\x80\x02cmod\nK\n"), 0x29, 0x81, 0x7d, 0x28, 0x58, 1, 0, 0, 0, ...ascii("w"), 0x4b, 5, 0x75, 0x62, 0x2e]);
    const obj = unpickle(cls, { globals: { "mod.K": pickleClass() } }) as PickleObject;
    expect(obj).toBeInstanceOf(PickleObject);
    expect(obj.__class__).toBe("mod.K");
    expect(obj.args).toEqual([]);
    expect([...(obj.state as PickleDict)]).toEqual([["w", 5]]);

    const calls: unknown[] = [];
    const fn = Uint8Array.from([...ascii("\x80\x02cmod\nf\n"), 0x4b, 1, 0x4b, 2, 0x86, 0x52, 0x2e]);
    const v = unpickle(fn, { globals: { "mod.f": (args) => (calls.push(args), "result") } });
    expect(v).toBe("result");
    expect(calls).toEqual([[1, 2]]);
  });

  it("resolves BINPERSID only through persistentLoad", () => {
    // ( X 'storage' K 7 t Q .
    const p = Uint8Array.from([0x80, 0x02, 0x28, 0x58, 7, 0, 0, 0, ...ascii("storage"), 0x4b, 7, 0x74, 0x51, 0x2e]);
    expect(() => unpickle(p)).toThrow(/BINPERSID at byte 18: persistent ids are not allowed/);
    expect(unpickle(p, { persistentLoad: (pid) => ({ got: pid }) })).toEqual({ got: ["storage", 7] });
  });

  it("reports every truncation of a valid pickle as a FormatError", () => {
    for (const valid of [PROTOCOL_4, PROTOCOL_3]) {
      const set = (args: readonly unknown[]) => new Set(args[0] as unknown[]);
      for (let n = 0; n < valid.length; n++) {
        const cut = valid.subarray(0, n);
        expect(() => unpickle(cut, { globals: { "builtins.set": set, "builtins.frozenset": set } }), `prefix of ${n} bytes`).toThrow(FormatError);
      }
    }
  });

  it("rejects a length prefix beyond the input without allocating it", () => {
    // BINBYTES8 announcing 2^50 bytes
    const p = Uint8Array.from([0x80, 0x04, 0x8e, 0, 0, 0, 0, 0, 0, 4, 0, 0x2e]);
    expect(() => unpickle(p)).toThrow(UnsafeFileError); // beyond the 1 GiB default limit
    const q = Uint8Array.from([0x80, 0x04, 0x8e, 0, 0, 0x10, 0, 0, 0, 0, 0, 0x2e]); // 1 MiB, 1 byte present
    expect(() => unpickle(q)).toThrow(/truncated/);
  });

  it("limits MARK nesting, stack size, memo size, operation count and long integers", () => {
    const deep = new Uint8Array(2 + 5000).fill(0x28);
    deep.set([0x80, 0x02]);
    expect(() => unpickle(deep)).toThrow(/nests MARKs deeper than the limit of 1000/);
    expect(() => unpickle(deep, { limits: { maxMarkDepth: 10 } })).toThrow(/limit of 10/);

    const lists = Uint8Array.from([0x80, 0x02, ...new Array(100).fill(0x5d)]);
    expect(() => unpickle(lists, { limits: { maxStack: 50 } })).toThrow(/stack exceeds the limit of 50/);

    const memo = Uint8Array.from([0x80, 0x04, 0x4e, ...new Array(20).fill(0x94), 0x2e]);
    expect(() => unpickle(memo, { limits: { maxMemo: 10 } })).toThrow(/memo exceeds the limit of 10/);
    expect(unpickle(memo)).toBe(null);

    const ops = Uint8Array.from([0x80, 0x02, 0x4e, ...new Array(30).fill(0x32), ...new Array(30).fill(0x30), 0x2e]); // NONE, DUP×30, POP×30
    expect(unpickle(ops)).toBe(null);
    expect(() => unpickle(ops, { limits: { maxOps: 40 } })).toThrow(/more than 40 opcodes/);

    const big = Uint8Array.from([0x80, 0x02, 0x8a, 100, ...new Array(100).fill(1), 0x2e]);
    expect(() => unpickle(big)).toThrow(/integer of 100 bytes/);
  });

  it("survives a pickle that nests tuples a million deep without recursion", () => {
    const n = 1_000_000;
    const p = new Uint8Array(3 + n + 1);
    p.set([0x80, 0x02, 0x29]);
    p.fill(0x85, 3, 3 + n); // TUPLE1 repeated
    p[3 + n] = 0x2e;
    let v = unpickle(p) as unknown[];
    let depth = 0;
    while (v.length === 1) {
      v = v[0] as unknown[];
      depth++;
    }
    expect(depth).toBe(n);
    // used as a dict key: hashability is checked iteratively
    const q = new Uint8Array(4 + n + 4);
    q.set([0x80, 0x02, 0x7d, 0x29]);
    q.fill(0x85, 4, 4 + n);
    q.set([0x4b, 1, 0x73, 0x2e], 4 + n);
    expect((unpickle(q) as PickleDict).size).toBe(1);
  });

  it("reports malformed structure as FormatError: bad STOP, missing MARK, unhashable key, missing memo", () => {
    expect(() => unpickle(Uint8Array.from([0x80, 0x02, 0x4e, 0x4e, 0x2e]))).toThrow(/2 values on the stack/);
    expect(() => unpickle(Uint8Array.from([0x80, 0x02, 0x74, 0x2e]))).toThrow(/no matching MARK/);
    expect(() => unpickle(Uint8Array.from([0x80, 0x02, 0x7d, 0x5d, 0x4b, 1, 0x73, 0x2e]))).toThrow(/unhashable list/);
    expect(() => unpickle(Uint8Array.from([0x80, 0x02, 0x68, 9, 0x2e]))).toThrow(/memo entry 9/);
    expect(() => unpickle(Uint8Array.from([0x80, 0x02, 0x4e, 0x2e, 0x00]))).toThrow(/1 bytes after STOP/);
    expect(() => unpickle(Uint8Array.from([0x80, 0x09, 0x4e, 0x2e]))).toThrow(/protocol 9/);
    expect(() => unpickle(Uint8Array.from([0x80, 0x02, 0x29, 0x4b, 1, 0x61, 0x2e]))).toThrow(/appends to a tuple/);
  });

  it("exposes allowed globals used as values (e.g. storage types in persistent ids) by name", () => {
    const p = Uint8Array.from([...ascii("\x80\x02ctorch\nFloatStorage\n"), 0x2e]);
    const v = unpickle(p, { globals: { "torch.FloatStorage": pickleClass() } });
    expect(v).toBeInstanceOf(PickleGlobalRef);
    expect((v as PickleGlobalRef).name).toBe("torch.FloatStorage");
  });

  it("throws only MuidErrors on random byte strings after a protocol header", () => {
    // a cheap deterministic fuzz: xorshift bytes
    let s = 0x9e3779b9;
    const next = () => ((s ^= s << 13), (s ^= s >>> 17), (s ^= s << 5), s >>> 0);
    for (let i = 0; i < 3000; i++) {
      const n = 1 + (next() % 40);
      const p = new Uint8Array(2 + n);
      p.set([0x80, 0x04]);
      for (let j = 2; j < p.length; j++) p[j] = next() & 0xff;
      try {
        unpickle(p, { limits: { maxBytes: 1 << 20 } });
      } catch (e) {
        if (!(e instanceof MuidError)) throw e;
      }
    }
  });
});
