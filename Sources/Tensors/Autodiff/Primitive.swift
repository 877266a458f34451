// The differentiable primitives and the values each saves for its derivative.

/// One recorded operation. Its derivative is in `Derivatives.swift`.
@usableFromInline
enum Primitive {
    case identity

    var name: String { "\(self)".prefix { $0 != "(" }.description }
}
