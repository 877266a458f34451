// Weight initialisation as in the official DDPM code (variance scaling, fan-average, uniform).
import DDPMTensors

/// Initialisers of the DDPM TensorFlow code (`nn.default_init`), drawing from an injected
/// `PhiloxGenerator` so that a seed fixes every initial weight.
public enum Initializer {
    /// Uniform in [−a, a] with a = √(3·scale / ((fanIn + fanOut)/2)): TF's
    /// `variance_scaling(scale, 'fan_avg', 'uniform')`. For a convolution fanIn = in·kH·kW and
    /// fanOut = out·kH·kW. The official code replaces scale 0 by 1e-10 ("zero-initialised"
    /// output layers that still break symmetry); `scale: 0` does the same here.
    ///
    /// - Parameters:
    ///   - shape: the weight's shape ([out, in] for a linear layer, OIHW for a convolution).
    ///   - fanIn: inputs feeding each output.
    ///   - fanOut: outputs fed by each input.
    ///   - scale: the variance scale; 0 stands for 1e-10.
    ///   - dtype: the element type of the result.
    ///   - generator: the source of the uniform draws, one per element in row-major order.
    /// - Returns: a tensor of `shape` with values uniform in [−a, a).
    public static func varianceScaling(
        shape: [Int], fanIn: Int, fanOut: Int, scale: Double = 1, dtype: DType = .float32,
        generator: inout PhiloxGenerator
    ) -> Tensor {
        let s = scale == 0 ? 1e-10 : scale
        let limit = (3 * s / (Double(fanIn + fanOut) / 2)).squareRoot()
        return (Tensor.randomUniform(shape: shape, dtype: dtype, generator: &generator) * (2 * limit)) - limit
    }
}
