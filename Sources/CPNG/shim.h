// libpng (Debian libpng-dev), the PNG codec.
#include <png.h>
