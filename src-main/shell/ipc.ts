import { ipcMain } from 'electron';
import type { BrowserWindow, IpcMainInvokeEvent } from 'electron';
import { toErrorInfo, TureenError } from '../common/errors.js';
import type { Kitchen } from '../core/kitchen.js';

/** Only our own pages may call the service: the top frame of our window, loaded from our files. */
function checkSender(event: IpcMainInvokeEvent, window: BrowserWindow, allowedOrigin: string): void {
  const frame = event.senderFrame;
  if (
    event.sender !== window.webContents ||
    !frame ||
    frame.parent !== null ||
    !frame.url.startsWith(allowedOrigin)
  ) {
    throw new TureenError('unauthorized', `IPC from an unexpected frame: ${frame?.url ?? '(gone)'}`);
  }
}

/**
 * One invoke channel carries every contract call; results travel in an envelope because Electron turns
 * thrown errors into bare strings and would lose the error code.
 */
export function wireIpc(kitchen: Kitchen, window: BrowserWindow, allowedOrigin: string): () => void {
  ipcMain.handle('tureen:invoke', async (event, channel: unknown, payload: unknown) => {
    try {
      checkSender(event, window, allowedOrigin);
      if (typeof channel !== 'string') throw new TureenError('bad_request', 'channel must be a string');
      return { ok: true, value: await kitchen.invoke(channel, payload) };
    } catch (error) {
      return { ok: false, error: toErrorInfo(error) };
    }
  });
  const unsubscribe = kitchen.events.subscribe((name, payload) => {
    if (!window.isDestroyed()) window.webContents.send('tureen:event', name, payload);
  });
  return () => {
    ipcMain.removeHandler('tureen:invoke');
    unsubscribe();
  };
}
