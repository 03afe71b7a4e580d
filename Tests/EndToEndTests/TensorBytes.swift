import TensorFiles

/// Every tensor's bytes in a tensor file, by name: compares checkpoints bit for bit.
func tensorBytes(_ path: String) throws -> [String: [UInt8]] {
    let f = try TensorFile.read(path)
    var out: [String: [UInt8]] = [:]
    for t in f.tensors { out[t.name] = Array(f.rawBytes(t)) }
    return out
}
