import ArgumentParser
import NN
import StageKit

/// Learning-rate schedule names for the command line (NN.LRSchedule holds the maths).
public enum ScheduleKind: String, CaseIterable, ExpressibleByArgument, Codable, Sendable {
    case cosine, step, constant
}

/// How IR / CMC memory banks start.
public enum BankInit: String, CaseIterable, ExpressibleByArgument, Codable, Sendable {
    case forward, random
}

/// Every `pretrain` option, in titled groups for `pretrain --help` (the properties below reach into them,
/// so code reads `options.lr`). The executable only parses these and calls `PretrainStage.run`.
public struct PretrainOptions: ParsableArguments, Sendable {
    public struct Files: ParsableArguments, Sendable {
        @Option(help: "Views file(s) from the augment stage, one per epoch, in order.")
        public var views: [String] = []
        @Option(help: "Checkpoint to continue from (omit for the first epoch).")
        public var resume: String?
        @Option(help: "Checkpoint to write after the last epoch.")
        public var out: String
        @Option(help: "log.csv to (re)write from the checkpoint's log rows.")
        public var log: String?
        public init() {}
    }

    public struct Method: ParsableArguments, Sendable {
        @Option(help: "Objective: \(ObjectiveKind.allCases.map(\.rawValue).joined(separator: ", ")).")
        public var objective: ObjectiveKind = .moco
        @Option(help: ArgumentHelp("Negative sampler: \(SamplerOptions.names.joined(separator: ", ")).",
                                   discussion: SamplerOptions.registered.map { "\($0.name): \($0.summary)" }.joined(separator: "\n")))
        public var sampler: String = RingSampler.name
        @Option(help: "Temperature τ.") public var tau: Double = 0.1
        @Option(help: "ResNet-18 base width (64 = standard).") public var width: Int = 16
        @Option(help: "Split batch norm groups (MoCo CIFAR demo: 8); the batch must divide evenly.")
        public var bnSplits: Int = 8
        @Option(help: "ShuffleBN: keys (MoCo) or second views (SimCLR) enter their split-BN forward in a permuted order, so no positive shares a BN group with its query (MoCo's reference; false = off).")
        public var shuffleBn: Bool = true
        public init() {}
    }

    public struct Optimisation: ParsableArguments, Sendable {
        @Option(help: "Total epochs of the run (the schedule and the anneal are laid out over them).")
        public var epochs: Int
        @Option(help: "Batch size.") public var batch: Int = 256
        @Option(help: "Base learning rate.") public var lr: Double = 0.06
        @Option(help: "SGD momentum.") public var momentum: Double = 0.9
        @Option(help: "Weight decay.") public var wd: Double = 5e-4
        @Option(help: "LR schedule: cosine, step, constant.") public var schedule: ScheduleKind = .cosine
        @Option(help: "Step schedule: fractions of training where the LR is multiplied by --step-gamma.")
        public var stepMilestones: String = "0.68,0.83"
        @Option(help: "Step schedule multiplier.") public var stepGamma: Double = 0.1
        @Option(help: "Linear warm-up epochs.") public var warmupEpochs: Double = 0
        public init() {}
    }

    public struct Negatives: ParsableArguments, Sendable {
        @Option(help: "MoCo queue size K (a multiple of the batch).") public var queue: Int = 4096
        @Option(help: "MoCo key-encoder momentum m.") public var keyMomentum: Double = 0.99
        @Option(help: "IR/CMC memory-bank momentum (InstDisc 0.5; the Ring code 0).") public var bankMomentum: Double = 0.5
        @Option(help: "IR/CMC negatives k drawn per query.") public var negatives: Int = 4096
        @Option(help: "IR/CMC memory bank at the start: forward (the initial encoder's embedding of every item, one pass) or random (unit vectors, as InstDisc).")
        public var bankInit: BankInit = .forward
        public init() {}
    }

    public struct Monitoring: ParsableArguments, Sendable {
        @Option(help: "Dataset to use as the kNN monitor's memory (train split).") public var knnTrain: String?
        @Option(help: "Held-out dataset for the kNN monitor.") public var knnTest: String?
        @Option(help: "kNN monitor: neighbours.") public var knnK: Int = 200
        @Option(help: "kNN monitor: temperature.") public var knnTau: Double = 0.1
        @Option(help: "kNN monitor: use at most this many train images (0 = all).") public var knnLimit: Int = 0
        @Option(help: "Also log a row every N steps (0 = once per epoch).") public var logEvery: Int = 0
        @Flag(help: "Debug: every convolution by the direct reference loops (to check the fast algorithms on a real run; very slow).")
        public var referenceConvolutions = false
        public init() {}
    }

    @OptionGroup(title: "Files") public var files: Files
    @OptionGroup(title: "Objective and model") public var method: Method
    @OptionGroup(title: "Optimisation") public var optimisation: Optimisation
    @OptionGroup(title: "MoCo queue and IR/CMC memory bank") public var negativeSource: Negatives
    /// Every sampler's own flags (Samplers/SamplerOptions.swift lists them), one titled group per sampler.
    @OptionGroup public var samplerOptions: SamplerOptions
    @OptionGroup(title: "Monitoring") public var monitoring: Monitoring
    @OptionGroup public var common: CommonOptions

    public var views: [String] { get { files.views } set { files.views = newValue } }
    public var resume: String? { get { files.resume } set { files.resume = newValue } }
    public var out: String { get { files.out } set { files.out = newValue } }
    public var log: String? { get { files.log } set { files.log = newValue } }
    public var objective: ObjectiveKind { get { method.objective } set { method.objective = newValue } }
    public var sampler: String { get { method.sampler } set { method.sampler = newValue } }
    public var tau: Double { get { method.tau } set { method.tau = newValue } }
    public var width: Int { get { method.width } set { method.width = newValue } }
    public var bnSplits: Int { get { method.bnSplits } set { method.bnSplits = newValue } }
    public var shuffleBn: Bool { get { method.shuffleBn } set { method.shuffleBn = newValue } }
    public var epochs: Int { get { optimisation.epochs } set { optimisation.epochs = newValue } }
    public var batch: Int { get { optimisation.batch } set { optimisation.batch = newValue } }
    public var lr: Double { get { optimisation.lr } set { optimisation.lr = newValue } }
    public var momentum: Double { get { optimisation.momentum } set { optimisation.momentum = newValue } }
    public var wd: Double { get { optimisation.wd } set { optimisation.wd = newValue } }
    public var schedule: ScheduleKind { get { optimisation.schedule } set { optimisation.schedule = newValue } }
    public var stepMilestones: String { get { optimisation.stepMilestones } set { optimisation.stepMilestones = newValue } }
    public var stepGamma: Double { get { optimisation.stepGamma } set { optimisation.stepGamma = newValue } }
    public var warmupEpochs: Double { get { optimisation.warmupEpochs } set { optimisation.warmupEpochs = newValue } }
    public var queue: Int { get { negativeSource.queue } set { negativeSource.queue = newValue } }
    public var keyMomentum: Double { get { negativeSource.keyMomentum } set { negativeSource.keyMomentum = newValue } }
    public var bankMomentum: Double { get { negativeSource.bankMomentum } set { negativeSource.bankMomentum = newValue } }
    public var negatives: Int { get { negativeSource.negatives } set { negativeSource.negatives = newValue } }
    public var bankInit: BankInit { get { negativeSource.bankInit } set { negativeSource.bankInit = newValue } }
    public var knnTrain: String? { get { monitoring.knnTrain } set { monitoring.knnTrain = newValue } }
    public var knnTest: String? { get { monitoring.knnTest } set { monitoring.knnTest = newValue } }
    public var knnK: Int { get { monitoring.knnK } set { monitoring.knnK = newValue } }
    public var knnTau: Double { get { monitoring.knnTau } set { monitoring.knnTau = newValue } }
    public var knnLimit: Int { get { monitoring.knnLimit } set { monitoring.knnLimit = newValue } }
    public var logEvery: Int { get { monitoring.logEvery } set { monitoring.logEvery = newValue } }
    public var referenceConvolutions: Bool { get { monitoring.referenceConvolutions } set { monitoring.referenceConvolutions = newValue } }

    public init() {}

    public func validate() throws {
        if views.isEmpty { throw ValidationError("give at least one --views file") }
        if batch < 2 { throw ValidationError("--batch must be at least 2") }
        if width < 1 || width > ResNet<Float>.widthLimit {
            throw ValidationError("--width must be in 1…\(ResNet<Float>.widthLimit) (got \(width))")
        }
        if epochs < 1 { throw ValidationError("--epochs must be at least 1") }
        if bnSplits < 1 || batch % bnSplits != 0 { throw ValidationError("--batch \(batch) must be divisible by --bn-splits \(bnSplits)") }
        if !(tau > 0) { throw ValidationError("--tau must be positive") }
        if !(lr > 0) || !lr.isFinite { throw ValidationError("--lr must be positive (got \(lr))") }
        if !(momentum >= 0 && momentum < 1) { throw ValidationError("--momentum must be in [0, 1) (got \(momentum))") }
        if !(wd >= 0) || !wd.isFinite { throw ValidationError("--wd must be ≥ 0 (got \(wd))") }
        if !(warmupEpochs >= 0 && warmupEpochs <= Double(epochs)) {
            throw ValidationError("--warmup-epochs must be in 0…\(epochs) (the run's epochs; got \(warmupEpochs))")
        }
        if !(0...1).contains(keyMomentum) { throw ValidationError("--key-momentum must be in [0, 1]") }
        if !(0...1).contains(bankMomentum) { throw ValidationError("--bank-momentum must be in [0, 1]") }
        if objective == .moco && (queue < batch || queue % batch != 0) {
            throw ValidationError("--queue \(queue) must be a positive multiple of --batch \(batch)")
        }
        if negatives < 1 { throw ValidationError("--negatives must be at least 1") }
        _ = try milestones()
        do {
            try SamplerOptions.type(named: sampler).check(objective: objective)
            // every sampler's flags are checked, chosen or not: a value outside its domain is a usage error
            for t in SamplerOptions.registered { _ = try t.init(samplerOptions, epochs: epochs, stepsPerEpoch: 1) }
        } catch let e as StageError { throw ValidationError(e.message) }
    }

    func milestones() throws -> [Double] {
        let parts = stepMilestones.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.allSatisfy({ $0 != nil && (0...1).contains($0!) }) else {
            throw ValidationError("--step-milestones must be fractions in [0, 1], e.g. 0.68,0.83")
        }
        return parts.map { $0! }
    }

    /// The run's sampler, built from its flags for `stepsPerEpoch` iterations per epoch.
    public func negativeSampler(stepsPerEpoch: Int) throws -> any NegativeSampler {
        try samplerOptions.sampler(named: sampler, epochs: epochs, stepsPerEpoch: stepsPerEpoch)
    }

    public var lrSchedule: LRSchedule {
        switch schedule {
        case .cosine: return .cosine
        case .constant: return .constant
        case .step: return .step(milestones: (try? milestones()) ?? [], gamma: stepGamma)
        }
    }

    /// The options that define the training run: a resumed run must use the same values.
    public var identity: [String: String] {
        var m: [String: String] = [
            "objective": objective.rawValue, "sampler": sampler, "width": "\(width)", "batch": "\(batch)",
            "lr": "\(lr)", "momentum": "\(momentum)", "wd": "\(wd)", "schedule": schedule.rawValue,
            "warmup_epochs": "\(warmupEpochs)", "epochs": "\(epochs)", "tau": "\(tau)", "bn_splits": "\(bnSplits)",
            "seed": "\(common.seed)",
        ]
        if objective == .moco || objective == .simclr { m["shuffle_bn"] = "\(shuffleBn)" }
        if referenceConvolutions { m["reference_convolutions"] = "true" }   // numerics differ: never resumed across
        if schedule == .step { m["step_milestones"] = stepMilestones; m["step_gamma"] = "\(stepGamma)" }
        switch objective {
        case .moco: m["queue"] = "\(queue)"; m["key_momentum"] = "\(keyMomentum)"
        case .ir, .cmc: m["bank_momentum"] = "\(bankMomentum)"; m["negatives"] = "\(negatives)"; m["bank_init"] = bankInit.rawValue
        case .simclr: break
        }
        // the sampler's own parameters (validate() has checked that it builds)
        if let own = try? negativeSampler(stepsPerEpoch: 1).identity { m.merge(own) { a, _ in a } }
        return m
    }
}
