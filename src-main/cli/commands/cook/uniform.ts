import path from 'node:path';
import type { z } from 'zod';
import type { WeightCookResult } from '../../../common/api/checkpoints.js';
import { TureenError } from '../../../common/errors.js';
import { parseFloatDType } from '../../../core/tensors/dtypes.js';
import type { CliContext, CommandOutput, OptionSpec, ParsedArgs } from '../../command.js';
import { flag, listOption, stringOption } from '../../command.js';
import type { CookVerb } from './verb.js';
import { runJob } from './verb.js';

type Result = z.output<typeof WeightCookResult>;

/** Options every weight-averaging verb shares. */
export const weightOptions: OptionSpec = {
  out: { type: 'string', multiple: true },
  dtype: { type: 'string' },
  graph: { type: 'string' },
  f64: { type: 'boolean', default: false },
  'external-data': { type: 'boolean', default: false },
};

export const WEIGHT_OPTIONS_HELP = `  --out PATH         .onnx or .safetensors (repeatable; each gets PATH.recipe.json)
  --dtype D          f32 | f16 | bf16 | f64 for .safetensors outputs (default: the ingredients')
  --graph FILE       ONNX graph for safetensors state dicts (default: graph.onnx beside them or above)
  --f64              accumulate in float64 (default float32)
  --external-data    .onnx: weights in PATH.data even when under 2 GB`;

export function weightRequest(args: ParsedArgs): Record<string, unknown> {
  const outputs = listOption(args, 'out');
  if (outputs.length === 0) throw new TureenError('bad_request', 'give --out <path.onnx|path.safetensors>');
  const dtype = stringOption(args, 'dtype');
  const graph = stringOption(args, 'graph');
  return {
    outputs: outputs.map((o) => path.resolve(o)),
    ...(dtype ? { dtype: parseFloatDType(dtype) } : {}),
    ...(graph ? { graph: path.resolve(graph) } : {}),
    ...(flag(args, 'f64') ? { precision: 'f64' } : {}),
    ...(flag(args, 'external-data') ? { externalData: true } : {}),
  };
}

/** The `tureen/cook@1` document and the human summary of a weight soup. */
export function cookOutput(result: Result, extra: Record<string, unknown> = {}): CommandOutput {
  const lines = [
    `${result.recipe.method} soup of ${result.recipe.ingredients.length} checkpoint(s):`,
    ...result.recipe.ingredients.map((i) => `  ${i.coefficient.toPrecision(6).padStart(10)} × ${i.path}`),
    ...result.outputs.map(
      (o) => `wrote ${o.path} (${(o.bytes / 1e6).toFixed(1)} MB, sha256 ${o.sha256.slice(0, 12)}…)`,
    ),
    ...result.recipeFiles.map((f) => `recipe ${f}`),
    ...result.warnings.map((w) => `warning: ${w}`),
  ];
  return {
    json: {
      schema: 'tureen/cook@1',
      recipe: {
        method: result.recipe.method,
        params: result.recipe.params,
        ingredients: result.recipe.ingredients,
      },
      outputs: result.outputs.map((o) => o.path),
      files: result.outputs,
      recipes: result.recipeFiles,
      warnings: result.warnings,
      ...extra,
    },
    human: lines.join('\n'),
  };
}

export async function cookWeightsCli(
  ctx: CliContext,
  request: Record<string, unknown>,
): Promise<CommandOutput> {
  const result = await runJob<Result>(ctx, 'checkpoints:cook', request);
  for (const w of result.warnings) ctx.note(`warning: ${w}`);
  return cookOutput(result);
}

export const uniformVerb: CookVerb = {
  name: 'uniform',
  summary: 'the mean of all checkpoints (a base found in a base/pretrained/zeroshot folder is left out)',
  help: `  tureen cook uniform <file-or-dir>... --out PATH [--dtype f32|f16|bf16] [--json]\n${WEIGHT_OPTIONS_HELP}`,
  options: weightOptions,
  async run(args: ParsedArgs, ctx: CliContext) {
    if (args.positionals.length === 0)
      throw new TureenError('bad_request', 'cook uniform needs checkpoint files or folders');
    return cookWeightsCli(ctx, {
      method: 'uniform',
      ingredients: args.positionals.map((p) => path.resolve(p)),
      ...weightRequest(args),
    });
  },
};
