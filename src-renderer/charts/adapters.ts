/**
 * From the API's shapes (comparison table, recipes) to the charts' plain props. Pure, so the views, the
 * report and the tests share one mapping.
 */
import type { z } from 'zod';
import type { CompareTable, Recipe } from '../../src-main/common/api/recipes.js';
import { checkpointName } from '../lib/paths.js';
import { isFarOutside } from './scale.js';
import type {
  Coefficient,
  EvalSetRef,
  GreedyProgress,
  GreedyStep,
  InterpolationPoint,
  LossPoint,
  ModelKind,
  ModelScore,
} from './types.js';

type Table = z.output<typeof CompareTable>;
type RecipeData = z.output<typeof Recipe>;

const isAbsolute = (p: string) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\');

/**
 * A checkpoint's display name, the same whether the API gave it relative to the comparison's folder or as
 * an absolute path: resolve it in `roots[0]`, then name it relative to the kitchen (checkpointName).
 */
export function nameIn(roots: readonly string[], file: string): string {
  const folder = roots[0];
  const full = isAbsolute(file) || !folder ? file : `${folder.replace(/[\\/]+$/, '')}/${file}`;
  return checkpointName(full, roots);
}

const KIND_OF_ROW: Record<string, ModelKind | null> = {
  ingredient: 'ingredient',
  base: 'base',
  uniform_soup: 'uniform',
  greedy_soup: 'greedy',
  learned_soup: 'learned',
  ensemble: 'ensemble',
  greedy_ensemble: 'greedy_ensemble',
  // the best single model is one of the ingredients (it gets a ring); the oracle is not one model
  best_single: null,
  oracle: null,
};

export function evalSetRefs(table: Table): EvalSetRef[] {
  return table.evalsets
    .filter((s): s is typeof s & { role: EvalSetRef['role'] } => ['holdout', 'id', 'shift'].includes(s.role))
    .map((s) => ({ name: s.name, role: s.role, n: s.n }));
}

/** Every plotted model of a comparison: ingredients (best on held-out ringed), base, soups, ensembles. */
export function modelScores(table: Table): ModelScore[] {
  const sets = evalSetRefs(table);
  const idSet = sets.find((s) => s.role === 'id') ?? null;
  const shifts = sets.filter((s) => s.role === 'shift');
  const best = table.rows.find((r) => r.kind === 'best_single');
  const bestPath = best?.ingredients[0] ?? null;
  const out: ModelScore[] = [];
  table.rows.forEach((row, index) => {
    const kind = KIND_OF_ROW[row.kind];
    if (!kind) return;
    out.push({
      key: `${row.kind}:${index}`,
      label:
        kind === 'ingredient' || kind === 'base'
          ? nameIn(table.folders, row.ingredients[0] ?? row.label)
          : row.label,
      kind,
      id: idSet ? (row.metrics[idSet.name]?.top1 ?? null) : null,
      shiftMean: row.meanShift,
      shifts: Object.fromEntries(shifts.map((s) => [s.name, row.metrics[s.name]?.top1 ?? null])),
      cost: row.relativeCost,
      best: kind === 'ingredient' && bestPath !== null && row.ingredients[0] === bestPath,
    });
  });
  return out;
}

export function greedySteps(recipe: RecipeData, roots: readonly string[] = []): GreedyStep[] {
  return (recipe.steps ?? []).map((s) => ({
    step: s.step,
    candidate: nameIn(roots, s.candidate),
    heldout: s.holdout_top1,
    accepted: s.accepted,
  }));
}

/** Greedy soup prefixes (k accepted ingredients) as test accuracy on the id set and mean over shifts. */
export function greedyProgress(
  prefixes: ReadonlyArray<{ models: number; top1: Record<string, number | null> }>,
  sets: readonly EvalSetRef[],
): GreedyProgress[] {
  const idSet = sets.find((s) => s.role === 'id');
  const shifts = sets.filter((s) => s.role === 'shift');
  return [...prefixes]
    .sort((a, b) => a.models - b.models)
    .map((p) => {
      const values = shifts.map((s) => p.top1[s.name]).filter((v): v is number => typeof v === 'number');
      return {
        models: p.models,
        id: idSet ? (p.top1[idSet.name] ?? null) : null,
        shiftMean:
          values.length === shifts.length && values.length > 0
            ? values.reduce((a, b) => a + b, 0) / values.length
            : null,
      };
    });
}

export function interpolationPoints(recipe: RecipeData): InterpolationPoint[] {
  return (recipe.points ?? []).map((p) => ({
    alpha: p.alpha,
    sets: Object.fromEntries(Object.entries(p.metrics).map(([name, m]) => [name, m.top1])),
  }));
}

export function learnedCoefficients(recipe: RecipeData, roots: readonly string[] = []): Coefficient[] {
  const values = recipe.coefficients ?? recipe.ingredients.map((i) => i.coefficient);
  return recipe.ingredients.map((ingredient, i) => ({
    label: nameIn(roots, ingredient.path),
    value: values[i] ?? 0,
  }));
}

export function lossCurve(recipe: RecipeData): LossPoint[] {
  return (recipe.loss_curve ?? []).map((p) => ({ step: p.evaluation, loss: p.loss }));
}

/**
 * The values an axis is scaled to: every model's, except a base so far outside the others that it would
 * squash them into a corner (it is then drawn at the edge, marked off scale).
 */
export function axisValues(models: readonly ModelScore[], value: (m: ModelScore) => number | null): number[] {
  const finite = (v: number | null): v is number => v !== null && Number.isFinite(v);
  const others = models
    .filter((m) => m.kind !== 'base')
    .map(value)
    .filter(finite);
  return models
    .filter((m) => {
      const v = value(m);
      return m.kind !== 'base' || v === null || !isFarOutside(v, others);
    })
    .map(value)
    .filter(finite);
}
