// The Gaussian diffusion math of DDPM and Improved DDPM: schedules, forward and reverse processes,
// losses, the variational bound and samplers; and SD15's binomial diffusion of binary data.
//
// Equation numbers refer to Ho, Jain & Abbeel 2020 ("DDPM") unless marked IDDPM (Nichol & Dhariwal
// 2021), DDIM (Song, Meng & Ermon 2020) or SD15 (Sohl-Dickstein et al. 2015); see the DocC article
// "The math, equation by equation" (DDPMDiffusion.docc/TheMathEquationByEquation.md).
//
// Files:
//   DiffusionError.swift         typed errors for everything a user can get wrong
//   BetaSchedule.swift           β₁…β_T: linear, cosine, SD15's reciprocal (βₜ = (T − t + 1)⁻¹), custom
//   DiffusionSchedule.swift      the Float64 coefficient tables and the index convention
//   TimestepSpacing.swift        respacing to a subset of timesteps (IDDPM §4)
//   ModelChoices.swift           MeanPrediction, VarianceKind, LossKind
//   ChoiceCoding.swift           the JSON forms of BetaSchedule and LossKind (run.json)
//   DiffusionProcess.swift       the protocol Gaussian and binomial diffusion share (training, bound, sampling)
//   GaussianDiffusion.swift      forward process (eq. 4), posterior (eq. 6–7), reverse process
//   GaussianMath.swift           Gaussian KL, the discretised decoder likelihood (eq. 13)
//   Losses.swift                 L_simple, the bound terms, the hybrid loss, bits/dim
//   VariationalBound.swift       the whole bound over all T steps, per term
//   Samplers.swift               ancestral sampling (Algorithm 2) and DDIM
//   ReverseChain.swift           the reverse chain from any t, known dimensions (inpainting), interpolation
//   RateDistortion.swift         rate and distortion along the chain (DDPM §4.3, Algorithms 3–4)
//   TimestepSampler.swift        uniform and loss-aware timestep sampling for training
//   Coefficients.swift           per-timestep coefficient tensors from Float64 tables
//   BernoulliMath.swift          log σ, Bernoulli KL and log-likelihood, Bernoulli sampling
//   BinomialDiffusion.swift      binomial forward kernel, marginal, posterior, reverse (SD15 §2.4)
//   BinomialBound.swift          binomial bound terms, training loss, the whole bound in bits/dim
//   BinomialSampler.swift        ancestral sampling of binary data
