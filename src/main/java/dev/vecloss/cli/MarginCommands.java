package dev.vecloss.cli;

import dev.vecloss.EmptyMean;
import dev.vecloss.Hinge;
import dev.vecloss.Layout;
import dev.vecloss.Reduction;
import dev.vecloss.cli.Command.Option;
import java.util.List;

/**
 * {@code hinge} and {@code squared-hinge} (Keras's, elementwise) and {@code multi-margin-loss}
 * (PyTorch's, per row of class scores), all {@link Hinge}. The shared parts are
 * {@link LossOptions} and {@link LossFiles}.
 */
final class MarginCommands {
    private MarginCommands() {}

    static final Option MARGIN = Option.value("--margin", "M", "the margin", "1");
    static final Option P = Option.choice("--p", "P", "1 or 2: the exponent of each margin term", "1", "1", "2");

    private static final String SCORES = "scores, any shape; float32 or float64";
    private static final String LABELS = "labels -1 and 1, the input's shape and dtype; when every label\n"
            + "is 0 or 1 they are read as -1 and 1 (Keras)";

    static final Command HINGE = binary("hinge", "max(0, margin - y x), labels -1 and 1 (or 0 and 1, as Keras)",
            false);

    static final Command SQUARED_HINGE = binary("squared-hinge", "max(0, margin - y x)^2, labels as hinge", true);

    /** {@code hinge} or {@code squared-hinge}: the same options, one formula apart. */
    private static Command binary(String name, String summary, boolean squared) {
        return new Command(name, summary,
                List.of(LossOptions.input(SCORES),
                        LossOptions.target(LABELS),
                        MARGIN,
                        LossOptions.reduction("mean", "mean", "sum", "none"),
                        LossOptions.EMPTY_MEAN,
                        LossOptions.OUTPUT_PER_ELEMENT,
                        LossOptions.GRAD,
                        LossOptions.THREADS),
                "mean divides by the element count (Keras's mean too). Over several files, the\n"
                + "0/1 label rule is decided over every target file, in a pass before the losses,\n"
                + "as one call decides it over its one target.\n\n" + LossOptions.SHARDED_FILES_NOTE,
                call -> runBinary(call, squared));
    }

    static final Command MULTI_MARGIN_LOSS = new Command("multi-margin-loss",
            "torch.nn.functional.multi_margin_loss",
            List.of(LossOptions.input("scores, (C) or (N, C); float32 or float64"),
                    LossOptions.target("class indices (N), or () for a (C) input, each in [0, C);\n"
                            + "int64/int32/uint8/bool"),
                    P,
                    MARGIN,
                    LossOptions.weight("per-class weights (C), of the target class only; float32 or float64"),
                    LossOptions.reduction("mean", "mean", "sum", "none"),
                    LossOptions.EMPTY_MEAN,
                    LossOptions.OUTPUT,
                    LossOptions.GRAD,
                    LossOptions.THREADS),
            """
            Per sample (1/C) sum over i != y of w_y max(0, margin - x_y + x_i)^p. There is no
            ignore index: every label must be in [0, C). mean divides by N.

            """ + LossOptions.SHARDED_FILES_NOTE,
            MarginCommands::runMultiMargin);

    private static void runBinary(Command.Call call, boolean squared) throws CliError {
        Args args = call.args();
        double margin = args.doubleValue(MARGIN);
        Reduction reduction = LossOptions.reduction(call.command(), args);
        int threads = LossOptions.threads(args);
        EmptyMean emptyMean = LossOptions.emptyMean(args);
        Hinge.Options options = Hinge.Options.defaults().withMargin(margin).withReduction(reduction)
                .withThreads(threads)
                .withEmptyMean(emptyMean);
        LossFiles.evaluate(call, reduction, shape -> shape, (files, x, target, losses, grad) -> squared
                ? Hinge.squaredHinge(x, target, options, losses, grad)
                : Hinge.hinge(x, target, options, losses, grad), (files, input, shards) -> {
                    // Keras's rule over the whole dataset, as the one call applies it to its one
                    // target: a pass over every target shard first.
                    Hinge.Options o = options.withLabels(shards.targetsAllZeroOne()
                            ? Hinge.Labels.ZERO_ONE : Hinge.Labels.PLUS_MINUS_ONE);
                    return squared ? Hinge.squaredHingeAccumulator(o) : Hinge.hingeAccumulator(o);
                });
    }

    private static void runMultiMargin(Command.Call call) throws CliError {
        Args args = call.args();
        int p = Integer.parseInt(args.choice(P));
        double margin = args.doubleValue(MARGIN);
        Reduction reduction = LossOptions.reduction(call.command(), args);
        int threads = LossOptions.threads(args);
        EmptyMean emptyMean = LossOptions.emptyMean(args);
        Hinge.Options options = Hinge.Options.defaults().withP(p).withMargin(margin).withReduction(reduction)
                .withThreads(threads)
                .withEmptyMean(emptyMean);
        LossFiles.evaluate(call, reduction, Layout::positionShape, (files, x, target, losses, grad) ->
                Hinge.multiMarginLoss(x, target, options.withWeight(files.floatingLike("--weight", x)), losses, grad),
                (files, input, shards) -> Hinge.multiMarginAccumulator(
                        options.withWeight(files.floatingLike("--weight", input.dtype()))));
    }
}
