// What reads a checkpoint: the encoder's weights and BN statistics, the optimiser state, the queue and
// the memory banks (each validating names, dtypes, shapes and finiteness).
import Contrastive
import FuzzSupport
import NN
import TensorFiles

nonisolated(unsafe) let encoder = Encoder<Float>(inChannels: 1, width: 1, prefix: "encoder_q.")   // the seed checkpoint's shape

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard let file = try? TensorFile.read(Scratch.write(data, count, suffix: ".safetensors.zst")) else { return 0 }
    try? encoder.load(from: file)
    _ = try? Queue.read(from: file)
    _ = try? MemoryBank.read(from: file)
    _ = try? MemoryBank.read(from: file, prefix: "l_")
    return 0
}
