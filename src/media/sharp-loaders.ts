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

// The list lives in libvips, once per process, and setting it is two steps: between the block and
// the unblock every decode in the process fails. Media worker threads (which share the process
// and get a copy of its environment) therefore find it set and leave it alone; a child process
// has another pid and sets its own.
const APPLIED = 'STANDWALL_SHARP_LOADERS_PID';
if (process.env[APPLIED] !== String(process.pid)) {
  sharp.block({ operation: ['VipsForeignLoad'] });
  sharp.unblock({ operation: [...ALLOWED_LOADERS] });
  process.env[APPLIED] = String(process.pid);
}

export { sharp };
