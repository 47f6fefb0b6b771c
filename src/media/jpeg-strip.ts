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
   * The embedded ICC profile: none, one that names itself sRGB (its pixels are sRGB already), or
   * another (Display P3, Adobe RGB…), whose pixels a decoder must convert.
   */
  icc: 'none' | 'srgb' | 'other';
}

/** Whether an ICC profile's text (its description, ASCII or UTF-16) names sRGB. */
function namesSrgb(profile: Buffer): boolean {
  return profile.includes('sRGB', 0, 'latin1') || profile.includes('\0s\0R\0G\0B', 0, 'latin1');
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
  const iccChunks: Buffer[] = [];
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
      if (iccChunks.length > 0) header.icc = namesSrgb(Buffer.concat(iccChunks)) ? 'srgb' : 'other';
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
      iccChunks.push(payload.subarray(14));
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
