// Values that the backward pass computes again instead of keeping: a convolution's input when it is a cheap function of tensors kept anyway.

/// How to compute a tensor's values again from tensors that the graph keeps anyway.
///
/// The trick: a convolution keeps its input x for the gradient of its weights. In DDPM's U-Net
/// that input is SiLU(GroupNorm(h)), possibly times a dropout mask, and the group norm keeps h
/// (and the multiply keeps the mask) for their own derivatives; so the convolution keeps this
/// recipe instead of x, and the backward pass recomputes x (one group-norm pass, deterministic:
/// the same values bit for bit) when it needs it. That drops one activation tensor per
/// convolution from what a training step holds between its forward and backward passes.
@usableFromInline
final class Recomputation {
    let values: () -> Tensor

    init(_ values: @escaping () -> Tensor) { self.values = values }
}

/// A tensor a primitive keeps for its derivative: the tensor, or how to compute it again.
@usableFromInline
enum SavedTensor {
    case kept(Tensor)
    case recomputed(Recomputation)

    /// Keeps `tensor`'s recipe when it has one (and recomputation is on), else the tensor itself (detached).
    init(_ tensor: Tensor) {
        if ActivationMemory.recomputesConvolutionInputs, let recipe = tensor.recomputation {
            self = .recomputed(recipe)
        } else {
            self = .kept(tensor.detached())
        }
    }

    /// The values.
    var tensor: Tensor {
        switch self {
        case .kept(let tensor): tensor
        case .recomputed(let recipe): recipe.values()
        }
    }
}

/// What a training step keeps between its forward and backward passes.
public enum ActivationMemory {
    /// Whether a convolution whose input is SiLU(GroupNorm(h)) (times a dropout mask) keeps how to
    /// compute it again rather than the input itself, so the backward pass recomputes it (one
    /// group-norm pass; the same values bit for bit). On by default: it drops one activation tensor
    /// per such convolution, 13 % of a `fashion` training step's peak memory. Off keeps every input.
    nonisolated(unsafe) public static var recomputesConvolutionInputs = true
}
