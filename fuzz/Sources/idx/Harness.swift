// IDX files, plain or gzip (zlib): read as images (rank 3) and as labels (rank 1), and as a pair.
import FuzzSupport
import Images

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let path = Scratch.write(data, count, suffix: ".idx")
    _ = try? IDXArray.read(path, expectedRank: 3)
    _ = try? IDXArray.read(path, expectedRank: 1)
    _ = try? ImageDataset.fromIDX(images: path, labels: path, subset: Subset())
    return 0
}
