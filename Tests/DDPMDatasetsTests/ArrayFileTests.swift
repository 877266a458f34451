// The `npy:FILE` data spec against arrays numpy wrote (scripts/reference/make_array_fixture.py),
// and the NPZ that `ddpm sample --format npz` writes against the file numpy checked.
import DDPMDatasets
import DDPMNeuralNetworks
import DDPMTensors
import Foundation
import Testing

@Suite struct ArrayFileTests {
    static func fixture(_ name: String) -> URL {
        Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures/arrays")!
    }

    /// The fixture's formula: rgb[i, y, x, c] = (31 i + 7 y + 3 x + 50 c) mod 256, 3 × 4 × 5 × 3.
    static func rgb(_ i: Int, _ y: Int, _ x: Int, _ c: Int) -> UInt8 { UInt8((31 * i + 7 * y + 3 * x + 50 * c) % 256) }

    @Test(arguments: ["rgb.npy", "rgb.npz", "rgb-compressed.npz"])
    func colourImagesLoadChannelFirst(_ name: String) throws {
        var generator = PhiloxGenerator(seed: 0)
        let dataset = try DataSpec(parsing: "npy:\(Self.fixture(name).path)").load(split: .train, generator: &generator)
        #expect(dataset.count == 3 && dataset.exampleShape == [3, 4, 5])
        guard case .images(let bytes) = dataset.examples else {
            Issue.record("\(name): not images")
            return
        }
        var want: [UInt8] = []
        for i in 0..<3 { for c in 0..<3 { for y in 0..<4 { for x in 0..<5 { want.append(Self.rgb(i, y, x, c)) } } } }
        #expect(bytes == want, "\(name): N × C × H × W order")
    }

    @Test func grayImagesWithoutAChannelAxisLoad() throws {
        let dataset = try ArrayFile.load(Self.fixture("gray.npy"))
        #expect(dataset.exampleShape == [1, 3, 4] && dataset.count == 2)
        guard case .images(let bytes) = dataset.examples else { return }
        var want: [UInt8] = []
        for i in 0..<2 { for y in 0..<3 { for x in 0..<4 { want.append(UInt8((17 * i + 5 * y + x) % 256)) } } }
        #expect(bytes == want)
    }

    @Test func otherArraysAreRefusedNamingTheFile() throws {
        for (name, words) in [("float.npy", "<f4"), ("two.npz", "no arr_0")] {
            let url = Self.fixture(name)
            #expect {
                try ArrayFile.load(url)
            } throws: { error in
                "\(error)".contains(url.path) && "\(error)".contains(words) && "\(error)".contains("npy:FILE takes uint8 images")
            }
        }
        #expect(throws: DatasetError.self) { try DataSpec(parsing: "npy") }
    }

    @Test func theNPZOfDDPMSampleIsTheFileNumpyRead() throws {
        // sample-output.npz was written by this encoder from rgb.npy's array and read back by numpy
        // (arr_0, uint8, (3, 4, 5, 3), equal values): the encoder must still write those bytes.
        let array = try NPYFile.read(Self.fixture("rgb.npy"))
        let encoded = NPZFile.encode([("arr_0", array)])
        #expect(encoded == [UInt8](try Data(contentsOf: Self.fixture("sample-output.npz"))))
    }
}
