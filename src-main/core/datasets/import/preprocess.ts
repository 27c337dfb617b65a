/**
 * The per-image pipeline of an import, in torchvision's order for PIL images: decode (EXIF orientation
 * applied), convert to the requested channels, `Resize(S)`, `CenterCrop(C)`, then planar CHW bytes.
 */
import fs from 'node:fs';
import { UndecodableImage, decodeImage, toChannels } from './decode.js';
import type { CropOffsetRule } from './geometry.js';
import { centerCrop, resizedSize, toPlanar } from './geometry.js';
import type { ResampleFilter } from './resample.js';
import { resample } from './resample.js';

export interface PixelPipeline {
  channels: 1 | 3;
  /** torchvision Resize(size): the shorter side becomes `size` */
  size?: number;
  /** torchvision CenterCrop(crop) */
  crop?: number;
  /** PIL filter of the resize; torchvision's default is bilinear */
  resample: ResampleFilter;
  /** torchvision's centre (round half to even) unless the model's Hugging Face processor says otherwise */
  cropOffsets: CropOffsetRule;
}

export interface PreparedImage {
  width: number;
  height: number;
  /** C x H x W bytes */
  planar: Uint8Array;
}

export function preparePixels(bytes: Uint8Array, pipeline: PixelPipeline): Promise<PreparedImage> {
  return decodeImage(bytes).then((decoded) => {
    let image = toChannels(decoded, pipeline.channels);
    if (pipeline.size !== undefined) {
      const target = resizedSize(image.width, image.height, pipeline.size);
      // torchvision hands back the image itself when the size does not change.
      if (target.width !== image.width || target.height !== image.height)
        image = resample(image, target.width, target.height, pipeline.resample);
    }
    if (pipeline.crop !== undefined) image = centerCrop(image, pipeline.crop, pipeline.cropOffsets);
    return { width: image.width, height: image.height, planar: toPlanar(image) };
  });
}

/** Reads and prepares one file; an unreadable or undecodable file becomes `UndecodableImage`. */
export async function prepareFile(file: string, pipeline: PixelPipeline): Promise<PreparedImage> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (error) {
    throw new UndecodableImage(`cannot read the file (${(error as Error).message})`);
  }
  return preparePixels(bytes, pipeline);
}
