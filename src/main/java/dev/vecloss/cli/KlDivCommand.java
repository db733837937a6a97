package dev.vecloss.cli;

import dev.vecloss.EmptyMean;
import dev.vecloss.KlDiv;
import dev.vecloss.Reduction;
import dev.vecloss.cli.Command.Option;
import java.util.List;

/**
 * {@code kl-div} ({@link KlDiv}): elementwise, on log-probabilities. The shared parts are
 * {@link LossOptions} and {@link LossFiles}.
 */
final class KlDivCommand {
    private KlDivCommand() {}

    static final Option LOG_TARGET = Option.flag("--log-target",
            "the target holds log-probabilities (log_target=True); without it, or\n"
            + "with --log-target=false, probabilities");

    static final Command KL_DIV = new Command("kl-div",
            "torch.nn.functional.kl_div (input log-probabilities)",
            List.of(LossOptions.input("log-probabilities, any shape; float32 or float64"),
                    LossOptions.target("probabilities (log-probabilities with --log-target), the input's\n"
                            + "shape and dtype"),
                    LOG_TARGET,
                    LossOptions.reduction("mean", "mean", "batchmean", "sum", "none")
                            .withHelp("mean, batchmean, sum, none; mean divides by the element count\n"
                                    + "(PyTorch's default), batchmean by the input's first dimension\n"
                                    + "(the KL divergence per sample)"),
                    LossOptions.EMPTY_MEAN,
                    LossOptions.OUTPUT_PER_ELEMENT,
                    LossOptions.GRAD,
                    LossOptions.THREADS),
            """
            Per element t (log t - q), 0 where t = 0; with --log-target, exp(t) (t - q).

            """ + LossOptions.SHARDED_FILES_NOTE,
            KlDivCommand::run);

    private static void run(Command.Call call) throws CliError {
        Args args = call.args();
        boolean logTarget = args.flag(LOG_TARGET);
        Reduction reduction = LossOptions.reduction(call.command(), args);
        int threads = LossOptions.threads(args);
        EmptyMean emptyMean = LossOptions.emptyMean(args);
        KlDiv.Options options = KlDiv.Options.defaults().withLogTarget(logTarget).withReduction(reduction)
                .withThreads(threads)
                .withEmptyMean(emptyMean);
        LossFiles.evaluate(call, reduction, shape -> shape,
                (files, x, target, losses, grad) -> KlDiv.klDiv(x, target, options, losses, grad),
                (files, input, shards) -> KlDiv.accumulator(options));
    }
}
