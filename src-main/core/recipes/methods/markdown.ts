import { describeMethod } from './describe.js';
import type { ParamDescription } from './describe.js';
import { METHODS } from './index.js';

function bounds(p: ParamDescription): string {
  if (p.kind === 'choice') return p.choices?.join(' \\| ') ?? '';
  if (p.kind === 'boolean' || p.kind === 'numbers') return '';
  const low = p.minimum === undefined ? '' : `${p.minimum} ${p.exclusiveMinimum ? '<' : '≤'} `;
  const high = p.maximum === undefined ? '' : ` ${p.exclusiveMaximum ? '<' : '≤'} ${p.maximum}`;
  return low || high ? `${low}x${high}` : '';
}

/**
 * The method list of docs/cli.md, generated from the registry (a test keeps the docs equal to it):
 * one table row per parameter, with its default and range.
 */
export function methodsMarkdown(): string {
  const lines: string[] = [];
  for (const d of METHODS.map(describeMethod)) {
    const needs = [
      d.needs.base === 'required' ? 'a base' : d.needs.base === 'optional' ? 'optionally a base' : null,
      d.needs.holdout ? 'a held-out set' : null,
      d.needs.models.max === d.needs.models.min
        ? `exactly ${d.needs.models.min} ingredients`
        : `at least ${d.needs.models.min} ingredient${d.needs.models.min > 1 ? 's' : ''}`,
    ].filter((x) => x !== null);
    lines.push(`### cook ${d.name}`, '', `${d.title}: ${d.summary}. Needs ${needs.join(' and ')}.`, '');
    lines.push(`Reference: ${d.reference}.`, '');
    if (d.params.length) {
      lines.push('| option | default | range | searchable | meaning |', '|---|---|---|---|---|');
      for (const p of d.params) {
        const value =
          p.kind === 'boolean' ? '' : p.kind === 'numbers' ? ' W,W,…' : p.kind === 'choice' ? ' NAME' : ' X';
        const dflt = p.default === undefined ? '—' : String(p.default);
        lines.push(
          `| \`--${p.name}${value}\` | ${dflt} | ${bounds(p) || '—'} | ${p.searchable ? 'yes' : ''} | ${p.description} |`,
        );
      }
      lines.push('');
    } else lines.push('No parameters.', '');
  }
  return lines.join('\n').trimEnd();
}
