/**
 * Reads a model's own preprocessing so an import matches it: a Hugging Face `preprocessor_config.json`
 * (image processors: size, crop_size, image_mean, image_std, resample) or a timm pretrained config
 * (`pretrained_cfg` in a hub config.json, or the bare dict: input_size, crop_pct, interpolation, mean, std).
 * timm evaluates with Resize(floor(size / crop_pct)) then CenterCrop(size), which is what this returns.
 */
import fs from 'node:fs';
import { TureenError } from '../../../common/errors.js';
import type { ResampleFilter } from './resample.js';

export interface PreprocessSettings {
  size?: number;
  crop?: number;
  mean?: number[];
  std?: number[];
  channels?: 1 | 3;
  resample?: ResampleFilter;
  /** which kind of file it was, for the import's recipe */
  source: 'huggingface' | 'timm';
}

/** PIL's Resampling enum values, as Hugging Face image processors store them. */
const PIL_RESAMPLE: Record<number, ResampleFilter | undefined> = {
  1: 'lanczos',
  2: 'bilinear',
  3: 'bicubic',
  4: 'box',
  5: 'hamming',
};

type Json = Record<string, unknown>;

function fail(file: string, field: string, why: string): never {
  throw new TureenError('bad_request', `${file}: ${field} ${why}`, { file, field });
}

function numberList(file: string, field: string, value: unknown): number[] | undefined {
  if (value === undefined || value === null) return undefined;
  const list = typeof value === 'number' ? [value] : value;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((v) => typeof v === 'number' && Number.isFinite(v))
  )
    fail(file, field, 'must be a number or a list of numbers');
  return list as number[];
}

function positiveInt(file: string, field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0)
    fail(file, field, 'must be a positive integer');
  return value;
}

/** HF sizes: an int, {shortest_edge}, or {height, width} (square only: Tureen crops squares). */
function hfSize(file: string, field: string, value: unknown, kind: 'resize' | 'crop'): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return positiveInt(file, field, value);
  if (typeof value !== 'object') fail(file, field, 'must be an integer or an object');
  const v = value as Json;
  if (kind === 'resize' && v.shortest_edge !== undefined) {
    if (v.longest_edge !== undefined)
      fail(file, `${field}.longest_edge`, 'is not supported (Tureen resizes the shorter side only)');
    return positiveInt(file, `${field}.shortest_edge`, v.shortest_edge);
  }
  if (v.height !== undefined && v.width !== undefined) {
    if (kind === 'resize')
      fail(
        file,
        field,
        `{height, width} resizes without keeping the aspect ratio, which Tureen does not do; use --size and --crop`,
      );
    if (v.height !== v.width) fail(file, field, 'must be square (height equal to width)');
    return positiveInt(file, `${field}.height`, v.height);
  }
  fail(file, field, 'has no shortest_edge or height/width');
}

function fromHuggingFace(file: string, json: Json): PreprocessSettings {
  const out: PreprocessSettings = { source: 'huggingface' };
  if (json.do_resize !== false) {
    const size = hfSize(file, 'size', json.size, 'resize');
    if (size !== undefined) out.size = size;
  }
  if (json.do_center_crop !== false) {
    const crop = hfSize(file, 'crop_size', json.crop_size, 'crop');
    if (crop !== undefined) out.crop = crop;
  }
  if (json.do_normalize !== false) {
    const mean = numberList(file, 'image_mean', json.image_mean);
    const std = numberList(file, 'image_std', json.image_std);
    if (mean) out.mean = mean;
    if (std) out.std = std;
  }
  if (json.resample !== undefined) {
    const filter = typeof json.resample === 'number' ? PIL_RESAMPLE[json.resample] : undefined;
    if (!filter)
      fail(
        file,
        'resample',
        `${JSON.stringify(json.resample)} is not a PIL antialiasing filter Tureen implements`,
      );
    out.resample = filter;
  }
  return out;
}

function fromTimm(file: string, cfg: Json): PreprocessSettings {
  const out: PreprocessSettings = { source: 'timm' };
  const inputSize = cfg.test_input_size ?? cfg.input_size;
  if (inputSize !== undefined) {
    if (!Array.isArray(inputSize) || inputSize.length !== 3)
      fail(file, 'input_size', 'must be [channels, height, width]');
    const [c, h, w] = inputSize.map((v, i) => positiveInt(file, `input_size[${i}]`, v));
    if (h !== w) fail(file, 'input_size', `must be square (got ${h}x${w})`);
    if (c !== 1 && c !== 3) fail(file, 'input_size[0]', 'must be 1 or 3 channels');
    const cropPct = cfg.test_crop_pct ?? cfg.crop_pct ?? 0.875;
    if (typeof cropPct !== 'number' || !(cropPct > 0 && cropPct <= 1))
      fail(file, 'crop_pct', 'must be in (0, 1]');
    if (cfg.crop_mode !== undefined && cfg.crop_mode !== 'center')
      fail(file, 'crop_mode', `"${String(cfg.crop_mode)}" is not supported (only "center")`);
    out.channels = c as 1 | 3;
    out.size = Math.floor(h! / cropPct);
    out.crop = h!;
  }
  const mean = numberList(file, 'mean', cfg.mean);
  const std = numberList(file, 'std', cfg.std);
  if (mean) out.mean = mean;
  if (std) out.std = std;
  if (cfg.interpolation !== undefined) {
    const name = cfg.interpolation;
    if (
      name !== 'bilinear' &&
      name !== 'bicubic' &&
      name !== 'lanczos' &&
      name !== 'box' &&
      name !== 'hamming'
    )
      fail(file, 'interpolation', `"${String(name)}" is not a filter Tureen implements`);
    out.resample = name;
  }
  return out;
}

export function readPreprocessConfig(file: string): PreprocessSettings {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new TureenError(
      'bad_request',
      `cannot read the preprocessing config ${file}: ${(error as Error).message}`,
      {
        file,
      },
    );
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new TureenError('bad_request', `${file} is not a JSON object`, { file });
  const obj = json as Json;
  if (typeof obj.pretrained_cfg === 'object' && obj.pretrained_cfg !== null)
    return fromTimm(file, obj.pretrained_cfg as Json);
  if ('input_size' in obj || 'crop_pct' in obj || 'interpolation' in obj) return fromTimm(file, obj);
  if ('image_mean' in obj || 'crop_size' in obj || 'size' in obj || 'image_processor_type' in obj)
    return fromHuggingFace(file, obj);
  throw new TureenError(
    'bad_request',
    `${file} is neither a Hugging Face preprocessor_config.json (size, crop_size, image_mean, image_std) nor a timm pretrained config (input_size, crop_pct, mean, std)`,
    { file },
  );
}
