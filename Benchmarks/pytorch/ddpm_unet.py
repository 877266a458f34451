"""DDPM's U-Net ε_θ(xₜ, t) in plain PyTorch, the same network as Sources/Models/UNet.swift.

DDPM §4 and Appendix B (Ho, Jain & Abbeel 2020), as in the authors' TF code and in diffusers'
UNet2DModel with DDPM's settings:

- sinusoidal timestep embedding [sin, cos] with frequencies exp(−ln(10000)·i/(half − 1))
  (computed in float64, then cast, as the Swift SinusoidalEmbedding) → Linear(ch → 4ch) → SiLU
  → Linear(4ch → 4ch);
- conv_in 3×3; per level `layers_per_block` residual blocks (GN → SiLU → conv3×3 → + Linear(SiLU(temb))
  → GN → SiLU → dropout → conv3×3, plus a 1×1 shortcut when channels change), single-head
  self-attention after each block at the listed resolutions, then (all but the last level) a
  3×3 stride-2 conv after padding right and bottom by one (TF 'SAME');
- middle: residual block, attention, residual block;
- up levels: `layers_per_block + 1` residual blocks, each on the concatenation with a skip from the
  down path (consumed in reverse order), attention where listed, nearest ×2 + conv3×3 upsampling;
- GroupNorm (32 groups, eps 1e-6) → SiLU → conv_out 3×3.

Module names follow diffusers (conv_in, time_embedding.linear_1, down_blocks.i.resnets.j.norm1,
..., attentions.j.to_q, to_out.0), so `state_dict()` keys equal a diffusers UNet2DModel's and a
diffusers checkpoint loads with `load_state_dict` (see `--check-fixture`).

Run `python ddpm_unet.py` to print the parameter counts of the presets (cifar10 must be
35,746,307, as the Swift test asserts) and, with `--check-fixture DIR`, compare a forward pass
with the diffusers golden fixture in Tests/ModelsTests/Fixtures/.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class UNetConfig:
    """Mirrors UNetConfiguration.swift (and diffusers' UNet2DModel config)."""

    sample_size: int
    in_channels: int
    out_channels: int
    block_out_channels: list[int]
    layers_per_block: int
    down_attention: list[bool]
    up_attention: list[bool]  # ordered from the lowest resolution up
    mid_attention: bool = True
    dropout: float = 0.0
    norm_groups: int = 32
    norm_eps: float = 1e-6
    head_dim: int | None = None  # None: one head over all channels (DDPM)
    flip_sin_to_cos: bool = False
    freq_shift: float = 1.0
    downsample_padding: int = 0

    @staticmethod
    def ddpm(resolution: int, in_channels: int, channels: int, multipliers: list[int], residual_blocks: int,
             attention_resolutions: set[int], dropout: float, groups: int = 32) -> "UNetConfig":
        """DDPM's parameterisation: base channels × multipliers, attention at listed resolutions."""
        downs = [resolution >> i for i in range(len(multipliers))]
        return UNetConfig(
            sample_size=resolution, in_channels=in_channels, out_channels=in_channels,
            block_out_channels=[m * channels for m in multipliers], layers_per_block=residual_blocks,
            down_attention=[r in attention_resolutions for r in downs],
            up_attention=[r in attention_resolutions for r in reversed(downs)],
            dropout=dropout, norm_groups=groups)

    @staticmethod
    def from_diffusers(cfg: dict) -> "UNetConfig":
        """A diffusers UNet2DModel config.json (DDPM's positional embedding, conv resampling)."""
        blocks = cfg["block_out_channels"]
        head = cfg["attention_head_dim"] if "attention_head_dim" in cfg else 8  # explicit null: one head
        return UNetConfig(
            sample_size=cfg.get("sample_size", 32), in_channels=cfg.get("in_channels", 3),
            out_channels=cfg.get("out_channels", 3), block_out_channels=blocks,
            layers_per_block=cfg.get("layers_per_block", 2),
            down_attention=[t.startswith("Attn") for t in cfg["down_block_types"]],
            up_attention=[t.startswith("Attn") for t in cfg["up_block_types"]],
            mid_attention=cfg.get("add_attention", True), dropout=cfg.get("dropout", 0.0),
            norm_groups=cfg.get("norm_num_groups", 32), norm_eps=cfg.get("norm_eps", 1e-5), head_dim=head,
            flip_sin_to_cos=cfg.get("flip_sin_to_cos", True), freq_shift=cfg.get("freq_shift", 0),
            downsample_padding=cfg.get("downsample_padding", 1))


PRESETS = {
    # DDPM CIFAR-10: 32×32×3, ch 128, (1, 2, 2, 2), 2 blocks, attention at 16×16, dropout 0.1.
    "cifar10": UNetConfig.ddpm(32, 3, 128, [1, 2, 2, 2], 2, {16}, 0.1),
    # Fashion-MNIST 28×28×1: ch 64, (1, 2, 2), 2 blocks, attention at 14×14, dropout 0.1.
    "fashion": UNetConfig.ddpm(28, 1, 64, [1, 2, 2], 2, {14}, 0.1),
}

# Parameter counts of the Swift presets (Tests/ModelsTests/UNetTests.swift asserts cifar10's; the
# fashion figure is the same hand derivation, derivedParameterCount, applied to the fashion preset).
EXPECTED_PARAMETERS = {"cifar10": 35_746_307, "fashion": 6_469_889}


def timestep_embedding(timesteps: torch.Tensor, dim: int, flip_sin_to_cos: bool, shift: float,
                       dtype: torch.dtype, max_period: float = 10000.0) -> torch.Tensor:
    """[B] integer timesteps (0-based) → [B, dim]: [sin(tω), cos(tω)], ωᵢ = exp(−ln(P)·i/(half − shift))."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float64, device=timesteps.device)
                      / (half - shift))
    angles = timesteps.to(torch.float64)[:, None] * freqs[None, :]
    emb = torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half:], emb[:, :half]], dim=-1)
    if dim % 2 == 1:
        emb = F.pad(emb, (0, 1))
    return emb.to(dtype)


class TimestepEmbedding(nn.Module):
    def __init__(self, ch: int, temb: int):
        super().__init__()
        self.linear_1 = nn.Linear(ch, temb)
        self.linear_2 = nn.Linear(temb, temb)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


class ResnetBlock(nn.Module):
    """GN → SiLU → conv3×3 → + Linear(SiLU(temb)) → GN → SiLU → dropout → conv3×3, + shortcut(x)."""

    def __init__(self, cin: int, cout: int, temb: int, groups: int, eps: float, dropout: float):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=eps)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps=eps)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return (x if self.conv_shortcut is None else self.conv_shortcut(x)) + h


class Attention(nn.Module):
    """GN → q, k, v = Linear(C→C) over H·W positions → softmax(q kᵀ/√d) v → Linear → + x.
    Heads split the channels as [heads, d] (diffusers' order); one head (d = C) for DDPM."""

    def __init__(self, ch: int, groups: int, eps: float, head_dim: int | None):
        super().__init__()
        self.heads = ch // (head_dim or ch)
        self.group_norm = nn.GroupNorm(groups, ch, eps=eps)
        self.to_q = nn.Linear(ch, ch)
        self.to_k = nn.Linear(ch, ch)
        self.to_v = nn.Linear(ch, ch)
        self.to_out = nn.ModuleList([nn.Linear(ch, ch)])

    def forward(self, x):
        n, c, h, w = x.shape
        tokens = self.group_norm(x).reshape(n, c, h * w).transpose(1, 2)  # [N, HW, C]

        def split(t):  # [N, HW, C] → [N, heads, HW, d]
            return t.reshape(n, h * w, self.heads, c // self.heads).transpose(1, 2)

        q, k, v = split(self.to_q(tokens)), split(self.to_k(tokens)), split(self.to_v(tokens))
        a = F.scaled_dot_product_attention(q, k, v)  # scale 1/√d
        a = a.transpose(1, 2).reshape(n, h * w, c)
        out = self.to_out[0](a).transpose(1, 2).reshape(n, c, h, w)
        return x + out


class Downsample(nn.Module):
    """3×3 stride-2 conv; padding 0 means pad right and bottom by one first (TF 'SAME', DDPM)."""

    def __init__(self, ch: int, padding: int):
        super().__init__()
        self.padding = padding
        self.conv = nn.Conv2d(ch, ch, 3, stride=2, padding=padding)

    def forward(self, x):
        if self.padding == 0:
            x = F.pad(x, (0, 1, 0, 1))
        return self.conv(x)


class Upsample(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class DownLevel(nn.Module):
    def __init__(self, resnets, attentions, downsampler):
        super().__init__()
        self.resnets = nn.ModuleList(resnets)
        self.attentions = nn.ModuleList(attentions)
        self.downsamplers = nn.ModuleList([downsampler]) if downsampler is not None else None


class UpLevel(nn.Module):
    def __init__(self, resnets, attentions, upsampler):
        super().__init__()
        self.resnets = nn.ModuleList(resnets)
        self.attentions = nn.ModuleList(attentions)
        self.upsamplers = nn.ModuleList([upsampler]) if upsampler is not None else None


class MidBlock(nn.Module):
    def __init__(self, resnets, attention):
        super().__init__()
        self.resnets = nn.ModuleList(resnets)
        self.attentions = nn.ModuleList([attention]) if attention is not None else None


class DDPMUNet(nn.Module):
    """ε_θ(x, t): x [N, in_channels, H, W], t [N] integer (0-based) → [N, out_channels, H, W]."""

    def __init__(self, c: UNetConfig):
        super().__init__()
        self.config = c
        base = c.block_out_channels[0]
        temb = 4 * base
        levels = len(c.block_out_channels)

        def resnet(i, o):
            return ResnetBlock(i, o, temb, c.norm_groups, c.norm_eps, c.dropout)

        def attention(ch):
            return Attention(ch, c.norm_groups, c.norm_eps, c.head_dim)

        self.conv_in = nn.Conv2d(c.in_channels, base, 3, padding=1)
        self.time_embedding = TimestepEmbedding(base, temb)
        down, ch = [], base
        for level, out in enumerate(c.block_out_channels):
            resnets, attns = [], []
            for j in range(c.layers_per_block):
                resnets.append(resnet(ch if j == 0 else out, out))
                if c.down_attention[level]:
                    attns.append(attention(out))
            last = level == levels - 1
            down.append(DownLevel(resnets, attns, None if last else Downsample(out, c.downsample_padding)))
            ch = out
        self.down_blocks = nn.ModuleList(down)
        deep = c.block_out_channels[-1]
        self.mid_block = MidBlock([resnet(deep, deep), resnet(deep, deep)], attention(deep) if c.mid_attention else None)
        rev = list(reversed(c.block_out_channels))
        up, prev = [], rev[0]
        for level, out in enumerate(rev):
            skip_in = rev[min(level + 1, levels - 1)]
            resnets, attns = [], []
            for j in range(c.layers_per_block + 1):
                skip = skip_in if j == c.layers_per_block else out
                resnets.append(resnet((prev if j == 0 else out) + skip, out))
                if c.up_attention[level]:
                    attns.append(attention(out))
            last = level == levels - 1
            up.append(UpLevel(resnets, attns, None if last else Upsample(out)))
            prev = out
        self.up_blocks = nn.ModuleList(up)
        self.conv_norm_out = nn.GroupNorm(c.norm_groups, base, eps=c.norm_eps)
        self.conv_out = nn.Conv2d(base, c.out_channels, 3, padding=1)

    def forward(self, x, timesteps):
        c = self.config
        emb = timestep_embedding(timesteps, c.block_out_channels[0], c.flip_sin_to_cos, c.freq_shift, x.dtype)
        temb = self.time_embedding(emb)
        h = self.conv_in(x)
        skips = [h]
        for level in self.down_blocks:
            for j, block in enumerate(level.resnets):
                h = block(h, temb)
                if len(level.attentions):
                    h = level.attentions[j](h)
                skips.append(h)
            if level.downsamplers is not None:
                h = level.downsamplers[0](h)
                skips.append(h)
        h = self.mid_block.resnets[0](h, temb)
        if self.mid_block.attentions is not None:
            h = self.mid_block.attentions[0](h)
        h = self.mid_block.resnets[1](h, temb)
        for level in self.up_blocks:
            for j, block in enumerate(level.resnets):
                h = block(torch.cat([h, skips.pop()], dim=1), temb)
                if len(level.attentions):
                    h = level.attentions[j](h)
            if level.upsamplers is not None:
                h = level.upsamplers[0](h)
        return self.conv_out(F.silu(self.conv_norm_out(h)))


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def check_fixture(folder: str) -> float:
    """Load a diffusers fixture folder (safetensors via numpy) and compare with output64.npy in
    float64; returns max|ours − ref| / max|ref|."""
    import numpy as np

    with open(os.path.join(folder, "config.json")) as f:
        cfg = UNetConfig.from_diffusers(json.load(f))
    model = DDPMUNet(cfg).double().eval()
    state = _read_safetensors(os.path.join(folder, "diffusion_pytorch_model.safetensors"))
    model.load_state_dict({k: torch.from_numpy(v).double() for k, v in state.items()}, strict=True)
    x = torch.from_numpy(np.load(os.path.join(folder, "input.npy"))).double()
    t = torch.from_numpy(np.load(os.path.join(folder, "timesteps.npy")))
    ref = np.load(os.path.join(folder, "output64.npy"))
    with torch.no_grad():
        out = model(x, t).numpy()
    return float(np.max(np.abs(out - ref)) / np.max(np.abs(ref)))


def _read_safetensors(path: str) -> dict:
    """Minimal safetensors reader (F32 only), so this check needs no package beyond torch/numpy."""
    import numpy as np

    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", f"{name}: {info['dtype']}"
        start, end = info["data_offsets"]
        out[name] = np.frombuffer(data[start:end], dtype="<f4").reshape(info["shape"]).copy()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description="Parameter counts of the DDPM U-Net presets.")
    parser.add_argument("--check-fixture", action="append", default=[], metavar="DIR",
                        help="diffusers fixture folder to compare against (output64.npy), repeatable")
    args = parser.parse_args()
    ok = True
    for name, cfg in PRESETS.items():
        model = DDPMUNet(cfg)
        count = parameter_count(model)
        expected = EXPECTED_PARAMETERS[name]
        print(f"{name}: {count:,} parameters in {len(model.state_dict())} tensors (Swift: {expected:,})")
        ok &= count == expected
    for folder in args.check_fixture:
        err = check_fixture(folder)
        print(f"{folder}: max|ours − output64| / max|output64| = {err:.3e}")
        ok &= err <= 1e-9
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
