/** The "Import image folder…" form of the Eval sets view: proposals and parsing, kept out of the component. */
import type { EvalSetImportRequest, EvalSetImportResult } from '../../src-main/common/api/evalsets.js';
import type { z } from 'zod';
import { kitchenOf } from './paths.js';

export type ImportRequest = z.input<typeof EvalSetImportRequest>;
export type ImportResult = z.output<typeof EvalSetImportResult>;

export interface ImportForm {
  folder: string;
  out: string;
  name: string;
  role: '' | 'holdout' | 'id' | 'shift';
  size: string;
  crop: string;
  channels: '1' | '3';
  mean: string;
  std: string;
  strict: boolean;
}

function separatorOf(path: string): string {
  return path.includes('\\') && !path.includes('/') ? '\\' : '/';
}

/**
 * Where to write the eval set: the `data/` folder of the kitchen holding the image folder (serve mode
 * writes only inside kitchens), else beside the image folder.
 */
export function proposeOutput(folder: string, kitchens: readonly { path: string }[]): string {
  const trimmed = folder.trim().replace(/[\\/]+$/, '');
  if (!trimmed) return '';
  const sep = separatorOf(trimmed);
  const name = trimmed.split(/[\\/]/).pop() ?? 'images';
  const kitchen = kitchenOf(trimmed, kitchens);
  if (kitchen) return `${kitchen.path.replace(/[\\/]+$/, '')}${sep}data${sep}${name}.safetensors`;
  const parent = trimmed.slice(0, trimmed.length - name.length).replace(/[\\/]+$/, '');
  return `${parent}${sep}${name}.safetensors`;
}

function side(text: string, label: string): number | undefined | string {
  if (text.trim() === '') return undefined;
  const value = Number(text);
  return Number.isInteger(value) && value > 0 ? value : `${label} must be a whole number of pixels`;
}

function stats(text: string, label: string): number[] | undefined | string {
  if (text.trim() === '') return undefined;
  const values = text
    .split(/[\s,;]+/)
    .filter(Boolean)
    .map(Number);
  return (values.length === 1 || values.length === 3) && values.every(Number.isFinite)
    ? values
    : `${label} takes 1 or 3 numbers`;
}

/** The request for `evalsets:import`, or the first problem with the form. */
export function importRequest(form: ImportForm): ImportRequest | string {
  if (!form.folder.trim()) return 'choose the image folder';
  if (!form.out.trim()) return 'choose where to write the eval set';
  const size = side(form.size, 'Resize');
  const crop = side(form.crop, 'Crop');
  const mean = stats(form.mean, 'Mean');
  const std = stats(form.std, 'Std');
  for (const value of [size, crop, mean, std]) if (typeof value === 'string') return value;
  return {
    folder: form.folder.trim(),
    out: form.out.trim(),
    channels: form.channels === '1' ? 1 : 3,
    strict: form.strict,
    ...(form.name.trim() ? { name: form.name.trim() } : {}),
    ...(form.role ? { role: form.role } : {}),
    ...(typeof size === 'number' ? { size } : {}),
    ...(typeof crop === 'number' ? { crop } : {}),
    ...(Array.isArray(mean) ? { mean } : {}),
    ...(Array.isArray(std) ? { std } : {}),
  };
}
