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
import java.util.Map;
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
        return launch(Map.of(), dir.resolve("stdout.txt").toFile(), args);
    }

    /**
     * Runs the launcher with {@code env} added to a clean environment (none of the JVM's option
     * variables), stdout to {@code stdout}.
     */
    Proc launch(Map<String, String> env, File stdout, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("bash", launcher.toString()));
        cmd.addAll(List.of(args));
        Path err = dir.resolve("stderr.txt");
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
                .redirectOutput(stdout).redirectError(err.toFile());
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.environment().remove("JDK_JAVA_OPTIONS");
        pb.environment().remove("_JAVA_OPTIONS");
        pb.environment().remove("VECLOSS_OPTS");
        pb.environment().putAll(env);
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "launcher timed out");
        String out = stdout.getPath().startsWith("/dev/") ? "" : Files.readString(stdout.toPath());
        return new Proc(p.exitValue(), out, Files.readString(err));
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

    Path x() throws IOException {
        return NpyFiles.f64(dir.resolve("x.npy"), new double[] {1, 2, 3, 0.5, -1, 4}, 2, 3);
    }

    Path t() throws IOException {
        return NpyFiles.i64(dir.resolve("t.npy"), new long[] {2, 0}, 2);
    }

    /** Item 7: the JVM's notes about option variables are not vecloss's lines and do not reach stderr. */
    @Test
    void theJvmsPickedUpNotesAreHidden() throws Exception {
        x();
        t();
        String expected = launch("cross-entropy", "--input", "x.npy", "--target", "t.npy").out;
        Map<String, String> env = Map.of("JAVA_TOOL_OPTIONS", "-Dvecloss.test=1",
                "JDK_JAVA_OPTIONS", "-Dvecloss.test2=2", "_JAVA_OPTIONS", "-Dvecloss.test3=3");
        Proc ok = launch(env, dir.resolve("stdout.txt").toFile(), "cross-entropy", "--input", "x.npy", "--target",
                "t.npy");
        assertEquals("", ok.err);
        assertEquals(0, ok.status);
        assertEquals(expected, ok.out);
        // an empty value and values over two lines print notes too
        Proc odd = launch(Map.of("JAVA_TOOL_OPTIONS", "", "JDK_JAVA_OPTIONS", "-Da=1\n-Db=2",
                "_JAVA_OPTIONS", "-Dc=3\n\n-Dd=4"), dir.resolve("stdout.txt").toFile(),
                "cross-entropy", "--input", "x.npy", "--target", "t.npy");
        assertEquals("", odd.err);
        assertEquals(0, odd.status);
        assertEquals(expected, odd.out);
        // and an error is still its one line
        Proc bad = launch(env, dir.resolve("stdout.txt").toFile(), "cross-entropy", "--input", "x.npy");
        assertEquals(2, bad.status);
        assertTrue(bad.err.matches("vecloss: [^\n]*--target[^\n]*\n"), bad.err);
    }

    /** VECLOSS_OPTS passes JVM options, split into words like JAVA_OPTS. */
    @Test
    void vecLossOptsReachTheJvm() throws Exception {
        x();
        t();
        Proc scalar = launch(Map.of("VECLOSS_OPTS", " -Dvecloss.impl=scalar   -Xss4m "),
                dir.resolve("stdout.txt").toFile(), "-v", "cross-entropy", "--input", "x.npy", "--target", "t.npy");
        assertEquals(0, scalar.status, scalar.err);
        assertTrue(scalar.err.startsWith("vecloss: scalar kernels (forced by -Dvecloss.impl=scalar)"), scalar.err);
        Proc bad = launch(Map.of("VECLOSS_OPTS", "-Dvecloss.impl=fast"), dir.resolve("stdout.txt").toFile(),
                "cross-entropy", "--input", "x.npy", "--target", "t.npy");
        assertEquals(2, bad.status);
        assertEquals("", bad.out);
        assertTrue(bad.err.matches("vecloss: [^\n]*vecloss\\.impl[^\n]*panama[^\n]*scalar[^\n]*\n"), bad.err);
        // no globbing: with a file of that name here, a glob would turn the bad value into a good one
        Files.createFile(dir.resolve("-Dvecloss.impl=scalar"));
        Proc glob = launch(Map.of("VECLOSS_OPTS", "-Dvecloss.impl=scala?"), dir.resolve("stdout.txt").toFile(),
                "cross-entropy", "--input", "x.npy", "--target", "t.npy");
        assertEquals(2, glob.status, glob.err);
        assertTrue(glob.err.contains("'scala?'"), glob.err);
        // options the JVM refuses: exit 2, and the launcher's line says where to look
        Proc jvm = launch(Map.of("VECLOSS_OPTS", "-Xno-such-option"), dir.resolve("stdout.txt").toFile(),
                "cross-entropy", "--input", "x.npy", "--target", "t.npy");
        assertEquals(2, jvm.status, jvm.err);
        assertTrue(jvm.err.endsWith("\n") && jvm.err.lines().toList().getLast().startsWith("vecloss: ")
                && jvm.err.contains("VECLOSS_OPTS"), jvm.err);
    }

    /** Item 4: a result that cannot be written is an error, not exit 0. */
    @Test
    void aFullStandardOutputIsAnError() throws Exception {
        File full = new File("/dev/full");
        assumeTrue(full.exists(), "no /dev/full");
        x();
        t();
        Proc p = launch(Map.of(), full, "cross-entropy", "--input", "x.npy", "--target", "t.npy");
        assertEquals(2, p.status, p.err);
        assertTrue(p.err.matches("vecloss: [^\n]*standard output[^\n]*\n"), p.err);
    }

    /**
     * Item 5 through the launcher: SIGTERM to the launcher (as timeout(1) or a job scheduler sends
     * it) reaches the JVM, which removes its temporary file; the launcher returns only after the
     * JVM has exited, so no orphan goes on writing.
     */
    @Test
    @org.junit.jupiter.api.Timeout(value = 60, unit = TimeUnit.SECONDS)
    void sigtermToTheLauncherReachesTheJvm() throws Exception {
        CliProcessTest.interruptWhileWriting(dir, List.of("bash", launcher.toString(), "cross-entropy",
                "--input", "big.npy", "--target", "labels.npy", "--grad", "g.npy"));
    }

    /**
     * Several files through the launcher: the one file's printed value, and stderr empty (not a
     * terminal here, so no progress line; the launcher says so to the JVM), also with the JVM's
     * notes to hide.
     */
    @Test
    void shardsThroughTheLauncher() throws Exception {
        Path x = x();
        Path t = t();
        Files.createDirectories(dir.resolve("p"));
        Files.createDirectories(dir.resolve("l"));
        NpyFiles.f64(dir.resolve("p/s-1.npy"), new double[] {1, 2, 3}, 1, 3);
        NpyFiles.f64(dir.resolve("p/s-10.npy"), new double[] {0.5, -1, 4}, 1, 3);
        NpyFiles.i64(dir.resolve("l/s-1.npy"), new long[] {2}, 1);
        NpyFiles.i64(dir.resolve("l/s-10.npy"), new long[] {0}, 1);
        Proc one = launch("cross-entropy", "--input", x.toString(), "--target", t.toString());
        assertEquals(0, one.status, one.err);
        Proc shards = launch("cross-entropy", "--input", "p", "--target", "l/s-*.npy");
        assertEquals("", shards.err);
        assertEquals(0, shards.status);
        assertEquals(one.out, shards.out);
        Proc listed = launch(Map.of("JAVA_TOOL_OPTIONS", "-Dx=1"), dir.resolve("stdout.txt").toFile(), "cross-entropy",
                "--input", "p/s-1.npy", "p/s-10.npy", "--target", "l/s-1.npy", "l/s-10.npy");
        assertEquals("", listed.err);
        assertEquals(one.out, listed.out);
        Proc bad = launch(Map.of("JAVA_TOOL_OPTIONS", "-Dx=1"), dir.resolve("stdout.txt").toFile(), "cross-entropy",
                "--input", "p", "--target", "l/nothing-*.npy");
        assertEquals(2, bad.status);
        assertEquals("vecloss: --target 'l/nothing-*.npy': no file matches this pattern\n", bad.err);
    }
}
