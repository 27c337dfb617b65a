/** PDF facts shared by the Chromium renderer and the desktop shell's printToPDF. */

/** Pages of a PDF, counted from its page objects (`/Type /Page`, not `/Pages`). */
export function countPdfPages(pdf: Uint8Array): number {
  const text = Buffer.from(pdf.buffer, pdf.byteOffset, pdf.byteLength).toString('latin1');
  return (text.match(/\/Type\s*\/Page(?![a-zA-Z])/g) ?? []).length;
}

/** Margins that keep the footer clear of the content. */
export const PDF_MARGINS_MM = { top: 12, bottom: 16, left: 12, right: 12 };

/** Footer with the page number; Chromium fills the spans (same template for page.pdf and printToPDF). */
export const PDF_FOOTER_TEMPLATE =
  '<div style="font-family: sans-serif; font-size: 8px; color: #5b6470; width: 100%; padding: 0 12mm; ' +
  'display: flex; justify-content: space-between;"><span class="title"></span>' +
  '<span>page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>';

export const PDF_HEADER_TEMPLATE = '<span></span>';

/** A file name for a kitchen's report: letters, digits, dots and dashes only. */
export function reportFileName(kitchenName: string, date = new Date()): string {
  const safe = kitchenName.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'kitchen';
  const stamp = date.toISOString().replace(/[:]/g, '').replace(/\..*$/, '');
  return `tureen-report-${safe}-${stamp}.pdf`;
}
