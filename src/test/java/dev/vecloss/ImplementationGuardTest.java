package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vecloss.internal.KernelProvider;
import org.junit.jupiter.api.Test;

/**
 * Fails a surefire pass whose selected kernels are not the ones it was meant to test: the pom
 * runs the suite once with the incubator module ({@code vecloss.expectImpl=panama}) and once
 * without ({@code scalar}). Without this guard a missing flag would silently test the scalar
 * kernels twice.
 */
class ImplementationGuardTest {
    @Test
    void selectedKernelsAreTheExpectedOnes() {
        String expected = System.getProperty("vecloss.expectImpl");
        if (expected == null) {
            return; // run from an IDE without the pom's passes: nothing to guard
        }
        assertEquals(expected, KernelProvider.get().name(), KernelProvider.description());
    }
}
