import { Menu, shell } from 'electron';
import type { BrowserWindow, MenuItemConstructorOptions } from 'electron';

const ROUTES: Array<[string, string]> = [
  ['Kitchens', 'kitchens'],
  ['Eval sets', 'evalsets'],
  ['Evaluate', 'evaluate'],
  ['Cook', 'cook'],
  ['Compare', 'compare'],
  ['Report', 'report'],
];

export function installMenu(window: BrowserWindow): void {
  const go = (route: string) => () =>
    void window.webContents.executeJavaScript(`location.hash = '#/${route}'`);
  const template: MenuItemConstructorOptions[] = [
    ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
    { role: 'fileMenu' },
    { role: 'editMenu' },
    {
      label: 'Go',
      submenu: ROUTES.map(([label, route], i) => ({
        label,
        accelerator: `CmdOrCtrl+${i + 1}`,
        click: go(route),
      })),
    },
    { role: 'viewMenu' },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [
        {
          label: 'Model soups paper (arXiv 2203.05482)',
          click: () => void shell.openExternal('https://arxiv.org/abs/2203.05482'),
        },
      ],
    },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}
