package dev.vecloss.spark;

import org.apache.spark.sql.Encoder;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.catalyst.encoders.AgnosticEncoder;
import org.apache.spark.sql.catalyst.encoders.AgnosticEncoders;
import org.apache.spark.sql.catalyst.encoders.ExpressionEncoder;
import org.apache.spark.sql.catalyst.encoders.ExpressionEncoder$;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.apache.spark.sql.catalyst.expressions.objects.StaticInvoke;
import org.apache.spark.sql.catalyst.expressions.objects.UnresolvedMapObjects;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.unsafe.Platform;
import scala.Function1;
import scala.Option;
import scala.Tuple2;
import scala.collection.immutable.List$;
import org.apache.spark.sql.types.AbstractDataType;
import scala.runtime.AbstractPartialFunction;

/**
 * The aggregates' input encoders, and the check of a logits array that Spark's generated code
 * calls (public for that reason only; not an API).
 *
 * <p>Spark's encoder of a {@code float[]} (Scala's {@code Array[Float]}) deserializes an
 * {@code array<float>} element by element: a {@code MapObjects} loop boxes every float into a
 * new {@code GenericArrayData}, whose {@code toFloatArray} unboxes them again (about 15 ns a
 * float, ten times the loss's own cost at 1000 classes). The optimizer removes that identity loop
 * from a query's plan ({@code EliminateMapObjects}), but an aggregate's input encoder never goes
 * through the optimizer. {@link #LOGITS_AND_LABEL} is Spark's encoder with the loop replaced by
 * {@link #checkedLogits}: the row's {@code UnsafeArrayData} is copied into a {@code float[]} by
 * its own {@code toFloatArray} (one memory copy), after a check that it holds no null.
 */
public final class InputEncoders {

    private InputEncoders() {
    }

    /** {@code (array<float> logits, bigint label)} as {@code Tuple2<float[], Long>}, deserialized by one copy. */
    public static final Encoder<Tuple2<float[], Long>> LOGITS_AND_LABEL = logitsAndLabel();

    /** {@code (float logit, float target)} as {@code Tuple2<Float, Float>}. */
    public static final Encoder<Tuple2<Float, Float>> LOGIT_AND_TARGET = Encoders.tuple(Encoders.FLOAT(), Encoders.FLOAT());

    /**
     * Called by Spark's generated deserializer on each row's logits: the array itself, after
     * checking it holds no null element (a null array is passed on as null, and rejected by the
     * aggregate with its own message).
     *
     * @throws IllegalArgumentException naming the first null element
     */
    public static ArrayData checkedLogits(ArrayData logits) {
        int n = logits.numElements();
        if (logits instanceof UnsafeArrayData u && !hasNull(u, n)) {
            return logits;
        }
        for (int i = 0; i < n; i++) {
            if (logits.isNullAt(i)) {
                throw new IllegalArgumentException("cross_entropy: a row's logits array holds a null (element " + i
                        + " of " + n + ")");
            }
        }
        return logits;
    }

    /**
     * Whether an {@code UnsafeArrayData} has a null element, read from its null bits a word at a
     * time (the layout of {@code UnsafeArrayData}: the element count in 8 bytes, then one bit per
     * element in whole words) rather than by {@code isNullAt} per element.
     */
    private static boolean hasNull(UnsafeArrayData a, int n) {
        Object base = a.getBaseObject();
        long bits = a.getBaseOffset() + 8;
        for (int w = 0, words = (n + 63) >>> 6; w < words; w++) {
            if (Platform.getLong(base, bits + 8L * w) != 0) {
                return true;
            }
        }
        return false;
    }

    @SuppressWarnings("unchecked")
    private static Encoder<Tuple2<float[], Long>> logitsAndLabel() {
        Encoder<?> floats = new AgnosticEncoders.ArrayEncoder<>(AgnosticEncoders.PrimitiveFloatEncoder$.MODULE$, false);
        AgnosticEncoder<Tuple2<float[], Long>> agnostic =
                (AgnosticEncoder<Tuple2<float[], Long>>) (Encoder<?>) Encoders.tuple((Encoder<float[]>) floats, Encoders.LONG());
        ExpressionEncoder<Tuple2<float[], Long>> spark = ExpressionEncoder$.MODULE$.apply(agnostic);
        DataType arrayType = DataTypes.createArrayType(DataTypes.FloatType, false);
        Expression deserializer = spark.objDeserializer().transformUp(new AbstractPartialFunction<Expression, Expression>() {
            @Override
            public boolean isDefinedAt(Expression e) {
                return e instanceof UnresolvedMapObjects;
            }

            @Override
            public <A1 extends Expression, B1> B1 applyOrElse(A1 e, Function1<A1, B1> otherwise) {
                if (!(e instanceof UnresolvedMapObjects m)) {
                    return otherwise.apply(e);
                }
                @SuppressWarnings("unchecked")
                B1 replaced = (B1) new StaticInvoke(InputEncoders.class, arrayType, "checkedLogits",
                        List$.MODULE$.<Expression>empty().$colon$colon(m.child()), List$.MODULE$.<AbstractDataType>empty(),
                        true, true, true, Option.empty());
                return replaced;
            }
        });
        return ExpressionEncoder$.MODULE$.apply(agnostic, spark.objSerializer(), deserializer);
    }
}
