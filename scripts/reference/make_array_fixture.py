"""Arrays of images written by numpy for the `npy:FILE` data spec, and a check that numpy reads
the NPZ that `ddpm sample --format npz` writes.

Writes Tests/DDPMDatasetsTests/Fixtures/arrays/:
  rgb.npy          uint8 3 x 4 x 5 x 3, value (31 i + 7 y + 3 x + 50 c) mod 256 at [i, y, x, c]
  gray.npy         uint8 2 x 3 x 4 (N x H x W), value (17 i + 5 y + x) mod 256
  rgb.npz          np.savez(arr_0=rgb)             (stored)
  rgb-compressed.npz np.savez_compressed(arr_0=rgb, other=gray) (deflated, two arrays)
  two.npz          np.savez(a=gray, b=gray): no arr_0, so it is refused
  float.npy        float32 2 x 3 x 4: refused (not uint8)
and checks sample-output.npz (written by `ddpm sample --format npz` from the same rgb array, by
the Swift test's writer) with numpy: arr_0's shape, dtype and values.
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "Tests", "DDPMDatasetsTests", "Fixtures", "arrays")


def rgb():
    i, y, x, c = np.meshgrid(np.arange(3), np.arange(4), np.arange(5), np.arange(3), indexing="ij")
    return ((31 * i + 7 * y + 3 * x + 50 * c) % 256).astype(np.uint8)


def gray():
    i, y, x = np.meshgrid(np.arange(2), np.arange(3), np.arange(4), indexing="ij")
    return ((17 * i + 5 * y + x) % 256).astype(np.uint8)


def main():
    os.makedirs(OUT, exist_ok=True)
    np.save(os.path.join(OUT, "rgb.npy"), rgb())
    np.save(os.path.join(OUT, "gray.npy"), gray())
    np.savez(os.path.join(OUT, "rgb.npz"), arr_0=rgb())
    np.savez_compressed(os.path.join(OUT, "rgb-compressed.npz"), arr_0=rgb(), other=gray())
    np.savez(os.path.join(OUT, "two.npz"), a=gray(), b=gray())
    np.save(os.path.join(OUT, "float.npy"), gray().astype(np.float32))
    written = os.path.join(OUT, "sample-output.npz")
    if os.path.exists(written):
        with np.load(written) as archive:
            assert archive.files == ["arr_0"], archive.files
            array = archive["arr_0"]
            assert array.dtype == np.uint8 and array.shape == (3, 4, 5, 3), (array.dtype, array.shape)
            assert (array == rgb()).all()
        print("sample-output.npz: numpy reads arr_0, uint8 (3, 4, 5, 3), equal to rgb.npy")
    else:
        print("sample-output.npz is missing: run the DDPMDatasets tests once to write it", file=sys.stderr)


if __name__ == "__main__":
    main()
