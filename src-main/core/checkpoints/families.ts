import { createHash } from 'node:crypto';
import path from 'node:path';
import { isWithin } from '../within.js';
import type { GraphSummary } from './onnx-file.js';
import type { IngredientSummary, TensorInfo } from './ingredient.js';

export type MismatchKind = 'missing_tensors' | 'extra_tensors' | 'shape' | 'dtype' | 'graph';

export interface MismatchDetail {
  kind: MismatchKind;
  message: string;
  tensors?: string[];
}

/** Why an ingredient is not in the family it resembles most. */
export interface Mismatch {
  path: string;
  /** a member of the family it was compared with */
  comparedWith: string;
  familyId: string;
  details: MismatchDetail[];
  message: string;
}

export type FamilyWarningCode =
  | 'folded_batchnorm'
  | 'quantized_or_fused'
  | 'unmatched_names'
  | 'prefix_differs'
  | 'duplicate'
  | 'several_bases'
  | 'no_graph';

export interface FamilyWarning {
  code: FamilyWarningCode;
  message: string;
  tensors?: string[];
  paths?: string[];
}

export interface Family<T extends IngredientSummary = IngredientSummary> {
  /** short stable id: the first 12 hex digits of the signature */
  id: string;
  signature: string;
  /** the shortest common folder of the members, or the single file's name */
  label: string;
  graphPath: string | null;
  graph: GraphSummary | null;
  tensors: TensorInfo[];
  /** the ingredients (base excluded; a duplicate appears once, the others are in `duplicates`) */
  members: T[];
  base: T | null;
  duplicates: Array<{ kept: string; duplicates: string[]; sha256: string }>;
  warnings: FamilyWarning[];
  params: number;
}

export interface FamilyReport<T extends IngredientSummary = IngredientSummary> {
  families: Array<Family<T>>;
  mismatches: Mismatch[];
}

export interface GroupOptions<T> {
  /** content hash of an item (for duplicate detection); default: the item's sha256() if it has one */
  hashOf?: (item: T) => Promise<string | null> | string | null;
  /** path of the base checkpoint given by the user (--base) */
  base?: string | null;
}

function tensorKey(t: TensorInfo): string {
  return `${t.name}\u0000${t.dtype}\u0000${t.shape.join('x')}`;
}

/** Equal signatures ⇔ same graph and same tensor names, shapes and dtypes: the ingredients can be averaged. */
export function signatureOf(item: IngredientSummary): string {
  const hash = createHash('sha256');
  hash.update(item.graph?.fingerprint ?? 'no-graph');
  for (const key of item.tensors.map(tensorKey).sort()) hash.update(key + '\n');
  return hash.digest('hex');
}

export function parameterCount(tensors: readonly TensorInfo[]): number {
  return tensors.reduce((sum, t) => sum + (t.isFloat ? t.shape.reduce((a, b) => a * b, 1) : 0), 0);
}

function listSome(names: readonly string[], max = 5): string {
  const shown = names
    .slice(0, max)
    .map((n) => `"${n}"`)
    .join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

function graphDifference(a: GraphSummary | null, b: GraphSummary | null): string | null {
  if (!a && !b) return null;
  if (!a || !b)
    return a
      ? 'it has an ONNX graph, the other has none'
      : 'it has no ONNX graph (no graph.onnx found), the other has one';
  if (a.fingerprint === b.fingerprint) return null;
  if (a.opsets.join() !== b.opsets.join())
    return `opsets differ (${a.opsets.join(', ')} vs ${b.opsets.join(', ')})`;
  if (a.inputs.join() !== b.inputs.join())
    return `graph inputs differ (${a.inputs.join(', ')} vs ${b.inputs.join(', ')})`;
  if (a.outputs.join() !== b.outputs.join())
    return `graph outputs differ (${a.outputs.join(', ')} vs ${b.outputs.join(', ')})`;
  const n = Math.min(a.nodes.length, b.nodes.length);
  for (let i = 0; i < n; i++) {
    if (a.nodes[i] !== b.nodes[i]) return `node ${i} differs: ${a.nodes[i]} vs ${b.nodes[i]}`;
  }
  if (a.nodes.length !== b.nodes.length) return `${a.nodes.length} nodes vs ${b.nodes.length}`;
  return 'node attributes or graph input/output types differ';
}

/** Every difference between an ingredient and a reference member of a family, naming tensors. */
export function compareIngredients(item: IngredientSummary, reference: IngredientSummary): MismatchDetail[] {
  const details: MismatchDetail[] = [];
  const ref = new Map(reference.tensors.map((t) => [t.name, t]));
  const own = new Map(item.tensors.map((t) => [t.name, t]));
  const missing = [...ref.keys()].filter((n) => !own.has(n));
  const extra = [...own.keys()].filter((n) => !ref.has(n));
  if (missing.length)
    details.push({
      kind: 'missing_tensors',
      message: `missing ${missing.length} tensor(s): ${listSome(missing)}`,
      tensors: missing,
    });
  if (extra.length)
    details.push({
      kind: 'extra_tensors',
      message: `${extra.length} extra tensor(s): ${listSome(extra)}`,
      tensors: extra,
    });
  const shapes: string[] = [];
  const dtypes: string[] = [];
  const shapeText: string[] = [];
  const dtypeText: string[] = [];
  for (const [name, t] of own) {
    const r = ref.get(name);
    if (!r) continue;
    if (t.shape.join('x') !== r.shape.join('x')) {
      shapes.push(name);
      shapeText.push(`"${name}" [${t.shape.join(', ')}] vs [${r.shape.join(', ')}]`);
    }
    if (t.dtype !== r.dtype) {
      dtypes.push(name);
      dtypeText.push(`"${name}" ${t.dtype} vs ${r.dtype}`);
    }
  }
  if (shapes.length)
    details.push({
      kind: 'shape',
      message: `shapes differ: ${shapeText.slice(0, 5).join('; ')}${shapes.length > 5 ? ` and ${shapes.length - 5} more` : ''}`,
      tensors: shapes,
    });
  if (dtypes.length)
    details.push({
      kind: 'dtype',
      message: `dtypes differ: ${dtypeText.slice(0, 5).join('; ')}${dtypes.length > 5 ? ` and ${dtypes.length - 5} more` : ''}`,
      tensors: dtypes,
    });
  const graph = graphDifference(item.graph, reference.graph);
  if (graph && !(item.format !== 'onnx' && details.length))
    details.push({ kind: 'graph', message: `different graph: ${graph}` });
  return details;
}

function commonFolder(paths: readonly string[]): string {
  if (paths.length === 1) return `${path.basename(path.dirname(paths[0]!))}/${path.basename(paths[0]!)}`;
  let dir = path.dirname(paths[0]!);
  while (!paths.every((p) => isWithin(dir, p))) {
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return path.basename(dir) || dir;
}

function familyWarnings<T extends IngredientSummary>(
  members: readonly T[],
  graph: GraphSummary | null,
): FamilyWarning[] {
  const warnings: FamilyWarning[] = [];
  if (graph && graph.foldedConvTensors.length) {
    warnings.push({
      code: 'folded_batchnorm',
      message:
        `the graph has Conv weights with exporter-generated names (${listSome(graph.foldedConvTensors, 3)})` +
        `${graph.hasBatchNorm ? '' : ' and no BatchNormalization node'}: torch.onnx.export folded BatchNorm into the ` +
        'convolutions, so these weights are not the model parameters and averaging them is not averaging the models. ' +
        'Export with training=torch.onnx.TrainingMode.PRESERVE, or cook from safetensors state dicts bound to one graph.onnx.',
      tensors: graph.foldedConvTensors,
    });
  }
  if (graph && graph.quantizedOrFusedOps.length) {
    warnings.push({
      code: 'quantized_or_fused',
      message: `the graph uses quantized or fused operators (${graph.quantizedOrFusedOps.join(', ')}): their weights are derived from the model parameters non-linearly, so averaging them is not averaging the models; average the float checkpoints before quantizing or fusing`,
    });
  }
  const first = members[0];
  if (first?.unmatched && (first.unmatched.notInGraph.length || first.unmatched.notInCheckpoint.length)) {
    const parts: string[] = [];
    if (first.unmatched.notInGraph.length)
      parts.push(
        `state-dict tensors not in ${path.basename(first.graphPath ?? 'the graph')}: ${listSome(first.unmatched.notInGraph)} (averaged into .safetensors outputs, unused by the graph)`,
      );
    if (first.unmatched.notInCheckpoint.length)
      parts.push(
        `graph initializers not in the state dicts: ${listSome(first.unmatched.notInCheckpoint)} (kept from the graph, not averaged)`,
      );
    warnings.push({
      code: 'unmatched_names',
      message: parts.join('; '),
      tensors: [...first.unmatched.notInGraph, ...first.unmatched.notInCheckpoint],
    });
  }
  const prefixes = new Set(members.map((m) => m.strippedPrefix ?? ''));
  if (prefixes.size > 1) {
    warnings.push({
      code: 'prefix_differs',
      message: `wrapper prefixes differ between ingredients (${[...prefixes].map((p) => JSON.stringify(p)).join(', ')}); they were stripped to match the graph`,
      paths: members.map((m) => m.path),
    });
  }
  if (first && !first.graph) {
    warnings.push({
      code: 'no_graph',
      message:
        'no ONNX graph (graph.onnx or --graph) is bound to these state dicts: they can be averaged into .safetensors but not evaluated or written as .onnx',
    });
  }
  return warnings;
}

function defaultHash<T>(item: T): Promise<string | null> | null {
  const fn = (item as { sha256?: unknown }).sha256;
  if (typeof fn === 'function') return (fn as () => Promise<string>).call(item);
  return typeof fn === 'string' ? Promise.resolve(fn) : null;
}

/**
 * Group ingredients into families (equal signatures), detect bases and duplicates, and explain each
 * ingredient that does not fit the family it most resembles.
 */
export async function groupFamilies<T extends IngredientSummary>(
  items: readonly T[],
  options: GroupOptions<T> = {},
): Promise<FamilyReport<T>> {
  const hashOf = options.hashOf ?? defaultHash;
  const baseFile = options.base ? path.resolve(options.base) : null;
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const sig = signatureOf(item);
    const list = groups.get(sig) ?? [];
    list.push(item);
    groups.set(sig, list);
  }
  const ordered = [...groups.entries()].sort(
    (a, b) => b[1].length - a[1].length || a[1][0]!.path.localeCompare(b[1][0]!.path),
  );
  const families: Array<Family<T>> = [];
  for (const [signature, list] of ordered) {
    const isBase = (m: T) => (baseFile ? path.resolve(m.path) === baseFile : m.isBase);
    const bases = list.filter(isBase);
    const rest = list.filter((m) => !isBase(m)).sort((a, b) => a.path.localeCompare(b.path));
    const first = rest[0] ?? list[0]!;
    const warnings = familyWarnings(rest.length ? rest : list, first.graph);
    if (bases.length > 1) {
      warnings.push({
        code: 'several_bases',
        message: `several base checkpoints; using ${bases[0]!.path}`,
        paths: bases.map((b) => b.path),
      });
    }
    const byHash = new Map<string, T[]>();
    const members: T[] = [];
    for (const m of rest) {
      const h = await hashOf(m);
      if (h === null) {
        members.push(m);
        continue;
      }
      const same = byHash.get(h);
      if (same) same.push(m);
      else {
        byHash.set(h, [m]);
        members.push(m);
      }
    }
    const duplicates = [...byHash.entries()]
      .filter(([, same]) => same.length > 1)
      .map(([sha256, same]) => ({
        kept: same[0]!.path,
        duplicates: same.slice(1).map((s) => s.path),
        sha256,
      }));
    for (const d of duplicates) {
      warnings.push({
        code: 'duplicate',
        message: `${d.duplicates.join(', ')} ${d.duplicates.length > 1 ? 'have' : 'has'} the same weights as ${d.kept}; counted once`,
        paths: [d.kept, ...d.duplicates],
      });
    }
    families.push({
      id: signature.slice(0, 12),
      signature,
      label: commonFolder((rest.length ? rest : list).map((m) => m.path)),
      graphPath: first.graphPath,
      graph: first.graph,
      tensors: first.tensors,
      members,
      base: bases[0] ?? null,
      duplicates,
      warnings,
      params: parameterCount(first.tensors),
    });
  }
  const mismatches: Mismatch[] = [];
  const main = families[0];
  for (const family of families.slice(1)) {
    const reference = main?.members[0] ?? main?.base;
    if (!main || !reference) continue;
    for (const item of [...family.members, ...(family.base ? [family.base] : [])]) {
      const details = compareIngredients(item, reference);
      mismatches.push({
        path: item.path,
        comparedWith: reference.path,
        familyId: main.id,
        details,
        message: `${item.path} cannot be averaged with ${reference.path}: ${details.map((d) => d.message).join('; ')}`,
      });
    }
  }
  return { families, mismatches };
}
