import sharp from 'sharp';

/**
 * libvips can load far more than photos (SVG through librsvg, TIFF, PDF, matrix, CSV, vips
 * files, Ultra HDR…); each loader is attack surface for untrusted uploads. Block them all
 * (class and subclasses) and unblock only the buffer loaders of the accepted types. Raw pixel
 * input does not go through a loader. This is process-wide: code that wants sharp to read a
 * file must read it into a Buffer first (the stored files are JPEG and WebP, both allowed).
 */
export const ALLOWED_LOADERS = [
  'VipsForeignLoadJpegBuffer',
  'VipsForeignLoadPngBuffer',
  'VipsForeignLoadWebpBuffer',
  // AVIF; also parses HEIC headers (the prebuilt libvips has no HEVC decoder).
  'VipsForeignLoadHeifBuffer',
  'VipsForeignLoadNsgifBuffer',
] as const;

sharp.block({ operation: ['VipsForeignLoad'] });
sharp.unblock({ operation: [...ALLOWED_LOADERS] });

export { sharp };
