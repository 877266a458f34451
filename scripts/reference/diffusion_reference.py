#!/usr/bin/env python3
"""Float64 reference values for the Diffusion module's tests.

Writes Tests/DDPMDiffusionTests/Fixtures/diffusion_reference.json. Run from the repository root:

    python3 scripts/reference/diffusion_reference.py

Everything is computed here from the formulas in docs/diffusion-math.md (DDPM, IDDPM) with numpy
and scipy in float64; nothing is ported from the Swift code. Index convention as in the Swift
module: arrays are indexed 0..T-1 and index i means the paper's t = i + 1. The tests compare
elementwise with the relative tolerance stored in the file (absolute floor 1e-12 for values
near zero).
"""
import json
import math
import os

import numpy as np
from scipy import stats

SEED = 20200619  # DDPM's arXiv date
TOLERANCE = 1e-6
OUT = os.path.join("Tests", "DiffusionTests", "Fixtures", "diffusion_reference.json")


# --- Schedules (DDPM §2, §4; IDDPM eq. 17) -------------------------------------------------------

def linear_betas(T, start=1e-4, end=0.02):
    return np.linspace(start, end, T, dtype=np.float64)


def cosine_betas(T, s=0.008, max_beta=0.999):
    t = np.arange(T + 1, dtype=np.float64)
    f = np.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2
    abar = f / f[0]
    return np.minimum(1.0 - abar[1:] / abar[:-1], max_beta)


def tables(betas):
    betas = np.asarray(betas, dtype=np.float64)
    alphas = 1.0 - betas
    abar = np.cumprod(alphas)
    abar_prev = np.concatenate([[1.0], abar[:-1]])
    post_var = betas * (1.0 - abar_prev) / (1.0 - abar)
    post_log_clipped = np.log(np.concatenate([[post_var[1]], post_var[1:]]))
    return {
        "beta": betas,
        "alpha": alphas,
        "alphaBar": abar,
        "alphaBarPrevious": abar_prev,
        "sqrtAlphaBar": np.sqrt(abar),
        "sqrtOneMinusAlphaBar": np.sqrt(1.0 - abar),
        "reciprocalSqrtAlphaBar": 1.0 / np.sqrt(abar),
        "sqrtReciprocalAlphaBarMinusOne": np.sqrt(1.0 / abar - 1.0),
        "posteriorVariance": post_var,
        "posteriorLogVarianceClipped": post_log_clipped,
        "posteriorMeanCoefficientStart": betas * np.sqrt(abar_prev) / (1.0 - abar),
        "posteriorMeanCoefficientCurrent": (1.0 - abar_prev) * np.sqrt(alphas) / (1.0 - abar),
    }


def schedule_entries():
    out = []
    for name, T, betas in [
        ("linear", 1000, linear_betas(1000)),
        ("cosine", 1000, cosine_betas(1000)),
        ("cosine", 10, cosine_betas(10)),
    ]:
        tab = tables(betas)
        ts = [1, 2, T // 2, T - 1, T]
        out.append({
            "schedule": name,
            "steps": T,
            "t": ts,  # 1-based
            "tables": {k: [float(v[t - 1]) for t in ts] for k, v in tab.items()},
        })
    return out


# --- Respacing (IDDPM space_timesteps) ---------------------------------------------------------

def respacing_entries():
    T = 1000
    abar = np.cumprod(1.0 - linear_betas(T))
    out = []
    # "ddim" spacing: range(0, T, stride) with stride = T // count.
    for count in [50, 10]:
        stride = T // count
        kept = list(range(0, T, stride))[:count]
        out.append({"spacing": "ddim", "count": count, "steps": T, "kept": kept})
    # even spacing, both ends: round(i * (T-1)/(count-1)).
    for count in [10, 7]:
        frac = (T - 1) / (count - 1)
        kept = [int(round(i * frac)) for i in range(count)]
        kept_abar = abar[kept]
        betas = 1.0 - kept_abar / np.concatenate([[1.0], kept_abar[:-1]])
        out.append({"spacing": "even", "count": count, "steps": T, "kept": kept,
                    "betas": [float(b) for b in betas]})
    return out


# --- Gaussian KL and the discretised decoder (DDPM eq. 13) -------------------------------------

def kl_entries(rng):
    n = 16
    mean1 = rng.normal(0, 1, n)
    mean2 = rng.normal(0, 1, n)
    logvar1 = rng.uniform(-8, 1, n)
    logvar2 = rng.uniform(-8, 1, n)
    sd1, sd2 = np.exp(0.5 * logvar1), np.exp(0.5 * logvar2)
    # KL(N1 || N2) = log(sd2/sd1) + (sd1^2 + (m1-m2)^2) / (2 sd2^2) - 1/2
    kl = np.log(sd2 / sd1) + (sd1 ** 2 + (mean1 - mean2) ** 2) / (2 * sd2 ** 2) - 0.5
    return {"mean1": mean1.tolist(), "logVariance1": logvar1.tolist(),
            "mean2": mean2.tolist(), "logVariance2": logvar2.tolist(), "kl": kl.tolist()}


def discretized_log_likelihood(x, mean, sd):
    """log of the probability of x's 8-bit bin under N(mean, sd^2), exact tails via scipy."""
    half = 1.0 / 255.0
    if x <= -1.0 + 1e-9:  # lowest bin: (-inf, -1 + 1/255]
        return float(stats.norm.logcdf(x + half, loc=mean, scale=sd))
    if x >= 1.0 - 1e-9:  # highest bin: [1 - 1/255, inf)
        return float(stats.norm.logsf(x - half, loc=mean, scale=sd))
    lo, hi = x - half, x + half
    if lo >= mean:  # upper tail: difference of survival functions keeps the precision
        p = stats.norm.sf(lo, loc=mean, scale=sd) - stats.norm.sf(hi, loc=mean, scale=sd)
    else:
        p = stats.norm.cdf(hi, loc=mean, scale=sd) - stats.norm.cdf(lo, loc=mean, scale=sd)
    return float(np.log(p))


def decoder_entries(rng):
    pixels = [0, 0, 0, 1, 2, 64, 127, 128, 200, 253, 254, 255, 255, 255, 30, 225]
    x = np.array(pixels, dtype=np.float64) / 127.5 - 1.0
    logvar = rng.uniform(np.log(1e-5), np.log(1e-2), len(x))
    sd = np.exp(0.5 * logvar)
    mean = x + rng.normal(0, 1.5, len(x)) * sd
    mean[0] = -1.0 - 2.0 * sd[0]  # lowest bin, mean below the data range
    mean[1] = -1.0 + 3.0 * sd[1]  # lowest bin, mean inside
    mean[12] = 1.0 - 3.0 * sd[12]  # highest bin, mean inside
    mean[13] = 1.0 + 2.0 * sd[13]  # highest bin, mean above the data range
    mean[14] = x[14] + 3.0 * sd[14]  # interior bin in the lower tail of the Gaussian
    mean[15] = x[15] - 3.0 * sd[15]  # interior bin in the upper tail of the Gaussian
    ll = [discretized_log_likelihood(a, m, s) for a, m, s in zip(x, mean, sd)]
    assert min(ll) > math.log(1e-11), "keep every case away from the 1e-12 floor"
    return {"pixels": pixels, "x": x.tolist(), "mean": mean.tolist(), "logVariance": logvar.tolist(),
            "logLikelihood": ll}


# --- Posterior and reverse process (eq. 4, 6-7, 11, 15; IDDPM eq. 15) ---------------------------

def reverse_entries(rng):
    T = 1000
    betas = linear_betas(T)
    alphas = 1.0 - betas
    abar = np.cumprod(alphas)
    abar_prev = np.concatenate([[1.0], abar[:-1]])
    post_var = betas * (1.0 - abar_prev) / (1.0 - abar)
    post_log = np.log(np.concatenate([[post_var[1]], post_var[1:]]))
    fixed_large_log = np.log(np.concatenate([[post_var[1]], betas[1:]]))
    out = []
    D = 3
    for t in [1, 2, 500, 1000]:
        i = t - 1
        x0 = rng.uniform(-1, 1, D)
        eps = rng.normal(0, 1, D)
        xt = math.sqrt(abar[i]) * x0 + math.sqrt(1 - abar[i]) * eps
        # posterior q(x_{t-1} | x_t, x_0), eq. 6-7, written as a precision-weighted combination
        # of the two Gaussian factors q(x_t|x_{t-1}) and q(x_{t-1}|x_0).
        if t > 1:
            prec = alphas[i] / betas[i] + 1.0 / (1.0 - abar_prev[i])
            post_mean = (math.sqrt(alphas[i]) * xt / betas[i]
                         + math.sqrt(abar_prev[i]) * x0 / (1.0 - abar_prev[i])) / prec
        else:
            post_mean = x0.copy()
        for prediction in ["noise", "start", "velocity"]:
            for variance in ["fixedSmall", "fixedLarge", "learnedRange"]:
                for clip in ([False, True] if prediction == "noise" else [False]):
                    raw = rng.normal(0, 1.5, D)
                    vraw = rng.uniform(-1, 1, D)
                    if prediction == "noise":
                        x0_hat = (xt - math.sqrt(1 - abar[i]) * raw) / math.sqrt(abar[i])
                    elif prediction == "start":
                        x0_hat = raw.copy()
                    else:  # v = sqrt(abar) eps - sqrt(1-abar) x0
                        x0_hat = math.sqrt(abar[i]) * xt - math.sqrt(1 - abar[i]) * raw
                    if clip:
                        x0_hat = np.clip(x0_hat, -1, 1)
                    # eq. 7 with x0_hat in place of x0
                    mean = (math.sqrt(abar_prev[i]) * betas[i] * x0_hat
                            + math.sqrt(alphas[i]) * (1 - abar_prev[i]) * xt) / (1 - abar[i])
                    if variance == "fixedSmall":
                        logvar = np.full(D, post_log[i])
                    elif variance == "fixedLarge":
                        logvar = np.full(D, fixed_large_log[i])
                    else:
                        frac = (vraw + 1) / 2
                        logvar = frac * np.log(betas[i]) + (1 - frac) * post_log[i]
                    out.append({
                        "t": t, "prediction": prediction, "variance": variance, "clip": clip,
                        "start": x0.tolist(), "noise": eps.tolist(), "current": xt.tolist(),
                        "posteriorMean": post_mean.tolist(),
                        "posteriorVariance": float(post_var[i]),
                        "modelMean": raw.tolist(), "modelVariance": vraw.tolist(),
                        "predictedStart": x0_hat.tolist(), "mean": mean.tolist(),
                        "logVariance": logvar.tolist(),
                    })
    return out


def prior_entries(rng):
    """L_T = KL(q(x_T|x_0) || N(0, I)) in bits/dim for the linear T = 1000 schedule."""
    T = 1000
    abar_T = np.prod(1.0 - linear_betas(T))
    out = []
    for _ in range(3):
        x0 = rng.uniform(-1, 1, 4)
        m, v = math.sqrt(abar_T) * x0, 1 - abar_T
        kl = 0.5 * (v + m ** 2 - 1 - math.log(v))
        out.append({"start": x0.tolist(), "bitsPerDim": float(np.mean(kl) / math.log(2))})
    return out


def main():
    rng = np.random.default_rng(SEED)
    fixture = {
        "script": "scripts/reference/diffusion_reference.py",
        "seed": SEED,
        "tolerance": TOLERANCE,
        "indexConvention": "arrays 0..T-1, index i is t = i + 1; 't' fields here are 1-based",
        "schedules": schedule_entries(),
        "respacing": respacing_entries(),
        "normalKL": kl_entries(rng),
        "discretizedLogLikelihood": decoder_entries(rng),
        "reverse": reverse_entries(rng),
        "prior": prior_entries(rng),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
