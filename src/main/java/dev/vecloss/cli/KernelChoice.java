package dev.vecloss.cli;

import dev.vecloss.Kernels;

/**
 * Which kernels one command line runs: the scalar ones for an input of fewer than
 * {@link #SCALAR_BELOW} elements, else the JVM's selected ones ({@link Kernels#selected()}:
 * Panama where it can run).
 *
 * <p>Why: a command line is one short JVM. The Panama kernels pay for the Vector API's start
 * before they run fast: loading and initialising its classes, bootstrapping its lambdas, and
 * running interpreted (each vector an object) until C2 has compiled them, which at start-up
 * competes with the compilation of everything else. Measured on a 2-core AVX2 machine (JDK 25,
 * whole process, cross-entropy on (N, 1000) float32 files, both cores shared with other work):
 * that start costs the Panama kernels about 1.7 s of CPU whatever the size, while the scalar
 * kernels, compiled within a few hundred milliseconds, cost about 15 ns of CPU per logit. At
 * 32 M logits the scalar ones finished in 0.9 s against 2.6 s, at 100 M in 2.2 s against 3.1 s
 * (medians of 7, CPU 1.7 s against 2.2 s): the crossover is above 100 M. Since the scalar
 * kernels' exponential is inlined ({@code internal/ScalarMath}, 2026-11-30; other processes
 * paused): at 268 M logits (a 1 GB file) the scalar ones took 1.07 to 1.42 s, the Panama ones
 * 1.49 to 1.73 s, three runs each; the bound is the power of two at or below that size. It is today's: as the Panama kernels' start gets cheaper, it should
 * come down (re-measure with {@code tools/startup_times.sh} and
 * {@code VECLOSS_OPTS=-Dvecloss.impl=panama|scalar}). A long-running program calls the library
 * many times and is not concerned: the choice is the command line's, not the library's.
 *
 * <p>The choice is a pure function of the input's shape, so a command line's result stays
 * deterministic: for such a shape it is, to the last bit, that of
 * {@code Kernels.callWith(Implementation.SCALAR, ...)} through the public API. The system
 * property {@code vecloss.impl=panama|scalar} forces one kind for every size.
 *
 * <p>So that a small input never loads the Panama classes, the properties are checked
 * ({@link #checkProperties}) as the library checks them, without selecting the kernels.
 */
final class KernelChoice {
    private KernelChoice() {}

    /**
     * Inputs with fewer elements than this (2^28, 1 GB of float32) run on the scalar kernels,
     * unless {@code vecloss.impl} forces a kind.
     */
    static final long SCALAR_BELOW = 1L << 28;

    /**
     * The kernels for an input of {@code shape}, with {@code vecloss.impl} as {@code forced}
     * (null or blank when unset): {@link Kernels.Implementation#SCALAR} below
     * {@link #SCALAR_BELOW} elements when nothing is forced, else null (the selected kernels).
     */
    static Kernels.Implementation forShape(long[] shape, String forced) {
        if (forced != null && !forced.isBlank()) {
            return null;
        }
        double elements = 1; // in double: no overflow, and exact up to 2^53, far above the bound
        for (long d : shape) {
            elements *= d;
        }
        return elements < SCALAR_BELOW ? Kernels.Implementation.SCALAR : null;
    }

    /**
     * Whether bin/vecloss started this JVM without the incubator module on purpose, because its
     * input runs on the scalar kernels for its size (the launcher checks the bound from the
     * file's size and dtype, as an upper bound on {@link #forShape}'s element count): system
     * property {@code vecloss.launcher.scalarOnly=true}. The module's absence then changes
     * nothing, and is not reported as a fallback.
     */
    static boolean launcherScalarOnly() {
        return Boolean.getBoolean("vecloss.launcher.scalarOnly");
    }

    /** {@link #forShape(long[], String)} with this JVM's {@code vecloss.impl}. */
    static Kernels.Implementation forShape(long[] shape) {
        return forShape(shape, System.getProperty("vecloss.impl"));
    }

    /**
     * Checks {@code vecloss.impl} and {@code vecloss.vectorBits} with the library's rules and
     * words ({@link Kernels#checkProperties}), without loading the Panama kernels.
     *
     * @throws CliError naming the property and its valid values
     */
    static void checkProperties() throws CliError {
        try {
            Kernels.checkProperties();
        } catch (IllegalArgumentException e) {
            throw new CliError(e.getMessage());
        }
    }
}
