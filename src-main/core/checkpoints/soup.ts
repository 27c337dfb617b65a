import fs from 'node:fs';
import path from 'node:path';
import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { TureenError } from '../../common/errors.js';
import type { FloatDType } from '../tensors/dtypes.js';
import { dtypeBytes } from '../tensors/dtypes.js';
import { bytesEqual } from '../tensors/kernels.js';
import type { Precision } from './accumulator.js';
import { WeightAccumulator } from './accumulator.js';
import type { StagedFiles } from './atomic.js';
import { stageFiles, writeAll } from './atomic.js';
import type { Family } from './families.js';
import { embed, pointAtExternal, prepareFamilyModel } from './family-graph.js';
import { assertFiniteSoup } from './finite-soup.js';
import { checkpointSha256 } from './hashing.js';
import type { Ingredient } from './ingredient.js';
import { buildLayout, weightLayout } from './layout.js';
import { PROTOBUF_LIMIT } from './onnx-file.js';
import type { RecipeDocument, RecipeIngredient } from './recipe.js';
import { makeRecipe, stageRecipes } from './recipe.js';
import { writeSafetensorsTo } from './safetensors.js';

export interface SoupPart {
  ingredient: Ingredient;
  coefficient: number;
}

/** Above this an .onnx soup keeps its weights in `<out>.data` (protobuf's 2 GiB limit, with headroom). */
export const EMBED_LIMIT_BYTES = 1.8 * 1024 ** 3;

/** Integer tensors (shape constants, position ids, counters) must be identical: they are copied, never averaged. */
export async function verifyIdenticalIntegers(
  tensorNames: readonly string[],
  ingredients: readonly Ingredient[],
): Promise<void> {
  const [first, ...rest] = ingredients;
  if (!first) return;
  for (const name of tensorNames) {
    const reference = await first.readTensorBytes(name);
    for (const other of rest) {
      const bytes = await other.readTensorBytes(name);
      if (!bytesEqual(reference, bytes)) {
        throw new TureenError(
          'family_mismatch',
          `integer tensor "${name}" differs between ${first.path} and ${other.path}; integer tensors (shape constants, position ids, counters) are copied, never averaged, so they must be identical`,
          { tensor: name, files: [first.path, other.path] },
        );
      }
    }
  }
}

/**
 * Σ coefficient_i × θ_i, streamed. Equal coefficients are summed with weight 1 and returned as `scale`,
 * so a uniform soup is (Σ θ_i) / N like a framework's mean. Float64 tensors force float64 accumulation.
 */
export async function averageIngredients(
  family: Family<Ingredient>,
  parts: readonly SoupPart[],
  options: {
    precision?: Precision;
    signal?: AbortSignal;
    /** done is in ingredients' worth of bytes (fractional) */
    onProgress?: (done: number, total: number) => void;
  } = {},
): Promise<{ weights: WeightAccumulator; scale: number }> {
  if (parts.length === 0) throw new TureenError('bad_request', 'a soup needs at least one ingredient');
  const layout = weightLayout(family.tensors);
  const precision = options.precision ?? (layout.entries.some((e) => e.dtype === 'f64') ? 'f64' : 'f32');
  await verifyIdenticalIntegers(
    family.tensors.filter((t) => !t.isFloat).map((t) => t.name),
    parts.map((p) => p.ingredient),
  );
  const weights = new WeightAccumulator(layout, { precision });
  const c0 = parts[0]!.coefficient;
  const uniform = parts.every((p) => p.coefficient === c0);
  await weights.addScaledMany(
    parts.map((p) => ({ ingredient: p.ingredient, coefficient: uniform ? 1 : p.coefficient })),
    {
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (done, total) => options.onProgress?.((parts.length * done) / total, parts.length),
    },
  );
  return { weights, scale: uniform ? c0 : 1 };
}

/** The recipe's ingredient list (content hashes are read or taken from the cache). */
export async function recipeIngredients(
  parts: readonly SoupPart[],
  signal?: AbortSignal,
): Promise<RecipeIngredient[]> {
  const out: RecipeIngredient[] = [];
  for (const p of parts) {
    out.push({
      path: p.ingredient.path,
      bytes: p.ingredient.bytes,
      sha256: await p.ingredient.sha256(signal),
      coefficient: p.coefficient,
    });
  }
  return out;
}

export type SoupFormat = 'onnx' | 'safetensors';

export function soupFormatOf(file: string): SoupFormat {
  const lower = file.toLowerCase();
  if (lower.endsWith('.onnx')) return 'onnx';
  if (lower.endsWith('.safetensors')) return 'safetensors';
  throw new TureenError(
    'bad_request',
    `--out ${file}: the extension picks the format; use .onnx or .safetensors`,
  );
}

export interface WriteSoupOptions {
  family: Family<Ingredient>;
  weights: WeightAccumulator;
  /** the soup is scale × weights */
  scale?: number;
  outputs: readonly string[];
  /** output dtype for float tensors (default: each tensor's own); .onnx outputs keep the graph's dtypes */
  dtype?: FloatDType;
  /** .onnx: put weights in `<out>.data` even when they would fit in the file */
  externalData?: boolean;
  recipe: {
    method: string;
    params: Record<string, unknown>;
    ingredients: RecipeIngredient[];
    base?: RecipeDocument['base'];
    selection?: Record<string, unknown>;
  };
}

export interface WrittenOutput {
  path: string;
  format: SoupFormat;
  sha256: string;
  bytes: number;
  /** the output file plus its external data file, if any */
  files: string[];
}

export interface WrittenSoup {
  outputs: WrittenOutput[];
  recipe: RecipeDocument;
  recipeFiles: string[];
}

/** An output written under temporary names: `files` are its targets (the model first), not yet in place. */
interface StagedOutput {
  staged: StagedFiles;
  files: string[];
}

async function writeOnnx(options: WriteSoupOptions, out: string): Promise<StagedOutput> {
  const { prepared } = await prepareFamilyModel(options.family);
  const scale = options.scale ?? 1;
  const changed = prepared.floats.filter((f) => options.dtype && f.dtype !== options.dtype);
  if (changed.length) {
    throw new TureenError(
      'bad_request',
      `--dtype ${options.dtype}: an .onnx soup keeps its graph's dtypes ("${changed[0]!.name}" is ${changed[0]!.dtype}); use a .safetensors output for another dtype`,
    );
  }
  const layout = buildLayout(prepared.floats);
  const external = options.externalData === true || layout.totalBytes > EMBED_LIMIT_BYTES;
  if (!external) {
    for (const f of prepared.floats) embed(f.tensor, options.weights.tensorBytes(f.name, scale, f.dtype));
    const bytes = toBinary(ModelProtoSchema, prepared.model);
    if (bytes.byteLength > PROTOBUF_LIMIT) {
      throw new TureenError(
        'not_supported',
        `${out}: over 2 GiB with embedded weights; write it with external data`,
      );
    }
    return { staged: stageFiles([{ path: out, write: (fd) => writeAll(fd, bytes) }]), files: [out] };
  }
  const dataFile = `${out}.data`;
  const location = path.basename(dataFile);
  layout.entries.forEach((e, i) =>
    pointAtExternal(prepared.floats[i]!.tensor, location, e.offset, e.byteLength),
  );
  const graphBytes = toBinary(ModelProtoSchema, prepared.model);
  const staged = stageFiles([
    {
      path: dataFile,
      write: (fd) => {
        let position = 0;
        for (const e of layout.entries) {
          if (e.offset > position) writeAll(fd, new Uint8Array(e.offset - position));
          writeAll(fd, options.weights.tensorBytes(e.name, scale, e.dtype));
          position = e.offset + e.byteLength;
        }
      },
    },
    { path: out, write: (fd) => writeAll(fd, graphBytes) },
  ]);
  return { staged, files: [out, dataFile] };
}

async function writeSafetensorsSoup(options: WriteSoupOptions, out: string): Promise<StagedOutput> {
  const source = options.family.members[0] ?? options.family.base;
  if (!source) throw new TureenError('bad_request', 'a soup needs at least one ingredient');
  const scale = options.scale ?? 1;
  const absent = options.family.tensors
    .filter((t) => t.isFloat && !options.weights.has(t.name))
    .map((t) => t.name);
  if (absent.length) {
    throw new TureenError(
      'bad_request',
      `${out}: the soup's weights lack ${absent.length} float tensor(s) of the checkpoints (${absent.slice(0, 3).join(', ')}${absent.length > 3 ? ', …' : ''}), so a .safetensors soup would be incomplete; write .onnx, or accumulate over weightLayout(family.tensors)`,
      { tensors: absent },
    );
  }
  const integers = new Map<string, Uint8Array>();
  for (const t of options.family.tensors)
    if (!t.isFloat) integers.set(t.name, await source.readTensorBytes(t.name));
  const tensors = options.family.tensors.map((t) => {
    const dtype = t.isFloat ? (options.dtype ?? (t.dtype as FloatDType)) : t.dtype;
    return {
      name: t.name,
      dtype,
      shape: t.shape,
      byteLength: t.shape.reduce((a, b) => a * b, 1) * dtypeBytes(dtype),
    };
  });
  const metadata: Record<string, string> = {
    format: 'pt',
    ...source.metadata,
    'tureen.method': options.recipe.method,
    'tureen.recipe': path.basename(`${out}.recipe.json`),
  };
  const staged = stageFiles([
    {
      path: out,
      write: (fd) =>
        writeSafetensorsTo(fd, tensors, metadata, (i) => {
          const t = tensors[i]!;
          return integers.get(t.name) ?? options.weights.tensorBytes(t.name, scale, t.dtype as FloatDType);
        }),
    },
  ]);
  return { staged, files: [out] };
}

/** The dtype each float tensor is written in: the graph's for .onnx, `--dtype` or the tensor's own otherwise. */
function outputDtypes(options: WriteSoupOptions, format: SoupFormat) {
  return options.family.tensors
    .filter((t) => t.isFloat)
    .map((t) => ({
      name: t.name,
      dtype: format === 'safetensors' ? (options.dtype ?? (t.dtype as FloatDType)) : (t.dtype as FloatDType),
    }));
}

/**
 * Write a soup to every output (format from the extension) and `<out>.recipe.json` beside each. Everything
 * is written under temporary names first (the soups are hashed there for the recipe), then the recipes are
 * renamed into place and after them the soups: a crash in between leaves a recipe without its soup (which
 * replays), never a soup without its recipe; and the temporaries a crash leaves are removed by the next
 * write to that folder.
 */
export async function writeSoup(options: WriteSoupOptions): Promise<WrittenSoup> {
  if (options.outputs.length === 0)
    throw new TureenError(
      'bad_request',
      'no --out given: say where to write the soup (.onnx or .safetensors)',
    );
  const targets = options.outputs.map((given) => {
    const out = path.resolve(given);
    const format = soupFormatOf(out);
    assertFiniteSoup(options.weights, options.scale ?? 1, outputDtypes(options, format), out);
    return { out, format };
  });
  const staged: StagedFiles[] = [];
  try {
    const outputs: WrittenOutput[] = [];
    for (const { out, format } of targets) {
      const written =
        format === 'onnx' ? await writeOnnx(options, out) : await writeSafetensorsSoup(options, out);
      staged.push(written.staged);
      const temporary = (file: string) => written.staged.files.find((f) => f.target === file)!.tempPath;
      const temps = written.files.map(temporary);
      outputs.push({
        path: out,
        format,
        sha256: await checkpointSha256(temps, null, undefined, written.files),
        bytes: temps.reduce((s, f) => s + fs.statSync(f).size, 0),
        files: written.files,
      });
    }
    const recipe = makeRecipe(
      options.recipe,
      outputs.map((o) => ({ path: o.path, sha256: o.sha256 })),
    );
    const recipes = stageRecipes(recipe);
    staged.unshift(recipes);
    for (const group of staged) group.commit();
    return { outputs, recipe, recipeFiles: recipes.files.map((f) => f.target) };
  } catch (error) {
    for (const group of staged) group.abort();
    throw error;
  }
}
