// swift-tools-version:6.0
// A toolkit for diffusion probabilistic models (Sohl-Dickstein et al. 2015; Ho, Jain & Abbeel 2020).
//
// Kernels are vectorised by the compiler for the CPU named at build time: the Makefile passes
// `-Xswiftc -target-cpu -Xswiftc $(CPU)` (default `native`). A plain `swift build` targets baseline
// x86-64 and is correct but slower; nothing in this manifest uses unsafe flags.
import PackageDescription

let package = Package(
    name: "ddpm",
    platforms: [.macOS(.v14)],
    // MARK: - Public products
    products: [
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "Diffusion", targets: ["Diffusion"]),
        .executable(name: "ddpm", targets: ["ddpm"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
    ],
    targets: [
        // MARK: - Libraries
        .target(
            name: "Tensors",
            dependencies: ["CDNNL", .product(name: "RealModule", package: "swift-numerics")]
        ),
        .target(name: "Diffusion", dependencies: ["Tensors"]),
        .executableTarget(
            name: "ddpm",
            dependencies: [
                "Tensors", "Diffusion",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: - Implementation details
        .systemLibrary(name: "CDNNL"),

        // MARK: - Benchmarks (release mode; never part of the tests)
        .executableTarget(name: "TensorBenchmarks", dependencies: ["Tensors"], path: "Benchmarks/TensorBenchmarks"),

        // MARK: - Tests
        .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
        .testTarget(name: "DiffusionTests", dependencies: ["Diffusion", "Tensors"], resources: [.copy("Fixtures")]),
    ]
)
