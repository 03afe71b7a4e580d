import ArgumentParser
import StageKit

/// A sampler's own command-line flags: a `ParsableArguments` struct declared in the sampler's file.
public protocol SamplerOptionGroup: ParsableArguments, Sendable {
    associatedtype Sampler: NegativeSampler
}

/// The registry: one line per sampler. Each group's flags join `pretrain`'s command line, and its
/// sampler joins `--sampler`'s choices in this order.
public struct SamplerOptions: ParsableArguments, Sendable {
    @OptionGroup(title: "Uniform sampler") var uniform: UniformSampler.Options
    @OptionGroup(title: "Ring sampler") var ring: RingSampler.Options
    @OptionGroup(title: "Band sampler") var band: BandSampler.Options
    @OptionGroup(title: "HCL sampler") var hcl: HCLSampler.Options
    @OptionGroup(title: "DCL sampler") var dcl: DCLSampler.Options
    @OptionGroup(title: "MoCHi sampler") var mochi: MochiSampler.Options
    @OptionGroup(title: "Subset sampler") var subset: SubsetSampler.Options

    public init() {}

    /// The registered sampler types, in the order above (read from the groups' declared types).
    public static let registered: [any NegativeSampler.Type] =
        Mirror(reflecting: SamplerOptions()).children.compactMap { ($0.value as? any RegisteredGroup)?.samplerType }

    public static var names: [String] { registered.map { $0.name } }

    /// The registered type called `name`, or a one-line error listing the choices.
    public static func type(named name: String) throws -> any NegativeSampler.Type {
        guard let t = registered.first(where: { $0.name == name }) else {
            throw StageError("no sampler '\(name)' (have: \(names.joined(separator: ", ")))")
        }
        return t
    }

    /// The sampler `name` built from these options.
    public func sampler(named name: String, epochs: Int, stepsPerEpoch: Int) throws -> any NegativeSampler {
        try Self.type(named: name).init(self, epochs: epochs, stepsPerEpoch: max(1, stepsPerEpoch))
    }

    /// Default options (every flag at its default), for tests and benchmarks.
    public static var defaults: SamplerOptions { try! SamplerOptions.parse([]) }
}

/// What `SamplerOptions.registered` reads from each `@OptionGroup` (only the type, never a value).
protocol RegisteredGroup { var samplerType: any NegativeSampler.Type { get } }
extension OptionGroup: RegisteredGroup where Value: SamplerOptionGroup {
    var samplerType: any NegativeSampler.Type { Value.Sampler.self }
}

/// The objective × sampler pairings the samplers accept, for tests and for `bench`.
public var allowedPairings: [(ObjectiveKind, any NegativeSampler.Type)] {
    ObjectiveKind.allCases.flatMap { o in
        SamplerOptions.registered.compactMap { s in (try? s.check(objective: o)) != nil ? (o, s) : nil }
    }
}
