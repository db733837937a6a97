package dev.vecloss.spark;

import dev.vecloss.BinaryCrossEntropy;
import dev.vecloss.CrossEntropy;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;

/**
 * vecloss's aggregates as Spark SQL functions and {@link Column}s. After {@link #register},
 * <pre>{@code
 * SELECT model, cross_entropy(logits, label) AS loss FROM preds GROUP BY model
 * SELECT binary_cross_entropy_with_logits(logit, target) FROM scores
 * }</pre>
 * work in SQL; from the Dataset API, {@code df.groupBy("model").agg(VeclossFunctions.crossEntropy(col("logits"), col("label")))}.
 * Options (weights, smoothing, sum) go into a function of their own:
 * {@code spark.udf().register("ce_smoothed", VeclossFunctions.crossEntropy(options))}.
 */
public final class VeclossFunctions {

    private VeclossFunctions() {
    }

    /**
     * Registers {@code cross_entropy(logits, label)} and
     * {@code binary_cross_entropy_with_logits(logit, target)}, with PyTorch's defaults (the mean),
     * as SQL aggregate functions of {@code spark}.
     */
    public static void register(SparkSession spark) {
        spark.udf().register("cross_entropy", crossEntropy(CrossEntropy.Options.defaults()));
        spark.udf().register("binary_cross_entropy_with_logits",
                binaryCrossEntropyWithLogits(BinaryCrossEntropy.Options.defaults()));
    }

    /** {@code cross_entropy} with these options, as a function of two columns: {@code array<float>} logits and a label. */
    public static UserDefinedFunction crossEntropy(CrossEntropy.Options options) {
        return functions.udaf(CrossEntropyAggregator.of(options), CrossEntropyAggregator.INPUT).withName("cross_entropy");
    }

    /** {@code cross_entropy(logits, label)}, the mean, as an aggregate column. */
    public static Column crossEntropy(Column logits, Column label) {
        return crossEntropy(CrossEntropy.Options.defaults()).apply(logits, label);
    }

    /** {@code binary_cross_entropy_with_logits} with these options, as a function of two float columns: logit and target. */
    public static UserDefinedFunction binaryCrossEntropyWithLogits(BinaryCrossEntropy.Options options) {
        return functions.udaf(BinaryCrossEntropyWithLogitsAggregator.of(options), BinaryCrossEntropyWithLogitsAggregator.INPUT)
                .withName("binary_cross_entropy_with_logits");
    }

    /** {@code binary_cross_entropy_with_logits(logit, target)}, the mean, as an aggregate column. */
    public static Column binaryCrossEntropyWithLogits(Column logit, Column target) {
        return binaryCrossEntropyWithLogits(BinaryCrossEntropy.Options.defaults()).apply(logit, target);
    }
}
