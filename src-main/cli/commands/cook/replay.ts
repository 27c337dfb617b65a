import path from 'node:path';
import { listOption, stringOption } from '../../command.js';
import { averagedText, cookJson } from './document.js';
import type { CookVerb } from './verb.js';

export const replayVerb: CookVerb = {
  name: 'replay',
  summary: 'cook a recipe again; refuses ingredients whose sha256 changed',
  help: `  tureen cook --recipe FILE.recipe.json [--out PATH]... [--graph FILE] [--json]\n  --out PATH         write here instead of the recipe's own outputs`,
  options: { recipe: { type: 'string' }, out: { type: 'string', multiple: true }, graph: { type: 'string' } },
  async run(args, ctx) {
    const recipe = path.resolve(stringOption(args, 'recipe')!);
    const outputs = listOption(args, 'out').map((o) => path.resolve(o));
    const graph = stringOption(args, 'graph');
    const result = await ctx.kitchen().run('checkpoints:replay', {
      recipe,
      ...(outputs.length ? { outputs } : {}),
      ...(graph ? { graph: path.resolve(graph) } : {}),
    });
    for (const w of result.warnings) ctx.note(`warning: ${w}`);
    // the same document as a cook, with no stored recipe and no evaluation (a replay only writes)
    const cooked = { ...result, recipeId: null, evaluations: [] };
    const same = result.reproduced.map((r) =>
      r.same === null
        ? `${r.path}: no recorded hash to compare`
        : r.same
          ? `${r.path}: identical to the recorded soup`
          : `${r.path}: differs from the recorded soup (sha256 ${r.sha256.slice(0, 12)}… vs ${r.recorded!.slice(0, 12)}…)`,
    );
    return {
      json: cookJson(cooked, { replayed: recipe, reproduced: result.reproduced }),
      human: [...averagedText(cooked), ...same].join('\n'),
    };
  },
};
