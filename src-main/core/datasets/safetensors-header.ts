import { TureenError } from '../../common/errors.js';

export type StoredDtype =
  'U8' | 'I8' | 'I16' | 'I32' | 'I64' | 'U16' | 'U32' | 'U64' | 'F16' | 'BF16' | 'F32' | 'F64' | 'BOOL';

export interface StoredTensor {
  name: string;
  dtype: StoredDtype;
  shape: number[];
  /** byte range inside the data section (after the 8-byte length and the JSON header) */
  begin: number;
  end: number;
}

export interface SafetensorsLayout {
  headerBytes: number;
  tensors: StoredTensor[];
  metadata: Record<string, string>;
}

export const DTYPE_BYTES: Record<StoredDtype, number> = {
  U8: 1,
  I8: 1,
  BOOL: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
};

/**
 * The header of a safetensors file held in memory. Eval sets are read whole (they are small next to the
 * models), so this parser only needs the bytes, and checks every offset against them.
 */
export function parseSafetensorsHeader(file: string, bytes: Uint8Array): SafetensorsLayout {
  if (bytes.byteLength < 8) {
    throw new TureenError(
      'bad_evalset',
      `${file} is too short to be a safetensors file (${bytes.byteLength} bytes)`,
      { file },
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength <= 0 || 8 + headerLength > bytes.byteLength) {
    throw new TureenError(
      'bad_evalset',
      `${file}: safetensors header length ${headerLength} does not fit the file`,
      { file },
    );
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<
      string,
      unknown
    >;
  } catch (error) {
    throw new TureenError(
      'bad_evalset',
      `${file}: safetensors header is not JSON (${(error as Error).message})`,
      { file },
    );
  }
  const dataBytes = bytes.byteLength - 8 - headerLength;
  const tensors: StoredTensor[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    const entry = raw as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
    const dtype = entry.dtype as StoredDtype;
    if (!(dtype in DTYPE_BYTES) || !Array.isArray(entry.shape) || !Array.isArray(entry.data_offsets)) {
      throw new TureenError('bad_evalset', `${file}: tensor "${name}" has an invalid header entry`, {
        file,
        tensor: name,
      });
    }
    const [begin, end] = entry.data_offsets;
    const count = entry.shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * DTYPE_BYTES[dtype] || begin < 0 || end > dataBytes) {
      throw new TureenError(
        'bad_evalset',
        `${file}: tensor "${name}" (${dtype} ${JSON.stringify(entry.shape)}) has offsets ${begin}..${end} that do not match its size or the file`,
        { file, tensor: name },
      );
    }
    tensors.push({ name, dtype, shape: entry.shape, begin, end });
  }
  return { headerBytes: 8 + headerLength, tensors, metadata };
}
