import path from 'node:path';
import type { z } from 'zod';
import type { CookResult } from '../../../common/api/recipes.js';
import { TureenError } from '../../../common/errors.js';
import type { CliContext, CommandOutput, OptionSpec, ParsedArgs } from '../../command.js';
import { flag, listOption, stringOption } from '../../command.js';
import type { CookVerb } from './verb.js';
import { runJob } from './verb.js';
import {
  INFERENCE_HELP,
  evaluationJson,
  evaluationsText,
  inferenceOptions,
  inferenceRequest,
  resolvedList,
} from '../eval.js';

type Result = z.output<typeof CookResult>;

/** Options of the recipes that evaluate (greedy, learned). */
export const evaluatedCookOptions: OptionSpec = {
  holdout: { type: 'string' },
  eval: { type: 'string', multiple: true },
  out: { type: 'string', multiple: true },
  ...inferenceOptions,
};

export const EVALUATED_COOK_HELP = `  --holdout FILE     held-out eval set that selects (default: the one with role holdout in the folders)
  --eval FILE        further eval sets to report (default: id and shift sets in the folders)
  --out PATH         write the soup (.onnx or .safetensors) and PATH.recipe.json
${INFERENCE_HELP}`;

export function evaluatedCookRequest(args: ParsedArgs, method: string): Record<string, unknown> {
  if (args.positionals.length === 0)
    throw new TureenError('bad_request', `cook ${method} needs checkpoint files or folders`);
  const outs = listOption(args, 'out');
  if (outs.length > 1)
    throw new TureenError('bad_request', `cook ${method} writes one --out (got ${outs.length})`);
  const holdout = stringOption(args, 'holdout');
  const evals = resolvedList(args, 'eval');
  return {
    method,
    ingredients: args.positionals.map((p) => path.resolve(p)),
    ...(holdout ? { holdout: path.resolve(holdout) } : {}),
    ...(evals.length ? { evals } : {}),
    ...(outs[0] ? { out: path.resolve(outs[0]) } : {}),
    ...inferenceRequest(args),
  };
}

/** `tureen/cook@1` for evaluated recipes: the recipe, the soup's evaluations, the files written. */
export function evaluatedCookOutput(result: Result, human: string[]): CommandOutput {
  const { recipe } = result;
  return {
    json: {
      schema: 'tureen/cook@1',
      recipe_id: result.recipeId,
      recipe: {
        method: recipe.method,
        params: recipe.params,
        holdout: recipe.holdout,
        ingredients: recipe.ingredients,
        ...(recipe.steps ? { steps: recipe.steps } : {}),
        ...(recipe.coefficients
          ? {
              coefficients: recipe.coefficients,
              logit_scale: recipe.logit_scale,
              loss_curve: recipe.loss_curve,
              optimiser: recipe.optimiser,
              budget: recipe.budget,
            }
          : {}),
        ...(recipe.base !== undefined ? { base: recipe.base } : {}),
        ...(recipe.merge ? { merge: recipe.merge } : {}),
        ...(recipe.search ? { search: recipe.search } : {}),
        weights_sha256: recipe.weights_sha256,
      },
      evaluations: result.evaluations.map(evaluationJson),
      outputs: result.outputs,
      warnings: result.warnings ?? [],
    },
    human: [
      ...human,
      '',
      evaluationsText(result.evaluations),
      ...result.outputs.map((o) => `wrote ${o.path} (sha256 ${o.sha256.slice(0, 12)}…)`),
    ].join('\n'),
  };
}

export const greedyVerb: CookVerb = {
  name: 'greedy',
  summary: "the paper's greedy soup: add ingredients in held-out order while held-out accuracy does not drop",
  help: `  tureen cook greedy <file-or-dir>... --holdout <evalset> [--eval <evalset>...] [--strict] [--out PATH] [--json]
  --strict           accept only strictly better candidates (the authors' code) instead of not worse (the paper)
${EVALUATED_COOK_HELP}`,
  options: { ...evaluatedCookOptions, strict: { type: 'boolean', default: false } },
  async run(args: ParsedArgs, ctx: CliContext) {
    const result = await runJob<Result>(ctx, 'recipes:cook', {
      ...evaluatedCookRequest(args, 'greedy'),
      strict: flag(args, 'strict'),
    });
    const steps = result.recipe.steps ?? [];
    return evaluatedCookOutput(result, [
      `greedy soup: ${result.recipe.ingredients.length} of ${steps.length} ingredients (rule ${String(result.recipe.params.rule)})`,
      ...steps.map(
        (s) =>
          `  step ${String(s.step).padStart(2)}  ${s.accepted ? 'keep' : 'drop'}  held-out ${(100 * s.holdout_top1).toFixed(2)} %  ${s.candidate}`,
      ),
    ]);
  },
};
