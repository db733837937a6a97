package dev.vecloss.internal;

import java.lang.System.Logger.Level;

/**
 * Looks the kernels up once: the Panama kernels when the {@code jdk.incubator.vector} module
 * is in the boot layer and their class initialises, else the scalar ones. The system property
 * {@code vecloss.impl=panama|scalar} forces a choice ({@code panama} still falls back, with the
 * reason, when the module is absent). One line, at DEBUG level of the {@code dev.vecloss}
 * logger, says which was chosen and why; {@link #description()} gives the same line.
 */
public final class KernelProvider {
    private static final String PANAMA_CLASS = "dev.vecloss.internal.panama.PanamaKernels";

    private KernelProvider() {}

    /** The selected kernels. */
    public static LossKernels get() {
        return Holder.KERNELS;
    }

    /** The scalar reference kernels. */
    public static LossKernels scalar() {
        return ScalarKernels.INSTANCE;
    }

    /** The kernels for {@code p}: the selected ones, or scalar for what SIMD does not cover (float64). */
    public static LossKernels forProblem(CeProblem p) {
        return p.allFloat32() ? Holder.KERNELS : ScalarKernels.INSTANCE;
    }

    /** One line: which kernels were chosen and why. */
    public static String description() {
        return Holder.DESCRIPTION;
    }

    /** Whether the incubator module is absent, so the scalar kernels run for lack of it. */
    public static boolean vectorModuleAbsent() {
        return ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty();
    }

    /**
     * The Panama kernels, or {@code null} with the reason in {@code why[0]}.
     */
    public static LossKernels loadPanama(String[] why) {
        if (vectorModuleAbsent()) {
            why[0] = "the jdk.incubator.vector module is absent (run with --add-modules jdk.incubator.vector)";
            return null;
        }
        try {
            Class<?> cls = Class.forName(PANAMA_CLASS);
            return (LossKernels) cls.getField("INSTANCE").get(null);
        } catch (ExceptionInInitializerError e) {
            why[0] = "Panama kernels unavailable: " + e.getCause();
        } catch (ReflectiveOperationException | LinkageError e) {
            why[0] = "Panama kernels unavailable: " + e;
        }
        return null;
    }

    private static final class Holder {
        static final LossKernels KERNELS;
        static final String DESCRIPTION;

        static {
            String forced = System.getProperty("vecloss.impl", "");
            String[] why = {null};
            LossKernels k;
            String desc;
            if (forced.equals("scalar")) {
                k = ScalarKernels.INSTANCE;
                desc = "scalar kernels (forced by -Dvecloss.impl=scalar)";
            } else {
                if (!forced.isEmpty() && !forced.equals("panama")) {
                    throw new IllegalArgumentException("vecloss.impl must be panama or scalar, not '" + forced + "'");
                }
                k = loadPanama(why);
                if (k != null) {
                    desc = k.toString() + (forced.isEmpty() ? "" : " (forced by -Dvecloss.impl=panama)");
                } else {
                    k = ScalarKernels.INSTANCE;
                    desc = "scalar kernels: " + why[0];
                }
            }
            KERNELS = k;
            DESCRIPTION = desc;
            System.getLogger("dev.vecloss").log(Level.DEBUG, DESCRIPTION);
        }
    }
}
