package dev.vecloss.cli;

import dev.vecloss.EmptyMean;
import dev.vecloss.Reduction;
import dev.vecloss.SegmentationMode;
import dev.vecloss.cli.Command.Option;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * The options loss commands share, declared once with their help and defaults, and the readers
 * of their values. A loss command lists the ones it takes in its {@link Command}; the files among
 * them are opened and written by {@link LossFiles}.
 */
final class LossOptions {
    private LossOptions() {}

    /** {@code --input X.npy}, required; {@code help} says what the loss reads there. */
    static Option input(String help) {
        return Option.input("--input", "X.npy", help, true);
    }

    /** {@code --target T.npy}, required. */
    static Option target(String help) {
        return Option.input("--target", "T.npy", help, true);
    }

    /** {@code --weight W.npy}, optional: float32 or float64, used in the input's dtype ({@link LossFiles#floatingLike}). */
    static Option weight(String help) {
        return Option.input("--weight", "W.npy", help, false);
    }

    static final Option IGNORE_INDEX = Option.value("--ignore-index", "I", "targets equal to I are skipped", "-100");

    /** {@code --reduction R} with the loss's choices and default. */
    static Option reduction(String defaultValue, String... choices) {
        return Option.choice("--reduction", "R", String.join(", ", choices), defaultValue, choices);
    }

    /** smp's mode of the segmentation losses (dice, jaccard, tversky, lovasz). */
    static final Option MODE = new Option("--mode", "M", Command.Kind.VALUE, true,
            "binary (input (N, 1, ...), sigmoid), multiclass (index targets, softmax)\n"
            + "or multilabel (a 0/1 target per input element, sigmoid)", null,
            List.of("binary", "multiclass", "multilabel"));
    /** smp's {@code ignore_index} of the segmentation losses: none unless given. */
    static final Option SEGMENTATION_IGNORE_INDEX = Option.value("--ignore-index", "I",
            "target value of ignored places (default: none)", null);

    static final Option OUTPUT = Option.output("--output", "FILE.npy",
            "per-position losses, float32 (required with --reduction none;\n"
            + "with mean or sum, the unreduced losses are written and the reduced value printed)");

    /** {@link #OUTPUT} for the elementwise losses, whose losses have the input's shape. */
    static final Option OUTPUT_PER_ELEMENT = OUTPUT.withHelp("per-element losses, float32, the input's shape (required with\n"
            + "--reduction none; with mean or sum, they are written and the\nreduced value printed)");

    static final Option GRAD = Option.output("--grad", "FILE.npy",
            "gradient of the (reduced) loss with respect to --input, float32, the input's shape");

    static final Option EMPTY_MEAN = Option.choice("--empty-mean", "E",
            "nan, zero or error: what a mean over no active element gives (an\n"
            + "empty input, every target ignored): NaN as PyTorch, 0 (and a zero\n"
            + "gradient) as Keras, or an error", "nan", "nan", "zero", "error");

    static final Option THREADS = Option.value("--threads", "T",
            "threads, 0 for all cores (the result does not depend on it)", "0");

    /** What every loss command's help ends with: how its files are treated. */
    static final String FILES_NOTE = """
            Files: .npy, C order, memory-mapped when read; inputs must be regular files.
            Outputs are written whole or not at all: each goes to a temporary file beside
            it, and all are renamed into place only when every one is complete and the value
            is printed; on any error, and on Ctrl-C or kill, no file is changed. An output
            may not be an input or another output, by any path or link (hard or symbolic).
            An existing output is replaced only if it is a regular file: a directory, FIFO or
            device (/dev/null too) is refused, not written through (to discard a result, leave
            its option out), and so is a symbolic link (give the file's own path).""";

    /** What the help of a loss with an accumulator adds: several files, a folder or a pattern ({@link Shards}). */
    static final String SHARDS_NOTE = """
            Several files (shards): --input and --target each take a list (--input a.npy b.npy,
            or a pattern the shell expands), a folder (its *.npy files, dot files left out) or
            a quoted pattern that vecloss expands ('preds/shard-*.npy'; Java's glob syntax, **
            across folders). A folder or pattern is taken in natural order (shard-2 before
            shard-10), a list as given; the i-th input file is paired with the i-th target
            file, and their counts must match (no file may come twice, nor be both an input
            and a target). The result is that of one file holding the
            arrays concatenated along the first axis, to the last bit: every header is read
            first (input shards of one dtype and one shape past the first axis, target shards
            likewise), then each pair is memory-mapped, added to one exact accumulator and
            unmapped, so memory stays bounded. Not with --reduction none, --output or --grad
            (one array's values). When stderr is a terminal a progress line is redrawn there
            (files done, elements/s, time left); otherwise nothing is added to stderr.""";

    /** {@link #FILES_NOTE}, then {@link #SHARDS_NOTE}. */
    static final String SHARDED_FILES_NOTE = FILES_NOTE + "\n\n" + SHARDS_NOTE;

    /** {@link #MODE}'s value. */
    static SegmentationMode mode(Args args) throws CliError {
        return SegmentationMode.valueOf(args.choice(MODE).toUpperCase(Locale.ROOT));
    }

    /** {@link #SEGMENTATION_IGNORE_INDEX}'s value, or {@code null} when not given. */
    static Long segmentationIgnoreIndex(Args args) throws CliError {
        return args.has(SEGMENTATION_IGNORE_INDEX.name()) ? args.longValue(SEGMENTATION_IGNORE_INDEX.name(), 0) : null;
    }

    /** {@code --threads}: 0 (all cores) or more. */
    static int threads(Args args) throws CliError {
        return args.intValue(THREADS, 0, Integer.MAX_VALUE);
    }

    /** {@code --empty-mean}: the {@link EmptyMean} policy of a loss with a mean. */
    static EmptyMean emptyMean(Args args) throws CliError {
        return EmptyMean.valueOf(args.choice(EMPTY_MEAN).toUpperCase(java.util.Locale.ROOT));
    }

    /** {@code --reduction}, as declared by the command (its choices and default). */
    static Reduction reduction(Command cmd, Args args) throws CliError {
        return Reduction.parse(args.choice(cmd.option("--reduction")));
    }

    /**
     * The check every loss makes: {@code none} has nothing to print, so it needs a file. Where
     * {@code none} is the command's default ({@code sigmoid-focal-loss}, as torchvision), the
     * error says so, since the user did not ask for it.
     */
    static void requireOutputForNone(Command cmd, Reduction reduction, Args args) throws CliError {
        if (reduction == Reduction.NONE && !args.has(OUTPUT.name())) {
            String none = args.has("--reduction") ? "--reduction none"
                    : "--reduction none (" + cmd.name() + "'s default)";
            throw new CliError(none + " gives the unreduced losses and prints nothing: it needs --output FILE.npy"
                    + (args.has("--reduction") ? "" : ", or --reduction mean or sum"));
        }
    }

    /**
     * {@code make()}, which builds a library options record from the value of {@code option}; the
     * record's own check of that value (an {@link IllegalArgumentException}, whose message says
     * the valid values) becomes an error naming the option.
     */
    static <T> T checked(Option option, Supplier<T> make) throws CliError {
        try {
            return make.get();
        } catch (IllegalArgumentException e) {
            throw new CliError(option.name() + ": " + e.getMessage());
        }
    }
}
