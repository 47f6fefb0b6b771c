#!/usr/bin/env bash
# Regenerates the small binary fixtures under test/fixtures/ that sharp cannot make by itself
# (EXIF GPS tags, HEIC). They are committed so the tests never need these tools.
# Needs: node (with the repository's node_modules), exiftool and heif-enc from Debian:
#   apt-get install -y libimage-exiftool-perl libheif-examples
# (Debian 12's libheif1 1.15 has the x265 encoder built in; newer releases split it into
# libheif-plugin-x265.)
set -euo pipefail
cd "$(dirname "$0")/.."
out=test/fixtures
mkdir -p "$out"

# A 240×160 landscape picture that is not symmetric (a red block top-left, a blue block
# bottom-right, a grey gradient), so a wrong rotation or flip is visible to the tests.
node --input-type=module -e "
import sharp from 'sharp';
const w = 240, h = 160, px = Buffer.alloc(w * h * 3);
for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
  const i = (y * w + x) * 3, g = Math.round((x / w) * 200 + 30);
  let c = [g, g, g];
  if (x < 60 && y < 40) c = [220, 20, 20];
  if (x >= 200 && y >= 120) c = [20, 20, 220];
  px.set(c, i);
}
await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 85 }).toFile('$out/base-tmp.jpg');
"

# EXIF orientation 6 (display rotated 90° clockwise), GPS position, a camera, an XMP
# description and a JPEG comment: everything the pipeline must drop.
rm -f "$out/exif-orientation6-gps.jpg" "$out/photo.heic" "$out/photo-rotated.heic"
exiftool -q -o "$out/exif-orientation6-gps.jpg" \
  -Orientation#=6 -Make=FixtureCam -Model=FixtureModel -Artist='Fixture Person' \
  -GPSLatitude=37.5665 -GPSLatitudeRef=N -GPSLongitude=126.9780 -GPSLongitudeRef=E \
  -XMP-dc:Description='secret xmp text' -Comment='secret jpeg comment' \
  "$out/base-tmp.jpg"

# HEIC (HEVC via x265) from the plain landscape JPEG, small quality to stay a few KB.
heif-enc -q 50 -o "$out/photo.heic" "$out/base-tmp.jpg"

# HEIC from the orientation-6 JPEG (so it also carries EXIF orientation 6, GPS and XMP), then
# an `irot` property (angle 3 = 270° anticlockwise = 90° clockwise) added to the primary item by
# the small box editor below, because heif-enc 1.15 has no rotation option. Decoders must apply
# irot and ignore the EXIF orientation: the photo decodes 160×240 with the red block top-right.
heif-enc -q 50 -o "$out/rotated-tmp.heic" "$out/exif-orientation6-gps.jpg"
cat >"$out/irot-tmp.mjs" <<'JS'
// Adds an irot (rotation) property to the primary item of a HEIF file written by heif-enc.
import { readFileSync, writeFileSync } from 'node:fs';
const [src, dst, angleArg] = process.argv.slice(2);
const angle = Number(angleArg); // irot: angle × 90° anticlockwise
const f = readFileSync(src);
const u32 = (b, o) => b.readUInt32BE(o);
function boxes(b, start, end) {
  const out = [];
  for (let o = start; o < end; ) {
    const size = u32(b, o), type = b.toString('latin1', o + 4, o + 8);
    out.push({ o, size, type });
    o += size;
  }
  return out;
}
const top = boxes(f, 0, f.length);
const meta = top.find((x) => x.type === 'meta');
const metaKids = boxes(f, meta.o + 12, meta.o + meta.size);
const iprp = metaKids.find((x) => x.type === 'iprp');
const iloc = metaKids.find((x) => x.type === 'iloc');
const pitm = metaKids.find((x) => x.type === 'pitm');
const primary = f.readUInt16BE(pitm.o + 12);
const [ipco, ipma] = ['ipco', 'ipma'].map((t) => boxes(f, iprp.o + 8, iprp.o + iprp.size).find((x) => x.type === t));
const propCount = boxes(f, ipco.o + 8, ipco.o + ipco.size).length;
const irot = Buffer.from([0, 0, 0, 9, ...Buffer.from('irot'), angle & 3]);
// ipma (version 0, flags 0: 16-bit item ids, 7-bit property indices)
if (f[ipma.o + 8] !== 0 || (f.readUInt32BE(ipma.o + 8) & 1) !== 0) throw new Error('unexpected ipma version/flags');
let p = ipma.o + 16, insertAt = -1;
const entries = u32(f, ipma.o + 12);
for (let i = 0; i < entries; i++) {
  const id = f.readUInt16BE(p), n = f[p + 2];
  if (id === primary) { insertAt = p + 3 + n; f[p + 2] = n + 1; }
  p += 3 + n;
}
if (insertAt < 0) throw new Error('primary item not in ipma');
const assoc = Buffer.from([0x80 | (propCount + 1)]); // essential
const grow = irot.length + assoc.length;
// iloc: every extent after the meta box moves by `grow` bytes.
const ilocV = f[iloc.o + 8];
let q = iloc.o + 12;
const offSize = f[q] >> 4, lenSize = f[q] & 15, baseSize = f[q + 1] >> 4, idxSize = ilocV >= 1 ? f[q + 1] & 15 : 0;
q += 2;
const count = ilocV < 2 ? f.readUInt16BE(q) : u32(f, q);
q += ilocV < 2 ? 2 : 4;
const bump = (at, size) => {
  if (size === 4) f.writeUInt32BE(u32(f, at) + grow, at);
  else if (size === 8) f.writeBigUInt64BE(f.readBigUInt64BE(at) + BigInt(grow), at);
};
for (let i = 0; i < count; i++) {
  q += ilocV < 2 ? 2 : 4;
  let method = 0;
  if (ilocV >= 1) { method = f.readUInt16BE(q) & 15; q += 2; }
  q += 2; // data_reference_index
  const baseAt = q; q += baseSize;
  const extents = f.readUInt16BE(q); q += 2;
  if (method === 0 && baseSize > 0) bump(baseAt, baseSize);
  for (let e = 0; e < extents; e++) {
    q += idxSize;
    if (method === 0 && baseSize === 0) bump(q, offSize);
    q += offSize + lenSize;
  }
}
for (const box of [meta, iprp, ipco, ipma]) f.writeUInt32BE(box.size + (box === ipco ? irot.length : box === ipma ? assoc.length : grow), box.o);
const ipcoEnd = ipco.o + ipco.size;
const outBuf = Buffer.concat([f.subarray(0, ipcoEnd), irot, f.subarray(ipcoEnd, insertAt), assoc, f.subarray(insertAt)]);
writeFileSync(dst, outBuf);
JS
node "$out/irot-tmp.mjs" "$out/rotated-tmp.heic" "$out/photo-rotated.heic" 3
heif-convert "$out/photo-rotated.heic" "$out/check-tmp.jpg" >/dev/null # libheif itself accepts it
rm -f "$out/rotated-tmp.heic" "$out/irot-tmp.mjs" "$out/check-tmp.jpg"

rm -f "$out/base-tmp.jpg"
ls -l "$out"
