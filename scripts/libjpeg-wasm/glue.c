/*
 * The tile decoder of src/media/libjpeg-turbo.mjs: one JPEG decoded at the smallest of libjpeg's
 * scales (n/8) that still covers the tile, then resized to the tile (tile.c). Errors and a
 * premature end of data (a truncated file, as sharp's failOn 'truncated') call the host's `fail`,
 * which throws: the decoder's memory is released at the start of the next call.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include "jpeglib.h"
#include "jerror.h"

int cover_resize(const unsigned char *in, int width, int height, int side, unsigned char *out);

__attribute__((import_module("env"), import_name("fail")))
void host_fail(const char *message, int code);

static struct jpeg_decompress_struct cinfo;
static struct jpeg_error_mgr jerr;
static int live = 0;
static unsigned char *pixels = NULL;
static char message[JMSG_LENGTH_MAX];

static void error_exit(j_common_ptr c) {
  (*c->err->format_message)(c, message);
  host_fail(message, c->err->msg_code);
}

static void emit_message(j_common_ptr c, int level) {
  if (level < 0) {
    if (c->err->msg_code == JWRN_JPEG_EOF) error_exit(c);
    c->err->num_warnings++;
  }
}

static void output_message(j_common_ptr c) { (void)c; }

static void release(void) {
  if (live) jpeg_destroy_decompress(&cinfo);
  live = 0;
  free(pixels);
  pixels = NULL;
}

unsigned char *buffer_alloc(size_t n) { return malloc(n); }
void buffer_free(unsigned char *p) { free(p); }

/*
 * Decodes `src` (a baseline, progressive or arithmetic-coded JPEG of 1 or 3 components) and
 * writes its centre, resized to side×side RGB, to `out` (side·side·3 + 1 bytes). info receives
 * the decoded width, height and the scale used (n of n/8). Returns 0, -1 for a photo this
 * decoder does not take (not 3 components), or -2 for one of more than max_pixels pixels (its
 * size is in info), checked on the header before anything is decoded.
 */
int decode_tile(const unsigned char *src, unsigned long len, int side, unsigned char *out, int *info,
                double max_pixels) {
  release();
  cinfo.err = jpeg_std_error(&jerr);
  jerr.error_exit = error_exit;
  jerr.emit_message = emit_message;
  jerr.output_message = output_message;
  jpeg_create_decompress(&cinfo);
  live = 1;
  jpeg_mem_src(&cinfo, src, len);
  jpeg_read_header(&cinfo, TRUE);
  if ((double)cinfo.image_width * cinfo.image_height > max_pixels) {
    info[0] = (int)cinfo.image_width;
    info[1] = (int)cinfo.image_height;
    release();
    return -2;
  }
  if (cinfo.num_components != 3) {
    release();
    return -1;
  }
  unsigned int shorter = cinfo.image_width < cinfo.image_height ? cinfo.image_width : cinfo.image_height;
  int eighths = 8;
  while (eighths > 1 && (shorter * (unsigned int)(eighths - 1) + 7) / 8 >= (unsigned int)side) eighths--;
  cinfo.scale_num = eighths;
  cinfo.scale_denom = 8;
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&cinfo);
  size_t stride = (size_t)cinfo.output_width * 3;
  /* Slack for the resize, which reads whole vectors. */
  pixels = malloc(stride * cinfo.output_height + 16);
  if (!pixels) host_fail("out of memory", -1);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW rows[4];
    int n = 0;
    for (; n < 4 && cinfo.output_scanline + n < cinfo.output_height; n++)
      rows[n] = pixels + (size_t)(cinfo.output_scanline + n) * stride;
    jpeg_read_scanlines(&cinfo, rows, n);
  }
  jpeg_finish_decompress(&cinfo);
  info[0] = (int)cinfo.output_width;
  info[1] = (int)cinfo.output_height;
  info[2] = eighths;
  if (cover_resize(pixels, (int)cinfo.output_width, (int)cinfo.output_height, side, out) != 0)
    host_fail("out of memory", -1);
  release();
  return 0;
}
