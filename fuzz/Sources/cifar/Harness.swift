// CIFAR-10 / CIFAR-100 binary batches.
import FuzzSupport
import Images

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let path = Scratch.write(data, count, suffix: ".bin")
    _ = try? ImageDataset.fromCIFAR(batches: [path], kind: .cifar10, label: .fine, subset: Subset())
    _ = try? ImageDataset.fromCIFAR(batches: [path], kind: .cifar100, label: .coarse, subset: Subset(limit: 3))
    return 0
}
