/*
 * The tile from the decoded photo: scaled so that its shorter side is `side`, centre-cropped to
 * side×side, with a tent filter whose support widens with the reduction (libvips' linear kernel).
 * Separable, in 16-bit fixed point: the vertical pass first, on 16 bytes of any channel at a time,
 * over the crop's columns only; then the horizontal pass, one pixel (3 channels) per vector.
 * Pixels carry 7 fraction bits between the passes, weights 15 (sum 32767).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <wasm_simd128.h>

typedef struct {
  int first;
  int count;
} span;

/* Out pixel o samples source [first, first + count) with Q15 weights that sum to 32767. */
static int16_t *axis(int in, int out, double scale, double offset, span *spans, int *taps_out) {
  double radius = scale < 1.0 ? 1.0 / scale : 1.0;
  int taps = (int)ceil(radius * 2.0) + 1;
  int16_t *w = calloc((size_t)out * taps, sizeof(int16_t));
  double *v = malloc(sizeof(double) * taps);
  if (!w || !v) {
    free(w);
    free(v);
    return NULL;
  }
  *taps_out = taps;
  for (int o = 0; o < out; o++) {
    double centre = offset + (o + 0.5) / scale;
    int first = (int)floor(centre - radius + 0.5);
    int last = (int)floor(centre + radius - 0.5);
    if (first < 0) first = 0;
    if (last > in - 1) last = in - 1;
    if (last - first + 1 > taps) last = first + taps - 1;
    double sum = 0;
    for (int i = first; i <= last; i++) {
      double d = fabs(i + 0.5 - centre) / radius;
      v[i - first] = d < 1.0 ? 1.0 - d : 0.0;
      sum += v[i - first];
    }
    if (last < first || sum <= 0) {
      int n = (int)floor(centre);
      first = last = n < 0 ? 0 : n > in - 1 ? in - 1 : n;
      v[0] = 1.0;
      sum = 1.0;
    }
    /* Rounded so that the weights still sum to 32767: a flat area stays exactly flat. */
    int given = 0;
    for (int i = 0; i <= last - first; i++) {
      int q = (int)floor(v[i] / sum * 32767.0 + 0.5);
      if (i == last - first) q = 32767 - given;
      w[o * taps + i] = (int16_t)q;
      given += q;
    }
    spans[o].first = first;
    spans[o].count = last - first + 1;
  }
  free(v);
  return w;
}

/*
 * RGB in (width×height, readable 16 bytes past its end), RGB out side×side (writable 1 byte past
 * its end). 0, or -1 when out of memory.
 */
int cover_resize(const uint8_t *in, int width, int height, int side, uint8_t *out) {
  double scale = (double)side / (width < height ? width : height);
  double window = side / scale;
  int xt = 0, yt = 0;
  span *xs = malloc(sizeof(span) * side), *ys = malloc(sizeof(span) * side);
  int16_t *wx = xs ? axis(width, side, scale, (width - window) / 2.0, xs, &xt) : NULL;
  int16_t *wy = ys ? axis(height, side, scale, (height - window) / 2.0, ys, &yt) : NULL;
  /* The columns the crop reads, in bytes, a whole number of vectors (the input has the slack). */
  int col_first = xs ? xs[0].first * 3 : 0;
  int col_end = xs ? (xs[side - 1].first + xs[side - 1].count) * 3 : 0;
  int cols = (col_end - col_first + 15) & ~15;
  int16_t *mid = malloc(sizeof(int16_t) * ((size_t)cols + 8));
  if (!xs || !ys || !wx || !wy || !mid) {
    free(xs);
    free(ys);
    free(wx);
    free(wy);
    free(mid);
    return -1;
  }
  const size_t stride = (size_t)width * 3;
  const v128_t round = wasm_i16x8_splat(64);
  for (int o = 0; o < side; o++) {
    const int16_t *w = wy + o * yt;
    const uint8_t *rows = in + (size_t)ys[o].first * stride + col_first;
    for (int x = 0; x < cols; x += 16) {
      v128_t lo = wasm_i16x8_splat(0), hi = wasm_i16x8_splat(0);
      const uint8_t *p = rows + x;
      for (int k = 0; k < ys[o].count; k++, p += stride) {
        v128_t bytes = wasm_v128_load(p);
        v128_t weight = wasm_i16x8_splat(w[k]);
        lo = wasm_i16x8_add(lo, wasm_i16x8_q15mulr_sat(wasm_i16x8_shl(wasm_u16x8_extend_low_u8x16(bytes), 7), weight));
        hi = wasm_i16x8_add(hi, wasm_i16x8_q15mulr_sat(wasm_i16x8_shl(wasm_u16x8_extend_high_u8x16(bytes), 7), weight));
      }
      wasm_v128_store(mid + x, lo);
      wasm_v128_store(mid + x + 8, hi);
    }
    uint8_t *dst = out + (size_t)o * side * 3;
    for (int j = 0; j < side; j++) {
      const int16_t *weights = wx + j * xt;
      const int16_t *p = mid + xs[j].first * 3 - col_first;
      v128_t acc = wasm_i16x8_splat(0);
      for (int k = 0; k < xs[j].count; k++, p += 3)
        acc = wasm_i16x8_add(acc, wasm_i16x8_q15mulr_sat(wasm_v128_load64_zero(p), wasm_i16x8_splat(weights[k])));
      v128_t pixel = wasm_i16x8_shr(wasm_i16x8_add(acc, round), 7);
      wasm_v128_store32_lane(dst + j * 3, wasm_u8x16_narrow_i16x8(pixel, pixel), 0);
    }
  }
  free(xs);
  free(ys);
  free(wx);
  free(wy);
  free(mid);
  return 0;
}
