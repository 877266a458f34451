// Images named on the command line: indices into a dataset split, or PNG files.
import DDPMDatasets
import Foundation
import DDPMImaging
import DDPMTensors
import DDPMTraining

extension TrainedModel {
    /// The images of `list` (comma-separated; each a 0-based index into `data` / `split`, or the
    /// path of a PNG file, centre-cropped and resized to the model's size), as [N, C, H, W] in
    /// [−1, 1], with a short label for each.
    func inputImages(_ list: String, flag: String, data: String?, split: DataSplit, seed: UInt64) throws -> (
        images: Tensor, labels: [String]
    ) {
        precondition(isImages, "inputImages: the model takes points")
        guard exampleShape[0] == 1 || exampleShape[0] == 3 else {
            throw CommandFailure(
                "--\(flag): the model takes \(exampleShape[0])-channel images; only 1 (gray) or 3 (RGB) can be read from PNG or shown.")
        }
        let items = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !items.isEmpty else { throw CommandFailure("--\(flag): no images given; use dataset indices (e.g. 0,5) or PNG paths.") }
        var dataset: Dataset?
        var batches: [Tensor] = [], labels: [String] = []
        for item in items {
            if let index = Int(item) {
                if dataset == nil { dataset = try CommandFailure.wrap("") { try self.data(data, split: split, seed: seed) } }
                guard (0..<dataset!.count).contains(index) else {
                    throw CommandFailure("--\(flag): index \(index) is outside the \(split.rawValue) split's 0…\(dataset!.count - 1).")
                }
                batches.append(try dataset!.batch(indices: [index]))
                labels.append("#\(index)")
            } else {
                let url = URL(fileURLWithPath: item)
                let format: PNGCodec.DecodeFormat = exampleShape[0] == 1 ? .gray : .rgb
                let image: RasterImage
                do { image = try PNGCodec.read(from: url, format: format) } catch {
                    throw CommandFailure("--\(flag) \(item): not a dataset index, and not a readable PNG file (\(error)).")
                }
                let prepared = PNGFolder.prepare(image, size: exampleShape[1])
                batches.append(try Dataset(name: url.lastPathComponent, rasterImages: [prepared]).batch(indices: [0]))
                labels.append(String(url.deletingPathExtension().lastPathComponent.prefix(8)))
            }
        }
        return (Tensor.concatenate(batches, axis: 0), labels)
    }
}
