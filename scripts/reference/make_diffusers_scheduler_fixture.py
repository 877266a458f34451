#!/usr/bin/env python3
"""Golden fixtures for sampling with diffusers' DDPMScheduler and DDIMScheduler (tiny UNet, 10 steps).

Writes Tests/DDPMTrainingTests/Fixtures/diffusers-schedulers/:

    manifest.json       every case: scheduler class, config file, overrides, timesteps, files,
                        max |output|, float32-vs-float64 errors; seeds and versions
    defaults.json       DDPMScheduler().config and DDIMScheduler().config (diffusers' defaults)
    x_T.npy             float64 [2, 3, 8, 8]       seeded N(0, 1): the initial sample of every run
    x_T_f32.npy         float32 [2, 3, 8, 8]       the same values rounded to float32
    noise.npy           float64 [10, 2, 3, 8, 8]   seeded N(0, 1): DDPM's noise z_k for step k
    noise_f32.npy       float32 [10, 2, 3, 8, 8]   the same values rounded to float32
    configs/<name>.json DDPMScheduler config exactly as `save_config` writes it (6 configurations)
    cases/<case>/timesteps.npy          int64   [10]  the timesteps the scheduler chose
    cases/<case>/trajectory.npy         float64 [10, 2, 3, 8, 8]  x after each step (float64 path)
    cases/<case>/trajectory_f32.npy     float32 [10, 2, 3, 8, 8]  x after each step (diffusers, float32)
    cases/<case>/final_f64_diffusers.npy float64 [2, 3, 8, 8]  final x, diffusers with unet.double()
    variance-types/...  one DDPMScheduler.step per variance_type (see manifest "variance_types")

The model is the committed tiny UNet Tests/DDPMModelsTests/Fixtures/tiny-diffusers-unet/ (made by
make_diffusers_unet_fixture.py), loaded with UNet2DModel.from_pretrained; its weights are not
copied here (the manifest records their SHA-256). The sampling loop is DDPMPipeline's:
`scheduler.set_timesteps(10)`, then for each t: `x = scheduler.step(unet(x, t).sample, t, x).prev_sample`
(DDIM with eta = 0). The final sample is trajectory[9]. DDPM's noise comes from noise.npy:
`diffusers.schedulers.scheduling_ddpm.randn_tensor` is replaced by a function returning noise[k]
(in the model output's dtype) at step k; diffusers draws no noise on a step whose t is 0.

Three numeric paths per case:
  float32            diffusers as is: float32 model, float32 x_T_f32 / noise_f32.
  float64            what a float64 port computes: the model converted to float64 (float32 weights
                     widened), the sinusoidal time embedding computed in float64 (as in
                     make_diffusers_unet_fixture.py's output64), and the scheduler's tables
                     (betas, alphas, alphas_cumprod, final_alpha_cumprod, one) rebuilt in float64.
  float64-diffusers  diffusers as is with unet.double() and float64 x_T: its schedule tables stay
                     float32 (diffusers always builds them in float32) and the time embedding is
                     float32, so it differs from the float64 path at the ~1e-6 level; final only.
Every float64 step is also recomputed here with numpy from the formulas (tables from numpy too)
and must agree with diffusers to 1e-12 (manifest "numpy_check_max_abs_diff").

Configurations (all DDPMScheduler configs; DDIM cases use DDIMScheduler.from_config(file, **overrides)):
  linear-epsilon-fixed-small  DDPMScheduler() (T 1000, linear 1e-4…0.02, epsilon, fixed_small, clip 1)
  cosine-v                    squaredcos_cap_v2, v_prediction, clip_sample false
  scaled-linear-sample-clip   scaled_linear 0.00085…0.012, prediction sample, clip_sample_range 0.5
  trained-betas               T 100, trained_betas linspace(1e-3, 0.05, 100), fixed_large, no clip
  thresholding                thresholding, ratio 0.9, sample_max_value 1.5, clip_sample false
  zero-snr-trailing           v_prediction, rescale_betas_zero_snr, timestep_spacing trailing
DDIM runs every spacing (leading, trailing, linspace); for the first config also set_alpha_to_one
in (true, false) × steps_offset in (0, 1). DDPM runs each config as it is (its own spacing).

Seeds: SEED = 20200619 (DDPM's arXiv date); x_T from numpy.random.default_rng(SEED + 3), the DDPM
noise from default_rng(SEED + 4), the variance-type step inputs from default_rng(SEED + 5).
torch runs on one thread with deterministic algorithms: two runs give byte-identical files.

Run (from the repository root; needs network access to PyPI once):

    python3 -m venv scripts/reference/.venv
    scripts/reference/.venv/bin/pip install torch==2.13.0+cpu diffusers==0.42.1 safetensors numpy
    scripts/reference/.venv/bin/python scripts/reference/make_diffusers_scheduler_fixture.py

Written with diffusers 0.42.1, torch 2.13.0+cpu, numpy 2.4.6, Python 3.11. The Swift tests never
run this script; they read the committed files.

Second use, for a pipeline folder `ddpm export` writes (model_index.json, unet/, scheduler/):

    .../python scripts/reference/make_diffusers_scheduler_fixture.py \\
        --check-export DIR --x-t x_T.npy --out x0.npy [--write-x-t] [--steps 10] [--timestep-spacing S] [--as-is]

loads DIR with DDPMPipeline.from_pretrained (recording what diffusers printed: log records, Python
warnings, stdout/stderr), prints the pipeline's scheduler and UNet configs, and samples DDIM (eta 0,
DDIMScheduler.from_config of the loaded scheduler's config, DDPMPipeline's loop) from x_T.
--write-x-t first writes x_T: float64 [2, C, H, W] from numpy.random.default_rng(SEED + 6). A float64
x_T runs the float64 path above (--as-is: unet.double() only) and the float32 path (diffusers as is,
x_T rounded); a float32 x_T the float32 path alone. Writes, for OUT = x0.npy: x0.npy and
x0_trajectory.npy (x_T's dtype; x after each step), x0_f32.npy and x0_f32_trajectory.npy (float32
path of a float64 x_T), and x0.json: that DDPMPipeline.from_pretrained loaded the folder, what it
printed, the scheduler class and config it read, the UNet config, the sampler's config and
timesteps, each run's files and max |x_0|, versions. Paths inside the repository are recorded
relative to its root. scripts/reference/make_exported_pipeline_fixture.sh uses it.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import io
import json
import logging
import math
import os
import platform
import re
import shutil
import sys
import tempfile
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
import diffusers
import diffusers.schedulers.scheduling_ddim as scheduling_ddim
import diffusers.schedulers.scheduling_ddpm as scheduling_ddpm
from diffusers import DDIMScheduler, DDPMScheduler, UNet2DModel

from make_diffusers_unet_fixture import timestep_embedding64

SEED = 20200619
BATCH = 2
STEPS = 10
SPACINGS = ("leading", "trailing", "linspace")
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
UNET_DIR = os.path.join("Tests", "DDPMModelsTests", "Fixtures", "tiny-diffusers-unet")
OUT_DIR = os.path.join("Tests", "DDPMTrainingTests", "Fixtures", "diffusers-schedulers")
SCRIPT = os.path.join("scripts", "reference", os.path.basename(__file__))
NUMPY_CHECK_TOLERANCE = 1e-12

CONFIGS = {
    "linear-epsilon-fixed-small": dict(),
    "cosine-v": dict(beta_schedule="squaredcos_cap_v2", prediction_type="v_prediction", clip_sample=False),
    "scaled-linear-sample-clip": dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                                      prediction_type="sample", clip_sample=True, clip_sample_range=0.5),
    "trained-betas": dict(num_train_timesteps=100, trained_betas=np.linspace(1e-3, 0.05, 100).tolist(),
                          prediction_type="epsilon", variance_type="fixed_large", clip_sample=False),
    "thresholding": dict(thresholding=True, dynamic_thresholding_ratio=0.9, sample_max_value=1.5,
                         clip_sample=False),
    "zero-snr-trailing": dict(prediction_type="v_prediction", rescale_betas_zero_snr=True,
                              timestep_spacing="trailing"),
}
VARIANCE_TYPES = ("fixed_small", "fixed_small_log", "fixed_large", "fixed_large_log", "learned", "learned_range")
VARIANCE_TIMESTEPS = (900, 400, 0)


# --- float64 tables --------------------------------------------------------------------------------

def betas64(cfg) -> torch.Tensor:
    """diffusers' beta construction (DDPMScheduler/DDIMScheduler.__init__) in float64."""
    T = cfg["num_train_timesteps"]
    if cfg.get("trained_betas") is not None:
        betas = torch.tensor(cfg["trained_betas"], dtype=torch.float64)
    elif cfg["beta_schedule"] == "linear":
        betas = torch.linspace(cfg["beta_start"], cfg["beta_end"], T, dtype=torch.float64)
    elif cfg["beta_schedule"] == "scaled_linear":
        betas = torch.linspace(cfg["beta_start"] ** 0.5, cfg["beta_end"] ** 0.5, T, dtype=torch.float64) ** 2
    elif cfg["beta_schedule"] == "squaredcos_cap_v2":
        def f(t):
            return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2
        betas = torch.tensor([min(1 - f((i + 1) / T) / f(i / T), 0.999) for i in range(T)], dtype=torch.float64)
    else:
        raise NotImplementedError(cfg["beta_schedule"])
    if cfg.get("rescale_betas_zero_snr", False):
        betas = scheduling_ddpm.rescale_zero_terminal_snr(betas)
    return betas


def widen_scheduler(s):
    """Replaces the scheduler's float32 tables with float64 ones (the float64 path)."""
    b = betas64(s.config)
    ab = torch.cumprod(1.0 - b, dim=0)
    # diffusers' float32 tables carry float32 rounding (zero-SNR rescaling loses up to 1e-3 relative
    # in the smallest betas, 2e-6 absolute in the last), so this checks the formula, not the rounding.
    assert float((b - s.betas.double()).abs().max()) < 1e-5, "float64 betas disagree with diffusers'"
    assert float((ab - s.alphas_cumprod.double()).abs().max()) < 1e-6, "float64 ᾱ disagree with diffusers'"
    s.betas = b
    s.alphas = 1.0 - b
    s.alphas_cumprod = ab
    if isinstance(s, DDIMScheduler):
        s.final_alpha_cumprod = (torch.tensor(1.0, dtype=torch.float64) if s.config.set_alpha_to_one
                                 else s.alphas_cumprod[0])
    else:
        s.one = torch.tensor(1.0, dtype=torch.float64)
    return s


# --- the formulas, in numpy (an independent check of every float64 step) -------------------------

def np_alphas_cumprod(cfg) -> np.ndarray:
    T = cfg["num_train_timesteps"]
    if cfg.get("trained_betas") is not None:
        b = np.asarray(cfg["trained_betas"], dtype=np.float64)
    elif cfg["beta_schedule"] == "linear":
        b = np.linspace(cfg["beta_start"], cfg["beta_end"], T)
    elif cfg["beta_schedule"] == "scaled_linear":
        b = np.linspace(cfg["beta_start"] ** 0.5, cfg["beta_end"] ** 0.5, T) ** 2
    else:  # squaredcos_cap_v2
        f = lambda t: np.cos((t + 0.008) / 1.008 * np.pi / 2) ** 2
        i = np.arange(T)
        b = np.minimum(1 - f((i + 1) / T) / f(i / T), 0.999)
    if cfg.get("rescale_betas_zero_snr", False):
        s = np.sqrt(np.cumprod(1 - b))
        s0, sT = s[0], s[-1]
        s = (s - sT) * (s0 / (s0 - sT))
        ab = s ** 2
        b = 1 - np.concatenate([ab[:1], ab[1:] / ab[:-1]])
    return np.cumprod(1 - b)


def np_x0_eps(cfg, ab_t, x, out):
    """Predicted x_0 and ε from the model output (before clipping)."""
    p = cfg["prediction_type"]
    if p == "epsilon":
        return (x - math.sqrt(1 - ab_t) * out) / math.sqrt(ab_t), out
    if p == "sample":
        return out, (x - math.sqrt(ab_t) * out) / math.sqrt(1 - ab_t)
    # v_prediction
    return math.sqrt(ab_t) * x - math.sqrt(1 - ab_t) * out, math.sqrt(ab_t) * out + math.sqrt(1 - ab_t) * x


def np_clip(cfg, x0):
    if cfg["thresholding"]:
        n = x0.shape[0]
        flat = x0.reshape(n, -1)
        s = np.quantile(np.abs(flat), cfg["dynamic_thresholding_ratio"], axis=1)  # linear interpolation
        s = np.minimum(np.maximum(s, 1.0), cfg["sample_max_value"])[:, None]
        return (np.clip(flat, -s, s) / s).reshape(x0.shape)
    if cfg["clip_sample"]:
        return np.clip(x0, -cfg["clip_sample_range"], cfg["clip_sample_range"])
    return x0


def np_ddim_step(cfg, abar, n, t, x, out):
    prev = t - cfg["num_train_timesteps"] // n
    ab_t = abar[t]
    ab_prev = abar[prev] if prev >= 0 else (1.0 if cfg["set_alpha_to_one"] else abar[0])
    x0, eps = np_x0_eps(cfg, ab_t, x, out)
    x0 = np_clip(cfg, x0)
    return math.sqrt(ab_prev) * x0 + math.sqrt(1 - ab_prev) * eps  # eta = 0


def np_ddpm_step(cfg, abar, t, prev, x, out, z, variance_type):
    c = x.shape[1]
    v = None
    if out.shape[1] == 2 * c and variance_type in ("learned", "learned_range"):
        out, v = out[:, :c], out[:, c:]
    ab_t = abar[t]
    ab_prev = abar[prev] if prev >= 0 else 1.0
    alpha_t = ab_t / ab_prev
    beta_t = 1 - alpha_t
    x0, _ = np_x0_eps(cfg, ab_t, x, out)
    x0 = np_clip(cfg, x0)
    mean = (math.sqrt(ab_prev) * beta_t / (1 - ab_t)) * x0 + (math.sqrt(alpha_t) * (1 - ab_prev) / (1 - ab_t)) * x
    if t == 0:
        return mean
    var = max((1 - ab_prev) / (1 - ab_t) * beta_t, 1e-20)
    with np.errstate(invalid="ignore"):
        std = {
            "fixed_small": lambda: math.sqrt(var),
            "fixed_small_log": lambda: math.exp(0.5 * math.log(var)),
            "fixed_large": lambda: math.sqrt(beta_t),
            "fixed_large_log": lambda: np.sqrt(np.float64(math.log(beta_t))),  # sqrt of a negative: NaN
            "learned": lambda: np.sqrt(v),
            "learned_range": lambda: np.exp(0.5 * ((v + 1) / 2 * math.log(beta_t) + (1 - (v + 1) / 2) * math.log(var))),
        }[variance_type]()
    return mean + std * z


# --- runs ------------------------------------------------------------------------------------------

class NoiseFeeder:
    """Stands in for scheduling_ddpm.randn_tensor: returns noise[k] at step k."""

    def __init__(self):
        self.noise = None
        self.k = None
        self.calls = []

    def __call__(self, shape, generator=None, device=None, dtype=None, layout=None):
        assert generator is None and self.noise is not None
        z = torch.from_numpy(np.ascontiguousarray(self.noise[self.k])).to(dtype)
        assert tuple(z.shape) == tuple(shape), (z.shape, shape)
        self.calls.append(self.k)
        return z


FEEDER = NoiseFeeder()


def no_randn(*args, **kwargs):
    raise AssertionError("DDIM with eta = 0 must not draw noise")


def load_unets(folder):
    unet32 = UNet2DModel.from_pretrained(folder, low_cpu_mem_usage=False).eval()
    unet64_diffusers = copy.deepcopy(unet32).double().eval()
    unet64 = copy.deepcopy(unet32).double().eval()
    cfg = unet64.config
    unet64.time_proj.forward = lambda ts: timestep_embedding64(
        ts, cfg.block_out_channels[0], cfg.flip_sin_to_cos, cfg.freq_shift)
    return {"float32": unet32, "float64": unet64, "float64-diffusers": unet64_diffusers}


def sample(unet, sched, x, noise=None, eta=0.0, steps=STEPS):
    """DDPMPipeline's loop from x; returns (timesteps, trajectory, model outputs)."""
    sched.set_timesteps(steps)
    FEEDER.noise, FEEDER.calls = noise, []
    traj, outs = [], []
    with torch.no_grad():
        for k, t in enumerate(sched.timesteps):
            out = unet(x, t).sample
            FEEDER.k = k
            if isinstance(sched, DDIMScheduler):
                x = sched.step(out, t, x, eta=eta).prev_sample
            else:
                x = sched.step(out, t, x).prev_sample
            assert x.dtype == out.dtype
            outs.append(out.numpy().copy())
            traj.append(x.numpy().copy())
    return sched.timesteps.numpy().astype(np.int64), np.stack(traj), np.stack(outs)


def rel_err(a, b) -> float:
    """max |a − b| / max |b|, the measure the Swift tests apply."""
    return float(np.max(np.abs(a.astype(np.float64) - b)) / np.max(np.abs(b)))


def plain_config(s) -> dict:
    return {k: v for k, v in json.loads(s.to_json_string()).items()}


def save_npy(folder, rel, array) -> str:
    path = os.path.join(folder, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.save(path, np.ascontiguousarray(array))
    return rel


def run_case(out_dir, name, cls, config_name, file_cfg, overrides, unets, xs, noises):
    """One case: float64, float32 and float64-diffusers runs. Returns its manifest entry."""
    entry = dict(name=name, scheduler=cls.__name__, config=f"configs/{config_name}.json",
                 overrides=overrides, inference_steps=STEPS)
    try:
        probe = cls.from_config(file_cfg, **overrides)
        probe.set_timesteps(STEPS)
    except Exception as error:  # diffusers refuses the combination
        entry["skipped"] = f"{type(error).__name__}: {error}"
        return entry
    cfg = {k: v for k, v in probe.config.items() if k != "_use_default_values"}
    ddim = cls is DDIMScheduler
    entry["timestep_spacing"] = cfg["timestep_spacing"]
    entry["eta"] = 0.0 if ddim else None
    entry["prediction_type"] = cfg["prediction_type"]
    if not ddim:
        entry["variance_type"] = cfg["variance_type"]
    else:
        entry["set_alpha_to_one"] = cfg["set_alpha_to_one"]
    entry["steps_offset"] = cfg["steps_offset"]
    entry["x0_processing"] = ("thresholding" if cfg["thresholding"] else
                              f"clip to ±{cfg['clip_sample_range']}" if cfg["clip_sample"] else "none")
    results = {}
    for path in ("float64", "float32", "float64-diffusers"):
        sched = cls.from_config(file_cfg, **overrides)
        if path == "float64":
            widen_scheduler(sched)
        ts, traj, outs = sample(unets[path], sched, xs[path], None if ddim else noises[path])
        results[path] = (ts, traj, outs, list(FEEDER.calls))
    ts = results["float64"][0]
    for path in results:
        assert np.array_equal(results[path][0], ts)
    entry["timesteps"] = ts.tolist()
    if ddim:
        entry["prev_timesteps"] = [int(t) - cfg["num_train_timesteps"] // STEPS for t in ts]
    else:
        entry["prev_timesteps"] = ts[1:].tolist() + [-1]
        calls = results["float64"][3]
        entry["noise"] = dict(file="noise.npy", file_f32="noise_f32.npy", steps_with_noise=calls,
                              steps_without_noise=[k for k in range(STEPS) if k not in calls])
        if ts[-1] > 0:
            entry["noise"]["note"] = ("the last step has t > 0 and prev t = −1: diffusers adds "
                                      "sqrt(max(0, 1e-20))·z = 1e-10·z (fixed_small) there")

    # The numpy formulas must reproduce every float64 step.
    abar = np_alphas_cumprod(cfg)
    _, traj64, outs64, _ = results["float64"]
    worst = 0.0
    x = xs["float64"].numpy()
    for k, t in enumerate(ts.tolist()):
        if ddim:
            ref = np_ddim_step(cfg, abar, STEPS, t, x, outs64[k])
        else:
            ref = np_ddpm_step(cfg, abar, t, entry["prev_timesteps"][k], x, outs64[k], noises["numpy"][k],
                               cfg["variance_type"])
        worst = max(worst, float(np.max(np.abs(ref - traj64[k]))))
        x = traj64[k]
    assert worst <= NUMPY_CHECK_TOLERANCE, f"{name}: numpy formulas differ from diffusers by {worst}"
    entry["numpy_check_max_abs_diff"] = worst

    folder = f"cases/{name}"
    files = {"timesteps": save_npy(out_dir, f"{folder}/timesteps.npy", ts)}
    runs = {}
    f64 = results["float64"][1]
    files["float64"] = save_npy(out_dir, f"{folder}/trajectory.npy", f64)
    runs["float64"] = dict(file=files["float64"], shape=list(f64.shape), dtype="float64",
                           first_step_max_abs=float(np.max(np.abs(f64[0]))),
                           final_max_abs=float(np.max(np.abs(f64[-1]))))
    f32 = results["float32"][1].astype(np.float32)
    files["float32"] = save_npy(out_dir, f"{folder}/trajectory_f32.npy", f32)
    runs["float32"] = dict(file=files["float32"], shape=list(f32.shape), dtype="float32",
                           first_step_max_abs=float(np.max(np.abs(f32[0]))),
                           final_max_abs=float(np.max(np.abs(f32[-1]))),
                           final_rel_err_vs_float64=rel_err(f32[-1], f64[-1]),
                           max_step_rel_err_vs_float64=max(rel_err(f32[k], f64[k]) for k in range(STEPS)))
    fd = results["float64-diffusers"][1][-1]
    files["float64-diffusers"] = save_npy(out_dir, f"{folder}/final_f64_diffusers.npy", fd)
    runs["float64-diffusers"] = dict(file=files["float64-diffusers"], shape=list(fd.shape), dtype="float64",
                                     final_max_abs=float(np.max(np.abs(fd))),
                                     final_rel_err_vs_float64=rel_err(fd, f64[-1]))
    entry["runs"] = runs
    entry["effective_config"] = cfg
    return entry


def variance_type_cases(out_dir, file_cfg, rng) -> dict:
    """One DDPMScheduler.step per variance_type at a few timesteps, from fixed inputs, float64 path."""
    shape = (BATCH, 3, 8, 8)
    x = rng.standard_normal(shape)
    eps = rng.standard_normal(shape)
    v = rng.uniform(0.0, 1.0, shape)  # the predicted-variance channels of a 6-channel output
    z = rng.standard_normal(shape)
    model_out = np.concatenate([eps, v], axis=1)
    section = dict(config="configs/linear-epsilon-fixed-small.json", inference_steps=STEPS,
                   inputs=dict(x_t=save_npy(out_dir, "variance-types/x_t.npy", x),
                               model_output=save_npy(out_dir, "variance-types/model_output.npy", model_out),
                               noise=save_npy(out_dir, "variance-types/noise.npy", z)),
                   note=("model_output is [2, 6, 8, 8]: ε in channels 0-2, the predicted-variance value v "
                         "(uniform [0, 1)) in 3-5. learned/learned_range get all 6 channels (diffusers splits "
                         "them); the other types get channels 0-2. Outputs are prev_sample of one step with "
                         "set_timesteps(10) (leading: 900, 800, …, 0), float64 tables."),
                   cases=[])
    FEEDER.noise = z[None]
    for vt in VARIANCE_TYPES:
        for t in VARIANCE_TIMESTEPS:
            s = widen_scheduler(DDPMScheduler.from_config(file_cfg, variance_type=vt))
            s.set_timesteps(STEPS)
            prev = int(s.previous_timestep(t))
            learned = vt in ("learned", "learned_range")
            mo = model_out if learned else eps
            FEEDER.k, FEEDER.calls = 0, []
            with torch.no_grad():
                got = s.step(torch.from_numpy(mo), t, torch.from_numpy(x)).prev_sample.numpy()
            ref = np_ddpm_step(dict(s.config), np_alphas_cumprod(s.config), t, prev, x, mo, z, vt)
            case = dict(variance_type=vt, timestep=t, prev_timestep=prev,
                        model_output_channels=int(mo.shape[1]), noise_drawn=bool(FEEDER.calls))
            if np.isnan(got).any():
                assert np.isnan(ref).all() and np.isnan(got).all()
                case["result"] = "NaN: diffusers takes sqrt(log(beta_t)) of a negative number"
            else:
                d = float(np.max(np.abs(ref - got)))
                assert d <= NUMPY_CHECK_TOLERANCE, (vt, t, d)
                case["file"] = save_npy(out_dir, f"variance-types/{vt}-t{t}.npy", got)
                case["max_abs"] = float(np.max(np.abs(got)))
                case["numpy_check_max_abs_diff"] = d
            section["cases"].append(case)
    return section


def versions() -> dict:
    import safetensors
    return dict(diffusers=diffusers.__version__, torch=torch.__version__, numpy=np.__version__,
                safetensors=safetensors.__version__, python=platform.python_version())


def make_fixture() -> int:
    out_dir = os.path.join(ROOT, OUT_DIR)
    unet_dir = os.path.join(ROOT, UNET_DIR)
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(os.path.join(out_dir, "configs"))

    unets = load_unets(unet_dir)
    ucfg = unets["float32"].config
    shape = (BATCH, ucfg.in_channels, ucfg.sample_size, ucfg.sample_size)
    assert ucfg.out_channels == ucfg.in_channels

    x_T = np.random.default_rng(SEED + 3).standard_normal(shape)
    noise = np.random.default_rng(SEED + 4).standard_normal((STEPS,) + shape)
    save_npy(out_dir, "x_T.npy", x_T)
    save_npy(out_dir, "x_T_f32.npy", x_T.astype(np.float32))
    save_npy(out_dir, "noise.npy", noise)
    save_npy(out_dir, "noise_f32.npy", noise.astype(np.float32))
    xs = {"float64": torch.from_numpy(x_T), "float64-diffusers": torch.from_numpy(x_T),
          "float32": torch.from_numpy(x_T.astype(np.float32))}
    noises = {"float64": noise, "float64-diffusers": noise, "float32": noise.astype(np.float32), "numpy": noise}

    with open(os.path.join(out_dir, "defaults.json"), "w") as f:
        json.dump(dict(diffusers_version=diffusers.__version__,
                       DDPMScheduler=plain_config(DDPMScheduler()),
                       DDIMScheduler=plain_config(DDIMScheduler())), f, indent=1)
        f.write("\n")

    file_cfgs, config_entries = {}, {}
    for name, kwargs in CONFIGS.items():
        with tempfile.TemporaryDirectory() as tmp:
            DDPMScheduler(**kwargs).save_config(tmp)
            shutil.copyfile(os.path.join(tmp, "scheduler_config.json"),
                            os.path.join(out_dir, "configs", f"{name}.json"))
        with open(os.path.join(out_dir, "configs", f"{name}.json")) as f:
            file_cfgs[name] = json.load(f)
        s32 = DDPMScheduler.from_config(file_cfgs[name])
        b64 = betas64(s32.config)
        ab64 = torch.cumprod(1.0 - b64, dim=0)
        config_entries[name] = dict(
            file=f"configs/{name}.json",
            constructor_arguments={k: ("linspace(1e-3, 0.05, 100)" if k == "trained_betas" else v)
                                   for k, v in kwargs.items()},
            float32_tables_vs_float64=dict(
                betas_max_abs_diff=float((b64 - s32.betas.double()).abs().max()),
                alphas_cumprod_max_abs_diff=float((ab64 - s32.alphas_cumprod.double()).abs().max())),
            alphas_cumprod_first_last=[float(ab64[0]), float(ab64[-1])])

    cases = []
    for name, file_cfg in file_cfgs.items():
        if name == "linear-epsilon-fixed-small":
            grid = [dict(timestep_spacing=sp, set_alpha_to_one=a1, steps_offset=off)
                    for sp in SPACINGS for a1 in (True, False) for off in (0, 1)]
        else:
            grid = [dict(timestep_spacing=sp) for sp in SPACINGS]
        for ov in grid:
            case = f"ddim-{name}-{ov['timestep_spacing']}"
            if "set_alpha_to_one" in ov:
                case += f"-alpha-one-{str(ov['set_alpha_to_one']).lower()}-offset-{ov['steps_offset']}"
            cases.append(run_case(out_dir, case, DDIMScheduler, name, file_cfg, ov, unets, xs, noises))
            print(case, cases[-1].get("timesteps", cases[-1].get("skipped")), flush=True)
    for name, file_cfg in file_cfgs.items():
        cases.append(run_case(out_dir, f"ddpm-{name}", DDPMScheduler, name, file_cfg, {}, unets, xs, noises))
        print(f"ddpm-{name}", cases[-1].get("timesteps", cases[-1].get("skipped")), flush=True)

    variance = variance_type_cases(out_dir, file_cfgs["linear-epsilon-fixed-small"],
                                   np.random.default_rng(SEED + 5))

    done = [c for c in cases if "skipped" not in c]
    with open(os.path.join(unet_dir, "diffusion_pytorch_model.safetensors"), "rb") as f:
        weights_sha = hashlib.sha256(f.read()).hexdigest()
    manifest = dict(
        script=SCRIPT, seed=SEED,
        seeds=dict(x_T="numpy.random.default_rng(SEED + 3).standard_normal([2, 3, 8, 8])",
                   noise="numpy.random.default_rng(SEED + 4).standard_normal([10, 2, 3, 8, 8])",
                   variance_types="numpy.random.default_rng(SEED + 5): x_t, eps, v (uniform), z in that order"),
        versions=versions(),
        model=dict(folder=UNET_DIR.replace(os.sep, "/"), weights_sha256=weights_sha,
                   sample_size=ucfg.sample_size, in_channels=ucfg.in_channels, out_channels=ucfg.out_channels),
        shape=list(shape), inference_steps=STEPS,
        files=dict(x_T="x_T.npy", x_T_f32="x_T_f32.npy", noise="noise.npy", noise_f32="noise_f32.npy",
                   defaults="defaults.json"),
        paths={
            "float64": "unet.double() with the time embedding computed in float64; scheduler tables rebuilt "
                       "in float64; x_T.npy, noise.npy. trajectory.npy",
            "float32": "diffusers as is in float32; x_T_f32.npy, noise_f32.npy. trajectory_f32.npy",
            "float64-diffusers": "diffusers as is with unet.double() and x_T.npy (float32 schedule tables, "
                                 "float32 time embedding). final_f64_diffusers.npy",
        },
        loop="scheduler.set_timesteps(10); for t in scheduler.timesteps: x = scheduler.step(unet(x, t).sample, "
             "t, x[, eta=0]).prev_sample. trajectory[k] is x after step k; the final sample is trajectory[9]. "
             "DDPM step k adds noise[k] (float32 runs: noise_f32[k]) when t > 0.",
        configs=config_entries,
        summary=dict(
            cases=len(cases), run=len(done), skipped=len(cases) - len(done),
            ddim_cases=sum(c["scheduler"] == "DDIMScheduler" for c in done),
            ddpm_cases=sum(c["scheduler"] == "DDPMScheduler" for c in done),
            max_numpy_check_diff=max(c["numpy_check_max_abs_diff"] for c in done),
            max_final_rel_err_float32_vs_float64=max(c["runs"]["float32"]["final_rel_err_vs_float64"] for c in done),
            max_step_rel_err_float32_vs_float64=max(c["runs"]["float32"]["max_step_rel_err_vs_float64"] for c in done),
            max_final_rel_err_float64_diffusers_vs_float64=max(
                c["runs"]["float64-diffusers"]["final_rel_err_vs_float64"] for c in done),
            max_final_abs=max(c["runs"]["float64"]["final_max_abs"] for c in done),
        ),
        skipped=[dict(name=c["name"], error=c["skipped"]) for c in cases if "skipped" in c],
        cases=cases,
        variance_types=variance,
    )
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(json.dumps(manifest["summary"], indent=1))
    total = 0
    for base, _, names in os.walk(out_dir):
        total += sum(os.path.getsize(os.path.join(base, n)) for n in names)
    print(f"{OUT_DIR}: {total} bytes")
    return 0


# --- --check-export --------------------------------------------------------------------------------

class Captured:
    """What diffusers prints while loading: its log records (WARNING and above, the default level),
    Python warnings, and everything written to stdout/stderr (tqdm's progress bars)."""

    def __init__(self):
        self.records, self.warnings = [], []
        self.stdout, self.stderr = io.StringIO(), io.StringIO()

    def __enter__(self):
        self.handler = logging.Handler(level=logging.WARNING)
        self.handler.emit = lambda record: self.records.append(f"{record.levelname} {record.name}: {record.getMessage()}")
        self.logger = logging.getLogger("diffusers")
        self.logger.addHandler(self.handler)
        self.catcher = warnings.catch_warnings(record=True)
        self.caught = self.catcher.__enter__()
        warnings.simplefilter("always")
        self.redirects = [contextlib.redirect_stdout(self.stdout), contextlib.redirect_stderr(self.stderr)]
        for r in self.redirects:
            r.__enter__()
        return self

    def __exit__(self, *exc):
        for r in reversed(self.redirects):
            r.__exit__(*exc)
        self.catcher.__exit__(*exc)
        self.logger.removeHandler(self.handler)
        self.warnings = [f"{w.category.__name__}: {w.message}" for w in self.caught]
        return False

    def report(self) -> dict:
        def lines(text):
            # A progress bar redraws with \r: each line's last state, without its timing ("[00:00<…]").
            last = (line.split("\r")[-1] for line in text.splitlines())
            return [re.sub(r"\s*\[\d+:\d+<[^\]]*\]$", "", line.rstrip()) for line in last if line.strip()]
        return dict(log_records=self.records, python_warnings=self.warnings,
                    stdout=lines(self.stdout.getvalue()), stderr=lines(self.stderr.getvalue()))


def relative(path: str) -> str:
    """A path relative to the repository root when it lies inside it (reproducible reports)."""
    path = os.path.abspath(path)
    return os.path.relpath(path, ROOT).replace(os.sep, "/") if path.startswith(ROOT + os.sep) else path


def check_export(folder: str, x_t_file: str, out_file: str, steps: int, spacing: str | None, as_is: bool,
                 write_x_t: bool) -> int:
    """Loads an exported DDPMPipeline folder and samples DDIM (eta 0) from a given x_T, in float64
    (or float64-diffusers with as_is) and float32 when x_T is float64, in float32 alone otherwise."""
    from diffusers import DDPMPipeline

    with Captured() as captured:
        pipe = DDPMPipeline.from_pretrained(folder, low_cpu_mem_usage=False)
    messages = captured.report()
    for line in messages["stdout"] + messages["stderr"] + messages["log_records"] + messages["python_warnings"]:
        print("diffusers while loading:", line)
    unet, loaded_scheduler = pipe.unet.eval(), pipe.scheduler
    print("pipeline:", type(pipe).__name__, "scheduler:", type(loaded_scheduler).__name__, "unet:", type(unet).__name__)
    print(loaded_scheduler.to_json_string())
    print(unet.to_json_string())
    c, size = unet.config.in_channels, unet.config.sample_size
    size = tuple(size) if isinstance(size, (list, tuple)) else (size, size)

    if write_x_t:
        shape = (BATCH, c, *size)
        os.makedirs(os.path.dirname(os.path.abspath(x_t_file)), exist_ok=True)
        np.save(x_t_file, np.random.default_rng(SEED + 6).standard_normal(shape))
        print(f"wrote {x_t_file}: float64 {list(shape)} from numpy.random.default_rng(SEED + 6)")
    x = np.load(x_t_file)
    if x.ndim != 4 or x.shape[1:] != (c, *size):
        raise SystemExit(f"{x_t_file}: shape {x.shape}, expected [N, {c}, {size[0]}, {size[1]}]")
    if x.dtype == np.float64:
        paths = ["float64-diffusers" if as_is else "float64", "float32"]
    elif x.dtype == np.float32:
        paths = ["float32"]
    else:
        raise SystemExit(f"{x_t_file}: dtype {x.dtype}, expected float32 or float64")

    overrides = {} if spacing is None else dict(timestep_spacing=spacing)
    base = os.path.splitext(out_file)[0]
    runs, finals = {}, {}
    for path in paths:
        model = copy.deepcopy(unet)
        if path == "float32":
            model = model.float()
            start = x.astype(np.float32)
        else:
            model = model.double()
            start = x
            if path == "float64":
                cfg = model.config
                model.time_proj.forward = lambda ts, cfg=cfg: timestep_embedding64(
                    ts, cfg.block_out_channels[0], cfg.flip_sin_to_cos, cfg.freq_shift)
        sched = DDIMScheduler.from_config(loaded_scheduler.config, **overrides)
        if path == "float64":
            widen_scheduler(sched)
        timesteps, traj, _ = sample(model, sched, torch.from_numpy(np.ascontiguousarray(start)), steps=steps)
        traj = traj.astype(start.dtype)
        suffix = "_f32" if path == "float32" and len(paths) == 2 else ""
        final_file, traj_file = f"{base}{suffix}.npy", f"{base}{suffix}_trajectory.npy"
        np.save(final_file, traj[-1])
        np.save(traj_file, traj)
        finals[path] = traj[-1]
        runs[path] = dict(final=relative(final_file), trajectory=relative(traj_file), dtype=str(traj.dtype),
                          shape=list(traj[-1].shape), trajectory_shape=list(traj.shape),
                          timesteps=timesteps.tolist(), final_max_abs=float(np.max(np.abs(traj[-1]))),
                          sampler_config=json.loads(sched.to_json_string()))
        print(f"{path}: wrote {final_file} and {traj_file}; timesteps {timesteps.tolist()}, "
              f"max |x_0| {runs[path]['final_max_abs']:.6g}")
    if len(paths) == 2:
        runs["float32"]["final_rel_err_vs_" + paths[0]] = rel_err(finals["float32"], finals[paths[0]])

    report = dict(
        script=SCRIPT,
        command=" ".join(["scripts/reference/make_diffusers_scheduler_fixture.py", "--check-export", relative(folder),
                          "--x-t", relative(x_t_file), "--out", relative(out_file)]
                         + (["--steps", str(steps)] if steps != STEPS else [])
                         + (["--timestep-spacing", spacing] if spacing else []) + (["--as-is"] if as_is else [])
                         + (["--write-x-t"] if write_x_t else [])),
        loaded=True, loader="DDPMPipeline.from_pretrained(folder, low_cpu_mem_usage=False)",
        folder=relative(folder), pipeline=type(pipe).__name__,
        messages_while_loading=messages,
        scheduler_class=type(loaded_scheduler).__name__,
        scheduler_config=json.loads(loaded_scheduler.to_json_string()),
        unet_class=type(unet).__name__,
        unet_config=json.loads(unet.to_json_string()),
        unet_parameters=sum(p.numel() for p in unet.parameters()),
        x_T=relative(x_t_file), x_T_dtype=str(x.dtype), x_T_shape=list(x.shape),
        x_T_seed="numpy.random.default_rng(SEED + 6).standard_normal" if write_x_t else None,
        sampler=dict(scheduler="DDIMScheduler.from_config(pipeline.scheduler.config" + (", **overrides)" if overrides else ")"),
                     eta=0.0, inference_steps=steps, overrides=overrides,
                     loop="scheduler.set_timesteps(steps); for t in scheduler.timesteps: x = scheduler.step("
                          "unet(x, t).sample, t, x, eta=0).prev_sample (DDPMPipeline's loop); trajectory[k] is x "
                          "after step k, final = trajectory[-1]"),
        paths={p: PATHS[p] for p in paths},
        runs=runs,
        versions=versions())
    json_file = base + ".json"
    with open(json_file, "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    print(f"wrote {json_file}")
    return 0


PATHS = {
    "float64": "unet.double() with the time embedding computed in float64; DDIM tables rebuilt in float64; x_T as given",
    "float64-diffusers": "diffusers as is with unet.double() (float32 schedule tables and time embedding); x_T as given",
    "float32": "diffusers as is in float32; x_T rounded to float32",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check-export", metavar="DIR", help="load an exported DDPMPipeline folder and sample DDIM")
    parser.add_argument("--x-t", metavar="FILE", help="with --check-export: the initial sample, .npy [N, C, H, W]")
    parser.add_argument("--out", metavar="FILE", help="with --check-export: where to write the final sample (.npy)")
    parser.add_argument("--steps", type=int, default=STEPS, help="with --check-export: DDIM steps (default 10)")
    parser.add_argument("--timestep-spacing", choices=SPACINGS, help="with --check-export: override the spacing")
    parser.add_argument("--as-is", action="store_true",
                        help="with --check-export and a float64 x_T: diffusers as is (float32 tables, embedding)")
    parser.add_argument("--write-x-t", action="store_true",
                        help="with --check-export: first write --x-t, float64 [2, C, H, W] N(0, 1) from default_rng(SEED + 6)")
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    scheduling_ddpm.randn_tensor = FEEDER
    scheduling_ddim.randn_tensor = no_randn

    if args.check_export:
        if not args.x_t or not args.out:
            parser.error("--check-export needs --x-t FILE and --out FILE")
        return check_export(args.check_export, args.x_t, args.out, args.steps, args.timestep_spacing, args.as_is,
                            args.write_x_t)
    if args.x_t or args.out or args.write_x_t:
        parser.error("--x-t, --out and --write-x-t go with --check-export")
    return make_fixture()


if __name__ == "__main__":
    sys.exit(main())
