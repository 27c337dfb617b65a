import { TureenError } from '../../common/errors.js';

/**
 * Element types Tureen reads and writes: the one spelling (safetensors' names in lower case) used by
 * checkpoints, eval sets and the kernels; files' own spellings are translated at the readers.
 */
export const DTYPES = [
  'f64',
  'f32',
  'f16',
  'bf16',
  'i64',
  'i32',
  'i16',
  'i8',
  'u64',
  'u32',
  'u16',
  'u8',
  'bool',
] as const;
export type DType = (typeof DTYPES)[number];
export type FloatDType = 'f64' | 'f32' | 'f16' | 'bf16';

const BYTES: Record<DType, number> = {
  f64: 8,
  f32: 4,
  f16: 2,
  bf16: 2,
  i64: 8,
  i32: 4,
  i16: 2,
  i8: 1,
  u64: 8,
  u32: 4,
  u16: 2,
  u8: 1,
  bool: 1,
};

export function dtypeBytes(dtype: DType): number {
  return BYTES[dtype];
}

export function isFloatDType(dtype: DType): dtype is FloatDType {
  return dtype === 'f64' || dtype === 'f32' || dtype === 'f16' || dtype === 'bf16';
}

/** Parse a user-given output dtype (`--dtype`). */
export function parseFloatDType(value: string): FloatDType {
  const v = value.toLowerCase();
  const aliases: Record<string, FloatDType> = {
    f32: 'f32',
    float32: 'f32',
    fp32: 'f32',
    f16: 'f16',
    float16: 'f16',
    fp16: 'f16',
    half: 'f16',
    bf16: 'bf16',
    bfloat16: 'bf16',
    f64: 'f64',
    float64: 'f64',
    fp64: 'f64',
  };
  const dtype = aliases[v];
  if (!dtype) throw new TureenError('bad_request', `unknown dtype "${value}"; use f32, f16, bf16 or f64`);
  return dtype;
}

const SAFETENSORS: Record<string, DType> = {
  F64: 'f64',
  F32: 'f32',
  F16: 'f16',
  BF16: 'bf16',
  I64: 'i64',
  I32: 'i32',
  I16: 'i16',
  I8: 'i8',
  U64: 'u64',
  U32: 'u32',
  U16: 'u16',
  U8: 'u8',
  BOOL: 'bool',
};

export function fromSafetensorsDType(name: string): DType | null {
  return SAFETENSORS[name] ?? null;
}

export function toSafetensorsDType(dtype: DType): string {
  return dtype === 'bool' ? 'BOOL' : dtype.toUpperCase();
}

/** ONNX TensorProto.DataType numbers. */
const ONNX: Record<number, DType> = {
  1: 'f32',
  2: 'u8',
  3: 'i8',
  4: 'u16',
  5: 'i16',
  6: 'i32',
  7: 'i64',
  9: 'bool',
  10: 'f16',
  11: 'f64',
  12: 'u32',
  13: 'u64',
  16: 'bf16',
};

const ONNX_NAMES: Record<number, string> = {
  0: 'UNDEFINED',
  8: 'STRING',
  14: 'COMPLEX64',
  15: 'COMPLEX128',
  17: 'FLOAT8E4M3FN',
  18: 'FLOAT8E4M3FNUZ',
  19: 'FLOAT8E5M2',
  20: 'FLOAT8E5M2FNUZ',
  21: 'UINT4',
  22: 'INT4',
  23: 'FLOAT4E2M1',
};

export function fromOnnxDataType(code: number): DType | null {
  return ONNX[code] ?? null;
}

export function onnxDataTypeName(code: number): string {
  return ONNX_NAMES[code] ?? `data type ${code}`;
}

/** Number of elements of a shape; shapes with a negative or fractional dimension are rejected by callers. */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
