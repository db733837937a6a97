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
 * The README's Java example is compiled and run as it stands, so the front page cannot rot
 * (STYLE.md 11, as Commons' UserGuideTest). Its output is checked against PyTorch's float64
 * values, which the README quotes.
 */
class ReadmeExampleTest {
    /** {@code F.cross_entropy} of the example in torch 2.13, float64: mean, then the weighted smoothed sum. */
    private static final double[] PYTORCH = {0.17545638058931123, 0.7407739814969401};

    @Test
    void javaExampleRunsAndMatchesPytorch(@TempDir Path dir) throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        Matcher m = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(readme);
        assertTrue(m.find(), "README.md has a ```java block");
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
        assertEquals(PYTORCH.length, lines.size(), "printed lines: " + lines);
        for (int i = 0; i < PYTORCH.length; i++) {
            double got = Double.parseDouble(lines.get(i));
            assertEquals(PYTORCH[i], got, 1e-6 * PYTORCH[i], "line " + (i + 1));
            assertTrue(readme.contains(Double.toString(PYTORCH[i])), "README quotes " + PYTORCH[i]);
        }
    }
}
