import path from 'node:path';
import { writeAll, writeFilesAtomically } from '../checkpoints/atomic.js';
import { buildReportData } from '../reports/data.js';
import { kitchenById } from '../reports/sources.js';
import { reportFileName } from '../reports/pdf-file.js';
import { prepareReport } from '../reports/prepare.js';
import { renderReportPdf } from '../reports/render-pdf.js';
import { rendererDir } from '../renderer-files.js';
import type { ApiClient, Handlers, ServiceContext } from '../service.js';

/**
 * Reports read through the contract (`client`), so they show exactly what the views show. The desktop
 * shell overrides `reports:savePdf` with printToPDF and a save dialog.
 */
export function reportHandlers(
  ctx: ServiceContext,
  client: ApiClient,
): Handlers<'reports:data' | 'reports:prepare' | 'reports:savePdf'> {
  return {
    'reports:data': (req) => buildReportData(ctx, client, req.kitchenId),
    'reports:prepare': async (req) => {
      const kitchen = await kitchenById(client, req.kitchenId);
      const jobId = ctx.jobs.start('report', `Prepare the report of ${kitchen.name}`, (job) =>
        prepareReport(ctx, client, job, req),
      );
      return { jobId };
    },
    'reports:savePdf': async (req) => {
      const kitchen = await kitchenById(client, req.kitchenId);
      const { pdf, pages } = await renderReportPdf({
        invoke: (channel, payload) => client.invoke(channel, payload),
        staticDir: rendererDir(),
        kitchenId: kitchen.id,
        paper: req.paper ?? 'A4',
        logit: req.logit ?? false,
      });
      const dir = path.join(ctx.paths.dataDir, 'reports');
      const file = path.join(dir, reportFileName(kitchen.name));
      writeFilesAtomically([{ path: file, write: (fd) => writeAll(fd, pdf) }]);
      // A browser user cannot open the server's folder: hand the bytes over for a download as well.
      return {
        path: file,
        pages,
        bytes: pdf.length,
        base64: pdf.toString('base64'),
      };
    },
  };
}
