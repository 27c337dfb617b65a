import { TureenError } from '../../common/errors.js';
import { metadataJson } from './metadata-json.js';
import type { DType } from '../tensors/dtypes.js';

/** `(x * scale - mean[c]) / std[c]` after casting to float32, c along `channel_axis` (DESIGN.md, Formats). */
export interface InputTransform {
  scale: number;
  mean: number[];
  std: number[];
  channel_axis: number;
}

function isNumberList(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'number' && Number.isFinite(v));
}

/** The inputs a transform may name, with their stored shapes (first axis N). */
export interface TransformTarget {
  name: string;
  shape: readonly number[];
}

/**
 * A transform must fit its input: the channel axis inside the input's rank (checked whenever it matters: it
 * was given, or mean/std have more than one value), and mean/std of length 1 or that axis' size.
 */
function checkAgainstShape(file: string, target: TransformTarget, t: InputTransform, axisGiven: boolean) {
  const rank = target.shape.length;
  const perChannel = t.mean.length > 1;
  if ((axisGiven || perChannel) && (t.channel_axis < 0 || t.channel_axis >= rank)) {
    throw new TureenError(
      'bad_evalset',
      `${file}: tureen.transform for "${target.name}": channel_axis ${t.channel_axis} is outside the input's ${rank} axes ${JSON.stringify(target.shape)}`,
      { file, tensor: target.name },
    );
  }
  const channels = target.shape[t.channel_axis];
  if (perChannel && t.mean.length !== channels) {
    throw new TureenError(
      'bad_evalset',
      `${file}: tureen.transform for "${target.name}": ${t.mean.length} mean/std values, but axis ${t.channel_axis} of ${JSON.stringify(target.shape)} has ${channels} channels (give 1 value or ${channels})`,
      { file, tensor: target.name },
    );
  }
}

export function parseTransforms(
  file: string,
  raw: string | undefined,
  inputs: readonly TransformTarget[],
): Record<string, InputTransform> {
  const inputNames = inputs.map((i) => i.name);
  const value = metadataJson(file, 'tureen.transform', raw, 'write a map keyed by input name');
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TureenError(
      'bad_evalset',
      `${file}: tureen.transform must be a JSON object keyed by input name`,
      { file },
    );
  }
  const out: Record<string, InputTransform> = {};
  for (const [name, spec] of Object.entries(value as Record<string, Record<string, unknown>>)) {
    if (!inputNames.includes(name)) {
      throw new TureenError(
        'bad_evalset',
        `${file}: tureen.transform names input "${name}", but the file's inputs are ${inputNames.join(', ')}`,
        { file, tensor: name },
      );
    }
    const scale = spec.scale ?? 1;
    const mean = spec.mean ?? [0];
    const std = spec.std ?? [1];
    const axis = spec.channel_axis ?? 1;
    if (typeof scale !== 'number' || !isNumberList(mean) || !isNumberList(std) || !Number.isInteger(axis)) {
      throw new TureenError(
        'bad_evalset',
        `${file}: tureen.transform for "${name}" needs numbers: {"scale": s, "mean": [..], "std": [..], "channel_axis": k}`,
        { file, tensor: name },
      );
    }
    if (mean.length !== std.length || mean.length === 0 || std.some((s) => s === 0)) {
      throw new TureenError(
        'bad_evalset',
        `${file}: tureen.transform for "${name}": mean and std need the same non-zero length, std never 0`,
        {
          file,
          tensor: name,
        },
      );
    }
    const transform = { scale, mean, std, channel_axis: axis as number };
    checkAgainstShape(
      file,
      inputs.find((i) => i.name === name)!,
      transform,
      spec.channel_axis !== undefined,
    );
    out[name] = transform;
  }
  return out;
}

function storedAsNumbers(dtype: DType, bytes: Uint8Array): ArrayLike<number> {
  const aligned = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
  const { buffer, byteOffset, byteLength } = aligned;
  switch (dtype) {
    case 'u8':
    case 'bool':
      return aligned;
    case 'i8':
      return new Int8Array(buffer, byteOffset, byteLength);
    case 'i16':
      return new Int16Array(buffer, byteOffset, byteLength / 2);
    case 'u16':
      return new Uint16Array(buffer, byteOffset, byteLength / 2);
    case 'i32':
      return new Int32Array(buffer, byteOffset, byteLength / 4);
    case 'u32':
      return new Uint32Array(buffer, byteOffset, byteLength / 4);
    case 'f32':
      return new Float32Array(buffer, byteOffset, byteLength / 4);
    case 'f64':
      return new Float64Array(buffer, byteOffset, byteLength / 8);
    default:
      throw new TureenError(
        'bad_evalset',
        `inputs stored as ${dtype} are not supported; store them as uint8, an integer type, float32 or float64`,
      );
  }
}

/**
 * Casts stored rows to the float32 input the model sees, a batch at a time, into a caller's buffer. Each step
 * is rounded to float32 as a float32 framework would (x·scale, then − mean, then ÷ std), so the inputs match
 * PyTorch's bit for bit. uint8 rows (every imported image set) go through a 256-entry table per channel built
 * with that same formula: the same values, without three roundings per pixel.
 */
export class Float32Converter {
  private readonly table: Float32Array | null = null;
  private readonly mean: number[];
  private readonly std: number[];
  private readonly scale: number;
  /** size of the channel axis, or 1 when the transform has one mean/std */
  private readonly channels: number;
  /** elements per channel block: product of the dimensions after the channel axis */
  private readonly inner: number;
  /** channel blocks per example */
  private readonly blocksPerRow: number;

  constructor(
    private readonly dtype: DType,
    /** the stored shape, first axis N */
    shape: readonly number[],
    private readonly transform?: InputTransform,
  ) {
    const f = Math.fround;
    this.scale = f(transform?.scale ?? 1);
    this.mean = (transform?.mean ?? [0]).map(f);
    this.std = (transform?.std ?? [1]).map(f);
    const axis = transform?.channel_axis ?? 1;
    const channels = shape[axis] ?? 1;
    if (this.mean.length !== 1 && this.mean.length !== channels) {
      throw new TureenError(
        'bad_evalset',
        `tureen.transform has ${this.mean.length} mean/std values but axis ${axis} of the input has ${channels} channels`,
      );
    }
    this.channels = this.mean.length === 1 ? 1 : channels;
    this.inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const rowElements = shape.slice(1).reduce((a, b) => a * b, 1);
    this.blocksPerRow = this.inner === 0 ? 0 : rowElements / this.inner;
    // a table per channel; a transform along axis 0 (one mean per example) is too long for one
    if (transform && (dtype === 'u8' || dtype === 'bool') && this.mean.length <= 4096) {
      const table = new Float32Array(256 * this.mean.length);
      for (let c = 0; c < this.mean.length; c++)
        for (let v = 0; v < 256; v++)
          table[c * 256 + v] = f(f(f(v * this.scale) - this.mean[c]!) / this.std[c]!);
      this.table = table;
    }
  }

  /**
   * float32 values of `bytes` (whole examples starting at example `startRow`), written to `out` (length at
   * least the element count) or to a new array.
   */
  convert(bytes: Uint8Array, out?: Float32Array, startRow = 0): Float32Array {
    const values = storedAsNumbers(this.dtype, bytes);
    const length = values.length;
    const target = out ? out.subarray(0, length) : new Float32Array(length);
    if (!this.transform) {
      if (values instanceof Float32Array) target.set(values);
      else for (let i = 0; i < length; i++) target[i] = values[i]!;
      return target;
    }
    const { inner, channels, table } = this;
    // the channel of element i is floor(i / inner) % channels, counted from the set's first example
    const firstBlock = startRow * this.blocksPerRow;
    if (table && channels === 1) {
      const u8 = values as Uint8Array;
      for (let i = 0; i < length; i++) target[i] = table[u8[i]!]!;
      return target;
    }
    if (table) {
      const u8 = values as Uint8Array;
      for (let block = firstBlock, i = 0; i < length; block++) {
        const base = (block % channels) * 256;
        const end = Math.min(i + inner, length);
        for (; i < end; i++) target[i] = table[base + u8[i]!]!;
      }
      return target;
    }
    const f = Math.fround;
    const { scale, mean, std } = this;
    for (let block = firstBlock, i = 0; i < length; block++) {
      const c = channels === 1 ? 0 : block % channels;
      const m = mean[c]!;
      const s = std[c]!;
      const end = channels === 1 ? length : Math.min(i + inner, length);
      for (; i < end; i++) target[i] = f(f(f(values[i]! * scale) - m) / s);
    }
    return target;
  }
}

/**
 * The float32 input tensor the model sees, for a whole tensor in memory: the plain statement of the formula
 * Float32Converter must equal (tests compare the two). Each step is rounded to float32 as a float32 framework would
 * (x·scale, then − mean, then ÷ std), so the inputs match PyTorch's bit for bit.
 */
export function toFloat32Input(
  dtype: DType,
  shape: readonly number[],
  bytes: Uint8Array,
  transform?: InputTransform,
): Float32Array {
  const values = storedAsNumbers(dtype, bytes);
  const out = new Float32Array(values.length);
  if (!transform) {
    for (let i = 0; i < values.length; i++) out[i] = values[i]!;
    return out;
  }
  const f = Math.fround;
  const scale = f(transform.scale);
  const mean = transform.mean.map(f);
  const std = transform.std.map(f);
  const axis = transform.channel_axis;
  const channels = shape[axis] ?? 1;
  if (mean.length !== 1 && mean.length !== channels) {
    throw new TureenError(
      'bad_evalset',
      `tureen.transform has ${mean.length} mean/std values but axis ${axis} of the input has ${channels} channels`,
    );
  }
  // stride of the channel axis: product of the dimensions after it
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  for (let i = 0; i < values.length; i++) {
    const c = mean.length === 1 ? 0 : Math.floor(i / inner) % channels;
    out[i] = f(f(f(values[i]! * scale) - mean[c]!) / std[c]!);
  }
  return out;
}
