import type { MergeMethod, Method, SoupMethod } from './method.js';
import { dare } from './dare.js';
import { greedy } from './greedy.js';
import { interpolate } from './interpolate.js';
import { learned } from './learned.js';
import { modelStock } from './model-stock.js';
import { slerp } from './slerp.js';
import { taskArithmetic } from './task-arithmetic.js';
import { ties } from './ties.js';
import { uniform } from './uniform.js';

/** The soup methods: combinations of the ingredients chosen with or without the held-out set. */
export const SOUP_METHODS: readonly SoupMethod[] = [
  uniform,
  greedy,
  learned,
  interpolate,
] as unknown as readonly SoupMethod[];

/** The merge methods: per-tensor arithmetic on task vectors. */
export const MERGE_METHODS: readonly MergeMethod[] = [
  taskArithmetic,
  ties,
  dare,
  slerp,
  modelStock,
] as unknown as readonly MergeMethod[];

/**
 * Every method, in the order of help texts, forms and docs. Adding a method is one file and one line here
 * (and its name in the contract's RecipeMethod, which a test keeps equal to this list).
 */
export const METHODS: readonly Method[] = [...SOUP_METHODS, ...MERGE_METHODS];

export function findMethod(name: string): Method | undefined {
  return METHODS.find((m) => m.name === name);
}

export function mergeMethod(name: string): MergeMethod | undefined {
  return MERGE_METHODS.find((m) => m.name === name);
}
