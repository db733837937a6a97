package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The empty-set policy ({@link EmptyMean}) of every loss with a mean: a mean over no active
 * element (an empty input, every target ignored, target weights summing to 0) is NaN with
 * PyTorch's gradient by default (checked against torch 2.13: every target ignored gives a zero
 * gradient, weights summing to 0 a NaN one), 0 with a zero gradient for {@code ZERO}, and an
 * error that writes nothing for {@code ERROR}; {@code sum} and {@code none} do not depend on it.
 */
class EmptyMeanTest {

    /** One loss call on an empty case: with the policy, float32 losses (or null) and gradient. */
    @FunctionalInterface
    interface Call {
        double apply(EmptyMean e, Tensor losses, Tensor grad);
    }

    /**
     * A case: its name as the loss names itself in errors, the call, the shapes of its per-element
     * losses and of its gradient, and the gradient PyTorch gives under the default policy (a
     * single value for every entry: 0 or NaN; null for an empty gradient).
     */
    record Case(String name, Call call, long[] lossShape, long[] gradShape, Float nanPolicyGrad) {
        @Override
        public String toString() {
            return name + " " + Arrays.toString(gradShape);
        }
    }

    static final float NAN = Float.NaN;

    static List<Case> cases() {
        long[] ignored = {-100, -100, -100};
        float[] x34 = {1, 2, 3, 4, 0, 0, 0, 0, -1, 5, NAN, 2}; // a NaN in an ignored row
        Tensor x = Tensor.of(x34, 3, 4);
        Tensor empty2 = Tensor.of(new float[0], 0, 4);
        Tensor emptyT = Tensor.of(new float[0], 0, 4);
        Tensor zeroW = Tensor.of(new float[] {0, 0, 0, 0});
        return List.of(
                new Case("cross_entropy", (e, l, g) -> CrossEntropy.crossEntropy(x, Tensor.of(ignored),
                        CrossEntropy.Options.defaults().withEmptyMean(e), l, g), new long[] {3}, new long[] {3, 4}, null),
                new Case("cross_entropy", (e, l, g) -> CrossEntropy.crossEntropy(Tensor.of(new float[] {1, 2, 3, 4, 0, 0,
                        0, 0}, 2, 4), Tensor.of(new long[] {1, 2}), CrossEntropy.Options.defaults().withWeight(zeroW)
                        .withEmptyMean(e), l, g), new long[] {2}, new long[] {2, 4}, NAN),
                new Case("cross_entropy", (e, l, g) -> CrossEntropy.crossEntropy(empty2, Tensor.of(new long[0], 0),
                        CrossEntropy.Options.defaults().withEmptyMean(e), l, g), new long[] {0}, new long[] {0, 4}, 0f),
                new Case("cross_entropy", (e, l, g) -> CrossEntropy.crossEntropy(empty2, emptyT,
                        CrossEntropy.Options.defaults().withEmptyMean(e), l, g), new long[] {0}, new long[] {0, 4}, 0f),
                new Case("nll_loss", (e, l, g) -> CrossEntropy.nllLoss(x, Tensor.of(ignored),
                        CrossEntropy.Options.defaults().withEmptyMean(e), l, g), new long[] {3}, new long[] {3, 4}, 0f),
                new Case("binary_cross_entropy", (e, l, g) -> BinaryCrossEntropy.binaryCrossEntropy(empty2, emptyT,
                        BinaryCrossEntropy.Options.defaults().withEmptyMean(e), l, g), new long[] {0, 4},
                        new long[] {0, 4}, 0f),
                new Case("binary_cross_entropy_with_logits", (e, l, g) -> BinaryCrossEntropy
                        .binaryCrossEntropyWithLogits(empty2, emptyT, BinaryCrossEntropy.Options.defaults()
                                .withEmptyMean(e), l, g), new long[] {0, 4}, new long[] {0, 4}, 0f),
                new Case("sigmoid_focal_loss", (e, l, g) -> Focal.sigmoidFocalLoss(empty2, emptyT, Focal.SigmoidOptions
                        .defaults().withReduction(Reduction.MEAN).withEmptyMean(e), l, g), new long[] {0, 4},
                        new long[] {0, 4}, 0f),
                new Case("softmax_focal_loss", (e, l, g) -> Focal.softmaxFocalLoss(x, Tensor.of(ignored),
                        Focal.SoftmaxOptions.defaults().withEmptyMean(e), l, g), new long[] {3}, new long[] {3, 4}, null),
                new Case("hinge", (e, l, g) -> Hinge.hinge(empty2, emptyT, Hinge.Options.defaults().withEmptyMean(e), l,
                        g), new long[] {0, 4}, new long[] {0, 4}, 0f),
                new Case("squared_hinge", (e, l, g) -> Hinge.squaredHinge(empty2, emptyT, Hinge.Options.defaults()
                        .withEmptyMean(e), l, g), new long[] {0, 4}, new long[] {0, 4}, 0f),
                new Case("multi_margin_loss", (e, l, g) -> Hinge.multiMarginLoss(empty2, Tensor.of(new long[0], 0),
                        Hinge.Options.defaults().withEmptyMean(e), l, g), new long[] {0}, new long[] {0, 4}, 0f),
                new Case("categorical_hinge", (e, l, g) -> Hinge.categoricalHinge(empty2, emptyT,
                        Hinge.Options.defaults().withEmptyMean(e), l, g), new long[] {0}, new long[] {0, 4}, 0f),
                new Case("kl_div", (e, l, g) -> KlDiv.klDiv(empty2, emptyT, KlDiv.Options.defaults().withEmptyMean(e), l,
                        g), new long[] {0, 4}, new long[] {0, 4}, 0f),
                new Case("kl_div", (e, l, g) -> KlDiv.klDiv(empty2, emptyT, KlDiv.Options.defaults()
                        .withReduction(Reduction.BATCHMEAN).withEmptyMean(e), l, g), new long[] {0, 4},
                        new long[] {0, 4}, 0f));
    }

    static float[] filled(long n, float v) {
        float[] a = new float[(int) n];
        Arrays.fill(a, v);
        return a;
    }

    static long numel(long[] shape) {
        return Arrays.stream(shape).reduce(1, (a, b) -> a * b);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void nanIsTheDefaultWithPyTorchsGradient(Case c) {
        Tensor grad = Tensor.of(filled(numel(c.gradShape), 7), c.gradShape);
        double v = c.call.apply(EmptyMean.NAN, null, grad);
        assertTrue(Double.isNaN(v), c + ": " + v);
        if (c.nanPolicyGrad != null) {
            for (float g : grad.toFloatArray()) {
                assertEquals(c.nanPolicyGrad, g, 0, c.toString());
            }
        }
        assertEquals(Double.doubleToRawLongBits(v), Double.doubleToRawLongBits(c.call.apply(defaults(c), null, null)),
                "the default is NAN");
    }

    /** The default policy of the case's options: the same call without withEmptyMean. */
    private static EmptyMean defaults(Case c) {
        assertSame(EmptyMean.NAN, CrossEntropy.Options.defaults().emptyMean());
        assertSame(EmptyMean.NAN, BinaryCrossEntropy.Options.defaults().emptyMean());
        assertSame(EmptyMean.NAN, Focal.SigmoidOptions.defaults().emptyMean());
        assertSame(EmptyMean.NAN, Focal.SoftmaxOptions.defaults().emptyMean());
        assertSame(EmptyMean.NAN, Hinge.Options.defaults().emptyMean());
        assertSame(EmptyMean.NAN, KlDiv.Options.defaults().emptyMean());
        return EmptyMean.NAN;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void zeroGivesZeroAndAZeroGradient(Case c) {
        Tensor grad = Tensor.of(filled(numel(c.gradShape), 7), c.gradShape);
        Tensor losses = Tensor.of(filled(numel(c.lossShape), 7), c.lossShape);
        double v = c.call.apply(EmptyMean.ZERO, losses, grad);
        assertEquals(0, Double.doubleToRawLongBits(v), c + ": " + v);
        for (float g : grad.toFloatArray()) {
            assertEquals(0, Float.floatToRawIntBits(g), c.toString()); // +0, also where the input is NaN
        }
        for (float l : losses.toFloatArray()) {
            assertEquals(0f, l, c.toString()); // the per-position losses are written as usual: ignored ones are 0
        }
        assertEquals(0, Double.doubleToRawLongBits(c.call.apply(EmptyMean.ZERO, null, null)), c.toString());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void errorNamesTheLossAndWritesNothing(Case c) {
        Tensor grad = Tensor.of(filled(numel(c.gradShape), 7), c.gradShape);
        Tensor losses = Tensor.of(filled(numel(c.lossShape), 7), c.lossShape);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> c.call.apply(EmptyMean.ERROR, losses, grad));
        assertTrue(e.getMessage().startsWith(c.name + ": "), e.getMessage());
        assertTrue(e.getMessage().contains("no active element"), e.getMessage());
        assertArrayEquals(filled(numel(c.gradShape), 7), grad.toFloatArray(), c.toString());
        assertArrayEquals(filled(numel(c.lossShape), 7), losses.toFloatArray(), c.toString());
    }

    @Test
    void sumAndNoneDoNotDependOnThePolicy() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        Tensor y = Tensor.of(new long[] {-100, -100});
        for (EmptyMean e : EmptyMean.values()) {
            CrossEntropy.Options o = CrossEntropy.Options.defaults().withEmptyMean(e);
            assertEquals(0.0, CrossEntropy.crossEntropy(x, y, o.withReduction(Reduction.SUM)));
            Tensor losses = Tensor.of(new float[2], 2);
            assertEquals(0.0, CrossEntropy.crossEntropy(x, y, o.withReduction(Reduction.NONE), losses, null));
        }
        // a mean with an active element is not affected
        Tensor some = Tensor.of(new long[] {-100, 2});
        double expected = CrossEntropy.crossEntropy(x, some);
        for (EmptyMean e : EmptyMean.values()) {
            assertEquals(expected, CrossEntropy.crossEntropy(x, some, CrossEntropy.Options.defaults().withEmptyMean(e)));
        }
    }

    @Test
    void theOldConstructorsKeepPyTorchsDefault() {
        assertSame(EmptyMean.NAN, new CrossEntropy.Options(null, -100, 0, Reduction.MEAN, 0).emptyMean());
        assertSame(EmptyMean.NAN, new KlDiv.Options(false, Reduction.MEAN, 0).emptyMean());
        assertThrows(NullPointerException.class, () -> CrossEntropy.Options.defaults().withEmptyMean(null));
        // the withers keep the policy
        assertSame(EmptyMean.ZERO, Hinge.Options.defaults().withEmptyMean(EmptyMean.ZERO).withMargin(2).withThreads(1)
                .emptyMean());
    }
}
