import { TureenError } from '../../common/errors.js';
import { detectProviders, onnxruntimeVersion, preferredProvider } from '../inference/providers.js';
import { packageVersion } from '../paths.js';
import { sqliteVersion } from '../store/database.js';
import type { Handlers, ServiceContext } from '../service.js';

export function appHandlers(
  ctx: ServiceContext,
  electronVersion: string | null,
): Handlers<'app:info' | 'dialog:pickFolder'> {
  return {
    'app:info': () => {
      const providers = detectProviders();
      const sqlite = sqliteVersion(ctx.db);
      return {
        name: 'Tureen' as const,
        version: packageVersion(),
        transport: ctx.transport,
        databasePath: ctx.paths.databasePath,
        dataDir: ctx.paths.dataDir,
        versions: {
          node: process.versions.node,
          onnxruntime: onnxruntimeVersion(),
          sqlite,
          electron: electronVersion,
        },
        platform: `${process.platform}-${process.arch}`,
        executionProviders: providers,
        chosenProvider: preferredProvider(providers),
        capabilities: {
          pickFolder: ctx.transport === 'electron',
          savePdfDialog: ctx.transport === 'electron',
        },
      };
    },
    'dialog:pickFolder': () => {
      throw new TureenError(
        'not_supported',
        'the native folder picker exists only in the desktop app; type the folder path instead',
      );
    },
  };
}
