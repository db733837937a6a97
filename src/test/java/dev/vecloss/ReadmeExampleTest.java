package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's Java examples are compiled and run as they stand, so the front page cannot rot
 * (STYLE.md 11, as Commons' UserGuideTest): the first one, cross-entropy, against PyTorch's
 * float64 values, and the one of the "Segmentation losses" section against the values of the
 * torch port of smp in tools/golden/make_golden.py. The README quotes both.
 */
class ReadmeExampleTest {
    /** {@code F.cross_entropy} of the example in torch 2.13, float64: mean, then the weighted smoothed sum. */
    private static final double[] PYTORCH = {0.17545638058931123, 0.7407739814969401};

    /** smp's DiceLoss and TverskyLoss(0.3, 0.7, gamma 2, ignore_index 255) of the segmentation example, float64. */
    private static final double[] SMP = {0.5978681531745188, 0.36071125576029106};

    @Test
    void javaExampleRunsAndMatchesPytorch(@TempDir Path dir) throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        checkBlock(dir, readme, 0, PYTORCH);
    }

    /** {@code F.cross_entropy} of the accumulator example with label_smoothing 0.1, torch 2.13, float64. */
    private static final double ACCUMULATED = 0.967399373937876;

    @Test
    void accumulatorExampleRunsAndPrintsTheOneCallsValue(@TempDir Path dir) throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        int section = readme.indexOf("### Datasets in batches");
        assertTrue(section >= 0, "README.md has an accumulator section");
        List<String> lines = checkBlock(dir, readme, section, new double[] {ACCUMULATED, ACCUMULATED});
        assertEquals(lines.get(0), lines.get(1), "the accumulator prints the one call's value, digit for digit");
    }

    @Test
    void segmentationExampleRunsAndMatchesSmp(@TempDir Path dir) throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        int section = readme.indexOf("## Segmentation losses");
        assertTrue(section >= 0, "README.md has a segmentation section");
        checkBlock(dir, readme, section, SMP);
    }

    /**
     * Compiles and runs the first ```java block of {@code readme} from {@code from} (its import
     * lines above a method holding the rest), and checks that it prints {@code expected}, one
     * value a line, within 1e-6 relative, values the README quotes; returns the lines.
     */
    private List<String> checkBlock(Path dir, String readme, int from, double[] expected) throws Exception {
        Matcher m = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(readme);
        assertTrue(m.find(from), "README.md has a ```java block after offset " + from);
        StringBuilder imports = new StringBuilder();
        StringBuilder body = new StringBuilder();
        for (String line : m.group(1).split("\n")) {
            (line.startsWith("import ") ? imports : body).append(line).append('\n');
        }
        Path src = dir.resolve("ReadmeSnippet.java");
        Files.writeString(src, imports + "public class ReadmeSnippet { public static void run() throws Exception {\n"
                + body + "}}\n");
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        int status = javac.run(null, null, null, "-d", dir.toString(),
                "-cp", System.getProperty("java.class.path"), src.toString());
        assertEquals(0, status, "the README example compiles");

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream old = System.out;
        try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()}, getClass().getClassLoader())) {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            loader.loadClass("ReadmeSnippet").getMethod("run").invoke(null);
        } finally {
            System.setOut(old);
        }
        List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(expected.length, lines.size(), "printed lines: " + lines);
        for (int i = 0; i < expected.length; i++) {
            double got = Double.parseDouble(lines.get(i));
            assertEquals(expected[i], got, 1e-6 * expected[i], "line " + (i + 1));
            assertTrue(readme.contains(Double.toString(expected[i])), "README quotes " + expected[i]);
        }
        return lines;
    }
}
