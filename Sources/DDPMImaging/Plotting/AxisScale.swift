// Axis scales: data-to-pixel mapping, "nice" tick positions (1-2-5 steps) and tick label formatting.
import Foundation

/// A linear or base-10 logarithmic axis over a closed data range.
public struct AxisScale: Equatable, Sendable {
    /// The data value at the start of the axis (left or bottom); positive on a logarithmic scale.
    public var lower: Double
    /// The data value at the end of the axis (right or top); never equal to `lower` (see
    /// ``init(lower:upper:logarithmic:)``).
    public var upper: Double
    /// Whether values map through log₁₀ (ticks at powers of ten) rather than linearly.
    public var isLogarithmic: Bool

    /// A scale over [lower, upper]; a logarithmic scale needs lower > 0.
    public init(lower: Double, upper: Double, logarithmic: Bool = false) {
        precondition(lower.isFinite && upper.isFinite, "AxisScale: non-finite range [\(lower), \(upper)]")
        precondition(!logarithmic || lower > 0, "AxisScale: logarithmic range must be positive, got [\(lower), \(upper)]")
        self.lower = lower
        self.upper = upper == lower ? (logarithmic ? lower * 10 : lower + 1) : upper
        self.isLogarithmic = logarithmic
    }

    /// A scale that covers `values` (non-finite values, and non-positive ones on a log scale, are
    /// ignored) with a 5 % margin on each side (linear) or a 10 % factor (log), so that points do
    /// not sit on the frame. An empty set gives [0, 1] (or [1, 10]).
    public static func covering<S: Sequence>(_ values: S, logarithmic: Bool = false) -> AxisScale where S.Element == Double {
        var lo = Double.infinity, hi = -Double.infinity
        for v in values where v.isFinite && (!logarithmic || v > 0) {
            lo = min(lo, v)
            hi = max(hi, v)
        }
        guard lo <= hi else { return AxisScale(lower: logarithmic ? 1 : 0, upper: logarithmic ? 10 : 1, logarithmic: logarithmic) }
        if logarithmic { return AxisScale(lower: lo / 1.1, upper: hi * 1.1, logarithmic: true) }
        let margin = hi > lo ? 0.05 * (hi - lo) : max(abs(lo) * 0.05, 0.5)
        return AxisScale(lower: lo - margin, upper: hi + margin)
    }

    /// Where `value` falls as a fraction of the axis: 0 at `lower`, 1 at `upper`.
    public func fraction(_ value: Double) -> Double {
        if isLogarithmic {
            guard value > 0 else { return -.infinity }
            return (log10(value) - log10(lower)) / (log10(upper) - log10(lower))
        }
        return (value - lower) / (upper - lower)
    }

    /// Tick positions inside the range: multiples of 1, 2 or 5 × 10^k giving about `target` ticks
    /// (linear); on a log axis powers of ten (every k-th when there are many), with 2× and 5× of
    /// each decade added when fewer than three powers fall inside, and, when the range spans less
    /// than such three ticks, the linear axis's ticks inside it (so that 0.13…1.2 reads 0.2, 0.5, 1).
    public func ticks(target: Int = 6) -> [Double] {
        if isLogarithmic {
            let first = Int(log10(lower).rounded(.up)), last = Int(log10(upper).rounded(.down))
            if last - first + 1 >= 3 {
                let stride = max(1, (last - first + 1 + target - 1) / target)
                return Swift.stride(from: first, through: last, by: stride).map { pow(10, Double($0)) }
            }
            let inside = { (v: Double) in v >= self.lower * (1 - 1e-12) && v <= self.upper * (1 + 1e-12) }
            let decades = Int(log10(lower).rounded(.down))...Int(log10(upper).rounded(.down))
            let subDecade = decades.flatMap { k in [1.0, 2, 5].map { $0 * pow(10, Double(k)) } }.filter(inside)
            if subDecade.count >= 3 { return subDecade }
            return AxisScale(lower: lower, upper: upper).ticks(target: target).filter { $0 > 0 && inside($0) }
        }
        let step = Self.niceStep((upper - lower) / Double(max(1, target - 1)))
        let first = (lower / step).rounded(.up)
        var ticks: [Double] = []
        var k = first
        while k * step <= upper + step * 1e-9 && ticks.count < 100 {
            let t = k * step
            ticks.append(abs(t) < step * 1e-9 ? 0 : t)
            k += 1
        }
        return ticks
    }

    /// The 1, 2 or 5 × 10^k nearest to `raw` (ratio thresholds 1.5, 3, 7: Heckbert's "nice numbers").
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0 && raw.isFinite else { return 1 }
        let magnitude = pow(10, floor(log10(raw)))
        let ratio = raw / magnitude
        let m: Double = ratio < 1.5 ? 1 : ratio < 3 ? 2 : ratio < 7 ? 5 : 10
        return m * magnitude
    }

    /// Labels for `ticks`: fixed notation with as many decimals as the spacing needs (0.25, 10, 1.5),
    /// or `1e−3`-style exponents for very small or large magnitudes and for log axes; negative
    /// numbers and exponents take the minus sign − (U+2212), as typeset mathematics does.
    public func labels(for ticks: [Double]) -> [String] {
        plainLabels(for: ticks).map { $0.replacingOccurrences(of: "-", with: "−") }
    }

    /// ``labels(for:)`` with ASCII hyphen-minus signs.
    func plainLabels(for ticks: [Double]) -> [String] {
        let largest = ticks.map { abs($0) }.max() ?? 0
        if isLogarithmic || largest >= 1e5 || (largest > 0 && largest < 1e-3) {
            let labels = ticks.map { Self.exponential($0) }
            // Ticks closer than one significant digit tells apart (a log axis inside a decade).
            if Set(labels).count == labels.count { return labels }
            return ticks.map { String(format: "%.3g", $0) }
        }
        let step = ticks.count > 1 ? abs(ticks[1] - ticks[0]) : max(largest, 1)
        let decimals = max(0, min(6, Int((-log10(step) - 1e-9).rounded(.up))))
        return ticks.map { String(format: "%.\(decimals)f", $0) }
    }

    /// `1e-3`, `2.5e4`, `1`, `10`, `0.1` style: short.
    static func exponential(_ value: Double) -> String {
        if value == 0 { return "0" }
        let exponent = Int(floor(log10(abs(value))))
        if (-2...3).contains(exponent) {
            return String(format: "%g", value)
        }
        let mantissa = value / pow(10, Double(exponent))
        let m = abs(mantissa - mantissa.rounded()) < 1e-6 ? String(Int(mantissa.rounded())) : String(format: "%.1f", mantissa)
        return "\(m)e\(exponent)"
    }
}
