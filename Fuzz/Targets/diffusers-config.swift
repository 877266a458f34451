// config.json of a diffusers UNet2DModel folder: `UNetConfiguration(diffusersConfig:file:)`, then
// the network `DiffusersFolder.load` builds from it before reading any weight.
import Foundation
import DDPMModels
import DDPMTensors

/// Decodes the input as a diffusers config.json; a configuration of modest size (at most 4
/// levels, 3 layers per level, 16 image channels and 256 channels per level, so one input stays
/// fast) is then built, as loading the folder would.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let configuration = try? UNetConfiguration(diffusersConfig: Data(FuzzInput.bytes(data, size))) else { return 0 }
    guard configuration.blockOutChannels.count <= 4, configuration.blockOutChannels.allSatisfy({ $0 <= 256 }),
        configuration.layersPerBlock <= 3, configuration.inChannels <= 16, configuration.outChannels <= 16
    else { return 0 }
    var generator = PhiloxGenerator(seed: 0)
    _ = UNet(configuration, generator: &generator)
    return 0
}
