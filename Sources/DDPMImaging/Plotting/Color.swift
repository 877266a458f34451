// RGB colours for plots and a fixed palette for series (Okabe–Ito, readable by colour-blind viewers).

/// An sRGB colour with 8-bit channels.
public struct Color: Equatable, Hashable, Sendable {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(_ red: UInt8, _ green: UInt8, _ blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    public static let white = Color(255, 255, 255)
    public static let black = Color(0, 0, 0)
    public static let gray = Color(128, 128, 128)
    public static let lightGray = Color(225, 225, 225)
    public static let blue = Color(0, 114, 178)
    public static let orange = Color(230, 159, 0)
    public static let green = Color(0, 158, 115)
    public static let red = Color(213, 94, 0)
    public static let purple = Color(204, 121, 167)
    public static let sky = Color(86, 180, 233)
    public static let yellow = Color(240, 228, 66)

    /// The series palette (Okabe & Ito 2008), used in order when a series has no colour.
    public static let palette: [Color] = [.blue, .orange, .green, .red, .purple, .sky, .yellow, .black]

    /// The `index`-th palette colour, cycling.
    public static func series(_ index: Int) -> Color { palette[index % palette.count] }
}
