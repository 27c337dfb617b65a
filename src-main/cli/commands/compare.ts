import path from 'node:path';
import type { z } from 'zod';
import type { CompareTable } from '../../common/api/recipes.js';
import { TureenError } from '../../common/errors.js';
import type { Command } from '../command.js';
import { stringOption } from '../command.js';
import { COMPARE_LAMBDA_SEARCH } from '../../core/recipes/compare-methods.js';
import { MERGE_METHODS } from '../../core/recipes/methods/index.js';
import { INFERENCE_HELP, inferenceOptions, inferenceRequest, resolvedList, textTable } from './eval.js';
import { FAMILY_HELP, familyOptions, familyRequest } from './family-options.js';

type Table = z.output<typeof CompareTable>;

function pValue(p: number | null | undefined): string {
  if (p === null || p === undefined) return '—';
  return p < 0.001 ? '<0.001' : p.toFixed(3);
}

function compareText(table: Table): string {
  const sets = table.evalsets;
  const shiftSets = sets.filter((s) => s.role === 'shift');
  const primary = sets.find((s) => s.role === 'id') ?? sets[0]!;
  const header = [
    'kind',
    'model',
    ...sets.map((s) => `${s.name} (${s.role})`),
    ...(shiftSets.length ? ['mean shift'] : []),
    'cost',
    `p vs best (${primary.name})`,
  ];
  const rows = table.rows.map((r) => [
    r.kind,
    r.label.length > 48 ? `${r.label.slice(0, 47)}…` : r.label,
    ...sets.map((s) => {
      const m = r.metrics[s.name];
      return m ? (100 * m.top1).toFixed(2) : '—';
    }),
    ...(shiftSets.length ? [r.meanShift === null ? '—' : (100 * r.meanShift).toFixed(2)] : []),
    `${r.relativeCost}×`,
    pValue(r.mcnemarP[primary.name]),
  ]);
  const lines = [
    `top-1 % per eval set; ${table.rows[0]?.params.toLocaleString('en-US') ?? 0} parameters per model; provider ${table.provider}, onnxruntime ${table.ortVersion}`,
    textTable(header, rows),
  ];
  for (const w of table.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

export const compareCommand: Command = {
  name: 'compare',
  summary:
    'the full comparison: every ingredient, best single, oracle, uniform/greedy/learned soups, merge methods, ensembles',
  help: `Usage: tureen compare <file-or-dir>... [--holdout <evalset>] [--eval <evalset>...] [--learned-budget 48] [--methods M,M,...] [--family N] [--ema] [--json]

Evaluates every ingredient (and the base, found by its folder name base/pretrained/zeroshot) on every eval
set, cooks the uniform, greedy and learned soups, forms the logit ensemble and the greedy ensemble from
cached logits, and prints one row each with top-1 per set, the mean over shift sets, the relative inference
cost and McNemar's exact p-value against the best single model (chosen on the held-out set).
Without --holdout/--eval, eval sets are found in the folders by role (exactly one holdout; any id, shift).
  --learned-budget N held-out evaluations for the learned soup (0 leaves it out; default 48)
  --methods M,M,...  rows to cook: uniform, greedy, learned and any merge method (${MERGE_METHODS.map((m) => m.name).join(', ')});
                     default: uniform, greedy, learned, plus model-stock and task-arithmetic (λ searched on the
                     held-out set over ${COMPARE_LAMBDA_SEARCH.split('=')[1]}) when the sweep has a base
${FAMILY_HELP}
${INFERENCE_HELP}`,
  options: {
    holdout: { type: 'string' },
    eval: { type: 'string', multiple: true },
    'learned-budget': { type: 'string' },
    methods: { type: 'string' },
    ...familyOptions,
    ...inferenceOptions,
  },
  async run(args, ctx) {
    if (args.positionals.length === 0)
      throw new TureenError('bad_request', 'compare needs a folder of checkpoints (or files)');
    const holdout = stringOption(args, 'holdout');
    const evals = resolvedList(args, 'eval');
    const budgetText = stringOption(args, 'learned-budget');
    const methods = stringOption(args, 'methods');
    const budget = budgetText === undefined ? undefined : Number(budgetText);
    if (budget !== undefined && (!Number.isInteger(budget) || budget < 0)) {
      throw new TureenError(
        'bad_request',
        `--learned-budget must be a non-negative integer, got ${budgetText}`,
      );
    }
    const table = await ctx.kitchen().run('compare:run', {
      folders: args.positionals.map((p) => path.resolve(p)),
      ...(holdout ? { holdout: path.resolve(holdout) } : {}),
      ...(evals.length ? { evals } : {}),
      ...(budget !== undefined ? { learnedBudget: budget } : {}),
      ...(methods ? { methods: methods.split(',').map((m) => m.trim()) } : {}),
      ...familyRequest(args),
      ...inferenceRequest(args),
    });
    return {
      json: {
        schema: 'tureen/compare@1',
        id: table.id,
        folders: table.folders,
        evalsets: table.evalsets,
        provider: table.provider,
        onnxruntime: table.ortVersion,
        rows: table.rows.map((r) => ({
          kind: r.kind,
          label: r.label,
          ingredients: r.ingredients,
          metrics: r.metrics,
          mean_shift: r.meanShift,
          params: r.params,
          relative_cost: r.relativeCost,
          mcnemar_p: r.mcnemarP,
          recipe_id: r.recipeId,
          ...(r.chosen ? { chosen: r.chosen } : {}),
          ...(r.method ? { method: r.method } : {}),
        })),
        warnings: table.warnings,
      },
      human: compareText(table),
    };
  },
};
