// JPEG headers and decoding (libjpeg-turbo through the Images module), grey and RGB, full size and scaled.
import FuzzSupport
import Images

nonisolated(unsafe) let decoder = try! JPEGDecoder()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: count))
    guard let size = try? decoder.size(bytes, path: "input.jpg") else { return 0 }
    for color in [ColorMode.gray, .rgb] {
        _ = try? decoder.decode(bytes, path: "input.jpg", width: size.width, height: size.height, color: color)
        let scaled = JPEGDecoder.scaledSize(width: size.width, height: size.height, target: 8)
        _ = try? decoder.decode(bytes, path: "input.jpg", width: scaled.width, height: scaled.height, color: color)
    }
    return 0
}
