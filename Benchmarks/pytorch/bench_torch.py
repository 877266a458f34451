#!/usr/bin/env python3
"""PyTorch (eager, CPU) counterpart of `ddpm bench`: same options, same JSON.

    bench_torch.py --model fashion|cifar10|toy --mode train|sample --batch-size B
                   [--iterations N] [--warmup W] [--threads K] [--layout channels_last|contiguous]
                   [--precision fp32|bf16] [--adam default|foreach|fused] [--seed S] [--json]

With --json it prints one JSON object with the keys of `ddpm bench --json`:
  {"model", "mode", "batch_size", "threads", "iterations",
   "seconds": {"min", "median", "max"}, "images_per_second", "peak_rss_bytes", "gflops"}
plus "implementation": "pytorch", "layout", "precision", "adam", "flops_per_step" and "torch" (the version).

--precision fp32 (default) is plain eager FP32. --precision bf16 is what a PyTorch user picks for
BF16 on CPU: the same FP32 model and optimiser, with the network's forward pass under
torch.autocast("cpu", dtype=torch.bfloat16) (convolutions, linear layers and matmuls in BF16 with
FP32 accumulation, the ops autocast keeps in FP32 in FP32; backward follows the forward's dtypes;
parameters, gradients and Adam stay FP32, no loss scaling, which BF16 does not need). The loss and
the sampling update are computed in FP32 from ε_θ cast back to FP32.

What one timed step is (DDPM Algorithms 1 and 2, linear β from 1e-4 to 0.02, T = 1000):
  train:  t ~ Uniform{0..T−1} (0-based), ε ~ N(0, I), x_t = √ᾱ_t x₀ + √(1−ᾱ_t) ε, ε_θ(x_t, t)
          with dropout active, L_simple = mean‖ε − ε_θ‖², backward, Adam (lr 2e-4) update.
          x₀ is one fixed batch of uniform [−1, 1] noise (data loading is not timed).
  sample: ε_θ(x_t, t) under torch.inference_mode, then
          x_{t−1} = (x_t − β_t/√(1−ᾱ_t) ε_θ)/√α_t + σ_t z, σ²_t = β̃_t (z = 0 at t = 0);
          successive steps walk t down from T−1.
`--warmup` steps run first and are not timed. Seconds are per step; images/s = batch / median;
GFLOPS = FLOPs per step / median, where FLOPs count 2 × multiply-adds of every convolution,
linear layer and attention matmul (elementwise work, norms and the optimiser are not counted),
and a training step counts 3 × the forward pass (forward, backward-data, backward-weights).
Peak RSS is this process's ru_maxrss (it runs one configuration only, the torch import included).
"cpu_utilization" is the median over timed steps of this process's CPU time / (wall time ×
threads): well below 1 means other processes took the cores and the timing is not trustworthy.

OpenBLAS settings that this environment may carry (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE) are
removed by re-executing before torch loads, so the libraries pick their best kernels.
"""

from __future__ import annotations

import os
import sys

_STRIP = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
if any(k in os.environ for k in _STRIP) and "torch" not in sys.modules:
    env = {k: v for k, v in os.environ.items() if k not in _STRIP}
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ddpm_unet import EXPECTED_PARAMETERS, PRESETS, Attention, DDPMUNet, parameter_count, timestep_embedding  # noqa: E402

T = 1000


class ToyMLP(nn.Module):
    """Sources/Models/ToyMLP.swift: h = W_in x + MLP(emb(t)); 3 × (h += Linear(SiLU h)); Linear(SiLU h)."""

    def __init__(self, data=2, hidden=128, layers=3, emb=32):
        super().__init__()
        self.emb = emb
        self.time_in = nn.Linear(emb, hidden)
        self.time_out = nn.Linear(hidden, hidden)
        self.input = nn.Linear(data, hidden)
        self.hidden = nn.ModuleList([nn.Linear(hidden, hidden) for _ in range(layers)])
        self.output = nn.Linear(hidden, data)

    def forward(self, x, t):
        temb = self.time_out(F.silu(self.time_in(timestep_embedding(t, self.emb, False, 1.0, x.dtype))))
        h = self.input(x) + temb
        for layer in self.hidden:
            h = h + layer(F.silu(h))
        return self.output(F.silu(h))


def make_model(name: str) -> tuple[nn.Module, tuple[int, ...]]:
    if name == "toy":
        return ToyMLP(), (2,)
    cfg = PRESETS[name]
    model = DDPMUNet(cfg)
    count = parameter_count(model)
    assert count == EXPECTED_PARAMETERS[name], f"{name}: {count} parameters, Swift has {EXPECTED_PARAMETERS[name]}"
    return model, (cfg.in_channels, cfg.sample_size, cfg.sample_size)


def forward_flops(model: nn.Module, x: torch.Tensor, t: torch.Tensor) -> int:
    """2 × multiply-adds of convolutions, linear layers and attention matmuls in one forward pass."""
    macs = 0

    def conv_hook(m, inp, out):
        nonlocal macs
        macs += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear_hook(m, inp, out):
        nonlocal macs
        macs += out.numel() * m.in_features

    def attention_hook(m, inp, out):
        nonlocal macs
        n, c, h, w = inp[0].shape
        macs += 2 * n * (h * w) * (h * w) * c  # q kᵀ and weights · v, all heads together

    handles = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
        elif isinstance(m, Attention):
            handles.append(m.register_forward_hook(attention_hook))
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        model(x, t)
    model.train(was_training)
    for h in handles:
        h.remove()
    return 2 * macs


def parse(argv=None):
    p = argparse.ArgumentParser(description="PyTorch eager counterpart of `ddpm bench`.")
    p.add_argument("--model", choices=["fashion", "cifar10", "toy"], required=True)
    p.add_argument("--mode", choices=["train", "sample"], required=True)
    p.add_argument("--batch-size", type=int, required=True)
    p.add_argument("--iterations", type=int, default=10, help="timed steps (default 10)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--layout", choices=["channels_last", "contiguous"], default="channels_last",
                   help="memory format of model and activations (channels_last is PyTorch's fastest on CPU)")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="fp32: eager FP32; bf16: forward under torch.autocast('cpu', dtype=torch.bfloat16)")
    p.add_argument("--adam", choices=["default", "foreach", "fused"], default="default",
                   help="torch.optim.Adam implementation (default: PyTorch's choice, the for-loop on CPU)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if args.batch_size < 1 or args.iterations < 1 or args.warmup < 0 or args.threads < 1:
        p.error("--batch-size, --iterations and --threads must be positive, --warmup non-negative")
    return args


def main(argv=None) -> int:
    args = parse(argv)
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(args.seed)
    g = torch.Generator().manual_seed(args.seed + 1)

    model, shape = make_model(args.model)
    image = len(shape) == 3
    fmt = torch.channels_last if (image and args.layout == "channels_last") else torch.contiguous_format
    model = model.to(memory_format=fmt)
    B = args.batch_size
    view = (B,) + (1,) * len(shape)

    betas = torch.linspace(1e-4, 0.02, T, dtype=torch.float64)
    alphas = 1 - betas
    abar = torch.cumprod(alphas, 0)
    abar_prev = torch.cat([torch.ones(1, dtype=torch.float64), abar[:-1]])
    sqrt_abar = abar.sqrt().float()
    sqrt_one_minus_abar = (1 - abar).sqrt().float()
    recip_sqrt_alpha = (1 / alphas.sqrt()).float()
    eps_coef = (betas / (1 - abar).sqrt()).float()
    sigma = (betas * (1 - abar_prev) / (1 - abar)).sqrt().float()

    if args.precision == "bf16":
        def autocast():
            return torch.autocast("cpu", dtype=torch.bfloat16)
    else:
        def autocast():
            return contextlib.nullcontext()

    def randn():
        return torch.randn((B,) + shape, generator=g).contiguous(memory_format=fmt)

    flops_forward = forward_flops(model, randn(), torch.zeros(B, dtype=torch.long))

    if args.mode == "train":
        model.train()
        kwargs = {} if args.adam == "default" else {args.adam: True}
        opt = torch.optim.Adam(model.parameters(), lr=2e-4, **kwargs)
        x0 = (torch.rand((B,) + shape, generator=g) * 2 - 1).contiguous(memory_format=fmt)

        def step(i):
            t = torch.randint(0, T, (B,), generator=g)                                  # 1. t
            eps = randn()                                                               # 2. ε
            xt = sqrt_abar[t].view(view) * x0 + sqrt_one_minus_abar[t].view(view) * eps  # 3. q(x_t | x₀)
            with autocast():
                out = model(xt, t)
            loss = F.mse_loss(out.float(), eps)                                         # 4. L_simple
            opt.zero_grad(set_to_none=True)
            loss.backward()                                                             # 5. ∇
            opt.step()                                                                  # 6. Adam

        flops_step = 3 * flops_forward
    else:
        model.eval()
        state = {"x": randn()}

        def step(i):
            t_int = T - 1 - (i % T)
            t = torch.full((B,), t_int, dtype=torch.long)
            with torch.inference_mode():
                x = state["x"]
                with autocast():
                    eps = model(x, t)                                                   # 1. ε_θ(x_t, t)
                eps = eps.float()
                mean = recip_sqrt_alpha[t_int] * (x - eps_coef[t_int] * eps)            # 2. μ_θ (eq. 11)
                x = mean + sigma[t_int] * randn() if t_int > 0 else mean                # 3. + σ_t z
            state["x"] = x

        flops_step = flops_forward

    for i in range(args.warmup):
        step(i)
    times, busy = [], []
    for i in range(args.iterations):
        start, cpu = time.perf_counter(), time.process_time()
        step(args.warmup + i)
        times.append(time.perf_counter() - start)
        busy.append((time.process_time() - cpu) / times[-1] / args.threads)

    median = statistics.median(times)
    result = {
        "model": args.model, "mode": args.mode, "batch_size": B, "threads": args.threads,
        "iterations": args.iterations,
        "seconds": {"min": min(times), "median": median, "max": max(times)},
        "images_per_second": B / median,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "gflops": flops_step / median / 1e9,
        "implementation": "pytorch", "layout": args.layout if image else "contiguous",
        "precision": args.precision,
        "adam": args.adam if args.mode == "train" else None,
        "flops_per_step": flops_step, "torch": torch.__version__,
        "cpu_utilization": statistics.median(busy),
    }
    if args.json:
        print(json.dumps(result))
    else:
        s = result["seconds"]
        print(f"pytorch {args.model} {args.mode} batch {B}, {args.threads} threads, {args.layout}, {args.precision}: "
              f"{s['median']:.4f} s/step (min {s['min']:.4f}, max {s['max']:.4f}) over {args.iterations}, "
              f"{result['images_per_second']:.1f} images/s, {result['gflops']:.1f} GFLOPS "
              f"({flops_step / 1e9:.1f} GFLOP/step), peak RSS {result['peak_rss_bytes'] / 2**20:.0f} MiB, "
              f"CPU utilisation {result['cpu_utilization']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
