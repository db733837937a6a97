package dev.vecloss;

import dev.vecloss.internal.ExactSum;
import java.util.Objects;
import java.util.function.DoubleSupplier;

/**
 * A loss reduced over a dataset that arrives in batches: {@link #accept} one batch after another,
 * {@link #combine} states built apart (threads, files, machines), and {@link #getAsDouble} the
 * mean or sum, as Commons Statistics' statistics do. It holds exactly what the reduction needs
 * (for a mean, the loss sum and the sum of the weights or the count; for a region loss, its
 * per-class sums) as exact sums, rounded only when read: so <b>the result of any split of the
 * data into batches, accepted and combined in any order, has the bits of the one call over the
 * concatenated data</b> (the kernels compute each element's or row's loss by the same arithmetic
 * wherever it sits in a batch, and every reduced result of the library is the correctly rounded
 * exact sum of those losses).
 *
 * <p>Made by each loss's class ({@link CrossEntropy#accumulator}, {@link BinaryCrossEntropy#accumulator},
 * ...), with the loss's options; the reduction must be a mean or a sum. A batch is checked as the
 * one call checks it; a batch that fails leaves the state as it was. The state can leave the
 * JVM as longs ({@link #state}) and be added to an accumulator of the same loss elsewhere
 * ({@link #combineState}). Not thread-safe: one per thread, then {@link #combine}.
 */
public final class LossAccumulator implements DoubleSupplier {

    /**
     * A batch's contribution: the loss's reduced call over one batch, with this accumulator's
     * options. {@link #accept} runs it with the batch's state set as this thread's sink
     * ({@link Problems#SINK}), where the reduction adds its exact sums instead of dividing them.
     */
    @FunctionalInterface
    interface Evaluator {
        void accept(Tensor input, Tensor target);
    }

    /** The reduced value of a state. */
    @FunctionalInterface
    interface Finisher {
        double finish(Sums sums);
    }

    /**
     * The state: exact sums (for a mean, {@code sum(0)} the losses' and {@code sum(1)} the
     * denominator's) and a count (positions, elements or rows, as the loss defines it).
     */
    static final class Sums {
        final ExactSum[] sums;
        long count;

        Sums(int n) {
            sums = new ExactSum[n];
            for (int i = 0; i < n; i++) {
                sums[i] = new ExactSum();
            }
        }

        ExactSum sum(int i) {
            return sums[i];
        }

        void add(Sums o) {
            for (int i = 0; i < sums.length; i++) {
                sums[i].add(o.sums[i]);
            }
            count = Math.addExact(count, o.count);
        }

        void clear() {
            for (ExactSum s : sums) {
                s.clear();
            }
            count = 0;
        }
    }

    private static final long MAGIC = 0x7665636c6f737331L; // "veclass1"

    private final String loss;
    private final Evaluator evaluator;
    private final Finisher finisher;
    private final Sums sums;
    /** A batch is evaluated here first, then added: a batch that fails leaves the state unchanged. */
    private final Sums batch;

    LossAccumulator(String loss, int exactSums, Evaluator evaluator, Finisher finisher) {
        this.loss = Objects.requireNonNull(loss);
        this.evaluator = Objects.requireNonNull(evaluator);
        this.finisher = Objects.requireNonNull(finisher);
        this.sums = new Sums(exactSums);
        this.batch = new Sums(exactSums);
    }

    /**
     * The accumulator of a loss whose reduced value is {@code sum(0) / sum(1)} for a mean or a
     * batch mean (with {@code empty} for a zero denominator), and {@code sum(0)} for a sum.
     */
    static LossAccumulator ratio(String what, Reduction reduction, EmptyMean empty, Evaluator evaluator) {
        Objects.requireNonNull(reduction, "reduction");
        if (reduction == Reduction.NONE) {
            throw new IllegalArgumentException(what + ": an accumulator needs a reduction (mean or sum), got none");
        }
        return new LossAccumulator(what + " (" + reduction.name().toLowerCase(java.util.Locale.ROOT) + ")", 2,
                evaluator, s -> {
                    double num = s.sum(0).get();
                    if (reduction == Reduction.SUM) {
                        return Problems.canonical(num);
                    }
                    double den = s.sum(1).get();
                    if (den == 0) {
                        switch (empty) {
                            case ZERO -> { return 0.0; }
                            case ERROR -> throw new IllegalStateException(what + ": the mean is over no active "
                                    + "element (no batch, every target ignored, or weights summing to 0) and "
                                    + "emptyMean is ERROR");
                            case NAN -> { }
                        }
                    }
                    return Problems.canonical(num / den);
                });
    }

    /**
     * Adds a batch: the loss over {@code input} and {@code target} with this accumulator's
     * options, checked as the one call checks it.
     *
     * @return this
     * @throws IllegalArgumentException as the one call does; the state is then unchanged
     */
    public LossAccumulator accept(Tensor input, Tensor target) {
        batch.clear();
        Problems.SINK.set(batch);
        try {
            evaluator.accept(input, target);
        } finally {
            Problems.SINK.remove();
        }
        sums.add(batch);
        return this;
    }

    /**
     * Adds the state of {@code other}, an accumulator of the same loss with the same options
     * ({@code other} is unchanged).
     *
     * @return this
     * @throws IllegalArgumentException if {@code other} accumulates another loss or reduction
     */
    public LossAccumulator combine(LossAccumulator other) {
        if (!loss.equals(other.loss) || sums.sums.length != other.sums.sums.length) {
            throw new IllegalArgumentException("cannot combine an accumulator of " + loss + " with one of " + other.loss);
        }
        sums.add(other.sums);
        return this;
    }

    /** The reduced loss over every batch accepted and combined so far: the one call's bits. */
    @Override
    public double getAsDouble() {
        return finisher.finish(sums);
    }

    /** The number of positions (rows, elements or images, as the loss counts them) accepted so far. */
    public long count() {
        return sums.count;
    }

    /** The loss and reduction this accumulates, as named in errors. */
    public String loss() {
        return loss;
    }

    /**
     * The state as longs, for {@link #combineState} in another accumulator of the same loss (in
     * another JVM): a value that does not depend on how the state was built.
     */
    public long[] state() {
        int n = sums.sums.length;
        long[] out = new long[4 + n * ExactSum.LONGS];
        out[0] = MAGIC;
        out[1] = loss.hashCode();
        out[2] = n;
        out[3] = sums.count;
        for (int i = 0; i < n; i++) {
            System.arraycopy(sums.sums[i].toLongs(), 0, out, 4 + i * ExactSum.LONGS, ExactSum.LONGS);
        }
        return out;
    }

    /**
     * Adds a state written by {@link #state} of an accumulator of the same loss.
     *
     * @return this
     * @throws IllegalArgumentException if {@code state} is not such a state; this one is then unchanged
     */
    public LossAccumulator combineState(long[] state) {
        int n = sums.sums.length;
        if (state.length != 4 + n * ExactSum.LONGS || state[0] != MAGIC || state[2] != n) {
            throw new IllegalArgumentException("not a state of an accumulator of " + loss);
        }
        if (state[1] != loss.hashCode()) {
            throw new IllegalArgumentException("a state of another loss than " + loss);
        }
        if (state[3] < 0) {
            throw new IllegalArgumentException("not a state of an accumulator of " + loss + ": negative count");
        }
        batch.clear();
        for (int i = 0; i < n; i++) {
            batch.sums[i].addLongs(state, 4 + i * ExactSum.LONGS); // checks each before anything is added
        }
        batch.count = state[3];
        sums.add(batch);
        return this;
    }

    @Override
    public String toString() {
        return "LossAccumulator[" + loss + ", count " + sums.count + "]";
    }
}
