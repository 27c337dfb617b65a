import fs from 'node:fs';
import path from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import type { NodeProto, TensorProto } from 'onnx-buf';
import {
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  TensorProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
} from 'onnx-buf';

/** Tiny ONNX models built in the tests (no Python): y = relu(x·W1 + b1)·W2 + b2, reshaped by an int64 constant. */
export type Storage = 'raw' | 'typed' | 'external';

export interface MlpWeights {
  w1: Float32Array; // [4, 8]
  b1: Float32Array; // [8]
  w2: Float32Array; // [8, 3]
  b2: Float32Array; // [3]
}

export function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

export function randomMlp(seed: number): MlpWeights {
  const r = seededRandom(seed);
  const fill = (n: number) => Float32Array.from({ length: n }, () => (r() - 0.5) * 2);
  return { w1: fill(32), b1: fill(8), w2: fill(24), b2: fill(3) };
}

function valueInfo(name: string, elemType: number, dims: number[]) {
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: 'tensorType',
        value: create(TypeProto_TensorSchema, {
          elemType,
          shape: create(TensorShapeProtoSchema, {
            dim: dims.map((d) =>
              create(TensorShapeProto_DimensionSchema, { value: { case: 'dimValue', value: BigInt(d) } }),
            ),
          }),
        }),
      },
    }),
  });
}

export function floatTensor(
  name: string,
  dims: number[],
  values: Float32Array,
  storage: Storage,
  ext?: { file: string; offset: number },
): TensorProto {
  const t = create(TensorProtoSchema, { name, dims: dims.map(BigInt), dataType: 1 });
  if (storage === 'typed') t.floatData = [...values];
  else if (storage === 'raw')
    t.rawData = Uint8Array.from(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  else {
    t.dataLocation = 1;
    t.externalData = [
      create(StringStringEntryProtoSchema, { key: 'location', value: ext!.file }),
      create(StringStringEntryProtoSchema, { key: 'offset', value: String(ext!.offset) }),
      create(StringStringEntryProtoSchema, { key: 'length', value: String(values.byteLength) }),
    ];
  }
  return t;
}

function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  attrs: Record<string, bigint> = {},
): NodeProto {
  return create(NodeProtoSchema, {
    opType,
    input: inputs,
    output: outputs,
    attribute: Object.entries(attrs).map(([name, i]) => create(AttributeProtoSchema, { name, type: 2, i })),
  });
}

export interface BuildOptions {
  storage?: Storage;
  /** names for the weights (default fc1.weight ...); `onnx::Conv_3` style names exercise the warnings */
  names?: { w1: string; b1: string; w2: string; b2: string };
  /** replace MatMul by Conv nodes (shape-compatible only for the warning tests, never run) */
  convNames?: string[];
  extraNodes?: NodeProto[];
}

/** Write the MLP as an .onnx (and `<name>.weights` for external storage); returns the model path. */
export function writeMlp(file: string, w: MlpWeights, options: BuildOptions = {}): string {
  const storage = options.storage ?? 'raw';
  const names = options.names ?? { w1: 'fc1.weight', b1: 'fc1.bias', w2: 'fc2.weight', b2: 'fc2.bias' };
  const extFile = `${path.basename(file, '.onnx')}.weights`;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const place = (values: Float32Array) => {
    const at = offset;
    chunks.push(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    offset += values.byteLength;
    return { file: extFile, offset: at };
  };
  const tensors = [
    floatTensor(names.w1, [4, 8], w.w1, storage, storage === 'external' ? place(w.w1) : undefined),
    floatTensor(names.b1, [8], w.b1, storage, storage === 'external' ? place(w.b1) : undefined),
    floatTensor(names.w2, [8, 3], w.w2, storage, storage === 'external' ? place(w.w2) : undefined),
    floatTensor(names.b2, [3], w.b2, storage, storage === 'external' ? place(w.b2) : undefined),
  ];
  const shape = create(TensorProtoSchema, { name: 'out_shape', dims: [2n], dataType: 7 });
  if (storage === 'typed') shape.int64Data = [-1n, 3n];
  else shape.rawData = new Uint8Array(BigInt64Array.from([-1n, 3n]).buffer);
  const nodes = [
    node('MatMul', ['x', names.w1], ['h0']),
    node('Add', ['h0', names.b1], ['h1']),
    node('Relu', ['h1'], ['h2']),
    node('MatMul', ['h2', names.w2], ['h3']),
    node('Add', ['h3', names.b2], ['h4']),
    node('Reshape', ['h4', 'out_shape'], ['y']),
    ...(options.extraNodes ?? []),
  ];
  const graph = create(GraphProtoSchema, {
    name: 'mlp',
    node: nodes,
    initializer: [...tensors, shape],
    input: [valueInfo('x', 1, [2, 4])],
    output: [valueInfo('y', 1, [2, 3])],
  });
  const model = create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: 'tureen-tests',
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 17n })],
    graph,
  });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, toBinary(ModelProtoSchema, model));
  if (storage === 'external') fs.writeFileSync(path.join(path.dirname(file), extFile), Buffer.concat(chunks));
  return file;
}

/** The MLP's output computed in float64 directly from the weights (the independent reference). */
export function mlpReference(
  w: { w1: ArrayLike<number>; b1: ArrayLike<number>; w2: ArrayLike<number>; b2: ArrayLike<number> },
  x: ArrayLike<number>,
): number[] {
  const out: number[] = [];
  for (let row = 0; row < 2; row++) {
    const h: number[] = [];
    for (let j = 0; j < 8; j++) {
      let s = w.b1[j]!;
      for (let k = 0; k < 4; k++) s += x[row * 4 + k]! * w.w1[k * 8 + j]!;
      h.push(Math.max(0, s));
    }
    for (let j = 0; j < 3; j++) {
      let s = w.b2[j]!;
      for (let k = 0; k < 8; k++) s += h[k]! * w.w2[k * 3 + j]!;
      out.push(s);
    }
  }
  return out;
}

export { node };
