// Temporary local driver for the evaluation benchmarks (the lead wires EvaluationBenchmark into bench).
import Evaluation
import NN
import StageKit
Stage.run("bench") {
    try BLASRuntime.configure(core: nil, threads: defaultThreadCount)
    for line in EvaluationBenchmark.run(threads: defaultThreadCount) { print(line) }
}
