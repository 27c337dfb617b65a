import { TureenError } from '../../../common/errors.js';
import type { z } from 'zod';
import type { CookResult } from '../../../common/api/recipes.js';
import type { CliContext, ParsedArgs } from '../../command.js';
import { stringOption } from '../../command.js';
import type { CookVerb } from './verb.js';
import { runJob } from './verb.js';
import {
  EVALUATED_COOK_HELP,
  evaluatedCookOptions,
  evaluatedCookOutput,
  evaluatedCookRequest,
} from './greedy.js';

type Result = z.output<typeof CookResult>;

function integer(args: ParsedArgs, name: string): number | undefined {
  const text = stringOption(args, name);
  if (text === undefined) return undefined;
  const v = Number(text);
  if (!Number.isInteger(v)) throw new TureenError('bad_request', `--${name} must be an integer, got ${text}`);
  return v;
}

export const learnedVerb: CookVerb = {
  name: 'learned',
  summary:
    'mixing coefficients and a logit scale minimising held-out cross-entropy (CMA-ES, seeded, budgeted)',
  help: `  tureen cook learned <file-or-dir>... --holdout <evalset> [--budget 48] [--seed 0] [--eval ...] [--out PATH] [--json]
  --budget N         held-out evaluations the optimiser may spend (default 48)
  --seed N           optimiser seed (default 0)
${EVALUATED_COOK_HELP}`,
  options: { ...evaluatedCookOptions, budget: { type: 'string' }, seed: { type: 'string' } },
  async run(args: ParsedArgs, ctx: CliContext) {
    const budget = integer(args, 'budget');
    const seed = integer(args, 'seed');
    const result = await runJob<Result>(ctx, 'recipes:cook', {
      ...evaluatedCookRequest(args, 'learned'),
      ...(budget !== undefined ? { budget } : {}),
      ...(seed !== undefined ? { seed } : {}),
    });
    const r = result.recipe;
    return evaluatedCookOutput(result, [
      `learned soup of ${r.ingredients.length} ingredients, logit scale ${r.logit_scale?.toFixed(4)}, ${r.loss_curve?.length ?? 0} held-out evaluations`,
      `  optimiser: ${r.optimiser ?? ''}`,
      ...r.ingredients.map((i) => `  ${i.coefficient.toFixed(4).padStart(8)} × ${i.path}`),
      `  held-out loss: ${r.loss_curve?.[0]?.loss.toFixed(4)} (uniform start) → ${r.loss_curve?.at(-1)?.loss.toFixed(4)}`,
    ]);
  },
};
