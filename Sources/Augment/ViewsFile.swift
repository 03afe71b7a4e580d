import StageKit
import TensorFiles

/// The views-file contract, checked: `view1` u8 [N, C1, H, W], `view2` u8 [N, C2, H, W] (same N, H, W),
/// `index` i64 [N], `labels` i64 [N]. The pretrain stage calls this before reading a file any stage
/// (built-in or a replacement) wrote.
public enum ViewsFile {
    @discardableResult
    public static func validate(path: String) throws -> (n: Int, view1Shape: [Int], view2Shape: [Int]) {
        let file = try TensorFile.read(path)
        return try validate(file)
    }

    @discardableResult
    public static func validate(_ file: TensorFile) throws -> (n: Int, view1Shape: [Int], view2Shape: [Int]) {
        let path = file.path
        var shapes: [[Int]] = []
        for name in ["view1", "view2"] {
            let t = try file.info(name)
            guard t.dtype == .u8 else { throw StageError(path, "tensor '\(name)' has dtype \(t.dtype.rawValue), expected U8") }
            guard t.shape.count == 4, t.shape[1...].allSatisfy({ $0 >= 1 }) else {
                throw StageError(path, "tensor '\(name)' has shape \(t.shape), expected [N, C, H, W]")
            }
            shapes.append(t.shape)
        }
        let (a, b) = (shapes[0], shapes[1])
        guard a[0] == b[0] else { throw StageError(path, "view1 has \(a[0]) images but view2 has \(b[0])") }
        guard a[2] == b[2], a[3] == b[3] else {
            throw StageError(path, "view1 is \(a[2])×\(a[3]) but view2 is \(b[2])×\(b[3]); both views need the same size")
        }
        let n = a[0]
        for name in ["index", "labels"] {
            let t = try file.info(name)
            guard t.dtype == .i64 else { throw StageError(path, "tensor '\(name)' has dtype \(t.dtype.rawValue), expected I64") }
            guard t.shape == [n] else { throw StageError(path, "tensor '\(name)' has shape \(t.shape), expected [\(n)] (one per view pair)") }
        }
        return (n, a, b)
    }
}
