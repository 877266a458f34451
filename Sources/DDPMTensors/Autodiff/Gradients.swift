// Reverse-mode differentiation: walk the graph from the output back to the requested leaves.

/// The gradients ∂output/∂p of a one-element `output` (a loss) with respect to each tensor p in
/// `parameters`, by reverse-mode differentiation of the recorded graph.
///
/// `parameters` must be leaves made by ``Tensor/requiringGradient()``. A parameter that `output`
/// does not depend on gets a gradient of zeros. Gradients of values used several times are summed.
/// The graph is consumed: each node's saved values are released once its derivative has been
/// applied, and differentiating the same graph twice is a programmer error.
///
/// Each gradient has its parameter's shape and dtype. The backward pass runs with recording off,
/// so the gradients carry no graph of their own (no higher-order derivatives).
///
/// ```swift
/// let w = weight.requiringGradient()
/// let loss = meanSquaredError(matmul(x, w), y)
/// let dw = gradients(of: loss, withRespectTo: [w])[0]
/// ```
public func gradients(of output: Tensor, withRespectTo parameters: [Tensor]) -> [Tensor] {
    precondition(output.scalarCount == 1, "gradients(of:): output must have one element, got shape \(output.shape)")
    let seed = Tensor(repeating: 1, shape: output.shape, dtype: output.dtype)
    return gradients(of: output, seed: seed, withRespectTo: parameters)
}

/// ``gradients(of:withRespectTo:)`` that also hands each gradient to `whenReady` (with its index
/// in `parameters`) as soon as it is final, while the backward pass goes on.
///
/// A leaf's gradient is final when the walk reaches the leaf: every node that used it comes
/// earlier in the reverse topological order and has already added its part. Data-parallel
/// training uses this to start sending the gradients of the last layers while the first layers'
/// are still being computed (as PyTorch's DDP buckets do). Parameters the output does not depend
/// on are handed over, as zeros, after the walk. `whenReady` is called once per parameter, on the
/// calling thread, and must not record operations.
public func gradients(of output: Tensor, withRespectTo parameters: [Tensor], whenReady: (Int, Tensor) -> Void) -> [Tensor] {
    precondition(output.scalarCount == 1, "gradients(of:): output must have one element, got shape \(output.shape)")
    let seed = Tensor(repeating: 1, shape: output.shape, dtype: output.dtype)
    return withoutActuallyEscaping(whenReady) { gradients(of: output, seed: seed, withRespectTo: parameters, whenReady: $0) }
}

/// Vector–Jacobian product: the gradients of Σ output ⊙ `seed` with respect to each tensor in
/// `parameters`, for an `output` of any shape (`seed` has the same shape).
///
/// ``gradients(of:withRespectTo:)`` is this with a seed of ones on a one-element output. The
/// same rules hold: leaves only, zeros for parameters not reached, the graph consumed.
/// `whenReady`, when given, receives each gradient with its index in `parameters` as soon as it
/// is final (see ``gradients(of:withRespectTo:whenReady:)``).
public func gradients(
    of output: Tensor, seed: Tensor, withRespectTo parameters: [Tensor], whenReady: ((Int, Tensor) -> Void)? = nil
) -> [Tensor] {
    precondition(seed.shape == output.shape, "gradients(of:seed:): seed shape \(seed.shape) ≠ output shape \(output.shape)")
    for p in parameters {
        precondition(p.node?.isLeaf == true, "gradients(of:): parameter of shape \(p.shape) is not a leaf made by requiringGradient()")
    }
    guard let root = output.node else {
        let zeros = parameters.map { Tensor(zeros: $0.shape, dtype: $0.dtype) }
        if let whenReady { for (i, z) in zeros.enumerated() { whenReady(i, z) } }
        return zeros
    }
    let order = topologicalOrder(from: root)
    var pending: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): seed.detached()]
    // The indices in `parameters` of each wanted leaf (a tensor may be passed more than once).
    var wanted: [ObjectIdentifier: [Int]] = [:]
    for (i, p) in parameters.enumerated() { wanted[ObjectIdentifier(p.node!), default: []].append(i) }
    var found: [ObjectIdentifier: Tensor] = [:]

    withoutGradients {
        for node in order.reversed() {
            let id = ObjectIdentifier(node)
            guard let grad = pending.removeValue(forKey: id) else { continue }
            if node.isLeaf {
                if let indices = wanted[id] {
                    found[id] = grad
                    if let whenReady { for i in indices { whenReady(i, grad) } }
                }
                continue
            }
            guard let primitive = node.primitive else {
                preconditionFailure("gradients(of:): this graph was already differentiated; record it again")
            }
            let inputGrads = primitive.vectorJacobianProducts(grad, needs: node.inputs.map { $0 != nil })
            precondition(
                inputGrads.count == node.inputs.count,
                "gradients(of:): \(primitive.name) returned \(inputGrads.count) gradients for \(node.inputs.count) inputs")
            node.primitive = nil  // release saved values as soon as they have been used
            for (input, g) in zip(node.inputs, inputGrads) {
                guard let input, let g else { continue }
                precondition(
                    g.shape == input.shape,
                    "gradients(of:): \(primitive.name) gave gradient shape \(g.shape) for input shape \(input.shape)")
                let key = ObjectIdentifier(input)
                if var existing = pending.removeValue(forKey: key) {
                    existing.accumulate(g)
                    pending[key] = existing
                } else {
                    pending[key] = g
                }
            }
            node.inputs = []
        }
    }
    return parameters.enumerated().map { i, p in
        if let grad = found[ObjectIdentifier(p.node!)] { return grad }
        let zeros = Tensor(zeros: p.shape, dtype: p.dtype)
        whenReady?(i, zeros)
        return zeros
    }
}

/// Nodes reachable from `root`, each after all of its inputs (iterative depth-first search).
private func topologicalOrder(from root: GradNode) -> [GradNode] {
    var order: [GradNode] = []
    var visited = Set<ObjectIdentifier>()
    var stack: [(GradNode, Bool)] = [(root, false)]
    while let (node, expanded) = stack.popLast() {
        let id = ObjectIdentifier(node)
        if expanded {
            order.append(node)
            continue
        }
        if visited.contains(id) { continue }
        visited.insert(id)
        stack.append((node, true))
        for input in node.inputs {
            if let input, !visited.contains(ObjectIdentifier(input)) { stack.append((input, false)) }
        }
    }
    return order
}

extension Tensor {
    /// self += other, elementwise, same shape; in place when the storage is not shared.
    mutating func accumulate(_ other: Tensor) {
        precondition(shape == other.shape && dtype == other.dtype, "accumulate: shape \(shape) vs \(other.shape)")
        switch dtype {
        case .float32: accumulate(other, as: Float.self)
        case .float64: accumulate(other, as: Double.self)
        }
    }

    private mutating func accumulate<T: TensorScalar>(_ other: Tensor, as: T.Type) {
        let other = other.inLayout(layout)
        other.withUnsafeStoredElements(as: T.self) { source in
            withUnsafeMutableStoredElements(as: T.self) { target in
                let (s, t) = (source.baseAddress!, target.baseAddress!)
                parallelChunks(source.count) { range in
                    for i in range { t[i] += s[i] }
                }
            }
        }
    }
}
