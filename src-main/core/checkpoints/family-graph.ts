import { create, toBinary } from '@bufbuild/protobuf';
import type { ModelProto, TensorProto } from 'onnx-buf';
import { ModelProtoSchema, StringStringEntryProtoSchema } from 'onnx-buf';
import { TureenError } from '../../common/errors.js';
import type { FloatDType } from '../tensors/dtypes.js';
import { fromOnnxDataType, isFloatDType } from '../tensors/dtypes.js';
import type { Family } from './families.js';
import type { Ingredient } from './ingredient.js';
import type { LayoutEntry, WeightLayout } from './layout.js';
import { buildLayout } from './layout.js';
import type { TensorLocation } from './onnx-file.js';
import { PROTOBUF_LIMIT, locateInitializers, readModelFile } from './onnx-file.js';
import { readRange } from './read-range.js';

const EXTERNAL = 1;

/** A family's graph serialised once, its float weights pointing at one external data buffer. */
export interface FamilyGraph {
  /** the ONNX model with every float initializer in external data `externalDataPath` */
  graphBytes: Uint8Array;
  /** the name to give onnxruntime: `SessionOptions.externalData: [{ path, data }]` */
  externalDataPath: string;
  layout: LayoutEntry[];
  totalBytes: number;
  /** `layout` and `totalBytes` as a WeightLayout (for `new WeightAccumulator(g.weightLayout)`) */
  weightLayout: WeightLayout;
  inputs: string[];
  outputs: string[];
}

function clearData(t: TensorProto): void {
  t.rawData = new Uint8Array(0);
  t.floatData = [];
  t.int32Data = [];
  t.int64Data = [];
  t.doubleData = [];
  t.uint64Data = [];
  t.externalData = [];
  t.dataLocation = 0;
}

export function embed(t: TensorProto, bytes: Uint8Array): void {
  clearData(t);
  t.rawData = bytes as Uint8Array<ArrayBuffer>;
}

export function pointAtExternal(t: TensorProto, location: string, offset: number, length: number): void {
  clearData(t);
  t.dataLocation = EXTERNAL;
  t.externalData = [
    create(StringStringEntryProtoSchema, { key: 'location', value: location }),
    create(StringStringEntryProtoSchema, { key: 'offset', value: String(offset) }),
    create(StringStringEntryProtoSchema, { key: 'length', value: String(length) }),
  ];
}

function readLocation(location: TensorLocation, owner: string): Promise<Uint8Array> {
  if (location.kind === 'memory') return Promise.resolve(location.bytes);
  return readRange(location.file, location.offset, location.byteLength, owner);
}

export interface PreparedModel {
  model: ModelProto;
  /** float initializers that take the soup's weights, in graph order */
  floats: Array<{ tensor: TensorProto; name: string; dtype: FloatDType; shape: number[] }>;
}

/**
 * Parse a family's graph and make it self-contained: initializers the checkpoint does not provide and
 * integer initializers (copied from `source`, identical across the family) are embedded; float
 * initializers the checkpoint provides are returned for the caller to point at new weights.
 */
export async function prepareFamilyModel(
  family: Family<Ingredient>,
): Promise<{ prepared: PreparedModel; source: Ingredient }> {
  const source = family.members[0] ?? family.base;
  if (!source) throw new TureenError('bad_request', `family ${family.label} has no ingredients`);
  if (!source.graphPath) {
    throw new TureenError(
      'not_supported',
      `${source.path}: no ONNX graph is bound (put graph.onnx beside it or pass --graph); only .safetensors soups can be written`,
      { file: source.path },
    );
  }
  const { bytes, model } = readModelFile(source.graphPath);
  const graphLocations = new Map(
    locateInitializers(source.graphPath, model.graph!, bytes).map((t) => [t.name, t.location]),
  );
  const floats: PreparedModel['floats'] = [];
  for (const t of model.graph!.initializer) {
    const graphDType = fromOnnxDataType(t.dataType)!;
    const own = source.tensor(t.name);
    const shape = t.dims.map(Number);
    if (own && isFloatDType(graphDType) && own.isFloat) {
      if (own.shape.join('x') !== shape.join('x')) {
        throw new TureenError(
          'family_mismatch',
          `${source.path}: tensor "${t.name}" has shape [${own.shape.join(', ')}] but ${source.graphPath} declares [${shape.join(', ')}]`,
          { file: source.path, tensor: t.name },
        );
      }
      floats.push({ tensor: t, name: t.name, dtype: graphDType, shape });
    } else if (own) {
      if (own.dtype !== graphDType) {
        throw new TureenError(
          'family_mismatch',
          `${source.path}: tensor "${t.name}" is ${own.dtype} but ${source.graphPath} declares ${graphDType}`,
          { file: source.path, tensor: t.name },
        );
      }
      embed(t, await source.readTensorBytes(t.name));
    } else if (t.dataLocation === EXTERNAL) {
      embed(t, await readLocation(graphLocations.get(t.name)!, source.graphPath));
    }
  }
  return { prepared: { model, floats }, source };
}

/**
 * The family's graph serialised ONCE with every float initializer moved to the external data file
 * `externalDataPath`; candidates are then evaluated by handing onnxruntime another weight buffer.
 */
export async function familyGraph(
  family: Family<Ingredient>,
  options: { externalDataPath?: string } = {},
): Promise<FamilyGraph> {
  const externalDataPath = options.externalDataPath ?? 'weights.bin';
  const { prepared } = await prepareFamilyModel(family);
  const weightLayout = buildLayout(prepared.floats);
  prepared.floats.forEach((f, i) => {
    const entry = weightLayout.entries[i]!;
    pointAtExternal(f.tensor, externalDataPath, entry.offset, entry.byteLength);
  });
  const graphBytes = toBinary(ModelProtoSchema, prepared.model);
  if (graphBytes.byteLength > PROTOBUF_LIMIT) {
    throw new TureenError(
      'not_supported',
      `${family.graphPath}: the graph without its float weights is still over 2 GiB`,
    );
  }
  const graph = prepared.model.graph!;
  const initializerNames = new Set(graph.initializer.map((t) => t.name));
  return {
    graphBytes,
    externalDataPath,
    layout: weightLayout.entries,
    totalBytes: weightLayout.totalBytes,
    weightLayout,
    inputs: graph.input.map((v) => v.name).filter((n) => !initializerNames.has(n)),
    outputs: graph.output.map((v) => v.name),
  };
}
