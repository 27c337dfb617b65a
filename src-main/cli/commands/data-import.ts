import path from 'node:path';
import type { z } from 'zod';
import type { ApiRequest } from '../../common/api.js';
import type { EvalSetImportResult } from '../../common/api/evalsets.js';
import { TureenError } from '../../common/errors.js';
import type { CliContext, CommandOutput, OptionSpec, ParsedArgs } from '../command.js';
import { flag, stringOption } from '../command.js';

type ImportResult = z.output<typeof EvalSetImportResult>;

export const dataImportOptions: OptionSpec = {
  out: { type: 'string' },
  name: { type: 'string' },
  role: { type: 'string' },
  size: { type: 'string' },
  crop: { type: 'string' },
  channels: { type: 'string' },
  mean: { type: 'string' },
  std: { type: 'string' },
  input: { type: 'string' },
  classes: { type: 'string' },
  preprocess: { type: 'string' },
  strict: { type: 'boolean' },
  workers: { type: 'string' },
};

export const DATA_IMPORT_HELP = `Usage: tureen data import <folder> --out <file.safetensors> [--name N] [--role holdout|id|shift]
    [--size S] [--crop C] [--channels 1|3] [--mean m[,m,m]] [--std s[,s,s]] [--input NAME]
    [--classes classes.txt] [--preprocess preprocessor_config.json] [--strict] [--workers N] [--json]

Imports an image folder (one subfolder per class, as torchvision's ImageFolder reads it) as an eval set:
labels are the class folders sorted by name (or the order of --classes), images are decoded (JPEG, PNG,
WebP, GIF first frame, BMP, TIFF; EXIF orientation applied), resized and cropped as torchvision does for
PIL images, and stored as uint8 NCHW with the normalisation in tureen.transform.
  --out FILE         the eval set to write (atomically)
  --name N           tureen.name (default: the folder's name)
  --role R           tureen.role: holdout, id or shift
  --size S           Resize(S): the shorter side becomes S (PIL bilinear with antialiasing)
  --crop C           CenterCrop(C); without --size/--crop every image must have the same size
  --channels 1|3     grey or RGB (default 3)
  --mean, --std      normalisation after scaling to [0, 1], one value or one per channel
  --input NAME       the model input's name (default image)
  --classes FILE     class folder names in label order, one per line; a folder covering only some of
                     them is recorded as tureen.class_subset
  --preprocess FILE  size, crop, mean, std and resampling from a Hugging Face preprocessor_config.json or
                     a timm pretrained config; flags given as well win
  --strict           refuse broken images instead of skipping them (they are listed either way)
  --workers N        decoder threads (default: one per core)`;

function positiveInteger(args: ParsedArgs, name: string): number | undefined {
  const text = stringOption(args, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < (name === 'workers' ? 0 : 1))
    throw new TureenError(
      'bad_request',
      `--${name} must be a ${name === 'workers' ? 'whole' : 'positive whole'} number, got ${text}`,
    );
  return value;
}

function numberList(args: ParsedArgs, name: string): number[] | undefined {
  const text = stringOption(args, name);
  if (text === undefined) return undefined;
  const values = text.split(',').map((v) => Number(v.trim()));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v)))
    throw new TureenError(
      'bad_request',
      `--${name} takes numbers separated by commas (m or m,m,m), got ${text}`,
    );
  return values;
}

/** The request `evalsets:import` takes, from the command line. */
function dataImportRequest(args: ParsedArgs): ApiRequest<'evalsets:import'> {
  const [folder, ...extra] = args.positionals;
  if (!folder)
    throw new TureenError(
      'bad_request',
      'data import needs an image folder: tureen data import <folder> --out <file>',
    );
  if (extra.length)
    throw new TureenError('bad_request', `data import takes one folder, got ${args.positionals.length}`);
  const out = stringOption(args, 'out');
  if (!out) throw new TureenError('bad_request', 'data import needs --out <file.safetensors>');
  const role = stringOption(args, 'role');
  if (role !== undefined && !['holdout', 'id', 'shift'].includes(role))
    throw new TureenError('bad_request', `--role must be holdout, id or shift, got ${role}`);
  const channels = positiveInteger(args, 'channels');
  if (channels !== undefined && channels !== 1 && channels !== 3)
    throw new TureenError('bad_request', `--channels must be 1 or 3, got ${channels}`);
  const strings = ['name', 'input'] as const;
  const files = ['classes', 'preprocess'] as const;
  const request: Record<string, unknown> = { folder: path.resolve(folder), out: path.resolve(out) };
  for (const key of strings)
    if (stringOption(args, key) !== undefined) request[key] = stringOption(args, key);
  for (const key of files) if (stringOption(args, key)) request[key] = path.resolve(stringOption(args, key)!);
  for (const key of ['size', 'crop', 'workers'] as const) {
    const value = positiveInteger(args, key);
    if (value !== undefined) request[key] = value;
  }
  for (const key of ['mean', 'std'] as const) {
    const value = numberList(args, key);
    if (value !== undefined) request[key] = value;
  }
  if (role) request.role = role;
  if (channels) request.channels = channels;
  if (flag(args, 'strict')) request.strict = true;
  // assembled key by key from argv; Kitchen.invoke validates it against the contract like any request
  return request as ApiRequest<'evalsets:import'>;
}

/** The `tureen/data-import@1` document (docs/cli.md). */
function dataImportJson(r: ImportResult) {
  return {
    schema: 'tureen/data-import@1',
    path: r.path,
    name: r.name,
    role: r.role,
    source: r.source,
    n: r.n,
    input: r.input,
    shape: r.shape,
    classes: r.classes,
    class_subset: r.classSubset,
    transform: r.transform,
    options: r.options,
    skipped: r.skipped,
    sha256: r.hash,
    bytes: r.bytes,
    seconds: r.seconds,
  };
}

function dataImportText(r: ImportResult): string {
  const lines = [
    `${r.name}  (${r.path})`,
    `  N          ${r.n} images in ${r.classes.length} classes${r.classSubset ? ` (subset of logits ${JSON.stringify(r.classSubset)})` : ''}`,
    `  input      ${r.input}: u8 [${r.shape.join(', ')}]`,
    `  transform  ${JSON.stringify(r.transform)}`,
    `  role       ${r.role ?? 'none'}`,
    `  sha256     ${r.hash ?? '(not computed above 2 GiB)'}`,
    `  time       ${r.seconds.toFixed(1)} s (${(r.n / Math.max(r.seconds, 1e-9)).toFixed(0)} images/s)`,
  ];
  if (r.skipped.length) {
    lines.push(`  skipped    ${r.skipped.length}:`);
    for (const s of r.skipped) lines.push(`    ${s.path}: ${s.reason}`);
  }
  return lines.join('\n');
}

export async function runDataImport(args: ParsedArgs, ctx: CliContext): Promise<CommandOutput> {
  const result = await ctx.kitchen().run('evalsets:import', dataImportRequest(args));
  for (const s of result.skipped) ctx.note(`skipped ${s.path}: ${s.reason}`);
  return { json: dataImportJson(result), human: dataImportText(result) };
}
