#!/usr/bin/env bash
# Builds src/media/libjpeg-turbo.wasm: Debian's libjpeg-turbo (decoder only) and the tile code
# beside this script, compiled to WebAssembly. The .wasm is committed, so installs and CI need no
# compiler; run this after changing glue.c or tile.c (`npm run build:jpeg`). Needs Debian's clang,
# lld, wasi-libc and libclang-rt-dev-wasm32, and deb-src lines for `apt-get source`.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="${OUT:-$HERE/../../src/media/libjpeg-turbo.wasm}"
VERSION=2.1.5
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
apt-get source --download-only "libjpeg-turbo=$VERSION-2" >/dev/null 2>&1 || apt-get source --download-only libjpeg-turbo >/dev/null
tar xzf "libjpeg-turbo_$VERSION.orig.tar.gz"
SRC="$WORK/libjpeg-turbo-$VERSION"
# A 64-bit bit buffer for the Huffman decoder: WebAssembly has 64-bit integers although its
# size_t is 32 bits (a tenth faster on the bench's photos).
sed -i 's/#elif defined(__x86_64__) && defined(__ILP32__)/#elif (defined(__x86_64__) \&\& defined(__ILP32__)) || defined(__wasm__)/' "$SRC/jdhuff.h"
sed -i 's/#if SIZEOF_SIZE_T == 8 || defined(_WIN64) || (defined(__x86_64__) && defined(__ILP32__))$/& || defined(__wasm__)/' "$SRC/jdhuff.c"
grep -q '__wasm__' "$SRC/jdhuff.h" && grep -q '__wasm__' "$SRC/jdhuff.c"
sed 's/@COPYRIGHT_YEAR@/2023/g' "$SRC/jversion.h.in" > "$WORK/jversion.h"
FILES=""
for name in jdapimin jdapistd jdatasrc jdcoefct jdcolor jddctmgr jdhuff jdinput jdmainct jdmarker \
  jdmaster jdmerge jdphuff jdpostct jdsample jidctint jidctfst jidctflt jidctred jquant1 jquant2 \
  jmemmgr jmemnobs jutils jerror jcomapi jaricom jdarith jsimd_none; do
  FILES="$FILES $SRC/$name.c"
done
# The stack first, below the data: an overflow traps instead of overwriting the library's state.
# shellcheck disable=SC2086
clang --target=wasm32-wasi --sysroot=/usr -O3 -msimd128 -I"$HERE" -I"$WORK" -I"$SRC" \
  -include errno.h -DNO_GETENV -mexec-model=reactor -Wno-everything \
  -Wl,--export=decode_tile -Wl,--export=buffer_alloc -Wl,--export=buffer_free \
  -Wl,--allow-undefined -Wl,--strip-debug -Wl,--stack-first \
  -o "$OUT" "$HERE/glue.c" "$HERE/tile.c" $FILES
# What the module was built from: test/media/libjpeg-turbo.test.ts fails when these change and the
# module is not rebuilt.
(cd "$HERE" && sha256sum build.sh glue.c tile.c jconfig.h jconfigint.h) > "$OUT.sources"
echo "wrote $OUT ($(stat -c %s "$OUT") bytes)"
