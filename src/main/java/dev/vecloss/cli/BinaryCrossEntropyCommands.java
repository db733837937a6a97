package dev.vecloss.cli;

import dev.vecloss.BinaryCrossEntropy;
import dev.vecloss.EmptyMean;
import dev.vecloss.Reduction;
import dev.vecloss.cli.Command.Option;
import java.util.List;

/**
 * {@code binary-cross-entropy} and {@code binary-cross-entropy-with-logits}
 * ({@link BinaryCrossEntropy}): elementwise, one loss per input element. The shared parts are
 * {@link LossOptions} and {@link LossFiles}.
 */
final class BinaryCrossEntropyCommands {
    private BinaryCrossEntropyCommands() {}

    static final Option POS_WEIGHT = Option.input("--pos-weight", "P.npy",
            "weight of the positive term, broadcast onto the target from the last axis\n"
            + "(NumPy's rule: (C) for (N, C), (C, 1, 1) for (N, C, H, W)); float32 or float64", false);

    private static final String TARGETS = "targets in [0, 1] (soft labels allowed), the input's shape and dtype";
    private static final String WEIGHT = "weights broadcast onto the input (NumPy's rule), float32 or float64";

    static final Command BINARY_CROSS_ENTROPY = new Command("binary-cross-entropy",
            "torch.nn.functional.binary_cross_entropy (probabilities)",
            List.of(LossOptions.input("probabilities in [0, 1], any shape; float32 or float64"),
                    LossOptions.target(TARGETS),
                    LossOptions.weight(WEIGHT),
                    LossOptions.reduction("mean", "mean", "sum", "none"),
                    LossOptions.EMPTY_MEAN,
                    LossOptions.OUTPUT_PER_ELEMENT,
                    LossOptions.GRAD,
                    LossOptions.THREADS),
            """
            A probability or target outside [0, 1], or NaN, is an error naming its value and
            flat index (as PyTorch). Each log is clamped at -100; the gradient is PyTorch's,
            w (p - y) / max(p (1 - p), 1e-12). mean divides by the element count.

            """ + LossOptions.SHARDED_FILES_NOTE,
            call -> run(call, false));

    static final Command WITH_LOGITS = new Command("binary-cross-entropy-with-logits",
            "torch.nn.functional.binary_cross_entropy_with_logits",
            List.of(LossOptions.input("logits, any shape; float32 or float64"),
                    LossOptions.target(TARGETS),
                    LossOptions.weight(WEIGHT),
                    POS_WEIGHT,
                    LossOptions.reduction("mean", "mean", "sum", "none"),
                    LossOptions.EMPTY_MEAN,
                    LossOptions.OUTPUT_PER_ELEMENT,
                    LossOptions.GRAD,
                    LossOptions.THREADS),
            """
            mean divides by the element count (weights do not enter it). Infinite or NaN logits
            propagate as in PyTorch.

            """ + LossOptions.SHARDED_FILES_NOTE,
            call -> run(call, true));

    /** Reads the options, then evaluates through the public API ({@link LossFiles#evaluate}). */
    private static void run(Command.Call call, boolean logits) throws CliError {
        Args args = call.args();
        Reduction reduction = LossOptions.reduction(call.command(), args);
        int threads = LossOptions.threads(args);
        EmptyMean emptyMean = LossOptions.emptyMean(args);
        BinaryCrossEntropy.Options options = BinaryCrossEntropy.Options.defaults().withReduction(reduction)
                .withThreads(threads)
                .withEmptyMean(emptyMean);
        LossFiles.evaluate(call, reduction, shape -> shape, (files, x, target, losses, grad) -> {
            BinaryCrossEntropy.Options o = options.withWeight(files.floatingLike("--weight", x));
            return logits
                    ? BinaryCrossEntropy.binaryCrossEntropyWithLogits(x, target,
                            o.withPosWeight(files.floatingLike(POS_WEIGHT.name(), x)), losses, grad)
                    : BinaryCrossEntropy.binaryCrossEntropy(x, target, o, losses, grad);
        }, (files, input, shards) -> {
            BinaryCrossEntropy.Options o = options.withWeight(files.floatingLike("--weight", input.dtype()));
            return logits
                    ? BinaryCrossEntropy.withLogitsAccumulator(o.withPosWeight(files.floatingLike(POS_WEIGHT.name(), input.dtype())))
                    : BinaryCrossEntropy.accumulator(o);
        });
    }
}
