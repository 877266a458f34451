#!/bin/sh
# JPEG files made by Debian's libjpeg-turbo tools (apt-get install libjpeg-turbo-progs), and the
# pixels Debian's djpeg decodes from them, for the JPEG reader's test:
#   gray.jpg         8 × 8 gray, baseline            → gray.pgm
#   color.jpg        16 × 12 RGB, 4:2:0, baseline    → color.ppm
#   progressive.jpg  10 × 10 RGB, progressive, 4:4:4 → progressive.ppm
# The sources are written here as plain PNM (P2/P3) from closed formulas.
set -eu
OUT=Tests/DDPMDatasetsTests/Fixtures/jpeg
mkdir -p "$OUT"
TMP=$(mktemp -d)
awk 'BEGIN { print "P2\n8 8\n255"; for (y = 0; y < 8; y++) for (x = 0; x < 8; x++) print (x * 29 + y * 13) % 256 }' > "$TMP/gray.pgm"
awk 'BEGIN { print "P3\n16 12\n255"; for (y = 0; y < 12; y++) for (x = 0; x < 16; x++) print (x * 16) % 256, (y * 21) % 256, (x * y * 3) % 256 }' > "$TMP/color.ppm"
awk 'BEGIN { print "P3\n10 10\n255"; for (y = 0; y < 10; y++) for (x = 0; x < 10; x++) print (x * 25) % 256, 255 - (y * 25) % 256, ((x + y) * 12) % 256 }' > "$TMP/progressive.ppm"
cjpeg -quality 90 -grayscale "$TMP/gray.pgm" > "$OUT/gray.jpg"
cjpeg -quality 85 -sample 2x2 "$TMP/color.ppm" > "$OUT/color.jpg"
cjpeg -quality 95 -progressive -sample 1x1 "$TMP/progressive.ppm" > "$OUT/progressive.jpg"
djpeg -pnm "$OUT/gray.jpg" > "$OUT/gray.pgm"
djpeg -pnm "$OUT/color.jpg" > "$OUT/color.ppm"
djpeg -pnm "$OUT/progressive.jpg" > "$OUT/progressive.ppm"
rm -r "$TMP"
