import path from 'node:path';
import { TureenError } from '../../../common/errors.js';
import { stringOption } from '../../command.js';
import type { CookVerb } from './verb.js';
import { WEIGHT_OPTIONS_HELP, cookWeightsCli, weightOptions, weightRequest } from './uniform.js';

export const interpolateVerb: CookVerb = {
  name: 'interpolate',
  summary: 'θ = (1 − α)·A + α·B (α outside [0, 1] extrapolates; A = a base gives WiSE-FT)',
  help: `  tureen cook interpolate <A> <B> --alpha A --out PATH [--json]\n  --alpha A          the weight of B\n${WEIGHT_OPTIONS_HELP}`,
  options: { ...weightOptions, alpha: { type: 'string' } },
  async run(args, ctx) {
    if (args.positionals.length !== 2) {
      throw new TureenError(
        'bad_request',
        `cook interpolate needs exactly two checkpoints A and B, got ${args.positionals.length}`,
      );
    }
    const text = stringOption(args, 'alpha');
    const alpha = text === undefined ? NaN : Number(text);
    if (!Number.isFinite(alpha))
      throw new TureenError(
        'bad_request',
        `--alpha must be a number (θ = (1 − α)·A + α·B), got ${text ?? 'nothing'}`,
      );
    return cookWeightsCli(ctx, {
      method: 'interpolate',
      ingredients: args.positionals.map((p) => path.resolve(p)),
      alpha,
      ...weightRequest(args),
    });
  },
};
