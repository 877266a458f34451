// FontFace: the figures' text through FreeType — anti-aliased glyphs, advances, kerning — and
// where the font file is found (DDPM_FONT, else DejaVu Sans).
import CFreeType
import Foundation

/// Where a line of text sits relative to its x coordinate.
public enum TextAnchor: Sendable {
    /// The text starts at x (left-aligned).
    case start
    /// The text is centred on x.
    case middle
    /// The text ends at x (right-aligned).
    case end
}

/// A TrueType font read by FreeType, for the text of plots and figures.
///
/// The figures use ``standard()``, whose file is found this way:
/// 1. the path in the environment variable `DDPM_FONT` (``environmentVariable``), when it is set
///    and not empty — any TrueType or OpenType file FreeType reads;
/// 2. otherwise DejaVu Sans at ``defaultPath``, `/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf`,
///    from the Debian package `fonts-dejavu-core`.
///
/// A missing file is an ``ImagingError/fontMissing(path:fromEnvironment:)`` that names the file and
/// the package; nothing falls back to a font without the figures' glyphs. DejaVu Sans has every
/// character the figures draw (``FigureText/all``): Greek letters, sub- and superscripts, −, ×, ·,
/// ≤, ‖.
///
/// Glyphs are rendered anti-aliased (`FT_Load_Char` with `FT_LOAD_RENDER`: 8-bit coverage, FreeType's
/// hinting) at whole pixel sizes, kerned when the font has a kerning table, and cached; a face may
/// be shared by several threads.
public final class FontFace: @unchecked Sendable {
    /// DejaVu Sans where Debian's `fonts-dejavu-core` installs it: the figures' font unless
    /// `DDPM_FONT` names another.
    public static let defaultPath = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    /// The environment variable that names another font file for the figures: `DDPM_FONT`.
    public static let environmentVariable = "DDPM_FONT"

    /// The font file.
    public let path: String
    /// The font's family name as the file declares it (e.g. "DejaVu Sans"); the SVG files name it.
    public let familyName: String

    private let library: FT_Library
    private let face: FT_Face
    /// FreeType's face is not thread-safe: every use after `init` holds this lock.
    private let lock = NSLock()
    private var glyphCache: [GlyphKey: Glyph] = [:]
    private var kerningCache: [KerningKey: Int] = [:]
    private var currentSize = 0

    /// The file of ``standard()``: `DDPM_FONT` when set and not empty, else ``defaultPath``.
    public static var standardPath: (path: String, fromEnvironment: Bool) {
        if let named = ProcessInfo.processInfo.environment[environmentVariable], !named.isEmpty { return (named, true) }
        return (defaultPath, false)
    }

    /// The figures' font (see the type's discussion for where it is found), read once per path.
    /// - Throws: ``ImagingError/fontMissing(path:fromEnvironment:)`` when the file does not exist,
    ///   ``ImagingError/invalidFont(path:message:)`` when FreeType cannot read it.
    public static func standard() throws -> FontFace {
        let (path, fromEnvironment) = standardPath
        return try cache.face(at: path, fromEnvironment: fromEnvironment)
    }

    /// Reads the font file at `path` (the first face of a collection).
    /// - Throws: ``ImagingError/fontMissing(path:fromEnvironment:)`` when the file does not exist,
    ///   ``ImagingError/invalidFont(path:message:)`` when FreeType cannot read it.
    public convenience init(path: String) throws {
        try self.init(path: path, fromEnvironment: false)
    }

    init(path: String, fromEnvironment: Bool) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue else {
            throw ImagingError.fontMissing(path: path, fromEnvironment: fromEnvironment)
        }
        var library: FT_Library?
        let initError = FT_Init_FreeType(&library)
        guard initError == 0, let library else {
            throw ImagingError.invalidFont(path: path, message: "FT_Init_FreeType failed with FreeType error \(initError)")
        }
        var face: FT_Face?
        let faceError = FT_New_Face(library, path, 0, &face)
        guard faceError == 0, let face else {
            FT_Done_FreeType(library)
            throw ImagingError.invalidFont(path: path, message: "FT_New_Face failed with FreeType error \(faceError)")
        }
        guard face.pointee.face_flags & FT_Long(FT_FACE_FLAG_SCALABLE) != 0, face.pointee.units_per_EM > 0 else {
            FT_Done_Face(face)
            FT_Done_FreeType(library)
            throw ImagingError.invalidFont(path: path, message: "not a scalable (TrueType or OpenType) font")
        }
        self.path = path
        self.library = library
        self.face = face
        self.familyName = face.pointee.family_name.map { String(cString: $0) } ?? "sans-serif"
    }

    deinit {
        FT_Done_Face(face)
        FT_Done_FreeType(library)
    }

    /// Whether the font has a glyph for `scalar` (`FT_Get_Char_Index` is not 0, the missing-glyph box).
    public func hasGlyph(for scalar: Unicode.Scalar) -> Bool {
        lock.withLock { FT_Get_Char_Index(face, FT_ULong(scalar.value)) != 0 }
    }

    /// The characters of `text` the font has no glyph for (drawn as boxes), in order, once each.
    public func missingScalars(in text: String) -> [Unicode.Scalar] {
        var seen = Set<Unicode.Scalar>()
        return text.unicodeScalars.filter { !hasGlyph(for: $0) && seen.insert($0).inserted }
    }

    /// The distance in pixels from the baseline up to the top of the tallest letters at `size`
    /// pixels per em (the font's ascender).
    public func ascent(size: Int) -> Int {
        Int((Double(face.pointee.ascender) * Double(size) / Double(face.pointee.units_per_EM)).rounded(.up))
    }

    /// The distance in pixels from the baseline down to the lowest descender at `size` pixels per em.
    public func descent(size: Int) -> Int {
        Int((-Double(face.pointee.descender) * Double(size) / Double(face.pointee.units_per_EM)).rounded(.up))
    }

    /// The width in pixels of `text` at `size` pixels per em: the sum of the advances and kernings.
    public func width(of text: String, size: Int) -> Int {
        layout(text, size: size).width
    }

    // MARK: - Glyphs

    /// One rendered glyph: its coverage bitmap and where it sits relative to the pen.
    struct Glyph {
        /// The glyph index in the font (0: missing).
        var index: UInt32
        /// Bitmap size in pixels.
        var width: Int, rows: Int
        /// The bitmap's left edge right of the pen, and its top edge above the baseline.
        var left: Int, top: Int
        /// The horizontal advance in 1/64 pixel.
        var advance: Int
        /// Coverage 0…255, `rows` rows of `width` bytes.
        var coverage: [UInt8]
    }

    struct GlyphKey: Hashable {
        var scalar: UInt32, size: Int
    }

    struct KerningKey: Hashable {
        var left: UInt32, right: UInt32, size: Int
    }

    /// The glyphs of `text` (by Unicode scalar, so that combining marks stack on their letter) with
    /// their pen positions in pixels from the start, and the width of the whole line.
    func layout(_ text: String, size: Int) -> (glyphs: [(glyph: Glyph, x: Int)], width: Int) {
        lock.withLock {
            var pen = 0  // 1/64 pixel
            var previous: UInt32?
            var placed: [(glyph: Glyph, x: Int)] = []
            for scalar in text.unicodeScalars {
                let glyph = glyphLocked(scalar, size: size)
                if let previous { pen += kerningLocked(previous, glyph.index, size: size) }
                placed.append((glyph, (pen + 32) >> 6))
                pen += glyph.advance
                previous = glyph.index
            }
            return (placed, (pen + 32) >> 6)
        }
    }

    private func setSizeLocked(_ size: Int) {
        guard size != currentSize else { return }
        FT_Set_Pixel_Sizes(face, 0, FT_UInt(max(1, size)))
        currentSize = size
    }

    private func glyphLocked(_ scalar: Unicode.Scalar, size: Int) -> Glyph {
        let key = GlyphKey(scalar: scalar.value, size: size)
        if let cached = glyphCache[key] { return cached }
        setSizeLocked(size)
        let index = FT_Get_Char_Index(face, FT_ULong(scalar.value))
        var glyph = Glyph(index: index, width: 0, rows: 0, left: 0, top: 0, advance: 0, coverage: [])
        if FT_Load_Glyph(face, index, FT_Int32(FT_LOAD_RENDER)) == 0, let slot = face.pointee.glyph {
            let bitmap = slot.pointee.bitmap
            glyph.advance = Int(slot.pointee.advance.x)
            glyph.left = Int(slot.pointee.bitmap_left)
            glyph.top = Int(slot.pointee.bitmap_top)
            if bitmap.pixel_mode == UInt8(FT_PIXEL_MODE_GRAY.rawValue), let buffer = bitmap.buffer {
                let width = Int(bitmap.width), rows = Int(bitmap.rows), pitch = Int(bitmap.pitch)
                let levels = max(1, Int(bitmap.num_grays) - 1)
                var coverage = [UInt8](repeating: 0, count: width * rows)
                for row in 0..<rows {
                    // A negative pitch means the rows are stored bottom-up.
                    let start = pitch >= 0 ? row * pitch : (rows - 1 - row) * -pitch
                    for column in 0..<width {
                        coverage[row * width + column] = UInt8(min(255, Int(buffer[start + column]) * 255 / levels))
                    }
                }
                glyph.width = width
                glyph.rows = rows
                glyph.coverage = coverage
            }
        }
        glyphCache[key] = glyph
        return glyph
    }

    private func kerningLocked(_ left: UInt32, _ right: UInt32, size: Int) -> Int {
        guard face.pointee.face_flags & FT_Long(FT_FACE_FLAG_KERNING) != 0, left != 0, right != 0 else { return 0 }
        let key = KerningKey(left: left, right: right, size: size)
        if let cached = kerningCache[key] { return cached }
        setSizeLocked(size)
        var delta = FT_Vector()
        let kerning = FT_Get_Kerning(face, left, right, FT_UInt(FT_KERNING_DEFAULT.rawValue), &delta) == 0 ? Int(delta.x) : 0
        kerningCache[key] = kerning
        return kerning
    }

    // MARK: - The shared faces

    private static let cache = FaceCache()

    /// The faces read so far, by path, so that every figure shares one glyph cache.
    private final class FaceCache: @unchecked Sendable {
        private let lock = NSLock()
        private var faces: [String: FontFace] = [:]

        func face(at path: String, fromEnvironment: Bool) throws -> FontFace {
            try lock.withLock {
                if let face = faces[path] { return face }
                let face = try FontFace(path: path, fromEnvironment: fromEnvironment)
                faces[path] = face
                return face
            }
        }
    }
}
