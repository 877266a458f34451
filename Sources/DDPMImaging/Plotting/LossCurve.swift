// Loss curves: the loss of each step with its moving average over it, on a log axis when the loss
// spans a decade or more — shared by `ddpm demo` and `ddpm train`'s loss.png.

extension Plot {
    /// A plot of training losses against the step: the loss of every step (thin, light) with its
    /// moving average on top (``movingAverage(_:window:)``, a window of 1/50 of the steps, at most
    /// 500; none when under 3 steps).
    ///
    /// The y axis is logarithmic (``AxisScale``, with 2× and 5× ticks inside a decade) when every
    /// loss is positive and the largest is at least ten times the smallest, and linear otherwise
    /// (a loss that can be negative, or one that spans less than a decade). Curves of more than
    /// `maximumPoints` steps are drawn through every k-th step (the moving average is taken over
    /// all of them first), so that pictures of long runs stay small.
    /// - Parameters:
    ///   - steps: the step of each loss; nil: 1, 2, 3, …
    ///   - losses: the loss of each step; non-finite values break the curve.
    ///   - title: the plot's title.
    ///   - maximumPoints: the most points a curve is drawn through.
    public static func lossCurve(
        steps: [Double]? = nil, losses: [Double], title: String = FigureText.trainingLoss, maximumPoints: Int = 2000
    )
        -> Plot
    {
        let steps = steps ?? losses.indices.map { Double($0 + 1) }
        precondition(steps.count == losses.count, "Plot.lossCurve: \(steps.count) steps, \(losses.count) losses")
        let window = min(500, losses.count / 50)
        var plot = Plot(title: title, xLabel: FigureText.step, yLabel: FigureText.loss, logY: prefersLogarithmicAxis(losses))
        let stride = max(1, (losses.count + maximumPoints - 1) / max(1, maximumPoints))
        func thinned(_ values: [Double]) -> [Double] {
            guard stride > 1, let last = values.indices.last else { return values }
            let kept = Array(Swift.stride(from: 0, to: values.count, by: stride))
            return (kept.last == last ? kept : kept + [last]).map { values[$0] }
        }
        let label = window >= 3 ? FigureText.lossPerStep : nil
        plot.line(x: thinned(steps), y: thinned(losses), color: window >= 3 ? .sky : .blue, label: label)
        if window >= 3 {
            plot.line(
                x: thinned(steps), y: thinned(movingAverage(losses, window: window)), color: .blue, thickness: 2,
                label: FigureText.movingAverage(window: window))
        }
        return plot
    }

    /// Whether `values` read best on a log axis: all finite ones positive, spanning a factor of
    /// ten or more.
    public static func prefersLogarithmicAxis(_ values: [Double]) -> Bool {
        let finite = values.filter(\.isFinite)
        guard let smallest = finite.min(), let largest = finite.max(), smallest > 0 else { return false }
        return largest >= 10 * smallest
    }

    /// The mean of each value and the `window − 1` before it (fewer at the start); non-finite
    /// values are skipped.
    public static func movingAverage(_ values: [Double], window: Int) -> [Double] {
        precondition(window >= 1, "Plot.movingAverage: window \(window)")
        var out: [Double] = []
        out.reserveCapacity(values.count)
        var sum = 0.0, count = 0
        for (i, v) in values.enumerated() {
            if v.isFinite {
                sum += v
                count += 1
            }
            if i >= window, values[i - window].isFinite {
                sum -= values[i - window]
                count -= 1
            }
            out.append(count > 0 ? sum / Double(count) : .nan)
        }
        return out
    }
}
