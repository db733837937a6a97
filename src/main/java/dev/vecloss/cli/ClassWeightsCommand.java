package dev.vecloss.cli;

import dev.vecloss.ClassWeights;
import dev.vecloss.DType;
import dev.vecloss.Tensor;
import dev.vecloss.cli.Command.Option;
import dev.vecloss.npy.NpyArray;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * {@code class-weights} ({@link ClassWeights}): the per-class counts of the labels in
 * {@code --target} and the weights of a scheme, printed one class a line
 * ({@code class count weight}), and written as a float32 {@code (C)} array with {@code --output}
 * through {@link LossFiles} (whole or not at all).
 */
final class ClassWeightsCommand {
    private ClassWeightsCommand() {}

    static final Option TARGET = Option.input("--target", "T.npy",
            "class labels, any shape; int64, int32, uint8 or bool; or several\n"
            + "files, a folder or a pattern (counts summed, see below)", true);
    static final Option NUM_CLASSES = new Option("--num-classes", "C", Command.Kind.VALUE, true,
            "the number of classes; labels must be in [0, C) or the ignore index", null, List.of());
    static final Option SCHEME = Option.choice("--scheme", "S",
            "inverse (1/n), balanced (N/(C n), scikit-learn's), odds ((N-n)/n,\n"
            + "BCE's pos_weight), inverse-normalized (1/n, summing to 1),\n"
            + "median-frequency (median(n)/n over the classes seen; with\n"
            + "--per-image, median(f)/f, f = n/P),\n"
            + "effective-number ((1-B)/(1-B^n), summing to C)",
            "balanced", Arrays.stream(ClassWeights.Scheme.values()).map(ClassWeights.Scheme::cliName)
                    .toArray(String[]::new));
    static final Option BETA = Option.value("--beta", "B", "effective-number's beta, in [0, 1)", "0.999");
    static final Option ZERO_COUNT = Option.choice("--zero-count", "Z",
            "a class never seen: zero (weight 0, left out of sums and the\n"
            + "median), clamp-one (counted once) or error",
            "zero", "zero", "clamp-one", "error");
    static final Option PER_IMAGE = Option.flag("--per-image",
            "median-frequency from Eigen and Fergus's f = n/P, P the non-ignored\n"
            + "labels of the images (first axis) in which the class occurs; the\n"
            + "labels need an image axis, (N, d1, ...)");
    static final Option OUTPUT = Option.output("--output", "W.npy", "the weights, float32, (C)");

    static final Command CLASS_WEIGHTS = new Command("class-weights",
            "class weights from the counts of the labels in --target (LOSSES.md 9)",
            List.of(TARGET, NUM_CLASSES, SCHEME, BETA, LossOptions.IGNORE_INDEX, ZERO_COUNT, PER_IMAGE, OUTPUT,
                    LossOptions.THREADS),
            """
            Prints one line per class, 'class count weight', no header: the weight in double
            (--output holds it rounded to float32). Counts are exact and do not depend on
            --threads. median-frequency is median(n)/n over the classes seen (LOSSES.md 9's
            f = n/N), or with --per-image Eigen and Fergus's median(f)/f, f = n/P, P the
            non-ignored labels of the images in which the class occurs.

            Several label files: --target takes a list, a folder (its *.npy files) or a quoted
            pattern ('masks/*.npy'), as the losses do. Each file is counted in turn (mapped,
            counted, unmapped) and the exact counts, and with --per-image the per-image pixel
            totals, are summed: the weights are those of the labels concatenated along the
            first axis. The files may differ in shape and integer dtype. Every header is read
            before counting; --output may not be one of the files.

            """ + LossOptions.FILES_NOTE,
            ClassWeightsCommand::run);

    private static void run(Command.Call call) throws CliError {
        Args args = call.args();
        int c = args.intValue(NUM_CLASSES.name(), 0, 1, ClassWeights.MAX_CLASSES); // required: never the fallback
        ClassWeights.Scheme scheme = ClassWeights.Scheme.parse(args.choice(SCHEME));
        double beta = args.doubleValue(BETA);
        long ignore = args.longValue(LossOptions.IGNORE_INDEX);
        ClassWeights.ZeroCount zeroCount = ClassWeights.ZeroCount.valueOf(
                args.choice(ZERO_COUNT).toUpperCase(java.util.Locale.ROOT).replace('-', '_'));
        int threads = LossOptions.threads(args);
        boolean perImage = args.flag(PER_IMAGE);
        if (perImage && scheme != ClassWeights.Scheme.MEDIAN_FREQUENCY) {
            throw new CliError("--per-image is median-frequency's (the other schemes read the counts alone), not "
                    + scheme.cliName() + "'s");
        }
        ClassWeights.Options options = LossOptions.checked(BETA, () -> ClassWeights.Options.defaults()
                .withBeta(beta).withIgnoreIndex(ignore).withZeroCount(zeroCount).withThreads(threads));
        List<Path> shards = Shards.expand(TARGET.name(), args.values(TARGET.name()));
        if (shards.size() > 1) {
            runShards(call, shards, c, scheme, options, perImage);
            return;
        }
        try (LossFiles files = LossFiles.open(call)) {
            Tensor labels = files.input(TARGET.name());
            long[] counts;
            double[] w;
            try {
                ClassWeights.Counts both = counts(labels, c, options, perImage);
                counts = both.counts();
                w = ClassWeights.weights(both, scheme, options).weights();
            } catch (IllegalArgumentException e) {
                throw files.failure(e);
            }
            print(files, counts, w);
        }
    }

    /** The counts of one label array, with the per-image pixel totals when asked for. */
    private static ClassWeights.Counts counts(Tensor labels, int c, ClassWeights.Options options, boolean perImage) {
        if (perImage) { // the per-image pass only when asked for
            if (labels.rank() < 2) {
                throw new IllegalArgumentException("class_weights: --per-image needs labels with an image axis, "
                        + "shape (N, d1, ...), got " + java.util.Arrays.toString(labels.shape()));
            }
            return ClassWeights.countsWithImagePixels(labels, c, options);
        }
        return ClassWeights.Counts.of(ClassWeights.counts(labels, c, options));
    }

    /**
     * Several label files ({@link Shards}: a list, a pattern or a folder): each counted by itself,
     * mapped and unmapped in turn, the exact counts (and per-image pixel totals) summed, and the
     * weights of the totals: those of the labels concatenated. Every file's header is read first,
     * so a missing or truncated one fails before any counting. The files need not share a shape
     * (counts do not need the concatenation), nor a dtype (a label is the same integer in any).
     */
    private static void runShards(Command.Call call, List<Path> shards, int c, ClassWeights.Scheme scheme,
            ClassWeights.Options options, boolean perImage) throws CliError {
        int n = shards.size();
        Shards.distinct(TARGET.name(), shards);
        long total = 0;
        for (int i = 0; i < n; i++) {
            try (NpyArray a = Shards.read(TARGET.name(), shards.get(i), i, n)) {
                total += a.tensor().numel();
            }
        }
        try (LossFiles files = LossFiles.open(call, java.util.Set.of(TARGET.name()))) {
            files.refuseReplacing(TARGET.name(), shards);
            long[] counts = new long[c];
            long[] pixels = perImage ? new long[c] : null;
            long done = 0;
            try (Progress progress = new Progress(call.err(), Progress.Terminal.of(call), n, total)) {
                for (int i = 0; i < n; i++) {
                    try (NpyArray a = Shards.read(TARGET.name(), shards.get(i), i, n)) {
                        ClassWeights.Counts one = counts(a.tensor(), c, options, perImage);
                        for (int j = 0; j < c; j++) {
                            counts[j] = Math.addExact(counts[j], one.counts()[j]);
                            if (pixels != null) {
                                pixels[j] = Math.addExact(pixels[j], one.imagePixels()[j]);
                            }
                        }
                        done += a.tensor().numel();
                    } catch (IllegalArgumentException e) {
                        throw new CliError(e.getMessage() + " (shard " + (i + 1) + "/" + n + ": --target "
                                + shards.get(i) + ")");
                    }
                    progress.update(i + 1, done);
                }
            }
            double[] w;
            try {
                w = ClassWeights.weights(new ClassWeights.Counts(counts, pixels), scheme, options).weights();
            } catch (IllegalArgumentException e) {
                throw new CliError(e.getMessage() + " (over " + n + " --target shards)");
            }
            print(files, counts, w);
        }
    }

    /** Writes {@code --output} if given and prints the {@code class count weight} lines. */
    private static void print(LossFiles files, long[] counts, double[] w) throws CliError {
        int c = counts.length;
        Tensor out = files.output(OUTPUT.name(), DType.FLOAT32, c);
        StringBuilder text = new StringBuilder();
        for (int j = 0; j < c; j++) {
            if (out != null) {
                out.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED
                        .withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), j, (float) w[j]);
            }
            text.append(j).append(' ').append(counts[j]).append(' ').append(w[j]).append('\n');
        }
        files.finishWith(text.toString());
    }
}
