// The views-file validator pretrain applies to each epoch's views.
import Contrastive
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    _ = try? ViewsData.load(Scratch.write(data, count, suffix: ".safetensors.zst"))
    return 0
}
