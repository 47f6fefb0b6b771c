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

/**
 * @returns the JPEG with its metadata segments removed.
 * @throws JpegStructureError when the marker structure is broken (then decode and re-encode instead).
 */
export function stripJpegMetadata(input: Uint8Array): Buffer {
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (bytes[0] !== 0xff || bytes[1] !== SOI) throw new JpegStructureError('no SOI marker');
  const parts: Buffer[] = [bytes.subarray(0, 2)];
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
      return Buffer.concat(parts);
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
    if (keepSegment(marker, bytes.subarray(pos + 4, end))) parts.push(bytes.subarray(pos, end));
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
