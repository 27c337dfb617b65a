/**
 * A small BMP decoder: sharp's prebuilt libvips has no BMP loader. Handles what image folders contain in
 * practice: Windows BITMAPINFOHEADER and later (V4, V5) and OS/2 core headers; 1, 4 and 8-bit palettes,
 * 16, 24 and 32-bit pixels (BI_RGB and BI_BITFIELDS); bottom-up and top-down rows. Run-length compressed
 * BMPs are refused with the reason. A palette that is all greys decodes to one channel (as PIL opens it in
 * mode "L"), anything else to RGB; alpha is dropped as PIL's convert("RGB") does.
 */
import type { PixelImage } from './resample.js';

export class BmpError extends Error {}

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

export function isBmp(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d;
}

/** A channel mask such as 0x00ff0000 as (shift, bits), to scale the field to 0..255. */
function maskField(mask: number): { shift: number; bits: number } {
  if (mask === 0) return { shift: 0, bits: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  let bits = 0;
  while (((mask >>> (shift + bits)) & 1) === 1) bits++;
  return { shift, bits };
}

function scaleField(value: number, field: { shift: number; bits: number }): number {
  if (field.bits === 0) return 0;
  const max = 2 ** field.bits - 1;
  const v = (value >>> field.shift) & max;
  return field.bits === 8 ? v : Math.round((v * 255) / max);
}

export function decodeBmp(bytes: Uint8Array): PixelImage {
  if (bytes.length < 26 || !isBmp(bytes)) throw new BmpError('not a BMP file (no "BM" signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dataOffset = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);
  let width: number;
  let height: number;
  let bpp: number;
  let compression = BI_RGB;
  let colours = 0;
  let paletteEntryBytes = 4;
  if (headerSize === 12) {
    width = view.getUint16(18, true);
    height = view.getInt16(20, true);
    bpp = view.getUint16(24, true);
    paletteEntryBytes = 3;
  } else if (headerSize >= 40 && bytes.length >= 14 + 40) {
    width = view.getInt32(18, true);
    height = view.getInt32(22, true);
    bpp = view.getUint16(28, true);
    compression = view.getUint32(30, true);
    colours = view.getUint32(46, true);
  } else {
    throw new BmpError(`unsupported BMP header (${headerSize} bytes)`);
  }
  const topDown = height < 0;
  height = Math.abs(height);
  if (width <= 0 || height === 0 || width > 1 << 16 || height > 1 << 16)
    throw new BmpError(`implausible BMP size ${width}x${height}`);
  if (compression !== BI_RGB && compression !== BI_BITFIELDS && compression !== BI_ALPHABITFIELDS)
    throw new BmpError(`compressed BMP (compression ${compression}) is not supported; save it uncompressed`);
  if (![1, 4, 8, 16, 24, 32].includes(bpp)) throw new BmpError(`unsupported BMP bit depth ${bpp}`);

  // Masks: in the V4/V5 header, or right after a 40-byte header for BI_BITFIELDS.
  let masks = bpp === 16 ? [0x7c00, 0x03e0, 0x001f] : [0xff0000, 0x00ff00, 0x0000ff];
  if (compression !== BI_RGB) {
    const at = 14 + 40;
    if (bytes.length < at + 12) throw new BmpError('BMP bit masks are missing (file truncated)');
    masks = [view.getUint32(at, true), view.getUint32(at + 4, true), view.getUint32(at + 8, true)];
  }
  const fields = masks.map(maskField);

  let palette: Uint8Array | null = null;
  if (bpp <= 8) {
    const count = colours || 1 << bpp;
    const at = 14 + headerSize;
    if (bytes.length < at + count * paletteEntryBytes) throw new BmpError('BMP palette is truncated');
    palette = new Uint8Array(count * 3);
    for (let i = 0; i < count; i++) {
      const e = at + i * paletteEntryBytes;
      palette[i * 3] = bytes[e + 2]!;
      palette[i * 3 + 1] = bytes[e + 1]!;
      palette[i * 3 + 2] = bytes[e]!;
    }
  }
  const stride = Math.ceil((width * bpp) / 32) * 4;
  if (dataOffset + stride * height > bytes.length)
    throw new BmpError(
      `BMP pixel data is truncated (${bytes.length} bytes, ${dataOffset + stride * height} needed)`,
    );

  const grey = palette !== null && isGreyPalette(palette);
  const channels = grey ? 1 : 3;
  const out = new Uint8Array(width * height * channels);
  for (let row = 0; row < height; row++) {
    const y = topDown ? row : height - 1 - row;
    const line = dataOffset + row * stride;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      if (palette) {
        const index = paletteIndex(bytes, line, x, bpp);
        if (index * 3 + 2 >= palette.length)
          throw new BmpError(`BMP pixel uses colour ${index} outside the palette`);
        if (grey) out[o] = palette[index * 3]!;
        else out.set(palette.subarray(index * 3, index * 3 + 3), o);
      } else if (bpp === 24 && compression === BI_RGB) {
        const p = line + x * 3;
        out[o] = bytes[p + 2]!;
        out[o + 1] = bytes[p + 1]!;
        out[o + 2] = bytes[p]!;
      } else {
        const value = bpp === 16 ? view.getUint16(line + x * 2, true) : view.getUint32(line + x * 4, true);
        for (let c = 0; c < 3; c++) out[o + c] = scaleField(value, fields[c]!);
      }
    }
  }
  return { width, height, channels, data: out };
}

function paletteIndex(bytes: Uint8Array, line: number, x: number, bpp: number): number {
  if (bpp === 8) return bytes[line + x]!;
  const perByte = 8 / bpp;
  const byte = bytes[line + Math.floor(x / perByte)]!;
  const shift = 8 - bpp * ((x % perByte) + 1);
  return (byte >> shift) & ((1 << bpp) - 1);
}

function isGreyPalette(palette: Uint8Array): boolean {
  for (let i = 0; i < palette.length; i += 3)
    if (palette[i] !== palette[i + 1] || palette[i] !== palette[i + 2]) return false;
  return true;
}
