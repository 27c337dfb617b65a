import { describe, expect, it } from 'vitest';
import {
  HALF_TO_FLOAT,
  bfloat16BitsToFloat,
  floatToBfloat16Bits,
  floatToHalfBits,
} from '../../../src-main/core/tensors/half.js';
import { addScaled, toFloat64, writeScaled } from '../../../src-main/core/tensors/kernels.js';

/** float16 decoded from its bit string, the IEEE way (independent of the table). */
function decodeHalf(bits: number): number {
  const s = bits.toString(2).padStart(16, '0');
  const sign = s[0] === '1' ? -1 : 1;
  const exponent = parseInt(s.slice(1, 6), 2);
  const fraction = parseInt(s.slice(6), 2) / 1024;
  if (exponent === 31) return fraction === 0 ? sign * Infinity : NaN;
  if (exponent === 0) return sign * fraction * Math.pow(2, -14);
  return sign * (1 + fraction) * Math.pow(2, exponent - 15);
}

const toF32 = (x: number) => Math.fround(x);

/** Nearest of two candidates, ties to the even bit pattern. */
function nearest(
  x: number,
  lo: { bits: number; value: number },
  hi: { bits: number; value: number },
): number {
  const dl = Math.abs(x - lo.value);
  const dh = Math.abs(x - hi.value);
  if (dl < dh) return lo.bits;
  if (dh < dl) return hi.bits;
  return lo.bits % 2 === 0 ? lo.bits : hi.bits;
}

function seeded(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

describe('float16', () => {
  it('decodes every bit pattern exactly', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const expected = decodeHalf(h);
      if (
        !Object.is(HALF_TO_FLOAT[h], expected) &&
        !(Number.isNaN(expected) && Number.isNaN(HALF_TO_FLOAT[h]))
      )
        wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('round-trips every non-NaN pattern and keeps NaN a NaN', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const v = HALF_TO_FLOAT[h]!;
      const ok = Number.isNaN(v) ? Number.isNaN(decodeHalf(floatToHalfBits(v))) : floatToHalfBits(v) === h;
      if (!ok) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds float32 to the nearest float16, ties to even (brute force over neighbours)', () => {
    const positives = Array.from({ length: 0x7c00 + 1 }, (_, h) => ({ bits: h, value: decodeHalf(h) }));
    const check = (x: number) => {
      const ax = Math.abs(x);
      const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
      let expected: number;
      if (ax >= 65520)
        expected = 0x7c00; // beyond the largest half + half an ulp: infinity
      else {
        let lo = 0;
        let hi = positives.length - 1;
        while (hi - lo > 1) {
          const mid = (lo + hi) >> 1;
          if (positives[mid]!.value <= ax) lo = mid;
          else hi = mid;
        }
        expected = positives[lo]!.value === ax ? lo : nearest(ax, positives[lo]!, positives[hi]!);
      }
      expect(floatToHalfBits(x), `x = ${x}`).toBe(sign | expected);
    };
    const random = seeded(7);
    for (let i = 0; i < 20000; i++) {
      const exponent = Math.floor(random() * 44) - 28;
      check(toF32((random() - 0.5) * 2 * Math.pow(2, exponent)));
    }
    for (let h = 0; h < 0x7bff; h += 37) {
      const mid = toF32((decodeHalf(h) + decodeHalf(h + 1)) / 2);
      check(mid);
      check(-mid);
    }
    check(65504);
    check(65519.996);
    check(2 ** -25);
    check(toF32(2 ** -25 * 1.0000001));
  });
});

describe('bfloat16', () => {
  it('round-trips every non-NaN pattern', () => {
    const wrong: number[] = [];
    for (let b = 0; b < 65536; b++) {
      const v = bfloat16BitsToFloat(b);
      const ok = Number.isNaN(v)
        ? Number.isNaN(bfloat16BitsToFloat(floatToBfloat16Bits(v)))
        : floatToBfloat16Bits(v) === b;
      if (!ok) wrong.push(b);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds float32 to nearest even bfloat16', () => {
    const buf = new DataView(new ArrayBuffer(4));
    const random = seeded(11);
    for (let i = 0; i < 20000; i++) {
      const bits = Math.floor(random() * 0xff000000) >>> 0;
      buf.setUint32(0, bits);
      const x = buf.getFloat32(0);
      if (!Number.isFinite(x)) continue;
      const loBits = bits >>> 16;
      buf.setUint32(0, loBits << 16);
      const lo = buf.getFloat32(0);
      buf.setUint32(0, ((loBits + 1) << 16) >>> 0);
      const hi = buf.getFloat32(0);
      const expected = nearest(
        Math.abs(x),
        { bits: loBits, value: Math.abs(lo) },
        { bits: loBits + 1, value: Math.abs(hi) },
      );
      expect(floatToBfloat16Bits(x), `bits ${bits.toString(16)}`).toBe(expected & 0xffff);
    }
  });
});

describe('averaging kernels', () => {
  it('accumulate f16, bf16, f32 and f64 tensors like a float64 reference', () => {
    const random = seeded(3);
    const n = 1000;
    const values = Array.from({ length: n }, () => (random() - 0.5) * 10);
    const halves = Uint16Array.from(values, floatToHalfBits);
    const bhalves = Uint16Array.from(values, floatToBfloat16Bits);
    const acc = new Float64Array(n);
    addScaled(acc, 0, new Uint8Array(halves.buffer), 'f16', 0.5);
    addScaled(acc, 0, new Uint8Array(bhalves.buffer), 'bf16', 0.25);
    addScaled(acc, 0, new Uint8Array(Float32Array.from(values).buffer), 'f32', 2);
    const probe = addScaled(acc, 0, new Uint8Array(Float64Array.from(values).buffer), 'f64', -1);
    expect(probe).toBeCloseTo(
      values.reduce((a, b) => a + b, 0),
      9,
    );
    for (let i = 0; i < n; i++) {
      const reference =
        0.5 * decodeHalf(halves[i]!) +
        0.25 * bfloat16BitsToFloat(bhalves[i]!) +
        2 * toF32(values[i]!) -
        values[i]!;
      expect(acc[i]).toBeCloseTo(reference, 12);
    }
    const out = new Uint8Array(n * 2);
    writeScaled(acc, 0, n, 0.5, 'f16', out);
    const decoded = toFloat64(out, 'f16');
    for (let i = 0; i < n; i++) expect(decoded[i]).toBe(decodeHalf(floatToHalfBits(acc[i]! * 0.5)));
  });

  it('reports non-finite values through the probe', () => {
    const acc = new Float32Array(3);
    expect(addScaled(acc, 0, new Uint8Array(Float32Array.from([1, Infinity, 2]).buffer), 'f32', 1)).toBe(
      Infinity,
    );
    expect(
      addScaled(acc, 0, new Uint8Array(Uint16Array.from([0x3c00, 0x7e00, 0]).buffer), 'f16', 1),
    ).toBeNaN();
  });
});
