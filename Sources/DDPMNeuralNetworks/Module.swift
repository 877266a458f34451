// Modules and parameters: explicit, named parameter enumeration (diffusers' names and layouts).
import DDPMTensors

/// A trainable tensor, held by reference so that an optimiser can update it in place.
public final class Parameter {
    /// The current value. During a training step it is a gradient leaf (`requiringGradient()`).
    public var value: Tensor

    public init(_ value: Tensor) { self.value = value }
}

/// A network component with named parameters.
///
/// Names follow diffusers / PyTorch `state_dict` keys (`conv1.weight`, `to_q.bias`, …), so a
/// module's parameters can be saved to and loaded from the Python ecosystem's files by name.
/// Enumeration is explicit (each module lists its children) and its order is fixed.
public protocol Module: AnyObject {
    /// Every parameter with its dotted name relative to this module, in a fixed order.
    var namedParameters: [(name: String, parameter: Parameter)] { get }
}

extension Module {
    /// Parameters only, in `namedParameters` order.
    public var parameters: [Parameter] { namedParameters.map(\.parameter) }

    /// Total number of scalars in all parameters.
    public var parameterCount: Int { namedParameters.reduce(0) { $0 + $1.parameter.value.scalarCount } }

    /// Parameters keyed by name.
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
    case evaluation
    case training(RandomSource)
}

/// The generators of one training forward pass, shared by reference across its modules: one per
/// example (batch row), so that example b's dropout masks come from `generators[b]` alone and do
/// not depend on how a batch is split (keyed randomness).
public final class RandomSource {
    public var generators: [PhiloxGenerator]

    public init(rows generators: [PhiloxGenerator]) { self.generators = generators }
}
