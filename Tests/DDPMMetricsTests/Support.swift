// What the metrics tests share: the fixtures of scripts/reference/make_fid_fixture.py and its weight formula.
import DDPMMetrics
import DDPMNeuralNetworks
import DDPMTensors
import DDPMTestSupport
import Foundation

/// Tests/DDPMMetricsTests/Fixtures/fid/NAME.
func fidFixture(_ name: String) -> URL {
    Bundle.module.resourceURL!.appendingPathComponent("Fixtures/fid").appendingPathComponent(name)
}

/// manifest.json's numbers.
struct FIDManifest: Decodable {
    struct KID: Decodable {
        var mean: Double
        var std: Double
    }
    struct Distances: Decodable {
        var fid_ab: Double, fid_ab_eigen: Double, fid_aa: Double, fid_cb: Double, fid_cb_eigen: Double, fid_cb_mp40: Double,
            fid_ab_mp40: Double
        var kid_ab_f64: KID, kid_ab_f32: KID, kid_aa_f64: KID
        var kid_subsets: Int, kid_subset_size: Int, kid_rng_seed: UInt32
        var kid_first_subsets: [[Int]]
    }
    var distances: Distances
    var images: [[Int]]

    static func load() throws -> FIDManifest {
        try JSONDecoder().decode(FIDManifest.self, from: Data(contentsOf: fidFixture("manifest.json")))
    }
}

/// A fixture NPY as (shape, Float64 values).
func fixtureArray(_ name: String) throws -> (shape: [Int], values: [Double]) {
    let array = try NPYFile.read(fidFixture(name))
    switch array.elements {
    case let .float32(v): return (array.shape, v.map(Double.init))
    case let .float64(v): return (array.shape, v)
    case let .uint8(v): return (array.shape, v.map(Double.init))
    case let .int64(v): return (array.shape, v.map(Double.init))
    }
}

/// A fixture feature set (float32 N × D), row-major.
func fixtureFeatures(_ name: String) throws -> (values: [Float], count: Int, dimension: Int) {
    let array = try NPYFile.read(fidFixture(name))
    guard case let .float32(v) = array.elements, array.shape.count == 2 else { fatalError("\(name) is not float32 N × D") }
    return (v, array.shape[0], array.shape[1])
}

/// The closed-formula weights of make_fid_fixture.py (``fidFormulaWeights(name:shape:)``).
enum FormulaWeights {
    /// The entry `name` of shape `shape`.
    static func tensor(_ name: String, _ shape: [Int]) -> Tensor {
        Tensor(fidFormulaWeights(name: name, shape: shape), shape: shape)
    }

    /// The network with the formula's weights (built once: 21.8M numbers).
    nonisolated(unsafe) static let network: FIDInceptionV3 = try! FIDInceptionV3 { tensor($0, $1) }
}

/// The fixture images as [1, 3, H, W] Float32 in [0, 1] (gray repeated to RGB; x/255 as torchvision's ToTensor).
func fixtureImage(_ index: Int) throws -> Tensor {
    let array = try NPYFile.read(fidFixture("image\(index).npy"))
    guard case let .uint8(bytes) = array.elements else { fatalError("image\(index).npy is not uint8") }
    let (h, w, c) = (array.shape[0], array.shape[1], array.shape[2])
    var values = [Float](repeating: 0, count: 3 * h * w)
    for k in 0..<3 {
        for y in 0..<h {
            for x in 0..<w { values[(k * h + y) * w + x] = Float(bytes[(y * w + x) * c + (c == 1 ? 0 : k)]) / 255 }
        }
    }
    return Tensor(values, shape: [1, 3, h, w])
}

/// max |a − b| and max |b|.
func deviation(_ a: [Double], _ b: [Double]) -> (error: Double, scale: Double) {
    precondition(a.count == b.count, "deviation: \(a.count) and \(b.count) values")
    var error = 0.0, scale = 0.0
    for (x, y) in zip(a, b) {
        error = max(error, abs(x - y))
        scale = max(scale, abs(y))
    }
    return (error, scale)
}
