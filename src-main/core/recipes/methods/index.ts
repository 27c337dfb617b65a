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

export function mergeMethod(name: string): MergeMethod | undefined {
  return MERGE_METHODS.find((m) => m.name === name);
}
