// This process's part of a data-parallel batch (issue: MPI scale-out). Each rank computes the loss of
// its own rows of the global batch; what the maths needs from the whole batch comes through `share`:
//   offset  — the first global row of this rank, so every per-row random stream is the global row's
//             and a run draws the same negatives at any number of ranks;
//   total   — the global batch, so gradients are ÷ B_global and the ranks' sum is the whole gradient;
//   gather  — every rank's array concatenated in rank order (the similarity percentiles of the log).
// A single process is `.whole(B)`: offset 0, total B, gather the identity.

public struct BatchShare {
    public var offset: Int
    public var total: Int
    public var gather: ([Float]) -> [Float]

    public init(offset: Int, total: Int, gather: @escaping ([Float]) -> [Float]) {
        self.offset = offset; self.total = total; self.gather = gather
    }

    public static func whole(_ rows: Int) -> BatchShare { BatchShare(offset: 0, total: rows, gather: { $0 }) }
}
