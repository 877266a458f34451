// Broadcasting addition, subtraction, multiplication, division and their scalar forms.

/// The four broadcasting binary operations.
enum BinaryOperation {
    case add, subtract, multiply, divide
}

extension Tensor {
    /// out = op(self, other) with numpy broadcasting; no gradient recording.
    func binary(_ operation: BinaryOperation, _ other: Tensor, _ opName: String) -> Tensor {
        precondition(dtype == other.dtype, "\(opName): dtypes differ, \(dtype) and \(other.dtype)")
        guard let outShape = broadcastShape(shape, other.shape) else {
            preconditionFailure("\(opName): shapes \(shape) and \(other.shape) do not broadcast")
        }
        // A blocked operand gives a blocked result when the other one can be walked in its order
        // (blocked too, or row-major and constant over channels or over positions: a per-channel
        // bias [N, C, 1, 1], a scalar) or reordered to it (a row-major operand of the result's
        // shape); otherwise both are read row-major.
        var (lhs, rhs) = (self, other)
        if layout != other.layout && outShape.count == 4 {
            if layout == .channelBlocked16 && other.shape == outShape && other.blockedWalk(outShape: outShape) == nil {
                rhs = other.inLayout(.channelBlocked16)
            } else if other.layout == .channelBlocked16 && shape == outShape && blockedWalk(outShape: outShape) == nil {
                lhs = inLayout(.channelBlocked16)
            }
        }
        let walks =
            (lhs.layout == .channelBlocked16 || rhs.layout == .channelBlocked16) && outShape.count == 4
            ? lhs.blockedWalk(outShape: outShape).flatMap { a in rhs.blockedWalk(outShape: outShape).map { (a, $0) } } : nil
        let plan: StridedPlan
        var out: Tensor
        if let (a, b) = walks {
            let block = TensorLayout.block
            let walk = [outShape[0], outShape[1] / block, outShape[2], outShape[3], block]
            plan = StridedPlan(outputShape: walk, operandShapes: [a, b])
            out = Tensor(uninitializedShape: outShape, dtype: dtype, layout: .channelBlocked16)
        } else {
            (lhs, rhs) = (lhs.inLayout(.rowMajor), rhs.inLayout(.rowMajor))
            plan = StridedPlan(outputShape: outShape, operandShapes: [shape, other.shape])
            out = Tensor(uninitializedShape: outShape, dtype: dtype)
        }
        if out.scalarCount == 0 { return out }
        func run<T: TensorScalar>(_: T.Type) {
            lhs.withUnsafeStoredElements(as: T.self) { a in
                rhs.withUnsafeStoredElements(as: T.self) { b in
                    out.withUnsafeMutableStoredElements(as: T.self) { c in
                        let (a, b, c) = (a.baseAddress!, b.baseAddress!, c.baseAddress!)
                        switch operation {
                        case .add: binaryKernel(plan, a, b, c, Sum.self)
                        case .subtract: binaryKernel(plan, a, b, c, Difference.self)
                        case .multiply: binaryKernel(plan, a, b, c, Product.self)
                        case .divide: binaryKernel(plan, a, b, c, Quotient.self)
                        }
                    }
                }
            }
        }
        switch dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        }
        return out
    }
}

/// A function of two scalars as a type: kernels generic over it are specialised for each
/// function, so its body is inlined into their loops and vectorised (a closure would stay an
/// indirect call per element, since the loops run inside a closure handed to the thread team).
protocol BinaryScalarFunction {
    static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T
}

enum Sum: BinaryScalarFunction {
    @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a + b }
}

enum Difference: BinaryScalarFunction {
    @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a - b }
}

enum Product: BinaryScalarFunction {
    @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a * b }
}

enum Quotient: BinaryScalarFunction {
    @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a / b }
}

/// c = F(a, b) over a strided plan with two operands; contiguous rows become plain loops that
/// the compiler vectorises (the three stride patterns 1/1, 1/0 and 0/1 are separate loops).
func binaryKernel<T: TensorScalar, F: BinaryScalarFunction>(
    _ plan: StridedPlan, _ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ c: UnsafeMutablePointer<T>, _: F.Type
) {
    @inline(__always) func f(_ x: T, _ y: T) -> T { F.apply(x, y) }
    let n = plan.rowLength
    let sa = plan.strides[0].last!
    let sb = plan.strides[1].last!
    let rows = plan.rows
    func row(_ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ c: UnsafeMutablePointer<T>, _ range: Range<Int>) {
        if sa == 1 && sb == 1 {
            for i in range { c[i] = f(a[i], b[i]) }
        } else if sa == 1 && sb == 0 {
            let y = b[0]
            for i in range { c[i] = f(a[i], y) }
        } else if sa == 0 && sb == 1 {
            let x = a[0]
            for i in range { c[i] = f(x, b[i]) }
        } else {
            for i in range { c[i] = f(a[i * sa], b[i * sb]) }
        }
    }
    if rows == 1 {
        parallelChunks(n) { range in row(a, b, c, range) }
    } else {
        parallelChunks(rows, grain: max(1, 32_768 / max(n, 1))) { range in
            plan.forEachRow(in: range) { r, offsetA, offsetB in row(a + offsetA, b + offsetB, c + r * n, 0..<n) }
        }
    }
}

// MARK: - Differentiable operators

extension Tensor {
    /// Elementwise sum with numpy broadcasting (``broadcastShape(_:_:)``); both operands must have
    /// the same dtype. The gradient of each operand is g summed back to its shape.
    public static func + (lhs: Tensor, rhs: Tensor) -> Tensor {
        var out = lhs.binary(.add, rhs, "add")
        out.record(.add(lhsShape: lhs.shape, rhsShape: rhs.shape), inputs: [lhs, rhs])
        return out
    }

    /// Elementwise difference with numpy broadcasting; both operands must have the same dtype.
    public static func - (lhs: Tensor, rhs: Tensor) -> Tensor {
        var out = lhs.binary(.subtract, rhs, "subtract")
        out.record(.subtract(lhsShape: lhs.shape, rhsShape: rhs.shape), inputs: [lhs, rhs])
        return out
    }

    /// Elementwise (Hadamard) product with numpy broadcasting; both operands must have the same
    /// dtype. An operand is saved for the derivative only when the other one needs a gradient.
    public static func * (lhs: Tensor, rhs: Tensor) -> Tensor {
        var out = lhs.binary(.multiply, rhs, "multiply")
        out.record(
            .multiply(
                lhs: rhs.requiresGradient ? lhs.detached() : nil, rhs: lhs.requiresGradient ? rhs.detached() : nil,
                lhsShape: lhs.shape, rhsShape: rhs.shape),
            inputs: [lhs, rhs])
        return out
    }

    /// Elementwise quotient with numpy broadcasting; both operands must have the same dtype.
    /// Derivatives: ∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = −a/b².
    public static func / (lhs: Tensor, rhs: Tensor) -> Tensor {
        var out = lhs.binary(.divide, rhs, "divide")
        out.record(
            .divide(lhs: rhs.requiresGradient ? lhs.detached() : nil, rhs: rhs.detached(), lhsShape: lhs.shape, rhsShape: rhs.shape),
            inputs: [lhs, rhs])
        return out
    }

    /// self · factor, elementwise (`factor` rounded to the dtype).
    public func scaled(by factor: Double) -> Tensor {
        var out = scaledValues(factor)
        out.record(.scale(factor), inputs: [self])
        return out
    }

    /// self + offset, elementwise (`offset` rounded to the dtype).
    public func shifted(by offset: Double) -> Tensor {
        var out = binary(.add, Tensor(scalar: offset, dtype: dtype), "shift")
        out.record(.shift, inputs: [self])
        return out
    }

    /// −x, elementwise.
    public static prefix func - (x: Tensor) -> Tensor {
        var out = x.scaledValues(-1)
        out.record(.negate, inputs: [x])
        return out
    }

    /// lhs · rhs elementwise (``scaled(by:)``).
    public static func * (lhs: Tensor, rhs: Double) -> Tensor { lhs.scaled(by: rhs) }
    /// lhs · rhs elementwise (``scaled(by:)``).
    public static func * (lhs: Double, rhs: Tensor) -> Tensor { rhs.scaled(by: lhs) }
    /// lhs / rhs elementwise, computed as lhs · (1/rhs) with 1/rhs rounded once.
    public static func / (lhs: Tensor, rhs: Double) -> Tensor { lhs.scaled(by: 1 / rhs) }
    /// lhs + rhs elementwise (``shifted(by:)``).
    public static func + (lhs: Tensor, rhs: Double) -> Tensor { lhs.shifted(by: rhs) }
    /// lhs + rhs elementwise (``shifted(by:)``).
    public static func + (lhs: Double, rhs: Tensor) -> Tensor { rhs.shifted(by: lhs) }
    /// lhs − rhs elementwise (``shifted(by:)`` by −rhs).
    public static func - (lhs: Tensor, rhs: Double) -> Tensor { lhs.shifted(by: -rhs) }
    /// lhs − rhs elementwise, computed as (−rhs) + lhs.
    public static func - (lhs: Double, rhs: Tensor) -> Tensor { (-rhs).shifted(by: lhs) }
    /// lhs / rhs elementwise: a rank-0 tensor of lhs divided by rhs (broadcast).
    public static func / (lhs: Double, rhs: Tensor) -> Tensor { Tensor(scalar: lhs, dtype: rhs.dtype) / rhs }
}
