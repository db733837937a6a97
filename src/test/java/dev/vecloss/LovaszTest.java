package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.oracle.LovaszOracle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * {@link Lovasz} against {@link LovaszOracle} (40-digit arithmetic, a plain stable sort), against
 * finite differences of the oracle's loss, against itself across thread counts (the same bits)
 * and across kernels (SIMD against scalar), and its refusals. Each suite pass runs it with its
 * kernels (Panama at the machine's width, at 256 bits, scalar); float64 inputs always run on the
 * scalar kernels, float32 ones on the pass's.
 */
class LovaszTest {

    /** A problem: logits (N, C, S), raw labels, and the labels as the oracle reads them (-1 ignored). */
    record Case(String name, SegmentationMode mode, int n, int c, int s, double[] x, long[] labels, Long ignore,
            boolean perImage) {
        boolean softmax() {
            return mode == SegmentationMode.MULTICLASS;
        }

        int[] oracleLabels() {
            int[] l = new int[labels.length];
            for (int i = 0; i < l.length; i++) {
                l[i] = ignore != null && labels[i] == ignore ? -1 : (int) labels[i];
            }
            return l;
        }

        LovaszOracle.Result oracle() {
            return softmax() ? LovaszOracle.softmax(x, n, c, s, oracleLabels(), perImage)
                    : LovaszOracle.hinge(x, n, c, s, oracleLabels(), perImage);
        }

        Lovasz.Options options(int threads) {
            Lovasz.Options o = Lovasz.Options.defaults(mode).withPerImage(perImage).withThreads(threads);
            return ignore == null ? o : o.withIgnoreIndex(ignore);
        }

        Tensor target() {
            return softmax() ? Tensor.of(labels.clone(), n, s) : Tensor.of(labels.clone(), n, c, s);
        }

        /** The loss and, in {@code grad}, the gradient, with float32 or float64 data. */
        double run(boolean f64, int threads, double[] grad) {
            Tensor g;
            double loss;
            if (f64) {
                double[] gd = new double[x.length];
                loss = Lovasz.lovaszLoss(Tensor.of(x.clone(), n, c, s), target(), options(threads), Tensor.of(gd, n, c, s));
                System.arraycopy(gd, 0, grad, 0, gd.length);
            } else {
                float[] xf = new float[x.length];
                for (int i = 0; i < xf.length; i++) {
                    xf[i] = (float) x[i];
                }
                float[] gf = new float[x.length];
                g = Tensor.of(gf, n, c, s);
                loss = Lovasz.lovaszLoss(Tensor.of(xf, n, c, s), target(), options(threads), g);
                for (int i = 0; i < gf.length; i++) {
                    grad[i] = gf[i];
                }
            }
            return loss;
        }

        /** The loss alone (no gradient tensor: the kernels' loss-only path), with float32 or float64 data. */
        double loss(boolean f64) {
            if (f64) {
                return Lovasz.lovaszLoss(Tensor.of(x.clone(), n, c, s), target(), options(1));
            }
            float[] xf = new float[x.length];
            for (int i = 0; i < xf.length; i++) {
                xf[i] = (float) x[i];
            }
            return Lovasz.lovaszLoss(Tensor.of(xf, n, c, s), target(), options(1));
        }

        /** This case with its logits rounded to float32 (so the oracle sees what the float32 run reads). */
        Case f32() {
            double[] r = new double[x.length];
            for (int i = 0; i < r.length; i++) {
                r[i] = (float) x[i];
            }
            return new Case(name, mode, n, c, s, r, labels, ignore, perImage);
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%s %s (%d, %d, %d)%s%s", name, mode.name().toLowerCase(Locale.ROOT), n, c, s,
                    perImage ? " per_image" : "", ignore != null ? " ignore " + ignore : "");
        }
    }

    static Case random(String name, SegmentationMode mode, int n, int c, int s, double scale, Long ignore, int ignoredEvery,
            boolean perImage, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] x = new double[n * c * s];
        for (int i = 0; i < x.length; i++) {
            x[i] = r.nextGaussian() * scale;
        }
        boolean softmax = mode == SegmentationMode.MULTICLASS;
        long[] y = new long[softmax ? n * s : n * c * s];
        for (int i = 0; i < y.length; i++) {
            y[i] = ignore != null && ignoredEvery > 0 && r.nextInt(ignoredEvery) == 0 ? ignore
                    : r.nextInt(softmax ? c : 2);
        }
        return new Case(name, mode, n, c, s, x, y, ignore, perImage);
    }

    /** The cases of the oracle tests: every mode, per_image or not, ignored labels, odd spatial sizes. */
    static List<Case> cases() {
        List<Case> list = new ArrayList<>();
        long seed = 1;
        for (boolean perImage : new boolean[] {false, true}) {
            list.add(random("softmax", SegmentationMode.MULTICLASS, 2, 4, 13, 2.0, null, 0, perImage, seed++));
            list.add(random("softmax ignore", SegmentationMode.MULTICLASS, 3, 3, 9, 2.0, 255L, 4, perImage, seed++));
            list.add(random("softmax c2", SegmentationMode.MULTICLASS, 2, 2, 17, 1.0, null, 0, perImage, seed++));
            list.add(random("binary", SegmentationMode.BINARY, 3, 1, 21, 1.5, null, 0, perImage, seed++));
            list.add(random("binary ignore", SegmentationMode.BINARY, 2, 1, 19, 1.5, -1L, 5, perImage, seed++));
            list.add(random("multilabel", SegmentationMode.MULTILABEL, 2, 3, 11, 1.5, 255L, 6, perImage, seed++));
        }
        // saturated logits: probabilities that round to exactly 0 or 1, errors exactly 0 (left out
        // of the sort: they sort last and add nothing), and hinge errors at most 0
        list.add(random("softmax saturated", SegmentationMode.MULTICLASS, 2, 3, 12, 60.0, null, 0, false, seed++));
        list.add(random("binary saturated", SegmentationMode.BINARY, 2, 1, 15, 30.0, null, 0, true, seed++));
        // absent classes: labels 0 and 3 of 5 only
        Case absent = random("softmax absent", SegmentationMode.MULTICLASS, 2, 5, 10, 2.0, null, 0, false, seed++);
        for (int i = 0; i < absent.labels.length; i++) {
            absent.labels[i] = absent.labels[i] % 2 == 0 ? 0 : 3;
        }
        list.add(absent);
        // an image whose labels are all ignored counts as 0 in the per-image mean (LOSSES.md 12)
        for (SegmentationMode mode : new SegmentationMode[] {SegmentationMode.MULTICLASS, SegmentationMode.BINARY}) {
            for (int which = 0; which < 2; which++) {
                Case all = random("all ignored image " + which, mode, 3, mode == SegmentationMode.BINARY ? 1 : 3, 8, 2.0, 7L,
                        0, true, seed++);
                int per = all.labels.length / 3;
                Arrays.fill(all.labels, which * per, (which + 1) * per, 7L);
                list.add(all);
            }
        }
        return list;
    }

    @TestFactory
    Stream<DynamicTest> lossAndGradientAgainstTheOracle() {
        return cases().stream().flatMap(c -> Stream.of(false, true).map(f64 -> DynamicTest.dynamicTest(
                c + (f64 ? " float64" : " float32"), () -> {
                    Case k = f64 ? c : c.f32();
                    LovaszOracle.Result want = k.oracle();
                    double[] grad = new double[k.x.length];
                    double loss = k.run(f64, 1, grad);
                    // float64: the scalar kernels in double. float32: probabilities and errors in
                    // float (relative error of a few 1e-7 each), the loss summed in double.
                    assertClose(want.loss(), loss, f64 ? 1e-13 : 2e-6, 1e-15, k + ": loss");
                    // float32: as GoldenTest's per-element budget, 1e-5 relative or 1e-7 absolute: a
                    // probability that rounds to 1 has error 0 in float (no gradient through |.|
                    // there, as in PyTorch's float32), which moves its position's gradient by about
                    // ulp(1) times the Jaccard step, far below 1e-7 of the loss's unit scale
                    double scale = Arrays.stream(want.grad()).map(Math::abs).max().orElse(0);
                    for (int i = 0; i < grad.length; i++) {
                        assertClose(want.grad()[i], grad[i], f64 ? 1e-12 : 1e-5, f64 ? 1e-15 * scale : 1e-7,
                                k + ": grad[" + i + "]");
                    }
                })));
    }

    /**
     * The gradient against central differences of the oracle's loss, element by element, where
     * the perturbation leaves every sort's permutation as it was (the loss is linear in each
     * sorted error between reorderings, so the difference is then exact up to the oracle's
     * digits).
     */
    @TestFactory
    Stream<DynamicTest> gradientAgainstFiniteDifferences() {
        List<Case> list = List.of(
                random("fd softmax", SegmentationMode.MULTICLASS, 2, 3, 5, 2.0, 9L, 5, false, 101),
                random("fd softmax per image", SegmentationMode.MULTICLASS, 2, 3, 4, 2.0, null, 0, true, 102),
                random("fd binary", SegmentationMode.BINARY, 2, 1, 9, 1.5, null, 0, true, 103),
                random("fd multilabel", SegmentationMode.MULTILABEL, 2, 2, 5, 1.5, -1L, 6, false, 104));
        return list.stream().map(c -> DynamicTest.dynamicTest(c.toString(), () -> {
            double[] grad = new double[c.x.length];
            c.run(true, 1, grad);
            LovaszOracle.Result at = c.oracle();
            double h = 1e-7;
            int checked = 0;
            for (int i = 0; i < c.x.length; i++) {
                double[] up = c.x.clone();
                double[] down = c.x.clone();
                up[i] += h;
                down[i] -= h;
                LovaszOracle.Result plus = new Case(c.name, c.mode, c.n, c.c, c.s, up, c.labels, c.ignore, c.perImage).oracle();
                LovaszOracle.Result minus = new Case(c.name, c.mode, c.n, c.c, c.s, down, c.labels, c.ignore, c.perImage).oracle();
                if (!sameOrders(at, plus) || !sameOrders(at, minus)) {
                    continue;
                }
                double fd = (plus.loss() - minus.loss()) / (up[i] - down[i]);
                assertClose(fd, grad[i], 1e-6, 1e-9, c + ": grad[" + i + "] against the central difference");
                checked++;
            }
            assertTrue(checked > c.x.length / 2, c + ": only " + checked + " of " + c.x.length + " elements kept their order");
        }));
    }

    private static boolean sameOrders(LovaszOracle.Result a, LovaszOracle.Result b) {
        if (a.orders().size() != b.orders().size()) {
            return false;
        }
        for (int i = 0; i < a.orders().size(); i++) {
            if (!Arrays.equals(a.orders().get(i), b.orders().get(i))) {
                return false;
            }
        }
        return true;
    }

    /** Ties in the errors: the gradient follows the stable order (index order among ties), to the bit in double. */
    @Test
    void tiesFollowTheStableOrder() {
        // hinge: integer logits give equal errors 1 - x y across labels and within a label
        double[] x = {1, -1, 0, 1, 0, 2, -1, 0, 0.5, 0.5, -0.5, 0.5, 1, 1, 0, 0};
        long[] y = {1, 0, 1, 0, 0, 1, 1, 1, 1, 0, 1, 0, 0, 0, 1, 1};
        Case hinge = new Case("ties", SegmentationMode.BINARY, 1, 1, 16, x, y, null, false);
        checkExact(hinge);
        // softmax with C = 2: logits (0, 0) give p = 1/2 for both labels, so tied errors 1/2
        double[] z = new double[2 * 20];
        for (int i = 0; i < 20; i += 3) {
            z[i] = 1.0;
        }
        long[] l = new long[20];
        for (int i = 0; i < 20; i++) {
            l[i] = (i * 7 / 3) % 2;
        }
        checkExact(new Case("ties softmax", SegmentationMode.MULTICLASS, 1, 2, 20, z, l, null, false));
    }

    private static void checkExact(Case c) {
        LovaszOracle.Result want = c.oracle();
        double[] grad = new double[c.x.length];
        double loss = c.run(true, 1, grad);
        assertClose(want.loss(), loss, 1e-15, 1e-16, c + ": loss");
        for (int i = 0; i < grad.length; i++) {
            assertClose(want.grad()[i], grad[i], 1e-14, 1e-16, c + ": grad[" + i + "]");
        }
        // float32 data, the pass's kernels: the same order of ties
        double[] g32 = new double[c.x.length];
        c.run(false, 1, g32);
        for (int i = 0; i < grad.length; i++) {
            assertClose(want.grad()[i], g32[i], 1e-6, 1e-7, c + " float32: grad[" + i + "]");
        }
    }

    /** The same bits for 1, 2 and 7 threads: classes and images are tasks whose losses are combined in a fixed order. */
    @Test
    void sameBitsAtAnyThreadCount() {
        List<Case> list = List.of(
                random("threads softmax", SegmentationMode.MULTICLASS, 3, 7, 40 * 41, 2.0, 255L, 9, false, 7),
                random("threads softmax per image", SegmentationMode.MULTICLASS, 5, 6, 33 * 35, 2.0, 255L, 9, true, 8),
                random("threads hinge per image", SegmentationMode.MULTILABEL, 6, 2, 29 * 31, 1.5, null, 0, true, 9));
        for (Case c : list) {
            for (boolean f64 : new boolean[] {false, true}) {
                double[] g1 = new double[c.x.length];
                double l1 = c.run(f64, 1, g1);
                for (int t : new int[] {2, 7}) {
                    double[] gt = new double[c.x.length];
                    double lt = c.run(f64, t, gt);
                    assertEquals(Double.doubleToRawLongBits(l1), Double.doubleToRawLongBits(lt), c + ": loss, " + t + " threads");
                    assertArrayEquals(g1, gt, 0.0, c + ": grad, " + t + " threads");
                }
            }
        }
    }

    /** The selected kernels against the scalar ones through the public API (float32 data). */
    @Test
    void selectedKernelsAgreeWithScalar() {
        for (Case c : List.of(
                random("parity softmax", SegmentationMode.MULTICLASS, 2, 21, 19 * 23, 2.0, 255L, 11, false, 21),
                random("parity softmax per image", SegmentationMode.MULTICLASS, 3, 5, 7 * 9, 3.0, null, 0, true, 22),
                random("parity binary", SegmentationMode.BINARY, 4, 1, 300, 1.5, 255L, 10, true, 23),
                random("parity multilabel", SegmentationMode.MULTILABEL, 2, 4, 77, 1.5, null, 0, false, 24))) {
            double[] gs = new double[c.x.length];
            double[] gv = new double[c.x.length];
            double ls = Kernels.callWith(Kernels.Implementation.SCALAR, () -> c.run(false, 1, gs));
            double lv = Kernels.callWith(Kernels.selected(), () -> c.run(false, 1, gv));
            assertClose(ls, lv, 2e-6, 1e-12, c + ": loss");
            double scale = Arrays.stream(gs).map(Math::abs).max().orElse(0);
            for (int i = 0; i < gs.length; i++) {
                assertClose(gs[i], gv[i], 1e-5, 1e-6 * scale, c + ": grad[" + i + "]");
            }
        }
    }

    /**
     * Cases with many ties of errors, foreground and background elements in the same run:
     * logits from a few values (softmax C = 2: p = 1/2 for both labels at equal logits; hinge:
     * {@code 1 - x} of a foreground element equals {@code 1 + x'} of a background one at
     * {@code x' = -x}).
     */
    static List<Case> tieCases() {
        List<Case> list = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(91);
        int s = 64 * 64;
        double[] levels = {-1, -0.5, 0, 0.5, 1};
        for (boolean perImage : new boolean[] {false, true}) {
            double[] z = new double[2 * 2 * s];
            for (int i = 0; i < z.length; i++) {
                z[i] = levels[r.nextInt(3) + 1];
            }
            long[] y = new long[2 * s];
            for (int i = 0; i < y.length; i++) {
                y[i] = r.nextInt(7) == 0 ? 255 : r.nextInt(2);
            }
            list.add(new Case("softmax ties", SegmentationMode.MULTICLASS, 2, 2, s, z, y, 255L, perImage));
            double[] x = new double[2 * s];
            long[] b = new long[2 * s];
            for (int i = 0; i < x.length; i++) {
                x[i] = levels[r.nextInt(levels.length)];
                b[i] = r.nextInt(2);
            }
            list.add(new Case("hinge ties", SegmentationMode.BINARY, 2, 1, s, x, b, null, perImage));
        }
        return list;
    }

    /**
     * The loss alone and the loss with its gradient have the same bits: they sort differently
     * (without a gradient ties are in no particular order, with one in index order), and the
     * loss is summed per run of equal errors so that this does not show.
     */
    @Test
    void lossWithAndWithoutGradientHaveTheSameBits() {
        for (Case c : tieCases()) {
            for (boolean f64 : new boolean[] {false, true}) {
                double alone = c.loss(f64);
                double withGrad = c.run(f64, 1, new double[c.x.length]);
                assertEquals(Double.doubleToRawLongBits(withGrad), Double.doubleToRawLongBits(alone),
                        c + (f64 ? " float64" : " float32") + ": " + alone + " without gradient, " + withGrad + " with");
            }
        }
    }

    /**
     * The order of ties does not change the loss's bits: reversing the positions of each image
     * (classes and labels alike) reverses the index order of every run of equal errors, and the
     * loss must stay the same to the bit, with and without a gradient.
     */
    @Test
    void orderOfTiesDoesNotChangeTheLossBits() {
        for (Case c : tieCases()) {
            int per = c.labels.length / c.n; // labels per image: S (softmax) or C S (hinge)
            double[] x = new double[c.x.length];
            long[] y = new long[c.labels.length];
            int cs = c.c * c.s;
            for (int img = 0; img < c.n; img++) {
                for (int k = 0; k < c.c; k++) {
                    for (int j = 0; j < c.s; j++) {
                        x[img * cs + k * c.s + j] = c.x[img * cs + k * c.s + (c.s - 1 - j)];
                    }
                }
                for (int j = 0; j < per; j++) {
                    y[img * per + j] = c.labels[img * per + (per - 1 - j)];
                }
            }
            Case reversed = new Case(c.name + " reversed", c.mode, c.n, c.c, c.s, x, y, c.ignore, c.perImage);
            for (boolean f64 : new boolean[] {false, true}) {
                double want = c.loss(f64);
                String what = c + (f64 ? " float64" : " float32");
                assertEquals(Double.doubleToRawLongBits(want), Double.doubleToRawLongBits(reversed.loss(f64)),
                        what + ": loss alone, positions reversed");
                assertEquals(Double.doubleToRawLongBits(want),
                        Double.doubleToRawLongBits(reversed.run(f64, 1, new double[x.length])),
                        what + ": loss with gradient, positions reversed");
            }
        }
    }

    /** per_image with one image is the batch loss, to the bit. */
    @Test
    void perImageWithOneImageIsTheBatchLoss() {
        for (SegmentationMode mode : SegmentationMode.values()) {
            Case c = random("one image", mode, 1, mode == SegmentationMode.BINARY ? 1 : 4, 50, 2.0, null, 0, false, 31);
            Case pi = new Case(c.name, mode, 1, c.c, c.s, c.x, c.labels, null, true);
            for (boolean f64 : new boolean[] {false, true}) {
                double[] g1 = new double[c.x.length];
                double[] g2 = new double[c.x.length];
                assertEquals(c.run(f64, 1, g1), pi.run(f64, 1, g2), 0.0, mode + " " + f64);
                assertArrayEquals(g1, g2, 0.0);
            }
        }
    }

    @Test
    void nanLogitGivesNaN() {
        Case c = random("nan", SegmentationMode.MULTICLASS, 1, 3, 10, 1.0, null, 0, false, 41);
        c.x[4] = Double.NaN;
        for (boolean f64 : new boolean[] {false, true}) {
            assertTrue(Double.isNaN(c.run(f64, 1, new double[c.x.length])));
        }
        Case h = random("nan", SegmentationMode.BINARY, 1, 1, 10, 1.0, null, 0, false, 42);
        h.x[3] = Double.NaN;
        for (boolean f64 : new boolean[] {false, true}) {
            assertTrue(Double.isNaN(h.run(f64, 1, new double[h.x.length])));
        }
    }

    @Test
    void emptyInputsGiveZero() {
        for (boolean perImage : new boolean[] {false, true}) {
            Lovasz.Options o = Lovasz.Options.defaults(SegmentationMode.MULTICLASS).withPerImage(perImage);
            assertEquals(0.0, Lovasz.lovaszLoss(Tensor.of(new float[0], 0, 3, 4), Tensor.of(new long[0], 0, 4), o));
            assertEquals(0.0, Lovasz.lovaszLoss(Tensor.of(new float[0], 2, 3, 0), Tensor.of(new long[0], 2, 0), o));
            Lovasz.Options b = Lovasz.Options.defaults(SegmentationMode.BINARY).withPerImage(perImage);
            assertEquals(0.0, Lovasz.lovaszLoss(Tensor.of(new float[0], 0, 1, 4), Tensor.of(new float[0], 0, 1, 4), b));
        }
    }

    /** Targets of every accepted kind give the same loss: int64, int32, uint8 labels; float or integer masks. */
    @Test
    void targetDtypes() {
        Case c = random("dtypes", SegmentationMode.MULTICLASS, 2, 3, 6, 2.0, null, 0, false, 51);
        float[] x = new float[c.x.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) c.x[i];
        }
        Lovasz.Options o = c.options(1);
        double want = Lovasz.lovaszLoss(Tensor.of(x, 2, 3, 6), Tensor.of(c.labels.clone(), 2, 6), o);
        int[] i32 = Arrays.stream(c.labels).mapToInt(v -> (int) v).toArray();
        byte[] u8 = new byte[c.labels.length];
        for (int i = 0; i < u8.length; i++) {
            u8[i] = (byte) c.labels[i];
        }
        assertEquals(want, Lovasz.lovaszLoss(Tensor.of(x, 2, 3, 6), Tensor.of(i32, 2, 6), o));
        assertEquals(want, Lovasz.lovaszLoss(Tensor.of(x, 2, 3, 6), Tensor.ofUint8(u8, 2, 6), o));

        Case b = random("dtypes", SegmentationMode.BINARY, 2, 1, 6, 2.0, null, 0, false, 52);
        float[] xb = new float[b.x.length];
        float[] yf = new float[b.x.length];
        for (int i = 0; i < xb.length; i++) {
            xb[i] = (float) b.x[i];
            yf[i] = b.labels[i];
        }
        Lovasz.Options ob = b.options(1);
        double wantB = Lovasz.lovaszLoss(Tensor.of(xb, 2, 1, 6), Tensor.of(b.labels.clone(), 2, 1, 6), ob);
        assertEquals(wantB, Lovasz.lovaszLoss(Tensor.of(xb, 2, 1, 6), Tensor.of(yf, 2, 1, 6), ob));
        assertEquals(wantB, Lovasz.lovaszLoss(Tensor.of(xb, 2, 1, 6), Tensor.of(yf, 2, 6), ob), "(N, S) target");
    }

    // ------------------------------------------------------------------ refusals

    @Test
    void refusals() {
        float[] x = new float[2 * 3 * 4];
        Tensor in = Tensor.of(x, 2, 3, 4);
        Lovasz.Options mc = Lovasz.Options.defaults(SegmentationMode.MULTICLASS);
        refuse(in, Tensor.of(new long[2 * 3 * 4], 2, 3, 4), mc, "target shape [2, 3, 4] does not fit input shape [2, 3, 4]"
                + " (expected [2, 4]");
        refuse(in, Tensor.of(new float[8], 2, 4), mc, "target must hold class indices (int64, int32, uint8 or bool), got FLOAT32");
        long[] bad = new long[8];
        bad[5] = 3;
        refuse(in, Tensor.of(bad, 2, 4), mc, "target 3 is out of bounds at flat index 5 of the target (classes 0..2)");
        bad[5] = -1;
        refuse(in, Tensor.of(bad, 2, 4), mc.withIgnoreIndex(255L), "target -1 is out of bounds at flat index 5 of the target"
                + " (classes 0..2, ignore_index 255)");
        refuse(Tensor.of(new float[8], 2, 1, 4), Tensor.of(new long[8], 2, 4), mc, "has C = 1 classes");
        Lovasz.Options bin = Lovasz.Options.defaults(SegmentationMode.BINARY);
        refuse(in, Tensor.of(new float[24], 2, 3, 4), bin, "input shape [2, 3, 4] has C = 3 channels, binary takes one");
        refuse(Tensor.of(new float[8], 2, 1, 4), Tensor.of(new float[8], 2, 4, 1), bin, "target shape [2, 4, 1] does not fit"
                + " input shape [2, 1, 4] (expected [2, 1, 4] or [2, 4])");
        float[] y = new float[8];
        y[6] = 0.5f;
        refuse(Tensor.of(new float[8], 2, 1, 4), Tensor.of(y, 2, 1, 4), bin, "target 0.5 at flat index 6 is not 0 or 1");
        Lovasz.Options ml = Lovasz.Options.defaults(SegmentationMode.MULTILABEL);
        refuse(in, Tensor.of(new float[8], 2, 4), ml, "target shape [2, 4] does not fit input shape [2, 3, 4] (expected"
                + " [2, 3, 4])");
        long[] two = new long[24];
        two[23] = 2;
        refuse(in, Tensor.of(two, 2, 3, 4), ml.withIgnoreIndex(-1L), "target 2 at flat index 23 is not 0 or 1 (nor"
                + " ignore_index -1)");
        refuse(Tensor.of(new long[24], 2, 3, 4), Tensor.of(new long[8], 2, 4), mc, "input must be float32 or float64");
        refuse(Tensor.of(new float[3], 3), Tensor.of(new long[1], 1), mc, "input must be (N, C, d1, ...)");
    }

    /** A refused call throws naming {@code message} and leaves its gradient tensor untouched. */
    private static void refuse(Tensor input, Tensor target, Lovasz.Options o, String message) {
        float[] g = new float[(int) input.numel()];
        Arrays.fill(g, 42f);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Lovasz.lovaszLoss(input, target, o, input.dtype() == DType.FLOAT32 && input.rank() >= 2
                        ? Tensor.of(g, input.shape()) : null));
        assertTrue(e.getMessage().contains(message), "message '" + e.getMessage() + "' does not contain '" + message + "'");
        for (float v : g) {
            assertEquals(42f, v, "a refused call wrote its gradient");
        }
    }

    @Test
    void gradientMustFitAndNotOverlap() {
        float[] x = new float[2 * 3 * 4];
        Tensor in = Tensor.of(x, 2, 3, 4);
        Tensor t = Tensor.of(new long[8], 2, 4);
        Lovasz.Options mc = Lovasz.Options.defaults(SegmentationMode.MULTICLASS);
        assertThrows(IllegalArgumentException.class, () -> Lovasz.lovaszLoss(in, t, mc, Tensor.of(new float[24], 2, 12)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Lovasz.lovaszLoss(in, t, mc, in));
        assertTrue(e.getMessage().contains("grad overlaps the input"), e.getMessage());
    }

    private static void assertClose(double expected, double actual, double rel, double abs, String what) {
        if (Double.isNaN(expected) || Double.isNaN(actual)) {
            assertEquals(expected, actual, what);
            return;
        }
        double err = Math.abs(actual - expected);
        assertTrue(err <= Math.max(rel * Math.abs(expected), abs), String.format(Locale.ROOT,
                "%s: expected %s, got %s (error %.3g, relative %.3g)", what, expected, actual, err, err / Math.abs(expected)));
    }
}
