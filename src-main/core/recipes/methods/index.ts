import type { MergeMethod } from './method.js';
import { dare } from './dare.js';
import { modelStock } from './model-stock.js';
import { slerp } from './slerp.js';
import { taskArithmetic } from './task-arithmetic.js';
import { ties } from './ties.js';

/** Every merge method, in the order of help texts and forms. Adding a method is one file and one line here. */
export const MERGE_METHODS: readonly MergeMethod[] = [
  taskArithmetic,
  ties,
  dare,
  slerp,
  modelStock,
] as unknown as readonly MergeMethod[];

export const MERGE_METHOD_NAMES = ['task-arithmetic', 'ties', 'dare', 'slerp', 'model-stock'] as const;
export type MergeMethodName = (typeof MERGE_METHOD_NAMES)[number];

export function mergeMethod(name: string): MergeMethod | undefined {
  return MERGE_METHODS.find((m) => m.name === name);
}
