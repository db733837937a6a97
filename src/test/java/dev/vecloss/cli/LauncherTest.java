package dev.vecloss.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vecloss.CrossEntropy;
import dev.vecloss.npy.Npy;
import dev.vecloss.npy.NpyArray;
import dev.vecloss.npy.NpyFiles;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end through {@code bin/vecloss} as a separate process. Opt-in by circumstance: surefire
 * runs before {@code package}, so this runs only when {@code target/vecloss-*.jar} exists and is
 * at least as new as the compiled CLI (a stale jar from an earlier build would test old code),
 * and bash is available; otherwise it is skipped. Run {@code ./mvnw -q package} (or verify)
 * twice, or package then test, to exercise it.
 */
class LauncherTest {
    @TempDir
    Path dir;

    Path root;
    Path launcher;

    @BeforeEach
    void findLauncherAndJar() throws IOException {
        root = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
        launcher = root.resolve("bin/vecloss");
        assumeTrue(Files.isExecutable(launcher), "no executable bin/vecloss");
        assumeTrue(onPath("bash"), "no bash");
        Path classes = root.resolve("target/classes/dev/vecloss/cli/Main.class");
        Path jar;
        try (Stream<Path> s = Files.list(root.resolve("target"))) {
            jar = s.filter(p -> p.getFileName().toString().matches("vecloss-.*\\.jar"))
                    .filter(p -> !p.getFileName().toString().matches(".*-(sources|javadoc|tests)\\.jar"))
                    .findFirst().orElse(null);
        }
        assumeTrue(jar != null, "no target/vecloss-*.jar yet (run ./mvnw -q package -DskipTests)");
        FileTime built = Files.getLastModifiedTime(jar);
        assumeTrue(!Files.exists(classes) || built.compareTo(Files.getLastModifiedTime(classes)) >= 0,
                "target/" + jar.getFileName() + " is older than the compiled classes");
    }

    static boolean onPath(String exe) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, exe))) {
                return true;
            }
        }
        return false;
    }

    record Proc(int status, String out, String err) {}

    /** Runs the launcher from the temp folder (not the repository) with this JVM as JAVA_HOME. */
    Proc launch(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("bash", launcher.toString()));
        cmd.addAll(List.of(args));
        Path out = dir.resolve("stdout.txt");
        Path err = dir.resolve("stderr.txt");
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.environment().remove("JDK_JAVA_OPTIONS");
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "launcher timed out");
        return new Proc(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    @Test
    void launcherPrintsTheLossAndHidesTheIncubatorWarning() throws Exception {
        // float64 input: always the scalar kernels, so the value cannot depend on this JVM's module set
        Path x = NpyFiles.f64(dir.resolve("x.npy"), new double[] {1, 2, 3, 0.5, -1, 4}, 2, 3);
        Path t = NpyFiles.i64(dir.resolve("t.npy"), new long[] {2, 0}, 2);
        double expected;
        try (NpyArray a = Npy.read(x); NpyArray b = Npy.read(t)) {
            expected = CrossEntropy.crossEntropy(a.tensor(), b.tensor());
        }
        Proc ok = launch("cross-entropy", "--input", "x.npy", "--target=t.npy");
        assertEquals("", ok.err);
        assertEquals(0, ok.status);
        assertEquals(expected + "\n", ok.out);

        Path bad = NpyFiles.i64(dir.resolve("bad.npy"), new long[] {2, 9}, 2);
        Proc err = launch("cross-entropy", "--input", "x.npy", "--target", "bad.npy", "--output", "o.npy");
        assertEquals(2, err.status);
        assertEquals("", err.out);
        assertTrue(err.err.matches("vecloss: [^\n]*target 9[^\n]*flat index 1[^\n]*\n"), err.err);
        assertTrue(Files.notExists(dir.resolve("o.npy")));
        assertTrue(Files.exists(bad));
    }
}
