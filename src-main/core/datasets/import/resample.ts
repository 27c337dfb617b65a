/**
 * PIL's resampling with antialiasing (Pillow src/libImaging/Resample.c, ImagingResample without a box),
 * ported line by line so an 8-bit image resized here matches `Image.resize(size, Image.BILINEAR)` (or
 * BICUBIC, ...) byte for byte. torchvision's Resize on PIL images is exactly that call.
 *
 * The filter's support (1 for bilinear) is stretched by the downscale factor, so every source pixel under
 * an output pixel contributes (antialiasing). The two passes are separable: horizontal first (only over
 * the rows the vertical pass will read), then vertical. Coefficients are normalised in double precision,
 * then rounded to 22-bit fixed point, and each output is rounded and clipped to 0..255 as PIL does.
 */

/** An 8-bit image with interleaved channels (row-major, `channels` bytes per pixel). */
export interface PixelImage {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

/** Resample.c: PRECISION_BITS = 32 - 8 - 2 (8 bits of result, 2 bits of headroom for overshoot). */
const PRECISION_BITS = 22;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

/** PIL's filters by the names torchvision and Hugging Face use; `support` is the radius at scale 1. */
export const RESAMPLE_FILTERS = {
  box: { support: 0.5, weight: (x: number) => (x > -0.5 && x <= 0.5 ? 1.0 : 0.0) },
  bilinear: {
    support: 1.0,
    weight: (x: number) => {
      const a = Math.abs(x);
      return a < 1.0 ? 1.0 - a : 0.0;
    },
  },
  hamming: {
    support: 1.0,
    weight: (x: number) => {
      const a = Math.abs(x);
      if (a === 0.0) return 1.0;
      if (a >= 1.0) return 0.0;
      const t = a * Math.PI;
      // The C source writes the constants as floats (0.54f, 0.46f).
      return (Math.sin(t) / t) * (Math.fround(0.54) + Math.fround(0.46) * Math.cos(t));
    },
  },
  bicubic: {
    support: 2.0,
    weight: (x: number) => {
      const a = -0.5;
      const t = Math.abs(x);
      if (t < 1.0) return ((a + 2.0) * t - (a + 3.0)) * t * t + 1;
      if (t < 2.0) return (((t - 5) * t + 8) * t - 4) * a;
      return 0.0;
    },
  },
  lanczos: {
    support: 3.0,
    weight: (x: number) => (-3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0),
  },
} as const;

export type ResampleFilter = keyof typeof RESAMPLE_FILTERS;
type FilterSpec = (typeof RESAMPLE_FILTERS)[ResampleFilter];

function sinc(x: number): number {
  if (x === 0.0) return 1.0;
  const t = x * Math.PI;
  return Math.sin(t) / t;
}

/** Per output pixel: the first source index, the number of taps, and the fixed-point weights. */
interface Coefficients {
  ksize: number;
  bounds: Int32Array;
  weights: Int32Array;
}

/** Resample.c precompute_coeffs followed by normalize_coeffs_8bpc, for the box [0, inSize). */
function precomputeCoefficients(inSize: number, outSize: number, filter: FilterSpec): Coefficients {
  // box[] is float in C; integer sizes below 2^24 are exact in float, so in1 - in0 is inSize.
  const scale = inSize / outSize;
  const filterscale = scale < 1 ? 1 : scale;
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const invFilterscale = 1.0 / filterscale;
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // (int) truncates toward zero; center - support + 0.5 can be negative, then clamped to 0 anyway.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0.0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.weight((x + xmin - center + 0.5) * invFilterscale);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < ksize; x++) {
      let value = x < xmax ? k[x]! : 0;
      if (x < xmax && ww !== 0.0) value /= ww;
      // normalize_coeffs_8bpc: round half away from zero into 22-bit fixed point.
      weights[xx * ksize + x] = value < 0 ? Math.trunc(-0.5 + value * ONE) : Math.trunc(0.5 + value * ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, weights };
}

/*
 * The two passes compute exactly Resample.c's sums, in its own 32-bit integer arithmetic: pixels (0..255)
 * times 22-bit fixed-point weights, started at HALF, in `int`; `| 0` keeps V8 on int32 and never changes a
 * value, since Resample.c's sums fit an int (that is what its 2 bits of headroom are for). clip8 is the
 * arithmetic shift then the clamp to 0..255, which a Uint8ClampedArray store does for an integer. Integer
 * sums do not depend on the order of the additions, so the loops run in memory order: the horizontal pass
 * keeps one sum per channel while it walks a pixel's taps, the vertical pass adds whole source rows into a
 * row of sums.
 */

/** Horizontal pass over source rows [rowOffset, rowOffset + rows). */
function resampleHorizontal(
  source: PixelImage,
  outWidth: number,
  rowOffset: number,
  rows: number,
  c: Coefficients,
): PixelImage {
  const { channels } = source;
  const src = source.data;
  const data = new Uint8Array(outWidth * rows * channels);
  const out = new Uint8ClampedArray(data.buffer);
  const inStride = source.width * channels;
  const { bounds, weights, ksize } = c;
  for (let yy = 0; yy < rows; yy++) {
    const inRow = (yy + rowOffset) * inStride;
    let o = yy * outWidth * channels;
    for (let xx = 0; xx < outWidth; xx++) {
      const xmin = bounds[xx * 2]!;
      const xmax = bounds[xx * 2 + 1]!;
      const kBase = xx * ksize;
      let p = inRow + xmin * channels;
      if (channels === 3) {
        let s0 = HALF;
        let s1 = HALF;
        let s2 = HALF;
        for (let x = 0; x < xmax; x++, p += 3) {
          const w = weights[kBase + x]!;
          s0 = (s0 + src[p]! * w) | 0;
          s1 = (s1 + src[p + 1]! * w) | 0;
          s2 = (s2 + src[p + 2]! * w) | 0;
        }
        out[o++] = s0 >> PRECISION_BITS;
        out[o++] = s1 >> PRECISION_BITS;
        out[o++] = s2 >> PRECISION_BITS;
      } else {
        for (let ch = 0; ch < channels; ch++) {
          let ss = HALF;
          for (let x = 0; x < xmax; x++) ss = (ss + src[p + x * channels + ch]! * weights[kBase + x]!) | 0;
          out[o++] = ss >> PRECISION_BITS;
        }
      }
    }
  }
  return { width: outWidth, height: rows, channels, data };
}

/** Vertical pass; bounds are relative to the first row of `source`. */
function resampleVertical(
  source: PixelImage,
  outHeight: number,
  c: Coefficients,
  rowShift: number,
): PixelImage {
  const { channels, width } = source;
  const src = source.data;
  const stride = width * channels;
  const data = new Uint8Array(stride * outHeight);
  const out = new Uint8ClampedArray(data.buffer);
  const sums = new Int32Array(stride);
  const { bounds, weights, ksize } = c;
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = bounds[yy * 2]! - rowShift;
    const ymax = bounds[yy * 2 + 1]!;
    const kBase = yy * ksize;
    sums.fill(HALF);
    for (let y = 0; y < ymax; y++) {
      const w = weights[kBase + y]!;
      const row = (y + ymin) * stride;
      for (let i = 0; i < stride; i++) sums[i] = (sums[i]! + src[row + i]! * w) | 0;
    }
    const o = yy * stride;
    for (let i = 0; i < stride; i++) out[o + i] = sums[i]! >> PRECISION_BITS;
  }
  return { width, height: outHeight, channels, data };
}

/** `Image.resize((width, height), filter)` for 8-bit images (ImagingResampleInner). */
export function resample(
  image: PixelImage,
  width: number,
  height: number,
  filterName: ResampleFilter = 'bilinear',
): PixelImage {
  const filter = RESAMPLE_FILTERS[filterName];
  if (width < 1 || height < 1) throw new RangeError(`cannot resize to ${width}x${height}`);
  const needHorizontal = width !== image.width;
  const needVertical = height !== image.height;
  if (!needHorizontal && !needVertical) return { ...image, data: image.data.slice() };
  const vertical = precomputeCoefficients(image.height, height, filter);
  // First and last source rows the vertical pass reads: the horizontal pass only computes those.
  const firstRow = vertical.bounds[0]!;
  const lastRow = vertical.bounds[height * 2 - 2]! + vertical.bounds[height * 2 - 1]!;
  let current = image;
  let rowShift = 0;
  if (needHorizontal) {
    current = resampleHorizontal(
      image,
      width,
      firstRow,
      lastRow - firstRow,
      precomputeCoefficients(image.width, width, filter),
    );
    rowShift = firstRow;
  }
  return needVertical ? resampleVertical(current, height, vertical, rowShift) : current;
}
