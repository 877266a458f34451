// The closed-formula weights of scripts/reference/make_fid_fixture.py for pytorch-fid's InceptionV3 state_dict entries.

/// The number make_fid_fixture.py puts at element `i` (row-major) of the state_dict entry `name`
/// of shape `shape`, as Float32: u = lowbias32((FNV-1a(name) + i·0x9E3779B9) mod 2³²) / 2³², then
/// conv weights (2u − 1)·√(6 / fan-in), BatchNorm γ 0.8 + 0.4u, β and running mean 0.1·(2u − 1),
/// running variance 0.5 + u (each in Float64, rounded once).
public func fidFormulaWeights(name: String, shape: [Int]) -> [Float] {
    var seed: UInt32 = 0x811C_9DC5
    for byte in name.utf8 { seed = (seed ^ UInt32(byte)) &* 0x0100_0193 }
    func uniform(_ i: Int) -> Double {
        var x = seed &+ UInt32(truncatingIfNeeded: i) &* 0x9E37_79B9
        x ^= x >> 16
        x &*= 0x7FEB_352D
        x ^= x >> 15
        x &*= 0x846C_A68B
        x ^= x >> 16
        return Double(x) / 4_294_967_296
    }
    let value: (Double) -> Double
    if name.hasSuffix(".conv.weight") {
        let bound = (6.0 / Double(shape[1] * shape[2] * shape[3])).squareRoot()
        value = { (2 * $0 - 1) * bound }
    } else if name.hasSuffix(".bn.weight") {
        value = { 0.8 + 0.4 * $0 }
    } else if name.hasSuffix(".bn.bias") || name.hasSuffix(".bn.running_mean") {
        value = { 0.1 * (2 * $0 - 1) }
    } else if name.hasSuffix(".bn.running_var") {
        value = { 0.5 + $0 }
    } else {
        preconditionFailure("fidFormulaWeights: no formula for \(name)")
    }
    return (0..<shape.reduce(1, *)).map { Float(value(uniform($0))) }
}
