import CZlib
import Foundation

/// PNG encoding of 8-bit grey or RGB images (the report's image grids), through zlib: one IDAT chunk,
/// filter type 0 on every row, CRC-32 from zlib. Small and exact — a decoder gives back the same bytes.
public enum PNG {
    /// `pixels` in planar [C, H, W] order (the dataset contract), C = 1 (grey) or 3 (RGB).
    public static func encode(planar pixels: UnsafeBufferPointer<UInt8>, channels: Int, height: Int, width: Int) -> [UInt8] {
        precondition((channels == 1 || channels == 3) && pixels.count == channels * height * width && height > 0 && width > 0)
        var raw = [UInt8](repeating: 0, count: height * (1 + width * channels))   // [H, 1 + W·C]: filter byte, then pixels
        let plane = height * width
        for y in 0..<height {
            let row = y * (1 + width * channels) + 1
            for x in 0..<width {
                for c in 0..<channels { raw[row + x * channels + c] = pixels[c * plane + y * width + x] }
            }
        }
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header = bigEndian(UInt32(width)) + bigEndian(UInt32(height))
        header += [8, channels == 3 ? 2 : 0, 0, 0, 0]          // depth 8; colour type RGB or grey; deflate; filter 0; no interlace
        appendChunk("IHDR", header, to: &png)
        appendChunk("IDAT", deflate(raw), to: &png)
        appendChunk("IEND", [], to: &png)
        return png
    }

    /// The PNG as a `data:` URI for an `<img>` in a self-contained HTML page.
    public static func dataURI(_ png: [UInt8]) -> String { "data:image/png;base64," + Data(png).base64EncodedString() }

    static func deflate(_ bytes: [UInt8]) -> [UInt8] {
        var size = compressBound(uLong(bytes.count))
        var out = [UInt8](repeating: 0, count: Int(size))
        let status = out.withUnsafeMutableBufferPointer { o in
            bytes.withUnsafeBufferPointer { i in compress2(o.baseAddress, &size, i.baseAddress, uLong(bytes.count), 9) }
        }
        precondition(status == Z_OK, "zlib compress2 failed (\(status))")
        return Array(out[..<Int(size)])
    }

    static func appendChunk(_ type: String, _ data: [UInt8], to png: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        png += bigEndian(UInt32(data.count)) + typeBytes + data
        var crc = crc32(0, nil, 0)
        crc = typeBytes.withUnsafeBufferPointer { crc32(crc, $0.baseAddress, uInt($0.count)) }
        crc = data.withUnsafeBufferPointer { crc32(crc, $0.baseAddress, uInt($0.count)) }
        png += bigEndian(UInt32(crc))
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
}
