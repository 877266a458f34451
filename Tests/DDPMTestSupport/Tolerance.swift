// Tolerance checks shared by the test targets: elementwise closeness, relative error, ulp error.
import Testing

/// Expects |actual − expected| ≤ absolute + relative·|expected| elementwise, and equal counts.
///
/// NaN matches only NaN. On failure it reports the number of offending elements and the worst
/// one (index, both values and its tolerance), prefixed by `label`.
public func expectClose<T: BinaryFloatingPoint>(
    _ actual: [T], _ expected: [T], relative: T, absolute: T = 0, _ label: @autoclosure () -> String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(
        actual.count == expected.count, "\(label()): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
    var failures = 0, worstIndex = -1
    var worstExcess = T.zero
    for i in 0..<min(actual.count, expected.count) {
        let a = actual[i], e = expected[i]
        if a.isNaN || e.isNaN {
            if a.isNaN != e.isNaN {
                failures += 1
                worstIndex = i
                worstExcess = .infinity
            }
            continue
        }
        let excess = (a - e).magnitude - (absolute + relative * e.magnitude)
        if excess > 0 || (a.isInfinite && a != e) {
            failures += 1
            if excess.isNaN || excess >= worstExcess || worstIndex < 0 {
                worstIndex = i
                worstExcess = excess.isNaN ? .infinity : excess
            }
        }
    }
    if failures > 0 {
        let a = actual[worstIndex], e = expected[worstIndex]
        let message =
            "\(label()): \(failures) of \(actual.count) values differ; worst [\(worstIndex)]: got \(a), "
            + "expected \(e) (|error| \((a - e).magnitude) > \(absolute) + \(relative)·|expected|)"
        Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
    }
}

/// |actual − expected| / max(|expected|, 1e-12): relative, with an absolute floor for zeros.
public func relativeError(_ actual: Double, _ expected: Double) -> Double {
    if actual == expected { return 0 }
    return abs(actual - expected) / max(abs(expected), 1e-12)
}

/// |got − want| in units of the last place of `want` rounded to Float (subnormal spacing below
/// the normal range). Matching infinities and NaNs count as 0; any other disagreement in class is +inf.
public func ulpError(_ got: Float, _ want: Double) -> Double {
    if want.isNaN || got.isNaN { return want.isNaN && got.isNaN ? 0 : .infinity }
    let rounded = Float(want)
    if rounded.isInfinite || got.isInfinite { return got == rounded ? 0 : .infinity }
    let spacing = Double(max(rounded.magnitude.ulp, Float.leastNonzeroMagnitude))
    return abs(Double(got) - want) / spacing
}
