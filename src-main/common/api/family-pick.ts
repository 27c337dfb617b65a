import { z } from 'zod';

/**
 * How a request that opens checkpoints as one family picks what to open: which family when the inputs
 * hold several (its number in the refusal's list, or a prefix of its id), and for PyTorch checkpoints the
 * EMA weights instead of the raw ones. Spread into a request schema: `z.object({ ...FamilyPick, ... })`.
 */
export const FamilyPick = {
  /** the family to open when the inputs hold several: its number in the list the refusal gives, or its id */
  family: z.string().min(1).optional(),
  /** PyTorch checkpoints: open the EMA weights (state_dict_ema, model_ema, ema) instead of the raw ones */
  ema: z.boolean().optional(),
};

/**
 * The openFamily() options a request with FamilyPick fields asks for (absent fields stay absent). `ema` may
 * also be 'prefer' (a kitchen's default, added by the services: EMA weights where a checkpoint has them).
 */
export function familyPickOf<E extends boolean | 'prefer'>(req: {
  family?: string | undefined;
  ema?: E | undefined;
}): { family?: string; ema?: E } {
  return {
    ...(req.family !== undefined ? { family: req.family } : {}),
    ...(req.ema ? { ema: req.ema } : {}),
  };
}
