import ArgumentParser

/// The objectives of SPEC §1 (this folder: one file each). Each scores a batch against its candidates,
/// lets the run's `NegativeSampler` choose, and forms the loss through the phases in LogitRows.swift.
public enum ObjectiveKind: String, CaseIterable, ExpressibleByArgument, Codable, Sendable {
    case ir, cmc, moco, simclr
}
