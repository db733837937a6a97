package dev.vecloss.internal.panama;

import dev.vecloss.internal.CeProblem;
import dev.vecloss.internal.LossKernels;
import dev.vecloss.internal.ScalarKernels;
import jdk.incubator.vector.FloatVector;

/** SIMD kernels (work in progress: delegating). */
public final class PanamaKernels implements LossKernels {
    public static final PanamaKernels INSTANCE = new PanamaKernels();

    private PanamaKernels() {
        if (FloatVector.SPECIES_PREFERRED.length() < 4) {
            throw new UnsupportedOperationException("vectors narrower than 128 bits");
        }
    }

    @Override
    public String name() {
        return "panama";
    }

    @Override
    public String toString() {
        return "panama kernels (" + FloatVector.SPECIES_PREFERRED + ")";
    }

    @Override
    public double crossEntropyIndex(CeProblem p, long from, long to) {
        return ScalarKernels.INSTANCE.crossEntropyIndex(p, from, to);
    }

    @Override
    public double crossEntropyProb(CeProblem p, long from, long to) {
        return ScalarKernels.INSTANCE.crossEntropyProb(p, from, to);
    }

    @Override
    public double nllLoss(CeProblem p, long from, long to) {
        return ScalarKernels.INSTANCE.nllLoss(p, from, to);
    }
}
