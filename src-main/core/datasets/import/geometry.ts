/**
 * torchvision's size arithmetic for `Resize(S)` and `CenterCrop(C)` on PIL images
 * (torchvision/transforms/functional.py: _compute_resized_output_size, center_crop), so an imported image
 * has exactly the pixels a PyTorch evaluation would feed the model.
 */
import type { PixelImage } from './resample.js';

/**
 * `Resize(S)` with an int S: the shorter side becomes S, the longer `int(S * long / short)` (Python's float
 * division, then truncation). torchvision returns the image untouched when the size does not change.
 */
export function resizedSize(
  width: number,
  height: number,
  shorterSide: number,
): { width: number; height: number } {
  const [short, long] = width <= height ? [width, height] : [height, width];
  const newLong = Math.trunc((shorterSide * long) / short);
  return width <= height ? { width: shorterSide, height: newLong } : { width: newLong, height: shorterSide };
}

/** Python 3's round(): halves go to the even neighbour (round(0.5) == 0, round(1.5) == 2). */
export function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * Where the crop starts: torchvision's `int(round((h - C) / 2))` (Python rounds halves to even), or
 * Hugging Face image processors' `(h - C) // 2`. They differ when h - C is odd and round(d / 2) is odd.
 */
export type CropOffsetRule = 'torchvision' | 'huggingface';

function cropOffset(extent: number, crop: number, rule: CropOffsetRule): number {
  return rule === 'torchvision' ? roundHalfEven((extent - crop) / 2) : Math.floor((extent - crop) / 2);
}

/**
 * `CenterCrop(C)`. When C exceeds a side, torchvision first pads with zeros, `(C - side) // 2` before and
 * `(C - side + 1) // 2` after, then crops the (now exact) centre.
 */
export function centerCrop(
  image: PixelImage,
  crop: number,
  rule: CropOffsetRule = 'torchvision',
): PixelImage {
  const padded = padToAtLeast(image, crop);
  const top = cropOffset(padded.height, crop, rule);
  const left = cropOffset(padded.width, crop, rule);
  const { channels } = padded;
  const out = new Uint8Array(crop * crop * channels);
  const rowBytes = crop * channels;
  for (let y = 0; y < crop; y++) {
    const from = ((top + y) * padded.width + left) * channels;
    out.set(padded.data.subarray(from, from + rowBytes), y * rowBytes);
  }
  return { width: crop, height: crop, channels, data: out };
}

function padToAtLeast(image: PixelImage, size: number): PixelImage {
  if (image.width >= size && image.height >= size) return image;
  const padLeft = image.width < size ? Math.floor((size - image.width) / 2) : 0;
  const padTop = image.height < size ? Math.floor((size - image.height) / 2) : 0;
  const width = Math.max(image.width, size);
  const height = Math.max(image.height, size);
  const { channels } = image;
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < image.height; y++) {
    const from = y * image.width * channels;
    data.set(
      image.data.subarray(from, from + image.width * channels),
      ((y + padTop) * width + padLeft) * channels,
    );
  }
  return { width, height, channels, data };
}

/** Interleaved HWC pixels to planar CHW, the layout models take (NCHW once stacked). */
export function toPlanar(image: PixelImage): Uint8Array {
  const { width, height, channels, data } = image;
  const plane = width * height;
  if (channels === 1) return data.slice();
  const out = new Uint8Array(plane * channels);
  for (let i = 0; i < plane; i++)
    for (let c = 0; c < channels; c++) out[c * plane + i] = data[i * channels + c]!;
  return out;
}
