package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vecloss.GoldenFile.Args;
import dev.vecloss.GoldenFile.Case;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Compares the library with golden values computed by PyTorch: one dynamic test per case of
 * every file in {@code src/test/resources/dev/vecloss/golden/}. The files, their format and their
 * provenance come from {@code tools/golden/make_golden.py}; regenerate them with it, never by
 * hand. {@link GoldenFile} parses them into generic cases (op, named tensors, named parameters,
 * named expected outputs with their shapes), and {@link #OPS} says how each op calls the
 * library: a new loss family is one entry there plus its cases in the script.
 *
 * <p>Every case is run with 1 and with 2 threads; the two runs must give the same bits (the
 * library's determinism promise), and the first is compared with the reference:
 * <ul>
 *   <li>NaN where the reference is NaN, and only there; infinities exactly;</li>
 *   <li>float64 computations: {@link #FLOAT64}, the scalar kernels compute in double, so only the
 *       rounding differences of two double evaluations (PyTorch's {@code log_softmax} and the
 *       library's {@code log1p} form) remain;</li>
 *   <li>float32 computations, against PyTorch's float64 result on the same float32 numbers:
 *       {@link #FLOAT32_REDUCED} for a returned (reduced) value and {@link #FLOAT32_ELEMENT} for
 *       per-element outputs such as losses and gradients, which are stored as float32.</li>
 * </ul>
 * An unknown op, a tensor or parameter the op's binding does not read, a missing one, and an
 * expected output the binding does not produce (or the reverse) fail the case, naming it.
 */
class GoldenTest {

    /** Double against double: a few ulps of the result, or absolutely tiny near zero. */
    static final Tolerance FLOAT64 = Tolerance.relative(1e-12).orAbsolute(1e-15);

    /** A float32 input's reduced result, accumulated in double: the budget. */
    static final Tolerance FLOAT32_REDUCED = Tolerance.relative(2e-6).orAbsolute(1e-9);

    /** A float32 input's per-position loss or gradient element, rounded to float32 on output. */
    static final Tolerance FLOAT32_ELEMENT = Tolerance.relative(1e-5).orAbsolute(1e-7);

    /** How the golden cases of one op call the library. */
    @FunctionalInterface
    interface Binding {
        /**
         * Reads the case's tensors and parameters from {@code args} (the names are PyTorch's),
         * calls the library on {@code threads} threads, and returns its outputs by the names of
         * the case's {@code expect} lines.
         */
        Outputs call(Args args, int threads);
    }

    /** Op name (as in the golden files) to the library call: one entry per op. */
    static final Map<String, Binding> OPS = Map.ofEntries(
            Map.entry("cross_entropy", GoldenTest::crossEntropy),
            Map.entry("nll_loss", GoldenTest::nllLoss),
            Map.entry("binary_cross_entropy", GoldenTest::binaryCrossEntropy),
            Map.entry("binary_cross_entropy_with_logits", GoldenTest::binaryCrossEntropyWithLogits),
            Map.entry("sigmoid_focal_loss", GoldenTest::sigmoidFocalLoss),
            Map.entry("softmax_focal_loss", GoldenTest::softmaxFocalLoss),
            Map.entry("hinge", GoldenTest::hinge),
            Map.entry("squared_hinge", GoldenTest::squaredHinge),
            Map.entry("multi_margin_loss", GoldenTest::multiMarginLoss),
            Map.entry("categorical_hinge", GoldenTest::categoricalHinge),
            Map.entry("kl_div", GoldenTest::klDiv),
            Map.entry("dice_loss", (a, t) -> regionLoss(a, t, RegionLoss::dice)),
            Map.entry("jaccard_loss", (a, t) -> regionLoss(a, t, RegionLoss::jaccard)),
            Map.entry("tversky_loss", (a, t) -> regionLoss(a, t, RegionLoss::tversky)),
            Map.entry("class_weights", GoldenTest::classWeights),
            Map.entry("lovasz_loss", GoldenTest::lovaszLoss));


    /** One of {@link RegionLoss}'s losses with its gradient. */
    @FunctionalInterface
    private interface RegionCall {
        double apply(Tensor input, Tensor target, RegionLoss.Options o, Tensor grad);
    }

    /** smp's Dice, Jaccard and Tversky: options by smp's keyword names, {@code classes} as "0,2". */
    private static Outputs regionLoss(Args a, int threads, RegionCall call) {
        Tensor input = a.tensor("input");
        RegionLoss.Options o = RegionLoss.Options
                .defaults(SegmentationMode.valueOf(a.stringParam("mode").toUpperCase(Locale.ROOT)))
                .withFromLogits(a.booleanParam("from_logits"))
                .withSmooth(a.doubleParam("smooth"))
                .withEps(a.doubleParam("eps"))
                .withLogLoss(a.booleanParam("log_loss"))
                .withThreads(threads);
        if (a.hasParam("ignore_index")) {
            o = o.withIgnoreIndex(a.longParam("ignore_index"));
        }
        if (a.hasParam("classes")) {
            o = o.withClasses(Arrays.stream(a.stringParam("classes").split(",")).mapToInt(Integer::parseInt).toArray());
        }
        Tensor w = a.optionalTensor("class_weights");
        if (w != null) {
            o = o.withClassWeights(w.toDoubleArray());
        }
        if (a.hasParam("alpha")) {
            o = o.withTversky(a.doubleParam("alpha"), a.doubleParam("beta"), a.doubleParam("gamma"));
        }
        Tensor grad = a.output("grad", input.dtype());
        double loss = call.apply(input, a.tensor("target"), o, grad);
        return new Outputs().returned("loss", loss, input.dtype()).written("grad", grad);
    }

    /** A library call that writes {@code losses} and {@code grad} and returns the loss. */
    @FunctionalInterface
    private interface Call {
        double apply(Tensor losses, Tensor grad);
    }

    /**
     * Runs {@code call} with zero-filled {@code losses} and {@code grad} tensors of the input's
     * dtype and the shapes of the case's expect lines: the outputs every binding returns.
     */
    private static Outputs lossesAndGrad(Args a, Tensor input, Call call) {
        Tensor losses = a.output("losses", input.dtype());
        Tensor grad = a.output("grad", input.dtype());
        double loss = call.apply(losses, grad);
        return new Outputs().returned("loss", loss, input.dtype()).written("losses", losses).written("grad", grad);
    }

    private static Outputs crossEntropy(Args a, int threads) {
        Tensor input = a.tensor("input");
        CrossEntropy.Options o = classOptions(a, threads).withLabelSmoothing(a.doubleParam("label_smoothing"));
        Tensor losses = a.output("losses", input.dtype());
        Tensor grad = a.output("grad", input.dtype());
        double loss = CrossEntropy.crossEntropy(input, a.tensor("target"), o, losses, grad);
        return new Outputs().returned("loss", loss, input.dtype()).written("losses", losses).written("grad", grad);
    }

    private static Outputs nllLoss(Args a, int threads) {
        Tensor input = a.tensor("input");
        Tensor losses = a.output("losses", input.dtype());
        Tensor grad = a.output("grad", input.dtype());
        double loss = CrossEntropy.nllLoss(input, a.tensor("target"), classOptions(a, threads), losses, grad);
        return new Outputs().returned("loss", loss, input.dtype()).written("losses", losses).written("grad", grad);
    }

    private static Outputs binaryCrossEntropy(Args a, int threads) {
        Tensor input = a.tensor("input");
        Tensor target = a.tensor("target");
        BinaryCrossEntropy.Options o = BinaryCrossEntropy.Options.defaults()
                .withWeight(a.optionalTensor("weight"))
                .withReduction(Reduction.parse(a.stringParam("reduction")))
                .withThreads(threads);
        return lossesAndGrad(a, input, (l, g) -> BinaryCrossEntropy.binaryCrossEntropy(input, target, o, l, g));
    }

    private static Outputs binaryCrossEntropyWithLogits(Args a, int threads) {
        Tensor input = a.tensor("input");
        Tensor target = a.tensor("target");
        BinaryCrossEntropy.Options o = BinaryCrossEntropy.Options.defaults()
                .withWeight(a.optionalTensor("weight"))
                .withPosWeight(a.optionalTensor("pos_weight"))
                .withReduction(Reduction.parse(a.stringParam("reduction")))
                .withThreads(threads);
        return lossesAndGrad(a, input,
                (l, g) -> BinaryCrossEntropy.binaryCrossEntropyWithLogits(input, target, o, l, g));
    }

    private static Outputs sigmoidFocalLoss(Args a, int threads) {
        Tensor input = a.tensor("input");
        Tensor target = a.tensor("target");
        Focal.SigmoidOptions o = Focal.SigmoidOptions.defaults()
                .withAlpha(a.doubleParam("alpha"))
                .withGamma(a.doubleParam("gamma"))
                .withReduction(Reduction.parse(a.stringParam("reduction")))
                .withThreads(threads);
        return lossesAndGrad(a, input, (l, g) -> Focal.sigmoidFocalLoss(input, target, o, l, g));
    }

    private static Outputs softmaxFocalLoss(Args a, int threads) {
        Tensor input = a.tensor("input");
        Tensor target = a.tensor("target");
        Focal.SoftmaxOptions o = Focal.SoftmaxOptions.defaults()
                .withAlpha(a.optionalTensor("alpha"))
                .withGamma(a.doubleParam("gamma"))
                .withIgnoreIndex(a.longParam("ignore_index"))
                .withReduction(Reduction.parse(a.stringParam("reduction")))
                .withThreads(threads);
        return lossesAndGrad(a, input, (l, g) -> Focal.softmaxFocalLoss(input, target, o, l, g));
    }

    private static Outputs hinge(Args a, int threads) {
        Tensor input = a.tensor("input");
        Tensor target = a.tensor("target");
        Hinge.Options o = binaryHingeOptions(a, threads);
        return lossesAndGrad(a, input, (l, g) -> Hinge.hinge(input, target, o, l, g));
    }

    private static Outputs squaredHinge(Args a, int threads) {
        Tensor input = a.tensor("input");
        Tensor target = a.tensor("target");
        Hinge.Options o = binaryHingeOptions(a, threads);
        return lossesAndGrad(a, input, (l, g) -> Hinge.squaredHinge(input, target, o, l, g));
    }

    /** hinge's and squared_hinge's options: margin, labels (auto, zero_one, plus_minus_one), reduction. */
    private static Hinge.Options binaryHingeOptions(Args a, int threads) {
        String labels = a.stringParam("labels");
        Hinge.Labels rule = switch (labels) {
            case "auto" -> Hinge.Labels.AUTO;
            case "zero_one" -> Hinge.Labels.ZERO_ONE;
            case "plus_minus_one" -> Hinge.Labels.PLUS_MINUS_ONE;
            default -> throw new IllegalArgumentException("param labels '" + labels + "' is not auto, zero_one or"
                    + " plus_minus_one");
        };
        return Hinge.Options.defaults()
                .withMargin(a.doubleParam("margin"))
                .withLabels(rule)
                .withReduction(Reduction.parse(a.stringParam("reduction")))
                .withThreads(threads);
    }

    private static Outputs multiMarginLoss(Args a, int threads) {
        Tensor input = a.tensor("input");
        Tensor target = a.tensor("target");
        Hinge.Options o = Hinge.Options.defaults()
                .withP(Math.toIntExact(a.longParam("p")))
                .withMargin(a.doubleParam("margin"))
                .withWeight(a.optionalTensor("weight"))
                .withReduction(Reduction.parse(a.stringParam("reduction")))
                .withThreads(threads);
        return lossesAndGrad(a, input, (l, g) -> Hinge.multiMarginLoss(input, target, o, l, g));
    }

    private static Outputs categoricalHinge(Args a, int threads) {
        Tensor input = a.tensor("input");
        Tensor target = a.tensor("target");
        Hinge.Options o = Hinge.Options.defaults()
                .withMargin(a.doubleParam("margin"))
                .withReduction(Reduction.parse(a.stringParam("reduction")))
                .withThreads(threads);
        return lossesAndGrad(a, input, (l, g) -> Hinge.categoricalHinge(input, target, o, l, g));
    }

    private static Outputs klDiv(Args a, int threads) {
        Tensor input = a.tensor("input");
        Tensor target = a.tensor("target");
        KlDiv.Options o = KlDiv.Options.defaults()
                .withLogTarget(a.booleanParam("log_target"))
                .withReduction(Reduction.parse(a.stringParam("reduction")))
                .withThreads(threads);
        return lossesAndGrad(a, input, (l, g) -> KlDiv.klDiv(input, target, o, l, g));
    }

    /** Class counts and weights (LOSSES.md 9): both float64 outputs, the counts exact. */
    private static Outputs classWeights(Args a, int threads) {
        Tensor target = a.tensor("target");
        int c = Math.toIntExact(a.longParam("num_classes"));
        ClassWeights.Options o = ClassWeights.Options.defaults()
                .withBeta(a.doubleParam("beta"))
                .withIgnoreIndex(a.longParam("ignore_index"))
                .withThreads(threads);
        ClassWeights.Scheme scheme = ClassWeights.Scheme.parse(a.stringParam("scheme"));
        long[] counts = ClassWeights.counts(target, c, o);
        double[] asDouble = Arrays.stream(counts).asDoubleStream().toArray();
        return new Outputs().written("counts", Tensor.of(asDouble, c))
                .written("weights", Tensor.of(ClassWeights.weights(counts, scheme, o), c));
    }

    /** smp's LovaszLoss: mode, per_image, ignore_index (absent: none), from_logits; the loss and its gradient. */
    private static Outputs lovaszLoss(Args a, int threads) {
        Tensor input = a.tensor("input");
        SegmentationMode mode = SegmentationMode.valueOf(a.stringParam("mode").toUpperCase(Locale.ROOT));
        Lovasz.Options o = Lovasz.Options.defaults(mode)
                .withPerImage(a.booleanParam("per_image"))
                .withFromLogits(a.booleanParam("from_logits"))
                .withThreads(threads);
        if (a.hasParam("ignore_index")) {
            o = o.withIgnoreIndex(a.longParam("ignore_index"));
        }
        Tensor grad = a.output("grad", input.dtype());
        double loss = Lovasz.lovaszLoss(input, a.tensor("target"), o, grad);
        return new Outputs().returned("loss", loss, input.dtype()).written("grad", grad);
    }

    /** The options cross_entropy and nll_loss share: weight, ignore_index, reduction. */
    private static CrossEntropy.Options classOptions(Args a, int threads) {
        return CrossEntropy.Options.defaults()
                .withWeight(a.optionalTensor("weight"))
                .withIgnoreIndex(a.longParam("ignore_index"))
                .withReduction(Reduction.parse(a.stringParam("reduction")))
                .withThreads(threads);
    }

    // ---------------------------------------------------------------------------------------
    // The golden cases

    @TestFactory
    Stream<DynamicNode> golden() {
        return goldenFiles().stream().map(file -> {
            String source = file.getFileName().toString();
            List<Case> cases;
            try {
                cases = read(file);
            } catch (GoldenFile.FormatException e) {
                return DynamicTest.dynamicTest(source, () -> {
                    throw e;
                });
            }
            if (cases.isEmpty()) {
                return DynamicTest.dynamicTest(source, () -> fail(source + " holds no case"));
            }
            return DynamicContainer.dynamicContainer(source,
                    cases.stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> check(c))));
        });
    }

    /** Case names identify a case in failure reports and in the script: unique over all files. */
    @Test
    void caseNamesAreUniqueOverAllFiles() {
        Map<String, String> seen = new HashMap<>();
        for (Path file : goldenFiles()) {
            for (Case c : read(file)) {
                String before = seen.put(c.name(), c.where());
                assertNull(before, "golden case " + c.name() + " at " + c.where() + " and at " + before);
            }
        }
    }

    /** A binding without cases would be an untested entry: every op of {@link #OPS} has some. */
    @Test
    void everyOpHasCases() {
        TreeSet<String> untested = new TreeSet<>(OPS.keySet());
        for (Path file : goldenFiles()) {
            read(file).forEach(c -> untested.remove(c.op()));
        }
        assertTrue(untested.isEmpty(), "ops of GoldenTest.OPS without golden cases: " + untested);
    }

    /**
     * Every file of the golden folder (there is no list to keep up to date); anything but a
     * {@code .txt} file there is an error, not silently skipped.
     */
    static List<Path> goldenFiles() {
        URL url = GoldenTest.class.getResource("golden");
        if (url == null || !url.getProtocol().equals("file")) {
            fail("the golden folder dev/vecloss/golden is not a directory on the test class path: " + url);
        }
        try (Stream<Path> s = Files.list(Path.of(url.toURI()))) {
            List<Path> files = s.sorted().toList();
            for (Path f : files) {
                if (!Files.isRegularFile(f) || !f.getFileName().toString().endsWith(".txt")) {
                    fail("unexpected " + f + " in the golden folder: it holds only the OP.txt files of make_golden.py");
                }
            }
            if (files.isEmpty()) {
                fail("the golden folder " + url + " is empty");
            }
            return files;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<Case> read(Path file) {
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            return GoldenFile.parse(file.getFileName().toString(), r);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void check(Case c) {
        Binding op = OPS.get(c.op());
        if (op == null) {
            fail("golden case " + c.name() + " (" + c.where() + "): unknown op '" + c.op() + "' (GoldenTest.OPS has "
                    + new TreeSet<>(OPS.keySet()) + ")");
        }
        Args args = c.args();
        Outputs one = call(c, op, args, 1);
        List<String> unread = args.unread();
        if (!unread.isEmpty()) {
            fail("golden case " + c.name() + " (" + c.where() + "): op " + c.op() + " does not read " + unread
                    + " (unknown to its binding in GoldenTest.OPS, so it would go untested)");
        }
        if (!one.values.keySet().equals(c.expected().keySet())) {
            fail("golden case " + c.name() + " (" + c.where() + "): expects " + c.expected().keySet() + ", op "
                    + c.op() + " produces " + one.values.keySet());
        }
        Outputs two = call(c, op, c.args(), 2);
        assertBitIdentical(c, one, two);

        List<String> failures = new ArrayList<>();
        c.expected().forEach((name, e) -> {
            Actual a = one.values.get(name);
            if (!Arrays.equals(e.shape(), a.shape())) {
                failures.add(name + ": shape " + Arrays.toString(a.shape()) + ", expected " + Arrays.toString(e.shape()));
            } else {
                compare(failures, name, e.shape().length == 0, a.tolerance(), e.doubles(), a.values());
            }
        });
        if (!failures.isEmpty()) {
            StringBuilder m = new StringBuilder("golden case ").append(c.name()).append(" (").append(c.describe())
                    .append(") differs from PyTorch:");
            failures.forEach(f -> m.append("\n  ").append(f));
            if (c.torchFloat32Loss() != null) {
                m.append("\n  (PyTorch's own float32 loss: ").append(c.torchFloat32Loss()).append(')');
            }
            if (c.deviation() != null) {
                m.append("\n  (expected values deviate from PyTorch on purpose: ").append(c.deviation()).append(')');
            }
            fail(m.toString());
        }
    }

    /** Calls {@code op}; an exception from the library (bad shape, ...) is reported with the case's name. */
    private static Outputs call(Case c, Binding op, Args args, int threads) {
        try {
            return op.call(args, threads);
        } catch (RuntimeException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("golden case ")) {
                throw e; // from Args: names the case already
            }
            throw new AssertionError("golden case " + c.name() + " (" + c.where() + "): op " + c.op() + " threw " + e, e);
        }
    }

    /**
     * Adds to {@code failures} one line naming the worst element of {@code what} if any element
     * is out of tolerance, or if the NaN positions differ.
     */
    private static void compare(List<String> failures, String what, boolean scalar, Tolerance tol, double[] expected,
            double[] actual) {
        int worst = -1;
        double worstScore = 0;
        for (int i = 0; i < expected.length; i++) {
            double score = tol.score(expected[i], actual[i]);
            if (worst < 0 || score > worstScore || Double.isNaN(score) && !Double.isNaN(worstScore)) {
                worst = i;
                worstScore = score;
            }
        }
        if (worst >= 0 && !(worstScore <= 1)) {
            double e = expected[worst], a = actual[worst];
            failures.add(String.format(Locale.ROOT,
                    "%s: expected %s, got %s; abs error %.3g, rel error %.3g (tolerance %s)",
                    scalar ? what : what + "[" + worst + "]", e, a, Math.abs(a - e), Math.abs(a - e) / Math.abs(e), tol));
        }
    }

    private static void assertBitIdentical(Case c, Outputs one, Outputs two) {
        one.values.forEach((name, a) -> {
            long[] b1 = rawBits(a.values());
            long[] b2 = rawBits(two.values.get(name).values());
            assertTrue(Arrays.equals(b1, b2), c.name() + ": 1 and 2 threads differ in " + name
                    + (b1.length == 1 ? ": " + a.values()[0] + " vs " + two.values.get(name).values()[0] : ""));
        });
    }

    private static long[] rawBits(double[] v) {
        return Arrays.stream(v).mapToLong(Double::doubleToRawLongBits).toArray();
    }

    /** One output of a call, widened to double, with the tolerance it is checked with. */
    record Actual(long[] shape, double[] values, Tolerance tolerance) {}

    /** The outputs of one call by name, as the bindings return them. */
    static final class Outputs {
        final Map<String, Actual> values = new LinkedHashMap<>();

        /** A reduced value the call returned (0-d), computed at {@code precision}. */
        Outputs returned(String name, double value, DType precision) {
            return put(name, new Actual(new long[0], new double[] {value},
                    precision == DType.FLOAT64 ? FLOAT64 : FLOAT32_REDUCED));
        }

        /** A tensor the call wrote, element by element in its dtype. */
        Outputs written(String name, Tensor t) {
            return put(name, new Actual(t.shape(), t.toDoubleArray(), t.dtype() == DType.FLOAT64 ? FLOAT64 : FLOAT32_ELEMENT));
        }

        private Outputs put(String name, Actual a) {
            if (values.put(name, a) != null) {
                throw new IllegalStateException("output " + name + " given twice");
            }
            return this;
        }
    }

    /**
     * A tolerance {@code |actual - expected| <= max(relative * |expected|, absolute)}; NaN only
     * matches NaN and an infinity only itself.
     */
    record Tolerance(double relative, double absolute) {
        static Tolerance relative(double r) {
            return new Tolerance(r, 0);
        }

        Tolerance orAbsolute(double a) {
            return new Tolerance(relative, a);
        }

        /** The error in units of the tolerance: at most 1 passes; NaN for a NaN or infinity mismatch. */
        double score(double expected, double actual) {
            if (Double.isNaN(expected) || Double.isNaN(actual) || Double.isInfinite(expected)
                    || Double.isInfinite(actual)) {
                return Double.compare(expected, actual) == 0 ? 0 : Double.NaN;
            }
            return Math.abs(actual - expected) / Math.max(relative * Math.abs(expected), absolute);
        }

        @Override
        public String toString() {
            return "relative " + relative + " or absolute " + absolute;
        }
    }

    // ---------------------------------------------------------------------------------------
    // The parser and the checks themselves

    private static final String HEADER = GoldenFile.PROVENANCE + "2.13.0+cpu (test)\n" + GoldenFile.FORMAT;

    /** A well-formed file with one nll_loss case: 2 positions, C = 3, the second ignored. */
    private static final String NLL_CASE = """
            case nll_tiny
            op nll_loss
            note a comment-free case
            tensor input float32 2 3 : -1.5 -0.25 nan 0.5 -2.0 inf
            tensor target int64 2 : 1 -100
            param ignore_index -100
            param reduction sum
            expect loss : 0.25
            expect losses 2 : 0.25 0.0
            expect grad 2 3 : 0.0 -1.0 0.0 0.0 0.0 0.0
            end
            """;

    private static List<Case> parseCases(String body, int count) {
        return GoldenFile.parse("t.txt", HEADER + count + " cases\n\n# a comment\n" + body);
    }

    @Test
    void wellFormedFileParses() {
        List<Case> cases = parseCases(NLL_CASE.replace("sum", "none") + """

                case ce_empty
                op cross_entropy
                tensor input float64 0 4 :
                tensor target int32 0 :
                param label_smoothing 0.1
                expect loss : nan
                torch_float32_loss -inf
                end
                """, 2);
        assertEquals(2, cases.size());
        Case c = cases.get(0);
        assertEquals("nll_tiny", c.name());
        assertEquals("t.txt:5", c.where());
        assertEquals("nll_loss", c.op());
        assertEquals("a comment-free case", c.note());
        assertEquals(List.of("input", "target"), List.copyOf(c.tensors().keySet()));
        GoldenFile.Values in = c.tensors().get("input");
        assertEquals(DType.FLOAT32, in.dtype());
        assertTrue(Arrays.equals(new long[] {2, 3}, in.shape()));
        assertTrue(Double.isNaN(in.doubles()[2]));
        assertEquals(Double.POSITIVE_INFINITY, in.doubles()[5]);
        assertTrue(Arrays.equals(new long[] {1, -100}, c.tensors().get("target").longs()));
        assertEquals(Map.of("ignore_index", "-100", "reduction", "none"), c.params());
        assertTrue(Arrays.equals(new long[0], c.expected().get("loss").shape()));
        assertNull(c.torchFloat32Loss());
        Case e = cases.get(1);
        assertTrue(Arrays.equals(new long[] {0, 4}, e.tensors().get("input").shape()));
        assertEquals(0, e.tensors().get("target").numel());
        assertEquals(DType.INT32, e.tensors().get("target").toTensor().dtype());
        assertEquals("-inf", e.torchFloat32Loss());

        Args a = c.args();
        assertEquals(-100, a.longParam("ignore_index"));
        assertTrue(Arrays.equals(new long[] {2}, a.output("losses", DType.FLOAT32).shape()));
        assertEquals(List.of("tensor input", "tensor target", "param reduction"), a.unread());
    }

    /** Each malformed file fails with its source, line, what is wrong and (inside a case) the case. */
    @Test
    void malformedFileFailsClearly() {
        String ok = NLL_CASE;
        Object[][] broken = {
            // text, line, part of the message
            {"no header\n", 1, "no provenance line"},
            {GoldenFile.PROVENANCE + "x\ncase a\n", 2, "another format"},
            {HEADER + "1 cases\ninput_dtype float64\n", 3, "unknown line 'input_dtype'"},
            {HEADER + "1 cases\nop nll_loss\n", 3, "'op' outside a case"},
            {HEADER + "1 cases\n" + ok.replace("-1.5 -0.25 nan", "-1.5 -0.25"), 6, "needs 6 values, the line has 5"},
            {HEADER + "1 cases\n" + ok.replace("float32 2 3 :", "float32 2 3"), 6, "expected 'tensor NAME DTYPE"},
            {HEADER + "1 cases\n" + ok.replace("float32 2 3", "float16 2 3"), 6, "unknown dtype 'float16'"},
            {HEADER + "1 cases\n" + ok.replace("-0.25", "0.1"), 6, "0.1 is not a float32 value"},
            {HEADER + "1 cases\n" + ok.replace("-0.25", "NaN"), 6, "'NaN' is not a float"},
            {HEADER + "1 cases\n" + ok.replace("1 -100", "1 x"), 7, "'x' is not an integer"},
            {HEADER + "1 cases\n" + ok.replace("int64 2 : 1 -100", "uint8 2 : 1 256"), 7, "out of the range of uint8"},
            {HEADER + "1 cases\n" + ok.replace("expect loss : 0.25", "expect loss 1 : 0.25 0.5"), 10, "needs 1 values"},
            {HEADER + "1 cases\n" + ok.replace("param reduction sum", "param reduction"), 9, "expected 'param NAME VALUE'"},
            {HEADER + "1 cases\n" + ok.replace("param reduction sum", "param ignore_index 3"), 9, "second argument named ignore_index"},
            {HEADER + "1 cases\n" + ok.replace("param reduction sum", "param target 3"), 9, "second argument named target"},
            {HEADER + "1 cases\n" + ok.replace("op nll_loss\n", ""), 12, "no 'op' line"},
            {HEADER + "1 cases\n" + ok.replace("end\n", ""), 12, "the file ends inside the case"},
            {HEADER + "2 cases\n" + ok + ok, 14, "second case named nll_tiny"},
            {HEADER + "2 cases\n" + ok, 13, "the header declares 2 cases, the file holds 1"},
        };
        for (Object[] b : broken) {
            String text = (String) b[0];
            GoldenFile.FormatException e = assertThrows(GoldenFile.FormatException.class,
                    () -> GoldenFile.parse("t.txt", text), () -> "accepted:\n" + text);
            String m = e.getMessage();
            assertTrue(m.startsWith("t.txt:" + b[1] + ": ") && m.contains((String) b[2]),
                    "message '" + m + "', expected t.txt:" + b[1] + " and '" + b[2] + "'");
            if ((int) b[1] > 4 && !m.contains("outside") && !m.contains("declares")) {
                assertTrue(m.contains("(in case nll_tiny)"), m);
            }
        }
    }

    /** The checks on a well-formed case: unknown op, unread or missing argument, missing output. */
    @Test
    void caseThatDoesNotFitItsOpFailsNamingIt() {
        Map<String, String> broken = new LinkedHashMap<>();
        broken.put(NLL_CASE.replace("op nll_loss", "op nll_los"), "unknown op 'nll_los'");
        broken.put(NLL_CASE.replace("param reduction sum", "param reduction sum\nparam label_smoothing 0.0"),
                "does not read [param label_smoothing]");
        broken.put(NLL_CASE.replace("tensor target int64 2 : 1 -100\n", ""), "needs tensor 'target'");
        broken.put(NLL_CASE.replace("param reduction sum\n", ""), "needs param 'reduction'");
        broken.put(NLL_CASE.replace("expect losses 2 : 0.25 0.0\n", ""), "no expect line for it");
        broken.put(NLL_CASE.replace("expect loss : 0.25\n", ""), "expects [losses, grad], op nll_loss produces");
        broken.put(NLL_CASE.replace("expect loss : 0.25", "expect loss : 0.5"), "loss: expected 0.5, got 0.25");
        broken.put(NLL_CASE.replace("0.0 -1.0 0.0 0.0", "0.0 nan 0.0 0.0"), "grad[1]: expected NaN, got -1.0");
        broken.put(NLL_CASE.replace("expect loss : 0.25", "expect loss 1 : 0.25"), "loss: shape [], expected [1]");
        broken.put(NLL_CASE.replace("expect grad 2 3 :", "expect grad 3 2 :"), "op nll_loss threw java.lang.IllegalArgumentException");
        broken.forEach((text, message) -> {
            Case c = parseCases(text, 1).getFirst();
            Throwable t = assertThrows(Throwable.class, () -> check(c), () -> "passed: " + message);
            assertTrue(t.getMessage().contains("golden case nll_tiny") && t.getMessage().contains(message),
                    "message '" + t.getMessage() + "', expected '" + message + "'");
        });
        check(parseCases(NLL_CASE, 1).getFirst()); // and the unbroken case passes
    }
}
