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
import { stageFilesAsync } from './atomic.js';
import type { Family } from './families.js';
import { pointAtExternal, prepareFamilyModel } from './family-graph.js';
import { manifestSha256 } from './hashing.js';
import type { Ingredient } from './ingredient.js';
import { buildLayout, weightLayout } from './layout.js';
import type { RecipeBody, RecipeDocument, RecipeIngredient } from './recipe.js';
import { makeRecipe, stageRecipes } from './recipe.js';
import { buildSafetensorsHeader } from './safetensors.js';
import type { FilePart, Written } from '../workers/ops.js';
import { dispatch } from '../workers/pool.js';
import type { WorkerTask } from '../workers/protocol.js';

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
  /** the recipe written beside each output (common/api/recipes.ts: one variant per method) */
  recipe: RecipeBody;
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
  /** each file's sha256, computed while it was written */
  hashes: string[];
}

/** A placeholder location for float initializers while the graph goes to a worker to be filled. */
const TO_FILL = 'tureen-soup-weights';

/**
 * Run a write task on a worker and return the file's sha256; a value that is not finite in its output
 * dtype (the coefficients overflow it) is refused naming the tensor, and the caller removes the temporary.
 */
async function writeOnWorker(
  out: string,
  task: () => WorkerTask,
  partTensor: (part: number) => { name: string; dtype: FloatDType } | undefined,
): Promise<string> {
  let result: Written | null;
  try {
    result = await dispatch<Written>(task);
  } catch (error) {
    if (error instanceof TureenError && error.code === 'not_supported')
      throw new TureenError(error.code, `${out}: ${error.message}`, error.detail);
    throw error;
  }
  const bad = result!.bad;
  if (bad) {
    const t = partTensor(bad.part);
    throw new TureenError(
      'bad_request',
      `${out}: tensor "${t?.name}" of the soup would hold ${bad.value} at element ${bad.index} (${t?.dtype}); the coefficients overflow it, so nothing was written`,
      { file: out, tensor: t?.name, element: bad.index },
    );
  }
  return result!.sha256;
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
  const sums = options.weights.sharedSums();
  const slot = (name: string) => options.weights.slotOf(name);
  const layout = buildLayout(prepared.floats);
  const external = options.externalData === true || layout.totalBytes > EMBED_LIMIT_BYTES;
  if (!external) {
    // the graph goes to a worker without its float weights; it embeds them and serialises the model
    const tensors = prepared.floats.map((f) => {
      pointAtExternal(f.tensor, TO_FILL, 0, 0);
      const { start, count } = slot(f.name);
      return { name: f.name, accStart: start, count, dtype: f.dtype };
    });
    const graphBytes = toBinary(ModelProtoSchema, prepared.model);
    const staged = await stageFilesAsync([
      {
        path: out,
        write: (fd) =>
          writeOnWorker(
            out,
            () => ({ op: 'write-onnx', sums, fd, graphBytes, tensors, scale }),
            (i) => tensors[i],
          ),
      },
    ]);
    return { staged, files: [out], hashes: staged.results };
  }
  const dataFile = `${out}.data`;
  const location = path.basename(dataFile);
  layout.entries.forEach((e, i) =>
    pointAtExternal(prepared.floats[i]!.tensor, location, e.offset, e.byteLength),
  );
  const graphBytes = toBinary(ModelProtoSchema, prepared.model);
  const parts: FilePart[] = [];
  const partTensors: Array<{ name: string; dtype: FloatDType } | undefined> = [];
  let position = 0;
  for (const e of layout.entries) {
    if (e.offset > position) {
      parts.push({ kind: 'zeros', length: e.offset - position });
      partTensors.push(undefined);
    }
    const { start, count } = slot(e.name);
    parts.push({ kind: 'sums', accStart: start, count, dtype: e.dtype });
    partTensors.push(e);
    position = e.offset + e.byteLength;
  }
  const staged = await stageFilesAsync([
    {
      path: dataFile,
      write: (fd) =>
        writeOnWorker(
          out,
          () => ({ op: 'write', sums, fd, parts, scale }),
          (i) => partTensors[i],
        ),
    },
    {
      path: out,
      write: (fd) =>
        writeOnWorker(
          out,
          () => ({ op: 'write', sums: null, fd, parts: [{ kind: 'bytes', bytes: graphBytes }], scale: 1 }),
          () => undefined,
        ),
    },
  ]);
  // files are listed model first; they were written data first
  return { staged, files: [out, dataFile], hashes: [staged.results[1]!, staged.results[0]!] };
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
  const { header } = buildSafetensorsHeader(tensors, metadata);
  const parts: FilePart[] = [{ kind: 'bytes', bytes: header }];
  for (const t of tensors) {
    const bytes = integers.get(t.name);
    if (bytes) parts.push({ kind: 'bytes', bytes });
    else {
      const { start, count } = options.weights.slotOf(t.name);
      parts.push({ kind: 'sums', accStart: start, count, dtype: t.dtype as FloatDType });
    }
  }
  const sums = options.weights.sharedSums();
  const staged = await stageFilesAsync([
    {
      path: out,
      write: (fd) =>
        writeOnWorker(
          out,
          () => ({ op: 'write', sums, fd, parts, scale }),
          (i) => (i > 0 ? (tensors[i - 1] as { name: string; dtype: FloatDType }) : undefined),
        ),
    },
  ]);
  return { staged, files: [out], hashes: staged.results };
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
  // values that overflow their output dtype are found while writing (each write task checks what it
  // converts), and refused before anything is put in place
  const targets = options.outputs.map((given) => {
    const out = path.resolve(given);
    return { out, format: soupFormatOf(out) };
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
        sha256: manifestSha256(written.hashes, written.files),
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
