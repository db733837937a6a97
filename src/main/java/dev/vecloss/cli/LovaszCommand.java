package dev.vecloss.cli;

import dev.vecloss.Lovasz;
import dev.vecloss.Reduction;
import dev.vecloss.SegmentationMode;
import dev.vecloss.cli.Command.Option;
import java.util.List;

/**
 * {@code lovasz-loss} ({@link Lovasz}): segmentation_models_pytorch's {@code LovaszLoss}, one
 * value (no reduction option), and its gradient with {@code --grad}.
 */
final class LovaszCommand {
    private LovaszCommand() {}

    static final Option PER_IMAGE = Option.flag("--per-image",
            "the mean of the images' losses (an image whose labels are all ignored\n"
            + "counts as 0); without it, one loss over the batch");

    static final Option FROM_LOGITS = Option.choice("--from-logits", "B",
            "true or false; accepted and unused, as in smp (the hinge reads logits,\n"
            + "multiclass always applies the softmax)", "true", "true", "false");

    static final Command LOVASZ_LOSS = new Command("lovasz-loss",
            "segmentation_models_pytorch.losses.LovaszLoss",
            List.of(LossOptions.input("logits (N, C, d1, ...); float32 or float64 (binary: C = 1)"),
                    LossOptions.target("multiclass: class indices (N, d1, ...), int64, int32 or uint8;\n"
                            + "binary: 0/1 labels (N, 1, d1, ...) or (N, d1, ...); multilabel:\n"
                            + "0/1 labels of the input's shape (any numeric dtype)"),
                    LossOptions.MODE, PER_IMAGE, LossOptions.SEGMENTATION_IGNORE_INDEX, FROM_LOGITS,
                    LossOptions.GRAD,
                    LossOptions.THREADS),
            """
            Binary and multilabel: the Lovász hinge over every element (all channels of the
            batch, or of each image with --per-image) sorted by 1 - x (2y - 1). Multiclass:
            Lovász-softmax, the mean over the classes present of each class's loss on
            |[y == c] - softmax(x)_c| sorted (classes='present'). Ties are sorted in index
            order (a stable sort).

            Several --input files (shards) need --per-image: the loss over the whole batch sorts
            all of its errors together.

            """ + LossOptions.SHARDED_FILES_NOTE,
            LovaszCommand::run);

    private static void run(Command.Call call) throws CliError {
        Args args = call.args();
        SegmentationMode mode = LossOptions.mode(args);
        int threads = LossOptions.threads(args);
        Lovasz.Options options = Lovasz.Options.defaults(mode)
                .withPerImage(args.flag(PER_IMAGE))
                .withFromLogits(Boolean.parseBoolean(args.choice(FROM_LOGITS)))
                .withIgnoreIndex(LossOptions.segmentationIgnoreIndex(args))
                .withThreads(threads);
        LossFiles.evaluate(call, Reduction.MEAN, shape -> shape,
                (files, x, target, losses, grad) -> Lovasz.lovaszLoss(x, target, options, grad),
                (files, input, shards) -> Lovasz.accumulator(RegionLossCommands.classes(mode, input), options));
    }
}
