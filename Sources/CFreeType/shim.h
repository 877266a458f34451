// FreeType 2 (Debian libfreetype-dev), the text of the figures: glyphs rasterised with 8-bit coverage.
#include <ft2build.h>
#include FT_FREETYPE_H
