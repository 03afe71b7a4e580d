import Foundation
import StageKit

/// A class hierarchy as a parent map, for the semantic-distance statistic (Cai et al.: depth of the
/// lowest common ancestor of a query's class and a negative's class).
///
/// File format (JSON; docs/analysis.md):
///   { "classes": ["name of label 0", "name of label 1", ...],
///     "parents": { "child": "parent", ... },
///     "root": "optional; the one node with no parent" }
/// Every class must reach the root by following `parents`; depth counts edges from the root (root = 0).
/// A WordNet hierarchy for ImageNet is the same map with synset ids as names (wnid → hypernym wnid).
public struct ClassHierarchy: Sendable {
    public let classes: [String]          // [C] label → node name
    public let depth: [Int]               // [C] depth of each class node
    public let lcaDepth: [Double]         // [C, C] depth of the lowest common ancestor
    public static let classLimit = 4096

    /// Builds the tables; `file` names the source in errors.
    public init(classes: [String], parents: [String: String], file: String = "hierarchy") throws {
        guard !classes.isEmpty else { throw StageError(file, "'classes' is empty") }
        // the LCA table is C × C doubles: 4096 classes = 134 MB (ImageNet has 1000)
        guard classes.count <= ClassHierarchy.classLimit else {
            throw StageError(file, "'classes' lists \(classes.count) classes, more than the limit of \(ClassHierarchy.classLimit)")
        }
        // path from each class up to the root, class first
        func pathToRoot(_ node: String) throws -> [String] {
            var path = [node]
            var seen: Set<String> = [node]
            var current = node
            while let parent = parents[current] {
                guard !seen.contains(parent) else { throw StageError(file, "cycle in 'parents' through '\(parent)'") }
                seen.insert(parent)
                path.append(parent)
                current = parent
            }
            return path
        }
        let paths = try classes.map(pathToRoot)
        let roots = Set(paths.map { $0.last! })
        guard roots.count == 1 else {
            throw StageError(file, "classes do not share one root (roots: \(roots.sorted().joined(separator: ", ")))")
        }
        self.classes = classes
        depth = paths.map { $0.count - 1 }
        let c = classes.count
        var table = [Double](repeating: 0, count: c * c)   // [C, C]
        for a in 0..<c {
            let ancestorsA = Set(paths[a])
            for b in 0..<c {
                // the first node on b's upward path that is also an ancestor of a is the LCA
                let lca = paths[b].first(where: { ancestorsA.contains($0) })!
                table[a * c + b] = Double(pathToRootDepth(lca, paths[b]))
            }
        }
        lcaDepth = table
    }

    /// Loads the JSON format above.
    public static func load(_ path: String) throws -> ClassHierarchy {
        try requireReadableFile(path)
        guard let data = FileManager.default.contents(atPath: path),
              let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw StageError(path, "not a JSON object")
        }
        guard let classes = obj["classes"] as? [String] else { throw StageError(path, "missing 'classes' (array of class names in label order)") }
        guard let parents = obj["parents"] as? [String: String] else { throw StageError(path, "missing 'parents' (object child → parent)") }
        let h = try ClassHierarchy(classes: classes, parents: parents, file: path)
        if let root = obj["root"] as? String, parents[root] != nil {
            throw StageError(path, "'root' \(root) has a parent")
        }
        return h
    }

    public var count: Int { classes.count }

    public func lca(_ a: Int, _ b: Int) -> Double { lcaDepth[a * classes.count + b] }
}

/// Depth of `node` given a path (node ... root) that contains it: edges from it to the path's end.
private func pathToRootDepth(_ node: String, _ path: [String]) -> Int {
    path.count - 1 - path.firstIndex(of: node)!
}
