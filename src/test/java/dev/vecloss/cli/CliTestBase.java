package dev.vecloss.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.CrossEntropy;
import dev.vecloss.Kernels;
import dev.vecloss.Tensor;
import dev.vecloss.npy.Npy;
import dev.vecloss.npy.NpyArray;
import dev.vecloss.npy.NpyFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the in-process command-line tests share: a temporary folder with a (6, 5) float32 input
 * {@code x.npy} and int64 labels {@code t.npy}, {@link Main#run} with captured streams, and
 * {@link #fails}, which checks the error contract (status 2, one {@code vecloss: } line, nothing
 * on stdout, no file created, removed or changed).
 */
abstract class CliTestBase {
    static final int N = 6;
    static final int C = 5;

    @TempDir
    Path dir;

    float[] logits;
    long[] labels;
    Path x;
    Path t;

    /** One run's exit status and captured streams (fields, not a record, for the subclasses' brevity). */
    static final class Run {
        final int status;
        final String out;
        final String err;

        Run(int status, String out, String err) {
            this.status = status;
            this.out = out;
            this.err = err;
        }

        List<String> errLines() {
            return err.isEmpty() ? List.of() : List.of(err.split("\n", -1)).subList(0, err.split("\n", -1).length - 1);
        }
    }

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Stderr of a successful run: nothing, or the one notice when the scalar kernels stand in. */
    static List<String> successErr() {
        return Kernels.vectorModuleAbsent() ? List.of("vecloss: " + Main.ABSENT_NOTICE) : List.of();
    }

    static void assertSuccess(Run r, String expectedOut) {
        assertEquals(successErr(), r.errLines(), r.err);
        assertEquals(0, r.status, r.err);
        assertEquals(expectedOut, r.out);
    }

    @BeforeEach
    void data() throws IOException {
        Random rnd = new Random(7);
        logits = new float[N * C];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) (rnd.nextGaussian() * 2);
        }
        labels = new long[] {0, 4, 2, -100, 3, 1};
        x = NpyFiles.f32(dir.resolve("x.npy"), logits, N, C);
        t = NpyFiles.i64(dir.resolve("t.npy"), labels, N);
    }

    static String p(Path file) {
        return file.toString();
    }

    /**
     * The library's answer on the very same files, read the same way the CLI reads them, with the
     * scalar kernels: the CLI runs inputs as small as the tests' on them ({@link KernelChoice}).
     */
    static double library(boolean nll, Path input, Path target, CrossEntropy.Options o, Tensor losses, Tensor grad)
            throws IOException {
        try (NpyArray a = Npy.read(input); NpyArray b = Npy.read(target)) {
            return Kernels.callWith(Kernels.Implementation.SCALAR, () -> nll
                    ? CrossEntropy.nllLoss(a.tensor(), b.tensor(), o, losses, grad)
                    : CrossEntropy.crossEntropy(a.tensor(), b.tensor(), o, losses, grad));
        }
    }

    /**
     * Runs a failing command: status 2, one stderr line matching all {@code fragments} (regular
     * expressions, case-insensitive), nothing on stdout, and the folder exactly as before: no file
     * created or removed, and every regular file's bytes unchanged.
     */
    Run fails(String[] args, String... fragments) throws IOException {
        Set<String> before = listing();
        Run r = run(args);
        assertEquals(2, r.status, r.err);
        assertEquals("", r.out);
        assertEquals(1, r.errLines().size(), r.err);
        String line = r.errLines().get(0);
        assertTrue(line.startsWith("vecloss: "), line);
        for (String f : fragments) {
            assertTrue(Pattern.compile(f, Pattern.CASE_INSENSITIVE).matcher(line).find(),
                    "'" + line + "' should match " + f);
        }
        assertFalse(line.contains("\tat "), line);
        assertEquals(before, listing(), "files left behind, removed or changed");
        return r;
    }

    /** Every entry under {@link #dir}, with its kind and, for a regular file, a hash of its bytes. */
    Set<String> listing() throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            List<Path> all = s.toList();
            Set<String> out = new TreeSet<>();
            for (Path q : all) {
                String kind;
                if (Files.isSymbolicLink(q)) {
                    kind = "link -> " + Files.readSymbolicLink(q);
                } else if (Files.isRegularFile(q, LinkOption.NOFOLLOW_LINKS)) {
                    kind = "file " + java.util.Arrays.hashCode(Files.readAllBytes(q));
                } else if (Files.isDirectory(q, LinkOption.NOFOLLOW_LINKS)) {
                    kind = "dir";
                } else {
                    kind = "other";
                }
                out.add(dir.relativize(q) + " " + kind);
            }
            return out;
        }
    }

    String[] ce(String... more) {
        List<String> a = new ArrayList<>(List.of("cross-entropy", "--input", p(x), "--target", p(t)));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    String out() {
        return p(dir.resolve("out.npy"));
    }

    String grad() {
        return p(dir.resolve("grad.npy"));
    }
}
