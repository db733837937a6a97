package dev.vecloss.cli;

import dev.vecloss.BinaryCrossEntropy;
import dev.vecloss.ClassWeights;
import dev.vecloss.CrossEntropy;
import dev.vecloss.DType;
import dev.vecloss.Focal;
import dev.vecloss.Hinge;
import dev.vecloss.Kernels;
import dev.vecloss.KlDiv;
import dev.vecloss.Lovasz;
import dev.vecloss.Reduction;
import dev.vecloss.RegionLoss;
import dev.vecloss.SegmentationMode;
import dev.vecloss.Tensor;
import dev.vecloss.cli.Command.Option;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * {@code vecloss bench}: the throughput of the scalar kernels and of the selected (Panama)
 * kernels on the same synthetic float32 problem in native memory, and the relative error of
 * each against the same call in float64 (computed by the scalar kernels in double on a float64
 * copy of the operands).
 *
 * <p>It measures the public API (each loss as users call it, with its default reduction, mean
 * for {@code sigmoid-focal-loss}) once with each kind of kernels ({@link Kernels#callWith}), so
 * it compares the kernels alone, like with like. Each kernel is warmed up until its rate has
 * stopped improving and the JIT is idle, then timed in runs of short samples until the best run
 * has settled; the best run counts (the least disturbed by the other processes sharing the
 * cores), and the spread of the runs is printed next to it ({@link BenchTiming} has the rules and
 * why). The elementwise losses run on an {@code (N, C)} input of
 * {@code N * C} elements, the row losses on {@code N} rows of {@code C} classes; throughput is
 * in input elements either way. This is a quick check, not JMH: the jmh/ module has the careful
 * benchmarks.
 */
final class Bench {
    /** The losses bench can time: every loss command, in the registry's order. */
    static final List<String> LOSSES = List.of("cross-entropy", "nll-loss", "binary-cross-entropy",
            "binary-cross-entropy-with-logits", "sigmoid-focal-loss", "softmax-focal-loss", "hinge", "squared-hinge",
            "multi-margin-loss", "kl-div", "dice-loss", "jaccard-loss", "tversky-loss", "class-weights", "lovasz-loss");
    /** Those with one loss per input element, of any shape; the others have a class axis and index targets. */
    static final Set<String> ELEMENTWISE = Set.of("binary-cross-entropy", "binary-cross-entropy-with-logits",
            "sigmoid-focal-loss", "hinge", "squared-hinge", "kl-div");
    /** Those that take a spatial input, and so the strided layout. */
    static final Set<String> SPATIAL = Set.of("cross-entropy", "nll-loss", "softmax-focal-loss", "dice-loss",
            "jaccard-loss", "tversky-loss", "lovasz-loss");
    /** The region losses (multiclass from logits here): per-class sums over a spatial input. */
    static final List<String> REGION = List.of("dice-loss", "jaccard-loss", "tversky-loss");

    static final Option LOSS = Option.choice("--loss", "NAME",
            String.join(", ", LOSSES.subList(0, 3)) + ",\n" + String.join(", ", LOSSES.subList(3, 6)) + ",\n"
            + String.join(", ", LOSSES.subList(6, LOSSES.size())),
            "cross-entropy", LOSSES.toArray(String[]::new));
    static final Option N = Option.value("--n", "N", "rows (or pixels with --layout nchw);\n"
            + "default: about 2^21 elements", null);
    static final Option C = Option.value("--c", "C", "classes (columns of an elementwise loss's input)", "1000");
    static final Option LAYOUT = Option.choice("--layout", "L",
            "row: (N, C); nchw: (B, C, N/B), class axis strided\n"
            + "(cross-entropy, nll-loss, softmax-focal-loss)", "row", "row", "nchw");
    static final Option SHAPE = Option.value("--shape", "DIMS",
            "the input's shape instead of --n and --c, N,C or N,C,d1,...,dk\n"
            + "(a spatial one for the losses of --layout nchw)", null);
    static final Option FORMAT = Option.choice("--format", "F",
            "table or csv (loss,n,c,layout,kernel,threads,gelem_per_s,rel_error,\n"
            + "spread,settled)", "table", "table", "csv");

    static final Command COMMAND = new Command("bench",
            "built-in benchmark of the SIMD and scalar kernels (no files needed)",
            List.of(LOSS, N, C, LossOptions.THREADS, LAYOUT, SHAPE, FORMAT),
            """
            Without --loss, --n, --c or --layout: a tour of about a minute, cross-entropy's
            common cases and options, then one case of every other loss. Reports the
            throughput of the scalar and the selected (Panama) kernels in G input elements
            per second, their ratio, and each result's relative error against the same call
            in float64 (the absolute error where that is exactly 0); exit status 2 if an
            error is over 1e-4. Each kernel is timed after the JIT has finished compiling it
            (up to 20 s on a busy machine), in runs repeated until the best has settled; the
            best run counts, and the spread of the runs, (max - min) / max, is printed next to
            it (marked * where the JIT was still busy after 20 s).""",
            call -> new Bench(call).run(call.args()));

    static final String CSV_HEADER = "loss,n,c,layout,kernel,threads,gelem_per_s,rel_error,spread,settled";

    /** {@code -Dvecloss.bench.trace=true}: each warm-up window and timed run on stderr, to check the rules. */
    private static final boolean TRACE = Boolean.getBoolean("vecloss.bench.trace");
    private static final long SEED = 0x5EED_CAFEL;
    private static final int IGNORE = -100;
    /** Worse than this and the bench fails: the kernels accumulate in double (LOSSES.md 0.4). */
    private static final double MAX_REL_ERROR = 1e-4;
    /** About 2^21 elements per case: 8 MB of float32, a few ms per scalar pass. */
    private static final long CASE_ELEMENTS = 1L << 21;
    /** The largest case accepted: 64 GB of float32 input. */
    private static final long MAX_ELEMENTS = 1L << 34;

    /**
     * The class-count histogram ({@link ClassWeights#counts}): {@code --n} labels (uint8 for at
     * most 256 classes, else int64) of {@code --c} classes, 21 by default; 5% are the ignore
     * index 255 (uint8). Its rate is in labels per second, and its result a checksum of the
     * counts, {@code sum_j (j + 1) n_j}, exact in double below 2^53.
     */
    static final String COUNTS = "class-weights";
    static final long COUNTS_CLASSES = 21;
    private static final int COUNTS_IGNORE = 255;

    private final Command.Call call;
    private final PrintStream out;

    Bench(Command.Call call) {
        this.call = call;
        this.out = call.out();
    }

    /**
     * One synthetic problem of {@code loss}: {@code b} batches of {@code c} classes (columns) and
     * {@code s} positions (s = 1 for rows), with the options of cross-entropy's tour cases
     * ({@code weighted} also gives softmax-focal-loss's alpha and multi-margin-loss's weight).
     */
    record Case(String label, String loss, long b, long c, long s, boolean nchw,
            boolean weighted, boolean ignore, double eps, boolean prob, boolean grad) {
        /** A case of {@code loss} without options: {@code n} rows of {@code c}. */
        static Case plain(String loss, long n, long c) {
            return new Case(loss, loss, n, c, 1, false, false, false, 0, false, false);
        }

        long positions() {
            return b * s;
        }

        long elements() {
            return loss.equals(COUNTS) ? b : b * c * s; // the histogram's elements are its labels
        }

        boolean elementwise() {
            return ELEMENTWISE.contains(loss);
        }

        String shape() {
            return nchw ? "(" + b + ", " + c + ", " + s + ")" : "(" + b + ", " + c + ")";
        }

        /** This case with about {@code elements} elements (at least one batch): for checks. */
        Case scaled(long elements) {
            long perBatch = c * s;
            return new Case(label, loss, Math.max(1, Math.min(b, elements / perBatch)), c, s, nchw, weighted, ignore,
                    eps, prob, grad);
        }
    }

    /**
     * One kernel's figures: its rate, its relative error, the spread of its timed runs ((max -
     * min) / max) and whether its warm-up settled (false: the JIT was still busy at the limit).
     */
    record Row(Case cs, String kernel, double gelemPerSec, double relError, double spread, boolean settled) {
        /** The spread for the table, in percent, marked * when the warm-up did not settle. */
        String spreadText() {
            return String.format(Locale.ROOT, "%.1f%%", 100 * spread) + (settled ? "" : "*");
        }
    }

    void run(Args args) throws CliError {
        String format = args.choice(FORMAT);
        int threads = LossOptions.threads(args);
        if (threads == 0) {
            threads = Runtime.getRuntime().availableProcessors(); // as the losses read 0: all cores
        }
        List<Case> cases;
        if (args.has(SHAPE.name())) {
            cases = List.of(shapeCase(args.choice(LOSS), args));
        } else if (args.has(LOSS.name()) || args.has(N.name()) || args.has(C.name()) || args.has(LAYOUT.name())) {
            String loss = args.choice(LOSS);
            boolean counts = loss.equals(COUNTS);
            long c = args.longValue(C.name(), counts ? COUNTS_CLASSES : Long.parseLong(C.defaultValue()), 1,
                    counts ? ClassWeights.MAX_CLASSES : Integer.MAX_VALUE);
            long n = args.longValue(N.name(), counts ? CASE_ELEMENTS : Math.max(1, CASE_ELEMENTS / c), 1, Long.MAX_VALUE);
            if (counts && n > MAX_ELEMENTS) {
                throw new CliError("--n " + n + " is too large for a benchmark (at most 2^34 labels)");
            }
            if (!counts && n > MAX_ELEMENTS / c) {
                throw new CliError("--n " + n + " times --c " + c + " is too large for a benchmark (at most 2^34 elements)");
            }
            boolean nchw = args.choice(LAYOUT).equals("nchw");
            if (nchw && !SPATIAL.contains(loss)) {
                throw new CliError("--layout nchw: " + loss + " has no strided class axis (nchw is for "
                        + String.join(", ", LOSSES.stream().filter(SPATIAL::contains).toList()) + ")");
            }
            long b = nchw ? (n % 2 == 0 ? 2 : 1) : n;
            long s = nchw ? n / b : 1;
            cases = List.of(new Case(loss, loss, b, c, s, nchw, false, false, 0, false, false));
        } else {
            cases = tour();
        }
        Kernels.Implementation selected = Kernels.selected();
        List<Kernels.Implementation> kernels = List.of(Kernels.Implementation.SCALAR, selected);
        boolean csv = format.equals("csv");
        if (csv) {
            out.println(CSV_HEADER);
        } else {
            out.printf(Locale.ROOT, "vecloss bench: %s; %d thread%s; G input elements per second, best of %d or more"
                    + " timed runs after warm-up, spread (max - min) / max of the runs%n",
                    Kernels.description(), threads, threads == 1 ? "" : "s", BenchTiming.MIN_RUNS);
            String name = selected.name().toLowerCase(Locale.ROOT);
            out.printf(Locale.ROOT, "%-44s %-16s %8s %8s %7s %11s %11s %13s %13s%n",
                    "case", "shape", "scalar", name, "ratio", "err scalar", "err " + name, "spread scalar", "spread " + name);
        }
        String failure = null;
        boolean unsettled = false;
        for (Case cs : cases) {
            List<Row> rows = measure(cs, threads, kernels);
            for (Row r : rows) {
                unsettled |= !r.settled;
                if (!(r.relError <= MAX_REL_ERROR) && failure == null) {
                    failure = "bench: the " + r.kernel + " kernels are off on " + cs.label + " " + cs.shape()
                            + ": rel_error " + r.relError;
                }
            }
            if (csv) {
                for (Row r : rows) {
                    out.printf(Locale.ROOT, "%s,%d,%d,%s,%s,%d,%.6g,%.3e,%.4f,%b%n", cs.label, cs.positions(), cs.c,
                            cs.nchw ? "nchw" : "row", r.kernel, threads, r.gelemPerSec, r.relError, r.spread, r.settled);
                }
            } else {
                Row s = rows.get(0), v = rows.get(1);
                out.printf(Locale.ROOT, "%-44s %-16s %8.3f %8.3f %6.2fx %11.1e %11.1e %13s %13s%n",
                        cs.nchw ? cs.label + " (nchw)" : cs.label, cs.shape(),
                        s.gelemPerSec, v.gelemPerSec, v.gelemPerSec / s.gelemPerSec, s.relError, v.relError,
                        s.spreadText(), v.spreadText());
            }
            call.flushOut(); // a table nobody can read is not worth the minutes
        }
        if (unsettled && !csv) {
            out.printf(Locale.ROOT, "* the JIT was still busy after %d s of warm-up (a busy machine?): the rate may"
                    + " be too low%n", BenchTiming.MAX_WARMUP_NANOS / 1_000_000_000L);
        }
        if (failure != null) {
            throw new CliError(failure);
        }
    }

    /**
     * The case of {@code --shape N,C[,d1,...,dk]} for {@code loss}: {@code (N, C, d1*...*dk)},
     * strided when there are spatial axes (for the losses of {@link #SPATIAL} only).
     */
    private static Case shapeCase(String loss, Args args) throws CliError {
        for (Option o : List.of(N, C, LAYOUT)) {
            if (args.has(o.name())) {
                throw new CliError("--shape gives the whole shape: drop " + o.name());
            }
        }
        String text = args.string(SHAPE);
        String[] parts = text.split(",", -1);
        long[] dims = new long[parts.length];
        try {
            for (int i = 0; i < parts.length; i++) {
                dims[i] = Long.parseLong(parts[i].strip());
            }
        } catch (NumberFormatException e) {
            dims = new long[0];
        }
        long s = 1;
        for (int i = 2; i < dims.length; i++) {
            s = dims[i] > 0 && s <= MAX_ELEMENTS / dims[i] ? s * dims[i] : MAX_ELEMENTS + 1;
        }
        if (dims.length < 2 || Arrays.stream(dims).anyMatch(d -> d < 1) || dims[1] > Integer.MAX_VALUE
                || s > MAX_ELEMENTS || (double) dims[0] * dims[1] * s > MAX_ELEMENTS) {
            throw new CliError("--shape: '" + text + "' is not N,C or N,C,d1,...,dk of positive sizes with at most"
                    + " 2^34 elements");
        }
        boolean nchw = dims.length > 2;
        if (nchw && !SPATIAL.contains(loss)) {
            throw new CliError("--shape " + text + ": " + loss + " has no strided class axis (spatial shapes are for "
                    + String.join(", ", LOSSES.stream().filter(SPATIAL::contains).toList()) + ")");
        }
        return new Case(loss, loss, dims[0], dims[1], s, nchw, false, false, 0, false, false);
    }

    /**
     * The default tour: cross-entropy on common class counts, the strided NCHW layout and each
     * option, nll-loss, then one case of every other loss at the same size, (2^21/100, 100).
     */
    static List<Case> tour() {
        List<Case> t = new ArrayList<>();
        for (long c : new long[] {1000, 100, 10, 21}) {
            t.add(Case.plain("cross-entropy", CASE_ELEMENTS / c, c));
        }
        t.add(new Case("cross-entropy", "cross-entropy", 4, 21, 160 * 160, true, false, false, 0, false, false));
        long n = CASE_ELEMENTS / 100;
        t.add(new Case("cross-entropy+weight+ignore+smoothing", "cross-entropy", n, 100, 1, false, true, true, 0.1, false, false));
        t.add(new Case("cross-entropy+prob", "cross-entropy", n, 100, 1, false, false, false, 0, true, false));
        t.add(new Case("cross-entropy+grad", "cross-entropy", n, 100, 1, false, false, false, 0, false, true));
        t.add(new Case("cross-entropy+weight+ignore+smoothing+grad", "cross-entropy", n, 100, 1, false, true, true, 0.1, false, true));
        t.add(Case.plain("nll-loss", n, 100));
        t.add(new Case("nll-loss+grad", "nll-loss", n, 100, 1, false, false, false, 0, false, true));
        // Lovász-softmax and the Lovász hinge on segmentation shapes (each class of the batch sorted)
        t.add(new Case("lovasz-loss (multiclass)", "lovasz-loss", 2, 21, 128 * 128, true, false, false, 0, false, false));
        t.add(new Case("lovasz-loss (binary)", "lovasz-loss", 8, 1, 128 * 128, true, false, false, 0, false, false));
        for (String loss : LOSSES) {
            if (loss.equals(COUNTS)) {
                t.add(Case.plain(loss, CASE_ELEMENTS, COUNTS_CLASSES));
            } else if (!loss.equals("cross-entropy") && !loss.equals("nll-loss") && !REGION.contains(loss)
                    && !loss.equals("lovasz-loss")) {
                t.add(Case.plain(loss, n, 100));
            }
        }
        for (String loss : REGION) { // multiclass from logits on a spatial input, their natural case
            t.add(new Case(loss, loss, 4, 21, CASE_ELEMENTS / (4 * 21), true, false, false, 0, false, false));
        }
        return t;
    }

    private List<Row> measure(Case cs, int threads, List<Kernels.Implementation> kernels) {
        try (Arena arena = Arena.ofShared()) {
            Calls calls = Calls.make(cs, threads, arena);
            double reference = calls.referenceValue();
            List<Row> rows = new ArrayList<>(2);
            for (Kernels.Implementation k : kernels) {
                double[] m = Kernels.callWith(k, () -> time(calls.measured, cs));
                rows.add(new Row(cs, k.name().toLowerCase(Locale.ROOT), m[0], error(m[1], reference), m[2], m[3] == 1));
            }
            return rows;
        }
    }

    /**
     * One untimed evaluation of {@code cs} with {@code kernels}: {result, float64 reference}.
     * For tests: every case must run (a library check that refuses its operands would end the
     * tour) and agree with its reference.
     */
    static double[] check(Case cs, Kernels.Implementation kernels, int threads) {
        try (Arena arena = Arena.ofShared()) {
            Calls calls = Calls.make(cs, threads, arena);
            return new double[] {Kernels.callWith(kernels, calls.measured::run), calls.referenceValue()};
        }
    }

    /**
     * The relative error of {@code result}, or its absolute error where the reference is exactly
     * 0 (one class: every log-softmax is 0), so an exact answer is 0 and not 0/0; NaN (a failure)
     * if either is NaN.
     */
    static double error(double result, double reference) {
        if (result == reference) {
            return 0;
        }
        double diff = Math.abs(result - reference);
        return reference == 0 ? diff : diff / Math.abs(reference);
    }

    /** The call measured, on the float32 operands, and its reference, the same call on float64 copies. */
    private record Calls(ApiCall measured, ApiCall reference) {
        /**
         * The reference's value: in float64, by the scalar kernels for that dtype; the histogram's
         * counts have no float64 form, so there the scalar kernels are asked for by name.
         */
        double referenceValue() {
            return measured.cs().loss.equals(COUNTS)
                    ? Kernels.callWith(Kernels.Implementation.SCALAR, reference::run) : reference.run();
        }

        static Calls make(Case cs, int threads, Arena arena) {
            Data d = Data.make(cs, arena);
            ApiCall measured = new ApiCall(cs, d.input, d.target, d.weight, d.grad, threads);
            // Every floating operand widened (the library wants targets and weights of the input's
            // dtype); no gradient, which does not change the value.
            ApiCall reference = new ApiCall(cs, widen(d.input, arena), widen(d.target, arena), widen(d.weight, arena),
                    null, threads);
            return new Calls(measured, reference);
        }
    }

    /** One public API call of a case: the loss with its default reduction (mean for sigmoid focal), as users call it. */
    private record ApiCall(Case cs, Tensor input, Tensor target, Tensor weight, Tensor grad, int threads) {
        double run() {
            return switch (cs.loss) {
                case "cross-entropy", "nll-loss" -> {
                    CrossEntropy.Options o = CrossEntropy.Options.defaults().withWeight(weight).withIgnoreIndex(IGNORE)
                            .withLabelSmoothing(cs.eps).withThreads(threads);
                    yield cs.loss.equals("nll-loss") ? CrossEntropy.nllLoss(input, target, o, null, grad)
                            : CrossEntropy.crossEntropy(input, target, o, null, grad);
                }
                case "binary-cross-entropy" -> BinaryCrossEntropy.binaryCrossEntropy(input, target,
                        BinaryCrossEntropy.Options.defaults().withThreads(threads), null, grad);
                case "binary-cross-entropy-with-logits" -> BinaryCrossEntropy.binaryCrossEntropyWithLogits(input, target,
                        BinaryCrossEntropy.Options.defaults().withThreads(threads), null, grad);
                case "sigmoid-focal-loss" -> Focal.sigmoidFocalLoss(input, target,
                        Focal.SigmoidOptions.defaults().withReduction(Reduction.MEAN).withThreads(threads), null, grad);
                case "softmax-focal-loss" -> Focal.softmaxFocalLoss(input, target,
                        Focal.SoftmaxOptions.defaults().withAlpha(weight).withIgnoreIndex(IGNORE).withThreads(threads),
                        null, grad);
                case "hinge" -> Hinge.hinge(input, target, Hinge.Options.defaults().withThreads(threads), null, grad);
                case "squared-hinge" -> Hinge.squaredHinge(input, target, Hinge.Options.defaults().withThreads(threads),
                        null, grad);
                case "multi-margin-loss" -> Hinge.multiMarginLoss(input, target,
                        Hinge.Options.defaults().withWeight(weight).withThreads(threads), null, grad);
                case "kl-div" -> KlDiv.klDiv(input, target, KlDiv.Options.defaults().withThreads(threads), null, grad);
                case "dice-loss" -> RegionLoss.dice(input, target, region(threads), grad);
                case "jaccard-loss" -> RegionLoss.jaccard(input, target, region(threads), grad);
                case "tversky-loss" -> RegionLoss.tversky(input, target, region(threads).withTversky(0.3, 0.7, 1), grad);
                case COUNTS -> {
                    long[] n = ClassWeights.counts(target, (int) cs.c, ClassWeights.Options.defaults()
                            .withIgnoreIndex(COUNTS_IGNORE).withThreads(threads));
                    double checksum = 0;
                    for (int j = 0; j < n.length; j++) {
                        checksum += (j + 1.0) * n[j];
                    }
                    yield checksum;
                }
                case "lovasz-loss" -> Lovasz.lovaszLoss(input, target, Lovasz.Options.defaults(cs.c == 1 ? SegmentationMode.BINARY
                        : SegmentationMode.MULTICLASS).withThreads(threads), grad);
                default -> throw new IllegalStateException("bench has no call for " + cs.loss);
            };
        }
    }

    /** The region losses' options of the bench: multiclass from logits, smp's defaults. */
    private static RegionLoss.Options region(int threads) {
        return RegionLoss.Options.defaults(SegmentationMode.MULTICLASS).withThreads(threads);
    }

    /**
     * {rate in G elements/s, result, spread, 1 if the warm-up settled else 0}: warm-up until the
     * kernel is warm, then timed runs until their best has settled ({@link BenchTiming}'s rules).
     */
    private static double[] time(ApiCall api, Case cs) {
        Timer timer = new Timer(api, cs.elements());
        BenchTiming.WarmUp warmUp = new BenchTiming.WarmUp();
        long background = BenchTiming.backgroundCpuNanos();
        long compiled = BenchTiming.compilationMillis();
        boolean done;
        do {
            long t0 = System.nanoTime();
            double rate = timer.run();
            long nanos = System.nanoTime() - t0;
            long b = BenchTiming.backgroundCpuNanos();
            long c = BenchTiming.compilationMillis();
            long used = b == BenchTiming.UNKNOWN || background == BenchTiming.UNKNOWN ? BenchTiming.UNKNOWN : b - background;
            BenchTiming.Window w = new BenchTiming.Window(rate, nanos, used, c - compiled);
            done = warmUp.add(w);
            if (TRACE) {
                System.err.printf(Locale.ROOT, "bench trace: %s warm-up %.2f s: %s%n", cs.label,
                        warmUp.elapsedNanos() / 1e9, w);
            }
            background = b;
            compiled = c;
        } while (!done);
        timer.checking = true;
        BenchTiming.Runs runs = new BenchTiming.Runs();
        boolean enough;
        do {
            double rate = timer.run();
            enough = runs.add(rate);
            if (TRACE) {
                System.err.printf(Locale.ROOT, "bench trace: %s run %d: %.4f%n", cs.label, runs.count(), rate);
            }
        } while (!enough);
        return new double[] {runs.best(), timer.result, runs.spread(), warmUp.settled() ? 1 : 0};
    }

    /**
     * Times one warm-up window or timed run of a call: samples of at least
     * {@link BenchTiming#SAMPLE_NANOS} for at least {@link BenchTiming#RUN_NANOS}, rated by their
     * upper decile (in G elements/s). Keeps the call's result; once {@link #checking}, a result
     * with other bits than before makes it NaN (not deterministic: the error column shows it).
     */
    private static final class Timer {
        private final ApiCall api;
        private final double elements;
        private final double[] rates = new double[256];
        double result;
        boolean checking;

        Timer(ApiCall api, long elements) {
            this.api = api;
            this.elements = elements;
        }

        double run() {
            int n = 0;
            long start = System.nanoTime();
            long now;
            do {
                long t0 = System.nanoTime();
                int calls = 0;
                do {
                    double r = api.run();
                    if (!checking) {
                        result = r;
                    } else if (Double.doubleToRawLongBits(r) != Double.doubleToRawLongBits(result)) {
                        result = Double.NaN;
                    }
                    calls++;
                    now = System.nanoTime();
                } while (now - t0 < BenchTiming.SAMPLE_NANOS);
                rates[n++] = calls * elements / (now - t0);
            } while (now - start < BenchTiming.RUN_NANOS && n < rates.length);
            return BenchTiming.upperDecile(rates, n);
        }
    }

    /** A float64 copy of a float32 tensor; any other tensor (integer targets, null) as it is. */
    private static Tensor widen(Tensor t, Arena arena) {
        if (t == null || t.dtype() != DType.FLOAT32) {
            return t;
        }
        Tensor d = Tensor.allocate(arena, DType.FLOAT64, t.shape());
        for (long i = 0; i < t.numel(); i++) {
            d.segment().setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i,
                    t.getDouble(i));
        }
        return d;
    }

    /** The synthetic operands, float32 in native memory, from a fixed seed. */
    private record Data(Tensor input, Tensor target, Tensor weight, Tensor grad) {
        private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

        static Data make(Case cs, Arena arena) {
            SplittableRandom rnd = new SplittableRandom(SEED);
            if (cs.loss.equals(COUNTS)) {
                return countLabels(cs, rnd, arena);
            }
            long numel = cs.elements();
            MemorySegment x = arena.allocate(numel * 4, 64);
            for (long i = 0; i < numel; i++) {
                x.setAtIndex(F32, i, (float) input(cs.loss, rnd));
            }
            long[] shape = cs.nchw ? new long[] {cs.b, cs.c, cs.s} : new long[] {cs.b, cs.c};
            Tensor target;
            if (cs.elementwise()) {
                MemorySegment y = arena.allocate(numel * 4, 64);
                for (long i = 0; i < numel; i++) {
                    y.setAtIndex(F32, i, (float) elementTarget(cs.loss, rnd));
                }
                target = Tensor.of(y, DType.FLOAT32, shape);
            } else if (cs.prob) {
                MemorySegment prob = arena.allocate(numel * 4, 64);
                for (long pos = 0; pos < cs.positions(); pos++) {
                    long base = (pos / cs.s) * cs.c * cs.s + pos % cs.s;
                    double total = 0;
                    double[] q = new double[(int) cs.c];
                    for (int k = 0; k < cs.c; k++) {
                        q[k] = rnd.nextDouble();
                        total += q[k];
                    }
                    for (int k = 0; k < cs.c; k++) {
                        prob.setAtIndex(F32, base + k * cs.s, (float) (q[k] / total));
                    }
                }
                target = Tensor.of(prob, DType.FLOAT32, shape);
            } else {
                MemorySegment labels = arena.allocate(cs.positions() * 8, 64);
                for (long pos = 0; pos < cs.positions(); pos++) {
                    long y = cs.ignore && rnd.nextInt(10) == 0 ? IGNORE
                            : rnd.nextLong(cs.loss.equals("lovasz-loss") ? Math.max(2, cs.c) : cs.c); // binary: 0/1
                    labels.setAtIndex(I64, pos, y);
                }
                long[] positions = cs.nchw ? new long[] {cs.b, cs.s} : new long[] {cs.b};
                target = Tensor.of(labels, DType.INT64, positions);
            }
            Tensor weight = null;
            if (cs.weighted) {
                MemorySegment w = arena.allocate(cs.c * 4, 64);
                for (long k = 0; k < cs.c; k++) {
                    w.setAtIndex(F32, k, (float) rnd.nextDouble(0.5, 1.5));
                }
                weight = Tensor.of(w, DType.FLOAT32, cs.c);
            }
            return new Data(Tensor.of(x, DType.FLOAT32, shape), target, weight,
                    cs.grad ? Tensor.allocate(arena, DType.FLOAT32, shape) : null);
        }

        /** The labels of the histogram case: no input, uint8 labels (int64 above 256 classes), 5% ignored. */
        private static Data countLabels(Case cs, SplittableRandom rnd, Arena arena) {
            boolean u8 = cs.c <= 256;
            MemorySegment labels = arena.allocate(cs.b * (u8 ? 1 : 8), 64);
            for (long i = 0; i < cs.b; i++) {
                long y = rnd.nextInt(20) == 0 ? COUNTS_IGNORE : rnd.nextLong(cs.c);
                if (u8) {
                    labels.set(ValueLayout.JAVA_BYTE, i, (byte) y);
                } else {
                    labels.setAtIndex(I64, i, y);
                }
            }
            return new Data(null, Tensor.of(labels, u8 ? DType.UINT8 : DType.INT64, cs.b), null, null);
        }

        /** An input value in the loss's domain. */
        private static double input(String loss, SplittableRandom rnd) {
            return switch (loss) {
                case "nll-loss", "kl-div" -> -rnd.nextDouble(8); // log-probability-like, in (-8, 0]
                case "binary-cross-entropy" -> rnd.nextDouble(0.01, 0.99); // probabilities
                default -> rnd.nextDouble(-4, 4); // logits, scores
            };
        }

        /** A target value of an elementwise loss. */
        private static double elementTarget(String loss, SplittableRandom rnd) {
            return switch (loss) {
                case "hinge", "squared-hinge" -> rnd.nextBoolean() ? 1 : -1;
                case "kl-div" -> rnd.nextDouble(); // probabilities
                default -> rnd.nextBoolean() ? 1 : 0; // binary labels
            };
        }
    }
}
