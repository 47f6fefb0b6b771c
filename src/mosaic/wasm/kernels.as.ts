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

/**
 * The auction's scan of a cell's row (see chooseCell, and `auction` in matcher.ts): the first
 * photo from `p` below
 * `photos` whose cost in the cell plus its lowest price of a later place (`cost`, `rest`), or
 * whose first place's cost plus price (`first`, `firstPrice`), is below −`bar`; else `photos`.
 * Costs are f32 rows, prices f64. Four photos at a time in f32 against `rest32` and `first32`
 * (the prices rounded down) and a threshold `loose` (looseBar) set above −`bar` by more than
 * f32 rounding can move a sum: a photo that passes exactly passes there too, and only those that
 * pass there are checked exactly, in f64, as the JavaScript scan did. The same answer, in less
 * than half the time.
 */
export function scanEither(
  cost: usize,
  first: usize,
  rest32: usize,
  first32: usize,
  rest: usize,
  firstPrice: usize,
  p: i32,
  photos: i32,
  bar: f64,
  loose: f32,
): i32 {
  const threshold = f32x4.splat(loose);
  for (; p + 4 <= photos; p += 4) {
    const at = (<usize>p) << 2;
    const later = f32x4.add(v128.load(rest32 + at), v128.load(cost + at));
    const firstPlace = f32x4.add(v128.load(first32 + at), v128.load(first + at));
    if (v128.any_true(v128.or(f32x4.lt(later, threshold), f32x4.lt(firstPlace, threshold)))) {
      for (let q = p; q < p + 4; q++) {
        if (worthEither(cost, first, rest, firstPrice, q, bar)) return q;
      }
    }
  }
  for (; p < photos; p++) if (worthEither(cost, first, rest, firstPrice, p, bar)) return p;
  return photos;
}

function worthEither(cost: usize, first: usize, rest: usize, firstPrice: usize, p: i32, bar: f64): bool {
  return (
    -load<f64>(rest + ((<usize>p) << 3)) - <f64>load<f32>(cost + ((<usize>p) << 2)) > bar ||
    -load<f64>(firstPrice + ((<usize>p) << 3)) - <f64>load<f32>(first + ((<usize>p) << 2)) > bar
  );
}

/** scanEither for an auction without first places of their own: each photo's lowest price. */
export function scanOne(
  cost: usize,
  low32: usize,
  low: usize,
  p: i32,
  photos: i32,
  bar: f64,
  loose: f32,
): i32 {
  const threshold = f32x4.splat(loose);
  for (; p + 4 <= photos; p += 4) {
    const at = (<usize>p) << 2;
    if (v128.any_true(f32x4.lt(f32x4.add(v128.load(low32 + at), v128.load(cost + at)), threshold))) {
      for (let q = p; q < p + 4; q++) {
        if (-load<f64>(low + ((<usize>q) << 3)) - <f64>load<f32>(cost + ((<usize>q) << 2)) > bar) return q;
      }
    }
  }
  for (; p < photos; p++) {
    if (-load<f64>(low + ((<usize>p) << 3)) - <f64>load<f32>(cost + ((<usize>p) << 2)) > bar) return p;
  }
  return photos;
}

/**
 * windowSsim for the build's 10×10 L grid (see windowSsim10 in candidates-kernel.mjs): Σ over
 * the 3×3 windows of SSIM's l · cs between one side's grid (`grid`, 100 f64) and the other's
 * window rows (`rows`, 3 × 100 f64: its grid times each window row's weights), with each side's
 * STATS numbers (`gridStats`, `rowsStats`). `geometry`: the window weights (3 × 10 f64), then
 * each window row's first and end grid row (3 + 3 i32). Two columns at a time.
 */
export function windowSsim10(
  grid: usize,
  rows: usize,
  gridStats: usize,
  rowsStats: usize,
  geometry: usize,
  c1: f64,
  c2: f64,
): f64 {
  const bounds = geometry + 240;
  let sum = 0.0;
  for (let r = 0; r < 3; r++) {
    const base = rows + <usize>r * 800;
    let t0 = f64x2.splat(0);
    let t1 = f64x2.splat(0);
    let t2 = f64x2.splat(0);
    let t3 = f64x2.splat(0);
    let t4 = f64x2.splat(0);
    const end = load<i32>(bounds + 12 + ((<usize>r) << 2));
    for (let j = load<i32>(bounds + ((<usize>r) << 2)); j < end; j++) {
      const at = <usize>j * 80;
      const g = grid + at;
      const w = base + at;
      t0 = f64x2.add(t0, f64x2.mul(v128.load(w), v128.load(g)));
      t1 = f64x2.add(t1, f64x2.mul(v128.load(w, 16), v128.load(g, 16)));
      t2 = f64x2.add(t2, f64x2.mul(v128.load(w, 32), v128.load(g, 32)));
      t3 = f64x2.add(t3, f64x2.mul(v128.load(w, 48), v128.load(g, 48)));
      t4 = f64x2.add(t4, f64x2.mul(v128.load(w, 64), v128.load(g, 64)));
    }
    for (let k = 0; k < 3; k++) {
      const wk = geometry + <usize>k * 80;
      let e = f64x2.mul(v128.load(wk), t0);
      e = f64x2.add(e, f64x2.mul(v128.load(wk, 16), t1));
      e = f64x2.add(e, f64x2.mul(v128.load(wk, 32), t2));
      e = f64x2.add(e, f64x2.mul(v128.load(wk, 48), t3));
      e = f64x2.add(e, f64x2.mul(v128.load(wk, 64), t4));
      const cov = f64x2.extract_lane(e, 0) + f64x2.extract_lane(e, 1);
      const at = (<usize>(4 + 2 * (r * 3 + k))) << 3;
      const mx = load<f64>(rowsStats + at);
      const my = load<f64>(gridStats + at);
      sum +=
        ((2 * mx * my + c1) * (2 * (cov - mx * my) + c2)) /
        ((mx * mx + my * my + c1) * (load<f64>(rowsStats + at, 8) + load<f64>(gridStats + at, 8) + c2));
    }
  }
  return sum;
}

/** Σ (a[j] − b[j])² over j < n, f64 at `a` and `b`, two at a time. */
export function squares(a: usize, b: usize, n: i32): f64 {
  let s = f64x2.splat(0);
  let j = 0;
  for (; j + 2 <= n; j += 2) {
    const d = f64x2.sub(v128.load(a + ((<usize>j) << 3)), v128.load(b + ((<usize>j) << 3)));
    s = f64x2.add(s, f64x2.mul(d, d));
  }
  let sum = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; j < n; j++) {
    const d = load<f64>(a + ((<usize>j) << 3)) - load<f64>(b + ((<usize>j) << 3));
    sum += d * d;
  }
  return sum;
}

/**
 * squareSums of candidates-kernel.mjs: for four cells against every photo (`lib`, `width` f64
 * each), Σ (Δ)² over the first `luma` values and over the rest, into `out` at [2i · photos + p]
 * and [(2i + 1) · photos + p] for cell i. `cells` holds the four cells interleaved, value by
 * value (c0, c1, c2, c3 at each j), so that two cells take one lane pair; each lane sums in the
 * order the JavaScript does, to the same bits.
 */
export function squareSums4(cells: usize, lib: usize, photos: i32, width: i32, luma: i32, out: usize): void {
  const stride = (<usize>photos) << 3;
  for (let p = 0; p < photos; p++) {
    const q = lib + ((<usize>p * <usize>width) << 3);
    let s01 = f64x2.splat(0);
    let s23 = f64x2.splat(0);
    let j = 0;
    for (; j < luma; j++) {
      const x = f64x2.splat(load<f64>(q + ((<usize>j) << 3)));
      const d01 = f64x2.sub(v128.load(cells + ((<usize>j) << 5)), x);
      const d23 = f64x2.sub(v128.load(cells + ((<usize>j) << 5), 16), x);
      s01 = f64x2.add(s01, f64x2.mul(d01, d01));
      s23 = f64x2.add(s23, f64x2.mul(d23, d23));
    }
    const at = out + ((<usize>p) << 3);
    store<f64>(at, f64x2.extract_lane(s01, 0));
    store<f64>(at + 2 * stride, f64x2.extract_lane(s01, 1));
    store<f64>(at + 4 * stride, f64x2.extract_lane(s23, 0));
    store<f64>(at + 6 * stride, f64x2.extract_lane(s23, 1));
    s01 = f64x2.splat(0);
    s23 = f64x2.splat(0);
    for (; j < width; j++) {
      const x = f64x2.splat(load<f64>(q + ((<usize>j) << 3)));
      const d01 = f64x2.sub(v128.load(cells + ((<usize>j) << 5)), x);
      const d23 = f64x2.sub(v128.load(cells + ((<usize>j) << 5), 16), x);
      s01 = f64x2.add(s01, f64x2.mul(d01, d01));
      s23 = f64x2.add(s23, f64x2.mul(d23, d23));
    }
    store<f64>(at + stride, f64x2.extract_lane(s01, 0));
    store<f64>(at + 3 * stride, f64x2.extract_lane(s01, 1));
    store<f64>(at + 5 * stride, f64x2.extract_lane(s23, 0));
    store<f64>(at + 7 * stride, f64x2.extract_lane(s23, 1));
  }
}

// --- The auction's choice of a cell (see `auction` in matcher.ts) --------------------------
// Its state lives in this memory, laid out and kept by matcher.ts, which names it once
// (auctionState) and then asks for one cell's choice at a time (chooseCell).

let photos_ = 0;
let cap_ = 0;
let cols_ = 0;
let cells_ = 0;
let d2_ = 0.0;
let cost_: usize = 0;
let first_: usize = 0;
let low1_: usize = 0;
let low2_: usize = 0;
let lowPlace_: usize = 0;
let owner_: usize = 0;
let price_: usize = 0;
let rest_: usize = 0;
let firstPrice_: usize = 0;
let low32_: usize = 0;
let rest32_: usize = 0;
let first32_: usize = 0;
let hint_: usize = 0;
let best_ = 0.0;
let second_ = 0.0;
let bestPlace_ = 0;

/** Names the auction's arrays (`first` 0: no first places of their own). */
export function auctionState(
  photos: i32,
  cap: i32,
  cols: i32,
  cells: i32,
  d2: f64,
  cost: usize,
  first: usize,
  low1: usize,
  low2: usize,
  lowPlace: usize,
  owner: usize,
  price: usize,
  rest: usize,
  firstPrice: usize,
  low32: usize,
  rest32: usize,
  first32: usize,
  hint: usize,
): void {
  photos_ = photos;
  cap_ = cap;
  cols_ = cols;
  cells_ = cells;
  d2_ = d2;
  cost_ = cost;
  first_ = first;
  low1_ = low1;
  low2_ = low2;
  lowPlace_ = lowPlace;
  owner_ = owner;
  price_ = price;
  rest_ = rest;
  firstPrice_ = firstPrice;
  low32_ = low32;
  rest32_ = rest32;
  first32_ = first32;
  hint_ = hint;
}

/** The value of the last choice's best and second-best place. */
export function chosenBest(): f64 {
  return best_;
}
export function chosenSecond(): f64 {
  return second_;
}

/**
 * The f32 threshold of the scans' first pass for `bar`: a cost plus a price (both ≥ 0) below −bar
 * stays below it with the price rounded down (roundDown32 in kernels.mjs) and the sum rounded in
 * f32, which moves it by less than 2⁻²³ of itself. A positive bar (no place is worth that) leaves
 * the pass open.
 */
export function looseBar(bar: f64): f32 {
  return bar > 0 ? Infinity : <f32>(-bar * (1 + 1.0 / 2097152));
}

/** Weighs photo p for cell i (at ix, iy) against the best and second choice so far. */
function consider(i: i32, p: i32, ix: i32, iy: i32): void {
  const c = <f64>load<f32>(cost_ + ((<usize>i * <usize>photos_ + <usize>p) << 2));
  // The cheapest place bounds what any place of p is worth.
  if (-load<f64>(low1_ + ((<usize>p) << 3)) - c <= second_) return;
  let a: f64;
  let b = -Infinity;
  let at: i32;
  let near = -1;
  let nearCount = 0;
  const from = p * cap_;
  const to = from + cap_;
  if (d2_ > 0) {
    for (let s = from; s < to; s++) {
      const o = load<i32>(owner_ + ((<usize>s) << 2));
      if (o < 0 || o >= cells_ || o === i) continue;
      const ox = o % cols_;
      const dx = <f64>(ox - ix);
      const dy = <f64>((o - ox) / cols_ - iy);
      if (dx * dx + dy * dy < d2_) {
        near = s;
        nearCount++;
      }
    }
  }
  if (nearCount > 1) return;
  if (first_ !== 0) {
    // The first place has a cost of its own (the whole photo): weigh each place.
    const f = <f64>load<f32>(first_ + ((<usize>i * <usize>photos_ + <usize>p) << 2));
    a = -Infinity;
    at = -1;
    for (let s = from; s < to; s++) {
      if (nearCount === 1 && s !== near) continue;
      const v = -load<f64>(price_ + ((<usize>s) << 3)) - (s === from ? f : c);
      if (v > a) {
        b = a;
        a = v;
        at = s;
      } else if (v > b) b = v;
    }
  } else if (nearCount === 1) {
    a = -load<f64>(price_ + ((<usize>near) << 3)) - c;
    at = near;
  } else {
    a = -load<f64>(low1_ + ((<usize>p) << 3)) - c;
    b = -load<f64>(low2_ + ((<usize>p) << 3)) - c;
    at = load<i32>(lowPlace_ + ((<usize>p) << 2));
  }
  if (a > best_) {
    second_ = max(best_, b);
    best_ = a;
    bestPlace_ = at;
  } else if (a > second_) second_ = a;
}

/**
 * Cell i's best place (−1: none it may take), with its value and the second best's
 * (chosenBest, chosenSecond): `choose` of the auction for a cell.
 */
export function chooseCell(i: i32): i32 {
  best_ = -Infinity;
  second_ = -Infinity;
  bestPlace_ = -1;
  const ix = i % cols_;
  const iy = (i - ix) / cols_;
  // The photo that was its best last time first: what it is worth now lets most others be
  // passed over on their cost and lowest price alone.
  const h = load<i32>(hint_ + ((<usize>i) << 2));
  if (h >= 0) consider(i, h, ix, iy);
  const row = <usize>i * <usize>photos_;
  const cost = cost_ + (row << 2);
  if (first_ !== 0) {
    const first = first_ + (row << 2);
    let p = scanEither(
      cost,
      first,
      rest32_,
      first32_,
      rest_,
      firstPrice_,
      0,
      photos_,
      second_,
      looseBar(second_),
    );
    while (p < photos_) {
      if (p !== h) consider(i, p, ix, iy);
      p = scanEither(
        cost,
        first,
        rest32_,
        first32_,
        rest_,
        firstPrice_,
        p + 1,
        photos_,
        second_,
        looseBar(second_),
      );
    }
  } else {
    let p = scanOne(cost, low32_, low1_, 0, photos_, second_, looseBar(second_));
    while (p < photos_) {
      if (p !== h) consider(i, p, ix, iy);
      p = scanOne(cost, low32_, low1_, p + 1, photos_, second_, looseBar(second_));
    }
  }
  store<i32>(hint_ + ((<usize>i) << 2), bestPlace_ < 0 ? -1 : bestPlace_ / cap_);
  return bestPlace_;
}

// --- Measuring a stored photo's tile (media/cell-raster.mjs, media/features.ts) -----------

/**
 * The cell raster's pixels: each the rounded mean of a 2×2 block of the RGB tile at `src`
 * (2·`side` px square), into `out` (`side` px square), as encodeCellRaster does.
 */
export function halveRgb(src: usize, side: i32, out: usize): void {
  const row = <usize>side * 6;
  let o = out;
  for (let y = 0; y < side; y++) {
    let i = src + <usize>y * 2 * row;
    for (let x = 0; x < side; x++, i += 6) {
      for (let c: usize = 0; c < 3; c++, o++) {
        const sum =
          <u32>load<u8>(i + c) +
          <u32>load<u8>(i + 3 + c) +
          <u32>load<u8>(i + row + c) +
          <u32>load<u8>(i + row + 3 + c);
        store<u8>(o, <u8>((sum + 2) >> 2));
      }
    }
  }
}

/**
 * The luma (JPEG's, in 16-bit fixed point) of each of `count` RGB pixels at `src`, into `out`:
 * the tile's detail kept beside the cell raster (see encodeTileLuma in media/cell-raster.mjs).
 */
export function lumaOf(src: usize, count: i32, out: usize): void {
  let i = src;
  const end = out + <usize>count;
  for (let o = out; o < end; o++, i += 3) {
    const y = 19595 * <u32>load<u8>(i) + 38470 * <u32>load<u8>(i + 1) + 7471 * <u32>load<u8>(i + 2);
    store<u8>(o, <u8>((y + 32768) >> 16));
  }
}

/**
 * A square of the tile again (`size` px from (`x`, `y`) of the tile, 2·`side` px square; RGB
 * into `out`) from the cell raster (`side` px square, RGB, at `rgb`) and the tile's luma (at
 * `luma`): each pixel is its 2×2 block's colour moved by how much lighter or darker than the
 * block it was. Luma is a weighted mean of R, G and B with weights summing to one, so the pixel
 * gets its own luma back and its block's chroma: what a 4:2:0 JPEG keeps, without its
 * quantization.
 */
export function detailRegion(
  rgb: usize,
  luma: usize,
  side: i32,
  x: i32,
  y: i32,
  size: i32,
  out: usize,
): void {
  const width = <usize>side * 2;
  let o = out;
  for (let py = y; py < y + size; py++) {
    const by = py >> 1;
    const top = luma + <usize>(by * 2) * width;
    const bottom = top + width;
    const own = luma + <usize>py * width;
    const src = rgb + <usize>by * <usize>side * 3;
    for (let px = x; px < x + size; px++, o += 3) {
      const bx = <usize>(px >> 1);
      const sum =
        <i32>load<u8>(top + bx * 2) +
        <i32>load<u8>(top + bx * 2 + 1) +
        <i32>load<u8>(bottom + bx * 2) +
        <i32>load<u8>(bottom + bx * 2 + 1);
      // (4·y − sum + 2) >> 2: y minus the block's mean luma, rounded (the shift floors negatives too).
      const delta = (4 * <i32>load<u8>(own + <usize>px) - sum + 2) >> 2;
      const at = src + bx * 3;
      store<u8>(o, clampByte(<i32>load<u8>(at) + delta));
      store<u8>(o + 1, clampByte(<i32>load<u8>(at + 1) + delta));
      store<u8>(o + 2, clampByte(<i32>load<u8>(at + 2) + delta));
    }
  }
}

function clampByte(v: i32): u8 {
  return <u8>(v < 0 ? 0 : v > 255 ? 255 : v);
}

/**
 * FNV-1a on 32-bit words in four lanes (16 bytes a step; `n` a multiple of 16), the lanes then
 * folded by FNV-1a: the tile luma's checksum, a tenth of fnv1a's time on 64 KB.
 */
export function fnv1aLanes(at: usize, n: i32): u32 {
  const prime = i32x4.splat(16777619);
  let h = i32x4(0x811c9dc5, 0x811c9dc4, 0x811c9dc7, 0x811c9dc6);
  const end = at + <usize>n;
  for (let p = at; p < end; p += 16) h = i32x4.mul(v128.xor(h, v128.load(p)), prime);
  let r: u32 = 0x811c9dc5;
  r = (r ^ <u32>i32x4.extract_lane(h, 0)) * 16777619;
  r = (r ^ <u32>i32x4.extract_lane(h, 1)) * 16777619;
  r = (r ^ <u32>i32x4.extract_lane(h, 2)) * 16777619;
  r = (r ^ <u32>i32x4.extract_lane(h, 3)) * 16777619;
  return r;
}

/** FNV-1a over `n` bytes at `at`, as the cell raster's checksum. */
export function fnv1a(at: usize, n: i32): u32 {
  let h: u32 = 0x811c9dc5;
  const end = at + <usize>n;
  for (let p = at; p < end; p++) h = (h ^ <u32>load<u8>(p)) * 16777619;
  return h;
}

/**
 * Per-channel sums of an RGB image (`width`×`height` at `src`, both multiples of 32) over a
 * 32×32 grid of boxes, as f64 into `out` (32 × 32 × 3), as boxSums in media/features.ts.
 */
export function boxSums32(src: usize, width: i32, height: i32, out: usize): void {
  const bw = width / 32;
  const bh = height / 32;
  memory.fill(out, 0, 32 * 32 * 3 * 8);
  let i = src;
  for (let y = 0; y < height; y++) {
    const row = out + <usize>((y / bh) * 32 * 3) * 8;
    for (let bx = 0; bx < 32; bx++) {
      let r: u32 = 0;
      let g: u32 = 0;
      let b: u32 = 0;
      for (let x = 0; x < bw; x++, i += 3) {
        r += load<u8>(i);
        g += load<u8>(i, 1);
        b += load<u8>(i, 2);
      }
      const o = row + <usize>bx * 24;
      store<f64>(o, load<f64>(o) + <f64>r);
      store<f64>(o, load<f64>(o, 8) + <f64>g, 8);
      store<f64>(o, load<f64>(o, 16) + <f64>b, 16);
    }
  }
}

/**
 * The summed-area tables of an RGB raster (`side` px square at `src`), as summedAreas in
 * mosaic/features.ts: (side + 1)² × 3 f64 at `rgb` (channel sums) and (side + 1)² f64 at `luma`
 * (Rec. 601 luma, summed in the same order, to the same bits).
 */
export function summedAreas(src: usize, side: i32, rgb: usize, luma: usize): void {
  const strideRgb = <usize>(side + 1) * 24;
  const strideLuma = <usize>(side + 1) * 8;
  memory.fill(rgb, 0, strideRgb);
  memory.fill(luma, 0, strideLuma);
  let i = src;
  for (let y = 0; y < side; y++) {
    const rowRgb = rgb + <usize>(y + 1) * strideRgb;
    const rowLuma = luma + <usize>(y + 1) * strideLuma;
    store<f64>(rowRgb, 0);
    store<f64>(rowRgb, 0, 8);
    store<f64>(rowRgb, 0, 16);
    store<f64>(rowLuma, 0);
    let r = 0.0;
    let g = 0.0;
    let b = 0.0;
    let sum = 0.0;
    for (let x = 1; x <= side; x++, i += 3) {
      const pr = <f64>load<u8>(i);
      const pg = <f64>load<u8>(i, 1);
      const pb = <f64>load<u8>(i, 2);
      sum += 0.299 * pr + 0.587 * pg + 0.114 * pb;
      const l = rowLuma + ((<usize>x) << 3);
      store<f64>(l, load<f64>(l - strideLuma) + sum);
      r += pr;
      g += pg;
      b += pb;
      const o = rowRgb + <usize>x * 24;
      store<f64>(o, load<f64>(o - strideRgb) + r);
      store<f64>(o, load<f64>(o - strideRgb, 8) + g, 8);
      store<f64>(o, load<f64>(o - strideRgb, 16) + b, 16);
    }
  }
}

/**
 * One cell's coarse costs against every photo (see costRows in candidates-kernel.mjs), for the
 * build's metric (no separate shape weight; SSIM's structure over the whole cell): with
 * sl = sumsL[p] + (rest + restP[p]) (the left-out frequencies' energy, `restP` 0: none; sl is
 * written back), out[p] = lightnessCost(sl) + sumsAB[p], in lightnessCost's order of operations,
 * two photos at a time. `means` and `vars` hold each photo's mean L and variance.
 */
export function coarseCosts(
  sumsL: usize,
  sumsAB: usize,
  restP: usize,
  rest: f64,
  means: usize,
  vars: usize,
  photos: i32,
  n: f64,
  my: f64,
  cvar: f64,
  weightL: f64,
  structure: f64,
  c1: f64,
  c2: f64,
  out: usize,
): void {
  const vn = f64x2.splat(n);
  const vmy = f64x2.splat(my);
  const wn = f64x2.splat(weightL * n);
  const vst = f64x2.splat(structure);
  const vc1 = f64x2.splat(c1);
  const vc2 = f64x2.splat(c2);
  const vcvar = f64x2.splat(cvar);
  const vrest = f64x2.splat(rest);
  const my2 = f64x2.mul(vmy, vmy);
  const zero = f64x2.splat(0);
  const two = f64x2.splat(2);
  let p = 0;
  for (; p + 2 <= photos; p += 2) {
    const at = (<usize>p) << 3;
    let sl = v128.load(sumsL + at);
    if (restP !== 0) {
      sl = f64x2.add(sl, f64x2.add(vrest, v128.load(restP + at)));
      v128.store(sumsL + at, sl);
    }
    const mx = v128.load(means + at);
    const dm = f64x2.sub(mx, vmy);
    const s = f64x2.mul(f64x2.mul(wn, dm), dm);
    const ndm2 = f64x2.mul(f64x2.mul(vn, dm), dm);
    const shape = f64x2.max(zero, f64x2.sub(sl, ndm2));
    const m2 = f64x2.add(f64x2.add(f64x2.mul(mx, mx), my2), vc1);
    const l = f64x2.div(f64x2.add(f64x2.mul(f64x2.mul(two, mx), vmy), vc1), m2);
    const v = f64x2.add(f64x2.add(vcvar, v128.load(vars + at)), vc2);
    const cost = f64x2.add(
      s,
      f64x2.mul(vst, f64x2.add(f64x2.div(ndm2, m2), f64x2.div(f64x2.mul(l, shape), v))),
    );
    v128.store(out + at, f64x2.add(cost, v128.load(sumsAB + at)));
  }
  for (; p < photos; p++) {
    const at = (<usize>p) << 3;
    let sl = load<f64>(sumsL + at);
    if (restP !== 0) {
      sl = sl + (rest + load<f64>(restP + at));
      store<f64>(sumsL + at, sl);
    }
    const mx = load<f64>(means + at);
    const dm = mx - my;
    const s = weightL * n * dm * dm;
    const ndm2 = n * dm * dm;
    const shape = max(0, sl - ndm2);
    const m2 = mx * mx + my * my + c1;
    const l = (2 * mx * my + c1) / m2;
    const v = cvar + load<f64>(vars + at) + c2;
    store<f64>(out + at, s + structure * (ndm2 / m2 + (l * shape) / v) + load<f64>(sumsAB + at));
  }
}

// --- The crops' nearest views (nearestInTree in crops-kernel.mjs, its reference) -----------
// A k-d tree over the views' search numbers (8 a view), laid out by crops-kernel.mjs, which
// names it once (treeState) and asks for one cell's nearest views at a time (nearestViews).

let tOrder_: usize = 0;
let tSorted_: usize = 0;
let tStart_: usize = 0;
let tEnd_: usize = 0;
let tDim_: usize = 0;
let tSplit_: usize = 0;
let tLeft_: usize = 0;
let tRight_: usize = 0;
let tPoints_: usize = 0;
let tTaken_: usize = 0;
let tQuery_: usize = 0;
let tWeight_: usize = 0;
let tOffsets_: usize = 0;
let tIdx_: usize = 0;
let tDist_: usize = 0;
let tSlack_ = 0.0;
let tM_ = 0;
let tN_ = 0;
let tWorst_ = 0.0;

/** Names the tree's arrays: i32 order, start, end, dim, left, right; f64 sorted, split, points. */
export function treeState(
  order: usize,
  sorted: usize,
  start: usize,
  end: usize,
  dim: usize,
  split: usize,
  left: usize,
  right: usize,
  points: usize,
  taken: usize,
  query: usize,
  weight: usize,
  offsets: usize,
  idx: usize,
  dist: usize,
  slack: f64,
): void {
  tOrder_ = order;
  tSorted_ = sorted;
  tStart_ = start;
  tEnd_ = end;
  tDim_ = dim;
  tSplit_ = split;
  tLeft_ = left;
  tRight_ = right;
  tPoints_ = points;
  tTaken_ = taken;
  tQuery_ = query;
  tWeight_ = weight;
  tOffsets_ = offsets;
  tIdx_ = idx;
  tDist_ = dist;
  tSlack_ = slack;
}

/** Into the max-heap of the best tM_ by distance. */
function pushView(v: i32, d: f64): void {
  let i: i32;
  if (tN_ < tM_) {
    i = tN_++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pd = load<f64>(tDist_ + ((<usize>parent) << 3));
      if (pd >= d) break;
      store<f64>(tDist_ + ((<usize>i) << 3), pd);
      store<i32>(tIdx_ + ((<usize>i) << 2), load<i32>(tIdx_ + ((<usize>parent) << 2)));
      i = parent;
    }
  } else {
    i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= tM_) break;
      if (
        child + 1 < tM_ &&
        load<f64>(tDist_ + ((<usize>(child + 1)) << 3)) > load<f64>(tDist_ + ((<usize>child) << 3))
      )
        child++;
      const cd = load<f64>(tDist_ + ((<usize>child) << 3));
      if (cd <= d) break;
      store<f64>(tDist_ + ((<usize>i) << 3), cd);
      store<i32>(tIdx_ + ((<usize>i) << 2), load<i32>(tIdx_ + ((<usize>child) << 2)));
      i = child;
    }
  }
  store<f64>(tDist_ + ((<usize>i) << 3), d);
  store<i32>(tIdx_ + ((<usize>i) << 2), v);
  if (tN_ === tM_) tWorst_ = load<f64>(tDist_);
}

/** Σ weight[k] (point[k] − query[k])² over the 8 search numbers at `at`, in the reference's order. */
function viewDistance(at: usize): f64 {
  let s = 0.0;
  for (let k: usize = 0; k < 8; k++) {
    const x = load<f64>(at + (k << 3)) - load<f64>(tQuery_ + (k << 3));
    s += load<f64>(tWeight_ + (k << 3)) * x * x;
  }
  return s;
}

function visitNode(node: i32, reach: f64): void {
  const n = (<usize>node) << 2;
  const d = load<i32>(tDim_ + n);
  if (d < 0) {
    const to = load<i32>(tEnd_ + n);
    for (let i = load<i32>(tStart_ + n); i < to; i++) {
      const s = viewDistance(tSorted_ + ((<usize>i) << 6));
      if (s < tWorst_) {
        const v = load<i32>(tOrder_ + ((<usize>i) << 2));
        if (load<u8>(tTaken_ + <usize>v) === 0) pushView(v, s);
      }
    }
    return;
  }
  const dd = (<usize>d) << 3;
  const gap = load<f64>(tQuery_ + dd) - load<f64>(tSplit_ + ((<usize>node) << 3));
  const near = gap < 0 ? load<i32>(tLeft_ + n) : load<i32>(tRight_ + n);
  const far = gap < 0 ? load<i32>(tRight_ + n) : load<i32>(tLeft_ + n);
  visitNode(near, reach);
  const old = load<f64>(tOffsets_ + dd);
  const w = load<f64>(tWeight_ + dd);
  const farReach = reach - w * old * old + w * gap * gap;
  if (farReach * tSlack_ < tWorst_) {
    store<f64>(tOffsets_ + dd, gap);
    visitNode(far, farReach);
    store<f64>(tOffsets_ + dd, old);
  }
}

/**
 * The `m` views nearest the query (at tQuery_, weighed by tWeight_) into the idx heap
 * (unordered); how many. The `seedCount` views at `seeds` are weighed first and skipped in the
 * tree, as nearestInTree does.
 */
export function nearestViews(m: i32, seeds: usize, seedCount: i32): i32 {
  tM_ = m;
  tN_ = 0;
  tWorst_ = Infinity;
  memory.fill(tOffsets_, 0, 8 * 8);
  for (let i = 0; i < seedCount; i++) {
    const v = load<i32>(seeds + ((<usize>i) << 2));
    const s = viewDistance(tPoints_ + ((<usize>v) << 6));
    store<u8>(tTaken_ + <usize>v, 1);
    if (s < tWorst_) pushView(v, s);
  }
  visitNode(0, 0);
  for (let i = 0; i < seedCount; i++) store<u8>(tTaken_ + <usize>load<i32>(seeds + ((<usize>i) << 2)), 0);
  return tN_;
}
