import fs from 'node:fs';
import path from 'node:path';

/** A minimal safetensors writer for tests, independent of Tureen's own (header JSON padded to 8 bytes). */
export interface RawTensor {
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

export function safetensorsBytes(
  tensors: Record<string, RawTensor>,
  metadata?: Record<string, string>,
): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  while ((json.length + 8) % 8) json += ' ';
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([
    len,
    Buffer.from(json),
    ...Object.values(tensors).map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)),
  ]);
}

export function writeSafetensors(
  file: string,
  tensors: Record<string, RawTensor>,
  metadata?: Record<string, string>,
): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, safetensorsBytes(tensors, metadata));
  return file;
}

export const f32 = (values: ArrayLike<number>, shape: number[]): RawTensor => ({
  dtype: 'F32',
  shape,
  data: new Uint8Array(Float32Array.from(values).buffer),
});
export const i64 = (values: bigint[], shape: number[]): RawTensor => ({
  dtype: 'I64',
  shape,
  data: new Uint8Array(BigInt64Array.from(values).buffer),
});
