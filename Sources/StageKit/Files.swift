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

/// Fails early, creating nothing, unless the folder that will hold `path` exists and is writable or
/// can be created (its nearest existing ancestor is a writable folder); the folder itself is made only
/// when the output is written, so a stage that fails leaves no empty folders behind.
public func requireCreatableParent(of path: String) throws {
    var dir = URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL
    var isDir: ObjCBool = false
    while !FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir) && dir.path != "/" { dir.deleteLastPathComponent() }
    guard isDir.boolValue else { throw StageError(dir.path, "is a file, so no output can be written below it") }
    guard FileManager.default.isWritableFile(atPath: dir.path) else { throw StageError(dir.path, "folder is not writable") }
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

/// Refuses an output that is one of the stage's inputs — the same path, or the same file under another
/// name (a link) — before anything is read or written: overwriting it would destroy the input.
/// `inputs` are (flag, path) pairs; nil paths (flags not given) are skipped.
public func requireDistinctOutput(_ output: String, flag: String, from inputs: [(String, String?)]) throws {
    let target = FileIdentity(output)
    for case let (inputFlag, path?) in inputs where FileIdentity(path) == target {
        throw StageError.usage("\(flag) \(output) is the \(inputFlag) input; writing it would destroy that input (choose another output path)")
    }
}

/// A file by device and inode when it exists, else by its absolute, symlink-resolved path.
struct FileIdentity: Equatable {
    let path: String
    let device: UInt64?, inode: UInt64?

    init(_ path: String) {
        self.path = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        var st = stat()
        if stat(path, &st) == 0 { (device, inode) = (UInt64(st.st_dev), UInt64(st.st_ino)) } else { (device, inode) = (nil, nil) }
    }

    static func == (a: FileIdentity, b: FileIdentity) -> Bool {
        if let da = a.device, let ia = a.inode, let db = b.device, let ib = b.inode { return da == db && ia == ib }
        return a.path == b.path
    }
}

/// A whole file's bytes, read with POSIX calls into one array (an empty file gives []; Foundation's
/// reader leaks a page on empty files, which the fuzzers' leak checker reports), or a one-line error.
public func readFileBytes(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw StageError(path, "cannot read file: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw StageError(path, "cannot read file: \(String(cString: strerror(errno)))") }
    let size = Int(st.st_size)
    guard size > 0 else { return [] }
    var failure: Int32 = 0
    let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
        var done = 0
        while done < size {
            let n = read(fd, buffer.baseAddress! + done, size - done)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { failure = n < 0 ? errno : EIO; break }
            done += n
        }
        count = done
    }
    if failure != 0 { throw StageError(path, "cannot read file: \(String(cString: strerror(failure)))") }
    return bytes
}

/// Throws one line naming the file and the tensor when `values` (rows of `rowLength`) holds NaN or ±∞:
/// a diverged run or a corrupted file, which no stage should carry on with.
public func requireFinite<T: BinaryFloatingPoint>(_ values: [T], tensor: String, in path: String, rowLength: Int) throws {
    if let bad = values.firstIndex(where: { !$0.isFinite }) {
        throw StageError(path, "tensor '\(tensor)' holds a non-finite value (\(values[bad]) at row \(bad / max(1, rowLength)))")
    }
}
