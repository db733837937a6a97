package dev.vecloss;

import dev.vecloss.internal.CountProblem;
import dev.vecloss.internal.ImageCounts;
import dev.vecloss.internal.Parallel;
import dev.vecloss.internal.Targets;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;

/**
 * Class weights from label counts (LOSSES.md 9): exact per-class counts of integer labels,
 * streamed in one pass, and the usual weighting schemes computed from them in double.
 *
 * <h2>Counts</h2>
 * {@link #counts(Tensor, int, Options)} counts the labels of a tensor of any shape, int64, int32,
 * uint8 or bool, into {@code C} classes: {@code n_j} is the number of labels equal to {@code j};
 * labels equal to {@link Options#ignoreIndex()} are skipped; any other label outside
 * {@code [0, C)} is an {@link IllegalArgumentException} naming its value and its flat index (the
 * lowest such index, whatever the thread count). Counts are exact 64-bit integers, the same at
 * any thread count. On SIMD kernels uint8 labels go through a vectorised histogram.
 * {@link #countsWithImagePixels} also gives, for labels with an image axis
 * {@code (images, d1, ..., dk)}, Eigen and Fergus's per-image pixel totals {@code P_j}: the sum,
 * over the images in which class {@code j} occurs, of the image's non-ignored labels (counted
 * image by image, exact in 64 bits, the same at any thread count).
 *
 * <h2>Schemes</h2>
 * With {@code N = sum_j n_j} and {@code C} the number of classes, {@link #weights} gives:
 * <ul>
 *   <li>{@link Scheme#INVERSE}: {@code 1 / n_j};</li>
 *   <li>{@link Scheme#BALANCED}: {@code N / (C n_j)}, scikit-learn's
 *       {@code compute_class_weight('balanced')};</li>
 *   <li>{@link Scheme#ODDS}: {@code (N - n_j) / n_j}, one-vs-rest odds, also
 *       {@code pos_weight} of BCE with logits for binary labels ({@link #posWeight});</li>
 *   <li>{@link Scheme#INVERSE_NORMALIZED}: {@code (1 / n_j) / sum_k (1 / n_k)}, summing to 1, or
 *       to {@link Options#scale()} ({@code C} for a mean weight of 1);</li>
 *   <li>{@link Scheme#MEDIAN_FREQUENCY}: {@code median_k(f_k) / f_j} (Eigen and Fergus), the
 *       median over the counted classes, the mean of the two middle ones for an even number.
 *       With the per-image pixel totals of {@link #countsWithImagePixels} ({@link Counts}), the
 *       paper's frequency {@code f_j = n_j / P_j}, {@code P_j} the non-ignored labels of the
 *       images in which class j occurs; from counts alone ({@code long[]}, or 1-d labels, which
 *       have no image axis) LOSSES.md 9's fallback {@code f_j = n_j / N}, that is
 *       {@code median_k(n_k) / n_j}. {@link Weights#frequency()} says which was used;</li>
 *   <li>{@link Scheme#EFFECTIVE_NUMBER}: {@code (1 - beta) / (1 - beta^n_j)} (Cui et al.),
 *       scaled so that the weights sum to C; {@code 1 - beta^n} is computed as
 *       {@code -expm1(n log beta)}, which does not round to 1 for large n. beta 0 gives uniform
 *       weights, beta near 1 approaches inverse frequency.</li>
 * </ul>
 *
 * <h2>Classes never seen</h2>
 * {@link ZeroCount} says what a class with {@code n_j = 0} gets: {@link ZeroCount#ZERO} (the
 * default, as CLI.md) weight 0, and the class is left out of the normalising sums and the median
 * (harmless for index-target cross-entropy, whose weight of an unseen target is never read, and
 * for {@code pos_weight} without positives; with label smoothing or probability targets it
 * removes the class's contribution); {@link ZeroCount#CLAMP_ONE} counts it as seen once (a
 * finite, large weight; {@code N} then includes those ones); {@link ZeroCount#ERROR} refuses.
 * All counts zero is an error whatever the policy. No scheme gives an infinite or NaN weight.
 */
public final class ClassWeights {
    private ClassWeights() {}

    /** The most classes counted: counts per worker thread are held in one array. */
    public static final int MAX_CLASSES = 1 << 24;

    /** The weighting schemes of LOSSES.md 9; see the class comment. */
    public enum Scheme {
        INVERSE, BALANCED, ODDS, INVERSE_NORMALIZED, MEDIAN_FREQUENCY, EFFECTIVE_NUMBER;

        /** The CLI's name: lower case with dashes ({@code inverse-normalized}). */
        public String cliName() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        /**
         * The scheme called {@code name} ({@link #cliName()}).
         *
         * @throws IllegalArgumentException naming the valid names
         */
        public static Scheme parse(String name) {
            for (Scheme s : values()) {
                if (s.cliName().equals(name)) {
                    return s;
                }
            }
            throw new IllegalArgumentException("unknown scheme '" + name + "' (inverse, balanced, odds, "
                    + "inverse-normalized, median-frequency, effective-number)");
        }
    }

    /** What a class never seen ({@code n_j = 0}) gets; see the class comment. */
    public enum ZeroCount {
        /** Weight 0; left out of the normalising sums and the median. */
        ZERO,
        /** Counted as seen once. */
        CLAMP_ONE,
        /** An {@link IllegalArgumentException} naming the class. */
        ERROR
    }

    /**
     * Options of the counts and the schemes.
     *
     * @param ignoreIndex labels equal to this are skipped (default -100, as PyTorch's losses)
     * @param beta        effective-number's beta, in {@code [0, 1)} (default 0.999)
     * @param zeroCount   what a class never seen gets (default {@link ZeroCount#ZERO})
     * @param scale       what {@link Scheme#INVERSE_NORMALIZED}'s weights sum to, finite and above 0
     *                    (default 1; LOSSES.md 9's option {@code scale = C} gives a mean weight of 1)
     * @param threads     threads to count with; 0 (default) means all cores for large inputs
     */
    public record Options(long ignoreIndex, double beta, ZeroCount zeroCount, double scale, int threads) {
        private static final Options DEFAULTS = new Options(-100, 0.999, ZeroCount.ZERO, 1, 0);

        public Options {
            Objects.requireNonNull(zeroCount, "zeroCount");
            if (!(beta >= 0 && beta < 1)) {
                throw new IllegalArgumentException("beta must be in [0, 1), got " + beta);
            }
            if (!(scale > 0 && Double.isFinite(scale))) {
                throw new IllegalArgumentException("scale must be finite and above 0, got " + scale);
            }
            Checks.threadCount(threads);
        }

        /** ignore_index -100, beta 0.999, {@link ZeroCount#ZERO}, all cores. */
        public static Options defaults() {
            return DEFAULTS;
        }

        public Options withIgnoreIndex(long i) {
            return new Options(i, beta, zeroCount, scale, threads);
        }

        public Options withBeta(double b) {
            return new Options(ignoreIndex, b, zeroCount, scale, threads);
        }

        public Options withZeroCount(ZeroCount z) {
            return new Options(ignoreIndex, beta, z, scale, threads);
        }

        public Options withThreads(int t) {
            return new Options(ignoreIndex, beta, zeroCount, scale, t);
        }

        /** {@link Scheme#INVERSE_NORMALIZED}'s weights sum to {@code s} (C for a mean of 1). */
        public Options withScale(double s) {
            return new Options(ignoreIndex, beta, zeroCount, s, threads);
        }
    }

    /** The counts of {@code labels} in {@code numClasses} classes, with the default options. */
    public static long[] counts(Tensor labels, int numClasses) {
        return counts(labels, numClasses, Options.defaults());
    }

    /** The counts of {@code labels} in {@code numClasses} classes (see the class comment). */
    public static long[] counts(Tensor labels, int numClasses, Options options) {
        long[] out = new long[Math.max(0, numClasses)];
        counts(labels, numClasses, options, out);
        return out;
    }

    /**
     * The counts of {@code labels} in {@code numClasses} classes into {@code out[0, numClasses)},
     * overwritten.
     *
     * @throws IllegalArgumentException for labels that are not int64, int32, uint8 or bool, a
     *         class count outside {@code [1, MAX_CLASSES]}, a short {@code out}, or a label
     *         outside {@code [0, C)} that is not {@code ignoreIndex}
     */
    public static void counts(Tensor labels, int numClasses, Options options, long[] out) {
        Objects.requireNonNull(labels, "labels");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(out, "out");
        String what = "class_weights";
        if (labels.dtype().isFloating()) {
            throw new IllegalArgumentException(what + ": labels must be int64, int32, uint8 or bool, got "
                    + labels.dtype());
        }
        if (numClasses < 1 || numClasses > MAX_CLASSES) {
            throw new IllegalArgumentException(what + ": the number of classes must be in [1, " + MAX_CLASSES
                    + "], got " + numClasses);
        }
        if (out.length < numClasses) {
            throw new IllegalArgumentException(what + ": out has " + out.length + " entries for " + numClasses
                    + " classes");
        }
        long n = labels.numel();
        int threads = Checks.threads(options.threads(), n, labels, null, null, null, null, null);
        CountProblem p = CountProblem.forThisThread()
                .kernels(Problems.kernels(false, null, null))
                .labels(labels.segment(), labels.dtype().byteSize(), n, numClasses, options.ignoreIndex());
        try {
            Parallel.counts(n, Parallel.grain(1), threads, numClasses, CountProblem::chunk, p, out);
        } catch (Targets.BadTarget e) {
            throw badLabel(e, numClasses, options);
        } finally {
            p.clear();
        }
    }

    private static IllegalArgumentException badLabel(Targets.BadTarget e, int numClasses, Options options) {
        return new IllegalArgumentException("class_weights: label " + e.value + " is out of bounds at flat index "
                + e.position + " of the labels (classes 0.." + (numClasses - 1) + ", ignore_index "
                + options.ignoreIndex() + ")");
    }

    /**
     * Per-class counts {@code n_j} and, where the labels have an image axis, Eigen and Fergus's
     * per-image pixel totals {@code P_j} (LOSSES.md 9): the sum, over the images in which class
     * {@code j} occurs at least once, of that image's non-ignored labels. A class never seen has
     * {@code n_j = P_j = 0}; any other has {@code n_j <= P_j}.
     *
     * <p>The arrays are the record's own (not copied): do not change them after making one.
     *
     * @param counts      {@code n_j}, one per class
     * @param imagePixels {@code P_j}, one per class, or null when not known (labels without an
     *                    image axis, or counts made elsewhere)
     */
    public record Counts(long[] counts, long[] imagePixels) {
        /**
         * @throws IllegalArgumentException when {@code imagePixels} does not have one entry per
         *         class, or a {@code P_j} is below {@code n_j}, or above 0 where {@code n_j = 0}
         */
        public Counts {
            Objects.requireNonNull(counts, "counts");
            if (imagePixels != null) {
                if (imagePixels.length != counts.length) {
                    throw new IllegalArgumentException("class_weights: " + imagePixels.length
                            + " image pixel totals for " + counts.length + " classes");
                }
                for (int j = 0; j < counts.length; j++) {
                    if (imagePixels[j] < counts[j] || (counts[j] == 0 && imagePixels[j] != 0)) {
                        throw new IllegalArgumentException("class_weights: image pixel total " + imagePixels[j]
                                + " of class " + j + " does not fit its count " + counts[j]
                                + " (it is at least the count, and 0 for a class never seen)");
                    }
                }
            }
        }

        /** Counts without pixel totals: median-frequency then uses the fallback {@code f_j = n_j / N}. */
        public static Counts of(long[] counts) {
            return new Counts(counts, null);
        }

        /** Whether the per-image pixel totals {@code P_j} are known. */
        public boolean hasImagePixels() {
            return imagePixels != null;
        }

        /**
         * The counts of no label: {@code classes} zeros, with zero pixel totals when
         * {@code imagePixels}. The identity of {@link #plus}.
         */
        public static Counts empty(int classes, boolean imagePixels) {
            if (classes < 0) {
                throw new IllegalArgumentException("class_weights: " + classes + " classes");
            }
            return new Counts(new long[classes], imagePixels ? new long[classes] : null);
        }

        /**
         * The counts of this and {@code other}'s labels together: {@code n_j} and {@code P_j}
         * added class by class. Counts are exact and each image is counted within its batch, so
         * the sum over batches is the counts of the concatenated labels (split along the image
         * axis), in any order. The pixel totals are kept only when both have them.
         *
         * @throws IllegalArgumentException for another number of classes
         * @throws ArithmeticException if a count overflows a long
         */
        public Counts plus(Counts other) {
            Objects.requireNonNull(other, "other");
            if (other.counts.length != counts.length) {
                throw new IllegalArgumentException("class_weights: cannot add counts of " + other.counts.length
                        + " classes to counts of " + counts.length);
            }
            long[] n = new long[counts.length];
            long[] p = imagePixels != null && other.imagePixels != null ? new long[counts.length] : null;
            for (int j = 0; j < n.length; j++) {
                n[j] = Math.addExact(counts[j], other.counts[j]);
                if (p != null) {
                    p[j] = Math.addExact(imagePixels[j], other.imagePixels[j]);
                }
            }
            return new Counts(n, p);
        }
    }

    /**
     * Counts of labels that arrive in batches (files, shards, threads, machines), mergeable:
     * {@link #accept} one batch after another, {@link #combine} counters filled apart, then
     * {@link #counts()} for {@link #weights(Counts, Scheme, Options)}. The result is the counts
     * (and, with image pixels, the per-image totals {@code P_j}) of one call over the labels
     * concatenated along their first axis, so the weights have the same bits. A batch that fails
     * its checks leaves the counter as it was. Not thread-safe: one per thread, then combine.
     */
    public static final class Counter {
        private final int numClasses;
        private final Options options;
        private final boolean imagePixels;
        private Counts total;

        private Counter(int numClasses, Options options, boolean imagePixels) {
            this.numClasses = numClasses;
            this.options = options;
            this.imagePixels = imagePixels;
            this.total = Counts.empty(numClasses, imagePixels);
        }

        /**
         * Adds the counts of {@code labels} ({@link ClassWeights#counts}, or
         * {@link ClassWeights#countsWithImagePixels} for a counter of image pixels, whose batches
         * then need an image axis).
         *
         * @return this
         * @throws IllegalArgumentException as the one call; the counter is then unchanged
         */
        public Counter accept(Tensor labels) {
            Objects.requireNonNull(labels, "labels");
            Counts batch;
            if (imagePixels) {
                if (labels.rank() < 2) {
                    throw new IllegalArgumentException("class_weights: a counter of per-image pixel totals needs labels "
                            + "with an image axis (images, d1, ...), got shape " + Arrays.toString(labels.dims()));
                }
                batch = countsWithImagePixels(labels, numClasses, options);
            } else {
                batch = Counts.of(ClassWeights.counts(labels, numClasses, options));
            }
            total = total.plus(batch);
            return this;
        }

        /**
         * Adds the counts of {@code other}, a counter of as many classes and the same kind
         * ({@code other} is unchanged).
         *
         * @return this
         * @throws IllegalArgumentException for another number of classes or kind, or another ignore_index
         */
        public Counter combine(Counter other) {
            Objects.requireNonNull(other, "other");
            if (other.numClasses != numClasses || other.imagePixels != imagePixels
                    || other.options.ignoreIndex() != options.ignoreIndex()) {
                throw new IllegalArgumentException("class_weights: cannot combine a counter of " + other.numClasses
                        + " classes" + (other.imagePixels ? " with image pixels" : "") + ", ignore_index "
                        + other.options.ignoreIndex() + " with one of " + numClasses + " classes"
                        + (imagePixels ? " with image pixels" : "") + ", ignore_index " + options.ignoreIndex());
            }
            total = total.plus(other.total);
            return this;
        }

        /**
         * Adds counts made elsewhere (another JVM: {@link Counts#counts()} and
         * {@link Counts#imagePixels()} are plain longs), of as many classes; a counter of image
         * pixels needs them.
         *
         * @return this
         */
        public Counter combine(Counts other) {
            Objects.requireNonNull(other, "other");
            if (imagePixels && !other.hasImagePixels()) {
                throw new IllegalArgumentException("class_weights: counts without image pixel totals for a counter of them");
            }
            total = total.plus(other);
            return this;
        }

        /** The counts so far (a copy). */
        public Counts counts() {
            return new Counts(total.counts().clone(), total.imagePixels() == null ? null : total.imagePixels().clone());
        }

        /** The weights of {@code scheme} for the counts so far, as {@link ClassWeights#weights(Counts, Scheme, Options)}. */
        public Weights weights(Scheme scheme) {
            return ClassWeights.weights(counts(), scheme, options);
        }
    }

    /**
     * A {@link Counter} of {@code numClasses} classes with these options (ignore_index, threads,
     * and the schemes' options for {@link Counter#weights}); with {@code imagePixels}, it also
     * totals Eigen and Fergus's {@code P_j} (batches need an image axis).
     *
     * @throws IllegalArgumentException for a class count outside {@code [1, MAX_CLASSES]}
     */
    public static Counter counter(int numClasses, Options options, boolean imagePixels) {
        Objects.requireNonNull(options, "options");
        if (numClasses < 1 || numClasses > MAX_CLASSES) {
            throw new IllegalArgumentException("class_weights: the number of classes must be in [1, " + MAX_CLASSES
                    + "], got " + numClasses);
        }
        return new Counter(numClasses, options, imagePixels);
    }

    /**
     * The counts of {@code labels} in {@code numClasses} classes, as {@link #counts}, and the
     * per-image pixel totals {@code P_j} ({@link Counts}) when the labels have an image axis:
     * shape {@code (images, d1, ..., dk)} with {@code k >= 1}, the first axis the image (a
     * {@code (N, H, W)} segmentation mask). For 1-d labels {@code (N)} the totals are null: each
     * label its own image would make every {@code f_j = n_j / P_j} equal to 1.
     *
     * <p>Each image is counted by itself (the SIMD histogram where the image has at least
     * {@code C} labels), so this costs a little more than {@link #counts}, which it does not
     * replace; the totals are exact and the same at any thread count.
     *
     * @throws IllegalArgumentException as {@link #counts}
     */
    public static Counts countsWithImagePixels(Tensor labels, int numClasses, Options options) {
        Objects.requireNonNull(labels, "labels");
        Objects.requireNonNull(options, "options");
        if (labels.rank() < 2 || labels.dtype().isFloating() || numClasses < 1 || numClasses > MAX_CLASSES) {
            return Counts.of(counts(labels, numClasses, options)); // its checks and errors
        }
        long images = labels.dim(0);
        long size = 1;
        for (int a = 1; a < labels.rank(); a++) {
            size *= labels.dim(a);
        }
        long n = labels.numel();
        int threads = Checks.threads(options.threads(), n, labels, null, null, null, null, null);
        long[] both = new long[2 * numClasses];
        CountProblem p = CountProblem.forThisThread()
                .kernels(Problems.kernels(false, null, null))
                .labels(labels.segment(), labels.dtype().byteSize(), n, numClasses, options.ignoreIndex());
        try {
            ImageCounts.count(p, images, size, threads, both);
        } catch (Targets.BadTarget e) {
            throw badLabel(e, numClasses, options);
        } finally {
            p.clear();
        }
        return new Counts(Arrays.copyOfRange(both, 0, numClasses), Arrays.copyOfRange(both, numClasses, 2 * numClasses));
    }

    /** The weights of {@code scheme} for {@code counts}, with the default options. */
    public static double[] weights(long[] counts, Scheme scheme) {
        return weights(counts, scheme, Options.defaults());
    }

    /**
     * The weights of {@code scheme} for the per-class {@code counts} (see the class comment), in
     * double; {@code C = counts.length}.
     *
     * @throws IllegalArgumentException for no classes, a negative count, all counts zero, or a
     *         zero count under {@link ZeroCount#ERROR}
     */
    public static double[] weights(long[] counts, Scheme scheme, Options options) {
        Objects.requireNonNull(counts, "counts");
        Objects.requireNonNull(scheme, "scheme");
        Objects.requireNonNull(options, "options");
        double[] n = used(counts, options);
        double total = 0;
        for (double nj : n) {
            total += nj;
        }
        int c = n.length;
        double[] w = new double[c];
        switch (scheme) {
            case INVERSE -> each(n, w, nj -> 1 / nj);
            case BALANCED -> {
                double big = total;
                each(n, w, nj -> big / (c * nj));
            }
            case ODDS -> {
                double big = total;
                each(n, w, nj -> (big - nj) / nj);
            }
            case INVERSE_NORMALIZED -> {
                double sum = 0;
                for (double nj : n) {
                    sum += nj > 0 ? 1 / nj : 0;
                }
                double s = sum;
                double scale = options.scale();
                each(n, w, nj -> scale * ((1 / nj) / s));
            }
            case MEDIAN_FREQUENCY -> {
                double median = median(n);
                each(n, w, nj -> median / nj);
            }
            case EFFECTIVE_NUMBER -> {
                double logBeta = Math.log(options.beta()); // -inf for beta 0: every 1 - beta^n is then 1
                double oneMinus = 1 - options.beta();
                each(n, w, nj -> oneMinus / -Math.expm1(nj * logBeta));
                double sum = 0;
                for (double x : w) {
                    sum += x;
                }
                double scale = c / sum;
                for (int j = 0; j < c; j++) {
                    w[j] *= scale;
                }
            }
        }
        return w;
    }

    /** The frequency {@link Scheme#MEDIAN_FREQUENCY} used (LOSSES.md 9 asks to say which). */
    public enum Frequency {
        /**
         * {@code f_j = n_j / P_j}, {@code P_j} the non-ignored labels of the images in which class
         * j occurs: Eigen and Fergus's median frequency balancing.
         */
        IMAGE_PIXELS,
        /**
         * {@code f_j = n_j / N}: LOSSES.md 9's fallback without {@code P_j} (so
         * {@code w_j = median(n) / n_j}). Every scheme other than median-frequency is a function
         * of the counts alone and reports this too.
         */
        TOTAL
    }

    /**
     * Weights and how they were made.
     *
     * @param weights   one per class, in double (the array is the record's own)
     * @param frequency the frequency median-frequency used; {@link Frequency#TOTAL} for the
     *                  other schemes
     */
    public record Weights(double[] weights, Frequency frequency) {
        /** Checks that neither is null. */
        public Weights {
            Objects.requireNonNull(weights, "weights");
            Objects.requireNonNull(frequency, "frequency");
        }
    }

    /**
     * The weights of {@code scheme} for {@code counts} (see the class comment): as
     * {@link #weights(long[], Scheme, Options)}, except that {@link Scheme#MEDIAN_FREQUENCY}
     * uses {@code f_j = n_j / P_j} when the counts have their per-image pixel totals. Under
     * {@link ZeroCount#CLAMP_ONE} a class never seen then gets {@code f_j = 1 / N}, the least
     * frequency any seen class can have ({@code n_j >= 1}, {@code P_j <= N}), so its weight is
     * at least every seen class's.
     *
     * @throws IllegalArgumentException as {@link #weights(long[], Scheme, Options)}
     */
    public static Weights weights(Counts counts, Scheme scheme, Options options) {
        Objects.requireNonNull(counts, "counts");
        Objects.requireNonNull(scheme, "scheme");
        Objects.requireNonNull(options, "options");
        if (scheme != Scheme.MEDIAN_FREQUENCY || !counts.hasImagePixels()) {
            return new Weights(weights(counts.counts(), scheme, options), Frequency.TOTAL);
        }
        double[] n = used(counts.counts(), options);
        long[] pixels = counts.imagePixels();
        double total = 0;
        for (double nj : n) {
            total += nj;
        }
        double[] f = new double[n.length]; // 0 = left out, as n
        for (int j = 0; j < n.length; j++) {
            if (n[j] > 0) {
                f[j] = pixels[j] > 0 ? n[j] / pixels[j] : 1 / total; // P_j = 0 only for a clamped class
            }
        }
        double median = median(f);
        double[] w = new double[n.length];
        each(f, w, fj -> median / fj);
        return new Weights(w, Frequency.IMAGE_PIXELS);
    }

    /**
     * The counts as the schemes use them, after the checks and the zero-count policy: a class
     * never seen is 0 (left out) or 1 ({@link ZeroCount#CLAMP_ONE}).
     */
    private static double[] used(long[] counts, Options options) {
        int c = counts.length;
        if (c == 0) {
            throw new IllegalArgumentException("class_weights: no classes");
        }
        boolean any = false;
        for (int j = 0; j < c; j++) {
            if (counts[j] < 0) {
                throw new IllegalArgumentException("class_weights: count " + counts[j] + " of class " + j
                        + " is negative");
            }
            any |= counts[j] > 0;
        }
        if (!any) {
            throw new IllegalArgumentException("class_weights: every count is zero (no label counted)");
        }
        double[] n = new double[c]; // the counts used, after the zero-count policy; 0 = left out
        for (int j = 0; j < c; j++) {
            n[j] = counts[j];
            if (counts[j] == 0) {
                if (options.zeroCount() == ZeroCount.ERROR) {
                    throw new IllegalArgumentException("class_weights: class " + j
                            + " has no label (zero count); use ZeroCount.ZERO or CLAMP_ONE to weight it anyway");
                }
                if (options.zeroCount() == ZeroCount.CLAMP_ONE) {
                    n[j] = 1;
                }
            }
        }
        return n;
    }

    private interface Formula {
        double of(double nj);
    }

    /** {@code w_j = f(n_j)} for the counted classes, 0 for the others. */
    private static void each(double[] n, double[] w, Formula f) {
        for (int j = 0; j < n.length; j++) {
            w[j] = n[j] > 0 ? f.of(n[j]) : 0;
        }
    }

    /** The median of the positive entries of {@code n} (at least one), numpy's for an even number. */
    private static double median(double[] n) {
        double[] kept = Arrays.stream(n).filter(x -> x > 0).sorted().toArray();
        int m = kept.length;
        return m % 2 == 1 ? kept[m / 2] : (kept[m / 2 - 1] + kept[m / 2]) / 2;
    }

    /** {@code weights} as a 1-d tensor of {@code dtype} (float32 or float64) on the heap. */
    public static Tensor tensor(double[] weights, DType dtype) {
        Objects.requireNonNull(weights, "weights");
        if (dtype == DType.FLOAT64) {
            return Tensor.of(weights.clone(), weights.length);
        }
        if (dtype != DType.FLOAT32) {
            throw new IllegalArgumentException("class_weights: weights are float32 or float64, not " + dtype);
        }
        float[] f = new float[weights.length];
        for (int j = 0; j < f.length; j++) {
            f[j] = (float) weights[j];
        }
        return Tensor.of(f, f.length);
    }

    /**
     * {@code base} with the weights of {@code scheme} for the labels of {@code target}: the
     * convenience for cross-entropy and NLL. The counts are of {@code target} over the
     * {@code C} classes of {@code input} (class axis 1), skipping {@code base.ignoreIndex()}
     * (not {@code options.ignoreIndex()}: the loss's ignored targets are the ones left out); the
     * weight tensor has the input's dtype. {@link Scheme#MEDIAN_FREQUENCY} takes
     * {@code f_j = n_j / N}, as the {@code class-weights} command without {@code --per-image};
     * for Eigen and Fergus's per-image form, pass {@link #countsWithImagePixels} to
     * {@link #weights(Counts, Scheme, Options)} and the result to {@code base.withWeight}.
     *
     * @throws IllegalArgumentException as {@link #counts} and {@link #weights}, and for a target
     *         that does not fit the input
     */
    public static CrossEntropy.Options crossEntropyOptions(CrossEntropy.Options base, Tensor input, Tensor target,
            Scheme scheme, Options options) {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(target, "target");
        Checks.classInput("class_weights", input);
        Checks.indexTarget("class_weights", input, target);
        long c = Layout.classes(input.dims());
        if (c > MAX_CLASSES) {
            throw new IllegalArgumentException("class_weights: " + c + " classes, at most " + MAX_CLASSES);
        }
        Options o = options.withIgnoreIndex(base.ignoreIndex());
        double[] w = weights(counts(target, (int) c, o), scheme, o);
        return base.withWeight(tensor(w, input.dtype()));
    }

    /**
     * Per-channel counts of binary labels over the last axis of {@code target} (any rank at least
     * 1, floating or integer): {@code {npos, m}} with {@code npos[k]} the labels equal to 1 and
     * {@code m[k]} all labels of channel {@code k}; integer labels equal to
     * {@code options.ignoreIndex()} are skipped. One scalar pass on the calling thread (the
     * SIMD histogram is for class labels, {@link #counts}).
     *
     * @throws IllegalArgumentException for a 0-d target or a label other than 0 and 1, naming
     *         the value and its flat index
     */
    public static long[][] binaryCounts(Tensor target, Options options) {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(options, "options");
        if (target.rank() == 0) {
            throw new IllegalArgumentException("class_weights: binary labels need a channel axis (the last), got a 0-d tensor");
        }
        long k = target.dim(target.rank() - 1);
        if (k > MAX_CLASSES) {
            throw new IllegalArgumentException("class_weights: " + k + " channels, at most " + MAX_CLASSES);
        }
        long[] pos = new long[(int) k];
        long[] m = new long[(int) k];
        boolean floating = target.dtype().isFloating();
        long numel = target.numel();
        for (long i = 0; i < numel; i++) {
            int ch = (int) (i % k);
            if (floating) {
                double y = target.getDouble(i);
                if (y != 0 && y != 1) {
                    throw new IllegalArgumentException("class_weights: binary label " + y + " at flat index " + i
                            + " is neither 0 nor 1");
                }
                pos[ch] += y == 1 ? 1 : 0;
            } else {
                long y = target.getLong(i);
                if (y == options.ignoreIndex()) {
                    continue;
                }
                if (y != 0 && y != 1) {
                    throw new IllegalArgumentException("class_weights: binary label " + y + " at flat index " + i
                            + " is neither 0 nor 1 (ignore_index " + options.ignoreIndex() + ")");
                }
                pos[ch] += y;
            }
            m[ch]++;
        }
        return new long[][] {pos, m};
    }

    /**
     * BCE-with-logits' {@code pos_weight} from binary labels, per channel of the last axis:
     * {@code (M_k - npos_k) / npos_k} ({@link #binaryCounts}; PyTorch's example: 100 positives
     * and 300 negatives give 3), a {@code (K)} tensor of {@code dtype}. A channel without
     * positives follows {@link Options#zeroCount()}: 0, {@code M_k - 1} (one positive), or an
     * error; no positive in any channel is an error.
     */
    public static Tensor posWeight(Tensor target, DType dtype, Options options) {
        long[][] counts = binaryCounts(target, options);
        long[] pos = counts[0], m = counts[1];
        double[] w = new double[pos.length];
        boolean any = false;
        for (int k = 0; k < w.length; k++) {
            any |= pos[k] > 0;
            if (pos[k] > 0) {
                w[k] = (double) (m[k] - pos[k]) / pos[k];
            } else if (options.zeroCount() == ZeroCount.ERROR) {
                throw new IllegalArgumentException("class_weights: channel " + k + " has no positive label");
            } else if (options.zeroCount() == ZeroCount.CLAMP_ONE) {
                w[k] = Math.max(0, m[k] - 1);
            }
        }
        if (!any) {
            throw new IllegalArgumentException("class_weights: no positive label in any channel");
        }
        return tensor(w, dtype);
    }

    /**
     * {@code base} with the {@link #posWeight} of {@code target}'s binary labels, of the input's
     * dtype: the convenience for {@link BinaryCrossEntropy#binaryCrossEntropyWithLogits}, whose
     * {@code (K)} pos_weight broadcasts over the last axis.
     */
    public static BinaryCrossEntropy.Options bceOptions(BinaryCrossEntropy.Options base, Tensor input, Tensor target,
            Options options) {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(input, "input");
        if (!input.dtype().isFloating()) {
            throw new IllegalArgumentException("class_weights: input must be float32 or float64, got " + input.dtype());
        }
        return base.withPosWeight(posWeight(target, input.dtype(), options));
    }
}
