import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logits } from './metrics.js';

/** What identifies cached logits (DESIGN.md): the same weights on the same data with the same runtime. */
export interface LogitsKey {
  modelHash: string;
  evalsetHash: string;
  provider: string;
  ortVersion: string;
}

export interface CacheUsage {
  dir: string;
  files: number;
  bytes: number;
}

const MAGIC = 'TUREENLG';
/** Part of every file name: bumped when what a key means changes (v2: eval-set hashes cover transforms). */
export const LOGITS_KEY_SCHEME = 'tureen/logits@2';

/**
 * Logits on disk, one file per key: an 8-byte magic, a uint32 header length, a JSON header (the key, N,
 * classes) and float32 logits. Reads touch the file's mtime, so pruning removes the least recently used.
 */
export class LogitsCache {
  /** where the files are; moving it (evaluations:setCacheDir) leaves the old folder as it is */
  constructor(public dir: string) {}

  fileFor(key: LogitsKey): string {
    const id = createHash('sha256')
      .update(
        JSON.stringify([LOGITS_KEY_SCHEME, key.modelHash, key.evalsetHash, key.provider, key.ortVersion]),
      )
      .digest('hex');
    return path.join(this.dir, id.slice(0, 2), `${id}.logits`);
  }

  get(key: LogitsKey): Logits | null {
    const file = this.fileFor(key);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch {
      return null;
    }
    if (bytes.byteLength < 12 || bytes.toString('latin1', 0, 8) !== MAGIC) return null;
    const headerLength = bytes.readUInt32LE(8);
    const header = JSON.parse(bytes.toString('utf8', 12, 12 + headerLength)) as LogitsKey & {
      n: number;
      classes: number;
    };
    if (
      header.modelHash !== key.modelHash ||
      header.evalsetHash !== key.evalsetHash ||
      header.provider !== key.provider ||
      header.ortVersion !== key.ortVersion
    )
      return null;
    const offset = 12 + headerLength;
    const count = header.n * header.classes;
    if (bytes.byteLength !== offset + count * 4) return null;
    const data = new Float32Array(count);
    new Uint8Array(data.buffer).set(bytes.subarray(offset));
    const now = new Date();
    try {
      fs.utimesSync(file, now, now);
    } catch {
      // a read-only cache still serves hits
    }
    return { n: header.n, classes: header.classes, data };
  }

  /** Write atomically (temp file + rename), so a killed run never leaves a torn entry. */
  put(key: LogitsKey, logits: Logits): void {
    const file = this.fileFor(key);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const header = Buffer.from(JSON.stringify({ ...key, n: logits.n, classes: logits.classes }), 'utf8');
    const head = Buffer.alloc(12);
    head.write(MAGIC, 0, 'latin1');
    head.writeUInt32LE(header.byteLength, 8);
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, head);
      fs.writeSync(fd, header);
      fs.writeSync(fd, new Uint8Array(logits.data.buffer, logits.data.byteOffset, logits.data.byteLength));
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  }

  private entries(): Array<{ file: string; bytes: number; mtimeMs: number }> {
    const out: Array<{ file: string; bytes: number; mtimeMs: number }> = [];
    if (!fs.existsSync(this.dir)) return out;
    for (const sub of fs.readdirSync(this.dir)) {
      const folder = path.join(this.dir, sub);
      if (!fs.statSync(folder).isDirectory()) continue;
      for (const name of fs.readdirSync(folder)) {
        if (!name.endsWith('.logits')) continue;
        const file = path.join(folder, name);
        const stat = fs.statSync(file);
        out.push({ file, bytes: stat.size, mtimeMs: stat.mtimeMs });
      }
    }
    return out;
  }

  usage(): CacheUsage {
    const entries = this.entries();
    return { dir: this.dir, files: entries.length, bytes: entries.reduce((a, e) => a + e.bytes, 0) };
  }

  /** Remove least recently used entries until the cache holds at most maxBytes. */
  prune(maxBytes: number): { removedFiles: number; removedBytes: number; usage: CacheUsage } {
    const entries = this.entries().sort((a, b) => a.mtimeMs - b.mtimeMs);
    let total = entries.reduce((a, e) => a + e.bytes, 0);
    let removedFiles = 0;
    let removedBytes = 0;
    for (const entry of entries) {
      if (total <= maxBytes) break;
      fs.rmSync(entry.file, { force: true });
      total -= entry.bytes;
      removedFiles++;
      removedBytes += entry.bytes;
    }
    return { removedFiles, removedBytes, usage: this.usage() };
  }
}
