// Images from a NumPy array: uint8 N × H × W × C or N × H × W in an .npy file or an .npz archive
// (`arr_0`, improved-diffusion's and `ddpm sample`'s convention).
import DDPMImaging
import DDPMNeuralNetworks
import Foundation

/// The `npy:FILE` data spec: a user's own images as one array.
public enum ArrayFile {
    /// The images of the array in `url`: an .npy file, or an .npz archive's `arr_0` (else its only
    /// array). uint8 N × H × W × C with C 1 (gray) or 3 (RGB), or N × H × W (gray); pixels as they
    /// are (0–255), in file order.
    /// - Throws: ``DatasetError/missingFile(_:hint:)``; ``DatasetError/wrongFormat(_:reason:)``
    ///   naming the file when it is not such an array (another dtype or shape, several arrays
    ///   without `arr_0`, no images); the NPY/NPZ reader's error for a damaged file.
    public static func load(_ url: URL) throws -> Dataset {
        guard FileManager.default.fileExists(atPath: url.path) else { throw DatasetError.missingFile(url, hint: hint) }
        let array: NPYArray
        if url.pathExtension.lowercased() == "npz" {
            let arrays = try NPZFile.read(url)
            guard let chosen = arrays.first(where: { $0.name == "arr_0" }) ?? (arrays.count == 1 ? arrays.first : nil) else {
                throw DatasetError.wrongFormat(
                    url, reason: "holds \(arrays.count) arrays (\(arrays.map(\.name).joined(separator: ", "))) and no arr_0; \(hint)")
            }
            array = chosen.array
        } else {
            array = try NPYFile.read(url)
        }
        guard case .uint8(let bytes) = array.elements else {
            throw DatasetError.wrongFormat(url, reason: "the array is \(array.elements.descr); \(hint)")
        }
        let shape = array.shape.count == 3 ? array.shape + [1] : array.shape
        guard shape.count == 4, [1, 3].contains(shape[3]), shape[0] >= 1, shape[1] >= 1, shape[2] >= 1 else {
            throw DatasetError.wrongFormat(url, reason: "shape \(array.shape); \(hint)")
        }
        let (n, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
        let size = h * w * c
        let images = (0..<n).map { i in
            RasterImage(width: w, height: h, format: c == 1 ? .gray : .rgb, pixels: Array(bytes[(i * size)..<((i + 1) * size)]))
        }
        return Dataset(name: "npy \(url.lastPathComponent)", rasterImages: images)
    }

    /// What the file must hold.
    static let hint = "npy:FILE takes uint8 images, N × H × W × C with C 1 or 3, or N × H × W (an .npy file, or an .npz with arr_0)"
}
