import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { sharp } from '../media/sharp-loaders.ts';
import { MosaicError } from './errors.ts';

/** An RGB (3 channels, 8 bits) raster. */
export interface Rgb {
  data: Buffer;
  width: number;
  height: number;
}

export interface Target {
  /** For the manifest and messages: the file's name or "default". */
  name: string;
  /** Upright size. */
  width: number;
  height: number;
  /** The target at exactly width×height (cover-cropped to that aspect), RGB. */
  render(width: number, height: number): Promise<Rgb>;
}

/**
 * A target from a file never comes from a supporter, but an organizer may still pick the wrong
 * file: 100 MP is more than any camera or poster scan an organizer would use, and far below
 * what would exhaust memory while decoding (a 16-bit RGBA 100 MP image is 800 MB).
 */
export const DEFAULT_MAX_TARGET_PIXELS = 100_000_000;

export async function openTarget(
  source: string | Uint8Array | undefined,
  maxPixels = DEFAULT_MAX_TARGET_PIXELS,
): Promise<Target> {
  if (source === undefined || source === 'default') return defaultTarget();
  let bytes: Uint8Array;
  let name: string;
  if (typeof source === 'string') {
    name = basename(source);
    try {
      bytes = await readFile(source);
    } catch (error) {
      throw new MosaicError('bad-target', `cannot read the target ${source}: ${(error as Error).message}`);
    }
  } else {
    name = 'target';
    bytes = source;
  }
  if (bytes.length === 0) throw new MosaicError('bad-target', `the target ${name} is empty`);
  // Only sharp-loaders' buffer loaders are allowed, so SVG, PDF or TIFF are refused here too.
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw new MosaicError('bad-target', `the target ${name} is not an image (JPEG or PNG expected)`);
  }
  const { width, height } = meta;
  if (!width || !height) throw new MosaicError('bad-target', `the target ${name} has no dimensions`);
  // The header alone decides: a pixel bomb is refused before a single row is decoded.
  if (width * height > maxPixels) {
    throw new MosaicError(
      'target-too-large',
      `the target ${name} is ${width}×${height} (${Math.round((width * height) / 1e6)} MP), more than the limit of ${Math.round(maxPixels / 1e6)} MP`,
    );
  }
  const swap = (meta.orientation ?? 1) >= 5;
  const upright = { width: swap ? height : width, height: swap ? width : height };
  return {
    name,
    ...upright,
    async render(w, h) {
      try {
        const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' })
          .autoOrient()
          .resize(w, h, { fit: 'cover', position: 'centre' })
          .flatten({ background: '#ffffff' })
          .toColourspace('srgb')
          .removeAlpha()
          .raw()
          .toBuffer({ resolveWithObject: true });
        if (info.channels !== 3 || info.width !== w || info.height !== h) {
          throw new Error(`decoded to ${info.width}×${info.height}×${info.channels}`);
        }
        return { data, width: w, height: h };
      } catch (error) {
        throw new MosaicError(
          'bad-target',
          `the target ${name} cannot be decoded: ${(error as Error).message}`,
        );
      }
    },
  };
}

/**
 * The built-in target: a peace symbol on a sky gradient. Drawn from geometry rather than SVG
 * text, so it needs no font (none ships with the project) and no SVG loader (blocked for
 * untrusted input, process-wide).
 */
export function defaultTarget(): Target {
  return {
    name: 'default',
    width: 4000,
    height: 3000,
    render: async (w, h) => ({ data: drawPeace(w, h), width: w, height: h }),
  };
}

const SAMPLES = [0.25, 0.75];

function drawPeace(w: number, h: number): Buffer {
  const out = Buffer.alloc(w * h * 3);
  const cx = w / 2;
  const cy = h / 2;
  const r = Math.min(w, h) * 0.4;
  const stroke = r * 0.15;
  const inner = r - stroke;
  const half = stroke / 2;
  // The legs run from the centre to the lower rim at 45° either side of the vertical.
  const leg = Math.SQRT1_2;
  const inSymbol = (x: number, y: number): boolean => {
    const dx = x - cx;
    const dy = y - cy;
    const d2 = dx * dx + dy * dy;
    if (d2 > r * r) return false;
    if (d2 >= inner * inner) return true;
    if (Math.abs(dx) <= half) return true;
    if (dy <= 0) return false;
    // Distance to the two lines through the centre along (±leg, leg); the legs only go down.
    return Math.abs(dx * leg - dy * leg) <= half || Math.abs(dx * leg + dy * leg) <= half;
  };
  for (let y = 0; y < h; y++) {
    const t = y / Math.max(1, h - 1);
    // Deep blue at the top to a warm dusk at the bottom: a target needs colour variety.
    const bg = [Math.round(20 + 200 * t * t), Math.round(40 + 80 * t), Math.round(120 + 40 * (1 - t))];
    for (let x = 0; x < w; x++) {
      let hits = 0;
      for (const sy of SAMPLES) for (const sx of SAMPLES) if (inSymbol(x + sx, y + sy)) hits++;
      const a = hits / 4;
      // The symbol itself shades from white to a pale yellow left to right.
      const fg = [255, 255, Math.round(255 - (90 * x) / w)];
      const i = (y * w + x) * 3;
      for (let c = 0; c < 3; c++) out[i + c] = Math.round((bg[c] ?? 0) * (1 - a) + (fg[c] ?? 0) * a);
    }
  }
  return out;
}
