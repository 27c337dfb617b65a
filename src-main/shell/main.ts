import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { app, dialog, utilityProcess } from 'electron';
import type { BrowserWindow } from 'electron';
import { utilityProcessSpawner } from '../core/inference/spawner.js';
import { Kitchen } from '../core/kitchen.js';
import { wireIpc } from './ipc.js';
import { installMenu } from './menu.js';
import { electronSqliteBinding } from './native-binding.js';
import { shellOverrides } from './overrides.js';
import { createMainWindow } from './window.js';

// The built app lives in out/{main,preload,renderer}; this file is out/main/index.js.
const outDir = path.join(import.meta.dirname, '..');
const appRoot = path.join(outDir, '..');

let kitchen: Kitchen | null = null;
let window: BrowserWindow | null = null;

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (window) {
      if (window.isMinimized()) window.restore();
      window.focus();
    }
  });

  app.whenReady().then(
    async () => {
      try {
        window = createMainWindow(outDir);
        kitchen = new Kitchen({
          transport: 'electron',
          // ONNX Runtime blocks the thread that runs it: inference lives in a utility process, never here.
          hostSpawner: utilityProcessSpawner((entry) =>
            utilityProcess.fork(entry, [], { serviceName: 'Tureen inference' }),
          ),
          nativeBinding: electronSqliteBinding(appRoot, process.resourcesPath),
          demoKitchen: app.isPackaged ? path.join(process.resourcesPath, 'demo-soup') : undefined,
          electronVersion: process.versions.electron ?? null,
          overrides: shellOverrides(() => window),
        });
        const index = path.join(outDir, 'renderer', 'index.html');
        wireIpc(kitchen, window, pathToFileURL(index).href);
        installMenu(window);
        await window.loadFile(index);
      } catch (error) {
        dialog.showErrorBox('Tureen cannot start', (error as Error).message);
        app.exit(1);
      }
    },
    (error: unknown) => {
      console.error(error);
      app.exit(1);
    },
  );

  app.on('window-all-closed', () => {
    kitchen?.close();
    kitchen = null;
    app.quit();
  });
}
