package dev.vecloss.cli;

import dev.vecloss.LossAccumulator;
import dev.vecloss.Reduction;
import dev.vecloss.RegionLoss;
import dev.vecloss.SegmentationMode;
import dev.vecloss.Tensor;
import dev.vecloss.cli.Command.Kind;
import dev.vecloss.cli.Command.Option;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code dice-loss}, {@code jaccard-loss} and {@code tversky-loss}: segmentation_models_pytorch's
 * region losses ({@link RegionLoss}), one definition with the loss's call and, for Tversky, three
 * more options. They print one number (no reduction, no per-element output); {@code --grad}
 * writes the gradient. The shared parts are {@link LossOptions} and {@link LossFiles}.
 */
final class RegionLossCommands {
    private RegionLossCommands() {}

    static final Option FROM_LOGITS = Option.choice("--from-logits", "true|false",
            "true: apply the mode's activation; false: the input holds probabilities", "true",
            "true", "false");
    static final Option SMOOTH = Option.value("--smooth", "S", "added to numerator and denominator, at least 0", "0");
    static final Option EPS = Option.value("--eps", "E", "lower clamp of the denominator (and of the score\n"
            + "under --log-loss), above 0", "1e-7");
    static final Option LOG_LOSS = Option.flag("--log-loss", "-log(score) instead of 1 - score");
    static final Option ALPHA = Option.value("--alpha", "A", "weight of the false positives, at least 0", "0.5");
    static final Option BETA = Option.value("--beta", "B", "weight of the false negatives, at least 0", "0.5");
    static final Option GAMMA = Option.value("--gamma", "G", "exponent of the class mean (focal Tversky), at least 0", "1");

    /** One of the three losses as the library computes it. */
    @FunctionalInterface
    private interface Loss {
        double apply(Tensor input, Tensor target, RegionLoss.Options o, Tensor grad);
    }

    /** The loss's accumulator over shards of {@code classes} classes. */
    @FunctionalInterface
    private interface Accumulator {
        LossAccumulator make(int classes, RegionLoss.Options o);
    }

    /**
     * The class count of the shards, from the first input shard's header (the loss checks every
     * shard against it): 1 in binary mode, else the input's second axis.
     */
    static int classes(SegmentationMode mode, Shards.Header input) throws CliError {
        if (mode == SegmentationMode.BINARY) {
            return 1;
        }
        long[] shape = input.shape();
        if (shape.length < 2 || shape[1] > Integer.MAX_VALUE) {
            throw new CliError("--input " + input.path() + ": " + mode.name().toLowerCase(java.util.Locale.ROOT)
                    + " mode needs (N, C, ...) predictions, got shape " + java.util.Arrays.toString(shape));
        }
        return (int) shape[1];
    }

    private static final String NOTES = """
            Per class over the whole batch: TP, FP, FN from the sums of p, t and |p - t|;
            score = (TP + smooth) / max(TP + alpha FP + beta FN + smooth, eps); classes absent
            from the target have loss 0 and still count in the mean (smp's rule).

            """ + LossOptions.SHARDED_FILES_NOTE;

    static final Command DICE_LOSS = command("dice-loss", "segmentation_models_pytorch.losses.DiceLoss", false,
            RegionLoss::dice, RegionLoss::diceAccumulator);
    static final Command JACCARD_LOSS = command("jaccard-loss", "segmentation_models_pytorch.losses.JaccardLoss", false,
            RegionLoss::jaccard, RegionLoss::jaccardAccumulator);
    static final Command TVERSKY_LOSS = command("tversky-loss", "segmentation_models_pytorch.losses.TverskyLoss", true,
            RegionLoss::tversky, RegionLoss::tverskyAccumulator);

    private static Command command(String name, String summary, boolean tversky, Loss loss, Accumulator accumulator) {
        List<Option> options = new ArrayList<>(List.of(
                LossOptions.input("predictions (N, C, d1, ..., dk) or (N, C); float32 or float64"),
                LossOptions.target("multiclass: class indices (N, d1, ..., dk), int64/int32/uint8/bool;\n"
                        + "binary, multilabel: the input's shape (binary also (N, d1, ...)),\n"
                        + "float (the input's dtype) or integer"),
                LossOptions.MODE, FROM_LOGITS, SMOOTH, EPS, LossOptions.SEGMENTATION_IGNORE_INDEX, LOG_LOSS));
        if (tversky) {
            options.addAll(List.of(ALPHA, BETA, GAMMA));
        }
        options.addAll(List.of(LossOptions.GRAD, LossOptions.THREADS));
        return new Command(name, summary, options, NOTES, call -> run(call, tversky, loss, accumulator));
    }

    private static void run(Command.Call call, boolean tversky, Loss loss, Accumulator accumulator) throws CliError {
        Args args = call.args();
        SegmentationMode mode = LossOptions.mode(args);
        boolean fromLogits = args.choice(FROM_LOGITS).equals("true");
        double smooth = args.doubleValue(SMOOTH);
        double eps = args.doubleValue(EPS);
        Long ignore = LossOptions.segmentationIgnoreIndex(args);
        boolean logLoss = args.flag(LOG_LOSS);
        int threads = LossOptions.threads(args);
        RegionLoss.Options base = RegionLoss.Options.defaults(mode).withFromLogits(fromLogits).withIgnoreIndex(ignore)
                .withLogLoss(logLoss).withThreads(threads);
        RegionLoss.Options withSmooth = LossOptions.checked(SMOOTH, () -> base.withSmooth(smooth));
        RegionLoss.Options withEps = LossOptions.checked(EPS, () -> withSmooth.withEps(eps));
        RegionLoss.Options options;
        if (tversky) {
            double a = args.doubleValue(ALPHA), b = args.doubleValue(BETA), g = args.doubleValue(GAMMA);
            options = LossOptions.checked(args.has(GAMMA.name()) ? GAMMA : args.has(BETA.name()) ? BETA : ALPHA,
                    () -> withEps.withTversky(a, b, g));
        } else {
            options = withEps;
        }
        LossFiles.evaluate(call, Reduction.MEAN, shape -> shape,
                (files, x, target, losses, grad) -> loss.apply(x, target, options, grad),
                (files, input, shards) -> accumulator.make(classes(mode, input), options));
    }
}
