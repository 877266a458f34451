// Convolution throughput benchmark: 3×3 U-Net shapes through the public DNNLConvolution API, against the GEMM figure.
import DDPMTensors

/// Prints GFLOPS of the forward, backward-data and backward-weights passes of 3×3, stride-1,
/// padding-1 convolutions with Cin = Cout ∈ {64, 128, 256}, images 32×32, 16×16, 8×8 and batches
/// 16 and 64 (with bias, as in the U-Net), each as a percentage of `gemmGFLOPS`.
///
/// Calls go through the plain NCHW API, so every figure includes the reorders into and out of
/// oneDNN's blocked layouts. Ends with the acceptance check: C 128, 16×16, batch 16 at ≥ 80% of GEMM.
func runConvolutionBenchmarks(gemmGFLOPS: Double) {
    print("Conv 3×3, stride 1, pad 1, Cin = Cout, with bias; DNNLConvolution on plain NCHW (reorders included)")
    print("GFLOPS (% of SGEMM \(format(gemmGFLOPS, 1)))")
    print("   C   image  batch |      forward      |   backward-data   | backward-weights")
    var implementations: [String: Set<String>] = [:]
    var acceptance: [Double] = []
    for channels in [64, 128, 256] {
        for size in [32, 16, 8] {
            for batch in [16, 64] {
                let g = Conv2DGeometry(
                    batch: batch, inChannels: channels, outChannels: channels, height: size, width: size,
                    kernelHeight: 3, kernelWidth: 3, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1)
                let rates = measure(g)
                for pass in [DNNLConvolution.Pass.forward, .backwardData, .backwardWeights] {
                    implementations[pass.description, default: []].insert(DNNLConvolution.implementationName(of: pass, geometry: g))
                }
                let cells = rates.map { "\(format($0, 1, width: 7)) (\(format(100 * $0 / gemmGFLOPS, 0, width: 3))%)" }
                print(
                    "\(format(Double(channels), 0, width: 4))  \(format(Double(size), 0, width: 3))×\(size)\(size < 10 ? " " : "")  \(format(Double(batch), 0, width: 4)) | "
                        + cells.joined(separator: "   | "))
                if channels == 128 && size == 16 && batch == 16 { acceptance = rates }
            }
        }
    }
    for pass in ["forward", "backward-data", "backward-weights"] {
        print("oneDNN implementation, \(pass): \(implementations[pass, default: []].sorted().joined(separator: ", "))")
    }
    let percents = acceptance.map { 100 * $0 / gemmGFLOPS }
    let passed = percents.allSatisfy { $0 >= 80 }
    print(
        "Acceptance (C 128, 16×16, batch 16, each pass ≥ 80% of SGEMM): "
            + zip(["forward", "backward-data", "backward-weights"], percents).map { "\($0) \(format($1, 0))%" }.joined(separator: ", ")
            + (passed ? " — met" : " — NOT met"))
}

/// GFLOPS of the three passes at `g` (best run of each).
private func measure(_ g: Conv2DGeometry) -> [Double] {
    let inputCount = g.inputShape.reduce(1, *), outputCount = g.outputShape.reduce(1, *)
    let weightCount = g.weightShape.reduce(1, *)
    let x = randomBuffer(inputCount, seed: 1), w = randomBuffer(weightCount, seed: 2), bias = randomBuffer(g.outChannels, seed: 3)
    let y = randomBuffer(outputCount, seed: 4), dy = randomBuffer(outputCount, seed: 5), dx = randomBuffer(inputCount, seed: 6)
    let dw = randomBuffer(weightCount, seed: 7), db = randomBuffer(g.outChannels, seed: 8)
    defer { for buffer in [x, w, bias, y, dy, dx, dw, db] { buffer.deallocate() } }
    let forward = bestOfRuns(minimumSeconds: 0.3) {
        DNNLConvolution.forward(input: x, weight: w, bias: bias, output: y, geometry: g)
    }
    let backwardData = bestOfRuns(minimumSeconds: 0.3) {
        DNNLConvolution.backwardData(outputGrad: dy, weight: w, inputGrad: dx, geometry: g)
    }
    let backwardWeights = bestOfRuns(minimumSeconds: 0.3) {
        DNNLConvolution.backwardWeights(input: x, outputGrad: dy, weightGrad: dw, biasGrad: db, geometry: g)
    }
    return [forward, backwardData, backwardWeights].map { g.flops / $0 / 1e9 }
}
