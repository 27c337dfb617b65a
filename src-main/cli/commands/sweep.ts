import path from 'node:path';
import { TureenError } from '../../common/errors.js';
import type { Command, ParsedArgs } from '../command.js';
import { listOption } from '../command.js';
import { INFERENCE_HELP, inferenceOptions, inferenceRequest, resolvedList, textTable } from './eval.js';

/**
 * α values: "0,0.1,0.5", repeated or space-separated options, and "0,0.1,...,1" (the step of the first two
 * values continued up to the last).
 */
export function parseAlphas(args: ParsedArgs): number[] | undefined {
  const tokens = listOption(args, 'alphas')
    .flatMap((t) => t.split(','))
    .map((t) => t.trim())
    .filter(Boolean);
  if (tokens.length === 0) return undefined;
  const ellipsis = tokens.indexOf('...');
  const numbers = (list: string[]) =>
    list.map((t) => {
      const v = Number(t);
      if (!Number.isFinite(v)) throw new TureenError('bad_request', `--alphas: "${t}" is not a number`);
      return v;
    });
  if (ellipsis < 0) return numbers(tokens);
  const before = numbers(tokens.slice(0, ellipsis));
  const after = numbers(tokens.slice(ellipsis + 1));
  if (before.length < 2 || after.length !== 1)
    throw new TureenError(
      'bad_request',
      '--alphas with "..." needs two values before it and one after (0,0.1,...,1)',
    );
  const step = before[1]! - before[0]!;
  const last = after[0]!;
  if (step <= 0 || last < before[before.length - 1]!)
    throw new TureenError('bad_request', '--alphas must increase');
  const count = Math.round((last - before[0]!) / step);
  // computed from the index, not by repeated addition, so 0.1 steps land on 0.3, not 0.30000000000000004
  return Array.from({ length: count + 1 }, (_, i) => Number((before[0]! + i * step).toPrecision(12)));
}

export const sweepCommand: Command = {
  name: 'sweep',
  summary: 'interpolate between two checkpoints (or base → fine-tuned: WiSE-FT) and evaluate every point',
  help: `Usage: tureen sweep <A> <B> --alphas 0,0.1,...,1 --data <evalset>... [--json]

Evaluates θ(α) = (1 − α)·A + α·B for every α on every eval set: the data of ID-vs-OOD curves.
  --alphas LIST      α values (comma- or space-separated; "0,0.1,...,1" continues the step); default 0,0.1,...,1
  --data FILE        eval sets (repeatable)
${INFERENCE_HELP}`,
  options: {
    alphas: { type: 'string', multiple: true },
    data: { type: 'string', multiple: true },
    ...inferenceOptions,
  },
  async run(args, ctx) {
    if (args.positionals.length !== 2)
      throw new TureenError(
        'bad_request',
        `sweep needs two checkpoints A and B, got ${args.positionals.length}`,
      );
    const data = resolvedList(args, 'data');
    if (data.length === 0) throw new TureenError('bad_request', 'sweep needs --data <evalset>');
    const alphas = parseAlphas(args);
    const [a, b] = args.positionals.map((p) => path.resolve(p));
    const result = await ctx.kitchen().run('recipes:cook', {
      method: 'interpolate',
      ingredients: [a!, b!],
      evals: data,
      ...(alphas ? { alphas } : {}),
      ...inferenceRequest(args),
    });
    const points = result.recipe.points ?? [];
    const names = Object.keys(points[0]?.metrics ?? {});
    const human = textTable(
      ['α', ...names.map((n) => `${n} top-1 %`)],
      points.map((p) => [String(p.alpha), ...names.map((n) => (100 * p.metrics[n]!.top1).toFixed(2))]),
    );
    return {
      json: {
        schema: 'tureen/sweep@1',
        a: a!,
        b: b!,
        recipe_id: result.recipeId,
        points: points.map((p) => ({
          alpha: p.alpha,
          evaluations: Object.entries(p.metrics).map(([data, m]) => ({
            data,
            n: m.n,
            top1: m.top1,
            top5: m.top5,
            nll: m.nll,
            ece: m.ece,
          })),
        })),
      },
      human: `${a} → ${b}\n${human}`,
    };
  },
};
