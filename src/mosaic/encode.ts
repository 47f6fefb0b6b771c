import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { sharp } from '../media/sharp-loaders.ts';
import { MosaicError } from './errors.ts';
import type { Rgb } from './target.ts';

export const OUTPUT_FORMATS = ['jpeg', 'png', 'tiff'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function formatFromPath(file: string): OutputFormat {
  const ext = extname(file).toLowerCase();
  if (ext === '.jpg' || ext === '.jpeg') return 'jpeg';
  if (ext === '.png') return 'png';
  if (ext === '.tif' || ext === '.tiff') return 'tiff';
  throw new MosaicError(
    'unsupported-format',
    `cannot write ${file}: the name must end in .jpg, .png or .tif`,
  );
}

function fromRaw(img: Rgb) {
  // Raw input wraps the canvas without a copy; no loader involved, so the block list allows it.
  return sharp(img.data, {
    raw: { width: img.width, height: img.height, channels: 3 },
    limitInputPixels: false,
  });
}

/**
 * Writes the canvas as a print file. 300 dpi is recorded so a print shop reads the intended
 * size (8,000 px = 67.7 cm). JPEG keeps full chroma: faces in 80 px cells lose detail at 4:2:0.
 * Written to a temp name and renamed, so a reader never sees half a file.
 */
export async function encodeImage(img: Rgb, file: string, quality = 90, dpi = 300): Promise<void> {
  const format = formatFromPath(file);
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  let pipeline = fromRaw(img).withMetadata({ density: dpi });
  // Optimised Huffman tables make libjpeg keep every coefficient of the image until the end:
  // 1.5 GB at 12,000×8,000 (0.4 GB without) and 4× the time, for a file a few per cent smaller.
  const optimiseCoding = img.width * img.height <= 16_000_000;
  if (format === 'jpeg') pipeline = pipeline.jpeg({ quality, chromaSubsampling: '4:4:4', optimiseCoding });
  else if (format === 'png') pipeline = pipeline.png({ compressionLevel: 6, adaptiveFiltering: false });
  else
    pipeline = pipeline.tiff({
      compression: 'lzw',
      predictor: 'horizontal',
      bigtiff: img.data.length > 3.5e9,
    });
  try {
    await pipeline.toFile(tmp);
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/**
 * A Deep Zoom pyramid (`<dir>/mosaic.dzi` and `<dir>/mosaic_files/<level>/<col>_<row>.jpeg`)
 * of 254 px tiles with 1 px overlap, the layout OpenSeadragon and our viewer read.
 */
export async function writeDeepZoom(img: Rgb, dir: string, encoded?: string, quality = 80): Promise<string> {
  await mkdir(dir, { recursive: true });
  await rm(join(dir, 'mosaic_files'), { recursive: true, force: true });
  // From the encoded JPEG or PNG, read sequentially, the pyramid is built strip by strip: at
  // 12,000×8,000 the build peaked at 1.7 GB from the raw canvas.
  const source =
    encoded && formatFromPath(encoded) !== 'tiff'
      ? sharp(await readFile(encoded), { limitInputPixels: false, sequentialRead: true })
      : fromRaw(img);
  // libvips appends .dzi and _files to the name it is given.
  await source.jpeg({ quality }).tile({ size: 254, overlap: 1, layout: 'dz' }).toFile(join(dir, 'mosaic'));
  await rm(join(dir, 'mosaic_files', 'vips-properties.xml'), { force: true });
  return join(dir, 'mosaic.dzi');
}
