/**
 * Removes metadata segments from a JPEG without decoding it, so an upright JPEG can be kept
 * as the print original bit for bit (no generation loss, no full-size re-encode).
 *
 * Kept: the frame, tables and scans; a plain JFIF APP0 (without its optional thumbnail);
 * APP2 `ICC_PROFILE` (colours print wrong without it); APP14 `Adobe` (tells decoders whether
 * the data is RGB, YCbCr or YCCK). Dropped: every other APPn (EXIF with GPS and thumbnails,
 * XMP, IPTC/Photoshop, MPF, maker data), COM, and anything after EOI (appended gain maps,
 * depth maps and vendor trailers).
 */

export class JpegStructureError extends Error {
  override name = 'JpegStructureError';
}

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const COM = 0xfe;
const APP0 = 0xe0;
const APP1 = 0xe1;
const APP2 = 0xe2;
const APP14 = 0xee;
const APP15 = 0xef;

const hasPrefix = (seg: Uint8Array, text: string): boolean =>
  seg.length >= text.length && [...text].every((c, i) => seg[i] === c.charCodeAt(0));

function keepSegment(marker: number, payload: Uint8Array): boolean {
  if (marker === COM) return false;
  if (marker < APP0 || marker > APP15) return true;
  // JFIF header with no thumbnail is exactly 14 bytes ('JFIF\0', version, units, densities, 0, 0).
  if (marker === APP0) return hasPrefix(payload, 'JFIF\0') && payload.length === 14;
  if (marker === APP2) return hasPrefix(payload, 'ICC_PROFILE\0');
  if (marker === APP14) return hasPrefix(payload, 'Adobe');
  return false;
}

/** Markers that stand alone, without a length field. */
const isStandalone = (m: number): boolean => m === 0x01 || (m >= 0xd0 && m <= 0xd7);

/** What the headers of a stripped JPEG said, read on the way (no pixel decoded). */
export interface JpegHeader {
  /** From the frame header; null without one (then the file is left to the decoder to judge). */
  frame: { width: number; height: number; components: number; precision: number; sof: number } | null;
  /** EXIF orientation 1–8, 1 without EXIF; null when the EXIF could not be read unambiguously. */
  orientation: number | null;
  /** Adobe APP14 colour transform (0 RGB or CMYK, 1 YCbCr, 2 YCCK), null without that segment. */
  adobeTransform: number | null;
  /**
   * The embedded ICC profile: none, sRGB (its pixels are sRGB already), or another (Display P3,
   * Adobe RGB, linear…), whose pixels a decoder must convert.
   */
  icc: 'none' | 'srgb' | 'other';
}

/** sRGB's primaries adapted to D50, as every sRGB profile states them (ICC v2 and v4). */
const SRGB_PRIMARIES: Record<string, [number, number, number]> = {
  rXYZ: [0.4361, 0.2225, 0.0139],
  gXYZ: [0.3851, 0.7169, 0.0971],
  bXYZ: [0.1431, 0.0606, 0.7141],
};

const srgbDecode = (x: number): number => (x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4);

/** A tone curve (`curv` table or `para` function) as a function of 0–1, or null if unreadable. */
function toneCurve(tag: Buffer | undefined): ((x: number) => number) | null {
  if (!tag || tag.length < 12) return null;
  const type = tag.toString('latin1', 0, 4);
  if (type === 'curv') {
    const n = tag.readUInt32BE(8);
    // One entry is a plain gamma, which sRGB is not.
    if (n < 2 || tag.length < 12 + 2 * n) return null;
    return (x) => {
      const at = x * (n - 1);
      const i = Math.floor(at);
      const j = Math.min(n - 1, i + 1);
      return (
        (tag.readUInt16BE(12 + 2 * i) * (1 - (at - i)) + tag.readUInt16BE(12 + 2 * j) * (at - i)) / 65535
      );
    };
  }
  if (type === 'para') {
    const fn = tag.readUInt16BE(8);
    const count = [1, 3, 4, 5, 7][fn];
    if (count === undefined || tag.length < 12 + 4 * count) return null;
    const [g = 1, a = 1, b = 0, c = 0, d = 0, e = 0, f = 0] = Array.from(
      { length: count },
      (_, k) => tag.readInt32BE(12 + 4 * k) / 65536,
    );
    const power = (x: number) => (a * x + b > 0 ? (a * x + b) ** g : 0);
    if (fn === 0) return (x) => x ** g;
    if (fn === 1) return (x) => (x >= -b / a ? power(x) : 0);
    if (fn === 2) return (x) => (x >= -b / a ? power(x) + c : c);
    if (fn === 3) return (x) => (x >= d ? power(x) : c * x);
    return (x) => (x >= d ? power(x) + e : c * x + f);
  }
  return null;
}

/**
 * Whether an ICC profile is sRGB by what it does, not by its name: an RGB profile with sRGB's
 * primaries and sRGB's tone curve on every channel. Names mislead: phones' Display P3 profiles
 * are called "… Gamut with sRGB Transfer".
 */
export function iccIsSrgb(profile: Buffer): boolean {
  if (profile.length < 132 || profile.toString('latin1', 36, 40) !== 'acsp') return false;
  if (profile.toString('latin1', 16, 20) !== 'RGB ') return false;
  const tags = new Map<string, Buffer>();
  const count = profile.readUInt32BE(128);
  for (let i = 0; i < count && 144 + i * 12 <= profile.length; i++) {
    const at = 132 + i * 12;
    const offset = profile.readUInt32BE(at + 4);
    const size = profile.readUInt32BE(at + 8);
    if (offset + size > profile.length) return false;
    tags.set(profile.toString('latin1', at, at + 4), profile.subarray(offset, offset + size));
  }
  for (const [name, expected] of Object.entries(SRGB_PRIMARIES)) {
    const tag = tags.get(name);
    if (!tag || tag.length < 20 || tag.toString('latin1', 0, 4) !== 'XYZ ') return false;
    if (expected.some((v, k) => Math.abs(tag.readInt32BE(8 + 4 * k) / 65536 - v) > 0.003)) return false;
  }
  return ['rTRC', 'gTRC', 'bTRC'].every((name) => {
    const curve = toneCurve(tags.get(name));
    return (
      curve !== null &&
      [0.02, 0.1, 0.25, 0.5, 0.75, 0.9, 1].every((x) => Math.abs(curve(x) - srgbDecode(x)) < 0.005)
    );
  });
}

/** Frame headers of sequential and progressive Huffman JPEGs, 8 or 12 bits: what libjpeg reads. */
const HUFFMAN_SOF = new Set([0xc0, 0xc1, 0xc2]);

/** The orientation tag of IFD0 in an EXIF payload (after 'Exif\0\0'), 1 without one, null if unreadable. */
function exifOrientation(tiff: Buffer): number | null {
  if (tiff.length < 8) return null;
  const order = tiff.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return null;
  const little = order === 'II';
  const u16 = (at: number) => (little ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const u32 = (at: number) => (little ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));
  if (u16(2) !== 42) return null;
  const ifd = u32(4);
  if (ifd + 2 > tiff.length) return null;
  const entries = u16(ifd);
  if (ifd + 2 + entries * 12 > tiff.length) return null;
  for (let i = 0; i < entries; i++) {
    const at = ifd + 2 + i * 12;
    if (u16(at) !== 0x0112) continue;
    // SHORT, one value, kept in the first two bytes of the value field.
    if (u16(at + 2) !== 3 || u32(at + 4) !== 1) return null;
    const value = u16(at + 8);
    return value >= 1 && value <= 8 ? value : null;
  }
  return 1;
}

/**
 * @returns the JPEG with its metadata segments removed.
 * @throws JpegStructureError when the marker structure is broken (then decode and re-encode instead).
 */
export function stripJpegMetadata(input: Uint8Array): Buffer {
  return stripJpeg(input).bytes;
}

/**
 * `stripJpegMetadata`, with what the headers it walked through said: an upright, plain JPEG can
 * then be stored without asking the decoder for its header first.
 */
export function stripJpeg(input: Uint8Array): { bytes: Buffer; header: JpegHeader } {
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (bytes[0] !== 0xff || bytes[1] !== SOI) throw new JpegStructureError('no SOI marker');
  const parts: Buffer[] = [bytes.subarray(0, 2)];
  const header: JpegHeader = { frame: null, orientation: 1, adobeTransform: null, icc: 'none' };
  const iccChunks: Array<{ sequence: number; data: Buffer }> = [];
  let exifSegments = 0;
  let pos = 2;
  for (;;) {
    if (pos >= bytes.length) throw new JpegStructureError('ends before EOI');
    if (bytes[pos] !== 0xff) throw new JpegStructureError(`expected a marker at byte ${pos}`);
    // Any number of 0xFF fill bytes may precede a marker.
    while (bytes[pos + 1] === 0xff) pos++;
    const marker = bytes[pos + 1];
    if (marker === undefined) throw new JpegStructureError('ends inside a marker');
    if (marker === EOI) {
      parts.push(bytes.subarray(pos, pos + 2));
      if (iccChunks.length > 0) {
        // Chunks join by their sequence numbers, which need not follow the file's order.
        const profile = Buffer.concat(iccChunks.sort((x, y) => x.sequence - y.sequence).map((c) => c.data));
        header.icc = iccIsSrgb(profile) ? 'srgb' : 'other';
      }
      return { bytes: Buffer.concat(parts), header };
    }
    if (marker === SOI || marker === 0x00) throw new JpegStructureError(`unexpected marker at byte ${pos}`);
    if (isStandalone(marker)) {
      parts.push(bytes.subarray(pos, pos + 2));
      pos += 2;
      continue;
    }
    if (pos + 4 > bytes.length) throw new JpegStructureError('ends inside a segment header');
    const length = bytes.readUInt16BE(pos + 2);
    const end = pos + 2 + length;
    if (length < 2 || end > bytes.length)
      throw new JpegStructureError(`segment at byte ${pos} overruns the file`);
    const payload = bytes.subarray(pos + 4, end);
    if (keepSegment(marker, payload)) parts.push(bytes.subarray(pos, end));
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      // A second frame header, or one libjpeg would not read as usual: the decoder judges.
      const plain = header.frame === null && HUFFMAN_SOF.has(marker) && payload.length >= 6;
      header.frame = plain
        ? {
            precision: payload[0] as number,
            height: payload.readUInt16BE(1),
            width: payload.readUInt16BE(3),
            components: payload[5] as number,
            sof: marker,
          }
        : { width: 0, height: 0, components: 0, precision: 0, sof: marker };
    } else if (marker === APP1 && hasPrefix(payload, 'Exif\0\0')) {
      exifSegments++;
      header.orientation = exifSegments === 1 ? exifOrientation(payload.subarray(6)) : null;
    } else if (marker === APP2 && hasPrefix(payload, 'ICC_PROFILE\0')) {
      // After the name, the chunk's sequence number and count: the profile itself follows.
      iccChunks.push({ sequence: payload[12] ?? 0, data: payload.subarray(14) });
    } else if (marker === APP14 && hasPrefix(payload, 'Adobe') && payload.length >= 12) {
      header.adobeTransform = payload[11] as number;
    }
    pos = end;
    if (marker === SOS) {
      // Entropy-coded data runs until a 0xFF that is neither stuffing (FF 00) nor a restart marker.
      let scan = bytes.indexOf(0xff, pos);
      while (scan !== -1 && scan + 1 < bytes.length) {
        const next = bytes[scan + 1] ?? 0;
        if (next !== 0x00 && next !== 0xff && !(next >= 0xd0 && next <= 0xd7)) break;
        scan = bytes.indexOf(0xff, scan + 1);
      }
      if (scan === -1 || scan + 1 >= bytes.length) throw new JpegStructureError('scan data ends before EOI');
      parts.push(bytes.subarray(pos, scan));
      pos = scan;
    }
  }
}
