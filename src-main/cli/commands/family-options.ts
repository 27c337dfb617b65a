import type { OptionSpec, ParsedArgs } from '../command.js';
import { flag, stringOption } from '../command.js';

/** Options of every command that opens checkpoints as one family (request fields: FamilyPick). */
export const familyOptions: OptionSpec = {
  family: { type: 'string' },
  ema: { type: 'boolean' },
};

export const FAMILY_HELP = `  --family N|ID      when the inputs hold several families (the error lists them): which one to use
  --ema              PyTorch checkpoints: use the EMA weights (state_dict_ema, model_ema, ema), not the raw ones`;

/** The request fields (family, ema) the options ask for; absent options stay absent. */
export function familyRequest(args: ParsedArgs): { family?: string; ema?: boolean } {
  const family = stringOption(args, 'family');
  return { ...(family !== undefined ? { family } : {}), ...(flag(args, 'ema') ? { ema: true } : {}) };
}
