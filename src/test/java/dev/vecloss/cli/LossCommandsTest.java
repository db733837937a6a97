package dev.vecloss.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.BinaryCrossEntropy;
import dev.vecloss.DType;
import dev.vecloss.Focal;
import dev.vecloss.Hinge;
import dev.vecloss.Kernels;
import dev.vecloss.KlDiv;
import dev.vecloss.Reduction;
import dev.vecloss.Tensor;
import dev.vecloss.npy.Npy;
import dev.vecloss.npy.NpyArray;
import dev.vecloss.npy.NpyFiles;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The binary, focal, margin and divergence losses' commands end to end, in-process through
 * {@link Main#run}: the printed value is the public API's on the same files to the last bit,
 * {@code --output} and {@code --grad} hold its float32 losses and gradient in PyTorch's shapes,
 * and every bad input is the error contract of {@link #fails} (status 2, one {@code vecloss: }
 * line, nothing on stdout, no file left behind or changed).
 */
class LossCommandsTest extends CliTestBase {
    /** Probabilities (6, 5) in (0, 1), float32. */
    Path probs;
    /** Soft binary targets (6, 5) in [0, 1], float32. */
    Path soft;
    /** Hard 0/1 labels (6, 5), float32. */
    Path zeroOne;
    /** Labels -1 and 1 (6, 5), float32. */
    Path plusMinus;
    /** Class indices (6), all in [0, C): multi_margin_loss has no ignore index. */
    Path valid;
    /** Per-class weights (C), float32. */
    Path classWeights;

    @BeforeEach
    void moreData() throws IOException {
        Random rnd = new Random(19);
        float[] p = new float[N * C];
        float[] s = new float[N * C];
        float[] h = new float[N * C];
        float[] pm = new float[N * C];
        for (int i = 0; i < p.length; i++) {
            p[i] = 0.02f + 0.96f * rnd.nextFloat();
            s[i] = i % 3 == 0 ? 0.25f : rnd.nextInt(2);
            h[i] = rnd.nextInt(2);
            pm[i] = 2 * h[i] - 1;
        }
        probs = NpyFiles.f32(dir.resolve("probs.npy"), p, N, C);
        soft = NpyFiles.f32(dir.resolve("soft.npy"), s, N, C);
        zeroOne = NpyFiles.f32(dir.resolve("zeroone.npy"), h, N, C);
        plusMinus = NpyFiles.f32(dir.resolve("plusminus.npy"), pm, N, C);
        valid = NpyFiles.i64(dir.resolve("valid.npy"), new long[] {0, 4, 2, 1, 3, 1}, N);
        classWeights = NpyFiles.f32(dir.resolve("cw.npy"), new float[] {0.5f, 1, 2, 1.5f, 0.25f}, C);
    }

    /** A public API call on tensors read from the files, with output buffers (or null). */
    @FunctionalInterface
    interface Api {
        double call(Tensor input, Tensor target, Tensor losses, Tensor grad);
    }

    /** The API's value, per-element (or per-position) losses and gradient. */
    record Expected(double value, float[] losses, float[] grad) {}

    /** The public API on the very same files, read as the CLI reads them, with float32 outputs. */
    static Expected api(Path input, Path target, long[] lossShape, Api api) throws IOException {
        try (Arena arena = Arena.ofShared(); NpyArray a = Npy.read(input); NpyArray b = Npy.read(target)) {
            Tensor losses = Tensor.allocate(arena, DType.FLOAT32, lossShape);
            Tensor grad = Tensor.allocate(arena, DType.FLOAT32, a.tensor().shape());
            // the scalar kernels: the CLI runs inputs as small as these on them (KernelChoice)
            double value = Kernels.callWith(Kernels.Implementation.SCALAR,
                    () -> api.call(a.tensor(), b.tensor(), losses, grad));
            return new Expected(value, losses.toFloatArray(), grad.toFloatArray());
        }
    }

    /**
     * Runs {@code args} with {@code --output} and {@code --grad} added and checks the whole
     * result: stdout (the value, or nothing for {@code none}), and both files' dtype, shape and
     * every bit against {@code e}.
     */
    void runAndCompare(List<String> args, boolean printed, Expected e, long[] lossShape, long[] gradShape)
            throws IOException {
        Path out = dir.resolve("out.npy");
        Path grad = dir.resolve("grad.npy");
        Files.deleteIfExists(out);
        Files.deleteIfExists(grad);
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of("--output", p(out), "--grad", p(grad)));
        assertSuccess(run(all.toArray(String[]::new)), printed ? e.value + "\n" : "");
        try (NpyArray lo = Npy.read(out); NpyArray gr = Npy.read(grad)) {
            assertEquals(DType.FLOAT32, lo.tensor().dtype());
            assertArrayEquals(lossShape, lo.tensor().shape());
            assertArrayEquals(e.losses, lo.tensor().toFloatArray());
            assertEquals(DType.FLOAT32, gr.tensor().dtype());
            assertArrayEquals(gradShape, gr.tensor().shape());
            assertArrayEquals(e.grad, gr.tensor().toFloatArray());
        }
    }

    static List<String> args(String command, Path input, Path target, String... more) {
        List<String> a = new ArrayList<>(List.of(command, "--input", p(input), "--target", p(target)));
        a.addAll(List.of(more));
        return a;
    }

    static final long[] NC = {N, C};
    static final long[] NS = {N};

    // ---- binary-cross-entropy ---------------------------------------------------------------------

    @Test
    void binaryCrossEntropyWithABroadcastWeightConvertedToTheInputsDtype() throws IOException {
        // a float64 (C) weight for a float32 input: converted, then broadcast over the rows
        Path w64 = NpyFiles.f64(dir.resolve("w64.npy"), new double[] {0.5, 1, 2, 1.5, 0.25}, C);
        BinaryCrossEntropy.Options o = BinaryCrossEntropy.Options.defaults()
                .withWeight(Tensor.of(new float[] {0.5f, 1, 2, 1.5f, 0.25f}, C));
        Expected e = api(probs, soft, NC, (a, b, l, g) -> BinaryCrossEntropy.binaryCrossEntropy(a, b, o, l, g));
        assertSuccess(run("binary-cross-entropy", "--input", p(probs), "--target", p(soft), "--weight", p(w64)),
                e.value + "\n");
        runAndCompare(args("binary-cross-entropy", probs, soft, "--weight", p(w64)), true, e, NC, NC);
        Expected sum = api(probs, soft, NC, (a, b, l, g) -> BinaryCrossEntropy.binaryCrossEntropy(a, b,
                BinaryCrossEntropy.Options.defaults().withReduction(Reduction.SUM), l, g));
        runAndCompare(args("binary-cross-entropy", probs, soft, "--reduction", "sum"), true, sum, NC, NC);
        Expected none = api(probs, soft, NC, (a, b, l, g) -> BinaryCrossEntropy.binaryCrossEntropy(a, b,
                BinaryCrossEntropy.Options.defaults().withReduction(Reduction.NONE), l, g));
        runAndCompare(args("binary-cross-entropy", probs, soft, "--reduction", "none"), false, none, NC, NC);
    }

    @Test
    void binaryCrossEntropyOnFloat64IsComputedInDouble() throws IOException {
        double[] p = new double[N * C];
        double[] y = new double[N * C];
        for (int i = 0; i < p.length; i++) {
            p[i] = 0.1 + 0.8 * i / p.length + 1e-10 * i; // not representable in float32
            y[i] = i % 2;
        }
        Path p64 = NpyFiles.f64(dir.resolve("p64.npy"), p, N, C);
        Path y64 = NpyFiles.f64(dir.resolve("y64.npy"), y, N, C);
        Expected e = api(p64, y64, NC, (a, b, l, g) -> BinaryCrossEntropy.binaryCrossEntropy(a, b,
                BinaryCrossEntropy.Options.defaults(), l, g));
        runAndCompare(args("binary-cross-entropy", p64, y64), true, e, NC, NC);
    }

    @Test
    void binaryCrossEntropyWithLogitsWeightAndPosWeight() throws IOException {
        // weight (N, 1): one per row; pos_weight (C): one per class, broadcast over the last axis
        Path w = NpyFiles.f32(dir.resolve("w.npy"), new float[] {1, 2, 0.5f, 1, 3, 0.25f}, N, 1);
        Path pw = NpyFiles.f32(dir.resolve("pw.npy"), new float[] {1, 4, 0.5f, 2, 1}, C);
        BinaryCrossEntropy.Options o = BinaryCrossEntropy.Options.defaults().withReduction(Reduction.SUM)
                .withWeight(Tensor.of(new float[] {1, 2, 0.5f, 1, 3, 0.25f}, N, 1))
                .withPosWeight(Tensor.of(new float[] {1, 4, 0.5f, 2, 1}, C));
        Expected e = api(x, soft, NC, (a, b, l, g) -> BinaryCrossEntropy.binaryCrossEntropyWithLogits(a, b, o, l, g));
        runAndCompare(args("binary-cross-entropy-with-logits", x, soft, "--weight", p(w), "--pos-weight", p(pw),
                "--reduction", "sum"), true, e, NC, NC);
        Expected mean = api(x, zeroOne, NC, (a, b, l, g) -> BinaryCrossEntropy.binaryCrossEntropyWithLogits(a, b,
                BinaryCrossEntropy.Options.defaults(), l, g));
        runAndCompare(args("binary-cross-entropy-with-logits", x, zeroOne), true, mean, NC, NC);
    }

    // ---- focal --------------------------------------------------------------------------------------

    @Test
    void sigmoidFocalLossDefaultsToNoneAsTorchvision() throws IOException {
        Expected none = api(x, zeroOne, NC, (a, b, l, g) -> Focal.sigmoidFocalLoss(a, b,
                Focal.SigmoidOptions.defaults(), l, g));
        runAndCompare(args("sigmoid-focal-loss", x, zeroOne), false, none, NC, NC);
        Focal.SigmoidOptions o = Focal.SigmoidOptions.defaults().withAlpha(-1).withGamma(0.5)
                .withReduction(Reduction.MEAN);
        Expected mean = api(x, soft, NC, (a, b, l, g) -> Focal.sigmoidFocalLoss(a, b, o, l, g));
        runAndCompare(args("sigmoid-focal-loss", x, soft, "--alpha", "-1", "--gamma", "0.5", "--reduction", "mean"),
                true, mean, NC, NC);
        assertSuccess(run("sigmoid-focal-loss", "--input", p(x), "--target", p(soft), "--alpha=-1", "--gamma=0.5",
                "--reduction=mean"), mean.value + "\n");
    }

    @Test
    void softmaxFocalLossWithAlphaIgnoreAndSum() throws IOException {
        // t has -100 at position 3: ignored by default
        Focal.SoftmaxOptions o = Focal.SoftmaxOptions.defaults().withGamma(1.5).withReduction(Reduction.SUM)
                .withAlpha(Tensor.of(new float[] {0.5f, 1, 2, 1.5f, 0.25f}, C));
        Expected e = api(x, t, NS, (a, b, l, g) -> Focal.softmaxFocalLoss(a, b, o, l, g));
        runAndCompare(args("softmax-focal-loss", x, t, "--weight", p(classWeights), "--gamma", "1.5",
                "--reduction", "sum"), true, e, NS, NC);
        assertEquals(0f, e.losses[3]);
        // ignore_index 2, and the mean (over the positions not ignored)
        Path t2 = NpyFiles.i32(dir.resolve("t2.npy"), new long[] {0, 4, 2, 2, 3, 1}, N);
        Expected mean = api(x, t2, NS, (a, b, l, g) -> Focal.softmaxFocalLoss(a, b,
                Focal.SoftmaxOptions.defaults().withIgnoreIndex(2), l, g));
        runAndCompare(args("softmax-focal-loss", x, t2, "--ignore-index", "2"), true, mean, NS, NC);
    }

    // ---- margins ------------------------------------------------------------------------------------

    @Test
    void hingeReadsZeroOneLabelsAsKeras() throws IOException {
        Expected e = api(x, zeroOne, NC, (a, b, l, g) -> Hinge.hinge(a, b,
                Hinge.Options.defaults().withMargin(0.5), l, g));
        runAndCompare(args("hinge", x, zeroOne, "--margin", "0.5"), true, e, NC, NC);
        // the same labels as -1 and 1: the same losses
        Expected pm = api(x, plusMinus, NC, (a, b, l, g) -> Hinge.hinge(a, b,
                Hinge.Options.defaults().withMargin(0.5), l, g));
        assertEquals(e.value, pm.value);
        runAndCompare(args("hinge", x, plusMinus, "--margin", "0.5"), true, e, NC, NC);
    }

    @Test
    void squaredHingeNoneAndSum() throws IOException {
        Hinge.Options o = Hinge.Options.defaults().withReduction(Reduction.NONE);
        Expected none = api(x, plusMinus, NC, (a, b, l, g) -> Hinge.squaredHinge(a, b, o, l, g));
        runAndCompare(args("squared-hinge", x, plusMinus, "--reduction", "none"), false, none, NC, NC);
        Expected sum = api(x, plusMinus, NC, (a, b, l, g) -> Hinge.squaredHinge(a, b,
                Hinge.Options.defaults().withReduction(Reduction.SUM).withMargin(2), l, g));
        runAndCompare(args("squared-hinge", x, plusMinus, "--reduction", "sum", "--margin", "2"), true, sum, NC, NC);
    }

    @Test
    void multiMarginLossWithPWeightAndMargin() throws IOException {
        Hinge.Options o = Hinge.Options.defaults().withP(2).withMargin(0.7)
                .withWeight(Tensor.of(new float[] {0.5f, 1, 2, 1.5f, 0.25f}, C));
        Expected e = api(x, valid, NS, (a, b, l, g) -> Hinge.multiMarginLoss(a, b, o, l, g));
        runAndCompare(args("multi-margin-loss", x, valid, "--p", "2", "--margin", "0.7", "--weight", p(classWeights)),
                true, e, NS, NC);
        Expected p1 = api(x, valid, NS, (a, b, l, g) -> Hinge.multiMarginLoss(a, b, Hinge.Options.defaults(), l, g));
        runAndCompare(args("multi-margin-loss", x, valid), true, p1, NS, NC);
        assertNotEquals(e.value, p1.value);
    }

    @Test
    void multiMarginLossOnOneSampleGivesAZeroDimensionalLoss() throws IOException {
        Path x1 = NpyFiles.f32(dir.resolve("x1.npy"), new float[] {0.5f, -1, 2, 0.25f, 1}, C);
        Path y1 = NpyFiles.i64(dir.resolve("y1.npy"), new long[] {2});
        Expected e = api(x1, y1, new long[0], (a, b, l, g) -> Hinge.multiMarginLoss(a, b,
                Hinge.Options.defaults().withReduction(Reduction.NONE), l, g));
        runAndCompare(args("multi-margin-loss", x1, y1, "--reduction", "none"), false, e, new long[0], new long[] {C});
    }

    // ---- kl-div -------------------------------------------------------------------------------------

    @Test
    void klDivBatchmeanOnThreeAxes() throws IOException {
        // (2, 3, 4): batchmean divides by 2, mean by 24
        float[] q = new float[24];
        float[] target = new float[24];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) -Math.abs(Math.sin(i + 1.0)) * 3;
            target[i] = i % 5 == 0 ? 0 : (float) Math.abs(Math.cos(i));
        }
        long[] shape = {2, 3, 4};
        Path xq = NpyFiles.f32(dir.resolve("q.npy"), q, shape);
        Path tt = NpyFiles.f32(dir.resolve("tt.npy"), target, shape);
        Expected batchmean = api(xq, tt, shape, (a, b, l, g) -> KlDiv.klDiv(a, b,
                KlDiv.Options.defaults().withReduction(Reduction.BATCHMEAN), l, g));
        runAndCompare(args("kl-div", xq, tt, "--reduction", "batchmean"), true, batchmean, shape, shape);
        Expected mean = api(xq, tt, shape, (a, b, l, g) -> KlDiv.klDiv(a, b, KlDiv.Options.defaults(), l, g));
        runAndCompare(args("kl-div", xq, tt), true, mean, shape, shape);
        assertEquals(batchmean.value / 12, mean.value, 1e-15 * Math.abs(mean.value));
    }

    @Test
    void klDivLogTargetIsAFlag() throws IOException {
        KlDiv.Options o = KlDiv.Options.defaults().withLogTarget(true).withReduction(Reduction.SUM);
        Expected log = api(x, probs, NC, (a, b, l, g) -> KlDiv.klDiv(a, b, o, l, g));
        Expected plain = api(x, probs, NC, (a, b, l, g) -> KlDiv.klDiv(a, b, o.withLogTarget(false), l, g));
        assertNotEquals(log.value, plain.value);
        String[] base = {"kl-div", "--input", p(x), "--target", p(probs), "--reduction", "sum"};
        // alone, before another option, at the end, before the command, with a value
        assertSuccess(run(concat(base, "--log-target")), log.value + "\n");
        assertSuccess(run("kl-div", "--log-target", "--input", p(x), "--target", p(probs), "--reduction", "sum"),
                log.value + "\n");
        assertSuccess(run("--log-target", "kl-div", "--input", p(x), "--target", p(probs), "--reduction", "sum"),
                log.value + "\n");
        assertSuccess(run(concat(base, "--log-target=true")), log.value + "\n");
        assertSuccess(run(concat(base, "--log-target", "true")), log.value + "\n");
        assertSuccess(run(concat(base, "--log-target=false")), plain.value + "\n");
        assertSuccess(run(concat(base, "--log-target", "false")), plain.value + "\n");
        assertSuccess(run(base), plain.value + "\n");
        runAndCompare(args("kl-div", x, probs, "--log-target", "--reduction", "sum"), true, log, NC, NC);
    }

    static String[] concat(String[] a, String... more) {
        List<String> all = new ArrayList<>(List.of(a));
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    @Test
    void threadCountDoesNotChangeAnyResult() throws IOException {
        // 40000 rows of 8: several chunks of Parallel's grain, for the elementwise and the row losses
        int n = 40_000, c = 8;
        Random rnd = new Random(23);
        float[] logit = new float[n * c];
        float[] prob = new float[n * c];
        float[] label = new float[n * c];
        long[] index = new long[n];
        for (int i = 0; i < logit.length; i++) {
            logit[i] = (float) (rnd.nextGaussian() * 3);
            prob[i] = 0.01f + 0.98f * rnd.nextFloat();
            label[i] = rnd.nextInt(2);
        }
        for (int i = 0; i < n; i++) {
            index[i] = rnd.nextInt(c);
        }
        Path xb = NpyFiles.f32(dir.resolve("xb.npy"), logit, n, c);
        Path pb = NpyFiles.f32(dir.resolve("pb.npy"), prob, n, c);
        Path yb = NpyFiles.f32(dir.resolve("yb.npy"), label, n, c);
        Path tb = NpyFiles.i64(dir.resolve("tb.npy"), index, n);
        List<List<String>> runs = List.of(
                args("binary-cross-entropy", pb, yb),
                args("binary-cross-entropy-with-logits", xb, yb),
                args("sigmoid-focal-loss", xb, yb, "--reduction", "sum"),
                args("softmax-focal-loss", xb, tb),
                args("hinge", xb, yb),
                args("squared-hinge", xb, yb, "--reduction", "sum"),
                args("multi-margin-loss", xb, tb, "--p", "2"),
                args("kl-div", xb, pb, "--reduction", "batchmean"));
        for (List<String> a : runs) {
            List<String> one = new ArrayList<>(a);
            one.addAll(List.of("--threads", "1", "--output", p(dir.resolve("o1.npy")), "--grad", p(dir.resolve("g1.npy"))));
            List<String> two = new ArrayList<>(a);
            two.addAll(List.of("--threads", "2", "--output", p(dir.resolve("o2.npy")), "--grad", p(dir.resolve("g2.npy"))));
            Run r1 = run(one.toArray(String[]::new));
            Run r2 = run(two.toArray(String[]::new));
            assertSuccess(r1, r2.out);
            assertFalse(r1.out.isEmpty(), a.get(0));
            assertArrayEquals(Files.readAllBytes(dir.resolve("o1.npy")), Files.readAllBytes(dir.resolve("o2.npy")), a.get(0));
            assertArrayEquals(Files.readAllBytes(dir.resolve("g1.npy")), Files.readAllBytes(dir.resolve("g2.npy")), a.get(0));
        }
    }

    @Test
    void softmaxFocalLossOnASpatialInput() throws IOException {
        // (N=2, C=3, H=2, W=3) logits, (2, 2, 3) uint8 labels with 255 ignored
        float[] v = new float[2 * 3 * 2 * 3];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) Math.sin(i * 0.7) * 3;
        }
        Path xs = NpyFiles.f32(dir.resolve("xs.npy"), v, 2, 3, 2, 3);
        Path ts = NpyFiles.u8(dir.resolve("ts.npy"), new long[] {0, 1, 2, 2, 1, 0, 1, 1, 0, 2, 255, 0}, 2, 2, 3);
        Expected e = api(xs, ts, new long[] {2, 2, 3}, (a, b, l, g) -> Focal.softmaxFocalLoss(a, b,
                Focal.SoftmaxOptions.defaults().withIgnoreIndex(255), l, g));
        runAndCompare(args("softmax-focal-loss", xs, ts, "--ignore-index", "255"), true, e, new long[] {2, 2, 3},
                new long[] {2, 3, 2, 3});
    }

    // ---- errors ---------------------------------------------------------------------------------------

    /** {@code args} with both outputs asked for: a failure must leave neither behind. */
    String[] withOutputs(List<String> args) {
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of("--output", out(), "--grad", grad()));
        return all.toArray(String[]::new);
    }

    @Test
    void shapeMismatchesNameBothShapes() throws IOException {
        Path narrow = NpyFiles.f32(dir.resolve("narrow.npy"), new float[N * (C - 1)], N, C - 1);
        for (String loss : List.of("binary-cross-entropy", "binary-cross-entropy-with-logits", "sigmoid-focal-loss",
                "hinge", "squared-hinge", "kl-div")) {
            Path input = loss.equals("binary-cross-entropy") ? probs : x;
            fails(withOutputs(args(loss, input, narrow)), "\\[6, 4\\]", "\\[6, 5\\]", "narrow\\.npy");
        }
        Path longer = NpyFiles.i64(dir.resolve("longer.npy"), new long[N + 1], N + 1);
        fails(withOutputs(args("softmax-focal-loss", x, longer)), "\\[7\\]", "\\[6, 5\\]", "longer\\.npy");
        fails(withOutputs(args("multi-margin-loss", x, longer)), "\\[7\\]", "\\[6, 5\\]", "longer\\.npy");
        Path pw = NpyFiles.f32(dir.resolve("pw.npy"), new float[N], N);
        fails(withOutputs(args("binary-cross-entropy-with-logits", x, zeroOne, "--pos-weight", p(pw))),
                "pos_weight", "\\[6\\]", "\\[6, 5\\]", "pw\\.npy");
        Path w3 = NpyFiles.f32(dir.resolve("w3.npy"), new float[3], 3);
        fails(withOutputs(args("binary-cross-entropy", probs, soft, "--weight", p(w3))), "weight", "\\[3\\]",
                "\\[6, 5\\]");
        fails(withOutputs(args("multi-margin-loss", x, valid, "--weight", p(w3))), "weight", "length", "w3\\.npy");
        fails(withOutputs(args("softmax-focal-loss", x, t, "--weight", p(w3))), "weight", "length", "w3\\.npy");
        // a float64 target for a float32 input is not converted (only weights are)
        Path y64 = NpyFiles.f64(dir.resolve("y64.npy"), new double[N * C], N, C);
        fails(withOutputs(args("hinge", x, y64)), "target", "float32", "float64", "y64\\.npy");
    }

    @Test
    void aProbabilityOutsideTheUnitIntervalIsNamedWithItsFlatIndex() throws IOException {
        float[] p = new float[N * C];
        java.util.Arrays.fill(p, 0.5f);
        p[7] = 1.5f;
        Path bad = NpyFiles.f32(dir.resolve("bad.npy"), p, N, C);
        fails(withOutputs(args("binary-cross-entropy", bad, soft)), "binary_cross_entropy", "input 1\\.5",
                "flat index 7", "outside \\[0, 1\\]", "bad\\.npy");
        float[] y = new float[N * C];
        y[12] = -0.5f;
        Path badTarget = NpyFiles.f32(dir.resolve("badtarget.npy"), y, N, C);
        fails(withOutputs(args("binary-cross-entropy", probs, badTarget)), "target -0\\.5", "flat index 12");
        p[7] = Float.NaN;
        Path nan = NpyFiles.f32(dir.resolve("nan.npy"), p, N, C);
        fails(withOutputs(args("binary-cross-entropy", nan, soft)), "NaN", "flat index 7");
    }

    @Test
    void aMultiMarginLabelOutOfRangeIsNamedWithItsIndex() throws IOException {
        Path bad = NpyFiles.i64(dir.resolve("bad.npy"), new long[] {0, 1, 2, 5, 3, 1}, N);
        fails(withOutputs(args("multi-margin-loss", x, bad)), "multi_margin_loss", "target 5", "flat index 3",
                "bad\\.npy");
        // there is no ignore index: -100 is out of range too
        fails(withOutputs(args("multi-margin-loss", x, t)), "target -100", "flat index 3");
        Path badFocal = NpyFiles.i64(dir.resolve("badfocal.npy"), new long[] {0, 1, 2, 3, 9, 1}, N);
        fails(withOutputs(args("softmax-focal-loss", x, badFocal)), "target 9", "flat index 4");
    }

    @Test
    void badOptionValuesNameTheOptionAndTheValidValues() throws IOException {
        fails(withOutputs(args("multi-margin-loss", x, valid, "--p", "3")), "--p", "'3'", "1, 2");
        fails(withOutputs(args("sigmoid-focal-loss", x, zeroOne, "--alpha", "2")), "--alpha", "\\[0, 1\\]", "-1",
                "torchvision", "2");
        fails(withOutputs(args("sigmoid-focal-loss", x, zeroOne, "--alpha", "-0.5")), "--alpha", "-0\\.5");
        fails(withOutputs(args("sigmoid-focal-loss", x, zeroOne, "--gamma", "-1")), "--gamma", "-1");
        fails(withOutputs(args("softmax-focal-loss", x, t, "--gamma", "NaN")), "--gamma", "NaN");
        fails(withOutputs(args("softmax-focal-loss", x, t, "--gamma", "two")), "--gamma", "not a number");
        fails(withOutputs(args("hinge", x, plusMinus, "--margin", "1x")), "--margin", "not a number");
        for (String loss : List.of("hinge", "squared-hinge", "multi-margin-loss", "binary-cross-entropy",
                "sigmoid-focal-loss", "softmax-focal-loss")) {
            fails(withOutputs(args(loss, x, t, "--reduction", "batchmean")), "--reduction", "'batchmean'",
                    "mean, sum, none");
        }
        fails(withOutputs(args("kl-div", x, probs, "--reduction", "avg")), "--reduction", "'avg'", "batchmean");
        fails(withOutputs(args("kl-div", x, probs, "--log-target=yes")), "--log-target", "'yes'", "true or false");
        fails(withOutputs(args("hinge", x, plusMinus, "--log-target")), "unknown option --log-target for hinge");
        fails(withOutputs(args("binary-cross-entropy", probs, soft, "--pos-weight", p(classWeights))),
                "unknown option --pos-weight");
        fails(withOutputs(args("hinge", x, plusMinus, "--threads", "-2")), "--threads", "-2");
    }

    @Test
    void reductionNoneNeedsAnOutputAndSaysWhenItIsTheDefault() throws IOException {
        Run r = fails(args("sigmoid-focal-loss", x, zeroOne).toArray(String[]::new), "--reduction none",
                "sigmoid-focal-loss's default", "--output", "--reduction mean or sum");
        fails(args("kl-div", x, probs, "--reduction", "none", "--grad", grad()).toArray(String[]::new),
                "--reduction none", "--output");
        assertFalse(r.err.contains("Exception"), r.err);
    }

    @Test
    void weightsMustBeFloating() throws IOException {
        Path wint = NpyFiles.i64(dir.resolve("wint.npy"), new long[C], C);
        fails(withOutputs(args("binary-cross-entropy", probs, soft, "--weight", p(wint))), "--weight",
                "wint\\.npy", "float32 or float64");
        fails(withOutputs(args("binary-cross-entropy-with-logits", x, soft, "--pos-weight", p(wint))),
                "--pos-weight", "wint\\.npy", "float32 or float64");
        fails(withOutputs(args("multi-margin-loss", x, valid, "--weight", p(wint))), "--weight", "float32 or float64");
    }

    @Test
    void everyNewCommandHasItsHelp() {
        for (String loss : List.of("binary-cross-entropy", "binary-cross-entropy-with-logits", "sigmoid-focal-loss",
                "softmax-focal-loss", "hinge", "squared-hinge", "multi-margin-loss", "kl-div")) {
            Run r = run(loss, "--help");
            assertEquals(0, r.status, r.err);
            assertTrue(r.out.startsWith("usage: vecloss " + loss + " --input X.npy --target T.npy [OPTIONS]"), r.out);
            for (String option : List.of("--output", "--grad", "--threads", "--reduction")) {
                assertTrue(r.out.contains("\n  " + option + " "), loss + " " + option);
            }
        }
        assertTrue(run("kl-div", "--help").out.contains("\n  --log-target    "));
        assertTrue(run("sigmoid-focal-loss", "--help").out.contains("(default: none)"));
        assertTrue(run("binary-cross-entropy-with-logits", "--help").out.contains("--pos-weight P.npy"));
    }
}
