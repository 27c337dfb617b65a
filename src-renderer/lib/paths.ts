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
