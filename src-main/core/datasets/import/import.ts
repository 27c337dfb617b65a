/**
 * `tureen data import` / `evalsets:import`: an ImageNet-style folder (one subfolder per class) becomes an
 * eval set. Images are decoded and preprocessed on worker threads, delivered in file order, appended to a
 * scratch file and finally written as uint8 NCHW + int64 labels with the normalisation and the import's
 * recipe in `__metadata__`, so the same folder and options always give the same bytes and eval-set hash.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TureenError } from '../../../common/errors.js';
import { packageVersion } from '../../paths.js';
import type { EvalRole } from '../evalset.js';
import { readEvalSetAsync } from '../evalset.js';
import type { InputTransform } from '../transform.js';
import type { CropOffsetRule } from './geometry.js';
import type { FolderProblem } from './folder.js';
import { listImageFolder, readClassesFile } from './folder.js';
import type { DecodeOutcome } from './pool.js';
import { decodeInOrder } from './pool.js';
import { readPreprocessConfig } from './preprocess-config.js';
import type { PixelPipeline } from './preprocess.js';
import type { ResampleFilter } from './resample.js';
import { PixelScratch, writeImportedEvalSet } from './writer.js';

export interface ImageFolderImportRequest {
  folder: string;
  out: string;
  name?: string;
  role?: EvalRole;
  size?: number;
  crop?: number;
  channels?: 1 | 3;
  mean?: number[];
  std?: number[];
  input?: string;
  /** a file with one class folder name per line, in label order */
  classes?: string;
  /** a Hugging Face preprocessor_config.json or a timm pretrained config */
  preprocess?: string;
  /** refuse the whole import on the first broken file instead of skipping it */
  strict?: boolean;
  /** decoder threads (default: one per core; 0 decodes on the calling thread) */
  workers?: number;
}

export interface ImportProgress {
  done: number;
  total: number;
  skipped: number;
}

export interface ImportHooks {
  signal?: AbortSignal;
  progress?: (p: ImportProgress) => void;
}

/** The options an import actually ran with, after the preprocessing config and the defaults. */
export interface ResolvedImportOptions {
  size: number | null;
  crop: number | null;
  channels: 1 | 3;
  resample: ResampleFilter;
  crop_offsets: CropOffsetRule;
  mean: number[];
  std: number[];
  input: string;
  classes_file: string | null;
  preprocess_file: string | null;
  preprocess_source: 'huggingface' | 'timm' | null;
  strict: boolean;
}

export interface ImageFolderImportResult {
  path: string;
  name: string;
  role: EvalRole | null;
  source: string;
  n: number;
  input: string;
  /** [N, C, H, W] */
  shape: number[];
  classes: string[];
  classSubset: number[] | null;
  transform: Record<string, InputTransform>;
  options: ResolvedImportOptions;
  /** files and folders left out, with the reason */
  skipped: FolderProblem[];
  /** eval-set hash as every other Tureen command computes it (read back streaming, any size) */
  hash: string;
  bytes: number;
  seconds: number;
}

function checkSide(value: number | undefined, flag: string): void {
  if (value !== undefined && (!Number.isInteger(value) || value <= 0 || value > 16384))
    throw new TureenError(
      'bad_request',
      `--${flag} must be a whole number of pixels between 1 and 16384, got ${value}`,
    );
}

function checkStats(values: number[], channels: number, flag: string): void {
  if (values.length !== 1 && values.length !== channels)
    throw new TureenError(
      'bad_request',
      `--${flag} needs 1 or ${channels} values (one per channel), got ${values.length}`,
    );
  if (values.some((v) => !Number.isFinite(v)))
    throw new TureenError('bad_request', `--${flag} must be numbers`);
  if (flag === 'std' && values.some((v) => v === 0))
    throw new TureenError('bad_request', '--std must not be 0');
}

export function resolveImportOptions(req: ImageFolderImportRequest): ResolvedImportOptions {
  const config = req.preprocess ? readPreprocessConfig(path.resolve(req.preprocess)) : null;
  const channels = req.channels ?? config?.channels ?? 3;
  if (channels !== 1 && channels !== 3) throw new TureenError('bad_request', '--channels must be 1 or 3');
  const size = req.size ?? config?.size;
  const crop = req.crop ?? config?.crop;
  checkSide(size, 'size');
  checkSide(crop, 'crop');
  const mean = req.mean ?? config?.mean ?? [0];
  const std = req.std ?? config?.std ?? [1];
  checkStats(mean, channels, 'mean');
  checkStats(std, channels, 'std');
  const input = req.input ?? 'image';
  if (input === 'labels' || input.length === 0 || input === '__metadata__')
    throw new TureenError('bad_request', `--input cannot be "${input}" (labels and __metadata__ are taken)`);
  return {
    size: size ?? null,
    crop: crop ?? null,
    channels,
    resample: config?.resample ?? 'bilinear',
    crop_offsets: config?.source === 'huggingface' ? 'huggingface' : 'torchvision',
    mean,
    std,
    input,
    classes_file: req.classes ? path.resolve(req.classes) : null,
    preprocess_file: req.preprocess ? path.resolve(req.preprocess) : null,
    preprocess_source: config?.source ?? null,
    strict: req.strict ?? false,
  };
}

function refuse(problem: FolderProblem): never {
  throw new TureenError('bad_evalset', `${problem.path}: ${problem.reason} (--strict refuses broken files)`, {
    file: problem.path,
    reason: problem.reason,
  });
}

export async function importImageFolder(
  req: ImageFolderImportRequest,
  hooks: ImportHooks = {},
): Promise<ImageFolderImportResult> {
  const started = performance.now();
  const source = path.resolve(req.folder);
  const target = path.resolve(req.out);
  const options = resolveImportOptions(req);
  const listing = listImageFolder(
    source,
    options.classes_file ? readClassesFile(options.classes_file) : undefined,
  );
  if (options.strict && listing.problems.length) refuse(listing.problems[0]!);
  const files = listing.examples.map((e) => e.file);
  if (files.length === 0)
    throw new TureenError(
      'bad_evalset',
      `${source} holds no images (${'.jpg .jpeg .png .webp .gif .bmp .tif .tiff'})`,
      {
        file: source,
      },
    );

  const pipeline: PixelPipeline = {
    channels: options.channels,
    resample: options.resample,
    cropOffsets: options.crop_offsets,
    ...(options.size !== null ? { size: options.size } : {}),
    ...(options.crop !== null ? { crop: options.crop } : {}),
  };
  const skipped: FolderProblem[] = [...listing.problems];
  const labels: number[] = [];
  const seen: { first: { file: string; width: number; height: number } | null } = { first: null };
  const scratch = new PixelScratch(target);
  try {
    const deliver = (outcome: DecodeOutcome) => {
      if (!outcome.ok) {
        const problem = { path: outcome.file, reason: outcome.reason };
        if (options.strict) refuse(problem);
        skipped.push(problem);
      } else {
        const { width, height, planar } = outcome.image;
        const first = seen.first;
        if (!first) seen.first = { file: outcome.file, width, height };
        else if (first.width !== width || first.height !== height)
          throw new TureenError(
            'bad_request',
            `images differ in size: ${first.file} is ${first.width}x${first.height} but ${outcome.file} is ${width}x${height}${options.crop === null ? '; pass --crop C (and --size S) to bring them to one size' : ''}`,
            { files: [first.file, outcome.file] },
          );
        scratch.append(planar);
        labels.push(listing.examples[outcome.index]!.label);
      }
      hooks.progress?.({
        done: outcome.index + 1,
        total: files.length,
        skipped: skipped.length - listing.problems.length,
      });
    };
    await decodeInOrder(files, pipeline, deliver, {
      ...(req.workers !== undefined ? { workers: req.workers } : {}),
      ...(hooks.signal ? { signal: hooks.signal } : {}),
    });
    const size = seen.first;
    if (!size || labels.length === 0)
      throw new TureenError(
        'bad_evalset',
        `no image in ${source} could be decoded (${skipped.length} skipped)`,
        {
          file: source,
          skipped,
        },
      );

    const name = req.name ?? path.basename(source);
    const transform: Record<string, InputTransform> = {
      [options.input]: { scale: 1 / 255, mean: options.mean, std: options.std, channel_axis: 1 },
    };
    const relative = (p: string) => path.relative(source, p) || '.';
    const metadata: Record<string, string> = {
      'tureen.name': name,
      ...(req.role ? { 'tureen.role': req.role } : {}),
      'tureen.transform': JSON.stringify(transform),
      ...(listing.classSubset ? { 'tureen.class_subset': JSON.stringify(listing.classSubset) } : {}),
      'tureen.import': JSON.stringify({
        schema: 'tureen/data-import-recipe@1',
        tool: { name: 'tureen', version: packageVersion() },
        source,
        options,
        classes: listing.classes,
        skipped: skipped.map((s) => ({ path: relative(s.path), reason: s.reason })),
      }),
    };
    const shape: [number, number, number, number] = [
      labels.length,
      options.channels,
      size.height,
      size.width,
    ];
    if (hooks.signal?.aborted) throw new TureenError('cancelled', 'image import cancelled');
    writeImportedEvalSet(target, { inputName: options.input, shape, labels, metadata }, scratch);
    const bytes = fs.statSync(target).size;
    return {
      path: target,
      name,
      role: req.role ?? null,
      source,
      n: labels.length,
      input: options.input,
      shape,
      classes: listing.classes,
      classSubset: listing.classSubset,
      transform,
      options,
      skipped,
      hash: (await readEvalSetAsync(target)).hash,
      bytes,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    scratch.dispose();
  }
}
