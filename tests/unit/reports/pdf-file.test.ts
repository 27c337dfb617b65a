import { describe, expect, it } from 'vitest';
import { countPdfPages, reportFileName } from '../../../src-main/core/reports/pdf-file.js';

/** A minimal PDF with `n` pages, written by hand (the page tree has /Type /Pages, each page /Type /Page). */
function handMadePdf(n: number): Uint8Array {
  const kids = Array.from({ length: n }, (_, i) => `${i + 3} 0 R`).join(' ');
  const objects = [
    '1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj',
    `2 0 obj << /Type /Pages /Kids [${kids}] /Count ${n} >> endobj`,
    ...Array.from(
      { length: n },
      (_, i) => `${i + 3} 0 obj <</Type/Page/Parent 2 0 R/MediaBox [0 0 595 842]>> endobj`,
    ),
  ];
  return new TextEncoder().encode(`%PDF-1.4\n${objects.join('\n')}\ntrailer << /Root 1 0 R >>\n%%EOF\n`);
}

describe('countPdfPages', () => {
  it('counts page objects, not the page tree', () => {
    expect(countPdfPages(handMadePdf(1))).toBe(1);
    expect(countPdfPages(handMadePdf(7))).toBe(7);
  });
  it('reads a slice of a larger buffer correctly', () => {
    const pdf = handMadePdf(3);
    const pool = new Uint8Array(pdf.length + 20);
    pool.set(pdf, 10);
    expect(countPdfPages(pool.subarray(10, 10 + pdf.length))).toBe(3);
  });
});

describe('reportFileName', () => {
  it('keeps only safe characters and stamps the time', () => {
    const name = reportFileName(
      'Demo kitchen (Fashion-MNIST ViT sweep)',
      new Date('2026-11-29T07:05:09.123Z'),
    );
    expect(name).toBe('tureen-report-Demo-kitchen-Fashion-MNIST-ViT-sweep-2026-11-29T070509.pdf');
  });
  it('never gives an empty name', () => {
    expect(reportFileName('///', new Date('2026-01-02T03:04:05Z'))).toBe(
      'tureen-report-kitchen-2026-01-02T030405.pdf',
    );
  });
});
