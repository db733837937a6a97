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
 * The README's segmentation example (the Java block of its "Segmentation losses" section) is
 * compiled and run as it stands, and its output checked against the values of the torch port of
 * smp in tools/golden/make_golden.py, which the README quotes.
 */
class RegionLossReadmeTest {
    /** smp's DiceLoss and TverskyLoss(0.3, 0.7, gamma 2, ignore_index 255) of the example, float64. */
    private static final double[] SMP = {0.5978681531745188, 0.36071125576029106};

    @Test
    void segmentationExampleRunsAndMatchesSmp(@TempDir Path dir) throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        int section = readme.indexOf("## Segmentation losses");
        assertTrue(section >= 0, "README.md has a segmentation section");
        Matcher m = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(readme);
        assertTrue(m.find(section), "the segmentation section has a ```java block");
        StringBuilder imports = new StringBuilder();
        StringBuilder body = new StringBuilder();
        for (String line : m.group(1).split("\n")) {
            (line.startsWith("import ") ? imports : body).append(line).append('\n');
        }
        Path src = dir.resolve("SegSnippet.java");
        Files.writeString(src, imports + "public class SegSnippet { public static void run() throws Exception {\n"
                + body + "}}\n");
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        int status = javac.run(null, null, null, "-d", dir.toString(),
                "-cp", System.getProperty("java.class.path"), src.toString());
        assertEquals(0, status, "the README example compiles");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream old = System.out;
        try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()}, getClass().getClassLoader())) {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            loader.loadClass("SegSnippet").getMethod("run").invoke(null);
        } finally {
            System.setOut(old);
        }
        List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(SMP.length, lines.size(), "printed lines: " + lines);
        for (int i = 0; i < SMP.length; i++) {
            assertEquals(SMP[i], Double.parseDouble(lines.get(i)), 1e-6 * SMP[i], "line " + (i + 1));
            assertTrue(readme.contains(Double.toString(SMP[i])), "README quotes " + SMP[i]);
        }
    }
}
