// Evaluation: frozen-encoder evaluation (SPEC §4) — the library behind the embed, probe and knn stages.
//
//   FeatureEncoder.swift  images → (backbone, projection); EncoderKind lists what `embed --encoder` builds
//   EmbedStage.swift      dataset file → features file
//   FeatureSet.swift      reading / validating features files, row normalisation
//   KNN.swift             weighted kNN (chunked gemm similarities, deterministic top-k)
//   KNNStage.swift        features files → kNN results JSON
//   LinearProbe.swift     protocols, multinomial logistic regression by SGD, standardisation
//   ProbeStage.swift      features files (+ checkpoint hash) → probe results JSON
//   Results.swift         the canonical results JSON
//   Benchmark.swift       timings for `bench`
//
// Independent NumPy references: scripts/ref_eval_knn.py, scripts/ref_eval_probe.py.
