package dev.vecloss;

import dev.vecloss.internal.Broadcast;
import dev.vecloss.internal.Parallel;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;

/**
 * The checks every public loss class makes before its kernels run, each failing with an
 * {@link IllegalArgumentException} that starts with the loss's name ({@code what}) and names the
 * tensor and the problem. They run before anything is written, so a call that fails leaves its
 * outputs untouched. They allocate nothing when they pass: a reduced call allocates nothing.
 */
final class Checks {
    private Checks() {}

    /** A float32 or float64 input with a class axis (rank at least 1). */
    static void classInput(String what, Tensor input) {
        if (!input.dtype().isFloating()) {
            throw new IllegalArgumentException(what + ": input must be float32 or float64, got " + input.dtype());
        }
        if (input.rank() == 0) {
            throw new IllegalArgumentException(what + ": input must have a class axis, got a 0-d tensor");
        }
    }

    /** Index targets: the input's shape without the class axis, of an integer or bool dtype. */
    static void indexTarget(String what, Tensor input, Tensor target) {
        if (!Layout.isPositionShape(input.dims(), target.dims())) {
            throw new IllegalArgumentException(what + ": target shape " + Arrays.toString(target.dims())
                    + " does not fit input shape " + Arrays.toString(input.dims()) + " (expected "
                    + Arrays.toString(Layout.positionShape(input.dims())) + ")");
        }
        if (target.dtype().isFloating()) {
            throw new IllegalArgumentException(what + ": index target must be int64, int32, uint8 or bool, got "
                    + target.dtype());
        }
    }

    /**
     * Optional per-class weights: 1-d of length {@code c}, of the input's dtype.
     *
     * @return the sum of the weights, or {@code c} when there are none
     */
    static double classWeight(String what, Tensor weight, long c, DType dtype) {
        if (weight == null) {
            return c;
        }
        if (weight.rank() != 1 || weight.dim(0) != c) {
            throw new IllegalArgumentException(what + ": weight must be 1-D of length C = " + c + ", got shape "
                    + Arrays.toString(weight.dims()));
        }
        if (weight.dtype() != dtype) {
            throw new IllegalArgumentException(what + ": weight must be " + dtype + " like the input, got "
                    + weight.dtype());
        }
        double sum = 0;
        for (long k = 0; k < c; k++) {
            sum += weight.getDouble(k);
        }
        return sum;
    }

    /** The three-argument forms return one number: {@link Reduction#NONE} needs the losses tensor. */
    static void reduced(String what, Reduction reduction) {
        if (reduction == Reduction.NONE) {
            throw new IllegalArgumentException(what + ": reduction none gives one loss per element or position:"
                    + " pass a losses tensor to the five-argument form");
        }
    }

    /** An options record's thread count: 0 (all cores for large inputs) or more. */
    static void threadCount(int threads) {
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be >= 0 (0 = all cores), got " + threads);
        }
    }

    /** A finite or infinite number that must not be NaN and not below {@code min}. */
    static void atLeast(String what, String name, double value, double min) {
        if (!(value >= min)) {
            throw new IllegalArgumentException(what + ": " + name + " must be at least " + min + ", got " + value);
        }
    }

    /** An elementwise loss's input and target: floating, of one dtype and one shape. */
    static void elementOperands(String what, Tensor input, Tensor target) {
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(target, "target");
        if (!input.dtype().isFloating()) {
            throw new IllegalArgumentException(what + ": input must be float32 or float64, got " + input.dtype());
        }
        if (!Arrays.equals(input.dims(), target.dims())) {
            throw new IllegalArgumentException(what + ": target shape " + Arrays.toString(target.dims())
                    + " must be the input's " + Arrays.toString(input.dims()));
        }
        if (target.dtype() != input.dtype()) {
            throw new IllegalArgumentException(what + ": target must be " + input.dtype() + " like the input, got "
                    + target.dtype());
        }
    }

    /** An optional operand broadcast onto the input (NumPy's rule), of the input's dtype. */
    static void broadcastOperand(String what, String name, Tensor operand, Tensor input) {
        if (operand == null) {
            return;
        }
        if (!Broadcast.fits(operand.dims(), input.dims())) {
            throw new IllegalArgumentException(what + ": " + name + " shape " + Arrays.toString(operand.dims())
                    + " does not broadcast to the input's " + Arrays.toString(input.dims()));
        }
        if (operand.dtype() != input.dtype()) {
            throw new IllegalArgumentException(what + ": " + name + " must be " + input.dtype()
                    + " like the input, got " + operand.dtype());
        }
    }

    /**
     * The optional outputs of a call: {@code losses} of shape {@code lossShape} (required for
     * {@link Reduction#NONE}) and {@code grad} of shape {@code gradShape}, each float32 or
     * float64, writable, and sharing no byte with an operand or with the other output, so that
     * writing one can neither change what the kernels read nor be lost to the other's writes.
     */
    static void outputs(String what, Reduction reduction, long[] lossShape, Tensor losses, long[] gradShape,
            Tensor grad, Tensor input, Tensor target, Tensor weight, Tensor extra) {
        if (reduction == Reduction.NONE && losses == null) {
            throw new IllegalArgumentException(what + ": reduction none needs a losses tensor");
        }
        if (reduction == Reduction.BATCHMEAN) { // kl_div, the one loss that takes it, passes SUM here
            throw new IllegalArgumentException(what + ": reduction batchmean is kl_div's only (use mean, sum or none)");
        }
        output(what, "losses", losses, lossShape, "grad", grad, input, target, weight, extra);
        output(what, "grad", grad, gradShape, "losses", losses, input, target, weight, extra);
    }

    private static void output(String what, String name, Tensor out, long[] shape, String otherName, Tensor other,
            Tensor input, Tensor target, Tensor weight, Tensor extra) {
        if (out == null) {
            return;
        }
        if (!out.dtype().isFloating()) {
            throw new IllegalArgumentException(what + ": " + name + " must be float32 or float64, got " + out.dtype());
        }
        if (!Arrays.equals(out.dims(), shape)) {
            throw new IllegalArgumentException(what + ": " + name + " shape " + Arrays.toString(out.dims())
                    + " must be " + Arrays.toString(shape));
        }
        if (out.segment().isReadOnly()) {
            throw new IllegalArgumentException(what + ": " + name + " is read-only");
        }
        disjoint(what, name, out, otherName, other);
        disjoint(what, name, out, "the input", input);
        disjoint(what, name, out, "the target", target);
        disjoint(what, name, out, "the weight", weight);
        disjoint(what, name, out, "the pos_weight", extra);
    }

    private static void disjoint(String what, String name, Tensor out, String otherName, Tensor other) {
        if (other == null || out.numel() == 0 || other.numel() == 0) {
            return;
        }
        if (out.segment().asOverlappingSlice(other.segment()).isPresent()) {
            throw new IllegalArgumentException(what + ": " + name + " overlaps " + otherName
                    + " (an output must not share memory with an input or another output)");
        }
    }

    /**
     * Threads for a call: {@code requested}, or the default for {@code elements}; 1 when a tensor
     * lives in a confined arena, whose memory only its owner thread may touch.
     */
    static int threads(int requested, long elements, Tensor a, Tensor b, Tensor c, Tensor d, Tensor e, Tensor f) {
        int threads = Parallel.threadsFor(requested, elements);
        if (threads > 1
                && !(shareable(a) && shareable(b) && shareable(c) && shareable(d) && shareable(e) && shareable(f))) {
            return 1;
        }
        return threads;
    }

    private static boolean shareable(Tensor t) {
        return t == null || Parallel.shareable(t.segment());
    }

    /**
     * The operands of a segmentation loss in {@code mode} (LOSSES.md 8.1): a floating input
     * {@code (N, C, d...)}, {@code C = 1} in binary mode; a target that fits the mode (both shapes
     * named when it does not), of class indices in multiclass mode, and of the input's dtype when
     * it is floating in the other modes. Returns C.
     */
    static long segmentation(String what, SegmentationMode mode, Tensor input, Tensor target) {
        if (!input.dtype().isFloating()) {
            throw new IllegalArgumentException(what + ": input must be float32 or float64, got " + input.dtype());
        }
        long[] in = input.dims(), t = target.dims();
        if (in.length < 2) {
            throw new IllegalArgumentException(what + ": input must be (N, C, d1, ...) with a batch and a class axis, "
                    + "got shape " + Arrays.toString(in));
        }
        if (mode == SegmentationMode.BINARY && in[1] != 1) {
            throw new IllegalArgumentException(what + ": mode binary: input shape " + Arrays.toString(in) + " has C = "
                    + in[1] + " channels, binary takes one (mode multilabel takes C; target shape " + Arrays.toString(t) + ")");
        }
        boolean fits = switch (mode) {
            case MULTICLASS -> Layout.isPositionShape(in, t);
            case BINARY -> Arrays.equals(in, t) || Layout.isPositionShape(in, t);
            case MULTILABEL -> Arrays.equals(in, t);
        };
        if (!fits) {
            String expected = switch (mode) {
                case MULTICLASS -> Arrays.toString(Layout.positionShape(in)) + ", class indices";
                case BINARY -> Arrays.toString(in) + " or " + Arrays.toString(Layout.positionShape(in));
                case MULTILABEL -> Arrays.toString(in);
            };
            throw new IllegalArgumentException(what + ": mode " + mode.name().toLowerCase(Locale.ROOT) + ": target shape "
                    + Arrays.toString(t)
                    + " does not fit input shape " + Arrays.toString(in) + " (expected " + expected
                    + (mode == SegmentationMode.MULTICLASS && Arrays.equals(in, t)
                            ? "; a target of the input's shape is mode multilabel's" : "") + ")");
        }
        if (mode == SegmentationMode.MULTICLASS && target.dtype().isFloating()) {
            throw new IllegalArgumentException(what + ": mode multiclass: target must hold class indices"
                    + " (int64, int32, uint8 or bool), got " + target.dtype());
        }
        if (target.dtype().isFloating() && target.dtype() != input.dtype()) {
            throw new IllegalArgumentException(what + ": a floating target must be " + input.dtype()
                    + " like the input, got " + target.dtype());
        }
        return in[1];
    }
}
