// The differentiable primitives and the values each saves for its derivative (in Derivatives.swift).

/// One recorded operation. Saved tensors are detached copies (storage only, no graph node), and
/// an operand is saved only when the other operand's gradient needs it.
@usableFromInline
enum Primitive {
    // Broadcasting arithmetic (shapes are the operands' shapes before broadcasting).
    case add(lhsShape: [Int], rhsShape: [Int])
    case subtract(lhsShape: [Int], rhsShape: [Int])
    case multiply(lhs: Tensor?, rhs: Tensor?, lhsShape: [Int], rhsShape: [Int])
    case divide(lhs: Tensor?, rhs: Tensor, lhsShape: [Int], rhsShape: [Int])
    case scale(Double)
    case shift
    // Elementwise functions (input x or output y saved, whichever the derivative reads).
    case negate
    case exp(output: Tensor)
    case log(input: Tensor)
    case sqrt(output: Tensor)
    case square(input: Tensor)
    case tanh(output: Tensor)
    case sigmoid(output: Tensor)
    case silu(input: Tensor)
    case erf(input: Tensor)
    case abs(input: Tensor)
    case clamp(input: Tensor, min: Double?, max: Double?)
    // Reductions and shapes.
    case sum(inputShape: [Int])
    case broadcast(inputShape: [Int])
    case reshape(inputShape: [Int])
    case permute(axes: [Int])
    case concatenate(axis: Int, sizes: [Int])
    case slice(axis: Int, range: Range<Int>, inputShape: [Int])
    // Linear algebra and network layers (NCHW).
    case matmul(lhs: Tensor?, rhs: Tensor?, transposeA: Bool, transposeB: Bool)
    case conv2d(input: SavedTensor?, weight: Tensor?, hasBias: Bool, geometry: Conv2DGeometry)
    case groupNorm(input: Tensor, gamma: Tensor, mean: Tensor, rstd: Tensor, groups: Int)
    case groupNormSiLU(input: Tensor, gamma: Tensor, beta: Tensor, mean: Tensor, rstd: Tensor, groups: Int)
    case softmax(output: Tensor, axis: Int)
    case upsampleNearest2x(inputShape: [Int])
    case tokens(imageShape: [Int])
    case image(imageShape: [Int])
    case gather(indices: [Int], tableSize: Int)

    var name: String { String("\(self)".prefix { $0 != "(" }) }
}
