// RGB colours for plots and a fixed palette for series (Okabe–Ito, readable by colour-blind viewers).

/// An sRGB colour with 8-bit channels.
public struct Color: Equatable, Hashable, Sendable {
    /// The red channel, 0…255.
    public var red: UInt8
    /// The green channel, 0…255.
    public var green: UInt8
    /// The blue channel, 0…255.
    public var blue: UInt8

    /// The colour with channels `red`, `green` and `blue` (0…255 each).
    public init(_ red: UInt8, _ green: UInt8, _ blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// White (255, 255, 255): the background of plots and figures.
    public static let white = Color(255, 255, 255)
    /// Black (0, 0, 0): frames, ticks and text.
    public static let black = Color(0, 0, 0)
    /// Mid gray (128, 128, 128): the legend's border.
    public static let gray = Color(128, 128, 128)
    /// Light gray (225, 225, 225): grid lines.
    public static let lightGray = Color(225, 225, 225)
    /// Okabe–Ito blue (0, 114, 178): the first series colour.
    public static let blue = Color(0, 114, 178)
    /// Okabe–Ito orange (230, 159, 0): the second series colour.
    public static let orange = Color(230, 159, 0)
    /// Okabe–Ito bluish green (0, 158, 115): the third series colour.
    public static let green = Color(0, 158, 115)
    /// Okabe–Ito vermilion (213, 94, 0): the fourth series colour.
    public static let red = Color(213, 94, 0)
    /// Okabe–Ito reddish purple (204, 121, 167): the fifth series colour.
    public static let purple = Color(204, 121, 167)
    /// Okabe–Ito sky blue (86, 180, 233): the sixth series colour.
    public static let sky = Color(86, 180, 233)
    /// Okabe–Ito yellow (240, 228, 66): the seventh series colour.
    public static let yellow = Color(240, 228, 66)

    /// The series palette (Okabe & Ito 2008), used in order when a series has no colour.
    public static let palette: [Color] = [.blue, .orange, .green, .red, .purple, .sky, .yellow, .black]

    /// The `index`-th palette colour, cycling.
    public static func series(_ index: Int) -> Color { palette[index % palette.count] }
}
