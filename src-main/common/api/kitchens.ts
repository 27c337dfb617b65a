import { z } from 'zod';
import { channel, event } from '../contract.js';

export const KitchenSummary = z.object({
  id: z.number().int(),
  path: z.string(),
  name: z.string(),
  addedAt: z.string(),
  isDemo: z.boolean(),
  /**
   * PyTorch checkpoints in this kitchen are opened with their EMA weights where they have them (raw where
   * not) unless a request says `ema`; default false (raw weights). Set with kitchens:setEma.
   */
  ema: z.boolean().optional(),
});

export const kitchensApi = {
  'kitchens:list': channel(
    'Registered kitchen folders',
    z.object({}),
    z.object({ kitchens: z.array(KitchenSummary) }),
  ),
  'kitchens:register': channel(
    'Register a folder of checkpoints (must exist, be readable, not be registered yet)',
    z.object({ path: z.string().min(1, 'path must not be empty'), name: z.string().min(1).optional() }),
    KitchenSummary,
  ),
  'kitchens:setEma': channel(
    "Use the EMA weights of this kitchen's PyTorch checkpoints (where they have them) by default, or the raw weights",
    z.object({ id: z.number().int().positive(), ema: z.boolean() }),
    KitchenSummary,
  ),
  'kitchens:remove': channel(
    'Forget a kitchen folder (files on disk are never touched)',
    z.object({ id: z.number().int().positive() }),
    z.object({ removed: z.boolean() }),
  ),
};

export const kitchensEvents = {
  'kitchens:changed': event('The list of kitchens changed', z.object({ reason: z.string() })),
};
