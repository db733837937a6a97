package dev.vecloss.cli;

import dev.vecloss.ClassWeights;
import dev.vecloss.DType;
import dev.vecloss.Tensor;
import dev.vecloss.cli.Command.Option;
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
            "class labels, any shape; int64, int32, uint8 or bool", true);
    static final Option NUM_CLASSES = new Option("--num-classes", "C", Command.Kind.VALUE, true,
            "the number of classes; labels must be in [0, C) or the ignore index", null, List.of());
    static final Option SCHEME = Option.choice("--scheme", "S",
            "inverse (1/n), balanced (N/(C n), scikit-learn's), odds ((N-n)/n,\n"
            + "BCE's pos_weight), inverse-normalized (1/n, summing to 1),\n"
            + "median-frequency (median(f)/f over the classes seen, f = n/P with\n"
            + "P the labels of the images holding the class, the first axis the\n"
            + "image; f = n/N for 1-d labels),\n"
            + "effective-number ((1-B)/(1-B^n), summing to C)",
            "balanced", Arrays.stream(ClassWeights.Scheme.values()).map(ClassWeights.Scheme::cliName)
                    .toArray(String[]::new));
    static final Option BETA = Option.value("--beta", "B", "effective-number's beta, in [0, 1)", "0.999");
    static final Option ZERO_COUNT = Option.choice("--zero-count", "Z",
            "a class never seen: zero (weight 0, left out of sums and the\n"
            + "median), clamp-one (counted once) or error",
            "zero", "zero", "clamp-one", "error");
    static final Option OUTPUT = Option.output("--output", "W.npy", "the weights, float32, (C)");

    static final Command CLASS_WEIGHTS = new Command("class-weights",
            "class weights from the counts of the labels in --target (LOSSES.md 9)",
            List.of(TARGET, NUM_CLASSES, SCHEME, BETA, LossOptions.IGNORE_INDEX, ZERO_COUNT, OUTPUT,
                    LossOptions.THREADS),
            """
            Prints one line per class, 'class count weight', no header: the weight in double
            (--output holds it rounded to float32). Counts are exact and do not depend on
            --threads. median-frequency says on stderr which frequency it used: Eigen and
            Fergus's f = n/P for labels with an image axis (N, d1, ...), P the non-ignored
            labels of the images in which the class occurs; f = n/N (LOSSES.md 9's fallback)
            for 1-d labels.

            """ + LossOptions.FILES_NOTE,
            ClassWeightsCommand::run);

    /** The stderr note of median-frequency (after the {@code vecloss: } prefix). */
    static String frequencyNote(ClassWeights.Frequency frequency) {
        return frequency == ClassWeights.Frequency.IMAGE_PIXELS
                ? "median-frequency from f = n/P, P the labels of the images (first axis) holding each class"
                : "median-frequency from f = n/N (1-d labels: no image axis for per-image totals)";
    }

    private static void run(Command.Call call) throws CliError {
        Args args = call.args();
        int c = args.intValue(NUM_CLASSES.name(), 0, 1, ClassWeights.MAX_CLASSES); // required: never the fallback
        ClassWeights.Scheme scheme = ClassWeights.Scheme.parse(args.choice(SCHEME));
        double beta = args.doubleValue(BETA);
        long ignore = args.longValue(LossOptions.IGNORE_INDEX);
        ClassWeights.ZeroCount zeroCount = ClassWeights.ZeroCount.valueOf(
                args.choice(ZERO_COUNT).toUpperCase(java.util.Locale.ROOT).replace('-', '_'));
        int threads = LossOptions.threads(args);
        ClassWeights.Options options = LossOptions.checked(BETA, () -> ClassWeights.Options.defaults()
                .withBeta(beta).withIgnoreIndex(ignore).withZeroCount(zeroCount).withThreads(threads));
        try (LossFiles files = LossFiles.open(call)) {
            Tensor labels = files.input(TARGET.name());
            long[] counts;
            double[] w;
            ClassWeights.Frequency frequency;
            try {
                // the per-image pixel totals only for the scheme that reads them (a per-image pass)
                ClassWeights.Counts both = scheme == ClassWeights.Scheme.MEDIAN_FREQUENCY
                        ? ClassWeights.countsWithImagePixels(labels, c, options)
                        : ClassWeights.Counts.of(ClassWeights.counts(labels, c, options));
                ClassWeights.Weights weights = ClassWeights.weights(both, scheme, options);
                counts = both.counts();
                w = weights.weights();
                frequency = weights.frequency();
            } catch (IllegalArgumentException e) {
                throw files.failure(e);
            }
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
            if (scheme == ClassWeights.Scheme.MEDIAN_FREQUENCY) { // LOSSES.md 9: say which frequency was used
                call.err().println("vecloss: " + frequencyNote(frequency));
            }
        }
    }
}
