package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * The accumulator contract, checked the same way for every loss of the segmentation families: the
 * batch axis N cut at random into 1 to 5 contiguous batches, each accepted by an accumulator of
 * its own or by a shared one, in a shuffled order, the accumulators then combined in a random
 * tree, directly or through their {@link LossAccumulator#state()}; the result must have the raw
 * bits of the one call over the whole batch.
 */
final class SplitAccumulation {
    private SplitAccumulation() {}

    /** The batch of images {@code [from, to)} of the data: its input and target. */
    @FunctionalInterface
    interface Slicer {
        Tensor[] slice(int from, int to);
    }

    /** Random cut points of {@code [0, n)} into 1 to 5 non-empty parts (fewer when n is small). */
    static int[] cuts(SplittableRandom r, int n) {
        int parts = 1 + r.nextInt(Math.min(5, n));
        int[] inner = parts == 1 ? new int[0] : r.ints(1, n).distinct().limit(parts - 1).sorted().toArray(); // parts - 1 <= n - 1 values exist
        int[] cuts = new int[inner.length + 2];
        System.arraycopy(inner, 0, cuts, 1, inner.length);
        cuts[cuts.length - 1] = n;
        return cuts;
    }

    /**
     * The accumulated value over a random split of {@code n} images: batches accepted in a
     * shuffled order into one to three accumulators, combined (by {@code combine} or by
     * {@code combineState} into a fresh accumulator) in a random order. Returns it with the
     * description of the split, for messages.
     */
    static Object[] accumulate(SplittableRandom r, int n, Slicer slicer, Supplier<LossAccumulator> make) {
        int[] cuts = cuts(r, n);
        List<int[]> batches = new ArrayList<>();
        for (int i = 0; i + 1 < cuts.length; i++) {
            batches.add(new int[] {cuts[i], cuts[i + 1]});
        }
        for (int i = batches.size() - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int[] t = batches.get(i);
            batches.set(i, batches.get(j));
            batches.set(j, t);
        }
        int accs = 1 + r.nextInt(Math.min(3, batches.size()));
        List<LossAccumulator> parts = new ArrayList<>();
        for (int a = 0; a < accs; a++) {
            parts.add(make.get());
        }
        StringBuilder how = new StringBuilder("cuts " + Arrays.toString(cuts) + ", order");
        for (int b = 0; b < batches.size(); b++) {
            int[] range = batches.get(b);
            Tensor[] t = slicer.slice(range[0], range[1]);
            parts.get(b % accs).accept(t[0], t[1]);
            how.append(' ').append(Arrays.toString(range)).append("->").append(b % accs);
        }
        // a random tree: merge two random states until one is left
        while (parts.size() > 1) {
            LossAccumulator a = parts.remove(r.nextInt(parts.size()));
            LossAccumulator b = parts.remove(r.nextInt(parts.size()));
            LossAccumulator merged;
            if (r.nextBoolean()) {
                merged = a.combine(b);
            } else {
                merged = make.get().combineState(a.state()).combineState(b.state());
            }
            parts.add(merged);
        }
        return new Object[] {parts.get(0).getAsDouble(), how.toString(), parts.get(0)};
    }

    /** Asserts the same raw bits. */
    static void assertBits(double want, double got, String message) {
        assertEquals(Double.doubleToRawLongBits(want), Double.doubleToRawLongBits(got),
                () -> message + ": want " + want + ", got " + got);
    }

    /**
     * Asserts that {@code accept} of a bad batch throws {@link IllegalArgumentException} and
     * leaves the state as it was.
     */
    static void assertRefusedUnchanged(LossAccumulator acc, Tensor input, Tensor target) {
        long[] before = acc.state();
        double value = acc.getAsDouble();
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> acc.accept(input, target));
        assertArrayEquals(before, acc.state());
        assertBits(value, acc.getAsDouble(), "value after a refused batch");
    }
}
