package dev.vecloss.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.BinaryCrossEntropy;
import dev.vecloss.CrossEntropy;
import dev.vecloss.Reduction;
import dev.vecloss.Tensor;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.Random;
import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.apache.spark.sql.catalyst.util.GenericArrayData;
import org.junit.jupiter.api.Test;
import scala.Tuple2;

/**
 * The aggregates without Spark: rows staged and batched, buffers serialized as Spark does
 * between tasks (Java serialization) and merged in any grouping give the one call's bits; the
 * buffer ships the state, not the staged rows; the null check of Spark's arrays.
 */
class LossBufferTest {

    private static final int C = 7;

    private static LossBuffer roundTrip(LossBuffer b) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(b);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            return (LossBuffer) in.readObject();
        }
    }

    @Test
    void serializedAndMergedBuffersGiveTheOneCallsBits() throws Exception {
        int n = 5000; // several batches (maxRows is 1024 at 7 classes) and partial ones
        Random random = new Random(7);
        float[] x = new float[n * C];
        long[] y = new long[n];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (Math.pow(10, 4 * random.nextDouble() - 2) * random.nextGaussian());
        }
        for (int i = 0; i < n; i++) {
            y[i] = random.nextInt(C);
        }
        CrossEntropy.Options options = CrossEntropy.Options.defaults().withLabelSmoothing(0.05).withIgnoreIndex(3);
        CrossEntropyAggregator agg = CrossEntropyAggregator.of(options);
        // three "tasks" of uneven sizes, each serialized with staged rows still in it
        int[] cuts = {0, 1, 2500, n};
        LossBuffer merged = agg.zero();
        for (int t = 0; t < 3; t++) {
            LossBuffer b = agg.zero();
            for (int i = cuts[t]; i < cuts[t + 1]; i++) {
                float[] row = new float[C];
                System.arraycopy(x, i * C, row, 0, C);
                b = agg.reduce(b, new Tuple2<>(row, y[i]));
            }
            merged = agg.merge(roundTrip(b), merged);
        }
        double expected = CrossEntropy.crossEntropy(Tensor.of(x, n, C), Tensor.of(y), options);
        assertEquals(Double.doubleToRawLongBits(expected), Double.doubleToRawLongBits(agg.finish(roundTrip(merged))));
    }

    @Test
    void aSerializedBufferHoldsTheStateNotTheRows() throws Exception {
        CrossEntropyAggregator agg = CrossEntropyAggregator.create();
        LossBuffer b = agg.zero();
        for (int i = 0; i < 1000; i++) {
            b = agg.reduce(b, new Tuple2<>(new float[] {i, 1, 2, 3, 4, 5, 6}, (long) (i % C)));
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(b);
        }
        assertTrue(bytes.size() < 4000, "1000 staged rows of 7 floats serialized in " + bytes.size() + " bytes");
        assertEquals(1000, roundTrip(b).accumulator.count());
    }

    @Test
    void binaryCrossEntropyWithLogitsBuffers() throws Exception {
        int n = 10_000;
        Random random = new Random(11);
        float[] x = new float[n];
        float[] t = new float[n];
        BinaryCrossEntropy.Options options = BinaryCrossEntropy.Options.defaults().withReduction(Reduction.SUM);
        BinaryCrossEntropyWithLogitsAggregator agg = BinaryCrossEntropyWithLogitsAggregator.of(options);
        LossBuffer a = agg.zero();
        LossBuffer b = agg.zero();
        for (int i = 0; i < n; i++) {
            x[i] = (float) (30 * random.nextGaussian());
            t[i] = random.nextFloat();
            LossBuffer into = i % 3 == 0 ? a : b;
            assertSame(into, agg.reduce(into, new Tuple2<>(x[i], t[i])));
        }
        double expected = BinaryCrossEntropy.binaryCrossEntropyWithLogits(Tensor.of(x), Tensor.of(t), options);
        assertEquals(Double.doubleToRawLongBits(expected),
                Double.doubleToRawLongBits(agg.finish(agg.merge(roundTrip(b), roundTrip(a)))));
    }

    @Test
    void rowsAreCheckedAgainstTheWeightsLength() {
        CrossEntropyAggregator agg = CrossEntropyAggregator.of(
                CrossEntropy.Options.defaults().withWeight(Tensor.of(new float[] {1, 2, 3, 4})));
        LossBuffer b = agg.zero();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> agg.reduce(b, new Tuple2<>(new float[5], 1L)));
        assertEquals("cross_entropy: a row's logits array has 5 elements, expected 4 (the number of classes, "
                + "the weight's length) (label 1)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> agg.reduce(b, new Tuple2<>(new float[4], 4L)));
        assertEquals("cross_entropy: label 4 is out of range [0, 4) (and is not ignore_index -100)", e.getMessage());
        assertEquals(0, b.rows, "a rejected row is not staged");
    }

    @Test
    void optionsAnAggregateCannotHave() {
        assertThrows(IllegalArgumentException.class,
                () -> CrossEntropyAggregator.of(CrossEntropy.Options.defaults().withReduction(Reduction.NONE)));
        assertThrows(IllegalArgumentException.class, () -> BinaryCrossEntropyWithLogitsAggregator.of(
                BinaryCrossEntropy.Options.defaults().withPosWeight(Tensor.of(new float[] {1, 2}))));
    }

    @Test
    void nullElementsAreFoundInEveryWordOfTheNullBits() {
        for (int n : new int[] {1, 63, 64, 65, 130, 1000}) {
            float[] values = new float[n];
            UnsafeArrayData clean = UnsafeArrayData.fromPrimitiveArray(values);
            assertSame(clean, InputEncoders.checkedLogits(clean));
            for (int k : new int[] {0, n / 2, n - 1}) {
                UnsafeArrayData withNull = clean.copy();
                withNull.setNullAt(k);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> InputEncoders.checkedLogits(withNull));
                assertEquals("cross_entropy: a row's logits array holds a null (element " + k + " of " + n + ")",
                        e.getMessage());
            }
        }
        Object[] generic = {1.0f, null};
        assertThrows(IllegalArgumentException.class, () -> InputEncoders.checkedLogits(new GenericArrayData(generic)));
    }
}
