package dev.vecloss.spark;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vecloss.BinaryCrossEntropy;
import dev.vecloss.CrossEntropy;
import dev.vecloss.Reduction;
import dev.vecloss.Tensor;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.Set;
import java.util.function.Function;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoder;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.encoders.AgnosticEncoders;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import scala.Tuple2;
import scala.Tuple3;

/**
 * The aggregates in a local Spark ({@code local[2]}, one session for the class): for several
 * partitionings, the value is the single-machine call's, bit for bit, on data where a plain
 * double summation would depend on the partitioning; SQL registration with GROUP BY; the
 * typed Dataset API; errors naming the bad row.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SparkAggregatorsTest {

    private static final int N = 100_000;
    private static final int C = 5;

    private SparkSession spark;
    /** {@code (model string, logits array<float>, label int)}, N rows of C classes, model "a" or "b". */
    private Dataset<Row> preds;
    private float[] logits;
    private long[] labels;
    private String[] models;
    /** {@code (logit float, target float)}, N rows. */
    private Dataset<Row> scores;
    private float[] scoreLogits;
    private float[] scoreTargets;

    @BeforeAll
    void start() {
        spark = SparkSession.builder().master("local[2]").appName("vecloss-test")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "3")
                .getOrCreate();
        VeclossFunctions.register(spark);

        // Losses spread over many orders of magnitude (logits scaled by 10^-3 .. 10^3), so that
        // their sum rounded in plain doubles depends on the order (checked below). Spark
        // generates the rows from their ids (cheaper than shipping 10^5 rows from the driver);
        // the same function fills the arrays of the single-machine calls.
        logits = new float[N * C];
        labels = new long[N];
        models = new String[N];
        scoreLogits = new float[N];
        scoreTargets = new float[N];
        for (int i = 0; i < N; i++) {
            Tuple3<String, float[], Integer> r = pred(i);
            models[i] = r._1();
            System.arraycopy(r._2(), 0, logits, i * C, C);
            labels[i] = r._3();
            Tuple2<Float, Float> s = score(i);
            scoreLogits[i] = s._1();
            scoreTargets[i] = s._2();
        }
        @SuppressWarnings("unchecked")
        Encoder<float[]> floats = (Encoder<float[]>) (Encoder<?>)
                new AgnosticEncoders.ArrayEncoder<>(AgnosticEncoders.PrimitiveFloatEncoder$.MODULE$, false);
        preds = spark.range(0, N, 1, 4)
                .map((MapFunction<Long, Tuple3<String, float[], Integer>>) SparkAggregatorsTest::pred,
                        Encoders.tuple(Encoders.STRING(), floats, Encoders.INT()))
                .toDF("model", "logits", "label").cache();
        preds.count();
        scores = spark.range(0, N, 1, 4)
                .map((MapFunction<Long, Tuple2<Float, Float>>) SparkAggregatorsTest::score,
                        Encoders.tuple(Encoders.FLOAT(), Encoders.FLOAT()))
                .toDF("logit", "target").cache();
        scores.count();
    }

    /** Row {@code id} of the predictions: model "a" or "b", C logits of scale 10^-3 .. 10^3, a label. */
    static Tuple3<String, float[], Integer> pred(long id) {
        SplittableRandom random = new SplittableRandom(id * 0x9E3779B97F4A7C15L + 20261129);
        double scale = Math.pow(10, 6 * random.nextDouble() - 3);
        float[] row = new float[C];
        for (int k = 0; k < C; k++) {
            row[k] = (float) (scale * random.nextGaussian());
        }
        return new Tuple3<>(random.nextInt(3) == 0 ? "b" : "a", row, random.nextInt(C));
    }

    /** Row {@code id} of the scores: a logit of scale 10^-2 .. 10^3, a 0/1 or soft target. */
    static Tuple2<Float, Float> score(long id) {
        SplittableRandom random = new SplittableRandom(id * 0xD1B54A32D192ED03L + 11);
        float logit = (float) (Math.pow(10, 5 * random.nextDouble() - 2) * random.nextGaussian());
        float target = random.nextInt(4) == 0 ? (float) random.nextDouble() : random.nextInt(2);
        return new Tuple2<>(logit, target);
    }

    @AfterAll
    void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    /** 1, 2, 3 and 7 partitions (round robin), and a random assignment of the rows to 5. */
    private static Map<String, Function<Dataset<Row>, Dataset<Row>>> partitionings() {
        Map<String, Function<Dataset<Row>, Dataset<Row>>> p = new LinkedHashMap<>();
        for (int k : new int[] {1, 2, 3, 7}) {
            p.put(k + " partitions", d -> d.repartition(k));
        }
        p.put("random, 5 partitions", d -> d.repartition(5, functions.rand(17)));
        return p;
    }

    private static void assertBits(double expected, double actual, String what) {
        assertEquals(Double.doubleToRawLongBits(expected), Double.doubleToRawLongBits(actual),
                () -> what + ": expected " + expected + ", got " + actual);
    }

    private void assertCrossEntropyEverywhere(CrossEntropy.Options options) {
        double expected = CrossEntropy.crossEntropy(Tensor.of(logits, N, C), Tensor.of(labels), options);
        Column loss = VeclossFunctions.crossEntropy(options).apply(col("logits"), col("label"));
        for (var p : partitionings().entrySet()) {
            double actual = p.getValue().apply(preds).agg(loss).first().getDouble(0);
            assertBits(expected, actual, options + ", " + p.getKey());
        }
    }

    @Test
    void crossEntropyMeanHasTheOneCallsBitsForEveryPartitioning() {
        assertCrossEntropyEverywhere(CrossEntropy.Options.defaults());
    }

    @Test
    void crossEntropyWithOptionsHasTheOneCallsBitsForEveryPartitioning() {
        // ignore_index 2 is a class: a fifth of the rows drop out of the weighted mean
        assertCrossEntropyEverywhere(CrossEntropy.Options.defaults()
                .withWeight(Tensor.of(new float[] {0.5f, 2f, 1f, 0.125f, 3f}))
                .withIgnoreIndex(2)
                .withLabelSmoothing(0.1));
        assertCrossEntropyEverywhere(CrossEntropy.Options.defaults().withReduction(Reduction.SUM));
    }

    @Test
    void binaryCrossEntropyWithLogitsHasTheOneCallsBitsForEveryPartitioning() {
        for (BinaryCrossEntropy.Options options : List.of(BinaryCrossEntropy.Options.defaults(),
                BinaryCrossEntropy.Options.defaults().withPosWeight(Tensor.of(new float[] {3f})).withReduction(Reduction.SUM))) {
            double expected = BinaryCrossEntropy.binaryCrossEntropyWithLogits(Tensor.of(scoreLogits),
                    Tensor.of(scoreTargets), options);
            Column loss = VeclossFunctions.binaryCrossEntropyWithLogits(options).apply(col("logit"), col("target"));
            for (var p : partitionings().entrySet()) {
                double actual = p.getValue().apply(scores).agg(loss).first().getDouble(0);
                assertBits(expected, actual, options + ", " + p.getKey());
            }
        }
    }

    /**
     * The data is one where the order matters: the per-row losses summed in plain doubles in
     * the chunks of different partitionings give different values (so the equalities above are
     * not luck).
     */
    @Test
    void plainDoubleSumsOfTheseLossesDependOnThePartitioning() {
        float[] perRow = new float[N];
        CrossEntropy.crossEntropy(Tensor.of(logits, N, C), Tensor.of(labels),
                CrossEntropy.Options.defaults().withReduction(Reduction.NONE), Tensor.of(perRow), null);
        Set<Long> means = new HashSet<>();
        for (int parts : new int[] {1, 2, 3, 7}) {
            double total = 0;
            for (int p = 0; p < parts; p++) {
                double partial = 0;
                for (int i = p; i < N; i += parts) { // round robin, as repartition(k)
                    partial += perRow[i];
                }
                total += partial;
            }
            means.add(Double.doubleToRawLongBits(total / N));
        }
        assertTrue(means.size() > 1, "plain double sums agree for every partitioning: choose other data");
    }

    @Test
    void sqlGroupByGivesEachModelsOneCall() {
        preds.repartition(4).createOrReplaceTempView("preds");
        List<Row> result = spark.sql(
                "SELECT model, cross_entropy(logits, label) AS loss, count(*) AS n FROM preds GROUP BY model ORDER BY model")
                .collectAsList();
        assertEquals(2, result.size());
        for (Row r : result) {
            String model = r.getString(0);
            int n = (int) r.getLong(2);
            float[] x = new float[n * C];
            long[] y = new long[n];
            int j = 0;
            for (int i = 0; i < N; i++) {
                if (models[i].equals(model)) {
                    System.arraycopy(logits, i * C, x, j * C, C);
                    y[j++] = labels[i];
                }
            }
            assertEquals(n, j);
            assertBits(CrossEntropy.crossEntropy(Tensor.of(x, n, C), Tensor.of(y)), r.getDouble(1), "model " + model);
        }
    }

    /** The README's snippet ("Apache Spark"), as written there, on a 3-class table. */
    @Test
    void readmeSnippet() {
        spark.sql("SELECT * FROM VALUES ('a', array(1.0f, 2.0f, 3.0f), 0), ('a', array(0.5f, 0.0f, -1.0f), 2), "
                + "('b', array(2.0f, -2.0f, 0.0f), 1) AS t(model, logits, label)").createOrReplaceTempView("preds");
        Dataset<Row> preds = spark.table("preds");
        // --- the README's lines
        VeclossFunctions.register(spark);   // cross_entropy and binary_cross_entropy_with_logits, PyTorch's defaults
        spark.sql("SELECT model, cross_entropy(logits, label) AS loss FROM preds GROUP BY model").show();

        // Dataset API; options (weight, ignore_index, label_smoothing, sum) make a function of their own
        CrossEntropy.Options opts = CrossEntropy.Options.defaults()
                .withWeight(Tensor.of(new float[] {1f, 2f, 0.5f})).withLabelSmoothing(0.1).withReduction(Reduction.SUM);
        preds.groupBy("model").agg(VeclossFunctions.crossEntropy(opts).apply(col("logits"), col("label")));
        spark.udf().register("ce_smoothed", VeclossFunctions.crossEntropy(opts));   // and in SQL
        // ---
        double b = spark.sql("SELECT ce_smoothed(logits, label) FROM preds WHERE model = 'b'").first().getDouble(0);
        assertBits(CrossEntropy.crossEntropy(Tensor.of(new float[] {2f, -2f, 0f}, 1, 3), Tensor.of(new long[] {1}), opts),
                b, "ce_smoothed");
        Row a = preds.groupBy("model").agg(VeclossFunctions.crossEntropy(opts).apply(col("logits"), col("label")))
                .where("model = 'a'").first();
        assertBits(CrossEntropy.crossEntropy(Tensor.of(new float[] {1f, 2f, 3f, 0.5f, 0f, -1f}, 2, 3),
                Tensor.of(new long[] {0, 2}), opts), a.getDouble(1), "groupBy");
    }

    @Test
    void typedDatasetApi() {
        double expected = CrossEntropy.crossEntropy(Tensor.of(logits, N, C), Tensor.of(labels));
        double actual = preds.repartition(3)
                .select(col("logits").as("_1"), col("label").cast("long").as("_2"))
                .as(CrossEntropyAggregator.INPUT)
                .select(CrossEntropyAggregator.create().toColumn())
                .first();
        assertBits(expected, actual, "typed");
    }

    private void assertQueryFails(String sql, String message) {
        assertQueryFails(spark.sql(sql), message);
    }

    private static void assertQueryFails(Dataset<Row> query, String message) {
        Exception e = assertThrows(Exception.class, query::collectAsList);
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof IllegalArgumentException && t.getMessage().contains(message)) {
                return;
            }
        }
        fail("no IllegalArgumentException saying \"" + message + "\" in " + e, e);
    }

    @Test
    void badRowsFailTheQueryNamingTheProblem() {
        Dataset<Row> ragged = spark.sql(
                "SELECT * FROM VALUES (array(1.0f, 2.0f, 3.0f), 0), (array(1.0f, 2.0f), 1) AS t(logits, label)");
        // in one partition, the second row is checked against the first; in two (a local table of
        // two rows in local[2]), the partial aggregates are
        assertQueryFails(ragged.coalesce(1).agg(VeclossFunctions.crossEntropy(col("logits"), col("label"))),
                "cross_entropy: a row's logits array has 2 elements, expected 3 (the number of classes, from the group's first row)");
        assertQueryFails(ragged.agg(VeclossFunctions.crossEntropy(col("logits"), col("label"))),
                "cross_entropy: logits arrays of ");
        assertQueryFails(spark.sql("SELECT cross_entropy(logits, label) FROM VALUES (array(1.0f, 2.0f), 0), (array(), 1) AS t(logits, label)")
                .coalesce(1), "cross_entropy: a row's logits array ");
        assertQueryFails("SELECT cross_entropy(logits, label) FROM VALUES (array(1.0f, 2.0f), 2) AS t(logits, label)",
                "cross_entropy: label 2 is out of range [0, 2)");
        assertQueryFails("SELECT cross_entropy(logits, label) FROM VALUES (array(1.0f, 2.0f), -1) AS t(logits, label)",
                "cross_entropy: label -1 is out of range [0, 2)");
        assertQueryFails("SELECT cross_entropy(logits, label) FROM VALUES (CAST(NULL AS array<float>), 1) AS t(logits, label)",
                "cross_entropy: a row's logits array is null");
        assertQueryFails("SELECT cross_entropy(logits, label) FROM VALUES (array(1.0f, CAST(NULL AS float)), 0) AS t(logits, label)",
                "cross_entropy: a row's logits array holds a null (element 1 of 2)");
        assertQueryFails("SELECT cross_entropy(logits, label) FROM VALUES (array(1.0f, 2.0f), CAST(NULL AS int)) AS t(logits, label)",
                "cross_entropy: a row's label is null");
        assertQueryFails("SELECT binary_cross_entropy_with_logits(x, y) FROM VALUES (1.0f, CAST(NULL AS float)) AS t(x, y)",
                "binary_cross_entropy_with_logits: a row's target is null");
    }

    @Test
    void doubleLogitsAndLongLabelsAreCast() {
        double actual = spark.sql("SELECT cross_entropy(logits, label) FROM VALUES "
                + "(array(1.0d, 2.5d, -3.0d), 2L), (array(0.5d, -1.0d, 0.0d), 0L) AS t(logits, label)").first().getDouble(0);
        assertBits(CrossEntropy.crossEntropy(Tensor.of(new float[] {1f, 2.5f, -3f, 0.5f, -1f, 0f}, 2, 3),
                Tensor.of(new long[] {2, 0})), actual, "array<double>, bigint");
    }

    @Test
    void ignoreIndexIsNotOutOfRange() {
        // -100, PyTorch's default ignore_index: the row is skipped, so the mean is the other row's loss
        double actual = spark.sql("SELECT cross_entropy(logits, label) FROM VALUES "
                + "(array(1.0f, 2.0f), -100), (array(0.5f, -1.0f), 1) AS t(logits, label)").first().getDouble(0);
        assertBits(CrossEntropy.crossEntropy(Tensor.of(new float[] {0.5f, -1f}, 1, 2), Tensor.of(new long[] {1})),
                actual, "ignore_index");
    }
}
