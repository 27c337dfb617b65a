import { TureenError } from '../../../common/errors.js';

/**
 * An inert pickle READER (protocols 0-5 opcodes as written by Python's pickler, protocol 2 by torch.save):
 * it walks the opcodes and builds a tree of plain values. It is not an unpickler: a global is only a
 * name, and REDUCE/NEWOBJ/INST/OBJ/BUILD only record which callable the pickle asked for and with which
 * arguments. Nothing here calls, imports or evaluates anything, so no pickle can run code in Tureen.
 */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PickleBytes
  | PickleList
  | PickleTuple
  | PickleDict
  | PickleSet
  | PickleGlobal
  | PickleCall
  | PicklePersistent;

export interface PickleBytes {
  kind: 'bytes';
  bytes: Uint8Array;
}
export interface PickleList {
  kind: 'list';
  items: PickleValue[];
}
export interface PickleTuple {
  kind: 'tuple';
  items: PickleValue[];
}
/** A dict, or a `collections.OrderedDict` (type says which); keys may be any value. */
export interface PickleDict {
  kind: 'dict';
  type: 'dict' | 'collections.OrderedDict';
  entries: Array<[PickleValue, PickleValue]>;
}
export interface PickleSet {
  kind: 'set';
  items: PickleValue[];
}
/** A `module.name` reference; never imported. */
export interface PickleGlobal {
  kind: 'global';
  module: string;
  name: string;
}
/**
 * What the pickle asked to be called (REDUCE, NEWOBJ, INST, OBJ) with its arguments, plus anything it
 * then set on the result (BUILD state, SETITEMS, APPENDS). Recorded, never called.
 */
export interface PickleCall {
  kind: 'call';
  callable: PickleValue;
  args: PickleValue[];
  state: PickleValue | undefined;
  items: Array<[PickleValue, PickleValue]>;
  appended: PickleValue[];
}
/** A persistent id (torch uses it for tensor storages); resolved by the caller, not by the reader. */
export interface PicklePersistent {
  kind: 'persistent';
  id: PickleValue;
}

/** Random access to the pickle's bytes; `bytes` may return fewer bytes only at the end of the source. */
export interface PickleSource {
  readonly length: number;
  bytes(position: number, count: number): Uint8Array;
}

export function memorySource(data: Uint8Array): PickleSource {
  // a plain Uint8Array view: Buffer#subarray is several times slower to create
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return { length: bytes.length, bytes: (position, count) => bytes.subarray(position, position + count) };
}

export interface ParsedPickle {
  value: PickleValue;
  /** offset of the byte after STOP */
  end: number;
  /** every global the pickle names, as `module.name`, in order of first appearance */
  globals: string[];
  /** every persistent id, in order (torch's storage references, including optimizer state's) */
  persistentIds: PickleValue[];
}

const MAX_LINE = 64 * 1024;
const WINDOW = 64 * 1024;
/** Longer LONG1/LONG4 integers are kept as their byte length only (no quadratic bigint parsing). */
const MAX_LONG_BYTES = 64;

const text = new TextDecoder('utf-8', { fatal: false });

function isGlobal(v: PickleValue, module: string, name: string): boolean {
  return typeof v === 'object' && v !== null && v.kind === 'global' && v.module === module && v.name === name;
}

function signedLittleEndian(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
  if (bytes.length && bytes[bytes.length - 1]! & 0x80) value -= 1n << BigInt(8 * bytes.length);
  return value;
}

function narrow(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value;
}

/**
 * Parse one pickle starting at `start`. `where` names the file (and member) for error messages. Work is
 * linear in the input: every opcode consumes at least one byte and creates O(1) values (memo GETs and
 * DUP share references, they never copy).
 */
export function readPickle(source: PickleSource, where: string, start = 0): ParsedPickle {
  let pos = start;
  const stack: PickleValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PickleValue>();
  const globals: string[] = [];
  const persistentIds: PickleValue[] = [];
  const seenGlobals = new Set<string>();

  const fail = (message: string): never => {
    throw new TureenError('bad_checkpoint', `${where}: ${message} (pickle offset ${pos})`, { file: where });
  };
  // the bytes in [bufStart, bufStart + buf.length) are at hand; small reads index them without allocating
  let buf: Uint8Array = new Uint8Array(0);
  let bufStart = 0;
  const ensure = (count: number): number => {
    if (count < 0 || pos + count > source.length) fail(`truncated: wants ${count} more bytes`);
    if (pos < bufStart || pos + count > bufStart + buf.length) {
      buf = source.bytes(pos, Math.max(count, Math.min(WINDOW, source.length - pos)));
      bufStart = pos;
      if (buf.length < count) fail('truncated');
    }
    const at = pos - bufStart;
    pos += count;
    return at;
  };
  const take = (count: number): Uint8Array => {
    const at = ensure(count);
    return buf.subarray(at, at + count);
  };
  const u8 = (): number => {
    const at = ensure(1); // before reading `buf`: ensure may replace it
    return buf[at]!;
  };
  const u16 = (): number => {
    const at = ensure(2);
    return buf[at]! | (buf[at + 1]! << 8);
  };
  const i32 = (): number => {
    const at = ensure(4);
    return buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24);
  };
  const u32 = (): number => i32() >>> 0;
  const u64 = (): number => {
    const low = u32();
    const high = u32();
    const v = high * 2 ** 32 + low;
    if (v > source.length) fail(`length ${v} is beyond the end of the data`);
    return v;
  };
  const f64be = (): number => {
    const b = take(8);
    return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, false);
  };
  const line = (): string => {
    const chunk = source.bytes(pos, Math.min(MAX_LINE, source.length - pos));
    const nl = chunk.indexOf(0x0a);
    if (nl < 0) fail('unterminated text line');
    pos += nl + 1;
    return text.decode(chunk.subarray(0, nl));
  };
  const pop = (): PickleValue => {
    if (stack.length <= (marks.at(-1) ?? 0) && marks.length) fail('pops past a MARK');
    if (stack.length === 0) fail('pops an empty stack');
    return stack.pop()!;
  };
  const top = (): PickleValue => {
    if (stack.length === 0) fail('empty stack');
    return stack[stack.length - 1]!;
  };
  const popMark = (): PickleValue[] => {
    const mark = marks.pop();
    if (mark === undefined) fail('no MARK to pop to');
    return stack.splice(mark!);
  };
  const memoGet = (key: number): PickleValue => {
    if (!memo.has(key)) fail(`memo key ${key} was never stored`);
    return memo.get(key)!;
  };
  const global = (module: string, name: string): PickleGlobal => {
    const full = `${module}.${name}`;
    if (!seenGlobals.has(full)) {
      seenGlobals.add(full);
      globals.push(full);
    }
    return { kind: 'global', module, name };
  };
  const tupleItems = (v: PickleValue): PickleValue[] =>
    typeof v === 'object' && v !== null && (v.kind === 'tuple' || v.kind === 'list') ? v.items : [v];
  const call = (callable: PickleValue, args: PickleValue[]): PickleValue => {
    // an empty OrderedDict is the one call that is a container: read as a dict, still never called
    if (isGlobal(callable, 'collections', 'OrderedDict') && args.length === 0)
      return { kind: 'dict', type: 'collections.OrderedDict', entries: [] };
    return { kind: 'call', callable, args, state: undefined, items: [], appended: [] };
  };
  const setItems = (target: PickleValue, pairs: PickleValue[]): void => {
    if (pairs.length % 2) fail('SETITEMS with an odd number of values');
    const entries: Array<[PickleValue, PickleValue]> = [];
    for (let i = 0; i < pairs.length; i += 2) entries.push([pairs[i]!, pairs[i + 1]!]);
    if (typeof target === 'object' && target !== null && (target.kind === 'dict' || target.kind === 'call')) {
      const into = target.kind === 'dict' ? target.entries : target.items;
      for (const e of entries) into.push(e);
    } else fail('SETITEM on something that is not a dict');
  };
  const append = (target: PickleValue, values: PickleValue[]): void => {
    if (typeof target === 'object' && target !== null && target.kind === 'list')
      for (const v of values) target.items.push(v);
    else if (typeof target === 'object' && target !== null && target.kind === 'call')
      for (const v of values) target.appended.push(v);
    else if (typeof target === 'object' && target !== null && target.kind === 'set')
      for (const v of values) target.items.push(v);
    else fail('APPEND to something that is not a list');
  };
  const bytesValue = (b: Uint8Array): PickleBytes => ({ kind: 'bytes', bytes: b.slice() });

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('pickle protocol newer than 5');
        break;
      case 0x95: // FRAME: a length hint, the data follows inline
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length) fail(`STOP with ${stack.length} values on the stack`);
        return { value: stack[0]!, end: pos, globals, persistentIds };
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x30: // POP
        if (marks.length && marks.at(-1) === stack.length) marks.pop();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
      case 0x8b: {
        // LONG4
        const n = op === 0x8a ? u8() : i32();
        if (n < 0) fail('negative LONG4 length');
        const b = take(n);
        stack.push(n <= MAX_LONG_BYTES ? narrow(signedLittleEndian(b)) : `<${n}-byte integer>`);
        break;
      }
      case 0x49: {
        // INT (text); "00"/"01" are protocol 0's False/True
        const t = line();
        if (t === '00' || t === '01') stack.push(t === '01');
        else if (/^[-+]?\d{1,300}$/.test(t)) stack.push(narrow(BigInt(t)));
        else fail(`bad INT "${t.slice(0, 40)}"`);
        break;
      }
      case 0x4c: {
        // LONG (text)
        const t = line().replace(/L$/, '');
        if (!/^[-+]?\d{1,300}$/.test(t)) fail(`bad LONG "${t.slice(0, 40)}"`);
        stack.push(narrow(BigInt(t)));
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        stack.push(f64be());
        break;
      case 0x46: // FLOAT (text)
        stack.push(Number(line()));
        break;
      case 0x58: // BINUNICODE
        stack.push(text.decode(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text.decode(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text.decode(take(u64())));
        break;
      case 0x56: // UNICODE (raw-unicode-escape line)
        stack.push(line());
        break;
      case 0x54: // BINSTRING
        stack.push(text.decode(take(i32())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(text.decode(take(u8())));
        break;
      case 0x53: // STRING (quoted repr)
        stack.push(line().replace(/^(['"])(.*)\1$/, '$2'));
        break;
      case 0x42: // BINBYTES
        stack.push(bytesValue(take(u32())));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(bytesValue(take(u8())));
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        stack.push(bytesValue(take(u64())));
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push({ kind: 'tuple', items: [] });
        break;
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: {
        // TUPLE3
        const n = op - 0x84;
        if (stack.length - (marks.at(-1) ?? 0) < n) fail(`TUPLE${n} with too few values`);
        stack.push({ kind: 'tuple', items: stack.splice(stack.length - n) });
        break;
      }
      case 0x74: // TUPLE
        stack.push({ kind: 'tuple', items: popMark() });
        break;
      case 0x5d: // EMPTY_LIST
        stack.push({ kind: 'list', items: [] });
        break;
      case 0x6c: // LIST
        stack.push({ kind: 'list', items: popMark() });
        break;
      case 0x7d: // EMPTY_DICT
        stack.push({ kind: 'dict', type: 'dict', entries: [] });
        break;
      case 0x64: {
        // DICT
        const d: PickleDict = { kind: 'dict', type: 'dict', entries: [] };
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.push({ kind: 'set', items: [] });
        break;
      case 0x91: // FROZENSET
        stack.push({ kind: 'set', items: popMark() });
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        append(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x73: {
        // SETITEM
        const value = pop();
        const key = pop();
        setItems(top(), [key, value]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x63: {
        // GLOBAL
        const module = line();
        const name = line();
        stack.push(global(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const callable = pop();
        stack.push(call(callable, tupleItems(args)));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop();
        stack.push(call(cls, tupleItems(args)));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        stack.push(call(cls, [...tupleItems(args), kwargs]));
        break;
      }
      case 0x69: {
        // INST
        const module = line();
        const name = line();
        stack.push(call(global(module, name), popMark()));
        break;
      }
      case 0x6f: {
        // OBJ
        const items = popMark();
        if (items.length === 0) fail('OBJ without a class');
        stack.push(call(items[0]!, items.slice(1)));
        break;
      }
      case 0x62: {
        // BUILD: record the state; a dict's BUILD (OrderedDict attributes) is dropped
        const state = pop();
        const target = top();
        if (typeof target === 'object' && target !== null && target.kind === 'call') target.state = state;
        break;
      }
      case 0x51: {
        // BINPERSID
        const id = pop();
        persistentIds.push(id);
        stack.push({ kind: 'persistent', id });
        break;
      }
      case 0x50: {
        // PERSID
        const id = line();
        persistentIds.push(id);
        stack.push({ kind: 'persistent', id });
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x70: {
        // PUT
        const key = Number(line());
        if (!Number.isSafeInteger(key)) fail('bad PUT key');
        memo.set(key, top());
        break;
      }
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()));
        break;
      case 0x67: // GET
        stack.push(memoGet(Number(line())));
        break;
      case 0x82:
      case 0x83:
      case 0x84:
        throw new TureenError(
          'not_supported',
          `${where}: uses the pickle extension registry (EXT opcodes), which checkpoints never do`,
          { file: where },
        );
      case 0x97:
      case 0x98:
        throw new TureenError('not_supported', `${where}: uses out-of-band pickle buffers`, { file: where });
      default:
        fail(`unknown pickle opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}
