package dev.vecloss.cli;

import dev.vecloss.EmptyMean;
import dev.vecloss.Focal;
import dev.vecloss.Layout;
import dev.vecloss.Reduction;
import dev.vecloss.cli.Command.Option;
import java.util.List;

/**
 * {@code sigmoid-focal-loss} (torchvision's, elementwise) and {@code softmax-focal-loss} (the
 * multi-class focal loss on index targets), both {@link Focal}. The shared parts are
 * {@link LossOptions} and {@link LossFiles}.
 */
final class FocalCommands {
    private FocalCommands() {}

    static final Option ALPHA = Option.value("--alpha", "A",
            "weight of the positives, in [0, 1], or -1 to turn the balance off\n"
            + "(torchvision refuses any other value, and so does vecloss)", "0.25");
    static final Option GAMMA = Option.value("--gamma", "G", "the focusing exponent, at least 0", "2");

    static final Command SIGMOID_FOCAL_LOSS = new Command("sigmoid-focal-loss",
            "torchvision.ops.sigmoid_focal_loss (reduction none by default)",
            List.of(LossOptions.input("logits, any shape; float32 or float64"),
                    LossOptions.target("binary (or soft) targets in [0, 1], the input's shape and dtype"),
                    ALPHA,
                    GAMMA,
                    LossOptions.reduction("none", "mean", "sum", "none"),
                    LossOptions.EMPTY_MEAN,
                    LossOptions.OUTPUT_PER_ELEMENT,
                    LossOptions.GRAD,
                    LossOptions.THREADS),
            """
            As torchvision, the default reduction is none: give --output, or --reduction mean or
            sum for a value. mean divides by the element count.

            """ + LossOptions.SHARDED_FILES_NOTE,
            FocalCommands::runSigmoid);

    static final Command SOFTMAX_FOCAL_LOSS = new Command("softmax-focal-loss",
            "multi-class focal loss on softmax probabilities (LOSSES.md 5.3)",
            List.of(LossOptions.input("logits, (C), (N, C) or (N, C, d1, ..., dk); float32 or float64"),
                    LossOptions.target("class indices (N, d1, ..., dk), int64/int32/uint8/bool"),
                    LossOptions.weight("per-class alpha (C), a plain multiplier; float32 or float64"),
                    GAMMA,
                    LossOptions.IGNORE_INDEX,
                    LossOptions.reduction("mean", "mean", "sum", "none"),
                    LossOptions.EMPTY_MEAN,
                    LossOptions.OUTPUT,
                    LossOptions.GRAD,
                    LossOptions.THREADS),
            """
            mean divides by the number of positions not ignored (alpha does not normalise it);
            gamma 0 without --weight is cross-entropy.

            """ + LossOptions.SHARDED_FILES_NOTE,
            FocalCommands::runSoftmax);

    private static void runSigmoid(Command.Call call) throws CliError {
        Args args = call.args();
        double alpha = args.doubleValue(ALPHA);
        double gamma = args.doubleValue(GAMMA);
        Reduction reduction = LossOptions.reduction(call.command(), args);
        int threads = LossOptions.threads(args);
        EmptyMean emptyMean = LossOptions.emptyMean(args);
        Focal.SigmoidOptions withAlpha = LossOptions.checked(ALPHA, () -> Focal.SigmoidOptions.defaults()
                .withAlpha(alpha));
        Focal.SigmoidOptions options = LossOptions.checked(GAMMA, () -> withAlpha.withGamma(gamma))
                .withReduction(reduction).withThreads(threads)
                .withEmptyMean(emptyMean);
        LossFiles.evaluate(call, reduction, shape -> shape,
                (files, x, target, losses, grad) -> Focal.sigmoidFocalLoss(x, target, options, losses, grad),
                (files, input, shards) -> Focal.sigmoidAccumulator(options));
    }

    private static void runSoftmax(Command.Call call) throws CliError {
        Args args = call.args();
        double gamma = args.doubleValue(GAMMA);
        long ignoreIndex = args.longValue(LossOptions.IGNORE_INDEX);
        Reduction reduction = LossOptions.reduction(call.command(), args);
        int threads = LossOptions.threads(args);
        EmptyMean emptyMean = LossOptions.emptyMean(args);
        Focal.SoftmaxOptions options = LossOptions.checked(GAMMA, () -> Focal.SoftmaxOptions.defaults()
                .withGamma(gamma)).withIgnoreIndex(ignoreIndex).withReduction(reduction).withThreads(threads)
                .withEmptyMean(emptyMean);
        LossFiles.evaluate(call, reduction, Layout::positionShape, (files, x, target, losses, grad) ->
                Focal.softmaxFocalLoss(x, target, options.withAlpha(files.floatingLike("--weight", x)), losses, grad),
                (files, input, shards) -> Focal.softmaxAccumulator(options.withAlpha(files.floatingLike("--weight", input.dtype()))));
    }
}
