import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import type { GraphProto, ModelProto, TensorProto } from 'onnx-buf';
import { AttributeProtoSchema, ModelProtoSchema, ValueInfoProtoSchema } from 'onnx-buf';
import { TureenError } from '../../common/errors.js';
import type { DType } from '../tensors/dtypes.js';
import { dtypeBytes, elementCount, fromOnnxDataType, onnxDataTypeName } from '../tensors/dtypes.js';
import { resolveInside } from './paths.js';
import { openRegularFile, readRegularFile } from './read-range.js';

/** Protobuf cannot encode a message of 2 GiB or more; bigger models keep their weights in external data. */
export const PROTOBUF_LIMIT = 2 ** 31 - 1;
const EXTERNAL = 1;

/** Where a tensor's bytes are: a byte range of a file (raw_data or external data) or decoded typed fields. */
export type TensorLocation =
  { kind: 'file'; file: string; offset: number; byteLength: number } | { kind: 'memory'; bytes: Uint8Array };

export interface LocatedTensor {
  name: string;
  dtype: DType;
  shape: number[];
  byteLength: number;
  location: TensorLocation;
}

/** What families and warnings need to know about a graph, without its weights. */
export interface GraphSummary {
  /** sha256 over nodes, attributes, inputs/outputs, initializer names/shapes/dtypes and opsets */
  fingerprint: string;
  /** one line per node, `op[domain](inputs)->(outputs)`, for explaining graph differences */
  nodes: string[];
  inputs: string[];
  outputs: string[];
  opsets: string[];
  initializers: Array<{ name: string; dtype: DType; shape: number[] }>;
  /** Conv/ConvTranspose weights and biases with exporter-generated names (`onnx::Conv_36`): folded BatchNorm */
  foldedConvTensors: string[];
  hasBatchNorm: boolean;
  /** quantized or fused operators, whose weights are not the model's parameters */
  quantizedOrFusedOps: string[];
}

const QUANTIZED_OR_FUSED =
  /^(QuantizeLinear|DequantizeLinear|DynamicQuantizeLinear|QLinear.*|.*Integer|Fused.*|QGemm|QAttention|MatMulNBits|MatMulBnb4|DynamicQuantize.*)$/;

export interface OnnxModelInfo {
  file: string;
  /** the model file plus every external data file it uses */
  files: string[];
  tensors: LocatedTensor[];
  graph: GraphSummary;
}

function bad(file: string, message: string, detail: Record<string, unknown> = {}): TureenError {
  return new TureenError('bad_checkpoint', `${file}: ${message}`, { file, ...detail });
}

/** Decode an ONNX model; tensor bytes stay views into `bytes` (protobuf-es reads `bytes` fields as subarrays). */
export function decodeModel(file: string, bytes: Uint8Array): ModelProto {
  let model: ModelProto;
  try {
    model = fromBinary(ModelProtoSchema, bytes);
  } catch (error) {
    throw bad(file, `not a valid ONNX model (${(error as Error).message}); the file is damaged or not ONNX`);
  }
  if (!model.graph || (model.graph.node.length === 0 && model.graph.initializer.length === 0)) {
    throw bad(file, 'not an ONNX model: it has no graph');
  }
  return model;
}

/** Read and decode an ONNX file: only a regular file, never more than its real size nor than protobuf allows. */
export function readModelFile(file: string): { bytes: Buffer; model: ModelProto } {
  const bytes = readRegularFile(file, 'bad_checkpoint', {
    bytes: PROTOBUF_LIMIT,
    what: 'an ONNX protobuf (export with external data: save_as_external_data=True)',
  });
  return { bytes, model: decodeModel(file, bytes) };
}

function dimsOf(file: string, t: TensorProto): number[] {
  return t.dims.map((d) => {
    const n = Number(d);
    if (!Number.isSafeInteger(n) || n < 0)
      throw bad(file, `initializer "${t.name}": invalid dimension ${d}`, { tensor: t.name });
    return n;
  });
}

/** Bytes of a tensor stored in the typed repeated fields (float_data, int32_data, ...), little-endian. */
function typedFieldBytes(file: string, t: TensorProto, dtype: DType, count: number): Uint8Array {
  const fail = (field: string, have: number) =>
    bad(file, `initializer "${t.name}": ${field} has ${have} values, the shape needs ${count}`, {
      tensor: t.name,
    });
  switch (dtype) {
    case 'f32':
      if (t.floatData.length !== count) throw fail('float_data', t.floatData.length);
      return new Uint8Array(Float32Array.from(t.floatData).buffer);
    case 'f64':
      if (t.doubleData.length !== count) throw fail('double_data', t.doubleData.length);
      return new Uint8Array(Float64Array.from(t.doubleData).buffer);
    case 'i64':
      if (t.int64Data.length !== count) throw fail('int64_data', t.int64Data.length);
      return new Uint8Array(BigInt64Array.from(t.int64Data).buffer);
    case 'u64':
      if (t.uint64Data.length !== count) throw fail('uint64_data', t.uint64Data.length);
      return new Uint8Array(BigUint64Array.from(t.uint64Data).buffer);
    case 'u32':
      if (t.uint64Data.length !== count) throw fail('uint64_data', t.uint64Data.length);
      return new Uint8Array(Uint32Array.from(t.uint64Data, (v) => Number(v)).buffer);
    default: {
      if (t.int32Data.length !== count) throw fail('int32_data', t.int32Data.length);
      const d = t.int32Data;
      if (dtype === 'i32') return new Uint8Array(Int32Array.from(d).buffer);
      if (dtype === 'i16') return new Uint8Array(Int16Array.from(d).buffer);
      if (dtype === 'f16' || dtype === 'bf16' || dtype === 'u16')
        return new Uint8Array(Uint16Array.from(d).buffer);
      if (dtype === 'i8') return new Uint8Array(Int8Array.from(d).buffer);
      return Uint8Array.from(d);
    }
  }
}

function externalLocation(file: string, t: TensorProto, expected: number): TensorLocation {
  const entries = new Map(t.externalData.map((e) => [e.key, e.value]));
  const location = entries.get('location');
  if (!location)
    throw bad(file, `initializer "${t.name}": external data without a location`, { tensor: t.name });
  const target = resolveInside(path.dirname(file), location, file);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch {
    throw bad(
      file,
      `initializer "${t.name}": its external data file "${location}" is missing; copy it beside the model`,
      { tensor: t.name, reference: location },
    );
  }
  if (!stat.isFile()) {
    throw bad(
      file,
      `initializer "${t.name}": its external data "${location}" is ${stat.isDirectory() ? 'a folder' : 'not a regular file'}; it must be the file holding the weights`,
      { tensor: t.name, reference: location },
    );
  }
  const size = stat.size;
  const offset = Number(entries.get('offset') ?? '0');
  const length = entries.has('length') ? Number(entries.get('length')) : expected;
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw bad(file, `initializer "${t.name}": invalid external data offset/length`, { tensor: t.name });
  }
  if (length !== expected) {
    throw bad(
      file,
      `initializer "${t.name}": external data length ${length} but the shape needs ${expected} bytes`,
      { tensor: t.name },
    );
  }
  if (offset + length > size) {
    throw bad(
      file,
      `initializer "${t.name}": external data [${offset}, ${offset + length}) is beyond the end of "${location}" (${size} bytes); the file is truncated`,
      { tensor: t.name, reference: location },
    );
  }
  return { kind: 'file', file: target, offset, byteLength: length };
}

/** Locate every initializer of a decoded model; `buffer` is the model file's bytes (for raw_data offsets). */
export function locateInitializers(file: string, graph: GraphProto, buffer: Uint8Array): LocatedTensor[] {
  if (graph.sparseInitializer.length) {
    throw new TureenError(
      'not_supported',
      `${file}: sparse initializers are not supported (${graph.sparseInitializer.length} found)`,
      { file },
    );
  }
  const seen = new Set<string>();
  return graph.initializer.map((t) => {
    if (seen.has(t.name)) throw bad(file, `initializer "${t.name}" appears twice`, { tensor: t.name });
    seen.add(t.name);
    const dtype = fromOnnxDataType(t.dataType);
    if (!dtype) {
      throw new TureenError(
        'not_supported',
        `${file}: initializer "${t.name}" has type ${onnxDataTypeName(t.dataType)}, which Tureen cannot average or copy`,
        { file, tensor: t.name },
      );
    }
    if (t.segment)
      throw new TureenError('not_supported', `${file}: initializer "${t.name}" is segmented`, {
        file,
        tensor: t.name,
      });
    const shape = dimsOf(file, t);
    const count = elementCount(shape);
    const byteLength = count * dtypeBytes(dtype);
    if (!Number.isSafeInteger(byteLength))
      throw bad(file, `initializer "${t.name}": shape ${JSON.stringify(shape)} is too large`, {
        tensor: t.name,
      });
    let location: TensorLocation;
    if (t.dataLocation === EXTERNAL) {
      location = externalLocation(file, t, byteLength);
    } else if (t.rawData.byteLength > 0 || byteLength === 0) {
      if (t.rawData.byteLength !== byteLength) {
        throw bad(
          file,
          `initializer "${t.name}": raw_data has ${t.rawData.byteLength} bytes, ${dtype}${JSON.stringify(shape)} needs ${byteLength}`,
          { tensor: t.name },
        );
      }
      const inFile = t.rawData.buffer === buffer.buffer;
      location = inFile
        ? { kind: 'file', file, offset: t.rawData.byteOffset - buffer.byteOffset, byteLength }
        : { kind: 'memory', bytes: t.rawData.slice() };
    } else {
      location = { kind: 'memory', bytes: typedFieldBytes(file, t, dtype, count) };
    }
    return { name: t.name, dtype, shape, byteLength, location };
  });
}

/** The graph's structure without weights: equal summaries mean the same computation. */
export function summarizeGraph(model: ModelProto, tensors: readonly LocatedTensor[]): GraphSummary {
  const graph = model.graph!;
  const hash = createHash('sha256');
  const nodes = graph.node.map((n) => {
    const line = `${n.opType}${n.domain ? `[${n.domain}]` : ''}(${n.input.join(', ')})->(${n.output.join(', ')})`;
    hash.update(line + '\n');
    for (const a of n.attribute) hash.update(toBinary(AttributeProtoSchema, a));
    return line;
  });
  for (const v of [...graph.input, ...graph.output]) hash.update(toBinary(ValueInfoProtoSchema, v));
  const initializers = tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape }));
  const initializerNames = new Set(initializers.map((t) => t.name));
  hash.update(JSON.stringify(initializers));
  const opsets = model.opsetImport.map((o) => `${o.domain || 'ai.onnx'}:${o.version}`).sort();
  hash.update(opsets.join(','));
  const folded = new Set<string>();
  const special = new Set<string>();
  for (const n of graph.node) {
    if (n.opType === 'Conv' || n.opType === 'ConvTranspose') {
      for (const input of n.input.slice(1))
        if (input.startsWith('onnx::') && initializerNames.has(input)) folded.add(input);
    }
    if (
      QUANTIZED_OR_FUSED.test(n.opType) ||
      (n.domain === 'com.microsoft' && /^(Fused|Q|Skip|Bias|Fast|Attention|MultiHead)/.test(n.opType))
    ) {
      special.add(n.domain ? `${n.domain}.${n.opType}` : n.opType);
    }
  }
  return {
    fingerprint: hash.digest('hex'),
    foldedConvTensors: [...folded],
    hasBatchNorm: graph.node.some((n) => n.opType === 'BatchNormalization'),
    quantizedOrFusedOps: [...special].sort(),
    nodes,
    inputs: graph.input.map((v) => v.name).filter((n) => !initializerNames.has(n)),
    outputs: graph.output.map((v) => v.name),
    opsets,
    initializers,
  };
}

/**
 * One read buffer reused by readOnnxModel (whose bytes are not kept): a fresh buffer per model cost its
 * first-touch page faults, ~70 ms per 50 MB ingredient on the thread serving the UI. Models above
 * REUSE_LIMIT get their own buffer; the reused one is dropped when idle.
 */
const REUSE_LIMIT = 256 * 1024 * 1024;
let reusable: Buffer | null = null;
let dropTimer: NodeJS.Timeout | null = null;

/** What prefetchOnnx left in the reusable buffer: that file's bytes, as of its size and mtime then. */
let prefetched: { file: string; size: number; mtimeMs: number } | null = null;

/**
 * Read an ONNX file into the reusable buffer on libuv's threads, so that the synchronous readOnnxModel that
 * follows (openIngredient) only parses: the copy out of the page cache (or the disk) happens off the
 * thread serving the UI. Best effort: any failure leaves the synchronous read to report it.
 */
export async function prefetchOnnx(file: string): Promise<void> {
  prefetched = null;
  try {
    const handle = await fs.promises.open(file, 'r');
    try {
      const stat = await handle.stat();
      if (!stat.isFile() || stat.size > REUSE_LIMIT || stat.size === 0) return;
      if (!reusable || reusable.byteLength < stat.size) reusable = Buffer.allocUnsafeSlow(stat.size);
      let done = 0;
      while (done < stat.size) {
        const { bytesRead } = await handle.read(reusable, done, stat.size - done, done);
        if (bytesRead === 0) return;
        done += bytesRead;
      }
      prefetched = { file, size: stat.size, mtimeMs: stat.mtimeMs };
      scheduleDrop();
    } finally {
      await handle.close();
    }
  } catch {
    prefetched = null;
  }
}

function scheduleDrop(): void {
  if (dropTimer) clearTimeout(dropTimer);
  dropTimer = setTimeout(() => {
    reusable = null;
    prefetched = null;
  }, 10_000).unref();
}

function readModelReusing(file: string): { bytes: Uint8Array; model: ModelProto } {
  const { fd, size } = openRegularFile(file, 'bad_checkpoint');
  if (size > REUSE_LIMIT) {
    fs.closeSync(fd);
    return readModelFile(file);
  }
  try {
    const ready = prefetched;
    prefetched = null;
    if (ready && ready.file === file && ready.size === size && ready.mtimeMs === fs.fstatSync(fd).mtimeMs) {
      scheduleDrop();
      const bytes = reusable!.subarray(0, size);
      return { bytes, model: decodeModel(file, bytes) };
    }
    if (!reusable || reusable.byteLength < size) reusable = Buffer.allocUnsafeSlow(Math.max(size, 1));
    const bytes = reusable.subarray(0, size);
    let done = 0;
    while (done < size) {
      const n = fs.readSync(fd, bytes, done, size - done, done);
      if (n === 0)
        throw new TureenError('io_error', `${file} ended early; did it change while reading?`, { file });
      done += n;
    }
    scheduleDrop();
    return { bytes, model: decodeModel(file, bytes) };
  } finally {
    fs.closeSync(fd);
  }
}

/** Parse an ONNX file into tensor locations and a graph summary; the file's bytes are not kept. */
export function readOnnxModel(file: string): OnnxModelInfo {
  const { bytes, model } = readModelReusing(file);
  const tensors = locateInitializers(file, model.graph!, bytes);
  const graph = summarizeGraph(model, tensors);
  const files = [file];
  for (const t of tensors)
    if (t.location.kind === 'file' && !files.includes(t.location.file)) files.push(t.location.file);
  return { file, files, tensors, graph };
}
