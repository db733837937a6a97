package dev.vecloss.spark;

import dev.vecloss.CrossEntropy;
import dev.vecloss.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The README's example: a table of predictions of two models, the cross-entropy of each in
 * SQL, and the same bits from the single-machine call whatever the partitioning.
 *
 * <pre>{@code ./mvnw -q -f vecloss-spark/pom.xml compile exec:exec@example}</pre>
 */
public final class Example {

    private Example() {
    }

    /**
     * Runs the example in a local Spark.
     *
     * @param args unused
     */
    public static void main(String[] args) {
        SparkSession spark = SparkSession.builder().master("local[2]").appName("vecloss-example")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "4").getOrCreate();
        spark.sparkContext().setLogLevel("ERROR");
        try {
            // 20000 predictions of 10 classes per model: logits of varied scale, random labels
            int n = 20_000;
            int c = 10;
            Random random = new Random(42);
            List<Row> rows = new ArrayList<>();
            float[] allA = new float[n * c];
            long[] labelsA = new long[n];
            for (String model : List.of("a", "b")) {
                for (int i = 0; i < n; i++) {
                    float[] logits = new float[c];
                    double scale = Math.pow(10, 3 * random.nextDouble() - 1);
                    for (int k = 0; k < c; k++) {
                        logits[k] = (float) (scale * random.nextGaussian());
                    }
                    int label = random.nextInt(c);
                    rows.add(RowFactory.create(model, logits, label));
                    if (model.equals("a")) {
                        System.arraycopy(logits, 0, allA, i * c, c);
                        labelsA[i] = label;
                    }
                }
            }
            StructType schema = new StructType()
                    .add("model", DataTypes.StringType, false)
                    .add("logits", DataTypes.createArrayType(DataTypes.FloatType, false), false)
                    .add("label", DataTypes.IntegerType, false);
            Dataset<Row> preds = spark.createDataFrame(rows, schema).repartition(7);
            preds.createOrReplaceTempView("preds");

            VeclossFunctions.register(spark);
            spark.sql("SELECT model, cross_entropy(logits, label) AS loss FROM preds GROUP BY model ORDER BY model").show();

            double single = CrossEntropy.crossEntropy(Tensor.of(allA, n, c), Tensor.of(labelsA));
            for (int partitions : new int[] {1, 3, 16}) {
                preds.repartition(partitions).createOrReplaceTempView("preds");
                double spark3 = spark.sql("SELECT cross_entropy(logits, label) FROM preds WHERE model = 'a'")
                        .first().getDouble(0);
                System.out.printf("model a, %2d partitions: %s (%s the single-machine call's %s)%n", partitions,
                        spark3, Double.doubleToRawLongBits(spark3) == Double.doubleToRawLongBits(single)
                                ? "the bits of" : "DIFFERS FROM", single);
            }
        } finally {
            spark.stop();
        }
    }
}
