package dev.vecloss.spark;

import dev.vecloss.LossAccumulator;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serial;
import java.io.Serializable;

/**
 * The aggregation buffer of the vecloss aggregators: an exact {@link LossAccumulator} and the
 * rows staged for its next batch. Rows are copied into flat arrays as Spark hands them over one
 * by one and given to the accumulator as one tensor when the arrays are full (or when the buffer
 * is merged, finished or serialized), so the SIMD kernels see batches, not single rows.
 *
 * <p>Spark serializes a buffer (Java serialization, {@link org.apache.spark.sql.Encoders#javaSerialization})
 * when a partial aggregate leaves its task: {@link #writeObject} first accepts the staged rows,
 * then writes only the accumulator's {@link LossAccumulator#state() state} (a few dozen longs),
 * and {@link #readObject} rebuilds the accumulator from it with
 * {@link LossAccumulator#combineState}. Since the state holds exact sums, the final value does
 * not depend on how Spark split the rows into partitions or in which order it merged them.
 */
public final class LossBuffer implements Serializable {

    @Serial
    private static final long serialVersionUID = 1L;

    /** What is accumulated, with which options: makes the accumulator and evaluates a staged batch. */
    abstract static class Spec implements Serializable {
        @Serial
        private static final long serialVersionUID = 1L;

        /** The SQL name of the loss, as errors name it. */
        abstract String name();

        /** A new, empty accumulator of this loss with these options. */
        abstract LossAccumulator newAccumulator();

        /** Accepts the buffer's staged rows (there is at least one) as one batch. */
        abstract void accept(LossBuffer buffer);
    }

    final Spec spec;
    /** Values per row: the number of classes (cross-entropy; 0 until the first row), or 1. */
    int width;

    transient LossAccumulator accumulator;
    /** Staged rows: {@code rows * width} inputs, and a label or a target per row. */
    transient float[] inputs;
    transient long[] labels;
    transient float[] targets;
    transient int rows;

    LossBuffer(Spec spec, int width) {
        this.spec = spec;
        this.width = width;
        this.accumulator = spec.newAccumulator();
    }

    /** Accepts the staged rows, if any, into the accumulator. */
    void flush() {
        if (rows > 0) {
            spec.accept(this);
            rows = 0;
        }
    }

    /**
     * Adds {@code other}'s rows and state to this one's (merge of two partial aggregates).
     *
     * @throws IllegalArgumentException if the two saw rows of different widths
     */
    LossBuffer merge(LossBuffer other) {
        if (width != 0 && other.width != 0 && width != other.width) {
            throw new IllegalArgumentException(spec.name() + ": logits arrays of " + width + " and of " + other.width
                    + " elements in the same group (every row of a group must have the same number of classes)");
        }
        flush();
        other.flush();
        accumulator.combine(other.accumulator);
        if (width == 0) {
            width = other.width;
        }
        return this;
    }

    /** The reduced loss over every row seen (the one call's bits over their concatenation). */
    double finish() {
        flush();
        return accumulator.getAsDouble();
    }

    @Serial
    private void writeObject(ObjectOutputStream out) throws IOException {
        flush();
        out.defaultWriteObject();
        out.writeObject(accumulator.state());
    }

    @Serial
    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
        in.defaultReadObject();
        accumulator = spec.newAccumulator();
        accumulator.combineState((long[]) in.readObject());
    }
}
