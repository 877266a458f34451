// The words of the toolkit's figures in one place, in the papers' notation (x₀, xₜ, t against T,
// λ, μ, ᾱₜ), so that a test can check that the font has every glyph they use.

/// The titles, axis labels, panel labels and legends of the figures the toolkit draws (`ddpm demo`,
/// `ddpm train`'s loss curve, the analyses), in the notation of the papers: x₀ the data, xₜ the
/// noisy variable at step t of T, p(xₜ) and q(xₜ) the reverse and forward processes, λ an
/// interpolation weight, μ the mean of the reverse step.
///
/// ``all`` lists every text with example numbers; ``FontFace`` must have a glyph for each of its
/// characters (DejaVu Sans does).
public enum FigureText {
    // MARK: Axes

    /// The x axis of loss curves: the training step.
    public static let step = "step"
    /// The y axis of loss curves.
    public static let loss = "loss"
    /// The x axis of per-timestep plots: the diffusion step t (1…T).
    public static let timestep = "t"
    /// Bits per dimension, the unit of rates and bounds.
    public static let bitsPerDimension = "bits/dim"
    /// The x axis of a rate–distortion trade-off.
    public static let rate = "rate (bits/dim)"
    /// Distortion as a root-mean-square error of 8-bit pixel values.
    public static let distortion = "RMSE (0–255)"

    // MARK: Loss curves

    /// The title of `ddpm train`'s loss.png.
    public static let trainingLoss = "training loss"
    /// The title of `ddpm demo`'s loss curve: DDPM's simplified objective (eq. 14).
    public static let simpleLoss = "training loss Lₛᵢₘₚₗₑ (DDPM eq. 14)"
    /// The title of `ddpm demo --paper sd15`'s loss curve: the bound's term at a uniformly drawn t, times T.
    public static let boundLoss = "training loss T · Lₜ₋₁ (bits/dim)"
    /// The legend of the loss of each step.
    public static let lossPerStep = "loss per step"

    /// The title of `ddpm train --fid-every`'s fid.png.
    public static let fidCurve = "FID of EMA samples against the training data"
    /// The y axis of FID curves.
    public static let fid = "FID"

    /// The legend of a loss curve's moving average.
    public static func movingAverage(window: Int) -> String { "mean of \(window) steps" }

    // MARK: The swiss roll demos

    /// The data panel.
    public static let data = "data"
    /// The samples panel (and `ddpm sample`'s scatter plot).
    public static let samples = "samples"
    /// The drift figure's title.
    public static let driftTitle = "learned drift of the reverse process"
    /// The processes figure's title (SD15 Fig. 1).
    public static let processesTitle = "forward process q(xₜ) (top), reverse process p(xₜ) (bottom)"

    /// The data-and-samples figure's title.
    public static func dataAndSamples(paper: String) -> String { "swiss roll: data and \(paper) samples" }

    /// A panel of the forward process at step `t` of `T`: q(x₀), q(xₜ) at t = 500, q(xₜ) at t = T = 1000.
    public static func forwardProcess(t: Int, of T: Int) -> String { process("q", t: t, of: T) }

    /// A panel of the reverse process at step `t` of `T`, as ``forwardProcess(t:of:)``.
    public static func reverseProcess(t: Int, of T: Int) -> String { process("p", t: t, of: T) }

    private static func process(_ name: String, t: Int, of T: Int) -> String {
        t == 0 ? "\(name)(x₀)" : t == T ? "\(name)(xₜ) at t = T = \(T)" : "\(name)(xₜ) at t = \(t)"
    }

    /// A drift panel: the mean step of the learned reverse process at step `t`, μ_θ(xₜ, t) − xₜ.
    public static func drift(t: Int) -> String { "μθ(xₜ, t) − xₜ at t = \(t)" }

    // MARK: The analyses

    /// The sample x₀ (the end of the reverse chain).
    public static let start = "x₀"
    /// The noisy variable xₜ.
    public static let noisy = "xₜ"
    /// The title of `ddpm progressive`'s first figure (DDPM Fig. 6).
    public static let progressiveTitle = "x̂₀ predicted along the reverse chain"
    /// The title of `ddpm progressive`'s completions of 2-D points (DDPM Fig. 7).
    public static let completionsTitle = "completions of one chain"
    /// The title of `ddpm progressive`'s completions of images (DDPM Fig. 7).
    public static let sharedCompletionsTitle = "x₀ ~ p(x₀ | xₜ), one shared xₜ"
    /// Pixel mixing, the first row of `ddpm interpolate`.
    public static let pixels = "pixels"
    /// An original image (`ddpm inpaint`).
    public static let original = "original"
    /// The observation (`ddpm inpaint`).
    public static let observed = "observed"
    /// The rate–distortion figure's title (DDPM Fig. 5).
    public static let rateDistortionTitle = "progressive lossy compression"
    /// The rate–distortion panels.
    public static let distortionPanel = "distortion", ratePanel = "rate", tradeOffPanel = "distortion against rate"

    /// A row or column label: the step t.
    public static func step(_ t: Int) -> String { "t = \(t)" }

    /// The prediction x̂₀ of the reverse chain at step `t` (DDPM Fig. 6).
    public static func predictedStart(t: Int) -> String { "x̂₀ at t = \(t)" }

    /// A draw of x₀ given xₜ at step `t` (DDPM Fig. 7).
    public static func completion(t: Int) -> String { "x₀ ~ p(x₀ | xₜ), t = \(t)" }

    /// The `index`-th (1-based) completion or sample.
    public static func numbered(_ index: Int) -> String { "#\(index)" }

    /// The interpolation weight λ of a column (DDPM §4.4).
    public static func interpolationWeight(_ lambda: Double) -> String { "λ = " + fixed(lambda, decimals: 2) }

    /// The interpolation figure's title.
    public static func interpolationTitle(from first: String, to second: String) -> String { "interpolation \(first) → \(second)" }

    /// The inpainting figure's title (SD15 §2.5) for a mask name.
    public static func inpaintingTitle(mask: String) -> String { "inpainting (\(mask))" }

    /// The denoising figure's title for noise of standard deviation `sigma`.
    public static func denoisingTitle(sigma: Double) -> String { "denoising, σ = " + fixed(sigma, decimals: 2) }

    private static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        let scale = (0..<decimals).reduce(1.0) { r, _ in r * 10 }
        let rounded = (abs(value) * scale).rounded()
        let whole = Int(rounded / scale), fraction = Int(rounded) - whole * Int(scale)
        let digits = String(fraction)
        return (value < 0 && rounded > 0 ? "−" : "") + "\(whole)." + String(repeating: "0", count: decimals - digits.count) + digits
    }

    /// Every text above with example numbers, and the characters of tick labels (``AxisScale``):
    /// the strings whose glyphs the font must have.
    public static var all: [String] {
        [
            step, loss, timestep, bitsPerDimension, rate, distortion, trainingLoss, simpleLoss, boundLoss, lossPerStep, fidCurve, fid,
            movingAverage(window: 80), data, samples, driftTitle, processesTitle, dataAndSamples(paper: "DDPM"),
            forwardProcess(t: 0, of: 1000), forwardProcess(t: 500, of: 1000), forwardProcess(t: 1000, of: 1000),
            reverseProcess(t: 0, of: 40), reverseProcess(t: 20, of: 40), reverseProcess(t: 40, of: 40), drift(t: 20),
            start, noisy, progressiveTitle, completionsTitle, sharedCompletionsTitle, pixels, original, observed,
            rateDistortionTitle, distortionPanel, ratePanel, tradeOffPanel, step(750), predictedStart(t: 800),
            completion(t: 500), numbered(3), interpolationWeight(0.25), interpolationWeight(-0.5),
            interpolationTitle(from: "#12", to: "#7"), inpaintingTitle(mask: "right"), denoisingTitle(sigma: 0.5),
            "0123456789 .e−",
        ]
    }
}
