// Image sets for `ddpm fid`: `ddpm sample` outputs, NPY/NPZ uint8 arrays, PNG folders and data specs, as [0, 1] RGB tensors; and their Inception features.
import DDPMDatasets
import DDPMDistributed
import DDPMImaging
import DDPMMetrics
import DDPMNeuralNetworks
import DDPMTensors
import Foundation

/// A set of images to featurise, read one at a time as [1, 3, H, W] RGB in [0, 1] (x/255, as
/// torchvision's ToTensor; gray repeated to three channels, alpha dropped).
struct FIDImageSet {
    /// What the set is, for messages ("samples.npy: 1000 images of 28×28×1").
    let description: String
    /// How many images.
    let count: Int
    /// Image i as [1, 3, H, W] in [0, 1].
    let image: (Int) throws -> Tensor

    /// An image set or a statistics file, from a path (`ddpm sample` folder, .npy, .npz, PNG folder).
    enum Source {
        case images(FIDImageSet)
        case statistics(FeatureStatistics, URL)
    }

    /// Reads `path`: a `ddpm sample` output folder (its samples.npy, else samples.npz, else the PNG
    /// files of images/), another folder (its PNG and JPEG files, any size), an NPY file (uint8 N×H×W×C or N×H×W), or an NPZ file (`arr_0`, else its
    /// first array; or `mu` and `sigma`, which make it a statistics file).
    static func load(path: String, flag: String) throws -> Source {
        let url = URL(fileURLWithPath: path)
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
            throw CommandFailure("\(flag) \(path): no such file or folder.")
        }
        if isFolder.boolValue {
            // A `ddpm sample` folder: its array, else its png-dir images (never the grid samples.png).
            let isSampleFolder = FileManager.default.fileExists(atPath: url.appendingPathComponent("sampler.json").path)
            for name in ["samples.npy", "samples.npz"] + (isSampleFolder ? ["images"] : []) {
                let written = url.appendingPathComponent(name)
                if FileManager.default.fileExists(atPath: written.path) { return try load(path: written.path, flag: flag) }
            }
            let files = try CommandFailure.wrap("\(flag) \(path): ") { try PNGFolder.imageFiles(in: url) }
            return .images(
                FIDImageSet(description: "\(path): \(files.count) images", count: files.count) { i in
                    let image = try ImageFile.read(from: files[i], format: .rgb)
                    return tensor(image.pixels, height: image.height, width: image.width, channels: 3)
                })
        }
        switch url.pathExtension.lowercased() {
        case "npy":
            return .images(try array(CommandFailure.wrap("\(flag) ") { try NPYFile.read(url) }, name: path, flag: flag))
        case "npz":
            let arrays = try CommandFailure.wrap("\(flag) ") { try NPZFile.read(url) }
            if arrays.contains(where: { $0.name == "mu" }) && arrays.contains(where: { $0.name == "sigma" }) {
                return .statistics(try CommandFailure.wrap("\(flag) ") { try FeatureStatistics.read(from: url) }, url)
            }
            guard let chosen = arrays.first(where: { $0.name == "arr_0" }) ?? arrays.first else {
                throw CommandFailure("\(flag) \(path): the NPZ file holds no arrays.")
            }
            return .images(try array(chosen.array, name: "\(path) (\(chosen.name))", flag: flag))
        default:
            throw CommandFailure("\(flag) \(path): expected a `ddpm sample` folder, a folder of PNG images, an .npy or an .npz file.")
        }
    }

    /// A uint8 N×H×W×C (C = 1, 3 or 4) or N×H×W array.
    static func array(_ array: NPYArray, name: String, flag: String) throws -> FIDImageSet {
        guard case let .uint8(bytes) = array.elements else {
            throw CommandFailure(
                "\(flag) \(name): the array is \(array.elements.descr); expected uint8 images (N × H × W × C, as `ddpm sample` writes).")
        }
        let shape = array.shape.count == 3 ? array.shape + [1] : array.shape
        guard shape.count == 4, [1, 3, 4].contains(shape[3]), shape[1] > 0, shape[2] > 0 else {
            throw CommandFailure("\(flag) \(name): shape \(array.shape); expected N × H × W × C with C 1, 3 or 4 (or N × H × W).")
        }
        let (n, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
        return FIDImageSet(description: "\(name): \(n) images of \(h)×\(w)×\(c)", count: n) { i in
            let start = i * h * w * c
            return tensor(Array(bytes[start..<(start + h * w * c)]), height: h, width: w, channels: c)
        }
    }

    /// The images of a dataset (NCHW bytes, 1 or 3 channels), the first `limit` of them.
    static func dataset(_ dataset: Dataset, limit: Int?, description: String) throws -> FIDImageSet {
        guard dataset.isImages else {
            throw CommandFailure("--reference \(description): the data are points, not images.")
        }
        let (c, h, w) = (dataset.exampleShape[0], dataset.exampleShape[1], dataset.exampleShape[2])
        guard c == 1 || c == 3 else {
            throw CommandFailure("--reference \(description): \(c)-channel images; FID needs 1 (gray) or 3 (RGB).")
        }
        let count = min(limit ?? dataset.count, dataset.count)
        return FIDImageSet(description: "\(description): \(count) images of \(h)×\(w)×\(c)", count: count) { i in
            var values = [Float](repeating: 0, count: 3 * h * w)
            let bytes = try dataset.imageBytes(at: i)
            for k in 0..<3 {
                let source = bytes.startIndex + (c == 1 ? 0 : k) * h * w
                for p in 0..<(h * w) { values[k * h * w + p] = Float(bytes[source + p]) / 255 }
            }
            return Tensor(values, shape: [1, 3, h, w])
        }
    }

    /// Interleaved H×W×C bytes as [1, 3, H, W] in [0, 1]: gray repeated, alpha dropped.
    static func tensor(_ pixels: [UInt8], height h: Int, width w: Int, channels c: Int) -> Tensor {
        var values = [Float](repeating: 0, count: 3 * h * w)
        for p in 0..<(h * w) {
            for k in 0..<3 { values[k * h * w + p] = Float(pixels[p * c + (c == 1 ? 0 : k)]) / 255 }
        }
        return Tensor(values, shape: [1, 3, h, w])
    }

    /// The features of every image at `block`, `batchSize` images per network run, row-major
    /// [count × dimension]; progress on standard error.
    func features(_ network: FIDInceptionV3, block: FIDInceptionV3.Block, batchSize: Int, label: String) throws -> (
        values: [Float], seconds: Double
    ) {
        // One process is its own rank 0, which always gets the features.
        try features(network, block: block, batchSize: batchSize, label: label, world: .singleProcess)!
    }

    /// ``features(_:block:batchSize:label:)`` shared over the ranks of an MPI job: batch k is
    /// featurised by rank k mod N and rank 0 gathers the features in image order; the other ranks
    /// get nil.
    func features(
        _ network: FIDInceptionV3, block: FIDInceptionV3.Block, batchSize: Int, label: String, world: Communicator
    ) throws -> (values: [Float], seconds: Double)? {
        let batches = MPIJob.batches(count: count, batchSize: batchSize, rank: world.rank, size: world.size)
        let mine = batches.reduce(0) { $0 + $1.count }
        var values: [Float] = []
        values.reserveCapacity(mine * block.dimension)
        let progress = world.isRoot ? Progress(label, total: mine, unit: "images") : nil
        let start = Date()
        var done = 0
        for batch in batches {
            let images = try batch.map { FIDInceptionV3.prepare(try image($0)) }
            let features = network.featuresOfPrepared(Tensor.concatenate(images, axis: 0), blocks: [block])[block]!
            values += features.floats
            done += batch.count
            progress?.update(done)
        }
        guard let all = try MPIJob.gatherRows(values, rowLength: block.dimension, count: count, batchSize: batchSize, world: world) else {
            return nil
        }
        return (all, Date().timeIntervalSince(start))
    }
}
