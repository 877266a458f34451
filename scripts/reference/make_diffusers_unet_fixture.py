#!/usr/bin/env python3
"""Golden fixtures for the diffusers UNet2DModel loader (tiny models, one forward pass each).

Writes, for each variant, a diffusers model folder plus the input and the expected output:

    Tests/DDPMModelsTests/Fixtures/tiny-diffusers-unet/        attention_head_dim null (one head, DDPM)
    Tests/DDPMModelsTests/Fixtures/tiny-diffusers-unet-heads/  attention_head_dim 8 (multi-head)

        config.json                          UNet2DModel config (save_pretrained)
        diffusion_pytorch_model.safetensors  float32 weights (save_pretrained, safe_serialization)
        input.npy       float32 [2, 3, 8, 8]  seeded N(0, 1)
        timesteps.npy   int64   [2]           [0, 999] (0-based; index 0 is the paper's t = 1)
        output.npy      float32 [2, 3, 8, 8]  model(input, timesteps).sample, diffusers as is, float32
        output64.npy    float64 [2, 3, 8, 8]  the same model converted to float64, with the
                                              sinusoidal embedding also computed in float64

Why output64 recomputes the time embedding: diffusers' `get_timestep_embedding` always works in
float32 (the angle t·ω for t = 999 carries ~6e-5 absolute error), and `UNet2DModel.forward`
only casts its result to the model dtype afterwards. A float64 loader computes the embedding in
float64, so the float64 reference must too, or the 1e-9 tolerance would be unreachable.

Model: sample_size 8, in/out channels 3, block_out_channels (8, 16), layers_per_block 1,
down ("DownBlock2D", "AttnDownBlock2D"), up ("AttnUpBlock2D", "UpBlock2D"), norm_num_groups 4,
norm_eps 1e-6, flip_sin_to_cos false, freq_shift 1, downsample_padding 0 (DDPM's settings);
45,259 parameters in 144 tensors (~180 kB per folder). The attention level and the middle block
have 16 channels: one head of 16 with attention_head_dim null, two heads of 8 with 8.
Every parameter is perturbed by 0.1·N(0, 1) after construction so that no layer is trivial
(diffusers initialises GroupNorm to (1, 0) and some biases to zero).

Seeds: torch.manual_seed(SEED) before construction; the perturbation draws from
torch.Generator().manual_seed(SEED + 1) in `named_parameters()` order; the input from
numpy.random.default_rng(SEED + 2). SEED = 20200619 (DDPM's arXiv date).

Run (from the repository root; needs network access to PyPI once):

    python3 -m venv scripts/reference/.venv
    scripts/reference/.venv/bin/pip install torch==2.13.0+cpu diffusers safetensors numpy
    scripts/reference/.venv/bin/python scripts/reference/make_diffusers_unet_fixture.py

(`torch==2.13.0+cpu` is the CPU-only wheel; any recent CPU torch works. Written with
diffusers 0.42.1, torch 2.13.0+cpu, safetensors 0.8.0, numpy 2.4.) The Swift tests never run
this script; they read the committed files.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

import numpy as np
import torch
from diffusers import UNet2DModel

SEED = 20200619
BATCH = 2
TIMESTEPS = [0, 999]
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(ROOT, "Tests", "ModelsTests", "Fixtures")

BASE_CONFIG = dict(
    sample_size=8,
    in_channels=3,
    out_channels=3,
    block_out_channels=(8, 16),
    layers_per_block=1,
    down_block_types=("DownBlock2D", "AttnDownBlock2D"),
    up_block_types=("AttnUpBlock2D", "UpBlock2D"),
    norm_num_groups=4,
    norm_eps=1e-6,
    flip_sin_to_cos=False,
    freq_shift=1,
    downsample_padding=0,
    time_embedding_type="positional",
    act_fn="silu",
    center_input_sample=False,
    mid_block_scale_factor=1,
    dropout=0.0,
)

VARIANTS = {
    "tiny-diffusers-unet": dict(attention_head_dim=None),
    "tiny-diffusers-unet-heads": dict(attention_head_dim=8),
}


def timestep_embedding64(timesteps: torch.Tensor, dim: int, flip_sin_to_cos: bool, shift: float,
                         max_period: float = 10000.0) -> torch.Tensor:
    """diffusers.get_timestep_embedding computed in float64 throughout."""
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float64) / (half - shift)
    angles = timesteps.to(torch.float64)[:, None] * torch.exp(exponent)[None, :]
    emb = torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half:], emb[:, :half]], dim=-1)
    if dim % 2 == 1:
        emb = torch.nn.functional.pad(emb, (0, 1, 0, 0))
    return emb


def build(head_dim: int | None) -> UNet2DModel:
    torch.manual_seed(SEED)
    model = UNet2DModel(**BASE_CONFIG, attention_head_dim=head_dim)
    perturbation = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        for _, p in model.named_parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=perturbation, dtype=p.dtype))
    return model.eval()


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a − b| / max |b|: the measure the Swift tests apply (elementwise, scaled by max |b|)."""
    return float(np.max(np.abs(a.astype(np.float64) - b)) / np.max(np.abs(b)))


def make(name: str, overrides: dict, sample: np.ndarray, timesteps: np.ndarray) -> dict:
    folder = os.path.join(FIXTURES, name)
    os.makedirs(folder, exist_ok=True)
    model = build(overrides["attention_head_dim"])
    model.save_pretrained(folder, safe_serialization=True)

    x = torch.from_numpy(sample)
    t = torch.from_numpy(timesteps)
    with torch.no_grad():
        out32 = model(x, t).sample.numpy().astype(np.float32)

    model64 = build(overrides["attention_head_dim"]).double()
    cfg = model64.config
    model64.time_proj.forward = lambda ts: timestep_embedding64(
        ts, cfg.block_out_channels[0], cfg.flip_sin_to_cos, cfg.freq_shift)
    with torch.no_grad():
        out64 = model64(x.double(), t).sample.numpy()
        # The float32 model fed the float64 embedding: what a float32 port computing the
        # embedding in float64 (as the Swift SinusoidalEmbedding does) should produce.
        model.time_proj.forward = lambda ts: timestep_embedding64(
            ts, cfg.block_out_channels[0], cfg.flip_sin_to_cos, cfg.freq_shift).float()
        out32_emb64 = model(x, t).sample.numpy()

    # The saved float32 weights must reproduce the model exactly when reloaded.
    reloaded = UNet2DModel.from_pretrained(folder, low_cpu_mem_usage=False).eval()
    with torch.no_grad():
        again = reloaded(x, t).sample.numpy()
    assert np.array_equal(again, out32), f"{name}: reloaded model differs"

    np.save(os.path.join(folder, "input.npy"), sample)
    np.save(os.path.join(folder, "timesteps.npy"), timesteps)
    np.save(os.path.join(folder, "output.npy"), out32)
    np.save(os.path.join(folder, "output64.npy"), out64)

    params = sum(p.numel() for p in model.parameters())
    tensors = len(model.state_dict())
    stats = dict(
        fixture=name, parameters=params, tensors=tensors,
        output_max_abs=float(np.max(np.abs(out64))),
        rel_err_output32_vs_output64=relative_error(out32, out64),
        rel_err_float32_with_emb64_vs_output64=relative_error(out32_emb64, out64),
        files={f: os.path.getsize(os.path.join(folder, f)) for f in sorted(os.listdir(folder))},
    )
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(SEED + 2)
    sample = rng.standard_normal((BATCH, 3, 8, 8)).astype(np.float32)
    timesteps = np.array(TIMESTEPS, dtype=np.int64)
    for name, overrides in VARIANTS.items():
        print(json.dumps(make(name, overrides, sample, timesteps), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
