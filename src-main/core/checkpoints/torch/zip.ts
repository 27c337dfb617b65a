import fs from 'node:fs';
import zlib from 'node:zlib';
import { TureenError } from '../../../common/errors.js';
import { openRegularFile } from '../read-range.js';

/** One member of a ZIP archive, with where its bytes start in the file. */
export interface ZipEntry {
  name: string;
  /** 0 = stored (the bytes are in the file as they are), 8 = deflated */
  method: 0 | 8;
  compressedSize: number;
  uncompressedSize: number;
  /** file offset of the entry's (possibly compressed) bytes, after its local header */
  dataOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
const CENTRAL_HEADER_SIZE = 46;
const LOCAL_HEADER_SIZE = 30;
/** A checkpoint's directory is a few kB per thousand tensors; this bounds what a hostile one can claim. */
const MAX_CENTRAL_DIRECTORY_BYTES = 64 * 1024 * 1024;

function bad(file: string, message: string): TureenError {
  return new TureenError('bad_checkpoint', `${file}: ${message}`, { file });
}

/** One read call at most this long (Node refuses single reads of 2 GiB or more). */
const READ_CHUNK = 256 * 1024 * 1024;

/** Read exactly `length` bytes at `position`, or fail naming the file. */
export function readExactly(fd: number, file: string, position: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, out, done, Math.min(length - done, READ_CHUNK), position + done);
    if (n === 0) throw bad(file, `ended early (wanted ${length} bytes at offset ${position})`);
    done += n;
  }
  return out;
}

function u64(buf: Buffer, at: number, file: string, what: string): number {
  const value = buf.readBigUInt64LE(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(file, `ZIP ${what} ${value} is absurd`);
  return Number(value);
}

/** True when the file starts like a ZIP archive (a local file header). */
export function looksLikeZip(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
}

/** Where the central directory is and how many entries it claims, from the end-of-central-directory record(s). */
function locateCentralDirectory(
  fd: number,
  file: string,
  size: number,
): { offset: number; length: number; count: number } {
  if (size < EOCD_SIZE) throw bad(file, 'too short to be a ZIP archive (truncated?)');
  const tailLength = Math.min(size, EOCD_SIZE + MAX_COMMENT);
  const tail = readExactly(fd, file, size - tailLength, tailLength);
  let at = -1;
  for (let i = tailLength - EOCD_SIZE; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD_SIGNATURE && i + EOCD_SIZE + tail.readUInt16LE(i + 20) <= tailLength) {
      at = i;
      break;
    }
  }
  if (at < 0) throw bad(file, 'no ZIP end-of-directory record: the archive is truncated or damaged');
  let count = tail.readUInt16LE(at + 10);
  let length = tail.readUInt32LE(at + 12);
  let offset = tail.readUInt32LE(at + 16);
  if (count === 0xffff || length === 0xffffffff || offset === 0xffffffff) {
    // ZIP64: the real numbers are in the ZIP64 end record, found through the locator just before
    const locatorAt = at - 20;
    if (locatorAt < 0 || tail.readUInt32LE(locatorAt) !== ZIP64_LOCATOR_SIGNATURE)
      throw bad(file, 'ZIP64 archive without its locator record');
    const recordOffset = u64(tail, locatorAt + 8, file, 'ZIP64 record offset');
    if (recordOffset + 56 > size) throw bad(file, 'ZIP64 end record lies beyond the end of the file');
    const record = readExactly(fd, file, recordOffset, 56);
    if (record.readUInt32LE(0) !== ZIP64_EOCD_SIGNATURE) throw bad(file, 'damaged ZIP64 end record');
    count = u64(record, 32, file, 'entry count');
    length = u64(record, 40, file, 'directory size');
    offset = u64(record, 48, file, 'directory offset');
  }
  if (offset + length > size)
    throw bad(file, 'the ZIP directory lies beyond the end of the file (truncated?)');
  if (length > MAX_CENTRAL_DIRECTORY_BYTES) throw bad(file, `the ZIP directory claims ${length} bytes`);
  if (count * CENTRAL_HEADER_SIZE > length)
    throw bad(file, `the ZIP directory claims ${count} entries in ${length} bytes`);
  return { offset, length, count };
}

/** ZIP64 sizes and offset from an entry's extra field, in the order the spec gives them. */
function zip64Extra(
  extra: Buffer,
  file: string,
  fields: { uncompressed: boolean; compressed: boolean; offset: boolean },
): { uncompressed?: number; compressed?: number; offset?: number } {
  for (let at = 0; at + 4 <= extra.length;) {
    const id = extra.readUInt16LE(at);
    const len = extra.readUInt16LE(at + 2);
    if (at + 4 + len > extra.length) break;
    if (id === 0x0001) {
      const out: { uncompressed?: number; compressed?: number; offset?: number } = {};
      let p = at + 4;
      const take = (): number => {
        if (p + 8 > at + 4 + len) throw bad(file, 'short ZIP64 extra field');
        const v = u64(extra, p, file, 'ZIP64 field');
        p += 8;
        return v;
      };
      if (fields.uncompressed) out.uncompressed = take();
      if (fields.compressed) out.compressed = take();
      if (fields.offset) out.offset = take();
      return out;
    }
    at += 4 + len;
  }
  throw bad(file, 'ZIP64 sizes announced but no ZIP64 extra field');
}

/**
 * The entries of a ZIP archive from its central directory, each with the file offset of its data (read
 * from its local header). Every size and offset is checked against the file size; nothing is inflated.
 */
export function readZipDirectory(file: string): ZipEntry[] {
  const { fd, size } = openRegularFile(file, 'bad_checkpoint');
  try {
    const dir = locateCentralDirectory(fd, file, size);
    const buf = readExactly(fd, file, dir.offset, dir.length);
    const entries: ZipEntry[] = [];
    let at = 0;
    for (let i = 0; i < dir.count; i++) {
      if (at + CENTRAL_HEADER_SIZE > buf.length || buf.readUInt32LE(at) !== CENTRAL_SIGNATURE)
        throw bad(file, `ZIP directory entry ${i} is damaged`);
      const flags = buf.readUInt16LE(at + 8);
      const method = buf.readUInt16LE(at + 10);
      let compressed = buf.readUInt32LE(at + 20);
      let uncompressed = buf.readUInt32LE(at + 24);
      const nameLength = buf.readUInt16LE(at + 28);
      const extraLength = buf.readUInt16LE(at + 30);
      const commentLength = buf.readUInt16LE(at + 32);
      let localOffset = buf.readUInt32LE(at + 42);
      const end = at + CENTRAL_HEADER_SIZE + nameLength + extraLength + commentLength;
      if (end > buf.length) throw bad(file, `ZIP directory entry ${i} runs past the directory`);
      const name = buf.toString('utf8', at + CENTRAL_HEADER_SIZE, at + CENTRAL_HEADER_SIZE + nameLength);
      if (compressed === 0xffffffff || uncompressed === 0xffffffff || localOffset === 0xffffffff) {
        const extra = buf.subarray(
          at + CENTRAL_HEADER_SIZE + nameLength,
          at + CENTRAL_HEADER_SIZE + nameLength + extraLength,
        );
        const z = zip64Extra(extra, file, {
          uncompressed: uncompressed === 0xffffffff,
          compressed: compressed === 0xffffffff,
          offset: localOffset === 0xffffffff,
        });
        uncompressed = z.uncompressed ?? uncompressed;
        compressed = z.compressed ?? compressed;
        localOffset = z.offset ?? localOffset;
      }
      at = end;
      if (flags & 1) throw new TureenError('not_supported', `${file}: "${name}" is encrypted`, { file });
      if (method !== 0 && method !== 8)
        throw new TureenError('not_supported', `${file}: "${name}" uses ZIP compression method ${method}`, {
          file,
        });
      if (method === 0 && compressed !== uncompressed)
        throw bad(file, `"${name}" is stored but its sizes differ (${compressed} vs ${uncompressed})`);
      if (localOffset + LOCAL_HEADER_SIZE > size)
        throw bad(file, `"${name}" starts beyond the end of the file`);
      const local = readExactly(fd, file, localOffset, LOCAL_HEADER_SIZE);
      if (local.readUInt32LE(0) !== LOCAL_SIGNATURE)
        throw bad(file, `"${name}": wrong ZIP local header offset`);
      const dataOffset = localOffset + LOCAL_HEADER_SIZE + local.readUInt16LE(26) + local.readUInt16LE(28);
      if (dataOffset + compressed > size)
        throw bad(
          file,
          `"${name}" (${compressed} bytes at offset ${dataOffset}) runs past the end of the file`,
        );
      entries.push({ name, method, compressedSize: compressed, uncompressedSize: uncompressed, dataOffset });
    }
    return entries;
  } finally {
    fs.closeSync(fd);
  }
}

/** An entry's bytes (inflated if deflated), refusing more than `limit` bytes. */
export function readZipEntry(file: string, entry: ZipEntry, limit: number): Buffer {
  if (entry.uncompressedSize > limit)
    throw bad(file, `"${entry.name}" is ${entry.uncompressedSize} bytes, over the ${limit}-byte limit`);
  const { fd } = openRegularFile(file, 'bad_checkpoint');
  let raw: Buffer;
  try {
    raw = readExactly(fd, file, entry.dataOffset, entry.compressedSize);
  } finally {
    fs.closeSync(fd);
  }
  if (entry.method === 0) return raw;
  let out: Buffer;
  try {
    out = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.uncompressedSize) });
  } catch (error) {
    throw bad(file, `"${entry.name}" does not inflate (${(error as Error).message})`);
  }
  if (out.length !== entry.uncompressedSize)
    throw bad(
      file,
      `"${entry.name}" inflates to ${out.length} bytes, the directory says ${entry.uncompressedSize}`,
    );
  return out;
}
