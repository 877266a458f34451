// Modules and parameters: explicit, named parameter enumeration (diffusers' names and layouts).
import DDPMTensors

/// A trainable tensor, held by reference so that an optimiser can update it in place.
///
/// A module and the optimiser, the EMA and the checkpoint code all hold the same `Parameter`
/// objects; replacing ``value`` is seen by every one of them.
public final class Parameter {
    /// The current value. During a training step it is a gradient leaf (`requiringGradient()`,
    /// see ``Module/prepareForGradients()``).
    public var value: Tensor

    /// A parameter holding `value` (usually drawn by an ``Initializer``, or zeros for a bias).
    public init(_ value: Tensor) { self.value = value }
}

/// A network component with named parameters.
///
/// Names follow diffusers / PyTorch `state_dict` keys (`conv1.weight`, `to_q.bias`, …), so a
/// module's parameters can be saved to and loaded from the Python ecosystem's files by name
/// (``Module/saveParameters(to:metadata:)``, ``Module/loadParameters(from:allowNonFinite:)-(URL,_)``).
/// Enumeration is explicit (each module lists its children, with ``prefixed(_:_:)-(_,Module)``)
/// and its order is fixed: the optimiser, the EMA and `gradients(of:withRespectTo:)` all rely
/// on it.
///
/// A layer's forward pass is its `callAsFunction`; layers with dropout also take a
/// ``ForwardMode``.
public protocol Module: AnyObject {
    /// Every parameter with its dotted name relative to this module, in a fixed order.
    var namedParameters: [(name: String, parameter: Parameter)] { get }
}

extension Module {
    /// Parameters only, in `namedParameters` order.
    public var parameters: [Parameter] { namedParameters.map(\.parameter) }

    /// Total number of scalars in all parameters (35,746,307 for DDPM's CIFAR-10 U-Net).
    public var parameterCount: Int { namedParameters.reduce(0) { $0 + $1.parameter.value.scalarCount } }

    /// Parameters keyed by name (names must be unique, as ``namedParameters`` promises).
    public var parameterDictionary: [String: Parameter] {
        Dictionary(uniqueKeysWithValues: namedParameters.map { ($0.name, $0.parameter) })
    }

    /// Converts every parameter to `dtype` (e.g. `.float64` for gradient checks).
    public func convertParameters(to dtype: DType) {
        for p in parameters { p.value = p.value.converted(to: dtype) }
    }

    /// Makes every parameter a fresh gradient leaf (call before a forward pass that will be
    /// differentiated) and returns them in `namedParameters` order.
    @discardableResult
    public func prepareForGradients() -> [Tensor] {
        parameters.map { p in
            p.value = p.value.detached().requiringGradient()
            return p.value
        }
    }

    /// Drops gradient leaves from the parameters (after a step, so no graph stays reachable).
    public func detachParameters() {
        for p in parameters { p.value = p.value.detached() }
    }
}

/// The parameters of `child` with `prefix.` prepended to their names.
public func prefixed(_ prefix: String, _ child: Module) -> [(name: String, parameter: Parameter)] {
    child.namedParameters.map { (prefix + "." + $0.name, $0.parameter) }
}

/// The parameters of `children`, the i-th prefixed with `prefix.i`.
public func prefixed(_ prefix: String, _ children: [Module]) -> [(name: String, parameter: Parameter)] {
    children.enumerated().flatMap { prefixed("\(prefix).\($0.offset)", $0.element) }
}

/// Whether a forward pass trains (dropout active, drawing from the given source) or evaluates.
public enum ForwardMode {
    /// Dropout is the identity: sampling, the variational bound, any evaluation of the network.
    case evaluation
    /// Dropout is active and draws example b's masks from the source's `generators[b]` (DDPM's
    /// Algorithm 1; the trainer keys each generator by seed, step and example).
    case training(RandomSource)
}

/// The generators of one training forward pass, shared by reference across its modules: one per
/// example (batch row), so that example b's dropout masks come from `generators[b]` alone and do
/// not depend on how a batch is split (keyed randomness).
public final class RandomSource {
    /// One generator per batch row; each dropout layer advances the generators it draws from.
    public var generators: [PhiloxGenerator]

    /// A source with `generators[b]` for batch row b (the count must equal the batch size).
    public init(rows generators: [PhiloxGenerator]) { self.generators = generators }
}
