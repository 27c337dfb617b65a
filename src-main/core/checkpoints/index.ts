/**
 * The checkpoint engine's public surface: read ONNX, safetensors and PyTorch checkpoints, group them into
 * families, average them streaming, lay weights out for onnxruntime, and write soups with their recipe.
 */
export type {
  Ingredient,
  IngredientFormat,
  IngredientSummary,
  OpenIngredientOptions,
  PickleSummary,
  TensorData,
  TensorInfo,
} from './ingredient.js';
export {
  BASE_FOLDER_NAMES,
  TORCH_EXTENSIONS,
  WRAPPER_PREFIXES,
  checkpointFileIn,
  findBoundGraph,
  isBaseFolder,
  isTorchFileName,
  openIngredient,
} from './ingredient.js';
export type {
  Family,
  FamilyReport,
  FamilyWarning,
  FamilyWarningCode,
  GroupOptions,
  Mismatch,
  MismatchDetail,
  MismatchKind,
} from './families.js';
export { compareIngredients, groupFamilies, parameterCount, signatureOf } from './families.js';
export type { FamilyGraph } from './family-graph.js';
export { familyGraph } from './family-graph.js';
export type { LayoutEntry, WeightLayout } from './layout.js';
export { buildLayout, weightLayout } from './layout.js';
export type { Precision } from './accumulator.js';
export { WeightAccumulator } from './accumulator.js';
export type { SoupFormat, SoupPart, WriteSoupOptions, WrittenOutput, WrittenSoup } from './soup.js';
export {
  averageIngredients,
  recipeIngredients,
  soupFormatOf,
  verifyIdenticalIntegers,
  writeSoup,
} from './soup.js';
export type { RecipeDocument, RecipeIngredient } from './recipe.js';
export { RECIPE_SCHEMA, makeRecipe, readRecipe, recipePathFor, writeRecipes } from './recipe.js';
export type { GraphSummary, TensorLocation } from './onnx-file.js';
export type { SafetensorsEntry, SafetensorsHeader } from './safetensors.js';
export { readSafetensorsHeader } from './safetensors.js';
export { checkpointSha256, sha256File } from './hashing.js';
export type { DType, FloatDType } from '../tensors/dtypes.js';
export { parseFloatDType } from '../tensors/dtypes.js';
export type { PickleNotice } from './torch/notices.js';
export { pickleNotices } from './torch/notices.js';
