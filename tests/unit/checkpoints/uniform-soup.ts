import type {
  Family,
  FamilyGraph,
  Ingredient,
  WeightAccumulator,
} from '../../../src-main/core/checkpoints/index.js';
import {
  averageIngredients,
  familyGraph,
  groupFamilies,
  openIngredient,
} from '../../../src-main/core/checkpoints/index.js';

/** The uniform soup of some checkpoint files, with its family graph and the external data onnxruntime needs. */
export async function uniformSoup(files: readonly string[]): Promise<{
  family: Family<Ingredient>;
  weights: WeightAccumulator;
  scale: number;
  graph: FamilyGraph;
  externalData: { path: string; data: Buffer };
}> {
  const { families } = await groupFamilies(files.map((f) => openIngredient(f)));
  const family = families[0]!;
  const parts = family.members.map((ingredient) => ({ ingredient, coefficient: 1 / family.members.length }));
  const { weights, scale } = await averageIngredients(family, parts);
  const graph = await familyGraph(family);
  return {
    family,
    weights,
    scale,
    graph,
    externalData: { path: graph.externalDataPath, data: weights.toBuffer(scale, graph.weightLayout) },
  };
}
