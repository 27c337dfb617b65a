/**
 * One image file to 8-bit pixels: sharp (libvips) for JPEG, PNG, WebP, GIF (first frame) and TIFF, the small
 * decoder in bmp.ts for BMP. EXIF orientation is applied. Embedded ICC profiles are ignored and alpha is
 * dropped, as PIL's `Image.open(f).convert(mode)` does, so the pixels match what a PyTorch pipeline sees.
 */
import sharp from 'sharp';
import { BmpError, decodeBmp, isBmp } from './bmp.js';
import type { PixelImage } from './resample.js';

/** A file that is not a decodable image; `reason` is shown to the user next to the file name. */
export class UndecodableImage extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'UndecodableImage';
  }
}

/** Decoded pixels keep the file's own colour model: 1 channel for grey images, else 3. */
export async function decodeImage(bytes: Uint8Array): Promise<PixelImage> {
  if (bytes.byteLength === 0) throw new UndecodableImage('empty file (0 bytes)');
  if (isBmp(bytes)) {
    try {
      return decodeBmp(bytes);
    } catch (error) {
      if (error instanceof BmpError) throw new UndecodableImage(error.message);
      throw error;
    }
  }
  let raw: { data: Buffer; info: sharp.OutputInfo };
  try {
    raw = await sharp(bytes, { autoOrient: true, ignoreIcc: true, failOn: 'error', pages: 1 })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new UndecodableImage(describeSharpFailure((error as Error).message));
  }
  return dropAlpha({
    width: raw.info.width,
    height: raw.info.height,
    channels: raw.info.channels,
    data: new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength),
  });
}

function describeSharpFailure(message: string): string {
  const first = message.split('\n')[0]!.trim();
  if (/unsupported image format/i.test(first))
    return 'not an image in a supported format (JPEG, PNG, WebP, GIF, BMP, TIFF)';
  if (/premature end|truncated|unexpected end|short read|not enough data/i.test(message))
    return `truncated or corrupt image data (${first})`;
  return `cannot decode: ${first}`;
}

/** Grey+alpha to grey, RGBA to RGB: PIL's convert() drops alpha without compositing. */
function dropAlpha(image: PixelImage): PixelImage {
  const { channels } = image;
  if (channels === 1 || channels === 3) return image;
  if (channels !== 2 && channels !== 4)
    throw new UndecodableImage(`unsupported number of colour channels (${channels})`);
  const keep = channels - 1;
  const pixels = image.width * image.height;
  const data = new Uint8Array(pixels * keep);
  for (let i = 0; i < pixels; i++)
    for (let c = 0; c < keep; c++) data[i * keep + c] = image.data[i * channels + c]!;
  return { ...image, channels: keep, data };
}

/**
 * To 1 or 3 channels as PIL's convert("L") / convert("RGB"): grey is replicated into RGB, and RGB becomes
 * grey by ITU-R 601-2 luma in PIL's fixed point (Convert.c, L24: (R*19595 + G*38470 + B*7471 + 0x8000) >> 16).
 */
export function toChannels(image: PixelImage, channels: 1 | 3): PixelImage {
  if (image.channels === channels) return image;
  const pixels = image.width * image.height;
  const data = new Uint8Array(pixels * channels);
  const src = image.data;
  if (channels === 3) {
    for (let i = 0; i < pixels; i++) data[i * 3] = data[i * 3 + 1] = data[i * 3 + 2] = src[i]!;
  } else {
    for (let i = 0; i < pixels; i++)
      data[i] = (src[i * 3]! * 19595 + src[i * 3 + 1]! * 38470 + src[i * 3 + 2]! * 7471 + 0x8000) >>> 16;
  }
  return { width: image.width, height: image.height, channels, data };
}
