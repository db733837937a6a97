package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Compares {@link CrossEntropy} with golden values computed by PyTorch: one dynamic test per
 * case of {@code src/test/resources/dev/vecloss/golden/*.txt}. The files, their format and
 * their provenance come from {@code tools/golden/make_golden.py}; regenerate them with it, never
 * by hand.
 *
 * <p>Every case is run with 1 and with 2 threads; the two runs must give the same bits (the
 * library's determinism promise), and the first is compared with the reference:
 * <ul>
 *   <li>NaN where the reference is NaN, and only there; infinities exactly;</li>
 *   <li>float64 inputs: {@link #FLOAT64}, the scalar kernels compute in double, so only the
 *       rounding differences of two double evaluations (PyTorch's {@code log_softmax} and the
 *       library's {@code log1p} form) remain;</li>
 *   <li>float32 inputs, against PyTorch's float64 result on the same float32 numbers:
 *       {@link #FLOAT32_REDUCED} for the returned value and {@link #FLOAT32_ELEMENT} for
 *       per-position losses and gradients, which are stored as float32.</li>
 * </ul>
 */
class GoldenTest {

    /** The golden files, in {@code dev/vecloss/golden/} on the test class path. */
    private static final List<String> FILES = List.of("cross_entropy.txt", "nll_loss.txt");

    /** Double against double: a few ulps of the result, or absolutely tiny near zero. */
    static final Tolerance FLOAT64 = Tolerance.relative(1e-12).orAbsolute(1e-15);

    /** A float32 input's reduced result, accumulated in double: the issue's budget. */
    static final Tolerance FLOAT32_REDUCED = Tolerance.relative(2e-6).orAbsolute(1e-9);

    /** A float32 input's per-position loss or gradient element, rounded to float32 on output. */
    static final Tolerance FLOAT32_ELEMENT = Tolerance.relative(1e-5).orAbsolute(1e-7);

    @TestFactory
    Stream<DynamicNode> golden() {
        return FILES.stream().map(file -> {
            List<GoldenCase> cases = GoldenCase.parse(file);
            assertTrue(!cases.isEmpty(), file + " holds no case");
            return DynamicContainer.dynamicContainer(file,
                    cases.stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> check(c))));
        });
    }

    private static void check(GoldenCase c) {
        Result one = c.run(1);
        Result two = c.run(2);
        assertBitIdentical(c, one, two);

        boolean f64 = c.inputDtype() == DType.FLOAT64;
        Tolerance reduced = f64 ? FLOAT64 : FLOAT32_REDUCED;
        Tolerance element = f64 ? FLOAT64 : FLOAT32_ELEMENT;
        List<String> failures = new ArrayList<>();
        compare(failures, "loss", reduced, new double[] {c.doubles("expected_loss")[0]}, new double[] {one.value()});
        compare(failures, "losses", element, c.doubles("expected_losses"), one.losses());
        compare(failures, "grad", element, c.doubles("expected_grad"), one.grad());
        if (!failures.isEmpty()) {
            StringBuilder m = new StringBuilder("golden case ").append(c.name()).append(" (")
                    .append(c.get("op")).append(", ").append(c.inputDtype()).append(", reduction ")
                    .append(c.get("reduction")).append(") differs from PyTorch:");
            failures.forEach(f -> m.append("\n  ").append(f));
            if (c.has("torch_float32_loss")) {
                m.append("\n  (PyTorch's own float32 loss: ").append(c.get("torch_float32_loss")).append(')');
            }
            if (c.has("deviation")) {
                m.append("\n  (expected values deviate from PyTorch on purpose: ").append(c.get("deviation")).append(')');
            }
            fail(m.toString());
        }
    }

    /**
     * Adds to {@code failures} one line naming the worst element of {@code what} if any element
     * is out of tolerance, or if the NaN positions differ.
     */
    private static void compare(List<String> failures, String what, Tolerance tol, double[] expected, double[] actual) {
        if (expected.length != actual.length) {
            failures.add(what + ": " + expected.length + " expected values, " + actual.length + " computed");
            return;
        }
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
                    "%s[%d]: expected %s, got %s; abs error %.3g, rel error %.3g (tolerance %s)",
                    what, worst, e, a, Math.abs(a - e), Math.abs(a - e) / Math.abs(e), tol));
        }
    }

    private static void assertBitIdentical(GoldenCase c, Result one, Result two) {
        String msg = c.name() + ": 1 and 2 threads differ in ";
        assertEquals(Double.doubleToRawLongBits(one.value()), Double.doubleToRawLongBits(two.value()),
                msg + "the returned value " + one.value() + " vs " + two.value());
        assertTrue(Arrays.equals(rawBits(one.losses()), rawBits(two.losses())), msg + "losses");
        assertTrue(Arrays.equals(rawBits(one.grad()), rawBits(two.grad())), msg + "grad");
    }

    private static long[] rawBits(double[] v) {
        return Arrays.stream(v).mapToLong(Double::doubleToRawLongBits).toArray();
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

    /** What one call returned and wrote, widened to double. */
    record Result(double value, double[] losses, double[] grad) {}

    /** One {@code case ... end} block: its lines by key (the first token), values unparsed. */
    record GoldenCase(String name, Map<String, String> fields) {

        boolean has(String key) {
            return fields.containsKey(key);
        }

        String get(String key) {
            String v = fields.get(key);
            if (v == null) {
                throw new IllegalStateException("golden case " + name + " has no '" + key + "' line");
            }
            return v;
        }

        DType inputDtype() {
            return dtype(get("input_dtype"));
        }

        double[] doubles(String key) {
            String[] t = tokens(key);
            double[] v = new double[t.length];
            for (int i = 0; i < t.length; i++) {
                v[i] = switch (t[i]) {
                    case "nan" -> Double.NaN;
                    case "inf" -> Double.POSITIVE_INFINITY;
                    case "-inf" -> Double.NEGATIVE_INFINITY;
                    default -> Double.parseDouble(t[i]); // Python's repr: the exact double
                };
            }
            return v;
        }

        long[] longs(String key) {
            return Arrays.stream(tokens(key)).mapToLong(Long::parseLong).toArray();
        }

        private String[] tokens(String key) {
            String v = get(key).strip();
            return v.isEmpty() ? new String[0] : v.split("\\s+");
        }

        /** Runs the case on {@code threads} threads with fresh output tensors. */
        Result run(int threads) {
            DType dt = inputDtype();
            long[] inShape = longs("input_shape");
            long[] tShape = longs("target_shape");
            Tensor input = floating(doubles("input"), dt, inShape);
            DType tdt = dtype(get("target_dtype"));
            Tensor target = tdt.isFloating() ? floating(doubles("target"), tdt, tShape) : index(longs("target"), tdt, tShape);
            // Per-position losses have the shape of the input without the class axis.
            long[] lShape = inShape.length == 1 ? new long[0] : positionShape(inShape);
            int positions = Math.toIntExact(Arrays.stream(lShape).reduce(1, Math::multiplyExact));
            int numel = Math.toIntExact(Arrays.stream(inShape).reduce(1, Math::multiplyExact));
            Tensor losses = floating(new double[positions], dt, lShape);
            Tensor grad = floating(new double[numel], dt, inShape);

            CrossEntropy.Options o = CrossEntropy.Options.defaults()
                    .withIgnoreIndex(Long.parseLong(get("ignore_index").strip()))
                    .withReduction(Reduction.parse(get("reduction").strip()))
                    .withThreads(threads);
            if (has("weight")) {
                o = o.withWeight(floating(doubles("weight"), dt, inShape.length == 1 ? inShape[0] : inShape[1]));
            }
            double eps = doubles("label_smoothing")[0];
            double value = switch (get("op").strip()) {
                case "cross_entropy" -> CrossEntropy.crossEntropy(input, target, o.withLabelSmoothing(eps), losses, grad);
                case "nll_loss" -> {
                    assertEquals(0.0, eps, name + ": nll_loss has no label smoothing");
                    yield CrossEntropy.nllLoss(input, target, o, losses, grad);
                }
                default -> throw new IllegalStateException(name + ": unknown op " + get("op"));
            };
            return new Result(value, losses.toDoubleArray(), grad.toDoubleArray());
        }

        private static long[] positionShape(long[] in) {
            long[] t = new long[in.length - 1];
            t[0] = in[0];
            System.arraycopy(in, 2, t, 1, in.length - 2);
            return t;
        }

        // Tensor.of(MemorySegment, ...) rather than Tensor.of(double[], shape): the array forms
        // read an empty shape as "1-D of the array's length", and a 0-d tensor is needed here.
        private static Tensor floating(double[] v, DType dt, long... shape) {
            if (dt == DType.FLOAT64) {
                return Tensor.of(MemorySegment.ofArray(v.clone()), dt, shape);
            }
            float[] f = new float[v.length];
            for (int i = 0; i < v.length; i++) {
                f[i] = (float) v[i];
                if (f[i] != v[i] && !Double.isNaN(v[i])) {
                    throw new IllegalStateException("float32 golden value " + v[i] + " is not a float");
                }
            }
            return Tensor.of(MemorySegment.ofArray(f), dt, shape);
        }

        private static Tensor index(long[] v, DType dt, long... shape) {
            return switch (dt) {
                case INT64 -> Tensor.of(MemorySegment.ofArray(v), dt, shape);
                case INT32 -> Tensor.of(MemorySegment.ofArray(Arrays.stream(v).mapToInt(Math::toIntExact).toArray()),
                        dt, shape);
                case UINT8 -> {
                    byte[] b = new byte[v.length];
                    for (int i = 0; i < v.length; i++) {
                        if (v[i] < 0 || v[i] > 255) {
                            throw new IllegalStateException("uint8 golden target " + v[i]);
                        }
                        b[i] = (byte) v[i];
                    }
                    yield Tensor.of(MemorySegment.ofArray(b), dt, shape);
                }
                default -> throw new IllegalStateException("index target dtype " + dt);
            };
        }

        private static DType dtype(String name) {
            return switch (name.strip()) {
                case "float32" -> DType.FLOAT32;
                case "float64" -> DType.FLOAT64;
                case "int64" -> DType.INT64;
                case "int32" -> DType.INT32;
                case "uint8" -> DType.UINT8;
                default -> throw new IllegalStateException("unknown dtype " + name);
            };
        }

        /** The cases of {@code dev/vecloss/golden/file}, checking its provenance line. */
        static List<GoldenCase> parse(String file) {
            String resource = "golden/" + file;
            try (InputStream in = GoldenTest.class.getResourceAsStream(resource)) {
                if (in == null) {
                    throw new IllegalStateException("missing test resource dev/vecloss/" + resource);
                }
                BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
                String first = r.readLine();
                if (first == null || !first.startsWith("# generated by tools/golden/make_golden.py with torch ")) {
                    throw new IllegalStateException(file + ": no provenance line, got " + first);
                }
                List<GoldenCase> cases = new ArrayList<>();
                String name = null;
                Map<String, String> fields = null;
                int lineNo = 1;
                for (String line; (line = r.readLine()) != null; ) {
                    lineNo++;
                    if (line.isBlank() || line.startsWith("#")) {
                        continue;
                    }
                    int sp = line.indexOf(' ');
                    String key = sp < 0 ? line : line.substring(0, sp);
                    String rest = sp < 0 ? "" : line.substring(sp + 1);
                    if (key.equals("case")) {
                        if (name != null) {
                            throw new IllegalStateException(file + ":" + lineNo + ": case " + name + " has no end");
                        }
                        name = rest.strip();
                        fields = new LinkedHashMap<>();
                    } else if (name == null) {
                        throw new IllegalStateException(file + ":" + lineNo + ": '" + key + "' outside a case");
                    } else if (key.equals("end")) {
                        cases.add(new GoldenCase(name, fields));
                        name = null;
                    } else if (fields.put(key, rest) != null) {
                        throw new IllegalStateException(file + ":" + lineNo + ": second '" + key + "' in " + name);
                    }
                }
                if (name != null) {
                    throw new IllegalStateException(file + ": case " + name + " has no end");
                }
                return cases;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
