package dev.vecloss.cli;

import dev.vecloss.CrossEntropy;
import dev.vecloss.EmptyMean;
import dev.vecloss.Layout;
import dev.vecloss.Reduction;
import dev.vecloss.cli.Command.Option;
import java.util.List;

/**
 * {@code cross-entropy} and {@code nll-loss} ({@link CrossEntropy}): the two commands of the
 * family, declared here and run by one function. The shared parts (reading and checking the
 * files, the outputs, {@code --threads}, {@code --reduction}) are {@link LossOptions} and
 * {@link LossFiles}.
 */
final class CrossEntropyCommands {
    private CrossEntropyCommands() {}

    static final Option LABEL_SMOOTHING = Option.value("--label-smoothing", "E", "in [0, 1]", "0");

    private static final String INDEX_TARGETS = "class indices (N, d1, ..., dk), int64/int32/uint8/bool";

    static final Command CROSS_ENTROPY = new Command("cross-entropy",
            "torch.nn.functional.cross_entropy (index or probability targets)",
            List.of(LossOptions.input("logits, (C), (N, C) or (N, C, d1, ..., dk); float32 or float64"),
                    LossOptions.target(INDEX_TARGETS + ",\nor class probabilities of the input's shape and dtype"),
                    LossOptions.weight("per-class weights (C), float32 or float64"),
                    LossOptions.IGNORE_INDEX,
                    LossOptions.reduction("mean", "mean", "sum", "none"),
                    LossOptions.EMPTY_MEAN,
                    LABEL_SMOOTHING,
                    LossOptions.OUTPUT,
                    LossOptions.GRAD,
                    LossOptions.THREADS),
            LossOptions.SHARDED_FILES_NOTE,
            call -> run(call, false));

    static final Command NLL_LOSS = new Command("nll-loss",
            "torch.nn.functional.nll_loss",
            List.of(LossOptions.input("log-probabilities, (C), (N, C) or (N, C, d1, ..., dk); float32 or float64"),
                    LossOptions.target(INDEX_TARGETS),
                    LossOptions.weight("per-class weights (C), float32 or float64"),
                    LossOptions.IGNORE_INDEX,
                    LossOptions.reduction("mean", "mean", "sum", "none"),
                    LossOptions.EMPTY_MEAN,
                    LossOptions.OUTPUT,
                    LossOptions.GRAD,
                    LossOptions.THREADS),
            LossOptions.SHARDED_FILES_NOTE,
            call -> run(call, true));

    /** Reads the options, then evaluates through the public API ({@link LossFiles#evaluate}). */
    private static void run(Command.Call call, boolean nll) throws CliError {
        Args args = call.args();
        long ignoreIndex = args.longValue(LossOptions.IGNORE_INDEX);
        double eps = nll ? 0 : args.doubleValue(LABEL_SMOOTHING);
        Reduction reduction = LossOptions.reduction(call.command(), args);
        int threads = LossOptions.threads(args);
        EmptyMean emptyMean = LossOptions.emptyMean(args);
        CrossEntropy.Options options = LossOptions.checked(LABEL_SMOOTHING, () -> CrossEntropy.Options.defaults()
                .withIgnoreIndex(ignoreIndex).withLabelSmoothing(eps).withReduction(reduction).withThreads(threads)
                .withEmptyMean(emptyMean));
        LossFiles.evaluate(call, reduction, Layout::positionShape, (files, x, target, losses, grad) -> {
            CrossEntropy.Options o = options.withWeight(files.floatingLike("--weight", x));
            return nll ? CrossEntropy.nllLoss(x, target, o, losses, grad)
                    : CrossEntropy.crossEntropy(x, target, o, losses, grad);
        }, (files, input, shards) -> {
            CrossEntropy.Options o = options.withWeight(files.floatingLike("--weight", input.dtype()));
            return nll ? CrossEntropy.nllLossAccumulator(o) : CrossEntropy.accumulator(o);
        });
    }
}
