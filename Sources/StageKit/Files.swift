import Foundation

/// Writes bytes to `path` through a temporary file in the same folder and a rename, so a reader
/// never sees a half-written output and a killed stage leaves no partial target.
public func writeFileAtomically(_ data: Data, to path: String) throws {
    let tmp = temporaryPath(for: path)
    guard FileManager.default.createFile(atPath: tmp, contents: data) else {
        throw StageError(path, "cannot write (is the folder there and writable?)")
    }
    try commitTemporary(tmp, to: path)
}

public func writeTextAtomically(_ text: String, to path: String) throws {
    try writeFileAtomically(Data(text.utf8), to: path)
}

/// A temporary name beside `path`: hidden, unique to this process, swept up by `commitTemporary`'s rename.
public func temporaryPath(for path: String) -> String {
    let url = URL(fileURLWithPath: path)
    let dir = url.deletingLastPathComponent().path
    return "\(dir)/.\(url.lastPathComponent).tmp-\(getpid())"
}

/// fsyncs the temporary file and renames it over `path`.
public func commitTemporary(_ tmp: String, to path: String) throws {
    let fd = open(tmp, O_RDONLY)
    if fd >= 0 { fsync(fd); close(fd) }
    if rename(tmp, path) != 0 {
        let why = String(cString: strerror(errno))
        unlink(tmp)
        throw StageError(path, "cannot rename temporary file into place: \(why)")
    }
}

/// Creates the folder that will hold `path`, if missing.
public func ensureParentDirectory(of path: String) throws {
    let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
    do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
    catch { throw StageError(dir, "cannot create folder: \(error.localizedDescription)") }
}

/// Throws a one-line error unless `path` names a readable regular file.
public func requireReadableFile(_ path: String) throws {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw StageError(path, "no such file") }
    if isDir.boolValue { throw StageError(path, "is a folder, expected a file") }
    guard FileManager.default.isReadableFile(atPath: path) else { throw StageError(path, "file is not readable") }
}
