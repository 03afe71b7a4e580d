import Foundation
import StageKit

/// How JPEG folders are decoded.
public struct JPEGOptions: Sendable {
    public var size: Int?            // --size S: shorter side to S, then centre crop S×S; nil = keep the common size
    public var color: ColorMode
    public var skipBad: Bool
    public var threads: Int

    public init(size: Int? = nil, color: ColorMode = .rgb, skipBad: Bool = false, threads: Int = 1) {
        self.size = size
        self.color = color
        self.skipBad = skipBad
        self.threads = threads
    }
}

/// JPEG sources: an ImageFolder tree (one sub-folder per class; class ids follow the sorted folder names)
/// or a flat folder of unlabeled JPEGs (labels −1). Files are taken in sorted name order, so `index` is
/// the position in that listing.
public enum JPEGFolder {
    static func isJPEG(_ name: String) -> Bool {
        let lower = name.lowercased()
        return !name.hasPrefix(".") && (lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg"))
    }

    static func entries(_ dir: String) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) else { throw StageError(dir, "no such folder") }
        guard isDir.boolValue else { throw StageError(dir, "is a file, expected a folder") }
        do { return try FileManager.default.contentsOfDirectory(atPath: dir).sorted() }
        catch { throw StageError(dir, "cannot read folder (permission denied?)") }
    }

    /// (files, labels, class names) for a tree or a flat folder.
    public static func list(_ rootPath: String, labeled: Bool) throws -> (files: [String], labels: [Int64], classes: [String]?) {
        var root = rootPath
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        let names = try entries(root)
        if !labeled {
            let files = names.filter(isJPEG).map { "\(root)/\($0)" }
            guard !files.isEmpty else { throw StageError(root, "contains no .jpg/.jpeg files") }
            return (files, [Int64](repeating: -1, count: files.count), nil)
        }
        let classes = names.filter { name in
            var isDir: ObjCBool = false
            return !name.hasPrefix(".") && FileManager.default.fileExists(atPath: "\(root)/\(name)", isDirectory: &isDir) && isDir.boolValue
        }
        guard !classes.isEmpty else {
            throw StageError(root, "has no class sub-folders (for a flat folder of unlabeled JPEGs pass --unlabeled)")
        }
        var files: [String] = [], labels: [Int64] = []
        for (id, cls) in classes.enumerated() {
            let dir = "\(root)/\(cls)"
            for name in try entries(dir) where isJPEG(name) {
                files.append("\(dir)/\(name)")
                labels.append(Int64(id))
            }
        }
        guard !files.isEmpty else { throw StageError(root, "class folders contain no .jpg/.jpeg files") }
        return (files, labels, classes)
    }
}

extension ImageDataset {
    public static func fromFolder(_ root: String, labeled: Bool, subset: Subset, options: JPEGOptions) throws -> ImageDataset {
        let listing = try JPEGFolder.list(root, labeled: labeled)
        let keep = subset.positions(total: listing.files.count)
        let files = keep.map { listing.files[$0] }
        let decoded = try decodeAll(files, options: options)
        var dataset = ImageDataset(images: decoded.pixels, channels: options.color.channels,
                                   height: decoded.height, width: decoded.width,
                                   labels: decoded.good.map { listing.labels[keep[$0]] },
                                   index: decoded.good.map { Int64(keep[$0]) }, classes: listing.classes)
        dataset.skipped = decoded.bad
        return dataset
    }

    /// Decodes files in parallel into one [N, C, H, W] buffer. Bad images throw (the first in order), or
    /// with `skipBad` are left out and listed as "file: why".
    static func decodeAll(_ files: [String], options: JPEGOptions) throws
        -> (pixels: [UInt8], height: Int, width: Int, good: [Int], bad: [String]) {
        let n = files.count
        let channels = options.color.channels
        var errors = [StageError?](repeating: nil, count: n)                 // [N]
        var height = 0, width = 0
        if let s = options.size {
            height = s; width = s
        } else {
            // Without a resize every image must have the same size: read all headers first.
            var sizes = [(Int, Int)?](repeating: nil, count: n)               // [N]
            errors.withUnsafeMutableBufferPointer { errs in
                sizes.withUnsafeMutableBufferPointer { sz in
                    parallelRanges(n, threads: options.threads) { range in
                        guard let decoder = try? JPEGDecoder() else { return }
                        for i in range {
                            do { sz[i] = try decoder.size(try readFileBytes(files[i]), path: files[i]) }
                            catch { errs[i] = error as? StageError ?? StageError(files[i], "\(error)") }
                        }
                    }
                }
            }
            // Unreadable headers are reported below in file order, together with decoding failures.
            guard let first = sizes.firstIndex(where: { $0 != nil }) else { throw allBad(errors) }
            (width, height) = sizes[first]!
            if let j = sizes.firstIndex(where: { $0 != nil && ($0!.0 != width || $0!.1 != height) }) {
                throw StageError(files[j], "is \(sizes[j]!.0)×\(sizes[j]!.1) but \(files[first]) is \(width)×\(height); pass --size S to resize all images to S×S")
            }
        }
        let item = channels * height * width
        let (total, overflow) = n.multipliedReportingOverflow(by: item)
        try OutputBudget.check(total, overflow: overflow, what: "\(n) images of \(channels)×\(height)×\(width)", inputBytes: OutputBudget.size(of: files),
                               file: files.first ?? "", hint: "pass --size S to shrink them")
        var pixels = [UInt8](repeating: 0, count: n * item)                    // [N, C, H, W]
        let target = options.size
        pixels.withUnsafeMutableBufferPointer { dst in
            errors.withUnsafeMutableBufferPointer { errs in
                parallelRanges(n, threads: options.threads) { range in
                    let decoder: JPEGDecoder
                    do { decoder = try JPEGDecoder() } catch {
                        for i in range { errs[i] = error as? StageError }
                        return
                    }
                    for i in range where errs[i] == nil {
                        do {
                            let bytes = try readFileBytes(files[i])
                            let full = try decoder.size(bytes, path: files[i])
                            let out = dst.baseAddress! + i * item
                            if let s = target {
                                let scaled = JPEGDecoder.scaledSize(width: full.width, height: full.height, target: s)
                                let hwc = try decoder.decode(bytes, path: files[i], width: scaled.width, height: scaled.height, color: options.color)
                                hwc.withUnsafeBufferPointer {
                                    ResizeCrop.shorterSideThenCenterCrop($0.baseAddress!, width: scaled.width, height: scaled.height,
                                                                         channels: channels, size: s, into: out)
                                }
                            } else {
                                let hwc = try decoder.decode(bytes, path: files[i], width: full.width, height: full.height, color: options.color)
                                hwc.withUnsafeBufferPointer { ResizeCrop.planar($0.baseAddress!, width: full.width, height: full.height, channels: channels, into: out) }
                            }
                        } catch {
                            errs[i] = error as? StageError ?? StageError(files[i], "\(error)")
                        }
                    }
                }
            }
        }
        let bad = errors.indices.filter { errors[$0] != nil }
        if !bad.isEmpty && !options.skipBad { throw errors[bad[0]]! }
        if bad.count == n { throw allBad(errors) }
        let good = errors.indices.filter { errors[$0] == nil }
        if !bad.isEmpty {
            // Close the gaps the skipped images left, keeping source order.
            pixels.withUnsafeMutableBufferPointer { p in
                for (j, i) in good.enumerated() where j != i {
                    UnsafeMutableRawPointer(p.baseAddress! + j * item).copyMemory(from: p.baseAddress! + i * item, byteCount: item)
                }
            }
            pixels.removeLast((n - good.count) * item)
        }
        return (pixels, height, width, good, bad.map { errors[$0]!.description })
    }

    static func allBad(_ errors: [StageError?]) -> StageError {
        let first = errors.compactMap { $0 }.first
        return StageError(first?.file, "no readable image left (first problem: \(first?.message ?? "none"))")
    }
}
