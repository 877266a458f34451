#!/usr/bin/env python3
"""Fixtures for reading diffusers' solver scheduler configs: scheduler_config.json files written by
diffusers' own `save_config` for DPMSolverMultistepScheduler and UniPCMultistepScheduler with
settings other than the defaults, and what diffusers does with each.

Writes Tests/DDPMDiffusionTests/Fixtures/solvers/configs/:

    <case>/scheduler_config.json  as `scheduler.save_config` writes it (DPM-Solver's includes
                                  `"lambda_min_clipped": -Infinity`, Python's token for -inf)
    <case>.npy                    float32 [2, 3, 8, 8]  the final sample of a 10-step run on the
                                  committed tiny UNet (Tests/DDPMModelsTests/Fixtures/tiny-diffusers-unet)
                                  from x_T_f32.npy of Tests/DDPMTrainingTests/Fixtures/diffusers-schedulers
                                  (deterministic cases only)
    manifest.json                 per case: class, settings, timesteps and σ after set_timesteps(10)
                                  (float64 as diffusers holds them), the sample file

Run from the repository root with diffusers 0.42.1 and torch:
    scripts/reference/.venv/bin/python scripts/reference/make_solver_config_fixture.py
"""
import json
import os
import sys

import numpy as np
import torch
from diffusers import DPMSolverMultistepScheduler, UNet2DModel, UniPCMultistepScheduler

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "DDPMDiffusionTests", "Fixtures", "solvers", "configs")
UNET = os.path.join(ROOT, "Tests", "DDPMModelsTests", "Fixtures", "tiny-diffusers-unet")
X_T = os.path.join(ROOT, "Tests", "DDPMTrainingTests", "Fixtures", "diffusers-schedulers", "x_T_f32.npy")
STEPS = 10
THRESHOLD = dict(thresholding=True, dynamic_thresholding_ratio=0.9, sample_max_value=1.5)

CASES = [
    # name, class, settings, deterministic
    ("dpm-3m-karras-sigma-min", DPMSolverMultistepScheduler,
     dict(solver_order=3, use_karras_sigmas=True, final_sigmas_type="sigma_min", **THRESHOLD), True),
    ("dpm-2m-lu-trailing", DPMSolverMultistepScheduler,
     dict(solver_order=2, use_lu_lambdas=True, lower_order_final=False, timestep_spacing="trailing", **THRESHOLD), True),
    ("sde-dpm-2m-leading", DPMSolverMultistepScheduler,
     dict(algorithm_type="sde-dpmsolver++", timestep_spacing="leading", steps_offset=1, **THRESHOLD), False),
    # bh1 ends at σ = 0 only with NaN in diffusers 0.42 (its last predictor multiplies B(h) = −∞ by a
    # zero correction), so this case ends at σ_min.
    ("unipc-bh1-3-trailing-sigma-min", UniPCMultistepScheduler,
     dict(solver_order=3, solver_type="bh1", timestep_spacing="trailing", final_sigmas_type="sigma_min", **THRESHOLD), True),
]


def main() -> int:
    torch.manual_seed(0)
    unet = UNet2DModel.from_pretrained(UNET, low_cpu_mem_usage=False).eval()
    x_T = torch.from_numpy(np.load(X_T))
    manifest = dict(diffusers=__import__("diffusers").__version__, torch=torch.__version__, steps=STEPS,
                    model="Tests/DDPMModelsTests/Fixtures/tiny-diffusers-unet",
                    x_T="Tests/DDPMTrainingTests/Fixtures/diffusers-schedulers/x_T_f32.npy", cases=[])
    for name, cls, settings, deterministic in CASES:
        scheduler = cls(**settings)
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        scheduler.save_config(folder)
        # Read back as a pipeline would, then run.
        scheduler = cls.from_pretrained(folder)
        scheduler.set_timesteps(STEPS)
        case = dict(name=name, scheduler=cls.__name__, settings=settings,
                    timesteps=[int(t) for t in scheduler.timesteps],
                    sigmas=[float(s) for s in scheduler.sigmas.double()])
        if deterministic:
            x = x_T.clone()
            with torch.no_grad():
                for t in scheduler.timesteps:
                    x = scheduler.step(unet(x, t).sample, t, x).prev_sample
            np.save(os.path.join(OUT, f"{name}.npy"), x.numpy().astype(np.float32))
            case["file"] = f"{name}.npy"
        manifest["cases"].append(case)
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {len(CASES)} cases to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
