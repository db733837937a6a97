package dev.vecloss;

import dev.vecloss.internal.Parallel;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

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

    /**
     * An optional output of shape {@code shape}: float32 or float64, writable, and sharing no byte
     * with the input, the target, the weight, or the other output ({@code otherName}), so that
     * writing it can neither change what the kernels read nor be lost to the other's writes.
     */
    static void output(String what, String name, Tensor out, long[] shape, String otherName, Tensor other,
            Tensor input, Tensor target, Tensor weight) {
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
    }

    private static void disjoint(String what, String name, Tensor out, String otherName, Tensor other) {
        if (other == null || out.numel() == 0 || other.numel() == 0) {
            return;
        }
        MemorySegment a = out.segment();
        MemorySegment b = other.segment();
        if (a.asOverlappingSlice(b).isPresent()) {
            throw new IllegalArgumentException(what + ": " + name + " overlaps " + otherName
                    + " (an output must not share memory with an input or another output)");
        }
    }

    /**
     * Threads for a call: {@code requested}, or the default for {@code elements}; 1 when a tensor
     * lives in a confined arena, whose memory only its owner thread may touch.
     */
    static int threads(int requested, long elements, Tensor a, Tensor b, Tensor c, Tensor d, Tensor e) {
        int threads = Parallel.threadsFor(requested, elements);
        if (threads > 1 && !(shareable(a) && shareable(b) && shareable(c) && shareable(d) && shareable(e))) {
            return 1;
        }
        return threads;
    }

    private static boolean shareable(Tensor t) {
        return t == null || Parallel.shareable(t.segment());
    }
}
