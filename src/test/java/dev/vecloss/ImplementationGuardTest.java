package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * Fails a surefire pass whose selected kernels are not the ones it was meant to test: the pom
 * runs the suite with the Panama kernels at the machine's width, with the Panama kernels at 256
 * bits ({@code vecloss.expectImpl=panama}, {@code vecloss.vectorBits=256}) and with the scalar
 * kernels ({@code scalar}). Without this guard a missing flag would silently test the same
 * kernels twice.
 */
class ImplementationGuardTest {
    @Test
    void selectedKernelsAreTheExpectedOnes() {
        String expected = System.getProperty("vecloss.expectImpl");
        if (expected == null) {
            return; // run from an IDE without the pom's passes: nothing to guard
        }
        assertEquals(expected, Kernels.selected().name().toLowerCase(Locale.ROOT), Kernels.description());
        String bits = System.getProperty("vecloss.vectorBits");
        if (bits != null) {
            int machine = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize();
            int want = Math.min(machine, Integer.parseInt(bits));
            assertTrue(Kernels.description().contains(want + "-bit vectors"), Kernels.description());
        }
    }
}
