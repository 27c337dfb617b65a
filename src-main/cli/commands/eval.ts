import path from 'node:path';
import type { z } from 'zod';
import type { EvaluationRecord } from '../../common/api/evaluations.js';
import { TureenError } from '../../common/errors.js';
import type { Command, OptionSpec, ParsedArgs } from '../command.js';
import { listOption, stringOption } from '../command.js';
import { FAMILY_HELP, familyOptions, familyRequest } from './family-options.js';

type Evaluation = z.output<typeof EvaluationRecord>;

/** Options of every command that runs inference. */
export const inferenceOptions: OptionSpec = {
  provider: { type: 'string' },
  threads: { type: 'string' },
  'batch-size': { type: 'string' },
};

export const INFERENCE_HELP = `  --provider P       execution provider: cpu, cuda, dml, coreml (default: the best available)
  --threads N        intra-op threads (default: ONNX Runtime's choice)
  --batch-size N     examples per session.run (default 256)`;

function positiveInteger(args: ParsedArgs, name: string): number | undefined {
  const text = stringOption(args, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0)
    throw new TureenError('bad_request', `--${name} must be a positive integer, got ${text}`);
  return value;
}

export function inferenceRequest(args: ParsedArgs): Record<string, unknown> {
  const provider = stringOption(args, 'provider');
  const threads = positiveInteger(args, 'threads');
  const batchSize = positiveInteger(args, 'batch-size');
  return {
    ...(provider ? { provider } : {}),
    ...(threads ? { threads } : {}),
    ...(batchSize ? { batchSize } : {}),
  };
}

export const resolvedList = (args: ParsedArgs, name: string) =>
  listOption(args, name).map((p) => path.resolve(p));

/** One evaluation as the CLI prints it (docs/cli.md): fractions in [0, 1], `data` is the eval set's name. */
export function evaluationJson(e: Evaluation) {
  return {
    model: e.model.path ?? e.model.label,
    data: e.evalset.name,
    n: e.n,
    top1: e.top1,
    top5: e.top5,
    nll: e.nll,
    ece: e.ece,
    non_finite: e.nonFinite,
    provider: e.provider,
    batch_size: e.batchSize,
    duration_ms: e.durationMs,
    onnxruntime: e.ortVersion,
  };
}

const pct = (v: number | null) => (v === null ? '   —  ' : `${(100 * v).toFixed(2).padStart(6)}`);

/** Plain text table with left-aligned first column and right-aligned others. */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

export function evaluationsText(list: readonly Evaluation[]): string {
  return textTable(
    ['model', 'data', 'n', 'top-1 %', 'top-5 %', 'NLL', 'ECE', 'provider'],
    list.map((e) => [
      e.model.label,
      e.evalset.name,
      String(e.n),
      pct(e.top1),
      pct(e.top5),
      e.nll === null ? '—' : e.nll.toFixed(4),
      e.ece === null ? '—' : e.ece.toFixed(4),
      e.provider,
    ]),
  );
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate checkpoints on eval sets (top-1, top-5, NLL, ECE; logits cached)',
  help: `Usage: tureen eval <model>... --data <evalset>... [--json]

Evaluates every model (.onnx, .safetensors with a graph, or folders of them) on every eval set
(.safetensors with one tensor per model input plus labels). Logits are cached, so a second run is instant.
  --data FILE        eval set (repeatable, or several after one --data)
${FAMILY_HELP}
${INFERENCE_HELP}`,
  options: { data: { type: 'string', multiple: true }, ...familyOptions, ...inferenceOptions },
  async run(args, ctx) {
    if (args.positionals.length === 0)
      throw new TureenError('bad_request', 'eval needs at least one model file or folder');
    const data = resolvedList(args, 'data');
    if (data.length === 0) throw new TureenError('bad_request', 'eval needs --data <evalset.safetensors>');
    const result = await ctx.kitchen().run('evaluations:run', {
      models: args.positionals.map((p) => path.resolve(p)),
      evalsets: data,
      ...familyRequest(args),
      ...inferenceRequest(args),
    });
    for (const note of result.notes) ctx.note(`note: ${note}`);
    return {
      json: {
        schema: 'tureen/eval@1',
        evaluations: result.evaluations.map(evaluationJson),
        notes: result.notes,
      },
      human: evaluationsText(result.evaluations),
    };
  },
};
