// Image batches as rows of position tokens and back: [N, C, H, W] ↔ [N, H·W, C] (spatial attention's edges).

extension Tensor {
    /// The image batch [N, C, H, W] as tokens [N, H·W, C]: row p of image n holds the C channels at
    /// position p = h·W + w (what spatial attention attends over). Float32 is one oneDNN reorder
    /// from the image's layout (NCHW or nChw16c) to channels-last order; other dtypes a permutation.
    /// The derivative is ``image(fromTokens:height:width:)`` of the gradient.
    public func tokensFromImage() -> Tensor {
        precondition(rank == 4, "tokensFromImage: input must be [N, C, H, W], got \(shape)")
        var out = tokenValues()
        out.record(.tokens(imageShape: shape), inputs: [self])
        return out
    }

    /// Tokens [N, H·W, C] as the image batch [N, C, H, W] of `height` × `width` positions: the
    /// inverse of ``tokensFromImage()``. A Float32 result with 16·k channels is stored blocked
    /// (``TensorLayout/channelBlocked16``) unless ``TensorLayout/blockedActivations`` is off.
    public static func image(fromTokens tokens: Tensor, height: Int, width: Int) -> Tensor {
        precondition(
            tokens.rank == 3 && height >= 0 && width >= 0 && tokens.shape[1] == height * width,
            "image(fromTokens:): tokens \(tokens.shape) are not [N, \(height)·\(width), C]")
        let imageShape = [tokens.shape[0], tokens.shape[2], height, width]
        var out = tokens.imageValues(imageShape)
        out.record(.image(imageShape: imageShape), inputs: [tokens])
        return out
    }

    /// `tokensFromImage` without recording.
    func tokenValues() -> Tensor {
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        guard dtype == .float32 else {
            return Tensor(shape: [n, c, h * w], dtype: dtype, storage: storage).permutedValues([0, 2, 1])
        }
        let out = Tensor(uninitializedShape: [n, h * w, c], dtype: dtype)
        DNNLLayoutReorder.reorder(
            from: UnsafeRawPointer(storage.pointer), .init(layout), to: out.storage.pointer, .nhwc, shape: shape)
        return out
    }

    /// `image(fromTokens:height:width:)` of these tokens without recording.
    func imageValues(_ imageShape: [Int]) -> Tensor {
        let (n, c, h, w) = (imageShape[0], imageShape[1], imageShape[2], imageShape[3])
        guard dtype == .float32 else {
            return permutedValues([0, 2, 1]).reshapedValues([n, c, h, w])
        }
        let out = Tensor(uninitializedShape: imageShape, dtype: dtype, layout: .preferred(for: imageShape, dtype))
        DNNLLayoutReorder.reorder(
            from: UnsafeRawPointer(storage.pointer), .nhwc, to: out.storage.pointer, .init(out.layout), shape: imageShape)
        return out
    }

    /// The same row-major storage under `newShape` (same count), without recording.
    private func reshapedValues(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, dtype: dtype, storage: storage)
    }
}
