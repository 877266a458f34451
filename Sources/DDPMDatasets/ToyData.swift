// 2-D toy distributions generated in code: Sohl-Dickstein's swiss roll and a ring of 8 Gaussians.
import Foundation
import DDPMTensors

/// Two-dimensional toy datasets, deterministic given the generator.
public enum ToyData {
    /// Mean of (t cos t, t sin t) for t ~ U(1.5π, 4.5π): exactly (2, 2/(3π)).
    public static let swissRollMean = (x: 2.0, y: 2 / (3 * Double.pi))
    /// The common scale σ that divides both coordinates: √((Var x + Var y)/2) = 6.78909 for the
    /// unscaled roll (Var x = 43.8643, Var y = 48.3193, by quadrature).
    public static let swissRollScale = 6.789094610972262
    /// Per-coordinate variances after scaling (no noise): 43.8643/σ², 48.3193/σ².
    public static let swissRollVariance = (x: 0.9516728808811953, y: 1.0483271191188048)

    /// Sohl-Dickstein et al. (2015)'s swiss roll: t ~ U(1.5π, 4.5π), point (t cos t, t sin t).
    ///
    /// Scaling (ours, documented): the exact mean (2, 2/(3π)) is subtracted and both coordinates
    /// are divided by the same σ = 6.789, so the roll keeps its shape, has mean 0 and variances
    /// (0.952, 1.048) — unit variance on average. Then isotropic Gaussian noise of standard
    /// deviation `noise` is added (default 0: points lie on the curve).
    /// Each point draws t, then (with noise) two normals, from `generator`.
    /// - Returns: `count × 2` points.
    public static func swissRoll(count: Int, noise: Double = 0, generator: inout PhiloxGenerator) -> Dataset {
        var points = [Float](repeating: 0, count: 2 * count)
        for i in 0..<count {
            let t = 1.5 * Double.pi * (1 + 2 * generator.nextUniform())
            var x = (t * cos(t) - swissRollMean.x) / swissRollScale
            var y = (t * sin(t) - swissRollMean.y) / swissRollScale
            if noise > 0 {
                let (a, b) = normalPair(&generator)
                x += noise * a
                y += noise * b
            }
            points[2 * i] = Float(x)
            points[2 * i + 1] = Float(y)
        }
        return Dataset(name: "swissroll", points: points, dimension: 2)
    }

    /// Radius of the ring of Gaussian centres: √2, so that with std σ each coordinate has
    /// mean 0 and variance 1 + σ².
    public static let gaussianRingRadius = 2.0.squareRoot()

    /// A mixture of 8 equally weighted Gaussians with centres at angles 2πk/8 on a circle of
    /// radius √2 and isotropic standard deviation `standardDeviation` (default 0.1, well
    /// separated modes). Mean 0, per-coordinate variance 1 + σ². Labels are the component k.
    /// Each point draws k, then two normals.
    public static func gaussianRing(count: Int, standardDeviation: Double = 0.1, generator: inout PhiloxGenerator) -> Dataset {
        var points = [Float](repeating: 0, count: 2 * count)
        var labels = [Int](repeating: 0, count: count)
        for i in 0..<count {
            let k = generator.nextInt(below: 8)
            let angle = 2 * Double.pi * Double(k) / 8
            let (a, b) = normalPair(&generator)
            points[2 * i] = Float(gaussianRingRadius * cos(angle) + standardDeviation * a)
            points[2 * i + 1] = Float(gaussianRingRadius * sin(angle) + standardDeviation * b)
            labels[i] = k
        }
        return Dataset(name: "gaussians8", points: points, dimension: 2, labels: labels)
    }

    /// Two independent standard normals by the Box–Muller transform (as `Tensor.randomNormal`).
    static func normalPair(_ generator: inout PhiloxGenerator) -> (Double, Double) {
        let u1 = 1 - generator.nextUniform()  // (0, 1]
        let u2 = generator.nextUniform()
        let r = (-2 * log(u1)).squareRoot()
        return (r * cos(2 * Double.pi * u2), r * sin(2 * Double.pi * u2))
    }
}
