// `ddpm inpaint`: conditioning the reverse chain on known pixels (SD15 §2.5, Fig. 5), and
// denoising a noisy observation.
import ArgumentParser
import DDPMDatasets
import DDPMDiffusion
import Foundation
import DDPMImaging
import DDPMNeuralNetworks
import DDPMTensors
import DDPMTraining

struct InpaintCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inpaint",
        abstract: "Fill in missing pixels (inpainting) or remove noise, with the reverse chain.",
        discussion: """
            Inpainting (SD15 §2.5): the reverse chain runs from x_T ~ N(0, I) and after
            every step the known pixels of xₜ₋₁ are replaced by a draw of q(xₜ₋₁|x₀) of
            the observed image (eq. 4), and by the observation itself at the end, so known
            pixels come out exactly as observed and the rest is generated to agree with
            them. --mask names the region to fill: left, right, top, bottom (halves),
            center (the middle half of each side), or a PNG file (white = known, black =
            fill; resized to the model). Denoising: --mask none --noise S adds N(0, S²)
            noise (on the [−1, 1] scale) to the images and starts the reverse chain at the
            t whose √((1−ᾱₜ)/ᾱₜ) is nearest S, from xₜ = √ᾱₜ · (noisy image), which has
            the forward process's noise level. Writes to --output (default
            CHECKPOINT/inpainting): inpaint.png (per image: original, observation,
            completions) and inpaint.npy (float32 [N, completions, C, H, W]).
            """)

    @OptionGroup var options: ModelCommandOptions

    @Option(help: "Images: dataset indices or PNG paths, comma-separated.")
    var images: String = "0,1,2,3"

    @OptionGroup var input: DataOptions

    @Option(help: "Region to fill: left, right, top, bottom, center, none, or a mask PNG.")
    var mask: String = "right"

    @Option(help: "Standard deviation of noise added to the images (denoising, with --mask none).")
    var noise: Double = 0

    @Option(help: "Completions per image.")
    var completions: Int = 4

    @Option(help: "ancestral only: the known pixels are put back at every ancestral step (SD15); DDIM and the solvers have no such step.")
    var sampler: SampleCommand.Sampler = .ancestral

    func validate() throws {
        guard sampler == .ancestral else {
            throw ValidationError(
                "--sampler \(sampler.rawValue): inpainting replaces the known pixels by a fresh draw of q(xₜ₋₁|x₀) at every ancestral step (SD15); DDIM and the solvers have no such step, so ddpm inpaint runs the ancestral chain only. Drop --sampler."
            )
        }
        guard completions >= 1 else { throw ValidationError("--completions must be at least 1, got \(completions).") }
        guard noise.isFinite, noise >= 0 else { throw ValidationError("--noise must be 0 or more, got \(noise).") }
        if mask == "none" && noise == 0 {
            throw ValidationError("--mask none needs --noise S > 0 (denoising); otherwise there is nothing to do.")
        }
        if mask != "none" && noise > 0 { throw ValidationError("--noise applies to denoising with --mask none.") }
        if !["left", "right", "top", "bottom", "center", "none"].contains(mask) && !mask.lowercased().hasSuffix(".png") {
            throw ValidationError("--mask \(mask): expected left, right, top, bottom, center, none or a PNG file.")
        }
    }

    func run() throws {
        try Pictures.requireFont()
        let trained = try options.loadImageModel(for: "inpaint")
        let diffusion = try trained.gaussian("inpaint")
        var generator = PhiloxGenerator(seed: options.seed)
        let (originals, labels) = try trained.inputImages(
            images, flag: "images", data: input.data, split: input.dataSplit, seed: options.seed)
        let n = originals.shape[0]
        let shape = [n * completions] + trained.exampleShape
        let repeated = originals.reshaped([n, 1] + trained.exampleShape).broadcast(to: [n, completions] + trained.exampleShape).reshaped(
            shape)
        let outFolder = try options.outputFolder(default: "inpainting")

        let observed: Tensor, completed: Tensor
        var unknown = Tensor(zeros: [1, 1] + Array(trained.exampleShape.dropFirst()), dtype: originals.dtype) + 1.0
        if mask == "none" {
            // Denoising: start at the t whose noise level matches.
            observed = originals + noise * Tensor.randomNormal(shape: originals.shape, dtype: originals.dtype, generator: &generator)
            let levels = diffusion.schedule.alphaBar.map { ((1 - $0) / $0).squareRoot() }
            let index = levels.indices.min { abs(levels[$0] - noise) < abs(levels[$1] - noise) }!
            note(String(format: "denoise: noise %.4f ↔ t = %d (√((1−ᾱₜ)/ᾱₜ) = %.4f)", noise, index + 1, levels[index]))
            let start =
                diffusion.schedule.alphaBar[index].squareRoot()
                * observed.reshaped([n, 1] + trained.exampleShape).broadcast(to: [n, completions] + trained.exampleShape).reshaped(shape)
            let progress = Progress("denoise", total: index + 1, unit: "steps")
            completed = try CommandFailure.wrap {
                try diffusion.reverseChain(model: trained.model, from: start, index: index, clipStart: true, generator: &generator) {
                    progress.update(index + 1 - $0.index)
                }
            }
        } else {
            // Inpainting from x_T with the known pixels clamped.
            let known = try knownMask(trained.exampleShape).converted(to: originals.dtype)
            unknown = 1.0 - known
            observed = known * originals
            let T = diffusion.stepCount
            let progress = Progress("inpaint", total: T, unit: "steps")
            let start = Tensor.randomNormal(shape: shape, dtype: originals.dtype, generator: &generator)
            completed = try CommandFailure.wrap {
                try diffusion.reverseChain(
                    model: trained.model, from: start, index: T - 1, known: KnownDimensions(observation: repeated, mask: known),
                    clipStart: true, generator: &generator
                ) { progress.update(T - $0.index) }
            }
        }

        // Pictures, numbers and a report.
        let originalImages = Pictures.images(originals, scale: 2), observedImages = Pictures.images(observed, scale: 2)
        let completedImages = Pictures.images(completed, scale: 2)
        let rows = (0..<n).map { i in [originalImages[i], observedImages[i]] + completedImages[(i * completions)..<((i + 1) * completions)]
        }
        let title = mask == "none" ? FigureText.denoisingTitle(sigma: noise) : FigureText.inpaintingTitle(mask: mask)
        let picture = try Pictures.labeledGrid(
            rows, columnLabels: [FigureText.original, FigureText.observed] + (1...completions).map { FigureText.numbered($0) },
            rowLabels: labels, title: title)
        let path = try Pictures.write(picture, "inpaint.png", in: outFolder)
        try CommandFailure.wrap {
            try NPYFile.write(
                completed.converted(to: .float32).reshaped([n, completions] + trained.exampleShape),
                to: outFolder.appendingPathComponent("inpaint.npy"))
        }
        // Over the generated pixels only (all of them when denoising).
        let squared = ((completed - repeated).squared() * unknown).sum().converted(to: .float64).doubles[0]
        let generatedCount = unknown.broadcast(to: completed.shape).sum().converted(to: .float64).doubles[0]
        print(
            String(
                format: "RMSE of the generated pixels to the originals: %.2f (0–255 scale)", (squared / generatedCount).squareRoot() * 127.5
            ))
        print("wrote \(path)")
    }

    /// 1 where pixels are known, [1, 1, H, W].
    func knownMask(_ shape: [Int]) throws -> Tensor {
        let (h, w) = (shape[1], shape[2])
        var values = [Double](repeating: 1, count: h * w)
        func fill(_ rows: Range<Int>, _ columns: Range<Int>) {
            for y in rows { for x in columns { values[y * w + x] = 0 } }
        }
        switch mask {
        case "left": fill(0..<h, 0..<(w / 2))
        case "right": fill(0..<h, (w / 2)..<w)
        case "top": fill(0..<(h / 2), 0..<w)
        case "bottom": fill((h / 2)..<h, 0..<w)
        case "center": fill((h / 4)..<(h - h / 4), (w / 4)..<(w - w / 4))
        default:
            let url = URL(fileURLWithPath: mask)
            let image: RasterImage
            do { image = try PNGCodec.read(from: url, format: .gray) } catch { throw CommandFailure("--mask \(mask): \(error)") }
            // Centre-cropped and resized like the --images PNGs, so that the two line up.
            values = PNGFolder.prepare(image, size: h).pixels.map { $0 >= 128 ? 1 : 0 }
            guard values.contains(0) else {
                throw CommandFailure("--mask \(url.path): every pixel is white (known); black marks pixels to fill in.")
            }
        }
        return Tensor(values, shape: [1, 1, h, w], dtype: .float64)
    }
}
