import Analysis
import Foundation
import Images
import StageKit
import TensorFiles

/// What the image grids need: the run's features (queries = the test split, neighbours = the training
/// split), the final queue or bank (or, for SimCLR, the training projections) and the two datasets'
/// pixels. Class names come from the dataset's metadata or a class hierarchy file.
public struct ImageGridInputs {
    public var trainFeatures: String
    public var testFeatures: String
    public var candidates: String
    public var candidateImages: String? = nil     // the pretraining set, where the queue/bank entries come from (default: trainImages)
    public var trainImages: String
    public var testImages: String
    public var classNames: [String]? = nil
    public var queries = 6
    public var shown = 8
    public init(trainFeatures: String, testFeatures: String, candidates: String, trainImages: String, testImages: String) {
        self.trainFeatures = trainFeatures; self.testFeatures = testFeatures; self.candidates = candidates
        self.trainImages = trainImages; self.testImages = testImages
    }
}

/// Cai et al.'s picture of hardness: for a few test queries, their nearest training images (backbone
/// cosine) and their hardest negatives in the final queue or bank (projection cosine), labelled, with
/// negatives that share the query's class outlined in red — the false negatives a hard sampler picks.
public enum ImageGrids {
    struct Pixels {
        let bytes: [UInt8]            // [N, C, H, W]
        let channels: Int, height: Int, width: Int
        let labels: [Int64]           // [N]
        let rowOfIndex: [Int64: Int]  // source position → row
        let classes: [String]?

        static func load(_ path: String) throws -> Pixels {
            let file = try TensorFile.read(path)
            let info = try file.info("images")
            guard info.dtype == .u8, info.shape.count == 4, info.shape[1] == 1 || info.shape[1] == 3 else {
                throw StageError(path, "tensor 'images' is \(info.dtype.rawValue) \(info.shape), expected U8 [N, 1 or 3, H, W]")
            }
            let n = info.shape[0]
            let index = try file.integers("index", shape: [n])
            var rowOfIndex: [Int64: Int] = [:]
            for (row, i) in index.enumerated() { rowOfIndex[i] = row }
            let classes = ImageDataset.classNames(metadata: file.metadata)
            return Pixels(bytes: try file.array("images", as: UInt8.self), channels: info.shape[1], height: info.shape[2], width: info.shape[3],
                          labels: try file.integers("labels", shape: [n]), rowOfIndex: rowOfIndex, classes: classes)
        }

        func png(row: Int) -> [UInt8] {
            let size = channels * height * width
            return bytes.withUnsafeBufferPointer { PNG.encode(planar: UnsafeBufferPointer(rebasing: $0[(row * size)..<((row + 1) * size)]), channels: channels, height: height, width: width) }
        }
    }

    /// The class names of a class hierarchy JSON (label order).
    public static func classNames(hierarchy path: String) throws -> [String] { try ClassHierarchy.load(path).classes }

    /// The class names a dataset file records (ingest writes them for ImageFolder and CIFAR sources), if any.
    public static func classNames(dataset path: String) -> [String]? {
        (try? TensorFile.read(path)).flatMap { ImageDataset.classNames(metadata: $0.metadata) }
    }

    static func make(_ g: ImageGridInputs) throws -> ReportBuilder.Section {
        let trainBackbone = try features(g.trainFeatures, "backbone")
        let testBackbone = try features(g.testFeatures, "backbone")
        let testProjection = try features(g.testFeatures, "projection")
        let candidates = try EmbeddingSet.load(g.candidates)
        guard candidates.dim == testProjection.dim else {
            throw StageError(g.candidates, "its \(candidates.tensorName) has dimension \(candidates.dim), the test projections \(testProjection.dim)")
        }
        let train = try Pixels.load(g.trainImages), test = try Pixels.load(g.testImages)
        let pool = try g.candidateImages.map(Pixels.load) ?? train
        let poolPath = g.candidateImages ?? g.trainImages
        // a memory bank's row i is item i of the pretraining set (it stores no index); a queue stores each key's index
        let byRow = candidates.tensorName == "bank"
        func poolRow(_ i: Int) -> Int? { byRow ? (Int(candidates.index[i]) < pool.labels.count ? Int(candidates.index[i]) : nil) : pool.rowOfIndex[candidates.index[i]] }
        let names = g.classNames ?? test.classes ?? train.classes
        func label(_ l: Int64) -> String { l < 0 ? "unlabelled" : names.flatMap { Int(l) < $0.count ? $0[Int(l)] : nil } ?? "class \(l)" }

        let q = min(g.queries, testBackbone.count)
        let queryRows = (0..<q).map { $0 * testBackbone.count / q }          // spread over the test split
        var html = "<p>For \(q) test queries (blue): their \(g.shown) nearest training images by backbone cosine, then their \(g.shown) "
            + "hardest negatives in the final \(candidates.tensorName == "projection" ? "training projections" : candidates.tensorName) "
            + "by projection cosine, hardest first. Negatives of the query's own class are outlined in red (false negatives).</p>\n"
        html += "<table class=\"grid\">\n<tr><th>query</th><th colspan=\"\(g.shown)\">nearest training images</th><th colspan=\"\(g.shown)\">hardest negatives</th></tr>\n"
        var falseNegatives = 0, negativesShown = 0
        for row in queryRows {
            let queryLabel = testBackbone.labels[row]
            let neighbours = nearest(testBackbone, row, in: trainBackbone, count: g.shown)
            let hardest = nearest(testProjection, row, in: candidates, count: g.shown)
            guard let testRow = test.rowOfIndex[testBackbone.index[row]] else {
                throw StageError(g.testImages, "has no image of index \(testBackbone.index[row]) (features from another dataset?)")
            }
            html += "<tr>" + cell(test.png(row: testRow), caption: label(queryLabel), style: "query", similarity: nil)
            for (i, s) in neighbours {
                guard let r = train.rowOfIndex[trainBackbone.index[i]] else { throw StageError(g.trainImages, "has no image of index \(trainBackbone.index[i])") }
                html += cell(train.png(row: r), caption: label(trainBackbone.labels[i]), style: nil, similarity: s)
            }
            for (i, s) in hardest {
                guard let r = poolRow(i) else { throw StageError(poolPath, "has no image for \(candidates.tensorName) entry \(i) (index \(candidates.index[i])): not the run's pretraining set?") }
                let same = queryLabel >= 0 && candidates.labels[i] == queryLabel
                falseNegatives += same ? 1 : 0; negativesShown += 1
                html += cell(pool.png(row: r), caption: label(candidates.labels[i]), style: same ? "same" : nil, similarity: s)
            }
            html += "</tr>\n"
        }
        html += "</table>\n<p>\(falseNegatives) of the \(negativesShown) hardest negatives shown share their query's class.</p>\n"
        return ReportBuilder.Section(title: "Queries, neighbours and hardest negatives", html: html, markdown: "", inMarkdown: false)
    }

    /// One tensor of an embed features file, with the file's labels and index.
    static func features(_ path: String, _ tensor: String) throws -> EmbeddingSet {
        let file = try TensorFile.read(path)
        let info = try file.info(tensor)
        guard info.shape.count == 2, info.shape[0] > 0, info.shape[1] > 0 else {
            throw StageError(path, "tensor '\(tensor)' has shape \(info.shape), expected [n, d] with n, d > 0")
        }
        let n = info.shape[0], vectors = try file.floats(tensor)
        try requireFinite(vectors, tensor: tensor, in: path, rowLength: info.shape[1])
        return EmbeddingSet(vectors: vectors, labels: try file.integers("labels", shape: [n]), index: try file.integers("index", shape: [n]),
                            dim: info.shape[1], tensorName: tensor)
    }

    /// The `count` rows of `pool` most cosine-similar to row `row` of `queries`, most similar first (ties by row).
    static func nearest(_ queries: EmbeddingSet, _ row: Int, in pool: EmbeddingSet, count: Int) -> [(Int, Double)] {
        let d = queries.dim
        let q = Array(queries.vectors[(row * d)..<((row + 1) * d)])
        let qn = max(q.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot(), 1e-12)
        var scored: [(Int, Double)] = []
        scored.reserveCapacity(pool.count)
        for i in 0..<pool.count {
            var dot = 0.0, nn = 0.0
            for j in 0..<d { let v = Double(pool.vectors[i * d + j]); dot += Double(q[j]) * v; nn += v * v }
            scored.append((i, dot / (qn * max(nn.squareRoot(), 1e-12))))
        }
        scored.sort { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
        return Array(scored.prefix(count))
    }

    static func cell(_ png: [UInt8], caption: String, style: String?, similarity: Double?) -> String {
        let cls = style.map { " class=\"\($0)\"" } ?? ""
        let sim = similarity.map { "<br>" + fixed($0, 2) } ?? ""
        return "<td\(cls)><img src=\"\(PNG.dataURI(png))\" alt=\"\(escapeXML(caption))\"><br>\(escapeXML(caption))\(sim)</td>"
    }
}
