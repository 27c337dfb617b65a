import path from 'node:path';
import type { z } from 'zod';
import type { CookResult } from '../../../common/api/recipes.js';
import { TureenError } from '../../../common/errors.js';
import type { ParamDescription } from '../../../core/recipes/methods/describe.js';
import { describeMethod } from '../../../core/recipes/methods/describe.js';
import { MERGE_METHODS } from '../../../core/recipes/methods/index.js';
import type { CliContext, OptionSpec, ParsedArgs } from '../../command.js';
import { flag, stringOption } from '../../command.js';
import {
  EVALUATED_COOK_HELP,
  evaluatedCookOptions,
  evaluatedCookOutput,
  evaluatedCookRequest,
} from './greedy.js';
import type { CookVerb } from './verb.js';
import { runJob } from './verb.js';

type Result = z.output<typeof CookResult>;

function range(p: ParamDescription): string {
  if (p.minimum === undefined && p.maximum === undefined) return '';
  const low = p.minimum === undefined ? '' : `${p.minimum}${p.exclusiveMinimum ? ' <' : ' ≤'} `;
  const high = p.maximum === undefined ? '' : ` ${p.exclusiveMaximum ? '<' : '≤'} ${p.maximum}`;
  return `; ${low}${p.name}${high}`;
}

function optionHelp(p: ParamDescription): string {
  const value = p.kind === 'boolean' ? '' : p.kind === 'numbers' ? ' W,W,…' : ' X';
  const shown =
    p.default === undefined || p.kind === 'boolean' ? '' : ` (default ${String(p.default)}${range(p)})`;
  return `  --${`${p.name}${value}`.padEnd(17)}${p.description}${shown}`;
}

/** The option's value as the method's params want it (numbers parsed here; ranges checked by the schema). */
function paramValue(args: ParsedArgs, p: ParamDescription): unknown {
  if (p.kind === 'boolean') return flag(args, p.name) ? true : undefined;
  const text = stringOption(args, p.name);
  if (text === undefined) return undefined;
  const numbers = (p.kind === 'numbers' ? text.split(',') : [text]).map((t) => Number(t.trim()));
  if (numbers.some((n) => !Number.isFinite(n)) || (p.kind === 'integer' && !Number.isInteger(numbers[0]))) {
    throw new TureenError(
      'bad_request',
      `--${p.name} must be ${p.kind === 'numbers' ? 'comma-separated numbers' : `a${p.kind === 'integer' ? 'n integer' : ' number'}`}, got ${text}`,
      { field: p.name },
    );
  }
  return p.kind === 'numbers' ? numbers : numbers[0];
}

function usage(
  name: string,
  needs: ReturnType<typeof describeMethod>['needs'],
  params: ParamDescription[],
): string {
  const models = needs.models.max === 2 && needs.models.min === 2 ? '<A> <B>' : '<file-or-dir>...';
  const base =
    needs.base === 'required' ? ' --base <file>' : needs.base === 'optional' ? ' [--base <file>]' : '';
  const shown = params.map((p) => (p.kind === 'boolean' ? ` [--${p.name}]` : ` [--${p.name} X]`)).join('');
  return `  tureen cook ${name} ${models}${base}${shown} [--search P=from:to:step] [--out PATH] [--json]`;
}

/** `tureen cook <method>` for one registered merge method: options, help and request from its description. */
function mergeVerb(description: ReturnType<typeof describeMethod>): CookVerb {
  const { name, params, needs } = description;
  const searchable = params.filter((p) => p.searchable).map((p) => p.name);
  const options: OptionSpec = {
    ...evaluatedCookOptions,
    base: { type: 'string' },
    search: { type: 'string' },
  };
  for (const p of params) options[p.name] = p.kind === 'boolean' ? { type: 'boolean' } : { type: 'string' };
  return {
    name,
    summary: description.summary,
    help: [
      usage(name, needs, params),
      `  (${description.reference})`,
      ...params.map(optionHelp),
      `  --base FILE        the checkpoint the ingredients were fine-tuned from${needs.base === 'required' ? ' (required; else one in a base/pretrained/zeroshot folder)' : ' (optional)'}`,
      ...(searchable.length
        ? [
            `  --search P=A:B:S   try ${searchable.join(' or ')} from A to B in steps of S on the held-out set; keep the best`,
          ]
        : []),
      EVALUATED_COOK_HELP,
    ].join('\n'),
    options,
    async run(args: ParsedArgs, ctx: CliContext) {
      const values: Record<string, unknown> = {};
      for (const p of params) {
        const v = paramValue(args, p);
        if (v !== undefined) values[p.name] = v;
      }
      const base = stringOption(args, 'base');
      const search = stringOption(args, 'search');
      const result = await runJob<Result>(ctx, 'recipes:cook', {
        ...evaluatedCookRequest(args, name),
        params: values,
        ...(base ? { base: path.resolve(base) } : {}),
        ...(search ? { search } : {}),
      });
      const r = result.recipe;
      const curve = r.search
        ? [
            `  ${r.search.param} searched on ${r.search.holdout.name}: chose ${r.search.chosen}`,
            ...r.search.points.map(
              (p) =>
                `    ${String(p.value).padStart(8)}  held-out ${(100 * p.holdout_top1).toFixed(2)} %${p.value === r.search!.chosen ? '  ←' : ''}`,
            ),
          ]
        : [];
      return evaluatedCookOutput(result, [
        `${description.title} of ${r.ingredients.length} ingredients${r.base ? ` on base ${r.base.path}` : ''}`,
        `  params: ${JSON.stringify(r.params)}`,
        ...curve,
        ...(result.warnings ?? []).map((w) => `warning: ${w}`),
      ]);
    },
  };
}

/** One verb per registered merge method, in registry order. */
export const mergeVerbs: CookVerb[] = MERGE_METHODS.map((m) => mergeVerb(describeMethod(m)));
