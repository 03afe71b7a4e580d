import StageKit
// Images as the transforms see them: float planes in C×H×W order with values in [0, 1] (as torchvision's
// ToTensor gives), converted from and back to u8 exactly once at the ends of a pipeline, so that no
// transform loses precision to intermediate rounding.

/// An owned float image, for tests and one-off use. The stage itself works on `Workspace` buffers.
public struct FloatImage: Equatable, Sendable {
    public var channels: Int
    public var height: Int
    public var width: Int
    public var pixels: [Float]          // [C, H, W], values in [0, 1]

    public init(channels: Int, height: Int, width: Int, pixels: [Float]) {
        precondition(pixels.count == channels * height * width, "pixel count does not match C×H×W")
        self.channels = channels
        self.height = height
        self.width = width
        self.pixels = pixels
    }

    /// From u8 C×H×W bytes: x / 255.
    public init(u8 bytes: [UInt8], channels: Int, height: Int, width: Int) {
        precondition(bytes.count == channels * height * width, "byte count does not match C×H×W")
        self.init(channels: channels, height: height, width: width, pixels: bytes.map { Float($0) * (1 / 255) })
    }

    public var planeSize: Int { height * width }

    /// Back to u8 with `PixelCodec.quantize` (round half up, clamped).
    public func u8() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: pixels.count) { dst, n in
            pixels.withUnsafeBufferPointer { PixelCodec.quantize($0.baseAddress!, dst.baseAddress!, count: pixels.count) }
            n = pixels.count
        }
    }
}

/// The two conversions at the ends of a pipeline.
public enum PixelCodec {
    /// u8 → float in [0, 1].
    @inline(__always)
    public static func dequantize(_ src: UnsafePointer<UInt8>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { dst[i] = Float(src[i]) * (1 / 255) }
    }

    /// float in [0, 1] → u8: floor(x·255 + 0.5), clamped to 0…255. The one rounding of a pipeline.
    @inline(__always)
    public static func quantize(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt8>, count: Int) {
        for i in 0..<count {
            let v = min(max(src[i] * 255 + 0.5, 0), 255.99)
            dst[i] = UInt8(v)
        }
    }
}

/// Scratch memory for one worker: grown on demand, never freed while the worker runs, so the per-image
/// hot path allocates nothing once the first image has sized it.
public final class Workspace {
    public let source = ScratchBuffer<Float>()     // [C, H, W] the input image as floats
    public let image = ScratchBuffer<Float>()      // [C, S, S] the view being transformed
    public let spare = ScratchBuffer<Float>()      // [C, S, S] second view-sized buffer
    public let rows = ScratchBuffer<Float>()       // [C, rows, S] resize / blur intermediate
    public let weightsX = ScratchBuffer<Float>()   // [S, taps] resampling weights along x
    public let weightsY = ScratchBuffer<Float>()   // [S, taps] resampling weights along y
    public let startX = ScratchBuffer<Int>()       // [S] first source column per output column
    public let startY = ScratchBuffer<Int>()       // [S] first source row per output row

    public init() {}
}

/// A growable raw buffer: `reserve(n)` returns a pointer to at least n elements (contents unspecified).
public final class ScratchBuffer<T> {
    private var pointer: UnsafeMutablePointer<T>?
    private var capacity = 0

    public init() {}
    deinit { pointer?.deallocate() }

    /// The current memory (what the last `reserve` returned).
    public var base: UnsafeMutablePointer<T> { pointer! }

    @inline(__always)
    public func reserve(_ n: Int) -> UnsafeMutablePointer<T> {
        if n > capacity || pointer == nil {
            pointer?.deallocate()
            capacity = max(n, 1, capacity * 2)
            pointer = UnsafeMutablePointer<T>.allocate(capacity: capacity)
        }
        return pointer!
    }
}
