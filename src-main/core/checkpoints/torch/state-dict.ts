import { TureenError } from '../../../common/errors.js';
import type { DType } from '../../tensors/dtypes.js';
import { dtypeBytes } from '../../tensors/dtypes.js';
import type { PickleCall, PickleDict, PickleValue } from './pickle.js';

/** A storage a tensor views, as named by the pickle's persistent id. */
export interface StorageRef {
  key: string;
  dtype: DType;
  /** elements in the storage, as the pickle declares */
  numel: number;
}

/** A tensor recognised in the pickle: a strided view of one storage. */
export interface TensorRef {
  storage: StorageRef;
  /** in elements */
  storageOffset: number;
  shape: number[];
  /** in elements */
  stride: number[];
}

export interface FoundStateDict {
  /** where it was: null for the pickle's root, else the root key (`state_dict`, `state_dict_ema`, ...) */
  key: string | null;
  tensors: Array<{ name: string; tensor: TensorRef }>;
}

/** What a checkpoint pickle holds, read without calling anything. */
export interface CheckpointContents {
  weights: FoundStateDict | null;
  ema: FoundStateDict | null;
  /** scalar settings found beside the weights (`epoch`, `args.lr`, `hyper_parameters.lr`, ...) */
  metadata: Record<string, string>;
  /** the root's keys or type, for explaining a pickle that holds no model */
  rootDescription: string;
}

export const STATE_DICT_KEYS = ['state_dict', 'model_state_dict', 'model', 'module', 'net'];
export const EMA_KEYS = ['state_dict_ema', 'model_ema', 'ema'];

const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: 'f32',
  DoubleStorage: 'f64',
  HalfStorage: 'f16',
  BFloat16Storage: 'bf16',
  LongStorage: 'i64',
  IntStorage: 'i32',
  ShortStorage: 'i16',
  CharStorage: 'i8',
  ByteStorage: 'u8',
  BoolStorage: 'bool',
};

const MAX_EXPANDED_BYTES = 256 * 1024 * 1024;
const TENSOR_REBUILDERS = new Set(['_rebuild_tensor_v2', '_rebuild_tensor']);
const PARAMETER_REBUILDERS = new Set(['_rebuild_parameter', '_rebuild_parameter_with_state']);

/** Modules whose functions run commands, code, files or network: a pickle naming them is worth telling. */
const SUSPICIOUS_MODULES = new Set([
  'os',
  'posix',
  'nt',
  'subprocess',
  'commands',
  'sys',
  'shutil',
  'socket',
  'pty',
  'importlib',
  'runpy',
  'pickle',
  '_pickle',
  'marshal',
  'ctypes',
  'webbrowser',
  'code',
  'codeop',
  'multiprocessing',
  'pdb',
  'platform',
  'urllib',
  'requests',
  'http',
]);
const SUSPICIOUS_BUILTINS = new Set([
  'exec',
  'eval',
  'compile',
  'open',
  '__import__',
  'getattr',
  'setattr',
  'delattr',
  'globals',
  'locals',
  'vars',
  'input',
  'breakpoint',
]);

/** The globals of a pickle that could run code, files or network if it were unpickled. */
export function suspiciousGlobals(globals: readonly string[]): string[] {
  return globals.filter((g) => {
    const dot = g.lastIndexOf('.');
    const module = g.slice(0, dot);
    const name = g.slice(dot + 1);
    if (module === 'builtins' || module === '__builtin__') return SUSPICIOUS_BUILTINS.has(name);
    return SUSPICIOUS_MODULES.has(module.split('.')[0]!);
  });
}

type Obj = Exclude<PickleValue, null | boolean | number | bigint | string>;

function isObj(v: PickleValue): v is Obj {
  return typeof v === 'object' && v !== null;
}

function calleeName(v: PickleCall): { module: string; name: string } | null {
  return isObj(v.callable) && v.callable.kind === 'global' ? v.callable : null;
}

function isTensorCall(v: PickleValue): v is PickleCall {
  if (!isObj(v) || v.kind !== 'call') return false;
  const callee = calleeName(v);
  return (
    callee !== null &&
    callee.module === 'torch._utils' &&
    (TENSOR_REBUILDERS.has(callee.name) || PARAMETER_REBUILDERS.has(callee.name))
  );
}

function dictLike(v: PickleValue): Array<[PickleValue, PickleValue]> | null {
  if (!isObj(v)) return null;
  if (v.kind === 'dict') return v.entries;
  return null;
}

/** Last value wins, as in Python. */
function lookup(entries: Array<[PickleValue, PickleValue]>, key: string): PickleValue | undefined {
  let found: PickleValue | undefined;
  for (const [k, v] of entries) if (k === key) found = v;
  return found;
}

function intOf(v: PickleValue, what: string, fail: (m: string) => never): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(`${what} is ${String(v)}`);
  return v as number;
}

function tupleOf(v: PickleValue, what: string, fail: (m: string) => never): PickleValue[] {
  if (!isObj(v) || (v.kind !== 'tuple' && v.kind !== 'list')) fail(`${what} is not a tuple`);
  return (v as { items: PickleValue[] }).items;
}

/**
 * The storage a persistent id names: ('storage', torch.<Type>Storage, key, location, numel[, view]).
 * A legacy view (view_key, offset, size) is folded into the returned element offset.
 */
function resolveStorage(
  v: PickleValue,
  fail: (m: string) => never,
  unsupported: (m: string) => never,
): { storage: StorageRef; viewOffset: number } {
  if (!isObj(v) || v.kind !== 'persistent') fail('the tensor data is not a storage reference');
  const id = tupleOf((v as { id: PickleValue }).id, 'the storage reference', fail);
  if (id[0] !== 'storage' || id.length < 5) fail('the storage reference is not a torch storage');
  const type = id[1]!;
  if (!isObj(type) || type.kind !== 'global' || type.module !== 'torch')
    fail('the storage type is not torch.*Storage');
  const typeName = (type as { name: string }).name;
  const dtype = STORAGE_DTYPES[typeName];
  if (!dtype)
    unsupported(`storage type torch.${typeName} is not read (F32, F64, F16, BF16 and integers are)`);
  const key = id[2];
  if (
    typeof key !== 'string' ||
    key.length === 0 ||
    key.length > 256 ||
    key.includes('/') ||
    key.includes('\\')
  )
    fail(`storage key ${JSON.stringify(key)} is not a plain name`);
  const numel = intOf(id[4]!, 'the storage size', fail);
  let viewOffset = 0;
  const view = id[5];
  if (view !== undefined && view !== null) {
    const parts = tupleOf(view, 'the storage view', fail);
    viewOffset = intOf(parts[1] ?? null, 'the storage view offset', fail);
  }
  return { storage: { key: key as string, dtype: dtype!, numel }, viewOffset };
}

/** A tensor from `_rebuild_tensor_v2`/`_rebuild_tensor` (through `_rebuild_parameter`), checked to fit its storage. */
function resolveTensor(
  v: PickleCall,
  fail: (m: string) => never,
  unsupported: (m: string) => never,
): TensorRef {
  let call: PickleCall = v;
  for (let depth = 0; PARAMETER_REBUILDERS.has(calleeName(call)!.name); depth++) {
    const inner = call.args[0] ?? null;
    if (depth > 2 || !isTensorCall(inner)) fail('a parameter that does not wrap a tensor');
    call = inner as PickleCall;
  }
  const [storageArg, offsetArg, sizeArg, strideArg] = call.args;
  if (call.args.length < 4) fail(`${calleeName(call)!.name} with ${call.args.length} arguments`);
  const { storage, viewOffset } = resolveStorage(storageArg!, fail, unsupported);
  const storageOffset = intOf(offsetArg!, 'storage_offset', fail) + viewOffset;
  const shape = tupleOf(sizeArg!, 'size', fail).map((d) => intOf(d, 'a dimension', fail));
  const stride = tupleOf(strideArg!, 'stride', fail).map((d) => intOf(d, 'a stride', fail));
  if (shape.length !== stride.length) fail(`size has ${shape.length} dimensions, stride ${stride.length}`);
  if (shape.length > 32) fail(`${shape.length} dimensions`);
  let count = 1;
  let last = storageOffset;
  for (let i = 0; i < shape.length; i++) {
    count *= shape[i]!;
    last += Math.max(0, shape[i]! - 1) * stride[i]!;
    if (count > 2 ** 48 || last > 2 ** 48) fail(`size [${shape.join(', ')}] is absurd`);
  }
  if (count > 0 && last >= storage.numel)
    fail(
      `view (offset ${storageOffset}, size [${shape.join(', ')}], stride [${stride.join(', ')}]) reaches element ${last} of a ${storage.numel}-element storage`,
    );
  if (storage.numel * dtypeBytes(storage.dtype) > 2 ** 48)
    fail(`storage of ${storage.numel} elements is absurd`);
  // a view with more elements than its storage repeats elements (stride 0 or overlapping): expanding
  // it could take any amount of memory, so it is bounded
  if (count > storage.numel && count * dtypeBytes(storage.dtype) > MAX_EXPANDED_BYTES)
    fail(`a broadcast view of ${count} elements over a ${storage.numel}-element storage`);
  return { storage, storageOffset, shape, stride };
}

/** A dict whose keys are all strings and whose values are all tensors. */
function isStateDict(v: PickleValue | undefined): v is PickleDict {
  const entries = v === undefined ? null : dictLike(v);
  return (
    entries !== null &&
    entries.length > 0 &&
    entries.every(([k, value]) => typeof k === 'string' && isTensorCall(value))
  );
}

function resolveStateDict(dict: PickleDict, key: string | null, file: string): FoundStateDict {
  const tensors: FoundStateDict['tensors'] = [];
  const seen = new Set<string>();
  for (const [k, value] of dict.entries) {
    const name = k as string;
    const where = key === null ? `tensor "${name}"` : `${key}: tensor "${name}"`;
    const fail = (m: string): never => {
      throw new TureenError('bad_checkpoint', `${file}: ${where}: ${m}`, { file, tensor: name });
    };
    const unsupported = (m: string): never => {
      throw new TureenError('not_supported', `${file}: ${where}: ${m}`, { file, tensor: name });
    };
    if (seen.has(name)) fail('appears twice');
    seen.add(name);
    tensors.push({ name, tensor: resolveTensor(value as PickleCall, fail, unsupported) });
  }
  return { key, tensors };
}

function scalarText(v: PickleValue): string | null {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : null;
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return v.length <= 200 ? v : null;
  return null;
}

/** Entries of a dict, or of an object's recorded items/state (argparse.Namespace, AttributeDict). */
function settingsOf(v: PickleValue): Array<[PickleValue, PickleValue]> | null {
  if (!isObj(v)) return null;
  if (v.kind === 'dict') return v.entries;
  if (v.kind === 'call') {
    const state = v.state !== undefined ? dictLike(v.state) : null;
    return [...v.items, ...(state ?? [])];
  }
  return null;
}

const MAX_METADATA = 200;

/** Scalars of the root and of its dict-like values one level down, except weights and optimizer states. */
function metadataOf(
  root: Array<[PickleValue, PickleValue]>,
  skip: ReadonlySet<string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  const put = (key: string, v: PickleValue) => {
    const t = scalarText(v);
    if (t !== null && Object.keys(out).length < MAX_METADATA) out[key] = t;
  };
  for (const [k, v] of root) {
    if (typeof k !== 'string' || skip.has(k) || /optim|scheduler|callbacks|loops/i.test(k)) continue;
    put(k, v);
    const inner = settingsOf(v);
    if (inner && !isStateDict(v))
      for (const [ik, iv] of inner) if (typeof ik === 'string') put(`${k}.${ik}`, iv);
  }
  return out;
}

function describe(root: PickleValue): string {
  if (!isObj(root)) return `a ${root === null ? 'None' : typeof root}`;
  if (root.kind === 'dict') {
    const keys = root.entries
      .slice(0, 8)
      .map(([k]) => (typeof k === 'string' ? k : String(scalarText(k) ?? '?')));
    return `a dict with keys ${keys.join(', ')}${root.entries.length > 8 ? ', ...' : ''}`;
  }
  if (root.kind === 'call') {
    const callee = calleeName(root);
    return callee ? `a pickled ${callee.module}.${callee.name} object` : 'a pickled object';
  }
  return `a ${root.kind}`;
}

/**
 * Find the weights in a checkpoint pickle: the root itself when it is a state dict, else the first of
 * STATE_DICT_KEYS holding one; EMA weights under EMA_KEYS.
 */
export function findStateDicts(root: PickleValue, file: string): CheckpointContents {
  if (isStateDict(root)) {
    return {
      weights: resolveStateDict(root, null, file),
      ema: null,
      metadata: {},
      rootDescription: 'a state dict',
    };
  }
  const entries = dictLike(root);
  if (!entries) return { weights: null, ema: null, metadata: {}, rootDescription: describe(root) };
  const pick = (keys: readonly string[]): FoundStateDict | null => {
    for (const key of keys) {
      const value = lookup(entries, key);
      if (isStateDict(value)) return resolveStateDict(value, key, file);
    }
    return null;
  };
  const weights = pick(STATE_DICT_KEYS);
  const ema = pick(EMA_KEYS);
  const skip = new Set([...STATE_DICT_KEYS, ...EMA_KEYS]);
  return { weights, ema, metadata: metadataOf(entries, skip), rootDescription: describe(root) };
}

/** Settings held by a pickled object or dict (HF's training_args.bin): its scalar fields. */
export function settingsIn(root: PickleValue): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of settingsOf(root) ?? []) {
    const t = typeof k === 'string' ? scalarText(v) : null;
    if (t !== null && Object.keys(out).length < MAX_METADATA) out[k as string] = t;
  }
  return out;
}

/**
 * The dtype of every storage the pickle references (tensors anywhere: weights, optimizer state, ...),
 * by storage key; torch's legacy format needs them all to step over the storages that follow the pickle.
 */
export function storageDTypes(persistentIds: readonly PickleValue[], file: string): Map<string, DType> {
  const out = new Map<string, DType>();
  const fail = (m: string): never => {
    throw new TureenError('bad_checkpoint', `${file}: ${m}`, { file });
  };
  const unsupported = (m: string): never => {
    throw new TureenError('not_supported', `${file}: ${m}`, { file });
  };
  for (const id of persistentIds) {
    // legacy whole-module pickles also reference ('module', class, source); only storages matter here
    if (!isObj(id) || id.kind !== 'tuple' || id.items[0] !== 'storage') continue;
    const { storage } = resolveStorage({ kind: 'persistent', id }, fail, unsupported);
    const known = out.get(storage.key);
    if (known && known !== storage.dtype)
      fail(`storage "${storage.key}" is referenced as ${known} and ${storage.dtype}`);
    out.set(storage.key, storage.dtype);
  }
  return out;
}
