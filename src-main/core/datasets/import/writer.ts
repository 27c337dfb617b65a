/**
 * Writes an imported eval set without holding its pixels in memory: images are appended to a scratch file
 * beside the target as they arrive (in file order), and once N is known the eval set is written atomically
 * (temp file + rename): the safetensors header, int64 labels, then the uint8 NCHW pixels copied over.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { openAtomic, writeAll } from '../../checkpoints/atomic.js';
import type { TensorToWrite } from '../../checkpoints/safetensors.js';
import { buildSafetensorsHeader } from '../../checkpoints/safetensors.js';

const COPY_CHUNK = 8 * 1024 * 1024;

export class PixelScratch {
  readonly file: string;
  private readonly fd: number;
  private closed = false;
  bytes = 0;

  constructor(target: string) {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    this.file = path.join(
      path.dirname(target),
      `.${path.basename(target)}.${randomBytes(6).toString('hex')}.pixels.tmp`,
    );
    this.fd = fs.openSync(this.file, 'wx+');
  }

  append(bytes: Uint8Array): void {
    writeAll(this.fd, bytes);
    this.bytes += bytes.byteLength;
  }

  /** Copies every appended byte, in order, to `fd`. */
  copyTo(fd: number): void {
    const chunk = Buffer.allocUnsafe(Math.min(COPY_CHUNK, Math.max(1, this.bytes)));
    for (let position = 0; position < this.bytes;) {
      const read = fs.readSync(
        this.fd,
        chunk,
        0,
        Math.min(chunk.byteLength, this.bytes - position),
        position,
      );
      if (read === 0) throw new Error(`${this.file}: ended after ${position} of ${this.bytes} bytes`);
      writeAll(fd, chunk.subarray(0, read));
      position += read;
    }
  }

  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
    fs.rmSync(this.file, { force: true });
  }
}

export interface EvalSetLayout {
  inputName: string;
  /** [N, C, H, W] */
  shape: [number, number, number, number];
  labels: readonly number[];
  metadata: Record<string, string>;
}

/** The eval set as DESIGN.md describes it: `labels` (I64, N) and one U8 input tensor [N, C, H, W]. */
export function writeImportedEvalSet(target: string, layout: EvalSetLayout, pixels: PixelScratch): void {
  const [n] = layout.shape;
  const pixelBytes = layout.shape.reduce((a, b) => a * b, 1);
  if (pixelBytes !== pixels.bytes || layout.labels.length !== n)
    throw new Error(
      `import bookkeeping: ${pixels.bytes} pixel bytes and ${layout.labels.length} labels for N = ${n}`,
    );
  const tensors: TensorToWrite[] = [
    { name: 'labels', dtype: 'i64', shape: [n], byteLength: n * 8 },
    { name: layout.inputName, dtype: 'u8', shape: [...layout.shape], byteLength: pixelBytes },
  ];
  const { header } = buildSafetensorsHeader(tensors, layout.metadata);
  const labels = Buffer.alloc(n * 8);
  layout.labels.forEach((label, i) => labels.writeBigInt64LE(BigInt(label), i * 8));
  const atomic = openAtomic(target);
  try {
    writeAll(atomic.fd, header);
    writeAll(atomic.fd, labels);
    pixels.copyTo(atomic.fd);
    atomic.commit();
  } catch (error) {
    atomic.abort();
    throw error;
  }
}
