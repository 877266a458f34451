// Energy distance between two point sets (Székely & Rizzo): the distribution distance the toy checks use.

/// 2·E‖X − Y‖ − E‖X − X'‖ − E‖Y − Y'‖ for point sets given as interleaved coordinates
/// (`dimension` numbers per point), on at most `limit` points of each (the cost is quadratic).
/// Zero exactly when the two distributions agree; for the swiss roll against a standard normal
/// of the same size it is about 0.3.
public func energyDistance(_ a: [Float], _ b: [Float], dimension: Int = 2, limit: Int = 1000) -> Double {
    precondition(
        dimension >= 1 && a.count % dimension == 0 && b.count % dimension == 0,
        "energyDistance: \(a.count) and \(b.count) values are not points of dimension \(dimension)")
    let x = Array(a.prefix(limit * dimension).map(Double.init)), y = Array(b.prefix(limit * dimension).map(Double.init))
    func meanDistance(_ p: [Double], _ q: [Double]) -> Double {
        let (n, m) = (p.count / dimension, q.count / dimension)
        var total = 0.0
        for i in 0..<n {
            for j in 0..<m {
                var squared = 0.0
                for d in 0..<dimension {
                    let diff = p[i * dimension + d] - q[j * dimension + d]
                    squared += diff * diff
                }
                total += squared.squareRoot()
            }
        }
        return total / Double(max(n * m, 1))
    }
    return 2 * meanDistance(x, y) - meanDistance(x, x) - meanDistance(y, y)
}
