import ArgumentParser
import Report
import StageKit

@main
struct ReportCommand: StageCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "HTML page and Markdown summary with SVG charts from run folders, baselines, hardness summaries and the CNCE study.",
        discussion: "Example: report --run runs/moco-ring --run runs/moco-uniform --baseline \"raw pixels=runs/baselines/raw\" --out runs/report",
        version: BuildInfo.versionLine)

    @OptionGroup var common: CommonOptions
    @Option(name: .customLong("run"), help: "A run folder (log.csv, results/*.json, hardness summaries); repeatable.") var runs: [String] = []
    @Option(name: .customLong("baseline"), help: "LABEL=PATH: a baseline's result JSON or folder (e.g. 'raw pixels=out/raw/probe.json'); repeatable.") var baselines: [String] = []
    @Option(help: "cnce.json from `hardness cnce-study`.") var cnce: String?
    @Option(name: .customLong("hardness"), help: "A hardness summary JSON not inside a run folder; repeatable.") var hardness: [String] = []
    @Option(help: "Page title.") var title = "Negative sampling report"
    @Option(help: "Output folder (index.html, summary.md, charts/).") var out: String
    @Option(help: ArgumentHelp("Image grids (HTML): the final queue/bank — the checkpoint — or, for SimCLR, the training features; needs --grid-train-images and --grid-test-images, and reads the first run's features/.", valueName: "file"))
    var gridCandidates: String?
    @Option(help: "Image grids: the training dataset (the neighbours' pixels).") var gridTrainImages: String?
    @Option(help: "Image grids: the dataset the queue/bank entries come from — the pretraining set (default: --grid-train-images).")
    var gridCandidateImages: String?
    @Option(help: "Image grids: the test dataset (the queries' pixels).") var gridTestImages: String?
    @Option(help: "The papers' claims to test against the runs: lines 'claim | row A | >, >= or ~M | row B | source', and 'target: probe P, knn K' (e.g. studies/ten-epoch.claims).")
    var claims: String?
    @Option(help: "Class names (per-class table, image grids) from a class hierarchy JSON (else the dataset's own, else numbers).") var classNames: String?

    func validate() throws {
        let grid = [gridCandidates, gridTrainImages, gridTestImages]
        if grid.contains(where: { $0 != nil }) && grid.contains(where: { $0 == nil }) {
            throw ValidationError("--grid-candidates, --grid-train-images and --grid-test-images go together")
        }
        if gridCandidateImages != nil && gridCandidates == nil { throw ValidationError("--grid-candidate-images needs --grid-candidates") }
        if gridCandidates != nil && runs.isEmpty { throw ValidationError("--grid-candidates needs a --run folder (its features/ are the queries and neighbours)") }
    }

    func run() throws {
        Stage.run("report") {
            var inputs = ReportInputs()
            inputs.runs = runs
            inputs.baselines = try baselines.map {
                guard let eq = $0.firstIndex(of: "=") else { throw StageError.usage("--baseline '\($0)' must be LABEL=PATH") }
                return (String($0[..<eq]), String($0[$0.index(after: eq)...]))
            }
            inputs.cnce = cnce
            inputs.hardness = hardness
            inputs.title = title
            inputs.claims = claims
            inputs.classNames = try classNames.map { try ImageGrids.classNames(hierarchy: $0) } ?? gridTestImages.flatMap(ImageGrids.classNames(dataset:))
            if let candidates = gridCandidates, let trainImages = gridTrainImages, let testImages = gridTestImages {
                var g = ImageGridInputs(trainFeatures: runs[0] + "/features/train.safetensors.zst", testFeatures: runs[0] + "/features/test.safetensors.zst",
                                        candidates: candidates, trainImages: trainImages, testImages: testImages)
                g.classNames = inputs.classNames
                g.candidateImages = gridCandidateImages
                inputs.grids = g
            }
            try ReportBuilder.build(inputs, outDir: out)
        }
    }
}
