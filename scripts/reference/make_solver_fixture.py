#!/usr/bin/env python3
"""Golden fixtures for the fast multistep solvers: diffusers' DPMSolverMultistepScheduler and
UniPCMultistepScheduler, step for step, on diffusers' own weight-free scheduler-test setup.

Writes Tests/DDPMDiffusionTests/Fixtures/solvers/:

    manifest.json              every case: scheduler class, effective config, timesteps, the σ and λ
                               of every step (float64 path and diffusers' float32), the solver order
                               (and UniPC's corrector) of every step, files, max |x| per step,
                               mean |x_final|, float32-vs-float64 errors, the numpy check; the
                               anchors of diffusers' tests; settings diffusers refuses; seeds, versions
    x_T.npy                    float64 [4, 3, 8, 8]   diffusers' `dummy_sample_deter` in float64
    noise.npy                  float32 [10, 4, 3, 8, 8]  the SDE solvers' noise for step k (exact in
                               float64: the float64 path widens these float32 values)
    tables.npy                 float64 [3, 1000]   ᾱ, σ = √((1−ᾱ)/ᾱ) and λ = log α − log σ (α = √ᾱ,
                               σ_VP = √(1−ᾱ)) at every training timestep 0…999 (float64 path)
    cases/<case>.npy           float32 [10, 4, 3, 8, 8]  x after every step k, the float64 path
                               rounded to float32 (see "Storage" below)
    tiny-unet/<scheduler>.npy  float32 [2, 3, 8, 8]  for `ddpm sample`'s end-to-end test: the final
                               sample of DPMSolverMultistepScheduler / UniPCMultistepScheduler
                               .from_config(the DDPM config "thresholding" (ratio 0.9, max 1.5) of
                               make_diffusers_scheduler_fixture.py), 10 steps, on the committed tiny
                               UNet (Tests/DDPMModelsTests/Fixtures/tiny-diffusers-unet), from that
                               fixture's x_T_f32.npy; diffusers as is (float32)

The setup is diffusers' `SchedulerCommonTest` (tests/schedulers/test_schedulers.py):
  model       the dummy model ε(x, t) = x · t / (t + 1), t the integer timestep cast to x's dtype
  x_T         `dummy_sample_deter`: arange(768) / 768 reshaped to (3, 8, 8, 4), permuted to (4, 3, 8, 8)
  process     T = 1000, β linear 1e-4 … 0.02 (the tests' `get_scheduler_config`)
  loop        scheduler.set_timesteps(10); for t in scheduler.timesteps:
                  x = scheduler.step(model(x, t), t, x).prev_sample
  anchors     the tests' expected mean |x_final| (DPM-Solver++ 2M midpoint without lower-order
              final steps 0.3301, with v-prediction 0.2251, with thresholding 0.87 / 0.5 1.1364;
              UniPC bh2 order 2 0.2464, Karras σ 0.2925, v-prediction 0.1014, both 0.1966), all
              with final_sigmas_type "sigma_min"; recomputed here as the tests run them (float32)

Three numeric paths per case:
  float64            what a float64 port computes. diffusers builds its tables (β, ᾱ, σ, λ) in
                     float32, rounds the inference σ list to float32 in set_timesteps, and
                     DPMSolverMultistepScheduler.step casts the sample (and the SDE noise) to float32.
                     This path rebuilds the tables in float64 and runs diffusers' own set_timesteps
                     and step recompiled from their source with exactly those float32 casts replaced
                     (`.astype(np.float32)` → float64 in set_timesteps, `torch.float32` →
                     `model_output.dtype` in DPM's step; the replacements are counted and asserted).
                     Every step is also recomputed with numpy from the formulas (independent tables,
                     timesteps and updates) and must agree to NUMPY_CHECK_TOLERANCE.
  float32            diffusers as is, float32 sample: exactly what diffusers' tests run.
  float64-diffusers  diffusers as is with a float64 sample (float32 tables; DPM's step computes in
                     float32 and casts back). Final sample only, as an error in the manifest.

Storage: the trajectories of the float64 path are stored rounded to float32 (relative rounding
≤ 2⁻²⁴ ≈ 6e-8 of max |x|, 170 times below the Swift tests' 1e-5) so that all 43 cases stay
below 1.5 MB; the manifest keeps the float64 max |x| per step and mean |x_final| at full precision.
Cases whose float64 trajectories are bit-identical share one file (manifest "file").

Cases (10 inference steps, timestep_spacing "linspace", final_sigmas_type "sigma_min" unless
the name says "zero"; "lof" = lower_order_final, which below 15 steps caps the second-to-last
step at order 2 and the last at order 1; with final σ zero the last step is always order 1):
  <dpmpp|dpm|sde-dpmpp>-o<order>-<prediction>-<lof|nolof>[-threshold][-zero][-karras|-lu][-<spacing>]
      (algorithm_type dpmsolver++, dpmsolver, sde-dpmsolver++)
  unipc-<bh1|bh2>-o<order>-<prediction>[-nolof][-threshold][-zero][-karras]
Thresholding: ratio 0.87, sample_max_value 0.5 (the tests' values).

Seeds: SEED = 20200619; the SDE noise is numpy.random.default_rng(SEED + 6).standard_normal
([10, 4, 3, 8, 8]) rounded to float32. It reaches diffusers by replacing
`diffusers.schedulers.scheduling_dpmsolver_multistep.randn_tensor` with a function returning
noise[k] at step k (diffusers draws one noise tensor per step of an SDE solver, also on the last).
torch runs on one thread: two runs give byte-identical files.

Run (from the repository root):

    scripts/reference/.venv/bin/python scripts/reference/make_solver_fixture.py

Written with diffusers 0.42.1, torch 2.13.0+cpu, numpy 2.4.6, Python 3.11. The Swift tests never
run this script; they read the committed files.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import os
import platform
import shutil
import sys
import textwrap

import numpy as np
import torch
import diffusers
import diffusers.schedulers.scheduling_dpmsolver_multistep as scheduling_dpm
import diffusers.schedulers.scheduling_unipc_multistep as scheduling_unipc
from diffusers import DPMSolverMultistepScheduler, UniPCMultistepScheduler

SEED = 20200619
STEPS = 10
SHAPE = (4, 3, 8, 8)
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join("Tests", "DDPMDiffusionTests", "Fixtures", "solvers")
SCRIPT = os.path.join("scripts", "reference", os.path.basename(__file__))
NUMPY_CHECK_TOLERANCE = 1e-12
SIZE_LIMIT = 1_500_000

BASE = dict(num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule="linear",
            final_sigmas_type="sigma_min")
THRESHOLD = dict(thresholding=True, dynamic_thresholding_ratio=0.87, sample_max_value=0.5)


# --- the test setup --------------------------------------------------------------------------------

def dummy_sample_deter(dtype) -> torch.Tensor:
    """diffusers' SchedulerCommonTest.dummy_sample_deter, computed in `dtype`."""
    n = int(np.prod(SHAPE))
    b, c, h, w = SHAPE
    sample = torch.arange(n, dtype=dtype) / n
    return sample.reshape(c, h, w, b).permute(3, 0, 1, 2).contiguous()


def dummy_model(sample: torch.Tensor, t) -> torch.Tensor:
    """diffusers' SchedulerCommonTest.dummy_model: ε(x, t) = x · t / (t + 1)."""
    if isinstance(t, torch.Tensor):
        t = t.reshape(-1, *(1,) * (sample.ndim - 1)).to(sample.dtype)
    return sample * t / (t + 1)


class NoiseFeeder:
    """Stands in for randn_tensor in the DPM-Solver module: noise[k] at step k, in the dtype asked."""

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


# --- the float64 path: diffusers' own methods with the float32 casts replaced ---------------------

def recompiled(cls, name, replacements):
    """cls.name recompiled from diffusers' source with (old, new, expected count) replacements."""
    module = sys.modules[cls.__module__]
    src = textwrap.dedent(inspect.getsource(getattr(cls, name)))
    for old, new, count in replacements:
        assert src.count(old) == count, f"{cls.__name__}.{name}: {old!r} occurs {src.count(old)} times, expected {count}"
        src = src.replace(old, new)
    assert "super()" not in src and "float32" not in src, f"{cls.__name__}.{name} still casts to float32"
    namespace = {}
    exec(compile(src, f"<{cls.__name__}.{name}, float64 path>", "exec"), module.__dict__, namespace)
    return namespace[name]


class DPMSolver64(DPMSolverMultistepScheduler):
    """DPMSolverMultistepScheduler without its float32 casts (tables widened by `widen`)."""
    set_timesteps = recompiled(DPMSolverMultistepScheduler, "set_timesteps",
                               [(".astype(np.float32)", ".astype(np.float64)", 1)])
    step = recompiled(DPMSolverMultistepScheduler, "step", [("torch.float32", "model_output.dtype", 3)])


class UniPC64(UniPCMultistepScheduler):
    """UniPCMultistepScheduler without its float32 casts (tables widened by `widen`)."""
    set_timesteps = recompiled(UniPCMultistepScheduler, "set_timesteps",
                               [(".astype(np.float32)", ".astype(np.float64)", 5)])


def betas64(cfg) -> torch.Tensor:
    assert cfg["beta_schedule"] == "linear" and cfg.get("trained_betas") is None
    return torch.linspace(cfg["beta_start"], cfg["beta_end"], cfg["num_train_timesteps"], dtype=torch.float64)


def widen(s):
    """Rebuilds the scheduler's training-timestep tables in float64 (before set_timesteps)."""
    b = betas64(s.config)
    ab = torch.cumprod(1.0 - b, dim=0)
    assert float((ab - s.alphas_cumprod.double()).abs().max()) < 1e-6, "float64 ᾱ disagree with diffusers'"
    s.betas, s.alphas, s.alphas_cumprod = b, 1.0 - b, ab
    s.alpha_t = torch.sqrt(ab)
    s.sigma_t = torch.sqrt(1 - ab)
    s.lambda_t = torch.log(s.alpha_t) - torch.log(s.sigma_t)
    s.sigmas = ((1 - ab) / ab) ** 0.5
    return s


def make_scheduler(kind, cfg, path):
    plain = DPMSolverMultistepScheduler if kind == "dpm" else UniPCMultistepScheduler
    if path == "float64":
        return widen((DPMSolver64 if kind == "dpm" else UniPC64)(**cfg))
    return plain(**cfg)


# --- the formulas, in numpy (an independent check of every float64 step) -------------------------

def np_tables(cfg):
    T = cfg["num_train_timesteps"]
    ab = np.cumprod(1.0 - betas64(cfg).numpy())
    sigma = np.sqrt((1 - ab) / ab)
    alpha_vp, sigma_vp = np.sqrt(ab), np.sqrt(1 - ab)
    lam = np.log(alpha_vp) - np.log(sigma_vp)
    assert len(ab) == T
    return ab, sigma, lam


def np_sigma_to_t(sigma, log_sigmas):
    """The fractional training timestep whose log σ is log(sigma), by linear interpolation."""
    log_sigma = math.log(max(sigma, 1e-10))
    at_or_below = np.nonzero(log_sigmas <= log_sigma)[0]
    low = int(at_or_below[-1]) if len(at_or_below) else 0
    low = min(low, len(log_sigmas) - 2)
    w = (log_sigmas[low] - log_sigma) / (log_sigmas[low] - log_sigmas[low + 1])
    w = min(max(w, 0.0), 1.0)
    return (1 - w) * low + w * (low + 1)


def np_schedule(kind, cfg, n):
    """(timesteps, σ list of n + 1 values) as set_timesteps makes them, in float64."""
    T = cfg["num_train_timesteps"]
    ab, sigma, _ = np_tables(cfg)
    spacing = cfg.get("timestep_spacing", "linspace")
    if spacing == "linspace":
        ts = np.round(np.linspace(0, T - 1, n + 1))[::-1][:-1].astype(np.int64)
    elif spacing == "leading":
        ratio = T // (n + 1)
        ts = (np.arange(n + 1) * ratio)[::-1][:-1].astype(np.int64) + cfg.get("steps_offset", 0)
    else:  # trailing
        ts = np.round(np.arange(T, 0, -T / n)).astype(np.int64) - 1
    log_sigmas = np.log(sigma)
    if cfg.get("use_karras_sigmas"):
        rho = 7.0
        lo, hi = sigma[0] ** (1 / rho), sigma[-1] ** (1 / rho)
        sig = (hi + np.linspace(0, 1, n) * (lo - hi)) ** rho
        ts = np.round([np_sigma_to_t(s, log_sigmas) for s in sig]).astype(np.int64)
    elif cfg.get("use_lu_lambdas"):
        lo, hi = log_sigmas[0], log_sigmas[-1]
        sig = np.exp(hi + np.linspace(0, 1, n) * (lo - hi))
        ts = np.round([np_sigma_to_t(s, log_sigmas) for s in sig]).astype(np.int64)
    else:
        sig = sigma[ts]
    if cfg["final_sigmas_type"] == "zero":
        last = 0.0
    elif kind == "unipc" and cfg.get("use_karras_sigmas"):
        last = sig[-1]
    else:
        last = sigma[0]
    return ts, np.append(sig, last)


def np_alpha_sigma(sig):
    alpha = 1 / np.sqrt(sig ** 2 + 1)
    sigma = sig * alpha
    with np.errstate(divide="ignore"):
        lam = np.log(alpha) - np.log(sigma)
    return alpha, sigma, lam


def np_threshold(cfg, x0):
    n = x0.shape[0]
    flat = x0.reshape(n, -1)
    s = np.quantile(np.abs(flat), cfg["dynamic_thresholding_ratio"], axis=1)  # linear interpolation
    s = np.minimum(np.maximum(s, 1.0), cfg["sample_max_value"])[:, None]
    return (np.clip(flat, -s, s) / s).reshape(x0.shape)


def np_dpm(cfg, x, noise):
    """DPM-Solver / DPM-Solver++ multistep (and its SDE variant) as diffusers steps it."""
    n, order, algo = STEPS, cfg["solver_order"], cfg["algorithm_type"]
    ts, sig = np_schedule("dpm", cfg, n)
    alpha, sigma, lam = np_alpha_sigma(sig)
    data = algo in ("dpmsolver++", "sde-dpmsolver++")
    eps_model = cfg["prediction_type"] == "epsilon"
    ms, traj, orders, lower = [], [], [], 0
    for k, t in enumerate(ts.tolist()):
        out = x * t / (t + 1)
        a, s = alpha[k], sigma[k]
        if data:
            m = (x - s * out) / a if eps_model else a * x - s * out
            if cfg.get("thresholding"):
                m = np_threshold(cfg, m)
        else:
            m = out if eps_model else a * out + s * x
        ms.append(m)
        final = k == n - 1 and ((cfg["lower_order_final"] and n < 15) or cfg["final_sigmas_type"] == "zero")
        second = k == n - 2 and cfg["lower_order_final"] and n < 15
        o = 1 if (order == 1 or lower < 1 or final) else 2 if (order == 2 or lower < 2 or second) else 3
        orders.append(o)
        at, st = alpha[k + 1], sigma[k + 1]
        with np.errstate(invalid="ignore"):
            h = lam[k + 1] - lam[k]
        z = noise[k] if algo.startswith("sde") else None
        if o == 1:
            d = [m]
        elif o == 2:
            r0 = (lam[k] - lam[k - 1]) / h
            d = [m, (m - ms[-2]) / r0]
        else:
            r0, r1 = (lam[k] - lam[k - 1]) / h, (lam[k - 1] - lam[k - 2]) / h
            d10, d11 = (m - ms[-2]) / r0, (ms[-2] - ms[-3]) / r1
            d = [m, d10 + r0 / (r0 + r1) * (d10 - d11), (d10 - d11) / (r0 + r1)]
        if algo == "dpmsolver++":
            phi = math.expm1(-h) if math.isfinite(h) else -1.0  # e^{−h} − 1
            x = (st / s) * x - at * phi * d[0]
            if o == 2:
                x = x - 0.5 * at * phi * d[1]
            elif o == 3:
                x = x + at * (phi / h + 1) * d[1] - at * ((phi + h) / h ** 2 - 0.5) * d[2]
        elif algo == "dpmsolver":
            phi = math.expm1(h)  # e^{h} − 1
            x = (at / a) * x - st * phi * d[0]
            if o == 2:
                x = x - 0.5 * st * phi * d[1]
            elif o == 3:
                x = x - st * (phi / h - 1) * d[1] - st * ((phi - h) / h ** 2 - 0.5) * d[2]
        else:  # sde-dpmsolver++
            e = math.exp(-2 * h) if math.isfinite(h) else 0.0
            x = (st / s * math.exp(-h)) * x + at * (1 - e) * d[0] + st * math.sqrt(1 - e) * z
            if o == 2:
                x = x + 0.5 * at * (1 - e) * d[1]
            assert o <= 2
        lower = min(lower + 1, order)
        traj.append(x)
    return ts, sig, np.stack(traj), orders


def unipc_coefficients(h, rks, order, variant):
    """UniPC's R (powers of r_k) and b (φ-function terms over B(h)) for a step of λ-length h."""
    hh = -h  # data prediction (predict_x0)
    h_phi_1 = math.expm1(hh)
    with np.errstate(invalid="ignore"):  # h = 0 (Karras σ with sigma_min repeats the last σ): unused NaNs
        h_phi_k = np.float64(h_phi_1) / hh - 1
    factorial = 1
    b_h = hh if variant == "bh1" else math.expm1(hh)
    R, b = [], []
    for i in range(1, order + 1):
        R.append(np.power(rks, i - 1))
        b.append(h_phi_k * factorial / b_h)
        factorial *= i + 1
        with np.errstate(invalid="ignore"):
            h_phi_k = h_phi_k / hh - 1 / factorial
    return np.array(R), np.array(b), h_phi_1, b_h


def np_unipc(cfg, x):
    """UniPC (predictor UniP-p and corrector UniC-p, B(h) variants) as diffusers steps it."""
    n, order, variant = STEPS, cfg["solver_order"], cfg["solver_type"]
    ts, sig = np_schedule("unipc", cfg, n)
    alpha, sigma, lam = np_alpha_sigma(sig)
    eps_model = cfg["prediction_type"] == "epsilon"
    ms, traj, orders, corrected, lower = [], [], [], [], 0
    last_sample, last_order = None, None
    for k, t in enumerate(ts.tolist()):
        out = x * t / (t + 1)
        a, s = alpha[k], sigma[k]
        m = (x - s * out) / a if eps_model else a * x - s * out
        if cfg.get("thresholding"):
            m = np_threshold(cfg, m)
        if k > 0:  # UniC corrector of the previous step's prediction
            h = lam[k] - lam[k - 1]
            m0 = ms[-1]
            rks, d1s = [], []
            for i in range(1, last_order):
                rk = (lam[k - 1 - i] - lam[k - 1]) / h
                rks.append(rk)
                d1s.append((ms[-(i + 1)] - m0) / rk)
            rks.append(1.0)
            R, b, h_phi_1, b_h = unipc_coefficients(h, np.array(rks), last_order, variant)
            rhos = np.array([0.5]) if last_order == 1 else np.linalg.solve(R, b)
            x_ = sigma[k] / sigma[k - 1] * last_sample - alpha[k] * h_phi_1 * m0
            corr = sum(r * d for r, d in zip(rhos[:-1], d1s)) if d1s else 0
            x = x_ - alpha[k] * b_h * (corr + rhos[-1] * (m - m0))
        corrected.append(k > 0)
        ms.append(m)
        o = min(order, n - k) if cfg["lower_order_final"] else order
        o = min(o, lower + 1)
        orders.append(o)
        last_sample, last_order = x, o
        # UniP predictor
        h = lam[k + 1] - lam[k]
        rks, d1s = [], []
        for i in range(1, o):
            rk = (lam[k - i] - lam[k]) / h
            rks.append(rk)
            d1s.append((ms[-(i + 1)] - m) / rk)
        rks.append(1.0)
        R, b, h_phi_1, b_h = unipc_coefficients(h, np.array(rks), o, variant)
        x_next = sigma[k + 1] / s * x - alpha[k + 1] * h_phi_1 * m
        if d1s:
            rhos = np.array([0.5]) if o == 2 else np.linalg.solve(R[:-1, :-1], b[:-1])
            x_next = x_next - alpha[k + 1] * b_h * sum(r * d for r, d in zip(rhos, d1s))
        lower = min(lower + 1, order)
        x = x_next
        traj.append(x)
    return ts, sig, np.stack(traj), orders, corrected


# --- runs ------------------------------------------------------------------------------------------

def run(kind, cfg, x, noise, path):
    """The test loop; returns (timesteps, σ list, trajectory, orders, corrector flags)."""
    s = make_scheduler(kind, cfg, path)
    s.set_timesteps(STEPS)
    orders, corrected = [], []
    if kind == "dpm":
        for o, name in ((1, "dpm_solver_first_order_update"), (2, "multistep_dpm_solver_second_order_update"),
                        (3, "multistep_dpm_solver_third_order_update")):
            original = getattr(s, name)
            setattr(s, name, (lambda f, o: lambda *a, **kw: (orders.append(o), f(*a, **kw))[1])(original, o))
    FEEDER.noise, FEEDER.calls = noise, []
    traj = []
    with torch.no_grad():
        for k, t in enumerate(s.timesteps):
            FEEDER.k = k
            if kind == "unipc":
                corrected.append(s.step_index is not None and s.step_index > 0 and s.last_sample is not None)
            x = s.step(dummy_model(x, t), t, x).prev_sample
            if kind == "unipc":
                orders.append(int(s.this_order))
            traj.append(x.numpy().copy())
    return s.timesteps.numpy().astype(np.int64), s.sigmas.numpy().copy(), np.stack(traj), orders, corrected, list(FEEDER.calls)


def rel_err(a, b) -> float:
    """max |a − b| / max |b|, the measure the Swift tests apply."""
    return float(np.max(np.abs(a.astype(np.float64) - b)) / np.max(np.abs(b)))


def lambdas_of(sig):
    _, _, lam = np_alpha_sigma(np.asarray(sig, dtype=np.float64))
    return [float(v) if math.isfinite(v) else None for v in lam]


def case_name(kind, cfg):
    if kind == "dpm":
        algorithm = {"dpmsolver++": "dpmpp", "dpmsolver": "dpm", "sde-dpmsolver++": "sde-dpmpp"}[cfg["algorithm_type"]]
        name = f"{algorithm}-o{cfg['solver_order']}-{cfg['prediction_type']}"
        name += "-lof" if cfg["lower_order_final"] else "-nolof"
    else:
        name = f"unipc-{cfg['solver_type']}-o{cfg['solver_order']}-{cfg['prediction_type']}"
        name += "" if cfg["lower_order_final"] else "-nolof"
    if cfg.get("thresholding"):
        name += "-threshold"
    if cfg["final_sigmas_type"] == "zero":
        name += "-zero"
    if cfg.get("use_karras_sigmas"):
        name += "-karras"
    if cfg.get("use_lu_lambdas"):
        name += "-lu"
    if cfg.get("timestep_spacing", "linspace") != "linspace":
        name += "-" + cfg["timestep_spacing"]
    return name


def cases():
    """(kind, config) for every case, diffusers' defaults overridden by BASE and the case."""
    out = []

    def dpm(algo, order, pred="epsilon", lof=True, **extra):
        out.append(("dpm", dict(BASE, algorithm_type=algo, solver_order=order, prediction_type=pred,
                                solver_type="midpoint", lower_order_final=lof, **extra)))

    def unipc(variant, order, pred="epsilon", lof=True, **extra):
        out.append(("unipc", dict(BASE, solver_type=variant, solver_order=order, prediction_type=pred,
                                  lower_order_final=lof, **extra)))

    # DPM-Solver++ (data prediction), orders 1–3, ε and v, lower-order final steps on and off.
    for pred in ("epsilon", "v_prediction"):
        dpm("dpmsolver++", 1, pred)
        for order in (2, 3):
            for lof in (True, False):
                dpm("dpmsolver++", order, pred, lof)
    # DPM-Solver (noise prediction).
    dpm("dpmsolver", 1)
    dpm("dpmsolver", 2, lof=False)
    dpm("dpmsolver", 3, lof=True)
    dpm("dpmsolver", 3, lof=False)
    dpm("dpmsolver", 2, "v_prediction", lof=False)
    # Dynamic thresholding (data prediction only).
    for order in (1, 2, 3):
        dpm("dpmsolver++", order, lof=False, **THRESHOLD)
    dpm("dpmsolver++", 2, "v_prediction", lof=False, **THRESHOLD)
    # The SDE variant (order ≤ 2), with given noise.
    dpm("sde-dpmsolver++", 1)
    dpm("sde-dpmsolver++", 1, "v_prediction")
    dpm("sde-dpmsolver++", 2, lof=True)
    dpm("sde-dpmsolver++", 2, lof=False)
    # Final σ zero: the last step is first order whatever lower_order_final says.
    dpm("dpmsolver++", 2, lof=False, final_sigmas_type="zero")
    dpm("dpmsolver++", 3, lof=True, final_sigmas_type="zero")
    dpm("dpmsolver++", 3, lof=False, final_sigmas_type="zero")
    dpm("sde-dpmsolver++", 2, lof=False, final_sigmas_type="zero")
    # Step placements: Karras σ and uniform λ (log-SNR).
    dpm("dpmsolver++", 2, use_karras_sigmas=True)
    dpm("dpmsolver++", 3, lof=False, final_sigmas_type="zero", use_karras_sigmas=True)
    dpm("dpmsolver++", 2, use_lu_lambdas=True)
    dpm("dpmsolver++", 3, lof=False, final_sigmas_type="zero", use_lu_lambdas=True)
    # diffusers' other spacings.
    dpm("dpmsolver++", 2, lof=False, timestep_spacing="leading")
    dpm("dpmsolver++", 2, lof=False, timestep_spacing="trailing")
    # UniPC (bh2 is diffusers' default; bh1 the other B(h)), with the corrector.
    for variant in ("bh2", "bh1"):
        for pred in ("epsilon", "v_prediction"):
            unipc(variant, 2, pred)
    unipc("bh2", 1)
    unipc("bh2", 3)
    unipc("bh2", 3, lof=False)
    unipc("bh2", 2, final_sigmas_type="zero")
    unipc("bh2", 2, use_karras_sigmas=True)
    unipc("bh2", 2, **THRESHOLD)
    return out


ANCHORS = [  # diffusers' tests: (scheduler, test config overrides, expected mean |x_final|, test name)
    ("dpm", dict(lower_order_final=False), 0.3301, "DPMSolverMultistepSchedulerTest.test_full_loop_no_noise"),
    ("dpm", dict(lower_order_final=False, prediction_type="v_prediction"), 0.2251,
     "DPMSolverMultistepSchedulerTest.test_full_loop_with_v_prediction"),
    ("dpm", dict(lower_order_final=False, dynamic_thresholding_ratio=0.87, sample_max_value=0.5, thresholding=True),
     1.1364, "DPMSolverMultistepSchedulerTest.test_full_loop_no_noise_thres"),
    ("unipc", dict(), 0.2464, "UniPCMultistepSchedulerTest.test_full_loop_no_noise"),
    ("unipc", dict(use_karras_sigmas=True), 0.2925, "UniPCMultistepSchedulerTest.test_full_loop_with_karras"),
    ("unipc", dict(prediction_type="v_prediction"), 0.1014, "UniPCMultistepSchedulerTest.test_full_loop_with_v_prediction"),
    ("unipc", dict(prediction_type="v_prediction", use_karras_sigmas=True), 0.1966,
     "UniPCMultistepSchedulerTest.test_full_loop_with_karras_and_v_prediction"),
]


def anchors():
    """diffusers' own expected values, recomputed as its tests run them (float32, diffusers as is)."""
    results = []
    for kind, overrides, expected, test in ANCHORS:
        cfg = dict(num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule="linear")
        if kind == "dpm":
            cfg.update(solver_order=2, prediction_type="epsilon", thresholding=False, sample_max_value=1.0,
                       algorithm_type="dpmsolver++", solver_type="midpoint", lower_order_final=False,
                       final_sigmas_type="sigma_min")
        else:
            cfg.update(solver_order=2, solver_type="bh2", final_sigmas_type="sigma_min")
        cfg.update(overrides)
        _, _, traj, _, _, _ = run(kind, cfg, dummy_sample_deter(torch.float32), None, "float32")
        got = float(np.mean(np.abs(traj[-1])))
        assert abs(got - expected) < 1e-3, (test, got, expected)
        results.append(dict(test=test, scheduler_config=cfg, expected_mean_abs=expected, float32_mean_abs=got))
    return results


REFUSED = [  # settings diffusers refuses, or fails on
    ("dpm", dict(BASE, algorithm_type="dpmsolver", final_sigmas_type="zero")),
    ("dpm", dict(BASE, algorithm_type="dpmsolver++", use_karras_sigmas=True, use_exponential_sigmas=True)),
    ("unipc", dict(BASE, solver_type="bh2", solver_order=3, lower_order_final=False, final_sigmas_type="zero")),
]


def refused():
    """Each REFUSED setting with diffusers' error (at construction, or in the sampling loop)."""
    out = []
    for kind, cfg in REFUSED:
        try:
            run(kind, cfg, dummy_sample_deter(torch.float32), None, "float32")
        except Exception as error:  # noqa: BLE001 - recorded, not handled
            out.append(dict(scheduler=("DPMSolverMultistepScheduler" if kind == "dpm" else "UniPCMultistepScheduler"),
                            scheduler_config=cfg, error=f"{type(error).__name__}: {error}"))
            continue
        raise AssertionError(f"diffusers accepted {cfg}")
    return out


def plain_config(s) -> dict:
    return {k: v for k, v in s.config.items() if not k.startswith("_")}


TINY_UNET = os.path.join("Tests", "DDPMModelsTests", "Fixtures", "tiny-diffusers-unet")
SCHEDULER_FIXTURE = os.path.join("Tests", "DDPMTrainingTests", "Fixtures", "diffusers-schedulers")


def tiny_unet_runs(out_dir) -> dict:
    """DPM-Solver++ and UniPC from a DDPM scheduler config on the tiny UNet, as a pipeline would run them."""
    from diffusers import UNet2DModel

    unet = UNet2DModel.from_pretrained(os.path.join(ROOT, TINY_UNET), low_cpu_mem_usage=False).eval()
    with open(os.path.join(ROOT, SCHEDULER_FIXTURE, "configs", "thresholding.json")) as f:
        config = json.load(f)
    x_T = torch.from_numpy(np.load(os.path.join(ROOT, SCHEDULER_FIXTURE, "x_T_f32.npy")))
    section = dict(model=TINY_UNET.replace(os.sep, "/"), config=f"{SCHEDULER_FIXTURE}/configs/thresholding.json".replace(os.sep, "/"),
                   x_T=f"{SCHEDULER_FIXTURE}/x_T_f32.npy".replace(os.sep, "/"), inference_steps=STEPS,
                   path="diffusers as is, float32 (scheduler.from_config(DDPM config): timestep_spacing leading, "
                        "clip_sample ignored by both; x̂₀ thresholded, so the final sample, x̂₀ at σ = 0, is within ±1)", runs=[])
    for cls, name in ((DPMSolverMultistepScheduler, "dpm-solver++"), (UniPCMultistepScheduler, "unipc")):
        sched = cls.from_config(config)
        sched.set_timesteps(STEPS)
        x = x_T.clone()
        with torch.no_grad():
            for t in sched.timesteps:
                x = sched.step(unet(x, t).sample, t, x).prev_sample
        section["runs"].append(dict(scheduler=cls.__name__, sampler=name, timesteps=sched.timesteps.tolist(),
                                    file=save_npy(out_dir, f"tiny-unet/{name}.npy", x.numpy()),
                                    max_abs=float(x.abs().max())))
    return section


def versions() -> dict:
    return dict(diffusers=diffusers.__version__, torch=torch.__version__, numpy=np.__version__,
                python=platform.python_version())


def strict(value):
    """`value` with every non-finite float written as a string ("-inf"): strict JSON has no ±Infinity."""
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def to_json(value, indent=0) -> str:
    """JSON with one key per line, but lists of numbers, strings or nulls (and small dicts) on one line."""
    pad, inner = " " * indent, " " * (indent + 1)
    if isinstance(value, dict):
        flat = json.dumps(value, ensure_ascii=False, allow_nan=False)
        if not value or (len(flat) <= 100 and not any(isinstance(v, (dict, list)) for v in value.values())):
            return flat
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {to_json(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return "[\n" + ",\n".join(inner + to_json(v, indent + 1) for v in value) + "\n" + pad + "]"
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def save_npy(folder, rel, array) -> str:
    path = os.path.join(folder, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.save(path, np.ascontiguousarray(array))
    return rel


def main() -> int:
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    scheduling_dpm.randn_tensor = FEEDER

    out_dir = os.path.join(ROOT, OUT_DIR)
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(os.path.join(out_dir, "cases"))

    x64 = dummy_sample_deter(torch.float64)
    x32 = dummy_sample_deter(torch.float32)
    noise = np.random.default_rng(SEED + 6).standard_normal((STEPS,) + SHAPE).astype(np.float32)
    save_npy(out_dir, "x_T.npy", x64.numpy())
    save_npy(out_dir, "noise.npy", noise)
    ab, sigma, lam = np_tables(BASE)
    save_npy(out_dir, "tables.npy", np.stack([ab, sigma, lam]))
    plain = DPMSolverMultistepScheduler(**BASE)
    table_errors = dict(
        alphas_cumprod_max_abs_diff=float(np.max(np.abs(plain.alphas_cumprod.double().numpy() - ab))),
        sigmas_max_rel_diff=float(np.max(np.abs(plain.sigmas.double().numpy() - sigma) / sigma)),
        lambdas_max_abs_diff=float(np.max(np.abs(plain.lambda_t.double().numpy() - lam))))

    entries, files_by_hash = [], {}
    for kind, cfg in cases():
        name = case_name(kind, cfg)
        assert name not in {e["name"] for e in entries}, name
        sde = cfg.get("algorithm_type", "").startswith("sde")
        z = noise if sde else None
        ts, sig64, traj64, orders, corrected, calls = run(kind, cfg, x64, z.astype(np.float64) if sde else None, "float64")
        ts32, sig32, traj32, orders32, corrected32, _ = run(kind, cfg, x32, z, "float32")
        _, _, trajd, _, _, _ = run(kind, cfg, x64, z, "float64-diffusers")
        assert np.array_equal(ts, ts32) and orders == orders32 and corrected == corrected32, name
        assert np.all(np.isfinite(traj64)), name
        assert calls == (list(range(STEPS)) if sde else []), (name, calls)

        # The numpy formulas must reproduce every float64 step.
        if kind == "dpm":
            nts, nsig, ntraj, norders = np_dpm(cfg, x64.numpy(), z.astype(np.float64) if sde else None)
            ncorrected = []
        else:
            nts, nsig, ntraj, norders, ncorrected = np_unipc(cfg, x64.numpy())
        assert np.array_equal(nts, ts), (name, nts, ts)
        assert norders == orders, (name, norders, orders)
        assert kind == "dpm" or ncorrected == corrected, (name, ncorrected, corrected)
        sigma_check = float(np.max(np.abs(nsig - sig64) / np.maximum(sig64, 1e-300)))
        worst = float(np.max(np.abs(ntraj - traj64)))
        assert sigma_check <= NUMPY_CHECK_TOLERANCE and worst <= NUMPY_CHECK_TOLERANCE, (name, sigma_check, worst)

        stored = traj64.astype(np.float32)
        digest = hashlib.sha256(traj64.tobytes()).hexdigest()
        if digest in files_by_hash:
            file = files_by_hash[digest]
        else:
            file = save_npy(out_dir, f"cases/{name}.npy", stored)
            files_by_hash[digest] = file
        entry = dict(
            name=name, scheduler=("DPMSolverMultistepScheduler" if kind == "dpm" else "UniPCMultistepScheduler"),
            overrides={k: v for k, v in cfg.items() if k not in BASE or BASE[k] != v},
            inference_steps=STEPS, timesteps=ts.tolist(),
            sigmas=[float(v) for v in sig64], sigmas_float32=[float(v) for v in sig32],
            lambdas=lambdas_of(sig64), lambdas_float32=lambdas_of(sig32.astype(np.float64)),
            orders=orders, noise="noise.npy" if sde else None, file=file,
            max_abs=[float(np.max(np.abs(traj64[k]))) for k in range(STEPS)],
            final_mean_abs=float(np.mean(np.abs(traj64[-1]))),
            float32_final_mean_abs=float(np.mean(np.abs(traj32[-1]))),
            float32_max_step_rel_err_vs_float64=max(rel_err(traj32[k], traj64[k]) for k in range(STEPS)),
            float64_diffusers_final_rel_err_vs_float64=rel_err(trajd[-1], traj64[-1]),
            float32_storage_max_rel_err=max(rel_err(stored[k], traj64[k]) for k in range(STEPS)),
            numpy_check_max_abs_diff=worst, numpy_check_sigma_max_rel_diff=sigma_check)
        if kind == "unipc":
            entry["corrector"] = corrected
        entries.append(entry)
        print(f"{name:55s} {ts.tolist()} orders {orders} mean|x| {entry['final_mean_abs']:.6f} "
              f"f32 {entry['float32_max_step_rel_err_vs_float64']:.1e}", flush=True)

    manifest = dict(
        script=SCRIPT, seed=SEED,
        seeds=dict(noise="numpy.random.default_rng(SEED + 6).standard_normal([10, 4, 3, 8, 8]).astype(float32)"),
        versions=versions(),
        setup=dict(
            model="epsilon(x, t) = x * t / (t + 1), t the integer timestep (diffusers SchedulerCommonTest.dummy_model)",
            x_T="arange(768) / 768 reshaped to (3, 8, 8, 4), permuted to (4, 3, 8, 8) (dummy_sample_deter), float64",
            base_config=BASE, inference_steps=STEPS, shape=list(SHAPE),
            loop="scheduler.set_timesteps(10); for k, t in enumerate(scheduler.timesteps): "
                 "x = scheduler.step(model(x, t), t, x).prev_sample; trajectory[k] = x. "
                 "SDE solvers: step k draws noise[k]."),
        files=dict(x_T="x_T.npy", noise="noise.npy", tables="tables.npy"),
        defaults={"note": "a case's config is diffusers' defaults, then setup.base_config, then its overrides; "
                          "non-finite numbers are written as strings (\"-inf\")",
                  "DPMSolverMultistepScheduler": plain_config(DPMSolverMultistepScheduler()),
                  "UniPCMultistepScheduler": plain_config(UniPCMultistepScheduler())},
        tables=dict(file="tables.npy", shape=[3, 1000], rows=["alphas_cumprod", "sigmas", "lambdas"],
                    note="float64 path: β = linspace(1e-4, 0.02, 1000) in float64, ᾱ = cumprod(1 − β), "
                         "σ = sqrt((1 − ᾱ)/ᾱ), λ = log sqrt(ᾱ) − log sqrt(1 − ᾱ). diffusers' float32 tables differ by:",
                    float32_vs_float64=table_errors),
        storage="cases/*.npy hold the float64 path rounded to float32 (float32_storage_max_rel_err per case); "
                "bit-identical float64 trajectories share one file",
        sigmas_note="sigmas: the n + 1 values of set_timesteps (the last is the final sigma: σ(ᾱ₀) for "
                    "sigma_min, 0 for zero); alpha = 1/sqrt(σ² + 1), sigma_t = σ·alpha, lambda = log alpha − "
                    "log sigma_t (null where σ = 0: λ = +∞)",
        paths={
            "float64": "tables rebuilt in float64, diffusers' set_timesteps/step recompiled without the float32 "
                       "casts; x_T.npy. cases/*.npy (rounded to float32)",
            "float32": "diffusers as is, float32 x_T (its tests). float32_* fields",
            "float64-diffusers": "diffusers as is with a float64 x_T. float64_diffusers_* fields",
        },
        summary=dict(
            cases=len(entries), files=len(files_by_hash),
            max_numpy_check_diff=max(e["numpy_check_max_abs_diff"] for e in entries),
            max_float32_step_rel_err_vs_float64=max(e["float32_max_step_rel_err_vs_float64"] for e in entries),
            max_float64_diffusers_final_rel_err_vs_float64=max(
                e["float64_diffusers_final_rel_err_vs_float64"] for e in entries),
            max_float32_storage_rel_err=max(e["float32_storage_max_rel_err"] for e in entries)),
        anchors=anchors(),
        tiny_unet=tiny_unet_runs(out_dir),
        refused_by_diffusers=refused(),
        cases=entries,
    )
    with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as f:
        f.write(to_json(strict(manifest)) + "\n")
    with open(os.path.join(out_dir, "manifest.json"), encoding="utf-8") as f:
        assert json.load(f) == strict(manifest)
    print(json.dumps(manifest["summary"], indent=1))
    total = 0
    for base, _, names in os.walk(out_dir):
        total += sum(os.path.getsize(os.path.join(base, n)) for n in names)
    print(f"{OUT_DIR}: {total} bytes")
    assert total < SIZE_LIMIT, f"the fixture is {total} bytes, over {SIZE_LIMIT}"
    return 0


if __name__ == "__main__":
    sys.exit(main())
