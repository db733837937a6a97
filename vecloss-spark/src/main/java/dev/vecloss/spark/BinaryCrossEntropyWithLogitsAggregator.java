package dev.vecloss.spark;

import dev.vecloss.BinaryCrossEntropy;
import dev.vecloss.DType;
import dev.vecloss.EmptyMean;
import dev.vecloss.LossAccumulator;
import dev.vecloss.Reduction;
import dev.vecloss.Tensor;
import java.io.Serial;
import java.lang.foreign.MemorySegment;
import java.util.Objects;
import org.apache.spark.sql.Encoder;
import scala.Tuple2;

/**
 * {@code binary_cross_entropy_with_logits} as a Spark aggregate: the mean (or sum) of PyTorch's
 * {@code F.binary_cross_entropy_with_logits} over the rows of a group, each row a {@code float}
 * logit and a {@code float} target (0 or 1, or a probability). The value has the bits of
 * {@link BinaryCrossEntropy#binaryCrossEntropyWithLogits(Tensor, Tensor, BinaryCrossEntropy.Options)}
 * over the group's logits and targets as two vectors, whatever the partitioning (see
 * {@link LossBuffer}).
 *
 * <p>Use it through {@link VeclossFunctions}, or as a typed aggregate over a
 * {@code Dataset<Tuple2<Float, Float>>} encoded with {@link #INPUT}. A null logit or target fails
 * the query with an {@link IllegalArgumentException}; doubles are cast to float by Spark.
 */
public final class BinaryCrossEntropyWithLogitsAggregator extends LossAggregator<Tuple2<Float, Float>> {

    @Serial
    private static final long serialVersionUID = 1L;

    /** The input's encoder: a {@code float} logit and a {@code float} target. */
    public static final Encoder<Tuple2<Float, Float>> INPUT = InputEncoders.LOGIT_AND_TARGET;

    private static final int MAX_BATCH_ROWS = 4096;
    private static final int FIRST_BATCH_ROWS = 64;

    private final Spec spec;

    private BinaryCrossEntropyWithLogitsAggregator(Spec spec) {
        this.spec = spec;
    }

    /** The aggregate with PyTorch's defaults: the mean, no weight, no {@code pos_weight}. */
    public static BinaryCrossEntropyWithLogitsAggregator create() {
        return of(BinaryCrossEntropy.Options.defaults());
    }

    /**
     * The aggregate with these options: {@code reduction}, {@code emptyMean}, and a scalar
     * {@code weight} and {@code posWeight} (a tensor of one element, or null); {@code threads} is
     * ignored (one Spark task is one core).
     *
     * @throws IllegalArgumentException if the reduction is {@link Reduction#NONE}, or a weight
     *         has more than one element (a per-element weight would be a column of its own)
     */
    public static BinaryCrossEntropyWithLogitsAggregator of(BinaryCrossEntropy.Options options) {
        Objects.requireNonNull(options, "options");
        if (options.reduction() == Reduction.NONE) {
            throw new IllegalArgumentException(
                    "binary_cross_entropy_with_logits: an aggregate needs a reduction (mean or sum), got none");
        }
        return new BinaryCrossEntropyWithLogitsAggregator(new Spec(scalar("weight", options.weight()),
                scalar("pos_weight", options.posWeight()), options.reduction(), options.emptyMean()));
    }

    private static float[] scalar(String what, Tensor t) {
        if (t == null) {
            return null;
        }
        if (t.numel() != 1) {
            throw new IllegalArgumentException("binary_cross_entropy_with_logits: " + what
                    + " must have one element in an aggregate, got shape " + java.util.Arrays.toString(t.shape()));
        }
        return t.toFloatArray();
    }

    @Override
    public LossBuffer zero() {
        return new LossBuffer(spec, 1);
    }

    @Override
    public LossBuffer reduce(LossBuffer b, Tuple2<Float, Float> row) {
        Float logit = row._1();
        Float target = row._2();
        if (logit == null || target == null) {
            throw new IllegalArgumentException("binary_cross_entropy_with_logits: a row's "
                    + (logit == null ? "logit" : "target") + " is null");
        }
        if (b.inputs == null || b.rows == b.inputs.length) {
            int n = b.inputs == null ? FIRST_BATCH_ROWS : Math.min(2 * b.inputs.length, MAX_BATCH_ROWS);
            b.inputs = java.util.Arrays.copyOf(b.inputs == null ? new float[0] : b.inputs, n);
            b.targets = java.util.Arrays.copyOf(b.targets == null ? new float[0] : b.targets, n);
        }
        b.inputs[b.rows] = logit;
        b.targets[b.rows++] = target;
        if (b.rows == MAX_BATCH_ROWS) {
            b.flush();
        }
        return b;
    }

    /** The options, as plain serializable values. */
    static final class Spec extends LossBuffer.Spec {
        @Serial
        private static final long serialVersionUID = 1L;

        final float[] weight;
        final float[] posWeight;
        final Reduction reduction;
        final EmptyMean emptyMean;
        private transient BinaryCrossEntropy.Options options;

        Spec(float[] weight, float[] posWeight, Reduction reduction, EmptyMean emptyMean) {
            this.weight = weight;
            this.posWeight = posWeight;
            this.reduction = reduction;
            this.emptyMean = emptyMean;
        }

        @Override
        String name() {
            return "binary_cross_entropy_with_logits";
        }

        private BinaryCrossEntropy.Options options() {
            if (options == null) {
                options = new BinaryCrossEntropy.Options(weight == null ? null : Tensor.of(weight),
                        posWeight == null ? null : Tensor.of(posWeight), reduction, 1, emptyMean);
            }
            return options;
        }

        @Override
        LossAccumulator newAccumulator() {
            return BinaryCrossEntropy.withLogitsAccumulator(options());
        }

        @Override
        void accept(LossBuffer b) {
            long n = b.rows;
            Tensor input = Tensor.of(MemorySegment.ofArray(b.inputs).asSlice(0, n * Float.BYTES), DType.FLOAT32, n);
            Tensor target = Tensor.of(MemorySegment.ofArray(b.targets).asSlice(0, n * Float.BYTES), DType.FLOAT32, n);
            b.accumulator.accept(input, target);
        }
    }
}
