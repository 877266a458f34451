// Imagen's dynamic thresholding of x̂₀ (Saharia et al. 2022, §2.3), as diffusers' `_threshold_sample`
// computes it; shared by the diffusers schedulers and the multistep solvers.
import DDPMTensors

/// Dynamic thresholding of a predicted x̂₀ (Saharia et al. 2022, "Imagen", §2.3; diffusers'
/// `thresholding`, `dynamic_thresholding_ratio`, `sample_max_value`).
///
/// Per example (the batch is axis 0; all other axes together): s is the `ratio` quantile of |x̂₀|
/// (linear interpolation between order statistics, as `torch.quantile`), clamped to
/// [1, `maximum`]; then x̂₀ ← clamp(x̂₀, −s, s)/s. With `maximum` = 1 this is clipping to [−1, 1];
/// a larger `maximum` pushes saturated pixels inwards instead of cutting them off. A `maximum`
/// below 1 makes s = `maximum` always (torch.clamp with min > max returns max), so x̂₀ is clipped
/// to ±`maximum` and stretched to ±1; diffusers' scheduler tests use 0.5. diffusers' defaults are
/// ratio 0.995 and maximum 1.
public struct DynamicThresholding: Equatable, Codable, Sendable {
    /// The quantile of |x̂₀| taken as s, in (0, 1].
    public var ratio: Double
    /// The largest s (normally ≥ 1; see above for smaller values).
    public var maximum: Double

    /// A thresholding with the given quantile and largest s.
    /// - Throws: `DiffusionError.unsupportedSchedulerSetting` when `ratio` is not in (0, 1] or
    ///   `maximum` is not a finite positive number.
    public init(ratio: Double = 0.995, maximum: Double = 1) throws {
        guard ratio.isFinite, ratio > 0, ratio <= 1 else {
            throw DiffusionError.unsupportedSchedulerSetting(
                "dynamic thresholding ratio \(ratio) must be in (0, 1]; diffusers' default is 0.995.")
        }
        guard maximum.isFinite, maximum > 0 else {
            throw DiffusionError.unsupportedSchedulerSetting(
                "dynamic thresholding maximum (sample_max_value) \(maximum) must be a finite positive number; diffusers' default is 1.")
        }
        self.ratio = ratio
        self.maximum = maximum
    }

    /// Without the checks (the diffusers config reader validates its keys itself).
    init(uncheckedRatio ratio: Double, maximum: Double) {
        self.ratio = ratio
        self.maximum = maximum
    }

    /// `start` thresholded example by example; same shape and dtype.
    public func apply(_ start: Tensor) -> Tensor {
        let batch = start.shape[0]
        let perExample = start.shape.dropFirst().reduce(1, *)
        var values = start.doubles
        for b in 0..<batch {
            let range = b * perExample..<(b + 1) * perExample
            let sorted = values[range].map(Swift.abs).sorted()
            let position = ratio * Double(perExample - 1)
            let low = Int(position.rounded(.down)), high = Swift.min(low + 1, perExample - 1)
            let quantile = sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
            let scale = Swift.min(Swift.max(quantile, 1), maximum)
            for i in range { values[i] = Swift.min(Swift.max(values[i], -scale), scale) / scale }
        }
        return Tensor(values, shape: start.shape, dtype: start.dtype)
    }
}
