// DataSpec parsing: every form of the documented syntax, and the errors for bad specs.
import DDPMDatasets
import Foundation
import Testing

@Suite("DataSpec")
struct DataSpecTests {
    @Test(
        "valid specs",
        arguments: [
            ("swissroll", DataSpec.Source.swissRoll(count: 10_000, noise: 0)),
            ("swissroll,count=500,noise=0.1", .swissRoll(count: 500, noise: 0.1)),
            ("gaussians8,std=0.05", .gaussians8(count: 10_000, standardDeviation: 0.05)),
            ("fashion-mnist", .fashionMNIST(directory: URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist"))),
            ("fashion-mnist:/data/fm", .fashionMNIST(directory: URL(fileURLWithPath: "/data/fm"))),
            ("mnist:/data/mnist", .mnist(directory: URL(fileURLWithPath: "/data/mnist"))),
            ("cifar10:/data/cifar-10-batches-bin", .cifar10(directory: URL(fileURLWithPath: "/data/cifar-10-batches-bin"))),
            (
                "png:/data/faces,size=64,channels=1,filter=bilinear",
                .pngFolder(directory: URL(fileURLWithPath: "/data/faces"), size: 64, channels: 1, filter: .bilinear)
            ),
            ("png:/data/faces", .pngFolder(directory: URL(fileURLWithPath: "/data/faces"), size: 32, channels: 3, filter: .area)),
            ("deadleaves,size=64", .deadLeaves(size: 64, count: 10_000)),
        ])
    func valid(text: String, source: DataSpec.Source) throws {
        #expect(try DataSpec(parsing: text).source == source)
    }

    @Test(
        "invalid specs name the problem and quote the syntax",
        arguments: [
            ("imagenet", "unknown dataset"), ("mnist", "needs a folder"), ("cifar10:", "needs a folder"),
            ("swissroll,count=-3", "count=-3"), ("swissroll,size=3", "no option \"size\""), ("png:/x,channels=2", "channels=2"),
            ("png:/x,filter=cubic", "filter=cubic"), ("gaussians8,std", "KEY=VALUE"), ("deadleaves:/x", "takes no"),
            ("swissroll,binarize", "binarize applies to image data only"), ("gaussians8,count=9,binarize", "image data only"),
        ])
    func invalid(text: String, fragment: String) throws {
        let error = try #require(throws: DatasetError.self) { try DataSpec(parsing: text) }
        #expect(error.description.contains(fragment), "\(error)")
        #expect(error.description.contains("Data specs:"))
    }
}
