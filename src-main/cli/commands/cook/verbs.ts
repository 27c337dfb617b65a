import path from 'node:path';
import type { ApiRequest } from '../../../common/api.js';
import { TureenError } from '../../../common/errors.js';
import type { MethodDescription, ParamDescription } from '../../../core/recipes/methods/describe.js';
import { describeMethod } from '../../../core/recipes/methods/describe.js';
import { METHODS } from '../../../core/recipes/methods/index.js';
import { parseFloatDType } from '../../../core/tensors/dtypes.js';
import type { CliContext, CommandOutput, OptionSpec, ParsedArgs } from '../../command.js';
import { flag, listOption, stringOption } from '../../command.js';
import { INFERENCE_HELP, inferenceOptions, inferenceRequest, resolvedList } from '../eval.js';
import { FAMILY_HELP, familyOptions, familyRequest } from '../family-options.js';
import type { Cooked } from './document.js';
import { averagedText, cookJson, cookedOf, evaluatedText } from './document.js';
import type { CookVerb } from './verb.js';

/** Options every `tureen cook <method>` takes (the method's own params are added from the registry). */
const commonOptions: OptionSpec = {
  out: { type: 'string', multiple: true },
  dtype: { type: 'string' },
  graph: { type: 'string' },
  f64: { type: 'boolean', default: false },
  'external-data': { type: 'boolean', default: false },
  holdout: { type: 'string' },
  eval: { type: 'string', multiple: true },
  base: { type: 'string' },
  search: { type: 'string' },
  ...inferenceOptions,
  ...familyOptions,
};

const WRITE_HELP = `  --out PATH         .onnx or .safetensors (repeatable; each gets PATH.recipe.json)
  --dtype D          f32 | f16 | bf16 | f64 for .safetensors outputs (default: the ingredients')
  --graph FILE       ONNX graph for safetensors state dicts (default: graph.onnx beside them or above)
  --f64              accumulate in float64 (default float32)
  --external-data    .onnx: weights in PATH.data even when under 2 GB`;

const EVAL_HELP = `  --holdout FILE     held-out eval set that selects (default: the one with role holdout in the folders)
  --eval FILE        further eval sets to report (default: id and shift sets in the folders)
${INFERENCE_HELP}`;

/**
 * Whether the soup is evaluated on the eval sets found in the folders without being asked. The linear
 * soups that choose nothing (uniform, interpolation with one α) are weight averaging first: they evaluate
 * only on the sets named with --holdout/--eval, so `tureen cook uniform` stays a file operation.
 */
function evaluatesUnasked(d: MethodDescription): boolean {
  return d.kind === 'merge' || d.needs.holdout;
}

function range(p: ParamDescription): string {
  if (p.minimum === undefined && p.maximum === undefined) return '';
  const low = p.minimum === undefined ? '' : `${p.minimum}${p.exclusiveMinimum ? ' <' : ' ≤'} `;
  const high = p.maximum === undefined ? '' : ` ${p.exclusiveMaximum ? '<' : '≤'} ${p.maximum}`;
  return `; ${low}${p.name}${high}`;
}

function optionHelp(p: ParamDescription): string {
  const value =
    p.kind === 'boolean' ? '' : p.kind === 'numbers' ? ' X,X,…' : p.kind === 'choice' ? ' NAME' : ' X';
  const choices = p.kind === 'choice' ? `: ${p.choices?.join(' | ') ?? ''}` : '';
  const shown =
    p.default === undefined || p.kind === 'boolean'
      ? choices
      : `${choices} (default ${String(p.default)}${range(p)})`;
  return `  --${`${p.name}${value}`.padEnd(17)}${p.description}${shown}`;
}

/** The option's value as the method's params want it (numbers parsed here; ranges checked by the schema). */
function paramValue(args: ParsedArgs, p: ParamDescription): unknown {
  if (p.kind === 'boolean') return flag(args, p.name) ? true : undefined;
  const text = stringOption(args, p.name);
  if (text === undefined) return undefined;
  if (p.kind === 'choice') {
    if (!p.choices?.includes(text))
      throw new TureenError(
        'bad_request',
        `--${p.name} must be one of ${p.choices?.join(', ')}, got ${text}`,
        {
          field: p.name,
        },
      );
    return text;
  }
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

function usage(d: MethodDescription): string {
  const { name, needs, params } = d;
  const models = needs.models.max === 2 && needs.models.min === 2 ? '<A> <B>' : '<file-or-dir>...';
  const base =
    needs.base === 'required' ? ' --base <file>' : needs.base === 'optional' ? ' [--base <file>]' : '';
  const holdout = needs.holdout ? ' --holdout <evalset>' : '';
  const shown = params.map((p) => (p.kind === 'boolean' ? ` [--${p.name}]` : ` [--${p.name} X]`)).join('');
  const search = params.some((p) => p.searchable) ? ' [--search P=from:to:step]' : '';
  return `  tureen cook ${name} ${models}${base}${holdout}${shown}${search} [--out PATH] [--json]`;
}

/** What the method's result says before its evaluations: the greedy steps, the learned mix, a merge's params. */
function story(d: MethodDescription, cooked: Cooked): string[] {
  const r = cooked.recipe;
  if (r.method === 'greedy') {
    return [
      r.params['with-replacement'] === true
        ? `greedy soup with replacement: ${r.steps.filter((s) => s.accepted).length} additions of ${r.ingredients.length} ingredients in ${r.steps.length} steps (rule ${String(r.params.rule)})`
        : `greedy soup: ${r.ingredients.length} of ${r.steps.length} ingredients (rule ${String(r.params.rule)})`,
      ...r.steps.map(
        (s) =>
          `  step ${String(s.step).padStart(2)}  ${s.accepted ? 'keep' : 'drop'}  held-out ${(100 * s.holdout_top1).toFixed(2)} %  ${s.candidate}`,
      ),
    ];
  }
  if (r.method === 'learned') {
    return [
      `learned soup of ${r.ingredients.length} ingredients, logit scale ${r.logit_scale.toFixed(4)}, ${r.loss_curve.length} held-out evaluations`,
      `  optimiser: ${r.optimiser ?? ''}`,
      ...r.ingredients.map((i) => `  ${i.coefficient.toFixed(4).padStart(8)} × ${i.path}`),
      `  held-out ${String(r.params.objective).startsWith('mean prediction entropy') ? 'entropy' : 'loss'}: ${r.loss_curve[0]?.loss.toFixed(4)} (uniform start) → ${r.loss_curve.at(-1)?.loss.toFixed(4)}`,
    ];
  }
  const search = r.search;
  const curve = search
    ? [
        `  ${search.param} searched on ${search.holdout.name}: chose ${search.chosen}`,
        ...search.points.map(
          (p) =>
            `    ${String(p.value).padStart(8)}  held-out ${(100 * p.holdout_top1).toFixed(2)} %${p.value === search.chosen ? '  ←' : ''}`,
        ),
      ]
    : [];
  return [
    `${d.title} of ${r.ingredients.length} ingredients${r.base ? ` on base ${r.base.path}` : ''}`,
    `  params: ${JSON.stringify(r.params)}`,
    ...curve,
    ...cooked.warnings.map((w) => `warning: ${w}`),
  ];
}

/** Checks with the older, more specific messages of the two-model soup. */
function checkInterpolation(args: ParsedArgs, evaluated: boolean): void {
  if (args.positionals.length !== 2) {
    throw new TureenError(
      'bad_request',
      `cook interpolate needs exactly two checkpoints A and B, got ${args.positionals.length}`,
    );
  }
  const text = stringOption(args, 'alpha');
  if (evaluated && text === undefined) return;
  const alpha = text === undefined ? NaN : Number(text);
  if (!Number.isFinite(alpha))
    throw new TureenError(
      'bad_request',
      `--alpha must be a number (θ = (1 − α)·A + α·B), got ${text ?? 'nothing'}`,
    );
}

/** `tureen cook <method>` for one method of the registry: options, help, request and output from it. */
function methodVerb(d: MethodDescription): CookVerb {
  const { name, params } = d;
  const searchable = params.filter((p) => p.searchable).map((p) => p.name);
  const options: OptionSpec = { ...commonOptions };
  for (const p of params) options[p.name] = p.kind === 'boolean' ? { type: 'boolean' } : { type: 'string' };
  return {
    name,
    summary: d.summary,
    help: [
      usage(d),
      `  (${d.reference})`,
      ...params.map(optionHelp),
      ...(d.needs.base !== 'none'
        ? [
            `  --base FILE        the checkpoint the ingredients were fine-tuned from${d.needs.base === 'required' ? ' (required; else one in a base/pretrained/zeroshot folder)' : ' (optional)'}`,
          ]
        : []),
      ...(searchable.length
        ? [
            `  --search P=A:B:S   try ${searchable.join(' or ')} from A to B in steps of S on the held-out set; keep the best`,
          ]
        : []),
      evaluatesUnasked(d)
        ? '  (evaluated on the eval sets given, or found in the folders by role)'
        : '  (evaluated only on the eval sets given with --holdout/--eval)',
      WRITE_HELP,
      EVAL_HELP,
      FAMILY_HELP,
    ].join('\n'),
    options,
    async run(args: ParsedArgs, ctx: CliContext): Promise<CommandOutput> {
      if (args.positionals.length === 0)
        throw new TureenError('bad_request', `cook ${name} needs checkpoint files or folders`);
      const holdout = stringOption(args, 'holdout');
      const evals = resolvedList(args, 'eval');
      const evaluate = evaluatesUnasked(d) || holdout !== undefined || evals.length > 0;
      if (name === 'interpolate') checkInterpolation(args, evaluate);
      const outputs = listOption(args, 'out').map((o) => path.resolve(o));
      if (!evaluate && outputs.length === 0)
        throw new TureenError('bad_request', 'give --out <path.onnx|path.safetensors>');
      const values: Record<string, unknown> = {};
      for (const p of params) {
        const v = paramValue(args, p);
        if (v !== undefined) values[p.name] = v;
      }
      const dtype = stringOption(args, 'dtype');
      const graph = stringOption(args, 'graph');
      const base = stringOption(args, 'base');
      const search = stringOption(args, 'search');
      // assembled from argv (method and params by name); Kitchen.invoke validates it against the contract
      const request = {
        method: name,
        ingredients: args.positionals.map((p) => path.resolve(p)),
        params: values,
        evaluate,
        ...(holdout ? { holdout: path.resolve(holdout) } : {}),
        ...(evals.length ? { evals } : {}),
        ...(outputs.length ? { outputs } : {}),
        ...(dtype ? { dtype: parseFloatDType(dtype) } : {}),
        ...(graph ? { graph: path.resolve(graph) } : {}),
        ...(flag(args, 'f64') ? { precision: 'f64' } : {}),
        ...(flag(args, 'external-data') ? { externalData: true } : {}),
        ...(base ? { base: path.resolve(base) } : {}),
        ...(search ? { search } : {}),
        ...inferenceRequest(args),
        ...familyRequest(args),
      } as ApiRequest<'recipes:cook'>;
      const result = await ctx.kitchen().run('recipes:cook', request);
      const cooked = cookedOf(result);
      if (!evaluatesUnasked(d)) {
        // a file operation: its warnings reach stderr at once, as scan's do
        for (const w of cooked.warnings) ctx.note(`warning: ${w}`);
        const lines = averagedText(cooked);
        if (cooked.evaluations.length) lines.push(...evaluatedText({ ...cooked, outputs: [] }));
        return { json: cookJson(cooked), human: lines.join('\n') };
      }
      return { json: cookJson(cooked), human: [...story(d, cooked), ...evaluatedText(cooked)].join('\n') };
    },
  };
}

/** One verb per method of the registry, in registry order (soups first, then merges). */
export const methodVerbs: CookVerb[] = METHODS.map((m) => methodVerb(describeMethod(m)));
