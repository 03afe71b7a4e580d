/// # NN: the CPU training engine
///
/// - Layers (one per file, forward and backward side by side, generic over `GemmScalar` so the
///   gradient checks run in Double): `Conv2d`, `BatchNorm2d` (with MoCo's SplitBatchNorm `splits` and
///   an optional fused ReLU), `BatchNorm1d`, `ReLU`, `MaxPool2d`, `GlobalAvgPool`, `Linear`,
///   `L2Normalize`, `BasicBlock`. Each layer owns its output and input-gradient buffers and reuses
///   them across calls of the same shape; backward accumulates parameter gradients (`+=`).
/// - Layouts: image activations are channel-major `[C, B, H, W]`; flat features `[B, D]`.
///   `InputBatch.normalise` turns the file contract's u8 `[B, C, H, W]` into the engine's input.
/// - Models: `ResNet` (CIFAR ResNet-18: 3×3 stride-1 stem, no max-pool, widths w·(1, 2, 4, 8)),
///   `ProjectionHead` (MoCo v2 MLP + L2 normalisation) and `Encoder` (both, with the API the
///   pretrain stage uses: forward / backward / zeroGrad / copyWeights / momentumUpdate).
/// - Training: `SGD` (PyTorch semantics), `LRSchedule` (constant, cosine, step; linear warm-up).
/// - Checkpoints (`Encoder.save(into:)` / `load(from:)`, `SGD.save(into:prefix:)` / `load`): torchvision
///   resnet18 names under the encoder's prefix — `conv1.weight`, `bn1.{weight,bias,running_mean,
///   running_var,num_batches_tracked}`, `layer{1-4}.{0,1}.{conv1,bn1,conv2,bn2}.*`, shortcut as
///   `layer{2-4}.0.downsample.{0,1}.*` (torchvision's spelling), head as `head.0.*` and `head.2.*`;
///   conv weights O×I×kH×kW, f32 for Float encoders. SGD state: `<prefix>optimizer.<parameter name>
///   .momentum_buffer` and `<prefix>optimizer.steps`. A PyTorch user loads the backbone into
///   torchvision's resnet18 after `conv1 = Conv2d(C, w, 3, 1, 1, bias=False)` and `maxpool = Identity()`.
/// - Threads: `NNRuntime.threads` for the engine's loops; OpenBLAS's own count comes from
///   `BLASRuntime.configure(core:threads:)`. Convolutions split their images over `NNRuntime.threads`
///   workers, each running im2col and a single-threaded sgemm (`BLASRuntime.singleThreaded`): on 2 cores
///   this beat one multi-threaded sgemm per chunk by ~1.3–1.8× on the w16 bench row (no OpenBLAS thread
///   hand-offs; im2col runs in parallel). Forward and input-gradient passes cut the images into fixed runs
///   (the sgemm chunk) that free workers claim (`Conv2d.forEachUnit`, StageKit's `parallelUnits`), as do
///   per-channel and element-wise passes (`parallelFor`, `parallelBlocks`): a worker the shared machine slows
///   runs fewer runs, and the values depend on the runs alone. Weight gradients keep one contiguous part per
///   worker, summed in worker order, so results are reproducible for a given thread count (not across
///   thread counts).
///   Linear's products (the head's) run single-threaded in the caller, so a forward or backward through the
///   encoder never wakes OpenBLAS's own threads (once woken they spin against the engine's workers).
/// - Convolution algorithms (ConvolutionAlgorithm.swift, one file each; chosen per layer from its shape
///   and `Conv2d.policy` by `ConvolutionPlan.choose`): 1×1 by one sgemm (PointwiseConvolution); 3×3
///   stride-1 padding-1 forward, input and weight gradients by Winograd F(2×2, 3×3) (WinogradConvolution,
///   Winograd; its Float tile transforms by SIMD in WinogradVector, bit-identical to the reference
///   loops — at 16–32 channels the transforms, not the products, set the speed; on AVX2 + FMA builds the forward and
///   input-gradient products by RegisterGemm, the weight gradient's by sgemm; F(4×4, 3×3) in Winograd4 and
///   Winograd4Vector, both behind the WinogradTiling protocol, is the default from 28 wide and up to 8 wide
///   (`largeWinogradTilesFromWidth`, `largeWinogradTilesUpToWidth`; `winogradTilesEverywhere` for the A/B), its
///   small images' transforms by Winograd4Gathered (eight tiles of several images to a vector); the same layers
///   with at most 4 input channels (the stems; `stemUpToChannels`) forward and weight gradient by direct loops
///   vectorised along each plane (StemConvolution); other stride-1
///   input gradients as a convolution of dOut with the flipped kernel
///   (TransposedInputGradient); everything else by im2col + sgemm and col2im (Im2colConvolution; Float's
///   stride-2 3×3 and 1×1 gathers and scatters by SIMD in StridedColumns, bit-identical to its loops).
///   In evaluation a Winograd (or stem) convolution's batch norm (+ residual add + ReLU) runs on each image's
///   plane as the output transform writes it (`BatchNorm2d.forward(after:)`, `Winograd.Epilogue`).
///   DirectConvolution is the reference: tests check every algorithm against it, and policy `.direct`
///   (`bench engine --reference`, `pretrain --reference-convolutions`) runs it in a real model.
public enum NNOverview {}
