import fs from 'node:fs';

export type TestTensor = {
  dtype: 'U8' | 'I64' | 'F32' | 'I32';
  shape: number[];
  data: Uint8Array | Float32Array | BigInt64Array | Int32Array;
};

/** A minimal safetensors writer for tests, written from the format's description (not Tureen's reader). */
export function writeSafetensors(
  file: string,
  tensors: Record<string, TestTensor>,
  metadata: Record<string, string> = {},
): void {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const blobs: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    offset += bytes.byteLength;
    blobs.push(bytes);
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8) json += ' ';
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  fs.writeFileSync(file, Buffer.concat([length, Buffer.from(json), ...blobs]));
}

export function labels(values: number[]): TestTensor {
  return { dtype: 'I64', shape: [values.length], data: BigInt64Array.from(values.map(BigInt)) };
}

export function images(n: number, fill: (i: number, j: number) => number, pixels = 16): TestTensor {
  const data = new Uint8Array(n * pixels);
  for (let i = 0; i < n; i++) for (let j = 0; j < pixels; j++) data[i * pixels + j] = fill(i, j);
  return { dtype: 'U8', shape: [n, 1, 4, pixels / 4], data };
}
