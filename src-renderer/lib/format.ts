/** Number formatting shared by tables, charts and the report, so one value always reads the same. */

export function percent(fraction: number | null | undefined, digits = 2): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return '—';
  return (fraction * 100).toFixed(digits);
}

export function fixed(value: number | null | undefined, digits = 3): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return value.toFixed(digits);
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : value < 10 ? 2 : 1)} ${units[unit]}`;
}

export function count(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return Math.round(n).toLocaleString('en-US');
}

export function compactCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  if (Math.abs(n) >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (Math.abs(n) >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  return `${m} min ${Math.round(seconds - m * 60)} s`;
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (v: number) => String(v).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A p-value as papers print it: three decimals, or "< 0.001" below that. */
export function pValue(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return '—';
  if (p < 0.001) return '< 0.001';
  return p.toFixed(3);
}

/** A signed difference of two fractions in percentage points, e.g. "+0.42". */
export function deltaPoints(fraction: number | null | undefined, digits = 2): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return '—';
  const points = fraction * 100;
  const text = Math.abs(points).toFixed(digits);
  if (Number(text) === 0) return (0).toFixed(digits);
  return `${points > 0 ? '+' : '−'}${text}`;
}

/**
 * A hyperparameter as researchers write it: learning rates and weight decays in short scientific
 * notation (3e-5), integers as integers, other numbers with up to four significant digits.
 */
export function hyperparameter(value: unknown, scientific = false, decimals: number | null = null): string {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return String(value);
    if (decimals !== null && !scientific) return value.toFixed(decimals);
    if (Number.isInteger(value) && Math.abs(value) < 1e6) return String(value);
    const magnitude = Math.abs(value);
    if (magnitude !== 0 && (scientific || magnitude < 1e-2 || magnitude >= 1e6)) {
      const [mantissa, exponent] = value.toExponential(2).split('e');
      return `${String(Number(mantissa))}e${Number(exponent)}`;
    }
    return String(Number(value.toPrecision(4)));
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/**
 * Whether a hyperparameter column reads best in scientific notation: when some non-integer value in it is
 * below 0.01 (a learning rate column), so that 1e-2 and 3e-4 line up instead of mixing 0.01 and 3e-4.
 */
export function scientificColumn(values: readonly unknown[]): boolean {
  return values.some((v) => typeof v === 'number' && v !== 0 && !Number.isInteger(v) && Math.abs(v) < 1e-2);
}

/**
 * The decimals a column of measured numbers (a final loss: 0.3311, 0.85, 0.425) is printed with so its
 * digits line up: the most any value needs (at most 4), when that is 3 or more. Set hyperparameters
 * (weight decay 0.1, 0.05) need fewer and stay as written: null.
 */
export function decimalsColumn(values: readonly unknown[]): number | null {
  if (scientificColumn(values)) return null; // learning rates: 3e-5, not 0.0000
  const numbers = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (numbers.length === 0 || numbers.length !== values.filter((v) => v !== null && v !== undefined).length)
    return null;
  const places = (v: number) => (String(Number(v.toPrecision(4))).split('.')[1] ?? '').length;
  const most = Math.min(4, Math.max(...numbers.map(places)));
  return most >= 3 ? most : null;
}

/** Relative inference cost: "1×" for one forward pass, "12×" for an ensemble of twelve. */
export function cost(passes: number | null | undefined): string {
  if (passes === null || passes === undefined || !Number.isFinite(passes)) return '—';
  return `${Number.isInteger(passes) ? passes : passes.toFixed(1)}×`;
}
