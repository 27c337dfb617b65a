import { TureenError } from '../../common/errors.js';
import type { DType } from '../tensors/dtypes.js';
import type { EvalSet } from './evalset.js';

/** What the inference host reports about a model's inputs and its logits output. */
export interface ModelSignature {
  inputs: Array<{ name: string; type: string; shape: Array<number | string> }>;
  /** number of logits per example when the output shape says so, else null (checked after the first batch) */
  classes: number | null;
}

const FLOAT_TYPES = new Set(['float32']);
const FEEDABLE_STORED = new Set<DType>(['u8', 'i8', 'i16', 'u16', 'i32', 'u32', 'i64', 'f32', 'f64']);

/**
 * Everything that can be checked before inference starts: input names, per-example shapes, dtypes, the label
 * range and the class subset range. Throws one error listing every problem, naming the file and tensor.
 */
export function validateEvalSet(set: EvalSet, model: ModelSignature, modelLabel: string): void {
  const problems: string[] = [];
  const given = new Map(set.inputs.map((i) => [i.name, i]));
  for (const input of model.inputs) {
    const stored = given.get(input.name);
    if (!stored) {
      problems.push(
        `the model input "${input.name}" has no tensor in the eval set (it has ${[...given.keys()].join(', ')})`,
      );
      continue;
    }
    if (!FLOAT_TYPES.has(input.type)) {
      problems.push(`the model input "${input.name}" is ${input.type}; Tureen feeds float32 inputs only`);
    } else if (!FEEDABLE_STORED.has(stored.dtype)) {
      problems.push(
        `"${input.name}" is stored as ${stored.dtype}; store it as uint8, an integer type, float32 or float64`,
      );
    }
    const expected = input.shape;
    if (expected.length > 0) {
      if (expected.length !== stored.shape.length) {
        problems.push(
          `"${input.name}" has shape ${JSON.stringify(stored.shape)} but the model expects rank ${expected.length} ${JSON.stringify(expected)}`,
        );
      } else {
        expected.slice(1).forEach((dim, axis) => {
          if (typeof dim === 'number' && dim > 0 && stored.shape[axis + 1] !== dim) {
            problems.push(
              `"${input.name}" axis ${axis + 1} is ${stored.shape[axis + 1]} but the model expects ${dim} (model shape ${JSON.stringify(expected)})`,
            );
          }
        });
      }
    }
  }
  const extra = [...given.keys()].filter((name) => !model.inputs.some((i) => i.name === name));
  if (extra.length)
    problems.push(`tensors ${extra.map((e) => `"${e}"`).join(', ')} are not inputs of the model`);
  if (model.classes !== null) problems.push(...labelProblems(set, model.classes));
  if (problems.length) {
    throw new TureenError(
      'bad_evalset',
      `eval set ${set.file} does not fit ${modelLabel}: ${problems.join('; ')}`,
      { file: set.file, model: modelLabel, problems },
    );
  }
}

/** Label and class-subset range against the number of logits the model produces. */
export function labelProblems(set: EvalSet, classes: number): string[] {
  const problems: string[] = [];
  if (set.classSubset) {
    const outside = set.classSubset.filter((c) => c >= classes);
    if (outside.length) {
      problems.push(
        `tureen.class_subset lists logit indices ${outside.slice(0, 5).join(', ')} but the model has ${classes} logits`,
      );
    }
  } else {
    let max = -1;
    for (const label of set.labels) if (label > max) max = label;
    if (max >= classes)
      problems.push(
        `"labels" reaches ${max} but the model has ${classes} logits (labels must be < ${classes})`,
      );
  }
  return problems;
}
