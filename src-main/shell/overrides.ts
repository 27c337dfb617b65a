import { dialog } from 'electron';
import type { BrowserWindow } from 'electron';
import type { Channel } from '../common/api.js';
import type { Handlers } from '../core/service.js';
import { savePdfHandler } from './pdf.js';

/** The calls only a desktop shell can answer (native dialogs); serve mode keeps the service's defaults. */
export function shellOverrides(window: () => BrowserWindow | null): Partial<Handlers<Channel>> {
  return {
    'dialog:pickFolder': async (request) => {
      const owner = window();
      const options = { title: request.title ?? 'Choose a folder', properties: ['openDirectory' as const] };
      const result = owner
        ? await dialog.showOpenDialog(owner, options)
        : await dialog.showOpenDialog(options);
      return { path: result.canceled ? null : (result.filePaths[0] ?? null) };
    },
    'reports:savePdf': savePdfHandler(window),
  };
}
