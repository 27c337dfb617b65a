import path from 'node:path';
import type { z } from 'zod';
import type { ScanResult } from '../../common/api/checkpoints.js';
import { TureenError } from '../../common/errors.js';
import type { Command } from '../command.js';

type Scan = z.output<typeof ScanResult>;

function megabytes(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

function compactParams(n: number): string {
  return n >= 1e9
    ? `${(n / 1e9).toFixed(2)}B`
    : n >= 1e6
      ? `${(n / 1e6).toFixed(1)}M`
      : n >= 1e3
        ? `${(n / 1e3).toFixed(1)}k`
        : String(n);
}

function groupByReason(ignored: Scan['ignored']): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const { path: file, reason } of ignored) groups.set(reason, [...(groups.get(reason) ?? []), file]);
  return groups;
}

/** Every checkpoint's warnings (pickle_globals, ema_weights), each with its checkpoint's path. */
function scanWarnings(scans: readonly Scan[]) {
  return scans.flatMap((s) => s.checkpoints.flatMap((c) => c.warnings.map((w) => ({ path: c.path, ...w }))));
}

function humanScan(scan: Scan): string[] {
  const lines = [
    `${scan.root}: ${scan.checkpoints.length} checkpoint(s), ${scan.families.length} famil${scan.families.length === 1 ? 'y' : 'ies'} (read ${scan.stats.read}, unchanged ${scan.stats.reused}, removed ${scan.stats.removed}, unreadable ${scan.stats.failed})`,
  ];
  const familyName = new Map(scan.families.map((f, i) => [f.id, `F${i + 1}`]));
  for (const c of scan.checkpoints) {
    if (c.error) {
      lines.push(`  ✗ ${c.relativePath}: ${c.error.message.split('\n')[0]}`);
      continue;
    }
    const hp = Object.entries(c.hyperparameters)
      .filter(([, v]) => typeof v !== 'string' || v.length <= 24)
      .slice(0, 6)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const family = c.familyId ? (familyName.get(c.familyId) ?? '?') : '-';
    lines.push(
      `  ${family.padEnd(3)} ${c.relativePath}  ${c.format} ${c.dtype} ${megabytes(c.bytes)} ${compactParams(c.params)} params${c.isBase ? ' [base]' : ''}${hp ? `  ${hp}` : ''}`,
    );
  }
  for (const f of scan.families) {
    lines.push(
      `${familyName.get(f.id)}: ${f.label} — ${f.members.length} ingredient(s), ${compactParams(f.params)} params${f.base ? `, base ${path.relative(scan.root, f.base)}` : ''}${f.graphPath ? `, graph ${path.relative(scan.root, f.graphPath) || f.graphPath}` : ''}`,
    );
    for (const w of f.warnings) lines.push(`  warning: ${w.message}`);
  }
  for (const m of scan.mismatches) lines.push(`mismatch: ${m.message}`);
  for (const w of scanWarnings([scan])) lines.push(`warning (${w.code}): ${w.message}`);
  for (const [reason, files] of groupByReason(scan.ignored)) {
    const shown = files.slice(0, 5).map((p) => path.relative(scan.root, p));
    const more = files.length > shown.length ? ` and ${files.length - shown.length} more` : '';
    lines.push(`ignored (${reason}): ${shown.join(', ')}${more}`);
  }
  if (scan.evalSets.length)
    lines.push(
      `eval sets (not checkpoints): ${scan.evalSets.map((p) => path.relative(scan.root, p)).join(', ')}`,
    );
  return lines;
}

export const scanCommand: Command = {
  name: 'scan',
  summary: 'find checkpoints, their hyperparameters and families in folders',
  help: `Usage: tureen scan <dir>... [--json]

Finds .onnx checkpoints, .safetensors state dicts and PyTorch checkpoints (bound to graph.onnx), lists
files it cannot read with the reason and goes on, ignores training state (optimizer.pt, ...) with the
reason, and exits 1 only when a folder does not exist. Warns (code pickle_globals) when a PyTorch
pickle names globals that would run code if it were unpickled (Tureen never does), and (ema_weights) when
a checkpoint holds EMA weights beside the raw ones (raw are used; --ema on eval, compare, cook and advise
picks the EMA weights). Reads hyperparameters from
sidecars (hparams.json, config.json, training_args.json, trainer_state.json, args.json, YAML) and from
folder names like lr=3e-5_wd=0.1, groups checkpoints into families that can be averaged and explains
every mismatch. Results are stored; a rescan reads only files that changed. Without <dir>: every
registered kitchen.`,
  options: {},
  async run(args, ctx) {
    const paths = args.positionals.map((p) => path.resolve(p));
    const kitchen = ctx.kitchen();
    if (paths.length === 0 && (await kitchen.call('kitchens:list', {})).kitchens.length === 0) {
      throw new TureenError('bad_request', 'give folders to scan (no kitchen is registered)');
    }
    const { scans } = await ctx.kitchen().run('checkpoints:scan', paths.length ? { paths } : {});
    return {
      json: {
        schema: 'tureen/scan@1',
        roots: scans.map((s) => s.root),
        checkpoints: scans.flatMap((s) => s.checkpoints),
        families: scans.flatMap((s) => s.families),
        mismatches: scans.flatMap((s) => s.mismatches),
        ignored: scans.flatMap((s) => s.ignored),
        warnings: scanWarnings(scans),
        evalSets: scans.flatMap((s) => s.evalSets),
        stats: scans.map((s) => ({ root: s.root, ...s.stats })),
      },
      human: scans.flatMap(humanScan).join('\n'),
    };
  },
};
