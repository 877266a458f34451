#!/usr/bin/env python3
"""The machine's GEMM ceiling for reference: n³ GEMM (default 2048) with torch.matmul.

    gemm_ceiling.py [--size N] [--threads K] [--repeats R] [--dtype fp32|bf16]

--dtype fp32 (default) is SGEMM; bf16 multiplies BF16 matrices (what autocast's matmuls and
linear layers run; FP32 accumulation inside oneDNN/MKL, BF16 result).
Prints one JSON object: {"gemm": N, "dtype", "threads": K, "gflops": {"best", "median"}, "torch": version}.
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are removed (by re-executing) before torch loads.
"""

from __future__ import annotations

import os
import sys

_STRIP = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
if any(k in os.environ for k in _STRIP) and "torch" not in sys.modules:
    os.execve(sys.executable, [sys.executable] + sys.argv, {k: v for k, v in os.environ.items() if k not in _STRIP})

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description="n³ SGEMM GFLOPS with torch.matmul.")
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    n = args.size
    g = torch.Generator().manual_seed(0)
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    a = torch.randn(n, n, generator=g).to(dtype)
    b = torch.randn(n, n, generator=g).to(dtype)
    c = torch.empty(n, n, dtype=dtype)
    for _ in range(2):
        torch.matmul(a, b, out=c)
    rates = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        torch.matmul(a, b, out=c)
        rates.append(2 * n**3 / (time.perf_counter() - start) / 1e9)
    print(json.dumps({"gemm": n, "dtype": args.dtype, "threads": args.threads,
                      "gflops": {"best": max(rates), "median": statistics.median(rates)},
                      "torch": torch.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
