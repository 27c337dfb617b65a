import { TureenError } from '../../common/errors.js';
import type { Command, OptionSpec } from '../command.js';
import { stringOption } from '../command.js';
import { replayVerb } from './cook/replay.js';
import { methodVerbs } from './cook/verbs.js';
import type { CookVerb } from './cook/verb.js';

// Sub-verb modules should import these from ./cook/verb.js (no import cycle through this file).
export type { CookVerb } from './cook/verb.js';

/** The sub-verbs, in help order: one per method of the registry (core/recipes/methods/), soups first. */
export const cookVerbs: CookVerb[] = methodVerbs;

function mergedOptions(): OptionSpec {
  const merged: OptionSpec = { ...replayVerb.options };
  for (const verb of cookVerbs) Object.assign(merged, verb.options);
  return merged;
}

export const cookCommand: Command = {
  name: 'cook',
  summary:
    'cook a soup (uniform, greedy, learned, interpolate) or a merge (task-arithmetic, ties, dare, slerp, model-stock), or replay a recipe',
  get help() {
    return [
      'Usage: tureen cook <method> <file-or-dir>... --out <path> [options]',
      '       tureen cook --recipe <file.recipe.json> [--out <path>]',
      '',
      'Each --out gets the soup (.onnx or .safetensors, by extension) and <out>.recipe.json beside it.',
      '',
      ...cookVerbs.flatMap((v) => [`${v.name}: ${v.summary}`, v.help, '']),
      `--recipe: ${replayVerb.summary}`,
      replayVerb.help,
    ].join('\n');
  },
  get options() {
    return mergedOptions();
  },
  async run(args, ctx) {
    if (stringOption(args, 'recipe') !== undefined) {
      if (args.positionals.length) {
        throw new TureenError(
          'bad_request',
          `cook --recipe takes no method or checkpoints (got ${args.positionals.join(' ')})`,
        );
      }
      return replayVerb.run(args, ctx);
    }
    const [verbName, ...rest] = args.positionals;
    const verb = cookVerbs.find((v) => v.name === verbName);
    if (!verb) {
      const names = cookVerbs.map((v) => v.name).join(', ');
      throw new TureenError(
        'bad_request',
        verbName
          ? `unknown cook method "${verbName}"; use one of ${names}, or --recipe <file>`
          : `cook needs a method (${names}) or --recipe <file>; run \`tureen cook --help\``,
      );
    }
    return verb.run({ positionals: rest, values: args.values }, ctx);
  },
};
