/// Element types a tensor file can hold (safetensors spelling). BF16 is stored as raw 16-bit words.
public enum DType: String, CaseIterable, Sendable {
    case u8 = "U8", i32 = "I32", i64 = "I64", f16 = "F16", bf16 = "BF16", f32 = "F32", f64 = "F64"

    public var byteSize: Int {
        switch self {
        case .u8: 1
        case .f16, .bf16: 2
        case .i32, .f32: 4
        case .i64, .f64: 8
        }
    }
}

/// A Swift type that maps one-to-one onto a tensor-file dtype.
public protocol TensorElement: Sendable {
    static var dtype: DType { get }
}

extension UInt8: TensorElement { public static var dtype: DType { .u8 } }
extension Int32: TensorElement { public static var dtype: DType { .i32 } }
extension Int64: TensorElement { public static var dtype: DType { .i64 } }
extension Float16: TensorElement { public static var dtype: DType { .f16 } }
extension Float: TensorElement { public static var dtype: DType { .f32 } }
extension Double: TensorElement { public static var dtype: DType { .f64 } }

/// bfloat16 as its raw bits (the upper half of an IEEE float32).
public struct BFloat16: TensorElement, Equatable {
    public static var dtype: DType { .bf16 }
    public var bits: UInt16
    public init(bits: UInt16) { self.bits = bits }
    /// Round-to-nearest-even conversion from Float (NaN stays NaN).
    public init(_ x: Float) {
        let b = x.bitPattern
        if x.isNaN { bits = UInt16(b >> 16) | 0x0040; return }
        let rounding = UInt32(0x7FFF) + ((b >> 16) & 1)
        bits = UInt16((b &+ rounding) >> 16)
    }
    public var float: Float { Float(bitPattern: UInt32(bits) << 16) }
}
