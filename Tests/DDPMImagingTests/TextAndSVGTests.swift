// The figures' text (FreeType, DejaVu Sans), their SVG documents, and loss curves.
import DDPMTestSupport
import DDPMImaging
import Foundation
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

@Suite("Text, SVG and loss curves")
struct TextAndSVGTests {
    /// `text` drawn black on white at `size` pixels per em.
    static func rendered(_ text: String, size: Int = 14) throws -> RasterImage {
        var canvas = Canvas(width: 120, height: 30)
        canvas.text(text, x: 4, baseline: 22, size: size, font: try FontFace.standard())
        return canvas.image
    }

    @Test("λ t is drawn as itself, not as L T; t is not T")
    func greekAndLowerCase() throws {
        let lambda = try Self.rendered("λ t"), latin = try Self.rendered("L T")
        #expect(lambda.pixels.contains { $0 < 128 }, "nothing drawn")
        #expect(lambda.pixels != latin.pixels)
        let small = try Self.rendered("t"), capital = try Self.rendered("T")
        let differing = zip(small.pixels, capital.pixels).filter { abs(Int($0) - Int($1)) > 64 }.count
        #expect(differing > 10, "t and T differ in \(differing) channel values")
    }

    @Test("the font has a glyph for every character of every figure text")
    func everyGlyph() throws {
        let font = try FontFace.standard()
        #expect(FigureText.all.count > 30)
        for text in FigureText.all {
            #expect(font.missingScalars(in: text).isEmpty, "\(text): no glyph for \(font.missingScalars(in: text))")
        }
        // The notation the figures rely on.
        for character in "λμσεβθᾱ₀₁₉ₜ−×·≤‖x̂" {
            #expect(font.missingScalars(in: String(character)).isEmpty, "\(character)")
        }
        // And the check can fail: a private-use character has no glyph.
        #expect(font.missingScalars(in: "a\u{E000}") == ["\u{E000}"])
    }

    @Test("a missing font file is an error that names the file and the Debian package")
    func missingFont() throws {
        let path = "/nonexistent/DejaVuSans.ttf"
        let error = try #require(throws: ImagingError.self) { try FontFace(path: path) }
        #expect(error == .fontMissing(path: path, fromEnvironment: false))
        #expect(error.description.contains(path) && error.description.contains("fonts-dejavu-core"), "\(error)")
        let folder = try temporaryFolder()
        let notFont = folder.appendingPathComponent("font.ttf")
        try Data("not a font".utf8).write(to: notFont)
        #expect(throws: ImagingError.self) { try FontFace(path: notFont.path) }
    }

    /// The text of every `<text>` element, the root's attributes, and the first parse error.
    final class SVGReader: NSObject, XMLParserDelegate {
        var texts: [String] = []
        var root: [String: String] = [:]
        var elements: [String: Int] = [:]
        private var current: String?

        func parser(
            _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            if elements.isEmpty { root = attributes.merging(["name": name]) { a, _ in a } }
            elements[name, default: 0] += 1
            if name == "text" { current = "" }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { current? += string }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "text", let text = current {
                texts.append(text)
                current = nil
            }
        }

        /// Parses `document`; nil when it is not well-formed XML.
        static func read(_ document: String) -> SVGReader? {
            let reader = SVGReader()
            let parser = XMLParser(data: Data(document.utf8))
            parser.delegate = reader
            return parser.parse() ? reader : nil
        }
    }

    @Test("a plot's SVG is well-formed XML whose text elements carry the title, labels and legend")
    func plotSVG() throws {
        var plot = Plot(title: "ᾱₜ & λ <schedule>", xLabel: "t", yLabel: "σ² \"quoted\" 'too'")
        plot.line(x: [1, 2, 3], y: [0.9, 0.5, 0.1], label: "ᾱₜ")
        plot.scatter(x: [1, .nan, 3], y: [0.5, 0.5, .infinity], label: "x₀")
        let svg = try plot.svg(width: 400, height: 300)
        let reader = try #require(SVGReader.read(svg), "not well-formed:\n\(svg)")
        #expect(reader.root["name"] == "svg" && reader.root["width"] == "400" && reader.root["height"] == "300")
        for text in ["ᾱₜ & λ <schedule>", "t", "σ² \"quoted\" 'too'", "ᾱₜ", "x₀"] {
            #expect(reader.texts.contains(text), "\(text) not among \(reader.texts)")
        }
        #expect(reader.texts.contains("1.0") && reader.texts.contains("3.0"), "tick labels \(reader.texts)")
        #expect(reader.elements["polyline"] == 1 && reader.elements["circle"] == 1, "\(reader.elements)")
        #expect(!svg.contains("nan") && !svg.contains("inf"))
    }

    @Test("a figure's SVG has the PNG's size and every panel's text")
    func figureSVG() throws {
        let panels = (0..<3).map { i in
            var plot = Plot(title: "q(xₜ) at t = \(i * 500)", xRange: -2.5...2.5, yRange: -2.5...2.5)
            plot.scatter(x: [0, 1], y: [0, -1])
            plot.arrows(x: [0], y: [0], dx: [1], dy: [1])
            return plot
        }
        let figure = Figure(panels, columns: 2, panelWidth: 200, panelHeight: 180, title: "forward process q(xₜ)")
        let image = try figure.render()
        let reader = try #require(SVGReader.read(try figure.svg()))
        #expect(reader.root["width"] == "\(image.width)" && reader.root["height"] == "\(image.height)")
        #expect(image.width == 2 * 200 + 3 * 8 && image.height == 2 * 180 + 3 * 8 + Figure.titleSize + 14)
        #expect(reader.texts.filter { $0.hasPrefix("q(xₜ) at t = ") }.count == 3)
        #expect(reader.texts.contains("forward process q(xₜ)") && reader.texts.contains("−2"), "\(reader.texts)")
        #expect(reader.elements["clipPath"] == 3 && reader.elements["path"] == 3, "\(reader.elements)")
    }

    @Test("write(to:) writes NAME.png and NAME.svg")
    func writeBoth() throws {
        let folder = try temporaryFolder()
        var plot = Plot(title: "loss")
        plot.line(y: [3, 2, 1])
        let svgURL = try plot.write(to: folder.appendingPathComponent("loss.png"), width: 300, height: 200)
        #expect(svgURL.lastPathComponent == "loss.svg")
        let png = try PNGCodec.read(from: folder.appendingPathComponent("loss.png"))
        #expect(png.width == 300 && png.height == 200)
        let reader = try #require(SVGReader.read(try String(contentsOf: svgURL, encoding: .utf8)))
        #expect(reader.texts.contains("loss"))
    }

    @Test("loss curves: a log axis across decades, a linear one within a decade or below zero, a moving average")
    func lossCurve() throws {
        let decaying = (0..<1000).map { 2 * exp(-Double($0) / 200) + 0.01 }
        let log = Plot.lossCurve(losses: decaying)
        #expect(log.logY && log.scales().y.isLogarithmic)
        #expect(log.layers.count == 2, "raw and averaged")
        #expect(log.scales().y.ticks().count >= 3)
        let flat = Plot.lossCurve(losses: (0..<1000).map { 0.5 + 0.1 * sin(Double($0)) })
        #expect(!flat.logY)
        #expect(!Plot.lossCurve(losses: [1, -0.5, 20]).logY)
        #expect(Plot.lossCurve(losses: [1, 0.5]).layers.count == 1)
        #expect(Plot.movingAverage([1, 2, 3, 4], window: 2) == [1, 1.5, 2.5, 3.5])
        // Long runs are drawn through every k-th step, the last included.
        let long = Plot.lossCurve(losses: (0..<100_000).map { 1 / Double($0 + 1) }, maximumPoints: 1000)
        guard case let .line(x, _, _, _, _) = long.layers[0] else { Issue.record("not a line"); return }
        #expect(x.count <= 1001 && x.last == 100_000 && x.first == 1)
        let svg = try long.svg(width: 640, height: 400)
        #expect(SVGReader.read(svg) != nil)
    }
}
