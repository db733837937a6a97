package dev.vecloss.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/**
 * {@link KernelProvider#propertyProblem}, the rule the command line checks before it loads any
 * kernel ({@code dev.vecloss.Kernels.checkProperties}): the words of the selection's errors, and
 * the width read only where the Panama kernels would be loaded. (The selection itself, in child
 * JVMs, is KernelSelectionTest's.)
 */
class KernelProviderTest {

    @Test
    void propertiesAreCheckedWithoutLoadingThePanamaKernels() {
        String bits = "vecloss.vectorBits must be 128, 256 or 512, not '100'";
        assertEquals(bits, KernelProvider.propertyProblem(null, "100", false, "mixed mode"));
        assertEquals(bits, KernelProvider.propertyProblem("panama", "100", false, "mixed mode"));
        assertEquals("vecloss.impl must be panama or scalar, not 'simd'",
                KernelProvider.propertyProblem(" simd", null, false, "mixed mode"));
        for (String ok : new String[] {null, "", " ", "128", "256", " 512 "}) {
            assertNull(KernelProvider.propertyProblem(null, ok, false, "mixed mode"), ok);
        }
        // where the library does not load the Panama kernels, it does not read the width either
        assertNull(KernelProvider.propertyProblem("scalar", "100", false, "mixed mode"));
        assertNull(KernelProvider.propertyProblem(null, "100", true, "mixed mode"));
        assertNull(KernelProvider.propertyProblem(null, "100", false, "interpreted mode"));
        assertNull(KernelProvider.propertyProblem("", "100", false, "mixed mode, emulated-client"));
        assertEquals(bits, KernelProvider.propertyProblem("panama", "100", false, "interpreted mode"));
    }

}
