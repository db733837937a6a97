package dev.vecloss.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vecloss.npy.Npy;
import dev.vecloss.npy.NpyArray;
import dev.vecloss.npy.NpyFiles;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line in a JVM of its own ({@code java -cp target/classes dev.vecloss.cli.Main}),
 * for what cannot be tried in-process: system properties read once per JVM, standard output on
 * a full device, a file size limit, and signals.
 */
class CliProcessTest {
    static final String INCUBATOR_WARNING = "WARNING: Using incubator modules: jdk.incubator.vector";

    @TempDir
    Path dir;

    Path classes;
    Path x;
    Path t;

    @BeforeEach
    void setUp() throws IOException {
        Path root = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
        classes = root.resolve("target/classes");
        assumeTrue(Files.exists(classes.resolve("dev/vecloss/cli/Main.class")), "no target/classes");
        x = NpyFiles.f32(dir.resolve("x.npy"), new float[] {1, 2, 3, 0.5f, -1, 4}, 2, 3);
        t = NpyFiles.i64(dir.resolve("t.npy"), new long[] {2, 0}, 2);
    }

    record Proc(int status, String out, List<String> err) {}

    static String javaExe() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** The java command line: this JVM's java, {@code jvm} options, the CLI's classes, {@code args}. */
    List<String> javaCommand(List<String> jvm, String... args) {
        List<String> cmd = new ArrayList<>(List.of(javaExe(), "-XX:-UsePerfData"));
        cmd.addAll(jvm);
        cmd.addAll(List.of("-cp", classes.toString(), "dev.vecloss.cli.Main"));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Runs {@code cmd} in {@link #dir}; stdout to {@code stdout} (a file, or /dev/full), stderr captured. */
    Proc start(List<String> cmd, File stdout) throws IOException, InterruptedException {
        Path err = dir.resolve("stderr.txt");
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
                .redirectOutput(stdout).redirectError(err.toFile());
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.environment().remove("JDK_JAVA_OPTIONS");
        pb.environment().remove("_JAVA_OPTIONS");
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "timed out: " + cmd);
        String out = stdout.getPath().startsWith("/dev/") ? "" : Files.readString(stdout.toPath());
        List<String> lines = Files.readAllLines(err).stream().filter(l -> !l.equals(INCUBATOR_WARNING)).toList();
        return new Proc(p.exitValue(), out, lines);
    }

    Proc java(List<String> jvm, String... args) throws IOException, InterruptedException {
        return start(javaCommand(jvm, args), dir.resolve("stdout.txt").toFile());
    }

    static void assertOneError(Proc p, String... fragments) {
        assertEquals(2, p.status, String.join("\n", p.err));
        assertEquals("", p.out);
        assertEquals(1, p.err.size(), String.join("\n", p.err));
        String line = p.err.get(0);
        assertTrue(line.startsWith("vecloss: "), line);
        for (String f : fragments) {
            assertTrue(line.contains(f), "'" + line + "' should contain " + f);
        }
    }

    // ---- a bad vecloss.impl or vecloss.vectorBits: one line, exit 2 ------------------------------------

    @Test
    void aBadImplPropertyIsOneLineNamingItsValues() throws Exception {
        List<String> bad = List.of("-Dvecloss.impl=simd");
        assertOneError(java(bad, "cross-entropy", "--input", "x.npy", "--target", "t.npy"),
                "vecloss.impl", "panama", "scalar", "'simd'");
        assertOneError(java(bad, "-v", "cross-entropy", "--input", "x.npy", "--target", "t.npy"), "vecloss.impl");
        assertOneError(java(bad, "bench", "--n", "4", "--c", "3"), "vecloss.impl", "panama", "scalar");
        Proc help = java(bad, "cross-entropy", "--help");
        assertEquals(0, help.status, String.join("\n", help.err));
    }

    @Test
    void aBadVectorBitsPropertyIsOneLineNamingItsValues() throws Exception {
        List<String> bad = List.of("--add-modules", "jdk.incubator.vector", "-Dvecloss.vectorBits=100");
        assertOneError(java(bad, "nll-loss", "--input", "x.npy", "--target", "t.npy"),
                "vecloss.vectorBits", "128, 256 or 512", "'100'");
        assertOneError(java(bad, "-v", "cross-entropy", "--input", "x.npy", "--target", "t.npy"),
                "vecloss.vectorBits");
        assertOneError(java(bad, "bench", "--n", "4", "--c", "3"), "vecloss.vectorBits");
    }

    // ---- item 4: standard output on a full device --------------------------------------------------

    @Test
    void aFullStandardOutputIsAnError() throws Exception {
        File full = new File("/dev/full");
        assumeTrue(full.exists(), "no /dev/full");
        Proc p = start(javaCommand(List.of(), "cross-entropy", "--input", "x.npy", "--target", "t.npy",
                "--output", "o.npy"), full);
        assertOneError(p, "standard output");
        assertTrue(Files.notExists(dir.resolve("o.npy")), "an output of a failed command");
        assertOneError(start(javaCommand(List.of(), "--help"), full), "standard output");
    }

    // ---- item 3: the second output cannot be written --------------------------------------------------

    static boolean onPath(String exe) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, exe))) {
                return true;
            }
        }
        return false;
    }

    /**
     * The gradient cannot be written and the old output file stays as it was. How the failure is
     * made: the process runs under a file size limit ({@code ulimit -f 64}, 64 KiB, set by bash
     * before it starts java), which the small {@code --output} fits and the 256 KiB
     * {@code --grad} does not: the write fails with "File too large" (EFBIG; the JVM ignores
     * SIGXFSZ), as on a full disk, whatever the user's rights (tests often run as root, where
     * permission bits do not stop a write).
     */
    @Test
    void aFailedSecondOutputKeepsTheOldFiles() throws Exception {
        assumeTrue(onPath("bash"), "no bash");
        int n = 64, c = 1024; // gradient: 256 KiB of float32
        NpyFiles.zeros(dir.resolve("big.npy"), "<f4", 4, n, c);
        NpyFiles.zeros(dir.resolve("labels.npy"), "<i8", 8, n);
        byte[] oldOutput = "the user's old o.npy".getBytes();
        Files.write(dir.resolve("o.npy"), oldOutput);
        List<String> cmd = new ArrayList<>(List.of("bash", "-c", "ulimit -f 64 && exec \"$@\"", "bash"));
        cmd.addAll(javaCommand(List.of(), "cross-entropy", "--input", "big.npy", "--target", "labels.npy",
                "--output", "o.npy", "--grad", "g.npy"));
        Proc p = start(cmd, dir.resolve("stdout.txt").toFile());
        assertOneError(p, "--grad", "g.npy");
        assertArrayEquals(oldOutput, Files.readAllBytes(dir.resolve("o.npy")), "the old --output file changed");
        assertTrue(Files.notExists(dir.resolve("g.npy")));
        assertEquals(List.of(), temporaries());
    }

    List<Path> temporaries() throws IOException {
        return temporaries(dir);
    }

    /** The temporary files of the npy writer in {@code dir}: {@code .name.<hex>.tmp}. */
    static List<Path> temporaries(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(f -> f.getFileName().toString().endsWith(".tmp")).toList();
        }
    }

    // ---- item 5: a signal while an output is being written ---------------------------------------------

    /**
     * SIGTERM while the gradient (256 MiB) is being written: the process exits nonzero and leaves
     * no temporary file; the gradient file is absent or whole (had the rename won the race).
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void sigtermWhileWritingLeavesNoTemporaryFile() throws Exception {
        interruptWhileWriting(dir, javaCommand(List.of("--add-modules", "jdk.incubator.vector"),
                "cross-entropy", "--input", "big.npy", "--target", "labels.npy", "--grad", "g.npy"));
    }

    /** Runs {@code cmd} on a large sparse input and sends SIGTERM once its temporary output file appears. */
    static void interruptWhileWriting(Path dir, List<String> cmd) throws Exception {
        int n = 65_536, c = 1024;
        NpyFiles.zeros(dir.resolve("big.npy"), "<f4", 4, n, c);
        NpyFiles.zeros(dir.resolve("labels.npy"), "<i8", 8, n);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
                .redirectOutput(dir.resolve("stdout.txt").toFile())
                .redirectError(dir.resolve("stderr.txt").toFile());
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Process p = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        boolean seen = false;
        while (!seen && p.isAlive() && System.nanoTime() < deadline) {
            seen = !temporaries(dir).isEmpty();
            if (!seen) {
                Thread.sleep(1);
            }
        }
        assertTrue(seen, "no temporary file seen; stderr: " + Files.readString(dir.resolve("stderr.txt")));
        List<ProcessHandle> children = p.descendants().toList(); // the JVM, when cmd is the launcher
        p.destroy(); // SIGTERM, to the process started (the launcher, or java itself)
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "still running after SIGTERM");
        for (ProcessHandle h : children) {
            // a launcher must not return while the JVM it started runs on, orphaned, writing the file
            assertTrue(!h.isAlive(), "process " + h.pid() + " " + h.info().command().orElse("")
                    + " outlived the launcher");
        }
        assertNotEquals(0, p.exitValue());
        assertEquals(List.of(), temporaries(dir));
        Path g = dir.resolve("g.npy");
        if (Files.exists(g)) {
            try (NpyArray a = Npy.read(g)) {
                assertArrayEquals(new long[] {n, c}, a.tensor().shape());
            }
        }
    }
}
