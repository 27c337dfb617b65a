/**
 * JSON with object keys sorted at every depth: equal values give equal text, whatever the insertion order.
 * Content keys (eval-set hashes, cache keys) hash this text, so it must never drop a nested field (a key list
 * passed to JSON.stringify as a replacer filters nested keys too; that hid eval-set transforms from the hash).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new Error(`canonicalJson: ${value} has no JSON form`);
    }
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') {
      throw new Error(`canonicalJson: ${typeof value} has no JSON form`);
    }
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
