package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

/**
 * The kernel selection in fresh JVMs, since it is made once per JVM (issue 6, defect 5): an
 * invalid {@code vecloss.impl} or {@code vecloss.vectorBits} is an {@link IllegalArgumentException}
 * naming the property and its valid values, on every call (not an
 * {@code ExceptionInInitializerError} and then {@code NoClassDefFoundError}); a JVM without C2
 * falls back to the scalar kernels and says why; {@code vecloss.vectorBits} narrows the vectors.
 */
class KernelSelectionTest {

    /** Run in the child JVM: two loss calls, then the selection, one line each. */
    public static void main(String[] args) {
        for (int i = 0; i < 2; i++) {
            try {
                double l = CrossEntropy.crossEntropy(Tensor.of(new float[] {1, 2, 3}, 1, 3), Tensor.of(new long[] {0}));
                System.out.println("loss " + l);
            } catch (RuntimeException | Error e) {
                System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        }
        try {
            System.out.println("selected " + Kernels.selected());
        } catch (RuntimeException e) {
            System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
        }
        System.out.println("description " + Kernels.description());
    }

    private static List<String> child(String... jvmArgs) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--add-modules");
        cmd.add("jdk.incubator.vector");
        cmd.addAll(List.of(jvmArgs));
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(KernelSelectionTest.class.getName());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
        p.getOutputStream().close();
        p.getErrorStream().transferTo(java.io.OutputStream.nullOutputStream());
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child JVM did not finish");
        assertEquals(0, p.exitValue(), out);
        return out.lines().toList();
    }

    @Test
    void anInvalidImplIsAClearErrorOnEveryCall() throws Exception {
        List<String> out = child("-Dvecloss.impl=simd");
        String want = "IllegalArgumentException: vecloss.impl must be panama or scalar, not 'simd'";
        assertEquals(List.of(want, want, want), out.subList(0, 3), String.join("\n", out));
    }

    @Test
    @EnabledIf("panamaAvailable")
    void anInvalidVectorWidthIsAClearErrorOnEveryCall() throws Exception {
        List<String> out = child("-Dvecloss.vectorBits=300");
        String want = "IllegalArgumentException: vecloss.vectorBits must be 128, 256 or 512, not '300'";
        assertEquals(List.of(want, want, want), out.subList(0, 3), String.join("\n", out));
    }

    @Test
    @EnabledIf("panamaAvailable")
    void withoutC2TheScalarKernelsAreChosenAndTheLineSaysWhy() throws Exception {
        List<String> out = child("-XX:TieredStopAtLevel=1");
        assertEquals("selected SCALAR", out.get(2), String.join("\n", out));
        assertTrue(out.get(3).contains("without its optimising compiler"), out.get(3));
        // forcing still works
        assertEquals("selected PANAMA", child("-XX:TieredStopAtLevel=1", "-Dvecloss.impl=panama").get(2));
    }

    @Test
    @EnabledIf("panamaAvailable")
    void vectorBitsNarrowsTheLanes() throws Exception {
        List<String> out = child("-Dvecloss.vectorBits=128");
        assertEquals("selected PANAMA", out.get(2), String.join("\n", out));
        assertTrue(out.get(3).contains("128-bit vectors, 4 float lanes"), out.get(3));
    }

    static boolean panamaAvailable() {
        return !Kernels.vectorModuleAbsent();
    }
}
