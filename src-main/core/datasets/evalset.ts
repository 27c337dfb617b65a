import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { TureenError } from '../../common/errors.js';
import { openRegularFile, readAt } from '../checkpoints/read-range.js';
import type { SafetensorsEntry, SafetensorsHeader } from '../checkpoints/safetensors.js';
import { readSafetensorsHeader } from '../checkpoints/safetensors.js';
import type { DType } from '../tensors/dtypes.js';
import { dtypeBytes, toSafetensorsDType } from '../tensors/dtypes.js';
import type { InputTransform } from './transform.js';
import { parseTransforms } from './transform.js';
import { metadataJson } from './metadata-json.js';
import { canonicalJson } from '../../common/canonical-json.js';

export const EVAL_ROLES = ['holdout', 'id', 'shift'] as const;
export type EvalRole = (typeof EVAL_ROLES)[number];

/** One model input as stored: where its rows are in the file (never read whole, see batch()). */
export interface EvalInput {
  name: string;
  dtype: DType;
  /** full shape, first axis N */
  shape: number[];
  /** absolute offset of the tensor's bytes in the file */
  offset: number;
  byteLength: number;
  /** bytes of one example (byteLength / N) */
  rowBytes: number;
}

/** Rows [start, start + count) of every input, as stored (shape's first axis is count). */
export interface EvalBatch {
  start: number;
  count: number;
  inputs: Array<{ name: string; dtype: DType; shape: number[]; bytes: Uint8Array }>;
}

/** What the file looked like when it was hashed: a later read of another size, mtime or inode is refused. */
export interface FileStamp {
  size: number;
  mtimeMs: number;
  ino: number;
}

/**
 * An eval set on disk: a source with `n`, labels, a hash and batch(start, count). Only the labels are held in
 * memory; inputs are read by file offset, a batch at a time, so a set larger than memory can be evaluated.
 */
export interface EvalSet {
  file: string;
  name: string;
  /** role written in the file; a role set in the app (SQLite) wins, see the evalsets service */
  fileRole: EvalRole | null;
  n: number;
  inputs: EvalInput[];
  labels: Int32Array;
  transforms: Record<string, InputTransform>;
  classSubset: number[] | null;
  /** sha256 over tensors, transform and class subset (not name or role) */
  hash: string;
  bytes: number;
  stamp: FileStamp;
  /** Read rows [start, start + count) of every input; refused if the file changed since it was hashed. */
  batch(start: number, count: number): EvalBatch;
}

const LABEL_DTYPES = new Set<DType>(['u8', 'i8', 'i16', 'i32', 'i64', 'u16', 'u32', 'u64']);

function readLabels(file: string, tensor: SafetensorsEntry, data: Uint8Array): Int32Array {
  if (!LABEL_DTYPES.has(tensor.dtype) || tensor.shape.length !== 1) {
    throw new TureenError(
      'bad_evalset',
      `${file}: "labels" must be a 1-D integer tensor, found ${tensor.dtype} ${JSON.stringify(tensor.shape)}`,
      { file, tensor: 'labels' },
    );
  }
  const n = tensor.shape[0]!;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out = new Int32Array(n);
  const size = dtypeBytes(tensor.dtype);
  for (let i = 0; i < n; i++) {
    const o = i * size;
    let v: number;
    switch (tensor.dtype) {
      case 'u8':
        v = view.getUint8(o);
        break;
      case 'i8':
        v = view.getInt8(o);
        break;
      case 'i16':
        v = view.getInt16(o, true);
        break;
      case 'u16':
        v = view.getUint16(o, true);
        break;
      case 'i32':
        v = view.getInt32(o, true);
        break;
      case 'u32':
        v = view.getUint32(o, true);
        break;
      default:
        v = Number(tensor.dtype === 'i64' ? view.getBigInt64(o, true) : view.getBigUint64(o, true));
    }
    if (v < 0 || !Number.isSafeInteger(v) || v > 0x7fffffff) {
      throw new TureenError('bad_evalset', `${file}: label ${v} at index ${i} is negative or too large`, {
        file,
        tensor: 'labels',
        index: i,
      });
    }
    out[i] = v;
  }
  return out;
}

function parseRole(file: string, raw: string | undefined): EvalRole | null {
  if (raw === undefined || raw === '') return null;
  if (!(EVAL_ROLES as readonly string[]).includes(raw)) {
    throw new TureenError(
      'bad_evalset',
      `${file}: tureen.role is "${raw}"; use one of ${EVAL_ROLES.join(', ')}`,
      { file },
    );
  }
  return raw as EvalRole;
}

function parseClassSubset(file: string, raw: string | undefined): number[] | null {
  const value = metadataJson(file, 'tureen.class_subset', raw, 'write a list of logit indices');
  if (value === undefined) return null;
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => Number.isInteger(v) && v >= 0)) {
    throw new TureenError(
      'bad_evalset',
      `${file}: tureen.class_subset must be a non-empty list of logit indices`,
      { file },
    );
  }
  if (new Set(value).size !== value.length) {
    throw new TureenError('bad_evalset', `${file}: tureen.class_subset lists an index twice`, { file });
  }
  return value as number[];
}

/**
 * A safetensors file whose 1-D integer `labels` of length N sits beside tensors with first axis N is an eval
 * set, not a state dict: the one rule discovery, the checkpoint reader and the eval-set reader share.
 */
export function looksLikeEvalSet(header: Pick<SafetensorsHeader, 'tensors'>): boolean {
  const labels = header.tensors.find((t) => t.name === 'labels');
  if (!labels || labels.shape.length !== 1 || !LABEL_DTYPES.has(labels.dtype)) return false;
  const others = header.tensors.filter((t) => t !== labels);
  return others.length > 0 && others.every((t) => t.shape[0] === labels.shape[0]);
}

/** Everything about an eval set but its hash: header, labels, transforms, where each input's rows are. */
export interface EvalSetLayout {
  file: string;
  meta: Record<string, string>;
  n: number;
  inputs: EvalInput[];
  labelTensor: SafetensorsEntry;
  /** the labels as stored (they are hashed in this form) */
  labelBytes: Uint8Array;
  labels: Int32Array;
  transforms: Record<string, InputTransform>;
  classSubset: number[] | null;
  bytes: number;
}

/** An open eval-set file: the fd, its layout, and the stamp every read is checked against. */
export interface OpenEvalSet {
  fd: number;
  layout: EvalSetLayout;
  stamp: FileStamp;
}

function stampOf(stat: fs.Stats): FileStamp {
  return { size: stat.size, mtimeMs: stat.mtimeMs, ino: stat.ino };
}

export function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;
}

/**
 * Open an eval set and read its layout: the header and the labels, nothing of the inputs. The caller closes
 * `fd` (fs.closeSync).
 */
export function openEvalSet(file: string): OpenEvalSet {
  const absolute = path.resolve(file);
  const header = readSafetensorsHeader(absolute, 'bad_evalset');
  const { fd } = openRegularFile(absolute, 'bad_evalset');
  try {
    const stamp = stampOf(fs.fstatSync(fd));
    if (stamp.size !== header.bytes) {
      throw new TureenError('io_error', `${absolute} changed while it was read; read it again`, {
        file: absolute,
      });
    }
    return { fd, layout: layoutOf(absolute, header, fd), stamp };
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
}

function layoutOf(absolute: string, layout: SafetensorsHeader, fd: number): EvalSetLayout {
  const labelTensor = layout.tensors.find((t) => t.name === 'labels');
  if (!labelTensor) {
    throw new TureenError(
      'bad_evalset',
      `${absolute} has no "labels" tensor: an eval set holds one tensor per model input plus labels (see docs/cli.md)`,
      { file: absolute },
    );
  }
  const labelBytes = new Uint8Array(readAt(fd, labelTensor.byteLength, labelTensor.offset));
  if (labelBytes.byteLength !== labelTensor.byteLength) {
    throw new TureenError('io_error', `${absolute} ended early; did it change while reading?`, {
      file: absolute,
    });
  }
  const labels = readLabels(absolute, labelTensor, labelBytes);
  const n = labels.length;
  if (n === 0) {
    throw new TureenError(
      'bad_evalset',
      `${absolute} holds 0 examples ("labels" is empty): no metric is defined on an empty set`,
      { file: absolute, tensor: 'labels' },
    );
  }
  const inputs: EvalInput[] = layout.tensors
    .filter((t) => t.name !== 'labels')
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((t) => ({
      name: t.name,
      dtype: t.dtype,
      shape: t.shape,
      offset: t.offset,
      byteLength: t.byteLength,
      rowBytes: t.byteLength / n,
    }));
  if (inputs.length === 0) {
    throw new TureenError('bad_evalset', `${absolute} holds only labels; add one tensor per model input`, {
      file: absolute,
    });
  }
  for (const input of inputs) {
    if (input.shape[0] !== n) {
      throw new TureenError(
        'bad_evalset',
        `${absolute}: input "${input.name}" has ${input.shape[0] ?? 0} rows but labels has ${n}; the first axis must be N for every tensor`,
        { file: absolute, tensor: input.name },
      );
    }
  }
  const meta = layout.metadata;
  const transforms = parseTransforms(absolute, meta['tureen.transform'], inputs);
  const classSubset = parseClassSubset(absolute, meta['tureen.class_subset']);
  if (classSubset) {
    const bad = labels.findIndex((l) => l >= classSubset.length);
    if (bad >= 0) {
      throw new TureenError(
        'bad_evalset',
        `${absolute}: label ${labels[bad]} at index ${bad} is outside tureen.class_subset (${classSubset.length} classes); labels index into the subset`,
        { file: absolute, tensor: 'labels', index: bad },
      );
    }
  }
  return {
    file: absolute,
    meta,
    n,
    inputs,
    labelTensor,
    labelBytes,
    labels,
    transforms,
    classSubset,
    bytes: layout.bytes,
  };
}

/** Bytes per read while hashing: large enough for throughput, small enough to stay out of the way. */
const HASH_CHUNK = 8 * 1024 * 1024;

/** Read [offset, offset + length) of an open file in chunks, in order. */
export function readChunks(
  fd: number,
  offset: number,
  length: number,
  onChunk: (bytes: Uint8Array) => void,
  file: string,
): void {
  const buffer = new Uint8Array(Math.min(HASH_CHUNK, Math.max(length, 1)));
  for (let done = 0; done < length;) {
    const want = Math.min(buffer.byteLength, length - done);
    const got = fs.readSync(fd, buffer, 0, want, offset + done);
    if (got === 0)
      throw new TureenError('io_error', `${file} ended early; did it change while reading?`, { file });
    onChunk(buffer.subarray(0, got));
    done += got;
  }
}

/**
 * Read one input's rows [start, start + count) into `into` (or a new array), checking that the open file is
 * still the one that was hashed.
 */
export function readRows(
  open: OpenEvalSet,
  input: EvalInput,
  start: number,
  count: number,
  into?: Uint8Array,
): Uint8Array {
  const length = count * input.rowBytes;
  const target = into ? into.subarray(0, length) : new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const got = fs.readSync(
      open.fd,
      target,
      done,
      Math.min(length - done, 256 * 1024 * 1024),
      input.offset + start * input.rowBytes + done,
    );
    if (got === 0) break;
    done += got;
  }
  if (done !== length)
    throw new TureenError('io_error', `${open.layout.file} ended early; did it change while reading?`, {
      file: open.layout.file,
    });
  return target;
}

function checkRange(set: { n: number; file: string }, start: number, count: number): void {
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > set.n)
    throw new TureenError(
      'internal',
      `rows [${start}, ${start + count}) are outside ${set.file}'s ${set.n} examples`,
    );
}

/** Open the eval set's file again, refusing it when it is no longer the file that was hashed. */
export function reopenEvalSet(set: Pick<EvalSet, 'file' | 'stamp'>): OpenEvalSet {
  const open = openEvalSet(set.file);
  if (!sameStamp(open.stamp, set.stamp)) {
    fs.closeSync(open.fd);
    throw new TureenError('bad_evalset', `${set.file} changed since it was read; run again`, {
      file: set.file,
    });
  }
  return open;
}

/** Rows of every input from an open file; shapes have count as their first axis. */
export function batchOf(open: OpenEvalSet, start: number, count: number): EvalBatch {
  checkRange(open.layout, start, count);
  return {
    start,
    count,
    inputs: open.layout.inputs.map((input) => ({
      name: input.name,
      dtype: input.dtype,
      shape: [count, ...input.shape.slice(1)],
      bytes: readRows(open, input, start, count),
    })),
  };
}

/**
 * Visit every example in order, `maxBytes` of stored rows at a time (at least one example): the streaming
 * loop behind leakage hashes and anything else that needs each example's bytes.
 */
export function forEachBatch(
  set: Pick<EvalSet, 'file' | 'stamp' | 'n'>,
  maxBytes: number,
  visit: (batch: EvalBatch) => void,
): void {
  const open = reopenEvalSet(set);
  try {
    const rowBytes = open.layout.inputs.reduce((a, i) => a + i.rowBytes, 0);
    const rows = Math.max(1, Math.floor(maxBytes / Math.max(rowBytes, 1)));
    for (let start = 0; start < set.n; start += rows)
      visit(batchOf(open, start, Math.min(rows, set.n - start)));
  } finally {
    fs.closeSync(open.fd);
  }
}

/** The set of an open file and its hash, refused when the file changed while it was hashed. */
function evalSetOf(open: OpenEvalSet, hash: string): EvalSet {
  const { layout, stamp } = open;
  if (!sameStamp(stampOf(fs.fstatSync(open.fd)), stamp))
    throw new TureenError('io_error', `${layout.file} changed while it was read; read it again`, {
      file: layout.file,
    });
  const set: EvalSet = {
    file: layout.file,
    name: layout.meta['tureen.name'] || path.basename(layout.file).replace(/\.safetensors$/i, ''),
    fileRole: parseRole(layout.file, layout.meta['tureen.role']),
    n: layout.n,
    inputs: layout.inputs,
    labels: layout.labels,
    transforms: layout.transforms,
    classSubset: layout.classSubset,
    hash,
    bytes: layout.bytes,
    stamp,
    batch(start: number, count: number): EvalBatch {
      checkRange(set, start, count);
      const again = reopenEvalSet(set);
      try {
        return batchOf(again, start, count);
      } finally {
        fs.closeSync(again.fd);
      }
    },
  };
  return set;
}

/** Read an eval set: its layout and labels, and its hash over the whole file in 8 MiB reads. */
export function readEvalSet(file: string): EvalSet {
  const open = openEvalSet(file);
  try {
    const { layout } = open;
    const digest = new EvalSetDigest(layout);
    for (const input of layout.inputs)
      readChunks(open.fd, input.offset, input.byteLength, (bytes) => digest.update(bytes), layout.file);
    digest.update(layout.labelBytes);
    return evalSetOf(open, digest.digest());
  } finally {
    fs.closeSync(open.fd);
  }
}

const readAsync = promisify(fs.read);

/** Fill `buffer` from `position` with asynchronous reads; fewer bytes only when the file ends first. */
async function readFully(fd: number, buffer: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < buffer.byteLength) {
    const { bytesRead } = await readAsync(fd, buffer, done, buffer.byteLength - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/**
 * readEvalSet for a thread that serves requests (Electron's main process): the same set and hash, with the
 * file read asynchronously, so the thread answers other requests between two 8 MiB chunks instead of being
 * held for the seconds a multi-GB set takes to hash.
 */
export async function readEvalSetAsync(file: string): Promise<EvalSet> {
  const open = openEvalSet(file);
  try {
    const { layout } = open;
    const digest = new EvalSetDigest(layout);
    const buffer = new Uint8Array(HASH_CHUNK);
    for (const input of layout.inputs) {
      for (let done = 0; done < input.byteLength;) {
        const chunk = buffer.subarray(0, Math.min(HASH_CHUNK, input.byteLength - done));
        if ((await readFully(open.fd, chunk, input.offset + done)) !== chunk.byteLength)
          throw new TureenError('io_error', `${layout.file} ended early; did it change while reading?`, {
            file: layout.file,
          });
        digest.update(chunk);
        done += chunk.byteLength;
      }
    }
    digest.update(layout.labelBytes);
    return evalSetOf(open, digest.digest());
  } finally {
    fs.closeSync(open.fd);
  }
}

/** forEachBatch with asynchronous reads (see readEvalSetAsync): the thread is free between two batches. */
export async function forEachBatchAsync(
  set: Pick<EvalSet, 'file' | 'stamp' | 'n'>,
  maxBytes: number,
  visit: (batch: EvalBatch) => void,
): Promise<void> {
  const open = reopenEvalSet(set);
  try {
    const { inputs } = open.layout;
    const rowBytes = inputs.reduce((a, i) => a + i.rowBytes, 0);
    const rows = Math.max(1, Math.floor(maxBytes / Math.max(rowBytes, 1)));
    for (let start = 0; start < set.n; start += rows) {
      const count = Math.min(rows, set.n - start);
      const batch: EvalBatch = { start, count, inputs: [] };
      for (const input of inputs) {
        const bytes = new Uint8Array(count * input.rowBytes);
        if ((await readFully(open.fd, bytes, input.offset + start * input.rowBytes)) !== bytes.byteLength)
          throw new TureenError('io_error', `${set.file} ended early; did it change while reading?`, {
            file: set.file,
          });
        batch.inputs.push({
          name: input.name,
          dtype: input.dtype,
          shape: [count, ...input.shape.slice(1)],
          bytes,
        });
      }
      visit(batch);
    }
    if (!sameStamp(stampOf(fs.fstatSync(open.fd)), set.stamp))
      throw new TureenError('bad_evalset', `${set.file} changed since it was read; run again`, {
        file: set.file,
      });
  } finally {
    fs.closeSync(open.fd);
  }
}

/** Bump when anything that changes a model's input joins the hash: old cached logits then never match. */
export const EVALSET_HASH_SCHEME = 'tureen/evalset-hash@2';

interface HashedTensor {
  name: string;
  dtype: DType;
  shape: readonly number[];
  byteLength: number;
}

function field(hash: Hash, text: string): void {
  hash.update(`${Buffer.byteLength(text)}:${text}`);
}

function tensorField(hash: Hash, t: HashedTensor): void {
  // dtypes are hashed in the file's own spelling (F32, U8): hashes of existing sets never change
  field(
    hash,
    canonicalJson({ name: t.name, dtype: toSafetensorsDType(t.dtype), shape: t.shape, bytes: t.byteLength }),
  );
}

/**
 * The eval-set hash (EVALSET_HASH_SCHEME), fed in order: every input's bytes (inputs sorted by name), then the
 * labels' bytes, in chunks of any size. sha256 over everything that changes what the model sees or how it is
 * scored: every input's name, dtype, shape and bytes, the labels, the normalised transform per input, and the
 * class subset. Name and role are left out (renaming a file keeps its cached logits). Fields are
 * length-prefixed or canonical JSON, so no two different eval sets share a serialisation.
 */
export class EvalSetDigest {
  private readonly hash = createHash('sha256');
  private readonly tensors: HashedTensor[];
  private readonly tail: string;
  private index = -1;
  private left = 0;

  constructor(layout: {
    inputs: readonly HashedTensor[];
    labelTensor: Omit<HashedTensor, 'name'>;
    transforms: Record<string, InputTransform>;
    classSubset: readonly number[] | null;
  }) {
    this.tensors = [
      ...layout.inputs,
      {
        name: 'labels',
        dtype: layout.labelTensor.dtype,
        shape: layout.labelTensor.shape,
        byteLength: layout.labelTensor.byteLength,
      },
    ];
    this.tail = canonicalJson({
      inputs: layout.inputs.map((i) => i.name),
      transform: layout.transforms,
      classSubset: layout.classSubset,
    });
    field(this.hash, EVALSET_HASH_SCHEME);
    this.advance();
  }

  /** Move to the next tensor whose bytes are still to come (tensors of 0 bytes are passed over). */
  private advance(): void {
    while (this.left === 0 && this.index + 1 < this.tensors.length) {
      const next = this.tensors[++this.index]!;
      tensorField(this.hash, next);
      this.left = next.byteLength;
    }
  }

  /** The next bytes in file order; a chunk may span the end of one tensor and the start of the next. */
  update(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.byteLength) {
      if (this.left === 0)
        throw new TureenError('internal', 'eval-set hash fed more bytes than the tensors hold');
      const take = Math.min(this.left, bytes.byteLength - at);
      this.hash.update(at === 0 && take === bytes.byteLength ? bytes : bytes.subarray(at, at + take));
      at += take;
      this.left -= take;
      this.advance();
    }
  }

  digest(): string {
    if (this.left !== 0 || this.index + 1 < this.tensors.length)
      throw new TureenError('internal', 'eval-set hash finished before every tensor was fed');
    field(this.hash, this.tail);
    return this.hash.digest('hex');
  }
}

/** The eval-set hash over whole tensors in memory: the form the streaming digest must equal (tests compare). */
export function evalSetHash(
  inputs: readonly { name: string; dtype: DType; shape: number[]; bytes: Uint8Array }[],
  labels: { dtype: DType; shape: number[]; bytes: Uint8Array },
  transforms: Record<string, InputTransform>,
  classSubset: readonly number[] | null,
): string {
  const digest = new EvalSetDigest({
    inputs: inputs.map((i) => ({ ...i, byteLength: i.bytes.byteLength })),
    labelTensor: { ...labels, byteLength: labels.bytes.byteLength },
    transforms,
    classSubset,
  });
  for (const t of [...inputs, labels]) digest.update(t.bytes);
  return digest.digest();
}
