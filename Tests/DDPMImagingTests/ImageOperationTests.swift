// Grids, cropping, resizing and format conversion of RasterImage.
import DDPMImaging
import Testing

@Suite("Image operations")
struct ImageOperationTests {
    @Test("a grid places each image in its cell with padding between")
    func grid() {
        let images = (0..<3).map { RasterImage(width: 2, height: 2, format: .gray, fill: [UInt8(10 * ($0 + 1))]) }
        let sheet = RasterImage.grid(images, columns: 2, padding: 1, paddingColor: [255])
        #expect(sheet.width == 2 * 2 + 3 && sheet.height == 2 * 2 + 3)
        #expect(sheet[0, 0] == [255])
        #expect(sheet[1, 1] == [10] && sheet[2, 2] == [10])
        #expect(sheet[3, 1] == [255])
        #expect(sheet[4, 1] == [20] && sheet[5, 2] == [20])
        #expect(sheet[1, 4] == [30])
        #expect(sheet[4, 4] == [255])  // the empty fourth cell
    }

    @Test("centre crop keeps the middle square")
    func centerCrop() {
        // 5 wide, 3 tall: columns 1...3 survive.
        let image = RasterImage(width: 5, height: 3, format: .gray, pixels: (0..<15).map(UInt8.init))
        let square = image.centerCroppedToSquare()
        #expect(square.width == 3 && square.height == 3)
        #expect(square.pixels == [1, 2, 3, 6, 7, 8, 11, 12, 13])
    }

    @Test("area resize by an integer factor averages blocks")
    func areaResize() {
        let image = RasterImage(width: 4, height: 2, format: .gray, pixels: [0, 10, 20, 40, 2, 4, 60, 80])
        let small = image.resized(width: 2, height: 1, filter: .area)
        #expect(small.pixels == [4, 50])  // (0+10+2+4)/4, (20+40+60+80)/4
    }

    @Test("area resize by a fractional factor weights by overlap")
    func fractionalAreaResize() {
        // 3 → 2: output 0 covers [0, 1.5): pixel 0 fully and half of pixel 1.
        let image = RasterImage(width: 3, height: 1, format: .gray, pixels: [0, 90, 30])
        #expect(image.resized(width: 2, height: 1).pixels == [30, 50])  // (0 + 45)/1.5, (45 + 30)/1.5
    }

    @Test("bilinear upscaling interpolates between pixel centres")
    func bilinear() {
        let image = RasterImage(width: 2, height: 1, format: .gray, pixels: [0, 100])
        #expect(image.resized(width: 4, height: 1, filter: .bilinear).pixels == [0, 25, 75, 100])
    }

    @Test("RGB to gray uses Rec. 601 weights")
    func toGray() {
        let image = RasterImage(width: 3, height: 1, format: .rgb, pixels: [255, 0, 0, 0, 255, 0, 0, 0, 255])
        #expect(image.converted(to: .gray).pixels == [76, 150, 29])
    }
}
