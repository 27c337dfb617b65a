import path from 'node:path';
import { app, dialog } from 'electron';
import type { BrowserWindow } from 'electron';
import { TureenError } from '../common/errors.js';
import { writeAll, writeFilesAtomically } from '../core/checkpoints/atomic.js';
import {
  countPdfPages,
  PDF_FOOTER_TEMPLATE,
  PDF_HEADER_TEMPLATE,
  PDF_MARGINS_MM,
  reportFileName,
} from '../core/reports/pdf-file.js';
import type { Handler } from '../core/service.js';

const inches = (mm: number) => mm / 25.4;

/**
 * `reports:savePdf` in the desktop app: the window already shows the report, so Electron prints it
 * (vector, print CSS) and the user picks where the file goes. No system Chromium is needed here.
 */
export function savePdfHandler(window: () => BrowserWindow | null): Handler<'reports:savePdf'> {
  return async (request) => {
    const owner = window();
    if (!owner) throw new TureenError('not_found', 'no window to print; open the Report view first');
    if (!owner.webContents.getURL().includes('#/report')) {
      throw new TureenError('bad_request', 'open the Report view before saving it as PDF');
    }
    const kitchenName =
      owner.webContents.getTitle().replace(/^Tureen report — /, '') || `kitchen-${request.kitchenId}`;
    const choice = await dialog.showSaveDialog(owner, {
      title: 'Save the report as PDF',
      defaultPath: path.join(app.getPath('documents'), reportFileName(kitchenName)),
      filters: [{ name: 'PDF', extensions: ['pdf'] }],
    });
    if (choice.canceled || !choice.filePath) return { path: null, pages: 0, bytes: 0, base64: null };
    const pdf = await owner.webContents.printToPDF({
      pageSize: request.paper ?? 'A4',
      printBackground: true,
      displayHeaderFooter: true,
      headerTemplate: PDF_HEADER_TEMPLATE,
      footerTemplate: PDF_FOOTER_TEMPLATE,
      margins: {
        top: inches(PDF_MARGINS_MM.top),
        bottom: inches(PDF_MARGINS_MM.bottom),
        left: inches(PDF_MARGINS_MM.left),
        right: inches(PDF_MARGINS_MM.right),
      },
    });
    const file = choice.filePath.toLowerCase().endsWith('.pdf') ? choice.filePath : `${choice.filePath}.pdf`;
    writeFilesAtomically([{ path: file, write: (fd) => writeAll(fd, pdf) }]);
    return { path: file, pages: countPdfPages(pdf), bytes: pdf.length, base64: null };
  };
}
