import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JpegStructureError, stripJpeg, stripJpegMetadata } from '../../src/media/jpeg-strip.ts';
import { createMediaRepository } from '../../src/media/media-repository.ts';
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

describe('stripJpeg: the headers it walks through', () => {
  /** What sharp's decoder reads from the same header, in stripJpeg's terms. */
  const fromSharp = async (bytes: Buffer) => {
    const m = await sharp(bytes).metadata();
    return { width: m.width, height: m.height, channels: m.channels, orientation: m.orientation ?? 1 };
  };
  const fromStrip = (bytes: Buffer) => {
    const { frame, orientation } = stripJpeg(bytes).header;
    return { width: frame?.width, height: frame?.height, channels: frame?.components, orientation };
  };

  it('agrees with the decoder on size, components and orientation of real encoder output', async () => {
    const base = await photo(8, 120, 90);
    const variants: Array<[string, Buffer]> = [
      ['baseline', base],
      ['progressive', await sharp(base).jpeg({ progressive: true }).toBuffer()],
      ['grey', await sharp(base).greyscale().jpeg().toBuffer()],
      ['4:4:4', await sharp(base).jpeg({ chromaSubsampling: '4:4:4' }).toBuffer()],
    ];
    for (const o of [3, 6, 8]) {
      variants.push([
        `orientation ${o}`,
        await sharp(base).withMetadata({ orientation: o }).jpeg().toBuffer(),
      ]);
    }
    variants.push(['camera fixture', await readFile(path.join(FIXTURES, 'exif-orientation6-gps.jpg'))]);
    for (const [name, bytes] of variants) {
      expect(fromStrip(bytes), name).toEqual(await fromSharp(bytes));
    }
  });

  it('reads big-endian EXIF, and says "unknown" rather than guess at odd or doubled EXIF', async () => {
    const plain = await photo(9, 64, 48);
    const exif = (tiff: number[]) =>
      segment(0xe1, Buffer.concat([Buffer.from('Exif\0\0'), Buffer.from(tiff)]));
    // MM, 42, IFD0 at 8: one entry, tag 0x0112 SHORT ×1 = 6.
    const motorola = [
      0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0,
    ];
    const withExif = (...segments: Buffer[]) =>
      Buffer.concat([plain.subarray(0, 2), ...segments, plain.subarray(2)]);
    expect(stripJpeg(withExif(exif(motorola))).header.orientation).toBe(6);
    expect(stripJpeg(withExif(exif([0x4d, 0x4d, 0, 42]))).header.orientation).toBeNull();
    expect(stripJpeg(withExif(exif(motorola), exif(motorola))).header.orientation).toBeNull();
    const wrongType = [...motorola];
    wrongType[13] = 4; // LONG
    expect(stripJpeg(withExif(exif(wrongType))).header.orientation).toBeNull();
    // The Adobe segment's transform byte: 2 is YCCK.
    const adobe = segment(0xee, 'Adobe\0\x64\0\0\0\0\x02');
    expect(stripJpeg(withExif(adobe)).header.adobeTransform).toBe(2);
  });

  it('tells an sRGB profile from one whose colours must be converted, by what it does', async () => {
    const plain = await photo(12, 64, 48);
    const withProfile = (profile: string) => sharp(plain).withIccProfile(profile).jpeg().toBuffer();
    /** The profile embedded in a JPEG (one APP2 chunk, as sharp writes it). */
    const profileOf = (jpeg: Buffer) => {
      const at = jpeg.indexOf('ICC_PROFILE\0');
      return Buffer.from(jpeg.subarray(at + 14, at - 2 + jpeg.readUInt16BE(at - 2)));
    };
    expect(stripJpeg(plain).header.icc).toBe('none');
    expect(stripJpeg(await withProfile('srgb')).header.icc).toBe('srgb');
    expect(stripJpeg(await withProfile('p3')).header.icc).toBe('other');
    expect(stripJpeg(await withProfile('cmyk')).header.icc).toBe('other');

    const dir = await mkdtemp(path.join(tmpdir(), 'standwall-icc-'));
    try {
      // Display P3 described as phones describe it ("… with sRGB Transfer"): still P3.
      const p3 = profileOf(await withProfile('p3'));
      const utf16 = (text: string) => Buffer.from(text, 'utf16le').swap16();
      const description = p3.indexOf(utf16('sP3C'));
      expect(description).toBeGreaterThan(128);
      const named = Buffer.from(p3);
      utf16('sRGB').copy(named, description);
      await writeFile(path.join(dir, 'named.icc'), named);
      expect(stripJpeg(await withProfile(path.join(dir, 'named.icc'))).header.icc).toBe('other');
      // sRGB's primaries with a linear tone curve: not sRGB either.
      const srgb = profileOf(await withProfile('srgb'));
      const linear = Buffer.from(srgb);
      for (const tag of ['rTRC', 'gTRC', 'bTRC']) {
        for (let i = 0; i < srgb.readUInt32BE(128); i++) {
          if (srgb.toString('latin1', 132 + i * 12, 136 + i * 12) !== tag) continue;
          const offset = srgb.readUInt32BE(136 + i * 12);
          linear.write('curv', offset, 'latin1');
          linear.writeUInt32BE(0, offset + 8);
        }
      }
      await writeFile(path.join(dir, 'linear.icc'), linear);
      expect(stripJpeg(await withProfile(path.join(dir, 'linear.icc'))).header.icc).toBe('other');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stores a CMYK or an EXIF-rotated JPEG through the decoder, upright and in sRGB', async () => {
    const base = await photo(10, 90, 60);
    const cmyk = await sharp(base).toColourspace('cmyk').jpeg().toBuffer();
    expect(stripJpeg(cmyk).header.frame?.components).toBe(4);
    const rotated = await sharp(base).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    const dir = await mkdtemp(path.join(tmpdir(), 'standwall-strip-'));
    try {
      const repo = createMediaRepository(dir);
      for (const [bytes, size] of [
        [cmyk, [90, 60]],
        [rotated, [60, 90]],
      ] as const) {
        const stored = await repo.store(bytes, { display: 'later' });
        expect([stored.width, stored.height]).toEqual(size);
        const meta = await sharp(await readFile(repo.absolutePath(stored.files.original))).metadata();
        expect([meta.width, meta.height, meta.space, meta.orientation]).toEqual([...size, 'srgb', undefined]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
