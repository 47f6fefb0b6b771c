import type { ImageKind } from './types.ts';

/**
 * Decides what a file is from its first bytes, never from its name or the sender's
 * Content-Type: both are chosen by whoever sent it.
 */

const ascii = (bytes: Uint8Array, start: number, end: number): string =>
  String.fromCharCode(...bytes.subarray(start, Math.min(end, bytes.length)));

const startsWith = (bytes: Uint8Array, prefix: readonly number[]): boolean =>
  bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);

/** HEIF brands whose images are HEVC coded (still images and sequences; the first image is used). */
const HEIC_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'hevm', 'hevs']);
const AVIF_BRANDS = new Set(['avif', 'avis']);
/** Generic HEIF brands: the codec is only known from the compatible brands. */
const GENERIC_HEIF_BRANDS = new Set(['mif1', 'mif2', 'msf1', 'miaf']);

/** The major and compatible brands of an ISO BMFF `ftyp` box, or null when there is none. */
export function ftypBrands(bytes: Uint8Array): { major: string; compatible: string[] } | null {
  if (bytes.length < 16 || ascii(bytes, 4, 8) !== 'ftyp') return null;
  const size = ((bytes[0] ?? 0) << 24) | ((bytes[1] ?? 0) << 16) | ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0);
  const end = Math.min(size >>> 0, bytes.length, 4096);
  const compatible: string[] = [];
  for (let o = 16; o + 4 <= end; o += 4) compatible.push(ascii(bytes, o, o + 4));
  return { major: ascii(bytes, 8, 12), compatible };
}

function heifKind(bytes: Uint8Array): ImageKind | null {
  const brands = ftypBrands(bytes);
  if (!brands) return null;
  if (AVIF_BRANDS.has(brands.major)) return 'avif';
  if (HEIC_BRANDS.has(brands.major)) return 'heic';
  if (!GENERIC_HEIF_BRANDS.has(brands.major)) return null;
  // A generic major brand (iPhones write `mif1` + `heic`, some AVIF encoders `mif1` + `avif`).
  if (brands.compatible.some((b) => HEIC_BRANDS.has(b))) return 'heic';
  if (brands.compatible.some((b) => AVIF_BRANDS.has(b))) return 'avif';
  return 'heic';
}

/** The image type the bytes really are, or null when it is not one the pipeline accepts. */
export function sniffImageKind(bytes: Uint8Array): ImageKind | null {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (ascii(bytes, 0, 6) === 'GIF87a' || ascii(bytes, 0, 6) === 'GIF89a') return 'gif';
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return 'webp';
  return heifKind(bytes);
}

/** Names what an unaccepted file looks like, for a rejection message people can act on. */
export function describeUnsupported(bytes: Uint8Array): string {
  const head = ascii(bytes, 0, 512)
    .replace(/^\uFEFF/, '')
    .trimStart()
    .toLowerCase();
  if (head.startsWith('%pdf')) return 'a PDF document';
  if (head.startsWith('<svg') || (head.startsWith('<?xml') && head.includes('<svg'))) return 'an SVG drawing';
  if (head.startsWith('<!doctype html') || head.startsWith('<html')) return 'a web page';
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) {
    return 'a TIFF image';
  }
  if (ascii(bytes, 0, 2) === 'BM') return 'a BMP image';
  if (ascii(bytes, 4, 8) === 'ftyp') return 'a video or another ISO media file';
  if (startsWith(bytes, [0xff, 0x0a]) || startsWith(bytes, [0, 0, 0, 0x0c, 0x4a, 0x58, 0x4c, 0x20])) {
    return 'a JPEG XL image';
  }
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04])) return 'a ZIP archive';
  const sample = bytes.subarray(0, 512);
  if (sample.length > 0 && sample.every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b !== 127))) {
    return 'a text file';
  }
  return 'not an image type we accept';
}

export const ACCEPTED_TYPES_TEXT = 'JPEG, PNG, WebP, AVIF, GIF and HEIC';
