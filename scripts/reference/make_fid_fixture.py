#!/usr/bin/env python3
"""Golden fixtures for FID and KID: pytorch-fid's InceptionV3, its Fréchet distance, torch-fidelity's KID,
statistics files, and PyTorch checkpoints for the restricted pickle reader.

Writes Tests/DDPMMetricsTests/Fixtures/fid/:

    manifest.json        versions, seeds, the weight formula, tolerances measured here, FID/KID results
    image{0..3}.npy      uint8 H×W×C test images: 28×28×1 (gray, repeated to RGB), 32×32×3, 19×305×3
                         (up vertically, down horizontally), 311×37×3 (down vertically, up horizontally)
    resized.npy          float32 [4, 102, 299]: channel 0 of each image after
                         F.interpolate(x/255, (299, 299), bilinear, align_corners=False), rows resized_rows
    resized_rows.npy     int64 [102]: the rows stored (0, 3, 6, …, 297 and 298)
    features{64,192,768,2048}.npy      float32 [4, D]: pytorch-fid's InceptionV3 (float32) with the
                         closed-formula weights below; blocks 0–3, each map averaged over space as
                         pytorch-fid's get_activations does (adaptive_avg_pool2d to 1×1)
    features{64,192,768,2048}_f64.npy  float64 [4, D]: the same network in float64 (model.double())
    set_a.npy, set_b.npy float32 [240, 64], [200, 64]: two feature sets (non-Gaussian, different means
                         and covariances) for the distances
    set_c.npy            float32 [40, 64]: fewer samples than dimensions (singular covariance)
    stats_a.npz          np.savez(mu=…, sigma=…) of set_a (float64): pytorch-fid's statistics format
    stats_a_compressed.npz  the same with np.savez_compressed (deflate)

and Tests/DDPMNeuralNetworksTests/Fixtures/pytorch/:

    state_dict.pth            torch.save of a small module's state_dict plus views and dtypes (zip format)
    state_dict_protocol4.pth  the same with pickle_protocol=4 (FRAME, STACK_GLOBAL, MEMOIZE)
    state_dict_legacy.pth     the same with _use_new_zipfile_serialization=False (the pre-1.6 format)
    expected.json             every tensor: dtype, shape and values (row-major, as float64)
    evil.pth                  torch.save({"x": obj}) where obj reduces to os.system: must be refused

The network is pytorch-fid's own (pytorch_fid.inception.InceptionV3 with use_fid_inception=True:
torchvision's Inception3 with FIDInceptionA/C/E_1/E_2), built as pytorch-fid builds it; only
`load_state_dict_from_url` is replaced by a function returning the closed-formula state dict, so
that no weight file is needed or committed. Weight formula (the Swift test evaluates the same):

    seed(name) = FNV-1a 32-bit hash of the UTF-8 parameter name
    h(name, i) = lowbias32((seed(name) + i·0x9E3779B9) mod 2³²)     i = row-major element index
    lowbias32(x): x ^= x >> 16; x *= 0x7feb352d; x ^= x >> 15; x *= 0x846ca68b; x ^= x >> 16 (mod 2³²)
    u = h / 2³² ∈ [0, 1)   (exact in float64)

    *.conv.weight [O, C, kh, kw]   (2u − 1)·√(6 / (C·kh·kw))   (He-uniform: keeps ReLU activations O(1))
    *.bn.weight                    0.8 + 0.4u
    *.bn.bias, *.bn.running_mean   0.1·(2u − 1)
    *.bn.running_var               0.5 + u
    fc.weight                      (2u − 1)·√(1/2048);  fc.bias 0
    *.num_batches_tracked          0

each computed in float64 and rounded once to float32.

Distances: FID is pytorch_fid.fid_score.calculate_frechet_distance on (np.mean, np.cov(rowvar=False))
of the float32 features widened to float64, as pytorch-fid computes its statistics. The Swift code takes
the trace of the square root from symmetric eigendecompositions instead of scipy's sqrtm; the manifest
also gives that eigen-based value computed here in float64 (fid_*_eigen), and the same formula in
mpmath at 40 digits (fid_*_mp40: the exact FID of the float64 statistics) — for the singular case
(set_c, 40 samples in 64 dimensions) scipy's sqrtm is 2.3e-8 from it. KID is torch-fidelity's
kid_features_to_metric (unbiased MMD², polynomial kernel of degree 3, γ = 1/d, coef0 1, subsets drawn
with numpy.random.RandomState(2020).choice(n, size, replace=False)), with 10 subsets of 100; it is run
on float64 features (kid_f64: what a float64 implementation computes) and on the float32 features as
torch-fidelity passes them (kid_f32: its kernels are float32). The indices of the first two subsets are
stored (kid_first_subsets) to pin the random number generator.

Seeds: SEED = 20200619; images from numpy.random.default_rng(SEED), feature sets from default_rng(SEED + 1),
the pytorch fixtures from torch.manual_seed(SEED + 2). torch runs on four threads (see the note at
torch.set_num_threads: its one-thread resize kernel differs). Two runs give identical files, except
state_dict_legacy.pth, whose storage keys are memory addresses (same tensors, other key strings).

Run (from the repository root; PyPI reachable):

    python3 -m venv scripts/reference/.venv
    scripts/reference/.venv/bin/pip install torch==2.13.0+cpu numpy scipy
    scripts/reference/.venv/bin/pip install --no-deps pytorch-fid==0.3.0 torch-fidelity==0.4.0 torchvision==0.28.0
    scripts/reference/.venv/bin/python scripts/reference/make_fid_fixture.py

(torchvision must match torch: 0.28.0 for torch 2.13.0. PyPI's torchvision wheel is built for CUDA and its
C extension does not load next to the CPU-only torch; pytorch-fid needs only torchvision's Python model
code, so the script declares the two operator schemas torchvision registers fake kernels for and goes on.)
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F


def import_torchvision():
    """torchvision, even when its compiled extension cannot load (see the docstring)."""
    try:
        import torchvision  # noqa: F401
    except RuntimeError as error:
        if "torchvision::nms" not in str(error):
            raise
        for name in [n for n in sys.modules if n.startswith("torchvision")]:
            del sys.modules[name]
        library = torch.library.Library("torchvision", "DEF")  # kept alive below
        library.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        library.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        import_torchvision.library = library
        import torchvision  # noqa: F401


import_torchvision()
import pytorch_fid  # noqa: E402
import pytorch_fid.inception as fid_inception  # noqa: E402
import scipy  # noqa: E402
import torch_fidelity  # noqa: E402
import torchvision  # noqa: E402
from pytorch_fid.fid_score import calculate_frechet_distance  # noqa: E402
from torch_fidelity.metric_kid import kid_features_to_metric  # noqa: E402

SEED = 20200619
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FID_FIXTURES = os.path.join(ROOT, "Tests", "DDPMMetricsTests", "Fixtures", "fid")
PTH_FIXTURES = os.path.join(ROOT, "Tests", "DDPMNeuralNetworksTests", "Fixtures", "pytorch")
IMAGE_SHAPES = [(28, 28, 1), (32, 32, 3), (19, 305, 3), (311, 37, 3)]
# Rows of the resized images stored (every third, the last two): edges and interior, a third of the bytes.
RESIZED_ROWS = sorted(set(range(0, 299, 3)) | {297, 298})
KID_SUBSETS, KID_SUBSET_SIZE = 10, 100

# Four threads, not one: with one thread and three channels PyTorch's CPU bilinear resize switches to
# its separable kernel (width pass rounded to float32, then height pass, weights from a normalised
# filter), which differs from the usual multi-threaded kernel by up to ~5e-6 in [0, 1] units. Every
# pytorch-fid run on a multi-core machine takes the usual kernel, and so does the Swift port.
torch.set_num_threads(4)
torch.use_deterministic_algorithms(True)

# MARK: - The weight formula

MASK = 0xFFFFFFFF


def fnv1a32(name: str) -> int:
    h = 0x811C9DC5
    for byte in name.encode("utf-8"):
        h = ((h ^ byte) * 0x01000193) & MASK
    return h


def formula_uniform(name: str, count: int) -> np.ndarray:
    """u(name, i) for i in 0..<count, float64 in [0, 1)."""
    x = (np.uint64(fnv1a32(name)) + np.arange(count, dtype=np.uint64) * np.uint64(0x9E3779B9)) & np.uint64(MASK)
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x7FEB352D)) & np.uint64(MASK)
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x846CA68B)) & np.uint64(MASK)
    x ^= x >> np.uint64(16)
    return x.astype(np.float64) / 2.0**32


def formula_tensor(name: str, like: torch.Tensor) -> torch.Tensor:
    shape = tuple(like.shape)
    if name.endswith("num_batches_tracked"):
        return torch.zeros(shape, dtype=like.dtype)
    u = formula_uniform(name, int(np.prod(shape, dtype=np.int64)))
    if name.endswith(".conv.weight"):
        fan_in = shape[1] * shape[2] * shape[3]
        values = (2 * u - 1) * np.sqrt(6.0 / fan_in)
    elif name.endswith(".bn.weight"):
        values = 0.8 + 0.4 * u
    elif name.endswith(".bn.bias") or name.endswith(".bn.running_mean"):
        values = 0.1 * (2 * u - 1)
    elif name.endswith(".bn.running_var"):
        values = 0.5 + u
    elif name == "fc.weight":
        values = (2 * u - 1) * np.sqrt(1.0 / 2048)
    elif name == "fc.bias":
        values = np.zeros_like(u)
    else:
        raise SystemExit(f"no formula for parameter {name}")
    return torch.from_numpy(values.astype(np.float32).reshape(shape))


def formula_state_dict(template: dict) -> collections.OrderedDict:
    return collections.OrderedDict((name, formula_tensor(name, value)) for name, value in template.items())


def build_fid_inception() -> fid_inception.InceptionV3:
    """pytorch-fid's InceptionV3 (all four blocks) with the formula's weights instead of the download."""
    def fake_download(url, progress=True, **kwargs):
        assert url == fid_inception.FID_WEIGHTS_URL
        template = fid_inception._inception_v3(num_classes=1008, aux_logits=False, weights=None)
        return formula_state_dict(template.state_dict())

    original = fid_inception.load_state_dict_from_url
    fid_inception.load_state_dict_from_url = fake_download
    try:
        model = fid_inception.InceptionV3([0, 1, 2, 3], resize_input=True, normalize_input=True, use_fid_inception=True)
    finally:
        fid_inception.load_state_dict_from_url = original
    return model.eval()


# MARK: - Network fixture

def make_images() -> list[np.ndarray]:
    """Smooth gradients plus noise, so that the resize and every pool see structure."""
    rng = np.random.default_rng(SEED)
    images = []
    for k, (h, w, c) in enumerate(IMAGE_SHAPES):
        y, x = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
        base = np.stack([np.sin(3 * x + 2 * y + ch + k) for ch in range(c)], axis=-1)
        noisy = 127.5 + 90 * base + rng.normal(0, 30, size=(h, w, c))
        images.append(np.clip(np.rint(noisy), 0, 255).astype(np.uint8))
    return images


def network_fixture(manifest: dict) -> None:
    model = build_fid_inception()
    images = make_images()
    resized, features = [], {64: [], 192: [], 768: [], 2048: []}
    features64 = {64: [], 192: [], 768: [], 2048: []}
    model64 = build_fid_inception().double()
    for k, image in enumerate(images):
        np.save(os.path.join(FID_FIXTURES, f"image{k}.npy"), image)
        rgb = np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image
        x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255  # as pytorch-fid's ToTensor
        with torch.no_grad():
            r = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
            resized.append(r[0, 0].numpy()[RESIZED_ROWS])
            for dims, out in zip((64, 192, 768, 2048), model(x)):
                features[dims].append(F.adaptive_avg_pool2d(out, (1, 1))[0, :, 0, 0].numpy())
            for dims, out in zip((64, 192, 768, 2048), model64(x.double())):
                features64[dims].append(F.adaptive_avg_pool2d(out, (1, 1))[0, :, 0, 0].numpy())
    np.save(os.path.join(FID_FIXTURES, "resized.npy"), np.stack(resized).astype(np.float32))
    np.save(os.path.join(FID_FIXTURES, "resized_rows.npy"), np.array(RESIZED_ROWS, dtype=np.int64))
    scale = {}
    for dims in (64, 192, 768, 2048):
        f32 = np.stack(features[dims]).astype(np.float32)
        f64 = np.stack(features64[dims]).astype(np.float64)
        np.save(os.path.join(FID_FIXTURES, f"features{dims}.npy"), f32)
        np.save(os.path.join(FID_FIXTURES, f"features{dims}_f64.npy"), f64)
        scale[str(dims)] = {
            "max_abs": float(np.abs(f64).max()),
            "mean": float(f64.mean()),
            "float32_vs_float64_max_abs_over_max": float(np.abs(f32 - f64).max() / np.abs(f64).max()),
            "float32_vs_float64_max_elementwise_relative_nonzero": float((np.abs(f32 - f64)[f64 != 0] / np.abs(f64[f64 != 0])).max()),
            "zero_features": int((f64 == 0).sum()),
        }
    manifest["images"] = [list(shape) for shape in IMAGE_SHAPES]
    manifest["features"] = scale


# MARK: - Distance fixture

def feature_sets() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Non-negative, correlated, non-Gaussian 64-d features (as pool3 activations are)."""
    rng = np.random.default_rng(SEED + 1)
    d = 64
    mix_a = rng.normal(0, 1, size=(d, d)) / np.sqrt(d)
    mix_b = mix_a + 0.3 * rng.normal(0, 1, size=(d, d)) / np.sqrt(d)
    a = np.maximum(rng.normal(0, 1, size=(240, d)) @ mix_a + 0.2, 0) + 0.05 * rng.random((240, d))
    b = np.maximum(rng.normal(0, 1, size=(200, d)) @ mix_b + 0.3, 0) + 0.05 * rng.random((200, d))
    c = np.maximum(rng.normal(0, 1, size=(40, d)) @ mix_b + 0.3, 0)
    return a.astype(np.float32), b.astype(np.float32), c.astype(np.float32)


def statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    wide = features.astype(np.float64)
    return np.mean(wide, axis=0), np.cov(wide, rowvar=False)


def fid_eigen(mu1, sigma1, mu2, sigma2) -> float:
    """tr(√(Σ₁Σ₂)) = tr(√(A Σ₂ A)) with A = √Σ₁, from two symmetric eigendecompositions (float64)."""
    lam, v = np.linalg.eigh(sigma1)
    a = (v * np.sqrt(np.maximum(lam, 0))) @ v.T
    mu = np.linalg.eigvalsh(a @ sigma2 @ a)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.sqrt(np.maximum(mu, 0)).sum())


def fid_high_precision(x: np.ndarray, y: np.ndarray, digits: int = 40) -> float:
    """The FID of two feature sets with every step in mpmath at `digits` digits (the exact value of the
    float64 features, to far below float64 rounding), the same eigen-based formula."""
    import mpmath as mp
    mp.mp.dps = digits

    def stats(features):
        m = mp.matrix(features.astype(np.float64).tolist())
        n, d = m.rows, m.cols
        mu = [mp.fsum(m[i, j] for i in range(n)) / n for j in range(d)]
        sigma = mp.matrix(d, d)
        for i in range(d):
            for j in range(i, d):
                sigma[i, j] = sigma[j, i] = mp.fsum((m[k, i] - mu[i]) * (m[k, j] - mu[j]) for k in range(n)) / (n - 1)
        return mu, sigma

    (mu1, s1), (mu2, s2) = stats(x), stats(y)
    lam, q = mp.eigsy(s1)
    a = q * mp.diag([mp.sqrt(max(e, 0)) for e in lam]) * q.T
    m = a * s2 * a
    eigenvalues = mp.eigsy((m + m.T) / 2, eigvals_only=True)
    d = len(mu1)
    value = (mp.fsum((mu1[i] - mu2[i]) ** 2 for i in range(d)) + mp.fsum(s1[i, i] + s2[i, i] for i in range(d))
             - 2 * mp.fsum(mp.sqrt(max(e, 0)) for e in eigenvalues))
    return float(value)


def kid(x: np.ndarray, y: np.ndarray) -> dict:
    out = kid_features_to_metric(torch.from_numpy(x), torch.from_numpy(y), kid_subsets=KID_SUBSETS,
                                 kid_subset_size=KID_SUBSET_SIZE, verbose=False, rng_seed=2020)
    return {"mean": out["kernel_inception_distance_mean"], "std": out["kernel_inception_distance_std"]}


def distance_fixture(manifest: dict) -> None:
    a, b, c = feature_sets()
    for name, values in (("set_a", a), ("set_b", b), ("set_c", c)):
        np.save(os.path.join(FID_FIXTURES, f"{name}.npy"), values)
    mu_a, sigma_a = statistics(a)
    mu_b, sigma_b = statistics(b)
    mu_c, sigma_c = statistics(c)
    np.savez(os.path.join(FID_FIXTURES, "stats_a.npz"), mu=mu_a, sigma=sigma_a)
    np.savez_compressed(os.path.join(FID_FIXTURES, "stats_a_compressed.npz"), mu=mu_a, sigma=sigma_a)
    rng = np.random.RandomState(2020)
    first = [rng.choice(len(a), KID_SUBSET_SIZE, replace=False), rng.choice(len(b), KID_SUBSET_SIZE, replace=False)]
    manifest["distances"] = {
        "fid_ab": float(calculate_frechet_distance(mu_a, sigma_a, mu_b, sigma_b)),
        "fid_ab_eigen": fid_eigen(mu_a, sigma_a, mu_b, sigma_b),
        "fid_aa": float(calculate_frechet_distance(mu_a, sigma_a, mu_a, sigma_a)),
        "fid_cb": float(calculate_frechet_distance(mu_c, sigma_c, mu_b, sigma_b)),
        "fid_cb_eigen": fid_eigen(mu_c, sigma_c, mu_b, sigma_b),
        "fid_cb_mp40": fid_high_precision(c, b),
        "fid_ab_mp40": fid_high_precision(a, b),
        "kid_ab_f64": kid(a.astype(np.float64), b.astype(np.float64)),
        "kid_ab_f32": kid(a, b),
        "kid_aa_f64": kid(a.astype(np.float64), a.astype(np.float64)),
        "kid_subsets": KID_SUBSETS,
        "kid_subset_size": KID_SUBSET_SIZE,
        "kid_rng_seed": 2020,
        "kid_first_subsets": [first[0].tolist(), first[1].tolist()],
        "mu_a_sum": float(mu_a.sum()),
        "sigma_a_trace": float(np.trace(sigma_a)),
    }


# MARK: - PyTorch checkpoint fixtures

class Small(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 2, 3)
        self.bn = torch.nn.BatchNorm2d(2)
        self.linear = torch.nn.Linear(4, 3)


class Evil:
    """Pickles as a call of os.system (never called here: pickling only records it)."""

    def __reduce__(self):
        return (os.system, ("echo this must never run",))


def checkpoint_fixtures(manifest: dict) -> None:
    torch.manual_seed(SEED + 2)
    model = Small()
    model.bn.running_mean.uniform_(-1, 1)
    model.bn.running_var.uniform_(0.5, 1.5)
    model.bn.num_batches_tracked.fill_(7)
    state = model.state_dict()
    base = torch.arange(12, dtype=torch.float32).reshape(4, 3) / 8
    state["views.transposed"] = base.t()                    # strides (1, 3): not contiguous
    shared = torch.arange(6, dtype=torch.float64) * 0.25
    state["views.whole"] = shared
    state["views.slice"] = shared[2:5]                      # same storage, offset 2
    state["dtypes.half"] = torch.tensor([0.5, -1.25, 65504.0], dtype=torch.float16)
    state["dtypes.bfloat16"] = torch.tensor([1.0, -2.5, 3.0e38], dtype=torch.bfloat16)
    state["dtypes.int64"] = torch.tensor([[1, -2], [3, 2**40]], dtype=torch.int64)
    state["dtypes.scalar"] = torch.tensor(3.5)
    torch.save(state, os.path.join(PTH_FIXTURES, "state_dict.pth"))
    torch.save(state, os.path.join(PTH_FIXTURES, "state_dict_protocol4.pth"), pickle_protocol=4)
    torch.save(state, os.path.join(PTH_FIXTURES, "state_dict_legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save({"x": Evil()}, os.path.join(PTH_FIXTURES, "evil.pth"))
    expected = collections.OrderedDict()
    for name, tensor in state.items():
        expected[name] = {
            "dtype": str(tensor.dtype).replace("torch.", ""),
            "shape": list(tensor.shape),
            "values": [float(v) for v in tensor.double().flatten().tolist()],
        }
    with open(os.path.join(PTH_FIXTURES, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    manifest["checkpoints"] = {name: os.path.getsize(os.path.join(PTH_FIXTURES, name))
                               for name in sorted(os.listdir(PTH_FIXTURES)) if name.endswith(".pth")}


def main() -> None:
    os.makedirs(FID_FIXTURES, exist_ok=True)
    os.makedirs(PTH_FIXTURES, exist_ok=True)
    manifest = {
        "script": "scripts/reference/make_fid_fixture.py",
        "seed": SEED,
        "versions": {
            "torch": torch.__version__, "torchvision": torchvision.__version__, "numpy": np.__version__,
            "scipy": scipy.__version__, "pytorch_fid": pytorch_fid.__version__,
            "torch_fidelity": torch_fidelity.__version__, "python": sys.version.split()[0],
        },
        "weight_formula": "u = lowbias32((fnv1a32(name) + i*0x9E3779B9) mod 2^32) / 2^32; see the script",
    }
    network_fixture(manifest)
    distance_fixture(manifest)
    checkpoint_fixtures(manifest)
    with open(os.path.join(FID_FIXTURES, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    for folder in (FID_FIXTURES, PTH_FIXTURES):
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            digest = hashlib.sha256(open(path, "rb").read()).hexdigest()[:16]
            print(f"{os.path.relpath(path, ROOT)}  {os.path.getsize(path)} bytes  sha256 {digest}…")
    summary = {k: v for k, v in manifest["distances"].items() if k != "kid_first_subsets"}
    print(json.dumps({"features": manifest["features"], "distances": summary}, indent=1))


if __name__ == "__main__":
    main()
