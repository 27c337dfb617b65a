import fs from 'node:fs';
import { create, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';

const FLOAT = 1;

/**
 * A tiny image classifier written as ONNX: GlobalAveragePool over [N, C, H, W], Flatten, Gemm to `classes`
 * logits with seeded weights. Its inference costs next to nothing, so reading and converting the eval set
 * is what a test of the inference host measures.
 */
export function writeTinyModel(
  file: string,
  shape: { channels: number; height: number; width: number; classes: number },
  inputName = 'image',
): void {
  const { channels, height, width, classes } = shape;
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const weights = Float32Array.from({ length: channels * classes }, random);
  const bias = Float32Array.from({ length: classes }, random);
  const dims = (list: Array<number | string>) =>
    list.map((d) =>
      typeof d === 'string'
        ? { value: { case: 'dimParam' as const, value: d } }
        : { value: { case: 'dimValue' as const, value: BigInt(d) } },
    );
  const tensorType = (list: Array<number | string>) => ({
    value: { case: 'tensorType' as const, value: { elemType: FLOAT, shape: { dim: dims(list) } } },
  });
  const initializer = (name: string, values: Float32Array, list: number[]) => ({
    name,
    dataType: FLOAT,
    dims: list.map(BigInt),
    rawData: new Uint8Array(values.buffer as ArrayBuffer),
  });
  const model = create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: 'tureen-tests',
    opsetImport: [{ domain: '', version: 13n }],
    graph: {
      name: 'tiny',
      node: [
        { opType: 'GlobalAveragePool', input: [inputName], output: ['pooled'] },
        { opType: 'Flatten', input: ['pooled'], output: ['flat'] },
        { opType: 'Gemm', input: ['flat', 'W', 'B'], output: ['logits'] },
      ],
      initializer: [initializer('W', weights, [channels, classes]), initializer('B', bias, [classes])],
      input: [{ name: inputName, type: tensorType(['N', channels, height, width]) }],
      output: [{ name: 'logits', type: tensorType(['N', classes]) }],
    },
  });
  fs.writeFileSync(file, toBinary(ModelProtoSchema, model));
}
