package dev.vecloss.spark;

import org.apache.spark.sql.Encoder;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.expressions.Aggregator;

/**
 * What every loss's {@link Aggregator} shares: the buffer ({@link LossBuffer}: staged rows and an
 * exact accumulator, serialized as the accumulator's state), merged through
 * {@link dev.vecloss.LossAccumulator#combine} and finished as the loss's reduced value. A loss
 * adds how it stages a row ({@code reduce}) and its empty buffer ({@code zero}).
 *
 * @param <I> the input row
 */
abstract class LossAggregator<I> extends Aggregator<I, LossBuffer, Double> {
    private static final long serialVersionUID = 1L;

    @Override
    public final LossBuffer merge(LossBuffer b1, LossBuffer b2) {
        return b1.merge(b2);
    }

    @Override
    public final Double finish(LossBuffer b) {
        return b.finish();
    }

    @Override
    public final Encoder<LossBuffer> bufferEncoder() {
        return Encoders.javaSerialization(LossBuffer.class);
    }

    @Override
    public final Encoder<Double> outputEncoder() {
        return Encoders.DOUBLE();
    }
}
