/** Short, recognisable names for checkpoint paths in tables and cards. */

function split(path: string): string[] {
  return path.split(/[\\/]+/).filter(Boolean);
}

/**
 * A checkpoint's name: its path relative to the kitchen folder that holds it, with a generic file name
 * (model.onnx, model.safetensors) dropped because the run's folder names it; else its last two segments.
 */
export function checkpointName(path: string, roots: readonly string[] = []): string {
  const parts = split(path);
  let rel = parts.slice(-2);
  for (const root of roots) {
    const r = split(root);
    if (r.length < parts.length && r.every((segment, i) => parts[i] === segment)) {
      rel = parts.slice(r.length);
      break;
    }
  }
  const file = rel[rel.length - 1] ?? '';
  if (rel.length > 1 && /^model\.(onnx|safetensors)$/i.test(file)) rel = rel.slice(0, -1);
  return rel.join('/');
}

/** Parses an α grid: "0, 0.25, 1" or a range "0:1:0.1" (start:stop:step, stop included). */
export function parseAlphas(text: string): number[] | string {
  const trimmed = text.trim();
  const range = /^(-?[\d.]+)\s*:\s*(-?[\d.]+)\s*:\s*([\d.]+)$/.exec(trimmed);
  let values: number[];
  if (range) {
    const [start, stop, step] = [Number(range[1]), Number(range[2]), Number(range[3])];
    if (!(step > 0) || !(stop >= start)) return 'a range is start:stop:step with step > 0 and stop ≥ start';
    const count = Math.round((stop - start) / step);
    if (count > 200) return 'at most 200 points';
    values = Array.from({ length: count + 1 }, (_, i) => Number((start + i * step).toFixed(10)));
  } else {
    values = trimmed
      .split(/[\s,;]+/)
      .filter(Boolean)
      .map(Number);
    if (values.length === 0) return 'give at least one α';
    if (values.some((v) => !Number.isFinite(v))) return 'α values must be numbers, e.g. 0, 0.5, 1';
  }
  if (values.some((v) => v < -1 || v > 2)) return 'α must be between −1 and 2';
  return [...new Set(values)].sort((a, b) => a - b);
}

const HYPER_SUFFIX = /^([^=]+?)(?:[_,](?:[A-Za-z][\w.-]*)=[^_,/]*)+$/;

/**
 * Run folders often spell out their hyperparameters ("run-07_lr=1e-4_wd=0.1_ep=10"), which the tables
 * show as columns anyway. This drops such a `_key=value` tail from the last path segment when what is left
 * still tells every name in the list apart; otherwise names stay whole. Returns full name → display name.
 */
export function shortRunNames(names: readonly string[]): Map<string, string> {
  const unique = [...new Set(names)];
  const short = unique.map((name) => {
    const cut = name.lastIndexOf('/') + 1;
    const match = HYPER_SUFFIX.exec(name.slice(cut));
    return match ? name.slice(0, cut) + match[1] : name;
  });
  const distinct = new Set(short).size === unique.length;
  return new Map(unique.map((name, i) => [name, distinct ? short[i]! : name]));
}

/** The kitchen folder a file lives in (the longest registered folder that contains it), or null. */
export function kitchenOf<K extends { path: string }>(file: string, kitchens: readonly K[]): K | null {
  let best: K | null = null;
  for (const k of kitchens) {
    const root = k.path.replace(/[\\/]+$/, '');
    const inside = file === root || file.startsWith(`${root}/`) || file.startsWith(`${root}\\`);
    if (inside && (!best || root.length > best.path.length)) best = k;
  }
  return best;
}
