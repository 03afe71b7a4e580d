// The tensor-file reader: every input reads (then each tensor converts to its dtype's array) or throws.
import FuzzSupport
import TensorFiles

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard let file = try? TensorFile.read(Scratch.write(data, count, suffix: ".safetensors.zst")) else { return 0 }
    for t in file.tensors {
        switch t.dtype {
        case .u8: _ = try? file.array(t.name, as: UInt8.self)
        case .i32: _ = try? file.array(t.name, as: Int32.self)
        case .i64: _ = try? file.array(t.name, as: Int64.self)
        case .f32: _ = try? file.floats(t.name)
        case .f64: _ = try? file.array(t.name, as: Double.self)
        case .f16, .bf16: _ = file.rawBytes(t).count
        }
    }
    return 0
}
