package dev.vecloss;

import dev.vecloss.internal.KernelProvider;
import dev.vecloss.internal.LossKernels;
import java.util.Objects;

/**
 * Which kernels evaluate the losses: the Panama (SIMD) kernels, or the scalar reference kernels
 * that compute in double. The choice is made once per JVM: Panama when the
 * {@code jdk.incubator.vector} module is present ({@code --add-modules jdk.incubator.vector}) and
 * the JIT can compile it, scalar otherwise. Two system properties change it:
 * <ul>
 *   <li>{@code vecloss.impl=panama|scalar} forces a choice;</li>
 *   <li>{@code vecloss.vectorBits=128|256|512} narrows the Panama kernels' vectors (say, to run
 *       an AVX2 machine's 8 float lanes on an AVX-512 machine); a width above the machine's
 *       gives the machine's.</li>
 * </ul>
 * An invalid value of either makes every loss call throw an {@link IllegalArgumentException} that
 * names the property and its valid values.
 *
 * <p>{@link #callWith} runs code with the other kernels, which is how benchmarks and tests compare
 * the two through the public API. Results do not depend on the thread count in either.
 */
public final class Kernels {
    private Kernels() {}

    /** The two kinds of kernels. */
    public enum Implementation {
        /** Plain loops in double precision: the reference, and the fallback. */
        SCALAR,
        /** The Vector API kernels. */
        PANAMA
    }

    /**
     * The kernels chosen for this JVM.
     *
     * @throws IllegalArgumentException when {@code vecloss.impl} or {@code vecloss.vectorBits} is invalid
     */
    public static Implementation selected() {
        return of(KernelProvider.selected());
    }

    /** One line saying which kernels were chosen and why, as logged at DEBUG level of {@code dev.vecloss}. */
    public static String description() {
        return KernelProvider.description();
    }

    /**
     * Checks the system properties {@code vecloss.impl} and {@code vecloss.vectorBits} as the
     * first loss call would, without loading the Panama kernels (a program that may run scalar
     * kernels only can check them without paying for the Vector API's start).
     *
     * @throws IllegalArgumentException naming the property and its valid values
     */
    public static void checkProperties() {
        String problem = KernelProvider.propertyProblem(System.getProperty("vecloss.impl"),
                System.getProperty("vecloss.vectorBits"), vectorModuleAbsent(), System.getProperty("java.vm.info"));
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
    }

    /** Whether the {@code jdk.incubator.vector} module is absent from this JVM. */
    public static boolean vectorModuleAbsent() {
        return KernelProvider.vectorModuleAbsent();
    }

    /**
     * Runs {@code op} on this thread with {@code impl}'s kernels instead of the selected ones (the
     * worker threads of its loss calls use them too).
     *
     * @throws UnsupportedOperationException for {@link Implementation#PANAMA} when this JVM cannot
     *         run it (the message says why)
     */
    public static <R, X extends Throwable> R callWith(Implementation impl, ScopedValue.CallableOp<R, X> op) throws X {
        Objects.requireNonNull(impl, "impl");
        Objects.requireNonNull(op, "op");
        LossKernels k = impl == Implementation.SCALAR ? KernelProvider.scalar() : KernelProvider.panama();
        return KernelProvider.callWith(k, op);
    }

    private static Implementation of(LossKernels k) {
        return k == KernelProvider.scalar() ? Implementation.SCALAR : Implementation.PANAMA;
    }
}
