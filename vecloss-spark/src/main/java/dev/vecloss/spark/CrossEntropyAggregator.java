package dev.vecloss.spark;

import dev.vecloss.CrossEntropy;
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
 * {@code cross_entropy} as a Spark aggregate: the mean (or sum) of PyTorch's
 * {@code F.cross_entropy} over the rows of a group, each row an {@code array<float>} of logits
 * (one per class) and an integer class label. The value has the bits of
 * {@link CrossEntropy#crossEntropy(Tensor, Tensor, CrossEntropy.Options)} over the group's rows
 * stacked into one {@code (N, C)} tensor, whatever the partitioning: rows are accepted in batches
 * into an exact {@link LossAccumulator}, and partial aggregates merge through
 * {@link LossAccumulator#combine} (see {@link LossBuffer}).
 *
 * <p>Use it through {@link VeclossFunctions} (SQL and {@code Column}s), or as a typed aggregate
 * over a {@code Dataset<Tuple2<float[], Long>>} encoded with {@link #INPUT}. Every row is checked:
 * a null logits array or label, an empty array, an array whose length differs from the group's
 * number of classes (the weight's length, or else the first row's), or a label outside
 * {@code [0, C)} other than {@code ignore_index} fails the query with an
 * {@link IllegalArgumentException} naming the problem. Logits are read as float32: a column of
 * doubles is cast by Spark, as an {@code int} label is cast to {@code long}.
 */
public final class CrossEntropyAggregator extends LossAggregator<Tuple2<float[], Long>> {

    @Serial
    private static final long serialVersionUID = 1L;

    /**
     * The input's encoder: an {@code array<float>} read as a {@code float[]} (one copy of Spark's
     * array, see {@link InputEncoders}), and a {@code bigint}.
     */
    public static final Encoder<Tuple2<float[], Long>> INPUT = InputEncoders.LOGITS_AND_LABEL;

    /**
     * Rows per batch are capped so that a batch holds at most this many logits (1 MB): a buffer
     * exists per group and task, and a query may have many groups.
     */
    private static final int MAX_BATCH_VALUES = 1 << 18;
    private static final int MAX_BATCH_ROWS = 1024;
    private static final int FIRST_BATCH_ROWS = 16;

    private final Spec spec;

    private CrossEntropyAggregator(Spec spec) {
        this.spec = spec;
    }

    /** The aggregate with PyTorch's defaults: the mean, no weight, {@code ignore_index} -100, no smoothing. */
    public static CrossEntropyAggregator create() {
        return of(CrossEntropy.Options.defaults());
    }

    /**
     * The aggregate with these options ({@code weight}, {@code ignoreIndex}, {@code labelSmoothing},
     * {@code reduction}, {@code emptyMean}); {@code threads} is ignored (one Spark task is one core).
     *
     * @throws IllegalArgumentException if the reduction is {@link Reduction#NONE} (an aggregate
     *         has one value per group), or the weight is not a vector
     */
    public static CrossEntropyAggregator of(CrossEntropy.Options options) {
        Objects.requireNonNull(options, "options");
        if (options.reduction() == Reduction.NONE) {
            throw new IllegalArgumentException("cross_entropy: an aggregate needs a reduction (mean or sum), got none");
        }
        float[] weight = null;
        if (options.weight() != null) {
            if (options.weight().rank() != 1 || options.weight().numel() == 0) {
                throw new IllegalArgumentException("cross_entropy: weight must be a non-empty vector of C class weights, got shape "
                        + java.util.Arrays.toString(options.weight().shape()));
            }
            weight = options.weight().toFloatArray();
        }
        return new CrossEntropyAggregator(new Spec(weight, options.ignoreIndex(), options.labelSmoothing(),
                options.reduction(), options.emptyMean(), true));
    }

    /**
     * The same aggregate with the loss's evaluation left out (rows are still checked, staged and
     * batched): for measuring how much of a query's time is Spark's and the conversion's.
     */
    CrossEntropyAggregator withoutKernel() {
        return new CrossEntropyAggregator(new Spec(spec.weight, spec.ignoreIndex, spec.labelSmoothing,
                spec.reduction, spec.emptyMean, false));
    }

    @Override
    public LossBuffer zero() {
        return new LossBuffer(spec, spec.weight == null ? 0 : spec.weight.length);
    }

    @Override
    public LossBuffer reduce(LossBuffer b, Tuple2<float[], Long> row) {
        float[] logits = row._1();
        Long label = row._2();
        if (logits == null) {
            throw new IllegalArgumentException("cross_entropy: a row's logits array is null" + labelled(label));
        }
        int c = logits.length;
        if (b.width == 0) {
            if (c == 0) {
                throw new IllegalArgumentException("cross_entropy: a row's logits array is empty (no class)" + labelled(label));
            }
            b.width = c;
        } else if (c != b.width) {
            throw new IllegalArgumentException("cross_entropy: a row's logits array has " + c + " elements, expected "
                    + b.width + " (the number of classes, " + (spec.weight != null ? "the weight's length" : "from the group's first row")
                    + ")" + labelled(label));
        }
        if (label == null) {
            throw new IllegalArgumentException("cross_entropy: a row's label is null");
        }
        long y = label;
        if ((y < 0 || y >= c) && y != spec.ignoreIndex) {
            throw new IllegalArgumentException("cross_entropy: label " + y + " is out of range [0, " + c
                    + ") (and is not ignore_index " + spec.ignoreIndex + ")");
        }
        if (b.inputs == null || b.rows == b.labels.length) {
            grow(b, c);
        }
        System.arraycopy(logits, 0, b.inputs, b.rows * c, c);
        b.labels[b.rows++] = y;
        if (b.rows == maxRows(c)) {
            b.flush();
        }
        return b;
    }

    private static String labelled(Long label) {
        return label == null ? "" : " (label " + label + ")";
    }

    private static int maxRows(int c) {
        return Math.max(1, Math.min(MAX_BATCH_ROWS, MAX_BATCH_VALUES / c));
    }

    /** Makes room for more staged rows: the arrays start small and double up to a full batch. */
    private static void grow(LossBuffer b, int c) {
        int n = b.labels == null ? Math.min(FIRST_BATCH_ROWS, maxRows(c)) : Math.min(2 * b.labels.length, maxRows(c));
        float[] inputs = new float[n * c];
        long[] labels = new long[n];
        if (b.rows > 0) {
            System.arraycopy(b.inputs, 0, inputs, 0, b.rows * c);
            System.arraycopy(b.labels, 0, labels, 0, b.rows);
        }
        b.inputs = inputs;
        b.labels = labels;
    }

    /** The options, as plain serializable values. */
    static final class Spec extends LossBuffer.Spec {
        @Serial
        private static final long serialVersionUID = 1L;

        final float[] weight;
        final long ignoreIndex;
        final double labelSmoothing;
        final Reduction reduction;
        final EmptyMean emptyMean;
        final boolean kernel;
        private transient CrossEntropy.Options options;

        Spec(float[] weight, long ignoreIndex, double labelSmoothing, Reduction reduction, EmptyMean emptyMean, boolean kernel) {
            this.weight = weight;
            this.ignoreIndex = ignoreIndex;
            this.labelSmoothing = labelSmoothing;
            this.reduction = reduction;
            this.emptyMean = emptyMean;
            this.kernel = kernel;
        }

        @Override
        String name() {
            return "cross_entropy";
        }

        private CrossEntropy.Options options() {
            if (options == null) {
                options = new CrossEntropy.Options(weight == null ? null : Tensor.of(weight), ignoreIndex,
                        labelSmoothing, reduction, 1, emptyMean);
            }
            return options;
        }

        @Override
        LossAccumulator newAccumulator() {
            return CrossEntropy.accumulator(options());
        }

        @Override
        void accept(LossBuffer b) {
            if (!kernel) {
                return;
            }
            long n = b.rows;
            Tensor input = Tensor.of(MemorySegment.ofArray(b.inputs).asSlice(0, n * b.width * Float.BYTES),
                    DType.FLOAT32, n, b.width);
            Tensor target = Tensor.of(MemorySegment.ofArray(b.labels).asSlice(0, n * Long.BYTES), DType.INT64, n);
            b.accumulator.accept(input, target);
        }
    }
}
