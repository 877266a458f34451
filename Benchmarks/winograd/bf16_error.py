"""Rounding error of Winograd convolution with BFloat16 products, against direct BFloat16 products.

Winograd F(m×m, 3×3) computes an m×m output tile as Aᵀ [Σ_c (G g_c Gᵀ) ⊙ (Bᵀ d_c B)] A. With
BFloat16 products the transformed weights U = G g Gᵀ and tiles V = Bᵀ d B are rounded to
BFloat16 (unit roundoff u = 2⁻⁸) and multiplied exactly with Float32 sums; the output transform
then carries the rounding errors of U and V through |Aᵀ| and |A|. A direct BFloat16 convolution
rounds x and w themselves: its error is at most (2u + u²) Σ|x||w| per output (plus the Float32
summation term). This script measures, in float64 on random tiles, each method's largest error
divided by Σ|x||w| (the direct bound's scale), and the a-priori Winograd bound
|Aᵀ| (Σ_c |U_c| ⊙ |V_c|) |A| / Σ|x||w| (how far above the direct bound a worst case can go).

    python3 Benchmarks/winograd/bf16_error.py [--channels 128] [--tiles 200] [--seed 0]

Needs numpy only. Inputs N(0, 1), weights N(0, 2 / (9 C)) (He initialisation of a 3×3 layer).
"""
import argparse

import numpy as np


def bfloat16(x):
    """Rounds float32 values to the nearest BFloat16 (ties to even), returned as float64."""
    bits = np.asarray(x, np.float32).copy().view(np.uint32)
    bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000).astype(np.uint32)
    return bits.view(np.float32).astype(np.float64)


# Lavin and Gray's matrices (points 0, ±1, ±2, ±1/2 and ∞ for F(4, 3); 0, ±1, ∞ for F(2, 3)).
TRANSFORMS = {
    "F(2x2, 3x3)": (
        np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], float),
        np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]),
        np.array([[1, 1, 1, 0], [0, 1, -1, -1]], float),
    ),
    "F(4x4, 3x3)": (
        np.array(
            [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
             [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], float),
        np.array(
            [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
             [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]]),
        np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]], float),
    ),
}


def direct(d, g, m):
    """out[i, j] = Σ_c Σ_kl d[c, i+k, j+l] g[c, k, l] and the matching Σ|x||w|."""
    out, scale = np.zeros((m, m)), np.zeros((m, m))
    for i in range(m):
        for j in range(m):
            products = d[:, i:i + 3, j:j + 3] * g
            out[i, j], scale[i, j] = products.sum(), np.abs(products).sum()
    return out, scale


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channels", type=int, default=128)
    parser.add_argument("--tiles", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    generator = np.random.default_rng(args.seed)
    print("| algorithm | products per output vs direct | median largest error / Σ|x||w| | direct BF16 | ratio | bound / Σ|x||w| (median, max) |")
    print("|---|---|---|---|---|---|")
    for name, (BT, G, AT) in TRANSFORMS.items():
        m = AT.shape[0]
        a = m + 2
        winograd_errors, direct_errors, bounds = [], [], []
        for _ in range(args.tiles):
            d = generator.standard_normal((args.channels, a, a))
            g = generator.standard_normal((args.channels, 3, 3)) * np.sqrt(2 / (9 * args.channels))
            exact, scale = direct(d, g, m)
            rounded, _ = direct(bfloat16(d), bfloat16(g), m)
            U = np.einsum("ik,ckl,jl->cij", G, g, G)
            V = np.einsum("ik,ckl,jl->cij", BT, d, BT)
            Y = AT @ np.sum(bfloat16(U) * bfloat16(V), axis=0) @ AT.T
            winograd_errors.append(np.max(np.abs(Y - exact) / scale))
            direct_errors.append(np.max(np.abs(rounded - exact) / scale))
            bound = np.abs(AT) @ np.sum(np.abs(U) * np.abs(V), axis=0) @ np.abs(AT).T
            bounds.append(np.max(bound / scale))
        w, r = np.median(winograd_errors), np.median(direct_errors)
        fewer = 9 * m * m / (a * a)
        print(f"| {name} | 1/{fewer:.2f} | {w:.2e} | {r:.2e} | {w / r:.1f}× | {np.median(bounds):.1f}, {np.max(bounds):.1f} |")


if __name__ == "__main__":
    main()
