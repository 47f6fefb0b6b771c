import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JpegStructureError, stripJpegMetadata } from '../../src/media/jpeg-strip.ts';
import { sharp } from '../../src/media/sharp-loaders.ts';
import { describeUnsupported, sniffImageKind } from '../../src/media/sniff.ts';
import { FIXTURES, photo } from './helpers.ts';

const ftyp = (major: string, ...compatible: string[]) => {
  const brands = [major, '\0\0\0\0', ...compatible].join('');
  const box = Buffer.alloc(8 + brands.length + 16);
  box.writeUInt32BE(8 + brands.length, 0);
  box.write(`ftyp${brands}`, 4, 'latin1');
  return box;
};

describe('sniffImageKind', () => {
  it('recognises the accepted types by their magic bytes', async () => {
    const base = sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } });
    expect(sniffImageKind(await base.clone().jpeg().toBuffer())).toBe('jpeg');
    expect(sniffImageKind(await base.clone().png().toBuffer())).toBe('png');
    expect(sniffImageKind(await base.clone().webp().toBuffer())).toBe('webp');
    expect(sniffImageKind(await base.clone().gif().toBuffer())).toBe('gif');
    expect(sniffImageKind(await base.clone().avif().toBuffer())).toBe('avif');
    expect(sniffImageKind(await readFile(path.join(FIXTURES, 'photo.heic')))).toBe('heic');
  });

  it('reads HEIF brands', () => {
    for (const major of ['heic', 'heix', 'hevc', 'heim', 'heis'])
      expect(sniffImageKind(ftyp(major))).toBe('heic');
    expect(sniffImageKind(ftyp('mif1', 'mif1', 'heic'))).toBe('heic');
    expect(sniffImageKind(ftyp('mif1', 'mif1', 'avif'))).toBe('avif');
    expect(sniffImageKind(ftyp('avif', 'mif1'))).toBe('avif');
    expect(sniffImageKind(ftyp('isom', 'mp41'))).toBeNull(); // an MP4 video
    expect(sniffImageKind(ftyp('qt  '))).toBeNull();
  });

  it('rejects everything else, whatever its name, and says what it is', () => {
    const cases: Array<[string | Buffer, string]> = [
      ['<svg xmlns="http://www.w3.org/2000/svg"/>', 'SVG'],
      ['<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', 'SVG'],
      ['%PDF-1.7\n', 'PDF'],
      [Buffer.from([0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0]), 'TIFF'],
      [Buffer.from('BM\x36\x00\x00\x00'), 'BMP'],
      ['hello, this is not a photo\n', 'text'],
      [Buffer.from([0x00, 0x01, 0x02, 0x03]), 'not an image type'],
    ];
    for (const [input, words] of cases) {
      const bytes = typeof input === 'string' ? Buffer.from(input) : input;
      expect(sniffImageKind(bytes)).toBeNull();
      expect(describeUnsupported(bytes)).toContain(words);
    }
    expect(sniffImageKind(new Uint8Array(0))).toBeNull();
    expect(sniffImageKind(Buffer.from([0xff, 0xd8]))).toBeNull();
  });
});

/** A JPEG segment: marker, length, payload. */
const segment = (marker: number, payload: string | Buffer) => {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
  const head = Buffer.from([0xff, marker, 0, 0]);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, body]);
};

describe('stripJpegMetadata', () => {
  it('drops EXIF, XMP, IPTC, comments and trailers, keeps ICC and Adobe, and the pixels', async () => {
    const plain = await photo(5, 64, 48);
    const icc = segment(0xe2, 'ICC_PROFILE\0\x01\x01fake-profile');
    const adobe = segment(0xee, 'Adobe\0\x64\0\0\0\0\x01');
    const dirty = Buffer.concat([
      plain.subarray(0, 2),
      segment(0xe1, 'Exif\0\0GPS secret position'),
      segment(0xe1, 'http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>secret</x:xmpmeta>'),
      segment(0xed, 'Photoshop 3.0\0IPTC secret'),
      segment(0xe2, 'MPF\0secret'),
      icc,
      adobe,
      segment(0xfe, 'secret comment'),
      plain.subarray(2),
      Buffer.from('SEFT secret trailer after EOI'),
    ]);
    const clean = stripJpegMetadata(dirty);
    expect(clean.includes('secret')).toBe(false);
    expect(clean.includes('Exif')).toBe(false);
    expect(clean.includes(icc)).toBe(true);
    expect(clean.includes(adobe)).toBe(true);
    expect(clean.subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]));
    const [a, b] = await Promise.all([
      sharp(plain).raw().toBuffer(),
      sharp(stripJpegMetadata(plain)).raw().toBuffer(),
    ]);
    expect(b.equals(a)).toBe(true);
  });

  it('keeps the scans of a progressive JPEG whole', async () => {
    const progressive = await sharp(await photo(6, 80, 60))
      .jpeg({ progressive: true })
      .toBuffer();
    const withComment = Buffer.concat([
      progressive.subarray(0, 2),
      segment(0xfe, 'secret'),
      progressive.subarray(2),
    ]);
    const clean = stripJpegMetadata(withComment);
    expect(clean.includes('secret')).toBe(false);
    const [a, b] = await Promise.all([sharp(progressive).raw().toBuffer(), sharp(clean).raw().toBuffer()]);
    expect(b.equals(a)).toBe(true);
  });

  it('removes the EXIF and GPS of the committed camera fixture', async () => {
    const clean = stripJpegMetadata(await readFile(path.join(FIXTURES, 'exif-orientation6-gps.jpg')));
    for (const text of ['Exif', 'GPS', 'FixtureCam', 'secret', 'Fixture Person'])
      expect(clean.includes(text)).toBe(false);
    expect((await sharp(clean).metadata()).orientation).toBeUndefined();
  });

  it('refuses a broken structure', async () => {
    const plain = await photo(5, 64, 48);
    expect(() => stripJpegMetadata(plain.subarray(0, plain.length - 400))).toThrow(JpegStructureError);
    expect(() => stripJpegMetadata(Buffer.from('not a jpeg'))).toThrow(JpegStructureError);
    const overrun = Buffer.concat([plain.subarray(0, 2), Buffer.from([0xff, 0xe1, 0xff, 0xff, 1, 2])]);
    expect(() => stripJpegMetadata(overrun)).toThrow(JpegStructureError);
  });
});
