import fs from 'node:fs';
import { TureenError } from '../../../common/errors.js';
import { openRegularFile } from '../read-range.js';
import type { DType } from '../../tensors/dtypes.js';
import { dtypeBytes } from '../../tensors/dtypes.js';
import type { ParsedPickle, PickleSource, PickleValue } from './pickle.js';
import { memorySource, readPickle } from './pickle.js';
import type { CheckpointContents, TensorRef } from './state-dict.js';
import { findStateDicts, settingsIn, storageDTypes, suspiciousGlobals } from './state-dict.js';
import type { ZipEntry } from './zip.js';
import { looksLikeZip, readExactly, readZipDirectory, readZipEntry } from './zip.js';

/** One storage's bytes in the checkpoint file. */
export interface TorchStorage {
  key: string;
  byteLength: number;
  /** file offset of the raw little-endian bytes, or null when they must be inflated first */
  fileOffset: number | null;
  /** the storage's bytes (read, or inflated, on each call) */
  read(): Uint8Array;
}

export interface TorchTensor {
  name: string;
  dtype: DType;
  shape: number[];
  /** bytes of the tensor itself (elements × item size), not of its storage */
  byteLength: number;
  view: TensorRef;
  storage: TorchStorage;
}

export interface TorchStateDict {
  /** null: the pickle's root; else the root key it was found under */
  key: string | null;
  tensors: TorchTensor[];
}

export interface TorchCheckpoint {
  file: string;
  format: 'zip' | 'legacy';
  /** every global the pickle names (`module.name`) */
  globals: string[];
  /** the globals that could run code if the pickle were unpickled (`posix.system`, `builtins.exec`, ...) */
  suspicious: string[];
  weights: TorchStateDict | null;
  ema: TorchStateDict | null;
  metadata: Record<string, string>;
  rootDescription: string;
}

/** data.pkl holds names and shapes only (about 100 bytes a tensor); this bounds a hostile one. */
const MAX_PICKLE_BYTES = 256 * 1024 * 1024;
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;
const WINDOW = 1024 * 1024;

export const RESAVE_HINT =
  "re-save it once with PyTorch >= 1.6: torch.save(torch.load(f, map_location='cpu'), f)";

function bad(file: string, message: string, extra: Record<string, unknown> = {}): TureenError {
  return new TureenError('bad_checkpoint', `${file}: ${message}`, { file, ...extra });
}

/** A file read through a 1 MiB window: the legacy format's pickles are at the start of a large file. */
function fileSource(fd: number, size: number): PickleSource {
  let start = 0;
  let window: Buffer = Buffer.alloc(0);
  return {
    length: size,
    bytes(position, count) {
      const end = Math.min(size, position + count);
      if (position >= start && end <= start + window.length)
        return window.subarray(position - start, end - start);
      if (end - position > WINDOW) return readRaw(fd, position, end - position);
      start = position;
      window = readRaw(fd, position, Math.min(WINDOW, size - position));
      return window.subarray(0, end - position);
    },
  };
}

function readRaw(fd: number, position: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, out, done, length - done, position + done);
    if (n === 0) return out.subarray(0, done);
    done += n;
  }
  return out;
}

interface RawCheckpoint {
  format: 'zip' | 'legacy';
  parsed: ParsedPickle;
  /** resolves a storage key to where its bytes are */
  storage(key: string): TorchStorage | undefined;
}

function openZip(file: string, size: number): RawCheckpoint {
  const entries = readZipDirectory(file);
  const pickles = entries.filter((e) => /^[^/]+\/data\.pkl$/.test(e.name) || e.name === 'data.pkl');
  if (pickles.length !== 1) {
    throw bad(
      file,
      pickles.length
        ? 'holds several data.pkl records'
        : 'is a ZIP archive without data.pkl: not a torch.save checkpoint (a TorchScript or other archive?)',
    );
  }
  const pkl = pickles[0]!;
  const prefix = pkl.name.slice(0, pkl.name.length - 'data.pkl'.length);
  const byName = new Map(entries.map((e) => [e.name, e]));
  const byteorder = byName.get(`${prefix}byteorder`);
  if (byteorder) {
    const order = readZipEntry(file, byteorder, 16).toString('utf8').trim();
    if (order !== 'little')
      throw new TureenError(
        'not_supported',
        `${file}: saved with ${order}-endian byte order; Tureen reads little-endian checkpoints (load and re-save it on a little-endian machine)`,
        { file },
      );
  }
  const data = readZipEntry(file, pkl, MAX_PICKLE_BYTES);
  const parsed = readPickle(memorySource(data), `${file} (${pkl.name})`);
  const storage = (key: string): TorchStorage | undefined => {
    const entry: ZipEntry | undefined = byName.get(`${prefix}data/${key}`);
    if (!entry) return undefined;
    return {
      key,
      byteLength: entry.uncompressedSize,
      fileOffset: entry.method === 0 ? entry.dataOffset : null,
      read: () => readZipEntry(file, entry, size * 1032 + 1024),
    };
  };
  return { format: 'zip', parsed, storage };
}

function openLegacy(file: string, size: number): RawCheckpoint {
  const { fd } = openRegularFile(file, 'bad_checkpoint');
  try {
    const source = fileSource(fd, size);
    let magic: ParsedPickle;
    try {
      magic = readPickle(source, file);
    } catch (error) {
      if (error instanceof TureenError && error.code === 'bad_checkpoint')
        throw bad(file, 'is neither a ZIP archive nor a PyTorch legacy checkpoint');
      throw error;
    }
    if (magic.value !== LEGACY_MAGIC) {
      const suspicious = suspiciousGlobals(magic.globals);
      throw bad(
        file,
        `is a pickle but not a PyTorch checkpoint (no torch magic number)${suspicious.length ? `; it names ${suspicious.join(', ')}, so it would run code if unpickled (Tureen never does)` : ''}`,
        { suspicious },
      );
    }
    const version = readPickle(source, file, magic.end);
    if (version.value !== LEGACY_PROTOCOL)
      throw bad(file, `legacy format protocol ${String(version.value)} (expected ${LEGACY_PROTOCOL})`);
    const sysInfo = readPickle(source, file, version.end);
    const info = sysInfo.value;
    const littleEndian =
      typeof info === 'object' && info !== null && info.kind === 'dict'
        ? info.entries.find(([k]) => k === 'little_endian')?.[1]
        : undefined;
    if (littleEndian === false)
      throw new TureenError(
        'not_supported',
        `${file}: saved on a big-endian machine; load and re-save it on a little-endian one`,
        { file },
      );
    const main = readPickle(source, file, sysInfo.end);
    const keysPickle = readPickle(source, file, main.end);
    const keys = keysPickle.value;
    if (
      typeof keys !== 'object' ||
      keys === null ||
      keys.kind !== 'list' ||
      !keys.items.every((k) => typeof k === 'string')
    )
      throw bad(file, 'the legacy storage key list is damaged');
    const dtypes = storageDTypes(main.persistentIds, file);
    const located = new Map<string, TorchStorage>();
    let offset = keysPickle.end;
    for (const key of keys.items as string[]) {
      const dtype = dtypes.get(key);
      if (!dtype) throw bad(file, `storage "${key}" is listed but no tensor references it`);
      if (offset + 8 > size)
        throw bad(file, `storage "${key}" starts beyond the end of the file (truncated?)`);
      const numel = readExactly(fd, file, offset, 8).readBigUInt64LE(0);
      const byteLength = Number(numel) * dtypeBytes(dtype);
      const dataOffset = offset + 8;
      if (numel > BigInt(size) || dataOffset + byteLength > size)
        throw bad(file, `storage "${key}" (${numel} elements) runs past the end of the file (truncated?)`);
      located.set(key, {
        key,
        byteLength,
        fileOffset: dataOffset,
        read: () => {
          const rfd = openRegularFile(file, 'bad_checkpoint').fd;
          try {
            return readExactly(rfd, file, dataOffset, byteLength);
          } finally {
            fs.closeSync(rfd);
          }
        },
      });
      offset = dataOffset + byteLength;
    }
    return { format: 'legacy', parsed: main, storage: (key) => located.get(key) };
  } finally {
    fs.closeSync(fd);
  }
}

function headOf(file: string): { size: number; head: Buffer } {
  // a FIFO or device would block or never end: only regular files are opened
  const { fd, size } = openRegularFile(file, 'bad_checkpoint');
  try {
    return { size, head: readRaw(fd, 0, Math.min(size, 512)) };
  } finally {
    fs.closeSync(fd);
  }
}

function openRaw(file: string): RawCheckpoint {
  const { size, head } = headOf(file);
  if (size === 0) throw bad(file, 'is empty');
  if (looksLikeZip(head)) return openZip(file, size);
  if (head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar')
    throw new TureenError(
      'not_supported',
      `${file}: a PyTorch tar checkpoint (before 0.4) is not read; ${RESAVE_HINT}`,
      { file },
    );
  if (head[0] !== 0x80) throw bad(file, 'is neither a ZIP archive nor a pickle: not a PyTorch checkpoint');
  return openLegacy(file, size);
}

function attach(
  found: CheckpointContents['weights'],
  raw: RawCheckpoint,
  file: string,
): TorchStateDict | null {
  if (!found) return null;
  const tensors = found.tensors.map(({ name, tensor }) => {
    const storage = raw.storage(tensor.storage.key);
    const where = `${found.key === null ? '' : `${found.key}: `}tensor "${name}"`;
    if (!storage)
      throw bad(file, `${where}: its storage "${tensor.storage.key}" is missing from the archive`, {
        tensor: name,
      });
    const item = dtypeBytes(tensor.storage.dtype);
    if (storage.byteLength < tensor.storage.numel * item)
      throw bad(
        file,
        `${where}: storage "${tensor.storage.key}" has ${storage.byteLength} bytes, the pickle says ${tensor.storage.numel} × ${item}`,
        { tensor: name },
      );
    const count = tensor.shape.reduce((a, b) => a * b, 1);
    return {
      name,
      dtype: tensor.storage.dtype,
      shape: tensor.shape,
      byteLength: count * item,
      view: tensor,
      storage,
    };
  });
  return { key: found.key, tensors };
}

/**
 * Read a `torch.save` checkpoint (the zip format, or the legacy pre-1.6 stream) without running any of
 * its pickle: find the weights (and EMA weights), where every tensor's bytes are, and which globals the
 * pickle names. No tensor data is read.
 */
export function readTorchCheckpoint(file: string): TorchCheckpoint {
  const raw = openRaw(file);
  const contents = findStateDicts(raw.parsed.value, file);
  return {
    file,
    format: raw.format,
    globals: raw.parsed.globals,
    suspicious: suspiciousGlobals(raw.parsed.globals),
    weights: attach(contents.weights, raw, file),
    ema: attach(contents.ema, raw, file),
    metadata: contents.metadata,
    rootDescription: contents.rootDescription,
  };
}

/** The scalar settings a pickled object or dict holds (HF's training_args.bin), read inertly. */
export function readPickledSettings(file: string): Record<string, string> {
  return settingsIn(openRaw(file).parsed.value satisfies PickleValue);
}
