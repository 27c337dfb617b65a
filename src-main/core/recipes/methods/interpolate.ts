import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { MetricValues } from '../../../common/api/evaluations.js';
import { TureenError } from '../../../common/errors.js';
import type { Ingredient, WeightAccumulator } from '../../checkpoints/index.js';
import type { Evaluation } from '../../store/evaluation-store.js';
import type { CookedSoup, SoupEnv, SoupMethod } from './method.js';

type Metrics = z.output<typeof MetricValues>;

/** The α grid of an interpolation sweep when none is given. */
export const DEFAULT_ALPHAS = Array.from({ length: 11 }, (_, i) => i / 10);

const Params = z.object({
  alpha: z
    .number()
    .refine(Number.isFinite, 'must be a finite number')
    .optional()
    .describe('the weight of B: θ = (1 − α)·A + α·B (outside [0, 1] extrapolates)'),
  alphas: z
    .array(z.number().min(-1).max(2))
    .min(1)
    .optional()
    .describe('an α grid evaluated on every eval set; the soup is the best α on the held-out set'),
});

export function metricValues(e: Evaluation): Metrics {
  return { n: e.n, correct: e.correct, top1: e.top1, top5: e.top5, nll: e.nll, ece: e.ece };
}

/**
 * A and B: the two files given, in the order given; else two ingredients, or the base and one fine-tuned
 * ingredient (WiSE-FT), of the family opened from a folder.
 */
function ends(env: SoupEnv): [Ingredient, Ingredient] {
  const { sweep } = env;
  const given = env.given.map((f) => path.resolve(f));
  if (given.length === 2 && given.every((f) => fs.existsSync(f) && !fs.statSync(f).isDirectory())) {
    const all = [...sweep.members, ...(sweep.base ? [sweep.base] : [])];
    const found = given.map((f) => {
      const ingredient = all.find((m) => m.path === f);
      if (!ingredient)
        throw new TureenError(
          'bad_request',
          `interpolate: ${f} is the same checkpoint (same weights) as the other one`,
          { file: f },
        );
      return ingredient;
    });
    return [found[0]!, found[1]!];
  }
  if (sweep.members.length === 2) return [sweep.members[0]!, sweep.members[1]!];
  if (sweep.members.length === 1 && sweep.base) return [sweep.base, sweep.members[0]!];
  throw new TureenError(
    'bad_request',
    `interpolation needs two checkpoints A and B (or a base and one fine-tuned checkpoint); got ${sweep.members.length} ingredient(s)${sweep.base ? ' and a base' : ''}`,
  );
}

/** θ(α) = (1 − α)·A + α·B; with a grid, every α on every eval set and the best on the held-out set kept. */
export const interpolate: SoupMethod<typeof Params> = {
  kind: 'soup',
  name: 'interpolate',
  title: 'Interpolation',
  summary: 'θ = (1 − α)·A + α·B (α outside [0, 1] extrapolates; A = a base gives WiSE-FT)',
  reference:
    'Wortsman et al., Robust fine-tuning of zero-shot models (WiSE-FT), CVPR 2022 (arXiv 2109.01903)',
  params: Params,
  // A and B: two files, or one fine-tuned ingredient and the base
  needs: { base: 'optional', models: { min: 2, max: 2 }, holdout: false, unlabelled: false },
  searchable: [],
  async cook(params, env): Promise<CookedSoup> {
    if (params.alpha !== undefined && params.alphas !== undefined)
      throw new TureenError('bad_request', 'interpolate takes one α (alpha) or a grid (alphas), not both', {
        field: 'alpha',
      });
    const [a, b] = ends(env);
    const named = { a: a.path, b: b.path };
    const label = (alpha: number) =>
      `interpolation ${env.sweep.relative(a.path)} → ${env.sweep.relative(b.path)} (α = ${alpha})`;
    const parts = (alpha: number) => [
      { ingredient: a, coefficient: 1 - alpha },
      { ingredient: b, coefficient: alpha },
    ];
    if (!env.evaluation) {
      if (params.alpha === undefined)
        throw new TureenError(
          'bad_request',
          'interpolate needs --alpha (θ = (1 − α)·A + α·B), or eval sets to sweep a grid on',
          { field: 'alpha' },
        );
      return {
        label: label(params.alpha),
        parts: parts(params.alpha),
        params: { alpha: params.alpha, ...named },
        fields: {},
      };
    }
    const { runner, models, plan } = env.evaluation;
    const grid = params.alphas ?? (params.alpha !== undefined ? [params.alpha] : DEFAULT_ALPHAS);
    const signal = runner.signal ? { signal: runner.signal } : {};
    const pointAt = async (alpha: number): Promise<WeightAccumulator> => {
      const sum = models.accumulator(env.precision);
      if (alpha !== 1) await sum.addScaled(a, 1 - alpha, signal);
      if (alpha !== 0) await sum.addScaled(b, alpha, signal);
      return sum;
    };
    const sets = [...(plan.holdout ? [plan.holdout.set] : []), ...plan.others.map((o) => o.set)];
    if (sets.length === 0) {
      if (grid.length > 1)
        throw new TureenError(
          'bad_evalset',
          'an interpolation sweep needs eval sets: pass --data (or --holdout/--eval)',
        );
      const alpha = grid[0]!;
      return {
        label: label(alpha),
        parts: parts(alpha),
        params: { alpha, ...named },
        fields: {},
        weights: { sum: await pointAt(alpha), scale: 1 },
      };
    }
    const points: Array<{ alpha: number; metrics: Record<string, Metrics> }> = [];
    runner.plan(grid.length * sets.reduce((s, x) => s + x.n, 0));
    let chosen: { alpha: number; correct: number; sum: WeightAccumulator } | null = null;
    const middle = grid[Math.floor(grid.length / 2)]!;
    for (const alpha of grid) {
      runner.throwIfCancelled();
      const sum = await pointAt(alpha);
      const { model } = models.soupModel(sum, 1, `α = ${alpha}`);
      const metrics: Record<string, Metrics> = {};
      for (const set of sets) {
        const result = await runner.evaluate(model, set, `α = ${alpha} on ${set.name}`);
        metrics[set.name] = metricValues(result.record);
      }
      points.push({ alpha, metrics });
      const score = plan.holdout ? metrics[plan.holdout.set.name]!.correct : alpha === middle ? 1 : 0;
      if (!chosen || score > chosen.correct) chosen = { alpha, correct: score, sum };
    }
    const { alpha, sum } = chosen!;
    return {
      label: label(alpha),
      parts: parts(alpha),
      params: {
        alpha,
        ...named,
        ...(grid.length > 1
          ? { alphas: [...grid], chosen_by: plan.holdout ? 'held-out top-1' : 'middle of the grid' }
          : {}),
      },
      fields: { points },
      weights: { sum, scale: 1 },
    };
  },
};
