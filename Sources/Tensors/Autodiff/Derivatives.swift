// Every primitive's derivative, in one place.

extension Primitive {
    /// Gradients of the primitive's inputs given the gradient of its output.
    func vectorJacobianProducts(_ grad: Tensor, needs: [Bool]) -> [Tensor?] {
        switch self {
        case .identity: [grad]
        }
    }
}
