import Foundation

/// The readers take paths: each input is written to one scratch file per process (under /dev/shm when
/// there, so the disk is not the bottleneck) and read back from there.
public enum Scratch {
    public static let folder: String = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()

    public static func write(_ data: UnsafePointer<UInt8>, _ count: Int, suffix: String) -> String {
        let path = "\(folder)/ns-fuzz-\(getpid())\(suffix)"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: count))
        return path
    }
}
