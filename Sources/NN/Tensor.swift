import StageKit

/// Layout conventions of the engine.
///
/// Image activations are channel-major: `[C, B, H, W]` ("CNHW"). A convolution is then one matrix
/// product W[O, C·k·k] × col[C·k·k, B·Ho·Wo] whose result is already the next activation, and batch
/// norm reduces over contiguous runs per channel. Flat features (pooled, linear, embeddings) are
/// row-major `[B, D]`. Conversions from the file contract's `[B, C, H, W]` are in InputBatch.swift.
public enum NNRuntime {
    /// Threads used by the engine's own loops (im2col, batch norm, …); OpenBLAS has its own count,
    /// set by `BLASRuntime.configure(core:threads:)`.
    nonisolated(unsafe) public static var threads: Int = defaultThreadCount
    /// Target size of a convolution's im2col workspace, in elements: small enough to stay near the
    /// caches between im2col and sgemm's packing (1 MiB of Float measured faster than 16 MiB on the
    /// w16 bench row), but never fewer than `minColumns` columns so sgemm keeps an efficient shape.
    /// 128 columns: `bench engine --ab --min-columns 128` against 512 gave 1.03–1.06× (w16), 1.03–1.08× (w32) and
    /// 1.13× (w64) on Zen 5 (2026-12-04): chunks of Winograd's V and M that stay nearer L2 beat wider sgemms.
    /// Tests lower both to exercise chunking.
    nonisolated(unsafe) public static var maxColElements: Int = 1 << 18
    nonisolated(unsafe) public static var minColumns: Int = 128
}

/// A contiguous buffer with a shape. Workspaces reshape in place and reallocate only when they must
/// grow, so a training loop at a fixed batch shape does not allocate after its first step.
public final class Tensor<T: GemmScalar> {
    public private(set) var shape: [Int]
    public private(set) var count: Int
    public private(set) var capacity: Int
    public private(set) var data: UnsafeMutablePointer<T>

    /// A zero-filled tensor.
    public init(_ shape: [Int] = [0]) {
        self.shape = shape
        count = shape.reduce(1, *)
        capacity = max(count, 1)
        data = .allocate(capacity: capacity)
        data.initialize(repeating: 0, count: capacity)
    }

    public convenience init(_ shape: [Int], _ values: [T]) {
        self.init(shape)
        precondition(values.count == count, "Tensor: \(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    deinit { data.deallocate() }

    /// Gives the tensor a new shape; contents are unspecified afterwards unless the size is unchanged.
    public func reshape(_ newShape: [Int]) {
        if newShape == shape { return }
        let n = newShape.reduce(1, *)
        if n > capacity {
            data.deallocate()
            capacity = n
            data = .allocate(capacity: n)
            data.initialize(repeating: 0, count: n)
        }
        shape = newShape
        count = n
    }

    public func zero() { data.update(repeating: 0, count: count) }

    public subscript(i: Int) -> T {
        get { data[i] }
        set { data[i] = newValue }
    }

    public var array: [T] { Array(UnsafeBufferPointer(start: data, count: count)) }

    public func copy(from other: Tensor<T>) {
        reshape(other.shape)
        data.update(from: other.data, count: count)
    }

    public func set(_ values: [T]) {
        precondition(values.count == count, "Tensor.set: \(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }
}

/// A trainable tensor and its gradient (same shape). `name` is the full PyTorch-style name,
/// e.g. `layer1.0.conv1.weight`.
public final class Parameter<T: GemmScalar> {
    public let name: String
    public let value: Tensor<T>
    public let grad: Tensor<T>
    public init(_ name: String, _ shape: [Int]) {
        self.name = name
        value = Tensor(shape)
        grad = Tensor(shape)
    }
}

/// A non-trainable state tensor saved with the weights (batch-norm running statistics).
public final class Buffer<T: GemmScalar> {
    public let name: String
    public let value: Tensor<T>
    public init(_ name: String, _ shape: [Int], fill: T = 0) {
        self.name = name
        value = Tensor(shape)
        value.data.update(repeating: fill, count: value.count)
    }
}

/// Joins a module path and a leaf name the PyTorch way ("" + "conv1" = "conv1").
@inline(__always) func qualified(_ prefix: String, _ leaf: String) -> String {
    prefix.isEmpty ? leaf : prefix + "." + leaf
}
