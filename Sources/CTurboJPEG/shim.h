// libjpeg-turbo's TurboJPEG API (Debian libturbojpeg0-dev), the JPEG decoder: errors come back as
// return codes and messages, not as longjmp, which Swift cannot survive.
#include <stddef.h>
#include <turbojpeg.h>
