// Every primitive's derivative (vector–Jacobian product), in one place.
//
// Each case receives g = ∂L/∂output and returns ∂L/∂input for each input, in operand order,
// computing only those marked in `needs`. Derivatives run with recording off, so they may use
// the public operators freely.
import Foundation

extension Primitive {
    /// Gradients of the primitive's inputs given the gradient of its output.
    func vectorJacobianProducts(_ g: Tensor, needs: [Bool]) -> [Tensor?] {
        func need(_ i: Int, _ make: () -> Tensor) -> Tensor? { needs[i] ? make() : nil }
        switch self {
        case let .add(lhsShape, rhsShape):
            return [need(0) { g.summed(toShape: lhsShape) }, need(1) { g.summed(toShape: rhsShape) }]
        case let .subtract(lhsShape, rhsShape):
            return [need(0) { g.summed(toShape: lhsShape) }, need(1) { g.scaledValues(-1).summed(toShape: rhsShape) }]
        case let .multiply(lhs, rhs, lhsShape, rhsShape):
            return [need(0) { (g * rhs!).summed(toShape: lhsShape) }, need(1) { (g * lhs!).summed(toShape: rhsShape) }]
        case let .divide(lhs, rhs, lhsShape, rhsShape):
            // d(a/b)/da = 1/b, d(a/b)/db = −a/b².
            return [
                need(0) { (g / rhs).summed(toShape: lhsShape) },
                need(1) { (g * lhs! / (rhs * rhs)).scaledValues(-1).summed(toShape: rhsShape) },
            ]
        case let .scale(c):
            return [g.scaledValues(c)]
        case .shift:
            return [g]
        case .negate:
            return [g.scaledValues(-1)]
        case let .exp(y):
            return [g * y]
        case let .log(x):
            return [g / x]
        case let .sqrt(y):
            return [g / y.scaledValues(2)]
        case let .square(x):
            return [g * x.scaledValues(2)]
        case let .tanh(y):
            return [g * y.mapValues { 1 - $0 * $0 }]
        case let .sigmoid(y):
            return [g * y.mapValues { $0 * (1 - $0) }]
        case let .silu(x):
            return [x.siluBackward(g)]
        case let .erf(x):
            // d/dx erf x = (2/√π) e^(−x²).
            return [g * x.mapValues { 2 / Double.pi.squareRoot() * Foundation.exp(-$0 * $0) }]
        case let .abs(x):
            return [g * x.mapValues { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }]
        case let .clamp(x, lower, upper):
            let lo = lower ?? -.infinity, hi = upper ?? .infinity
            return [g * x.mapValues { $0 >= lo && $0 <= hi ? 1 : 0 }]
        case let .sum(inputShape):
            return [g.broadcast(to: inputShape)]
        case let .broadcast(inputShape):
            return [g.summed(toShape: inputShape)]
        case let .reshape(inputShape):
            return [g.reshaped(inputShape)]
        case let .permute(axes):
            var inverse = [Int](repeating: 0, count: axes.count)
            for (i, a) in axes.enumerated() { inverse[a] = i }
            return [g.permutedValues(inverse)]
        case let .concatenate(axis, sizes):
            let pieces = g.split(sizes: sizes, axis: axis)
            return pieces.enumerated().map { needs[$0.offset] ? $0.element : nil }
        case let .slice(axis, range, inputShape):
            return [g.padded(into: inputShape, axis: axis, range: range)]
        case let .matmul(a, b, tA, tB):
            // C = op(A)·op(B): d op(A) = g·op(B)ᵀ, d op(B) = op(A)ᵀ·g.
            return [
                need(0) { tA ? DDPMTensors.matmul(b!, g, transposeA: tB, transposeB: true) : DDPMTensors.matmul(g, b!, transposeB: !tB) },
                need(1) { tB ? DDPMTensors.matmul(g, a!, transposeA: true, transposeB: tA) : DDPMTensors.matmul(a!, g, transposeA: !tA) },
            ]
        case let .conv2d(x, w, hasBias, geometry):
            let dx = need(0) {
                var dx = Tensor(
                    uninitializedShape: geometry.inputShape, dtype: g.dtype, layout: .preferred(for: geometry.inputShape, g.dtype))
                if dx.scalarCount > 0 { KernelDispatch.conv2DBackwardData(g, w!, &dx, geometry) }
                return dx
            }
            // Kernels overwrite dw and db; a zero-sized batch leaves them zero.
            let empty = g.scalarCount == 0
            func buffer(_ shape: [Int]) -> Tensor {
                empty ? Tensor(zeros: shape, dtype: g.dtype) : Tensor(uninitializedShape: shape, dtype: g.dtype)
            }
            var db: Tensor? = hasBias && needs[2] ? buffer([geometry.outChannels]) : nil
            var dw: Tensor? = nil
            if needs[1] {
                var weightGrad = buffer(geometry.weightShape)
                if !empty { KernelDispatch.conv2DBackwardWeights(x!.tensor, g, &weightGrad, &db, geometry) }
                dw = weightGrad
            } else if db != nil, !empty {
                db = g.summed(toShape: [1, geometry.outChannels, 1, 1]).reshaped([geometry.outChannels])
            }
            return hasBias ? [dx, dw, db] : [dx, dw]
        case let .groupNorm(x, gamma, mean, rstd, groups):
            var dx = Tensor(uninitializedShape: x.shape, dtype: g.dtype, layout: KernelDispatch.groupNormLayout(x, groups: groups))
            var dgamma = Tensor(zeros: gamma.shape, dtype: g.dtype)
            var dbeta = Tensor(zeros: gamma.shape, dtype: g.dtype)
            if x.scalarCount > 0 {
                KernelDispatch.groupNormBackward(x, gamma, nil, mean, rstd, g, &dx, &dgamma, &dbeta, groups: groups)
            }
            return [dx, dgamma, dbeta]
        case let .groupNormSiLU(x, gamma, beta, mean, rstd, groups):
            // z = groupNorm(x) (recomputed), dz = g·silu′(z), then the group norm's derivative of dz.
            var dx = Tensor(uninitializedShape: x.shape, dtype: g.dtype, layout: KernelDispatch.groupNormLayout(x, groups: groups))
            var dgamma = Tensor(zeros: gamma.shape, dtype: g.dtype)
            var dbeta = Tensor(zeros: gamma.shape, dtype: g.dtype)
            if x.scalarCount > 0 {
                KernelDispatch.groupNormBackward(x, gamma, beta, mean, rstd, g, &dx, &dgamma, &dbeta, groups: groups)
            }
            return [dx, dgamma, dbeta]
        case let .softmax(y, axis):
            var dx = Tensor(uninitializedShape: y.shape, dtype: g.dtype)
            if y.scalarCount > 0 {
                KernelDispatch.softmaxBackward(
                    y, g, &dx, outer: y.shape[..<axis].reduce(1, *), axis: y.shape[axis],
                    inner: y.shape[(axis + 1)...].reduce(1, *))
            }
            return [dx]
        case let .tokens(imageShape):
            return [g.imageValues(imageShape)]
        case .image:
            return [g.tokenValues()]
        case let .upsampleNearest2x(inputShape):
            let dx = g.summedOver2x2Blocks()
            precondition(dx.shape == inputShape, "upsampleNearest2x: gradient shape \(dx.shape) ≠ input \(inputShape)")
            return [dx]
        case let .gather(indices, tableSize):
            return [g.scatteredSum(indices: indices, size: tableSize)]
        }
    }
}
