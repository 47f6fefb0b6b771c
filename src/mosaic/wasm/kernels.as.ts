// The mosaic's pixel kernels in AssemblyScript, compiled to kernels.wasm (npm run build:wasm) with
// 128-bit SIMD: what JavaScript does one number at a time, four at once. Loaded by
// cells-kernel.mjs, which keeps the JavaScript of each kernel as its reference and for inputs
// past the limits here. Memory is laid out by the caller; nothing here allocates.

/**
 * The caller's region of an RGB raster (`w`×`h` pixels, rows packed at `src`) scaled down to
 * `dw`×`dh` by area into `out`: every output pixel the exact mean of the source area it covers,
 * rounded half up, as areaResize in cells-kernel.mjs. `taps` holds per axis (x, then y) the
 * first source pixel of each output pixel, how many, and their weights (`span` per output pixel,
 * see areaTaps); `scratch` takes one row of `w` × 3 i32. Sums stay in i32: the caller keeps
 * `w` × `h` × 255 below 2³¹.
 */
export function areaResize(
  src: usize,
  w: i32,
  h: i32,
  dw: i32,
  dh: i32,
  taps: usize,
  out: usize,
  scratch: usize,
): void {
  const spanX = (w + dw - 1) / dw + 1;
  const spanY = (h + dh - 1) / dh + 1;
  const firstX = taps;
  const countX = firstX + ((<usize>dw) << 2);
  const weightX = countX + ((<usize>dw) << 2);
  const firstY = weightX + ((<usize>(dw * spanX)) << 2);
  const countY = firstY + ((<usize>dh) << 2);
  const weightY = countY + ((<usize>dh) << 2);
  const line = w * 3;
  // floor((s + ⌊area/2⌋) / area) by one multiplication: with the half added, s · (1/area) lands
  // strictly inside the right integer interval while s · area stays below 2⁵¹.
  const area = w * h;
  const inverse = 1.0 / <f64>area;
  const bias = <f64>(area >> 1) + 0.5;
  for (let y = 0; y < dh; y++) {
    const first = load<i32>(firstY + ((<usize>y) << 2));
    const count = load<i32>(countY + ((<usize>y) << 2));
    const weights = weightY + ((<usize>(y * spanY)) << 2);
    // Vertical first: the source rows under this output row, weighted, 16 bytes at a time.
    let x = 0;
    for (; x + 16 <= line; x += 16) {
      let a0 = i32x4.splat(0);
      let a1 = i32x4.splat(0);
      let a2 = i32x4.splat(0);
      let a3 = i32x4.splat(0);
      for (let t = 0; t < count; t++) {
        const wt = i32x4.splat(load<i32>(weights + ((<usize>t) << 2)));
        const v = v128.load(src + <usize>((first + t) * line + x));
        const lo = i16x8.extend_low_i8x16_u(v);
        const hi = i16x8.extend_high_i8x16_u(v);
        a0 = i32x4.add(a0, i32x4.mul(i32x4.extend_low_i16x8_u(lo), wt));
        a1 = i32x4.add(a1, i32x4.mul(i32x4.extend_high_i16x8_u(lo), wt));
        a2 = i32x4.add(a2, i32x4.mul(i32x4.extend_low_i16x8_u(hi), wt));
        a3 = i32x4.add(a3, i32x4.mul(i32x4.extend_high_i16x8_u(hi), wt));
      }
      const o = scratch + ((<usize>x) << 2);
      v128.store(o, a0);
      v128.store(o, a1, 16);
      v128.store(o, a2, 32);
      v128.store(o, a3, 48);
    }
    for (; x < line; x++) {
      let a = 0;
      for (let t = 0; t < count; t++) {
        a += load<i32>(weights + ((<usize>t) << 2)) * <i32>load<u8>(src + <usize>((first + t) * line + x));
      }
      store<i32>(scratch + ((<usize>x) << 2), a);
    }
    // Then across the row, and the division by the whole weight.
    const row = out + <usize>(y * dw * 3);
    for (let ox = 0; ox < dw; ox++) {
      const from = load<i32>(firstX + ((<usize>ox) << 2));
      const taken = load<i32>(countX + ((<usize>ox) << 2));
      const xWeights = weightX + ((<usize>(ox * spanX)) << 2);
      let r = 0;
      let g = 0;
      let b = 0;
      let p = scratch + <usize>from * 12;
      for (let t = 0; t < taken; t++, p += 12) {
        const wt = load<i32>(xWeights + ((<usize>t) << 2));
        r += wt * load<i32>(p);
        g += wt * load<i32>(p, 4);
        b += wt * load<i32>(p, 8);
      }
      const o = row + <usize>(ox * 3);
      store<u8>(o, <u8>(<i32>((<f64>r + bias) * inverse)));
      store<u8>(o, <u8>(<i32>((<f64>g + bias) * inverse)), 1);
      store<u8>(o, <u8>(<i32>((<f64>b + bias) * inverse)), 2);
    }
  }
}
