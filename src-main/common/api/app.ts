import { z } from 'zod';
import { channel } from '../contract.js';

export const ExecutionProviderInfo = z.object({
  name: z.string(),
  available: z.boolean(),
  reason: z.string().nullable(),
});

export const AppInfo = z.object({
  name: z.literal('Tureen'),
  version: z.string(),
  transport: z.enum(['electron', 'http', 'cli']),
  databasePath: z.string(),
  dataDir: z.string(),
  versions: z.object({
    node: z.string(),
    onnxruntime: z.string(),
    sqlite: z.string(),
    electron: z.string().nullable(),
  }),
  platform: z.string(),
  executionProviders: z.array(ExecutionProviderInfo),
  chosenProvider: z.string(),
  capabilities: z.object({ pickFolder: z.boolean(), savePdfDialog: z.boolean() }),
});

export const appApi = {
  'app:info': channel('Version, paths, execution providers', z.object({}), AppInfo),
  'dialog:pickFolder': channel(
    'Native folder picker (Electron only; serve mode answers not_supported)',
    z.object({ title: z.string().optional() }),
    z.object({ path: z.string().nullable() }),
  ),
};
