package dev.vecloss.internal;

import java.lang.System.Logger.Level;

/**
 * Looks the kernels up once: the Panama kernels when the {@code jdk.incubator.vector} module is in
 * the boot layer, the JIT's optimising compiler (C2) is there to compile them and their class
 * initialises; else the scalar ones. Without C2 ({@code -Xint}, {@code -XX:TieredStopAtLevel=1})
 * the Panama kernels would run interpreted, each vector an object, far slower than the scalar
 * loops: as Lucene does, the scalar kernels are chosen then, and the log line says why.
 *
 * <p>The system property {@code vecloss.impl=panama|scalar} forces a choice ({@code panama} still
 * falls back, with the reason, when the module is absent); any other value is an error that every
 * call reports as an {@link IllegalArgumentException} naming the valid values. One line, at DEBUG
 * level of the {@code dev.vecloss} logger, says which kernels were chosen and why;
 * {@link #description()} gives the same line.
 *
 * <p>{@link #callWith} runs a piece of code with other kernels (tests and benchmarks compare the
 * two through the public API): a scoped value read by the public API on the calling thread, which
 * stores the kernels in the problem its worker threads read.
 */
public final class KernelProvider {
    private static final String PANAMA_CLASS = "dev.vecloss.internal.panama.PanamaKernels";

    private static final ScopedValue<LossKernels> OVERRIDE = ScopedValue.newInstance();

    private KernelProvider() {}

    /**
     * The value of the system property {@code vecloss.vectorBits} (128, 256 or 512), or
     * {@code Integer.MAX_VALUE} when unset or empty (the machine's width); read here, without the
     * Vector API, so that the command line can check it before loading the Panama kernels.
     *
     * @throws IllegalArgumentException for any other value, naming the valid ones
     */
    public static int requestedVectorBits(String property) {
        if (property == null || property.isBlank()) {
            return Integer.MAX_VALUE;
        }
        return switch (property.strip()) {
            case "128" -> 128;
            case "256" -> 256;
            case "512" -> 512;
            default -> throw new IllegalArgumentException(
                    "vecloss.vectorBits must be 128, 256 or 512, not '" + property + "'");
        };
    }


    /**
     * What is wrong with the system properties {@code vecloss.impl} ({@code impl}) and
     * {@code vecloss.vectorBits} ({@code bits}), null when nothing is, decided without loading
     * the Panama kernels: the width is checked only where they would be loaded (neither
     * {@code impl=scalar}, nor the incubator module absent, nor a JVM without C2 with nothing
     * forced). The same rule and words as the selection below.
     */
    public static String propertyProblem(String impl, String bits, boolean moduleAbsent, String vmInfo) {
        String forced = impl == null ? "" : impl.strip();
        switch (forced) {
            case "scalar" -> {
                return null;
            }
            case "panama", "" -> {
                if (moduleAbsent || (forced.isEmpty() && noOptimisingCompiler(vmInfo))) {
                    return null;
                }
                try {
                    requestedVectorBits(bits);
                    return null;
                } catch (IllegalArgumentException e) {
                    return e.getMessage();
                }
            }
            default -> {
                return implProblem(forced);
            }
        }
    }

    private static String implProblem(String forced) {
        return "vecloss.impl must be panama or scalar, not '" + forced + "'";
    }

    /**
     * The kernels for a call made now on this thread: those of an enclosing {@link #callWith}, else
     * the selected ones.
     *
     * @throws IllegalArgumentException when {@code vecloss.impl} or {@code vecloss.vectorBits} has
     *         an invalid value
     */
    public static LossKernels get() {
        return OVERRIDE.isBound() ? OVERRIDE.get() : selected();
    }

    /** The kernels chosen at start-up; see {@link #get()} for the exception. */
    public static LossKernels selected() {
        if (Holder.KERNELS == null) {
            throw new IllegalArgumentException(Holder.DESCRIPTION);
        }
        return Holder.KERNELS;
    }

    /** The scalar reference kernels. */
    public static LossKernels scalar() {
        return ScalarKernels.INSTANCE;
    }

    /**
     * The Panama kernels at the selected width.
     *
     * @throws UnsupportedOperationException with the reason when they cannot run here
     */
    public static LossKernels panama() {
        String[] why = {null};
        LossKernels k = loadPanama(why);
        if (k == null) {
            throw new UnsupportedOperationException(why[0]);
        }
        return k;
    }

    /** Runs {@code op} with {@code kernels} in place of the selected ones, on this thread. */
    public static <R, X extends Throwable> R callWith(LossKernels kernels, ScopedValue.CallableOp<R, X> op) throws X {
        return ScopedValue.where(OVERRIDE, kernels).call(op);
    }

    /** One line: which kernels were chosen and why (or what is wrong with the properties). */
    public static String description() {
        return Holder.DESCRIPTION;
    }

    /** Whether the incubator module is absent, so the scalar kernels run for lack of it. */
    public static boolean vectorModuleAbsent() {
        return ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty();
    }

    /**
     * Whether this JVM has no optimising JIT: interpreter only, or C1 only (Lucene's test, on
     * {@code java.vm.info}, which HotSpot sets to "interpreted mode" or names the emulated client).
     */
    static boolean noOptimisingCompiler(String vmInfo) {
        return vmInfo != null && (vmInfo.contains("interpreted mode") || vmInfo.contains("emulated-client"));
    }

    /** The Panama kernels, or {@code null} with the reason in {@code why[0]}. */
    private static LossKernels loadPanama(String[] why) {
        if (vectorModuleAbsent()) {
            why[0] = "the jdk.incubator.vector module is absent (run with --add-modules jdk.incubator.vector)";
            return null;
        }
        try {
            Class<?> cls = Class.forName(PANAMA_CLASS);
            return (LossKernels) cls.getField("INSTANCE").get(null);
        } catch (ExceptionInInitializerError e) {
            Throwable cause = e.getCause();
            if (cause instanceof IllegalArgumentException bad) {
                throw bad; // an invalid vecloss.vectorBits: the user's error, not a missing feature
            }
            why[0] = "Panama kernels unavailable: " + cause;
        } catch (ReflectiveOperationException | LinkageError e) {
            why[0] = "Panama kernels unavailable: " + e;
        }
        return null;
    }

    private static final class Holder {
        /** The selected kernels, or null when the properties are invalid (then DESCRIPTION says why). */
        static final LossKernels KERNELS;
        static final String DESCRIPTION;

        static {
            LossKernels k = null;
            String desc;
            String forced = System.getProperty("vecloss.impl", "").strip();
            try {
                String[] why = {null};
                switch (forced) {
                    case "scalar" -> {
                        k = ScalarKernels.INSTANCE;
                        desc = "scalar kernels (forced by -Dvecloss.impl=scalar)";
                    }
                    case "panama", "" -> {
                        if (forced.isEmpty() && noOptimisingCompiler(System.getProperty("java.vm.info"))) {
                            k = ScalarKernels.INSTANCE;
                            desc = "scalar kernels: the JVM runs without its optimising compiler (C2), where the"
                                    + " Panama kernels would run interpreted (-Dvecloss.impl=panama forces them)";
                        } else {
                            k = loadPanama(why);
                            if (k != null) {
                                desc = k + (forced.isEmpty() ? "" : " (forced by -Dvecloss.impl=panama)");
                            } else {
                                k = ScalarKernels.INSTANCE;
                                desc = "scalar kernels: " + why[0];
                            }
                        }
                    }
                    default -> desc = implProblem(forced);
                }
            } catch (IllegalArgumentException e) {
                k = null;
                desc = e.getMessage();
            }
            KERNELS = k;
            DESCRIPTION = desc;
            System.getLogger("dev.vecloss").log(k == null ? Level.WARNING : Level.DEBUG, DESCRIPTION);
        }
    }
}
