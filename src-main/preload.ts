import { contextBridge, ipcRenderer } from 'electron';
import type { IpcRendererEvent } from 'electron';

// The whole bridge: one way to call the contract, one way to hear its events. The main process
// checks the channel name, the sender and the payload; nothing else is exposed.
contextBridge.exposeInMainWorld('tureen', {
  invoke: (channel: string, payload: unknown): Promise<unknown> =>
    ipcRenderer.invoke('tureen:invoke', channel, payload),
  subscribe: (listener: (name: string, payload: unknown) => void): (() => void) => {
    const handler = (_event: IpcRendererEvent, name: string, payload: unknown) => listener(name, payload);
    ipcRenderer.on('tureen:event', handler);
    return () => ipcRenderer.removeListener('tureen:event', handler);
  },
});
