// Plot smoke tests with properties that can fail: where points land, ticks, labels, arrows.
import Foundation
import DDPMImaging
import Testing

@Suite("Plotting")
struct PlotTests {
    static func isWhite(_ image: RasterImage, _ x: Int, _ y: Int) -> Bool { image[x, y] == [255, 255, 255] }

    /// Pixels of exactly `color` within the rectangle.
    static func count(_ color: Color, in image: RasterImage, x: Range<Int>, y: Range<Int>) -> Int {
        var n = 0
        for yy in y { for xx in x where image[xx, yy] == [color.red, color.green, color.blue] { n += 1 } }
        return n
    }

    @Test("a point at the centre of fixed axes colours the frame's centre, not its corners")
    func centrePoint() throws {
        var plot = Plot(xRange: -1...1, yRange: -1...1)
        plot.showGrid = false
        plot.scatter(x: [0], y: [0], color: .red, radius: 3)
        let image = try plot.render(width: 300, height: 240)
        let f = plot.frame(width: 300, height: 240)
        let cx = f.x + (f.width - 1) / 2, cy = f.y + (f.height - 1) / 2
        #expect(Self.count(.red, in: image, x: (cx - 4)..<(cx + 5), y: (cy - 4)..<(cy + 5)) >= 25)
        #expect(
            Self.count(.red, in: image, x: 0..<300, y: 0..<240)
                == Self.count(.red, in: image, x: (cx - 4)..<(cx + 5), y: (cy - 4)..<(cy + 5)))
        for (x, y) in [
            (f.x + 2, f.y + 2), (f.x + f.width - 3, f.y + 2), (f.x + 2, f.y + f.height - 3), (f.x + f.width - 3, f.y + f.height - 3),
        ] {
            #expect(Self.isWhite(image, x, y), "corner (\(x), \(y))")
        }
    }

    @Test("a point at the top-right of fixed axes lands in the top-right corner", arguments: [(1.0, 1.0), (-1.0, -1.0)])
    func cornerPoint(x: Double, y: Double) throws {
        var plot = Plot(xRange: -1...1, yRange: -1...1)
        plot.showGrid = false
        plot.scatter(x: [x], y: [y], color: .blue, radius: 2)
        let image = try plot.render(width: 200, height: 200)
        let f = plot.frame(width: 200, height: 200)
        let px = x > 0 ? f.x + f.width - 1 : f.x, py = y > 0 ? f.y : f.y + f.height - 1
        #expect(image[px, py] == [Color.blue.red, Color.blue.green, Color.blue.blue])
    }

    @Test(
        "nice ticks step by 1, 2 or 5 times a power of ten",
        arguments: [
            (0.0, 1.0, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]), (-3.0, 3.0, [-3.0, -2, -1, 0, 1, 2, 3]),
            (0.0, 1000.0, [0.0, 200, 400, 600, 800, 1000]),
        ])
    func ticks(lower: Double, upper: Double, expected: [Double]) {
        let ticks = AxisScale(lower: lower, upper: upper).ticks()
        #expect(ticks.count == expected.count)
        for (a, b) in zip(ticks, expected) { #expect(abs(a - b) < 1e-9, "\(ticks)") }
    }

    @Test("tick labels")
    func labels() {
        #expect(AxisScale(lower: 0, upper: 1).labels(for: [0, 0.5, 1]) == ["0.0", "0.5", "1.0"])
        #expect(AxisScale(lower: 0, upper: 100).labels(for: [0, 50, 100]) == ["0", "50", "100"])
        let log = AxisScale(lower: 1e-4, upper: 1, logarithmic: true)
        #expect(zip(log.ticks(), [1e-4, 1e-3, 1e-2, 1e-1, 1]).allSatisfy { abs($0 / $1 - 1) < 1e-12 } && log.ticks().count == 5)
        #expect(log.labels(for: log.ticks()) == ["1e−4", "1e−3", "0.01", "0.1", "1"])
        let square = AxisScale(lower: -2.5, upper: 2.5)
        #expect(square.labels(for: square.ticks()) == ["−2", "−1", "0", "1", "2"])
        #expect(AxisScale(lower: 0, upper: 0.5).labels(for: [0.1, 0.2, 0.3]) == ["0.1", "0.2", "0.3"])
    }

    @Test("a log axis spanning about a decade labels 2× and 5× ticks; a narrower one labels its linear ticks")
    func subDecadeLogTicks() {
        let loss = AxisScale(lower: 0.13, upper: 1.2, logarithmic: true)  // the demo's loss plot: 0.15…1.09 with margins
        let ticks = loss.ticks()
        #expect(ticks.count >= 3, "\(ticks)")
        #expect(zip(ticks, [0.2, 0.5, 1]).allSatisfy { abs($0 / $1 - 1) < 1e-12 }, "\(ticks)")
        #expect(loss.labels(for: ticks) == ["0.2", "0.5", "1"])
        let narrow = AxisScale(lower: 0.31, upper: 0.58, logarithmic: true)
        let narrowTicks = narrow.ticks()
        #expect(narrowTicks.count >= 3 && narrowTicks.allSatisfy { $0 >= 0.31 && $0 <= 0.58 }, "\(narrowTicks)")
        #expect(Set(narrow.labels(for: narrowTicks)).count == narrowTicks.count, "\(narrow.labels(for: narrowTicks))")
        let wide = AxisScale(lower: 0.05, upper: 30, logarithmic: true)
        #expect(wide.ticks() == [0.1, 1, 10])
    }

    @Test("a log-y line plot draws a decreasing curve from top-left to bottom-right")
    func logLine() throws {
        var plot = Plot(title: "loss", logY: true)
        plot.showGrid = false
        let y = (0..<100).map { 10 * pow(0.9, Double($0)) }
        plot.line(y: y, color: .green, label: "train")
        let image = try plot.render(width: 320, height: 240)
        let f = plot.frame(width: 320, height: 240)
        let halfX = f.x + f.width / 2, halfY = f.y + f.height / 2
        // A straight line on a log axis: green in the top-left and bottom-right quadrants only
        // (the legend is drawn in the top-right).
        #expect(Self.count(.green, in: image, x: f.x..<halfX, y: f.y..<halfY) > 20)
        #expect(Self.count(.green, in: image, x: halfX..<(f.x + f.width), y: halfY..<(f.y + f.height)) > 20)
        #expect(Self.count(.green, in: image, x: f.x..<halfX, y: halfY..<(f.y + f.height)) == 0)
    }

    @Test("text is drawn anti-aliased above its baseline, starting at x")
    func text() throws {
        let font = try FontFace.standard()
        var canvas = Canvas(width: 40, height: 30)
        canvas.text("1", x: 10, baseline: 20, size: 16, font: font)
        let pixels = (0..<30).flatMap { y in (0..<40).map { x in (x, y, canvas.image[x, y].first!) } }
        let inked = pixels.filter { $0.2 < 255 }
        #expect(!inked.isEmpty)
        // Ink only right of x and above the baseline, black where the stem is, grey at its edges.
        #expect(inked.allSatisfy { $0.0 >= 10 && $0.1 < 20 && $0.1 >= 20 - font.ascent(size: 16) }, "\(inked)")
        #expect(inked.contains { $0.2 < 40 })
        #expect(inked.contains { $0.2 > 60 && $0.2 < 200 })
    }

    @Test("an arrow goes from tail to head")
    func arrow() {
        var canvas = Canvas(width: 40, height: 40)
        canvas.arrow(from: (5, 20), to: (35, 20), .red)
        #expect(canvas.image[5, 20] == [Color.red.red, Color.red.green, Color.red.blue])
        #expect(canvas.image[35, 20] == [Color.red.red, Color.red.green, Color.red.blue])
        // The barbs point back to the left of the head, above and below the shaft.
        #expect(canvas.image[31, 18] != [255, 255, 255] || canvas.image[32, 18] != [255, 255, 255])
        #expect(canvas.image[31, 22] != [255, 255, 255] || canvas.image[32, 22] != [255, 255, 255])
    }

    @Test("panels are placed side by side")
    func panels() throws {
        let a = RasterImage(width: 10, height: 10, format: .rgb, fill: [255, 0, 0])
        let b = RasterImage(width: 10, height: 10, format: .gray, fill: [0])
        let figure = try Figure.sideBySide([a, b], spacing: 2)
        #expect(figure.width == 2 * 10 + 3 * 2 && figure.height == 10 + 2 * 2)
        #expect(figure[5, 5] == [255, 0, 0])
        #expect(figure[17, 5] == [0, 0, 0])
        #expect(figure[12, 5] == [255, 255, 255])
    }
}
