package dev.vecloss.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vecloss.npy.Npy;
import dev.vecloss.npy.NpyArray;
import dev.vecloss.npy.NpyFiles;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The command line and the files it is given (issue 7), in-process: an output that is an input
 * (by any path or link) is refused, so is an output that exists and is not a regular file; an
 * input that is not a regular file is refused before it is opened (a FIFO would block the open);
 * a result that cannot be written to stdout is an error. Every refusal is the error contract of
 * {@link #fails}: status 2, one line, and the folder byte for byte as before.
 */
class FileSafetyTest extends CliTestBase {

    /** A path to {@code file} that is not the string the test made it with: {@code dir/./name}. */
    Path dotted(Path file) {
        return Path.of(file.getParent() + "/./" + file.getFileName());
    }

    /** {@code file} relative to the working folder, which is not the temp folder. */
    static Path relative(Path file) {
        return Path.of("").toAbsolutePath().relativize(file.toAbsolutePath());
    }

    // ---- item 1: an output that is an input ---------------------------------------------------------

    @Test
    void anOutputNamingAnInputIsRefusedAndTheInputKept() throws IOException {
        byte[] before = Files.readAllBytes(x);
        fails(ce("--grad", p(x)), "--grad", "x\\.npy", "--input", "same file");
        fails(ce("--reduction", "none", "--output", p(t)), "--output", "--target", "same file");
        Path w = NpyFiles.f32(dir.resolve("w.npy"), new float[] {1, 2, 3, 4, 5}, C);
        fails(ce("--weight", p(w), "--grad", p(w)), "--grad", "--weight", "same file");
        fails(ce("--grad", p(dotted(x))), "--grad", "--input", "same file");
        fails(ce("--output", p(relative(t))), "--output", "--target", "same file");
        Files.createDirectory(dir.resolve("sub"));
        fails(ce("--grad", dir + "/sub/../x.npy"), "--grad", "--input", "same file");
        assertArrayEquals(before, Files.readAllBytes(x));
    }

    @Test
    void anOutputThatIsAnInputThroughALinkIsRefused() throws IOException {
        Path folderLink = Files.createSymbolicLink(dir.resolve("alias"), dir);
        fails(ce("--grad", p(folderLink.resolve("x.npy"))), "--grad", "alias", "--input", "same file");
        Path link = Files.createSymbolicLink(dir.resolve("link.npy"), x);
        // the input given through a link, the output by its own name
        fails(new String[] {"cross-entropy", "--input", p(link), "--target", p(t), "--grad", p(x)},
                "--grad", "--input", "same file");
        fails(new String[] {"cross-entropy", "--input", p(x), "--target", p(folderLink.resolve("t.npy")),
                "--reduction", "none", "--output", p(t)}, "--output", "--target", "same file");
        // an output that is itself a link is refused as such (see aSymbolicLinkAsOutputIsRefused)
        fails(ce("--grad", p(link)), "--grad", "link\\.npy", "symbolic link");
    }

    @Test
    void anOutputThatIsAnInputThroughAHardLinkIsRefused() throws IOException {
        Path hard = Files.createLink(dir.resolve("hard.npy"), x);
        fails(ce("--grad", p(hard)), "--grad", "hard\\.npy", "--input", "same file");
        fails(ce("--reduction", "none", "--output", p(hard)), "--output", "--input", "same file");
    }

    @Test
    void outputAndGradNamingOneFileByTwoPathsAreRefused() throws IOException {
        fails(ce("--output", out(), "--grad", p(dotted(dir.resolve("out.npy")))), "same file");
        Path folderLink = Files.createSymbolicLink(dir.resolve("alias"), dir);
        fails(ce("--output", out(), "--grad", p(folderLink.resolve("out.npy"))), "--output", "--grad", "same file");
        Files.write(dir.resolve("out.npy"), new byte[] {1, 2, 3});
        Path hard = Files.createLink(dir.resolve("hard.npy"), dir.resolve("out.npy"));
        fails(ce("--output", out(), "--grad", p(hard)), "--output", "--grad", "same file");
    }

    // ---- item 2: an output that exists and is not a regular file ------------------------------------

    static Path mkfifo(Path p) throws IOException, InterruptedException {
        Process proc = new ProcessBuilder("mkfifo", p.toString()).redirectErrorStream(true).start();
        assumeTrue(proc.waitFor(10, TimeUnit.SECONDS) && proc.exitValue() == 0, "mkfifo is not available");
        return p;
    }

    static boolean isRegularOrAbsent(Path p) {
        return !Files.exists(p, LinkOption.NOFOLLOW_LINKS) || Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS);
    }

    @Test
    void aFifoAsOutputIsRefusedAndStaysAFifo() throws Exception {
        Path fifo = mkfifo(dir.resolve("fifo.npy"));
        fails(ce("--output", p(fifo)), "--output", "fifo\\.npy", "not a regular file");
        fails(ce("--grad", p(fifo)), "--grad", "fifo\\.npy", "not a regular file");
        assertFalse(isRegularOrAbsent(fifo));
    }

    /**
     * A character device made for the test (the null device's numbers, in the temp folder): never
     * the real /dev/null, which a wrong answer would replace. Needs the right to make device
     * nodes (root); skipped otherwise.
     */
    @Test
    void aDeviceAsOutputIsRefusedAndStaysADevice() throws Exception {
        Path dev = dir.resolve("null");
        Process proc = new ProcessBuilder("mknod", dev.toString(), "c", "1", "3").redirectErrorStream(true).start();
        assumeTrue(proc.waitFor(10, TimeUnit.SECONDS) && proc.exitValue() == 0, "cannot make a device node here");
        fails(ce("--output", p(dev)), "--output", "null", "not a regular file");
        Path link = Files.createSymbolicLink(dir.resolve("discard.npy"), dev);
        fails(ce("--reduction", "none", "--output", p(link), "--grad", grad()), "--output", "discard\\.npy",
                "symbolic link");
        assertFalse(isRegularOrAbsent(dev));
    }

    @Test
    void aFolderAsOutputIsAClearError() throws IOException {
        Path empty = Files.createDirectory(dir.resolve("empty.npy"));
        fails(ce("--output", p(empty)), "--output", "empty\\.npy", "is a directory");
        Path full = Files.createDirectory(dir.resolve("full.npy"));
        Files.writeString(full.resolve("keep"), "x");
        fails(ce("--output", out(), "--grad", p(full)), "--grad", "full\\.npy", "is a directory");
        assertFalse(Files.exists(dir.resolve("out.npy")));
        fails(ce("--grad", p(x) + "/g.npy"), "--grad", "x\\.npy", "not a directory");
    }

    /**
     * A symbolic link as output is refused, whatever it points to: following it would write
     * wherever a link planted in a shared folder points (as root, anywhere), and replacing it
     * would break the user's link. Links among the folders of the path are followed.
     */
    @Test
    void aSymbolicLinkAsOutputIsNeitherFollowedNorReplaced() throws IOException {
        Path victim = Files.writeString(dir.resolve("precious.txt"), "not yours to overwrite");
        Path shared = Files.createDirectory(dir.resolve("shared"));
        Path planted = Files.createSymbolicLink(shared.resolve("result.npy"), victim);
        fails(ce("--output", p(planted)), "--output", "result\\.npy", "symbolic link");
        Path dangling = Files.createSymbolicLink(dir.resolve("dangling.npy"), dir.resolve("nowhere.npy"));
        fails(ce("--grad", p(dangling)), "--grad", "dangling\\.npy", "symbolic link");
        Path relative = Files.createSymbolicLink(dir.resolve("rel.npy"), Path.of("precious.txt"));
        fails(ce("--grad", p(relative)), "--grad", "rel\\.npy", "symbolic link");
    }

    @Test
    void aLinkedFolderOnTheWayIsFollowed() throws IOException {
        Path real = Files.createDirectory(dir.resolve("real"));
        Path alias = Files.createSymbolicLink(dir.resolve("alias"), real);
        Run r = run(ce("--grad", p(alias.resolve("g.npy"))));
        assertEquals(0, r.status, r.err);
        try (NpyArray g = Npy.read(real.resolve("g.npy"))) {
            assertArrayEquals(new long[] {N, C}, g.tensor().shape());
        }
    }

    // ---- item 4: a result that cannot be written ---------------------------------------------------

    /** Standard output over a stream that fails every write, as on a full disk or a closed pipe. */
    static Run runWithBrokenStdout(String... args) {
        OutputStream broken = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("No space left on device");
            }
        };
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(broken, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, "", err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void aResultThatCannotBePrintedIsAnError() throws IOException {
        var before = listing();
        Run r = runWithBrokenStdout(ce("--output", out(), "--grad", grad()));
        assertEquals(2, r.status, r.err);
        assertEquals(1, r.errLines().size(), r.err);
        assertTrue(r.errLines().get(0).matches("vecloss: .*standard output.*"), r.err);
        assertEquals(before, listing(), "outputs written although the command failed");

        Run help = runWithBrokenStdout("--help");
        assertEquals(2, help.status, help.err);
        assertEquals(1, help.errLines().size(), help.err);
        Run bench = runWithBrokenStdout("bench", "--n", "3", "--c", "2", "--threads", "1");
        assertEquals(2, bench.status, bench.err);
        assertEquals(1, bench.errLines().size(), bench.err);
    }

    // ---- item 6: an input that is not a regular file ----------------------------------------------

    /**
     * A FIFO as input is refused before it is opened: opening a FIFO to read blocks until a
     * writer comes. Were it opened, the finally block releases the blocked open (a read-write
     * open of a FIFO does not block on Linux) so the test JVM does not keep a stuck thread.
     */
    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aFifoAsInputIsRefusedWithoutBlocking() throws Exception {
        Path fifo = mkfifo(dir.resolve("pipe.npy"));
        try {
            fails(new String[] {"cross-entropy", "--input", p(fifo), "--target", p(t)}, "--input", "pipe\\.npy",
                    "not a regular file");
            fails(ce("--weight", p(fifo)), "--weight", "pipe\\.npy", "not a regular file");
            Path link = Files.createSymbolicLink(dir.resolve("link.npy"), fifo);
            fails(new String[] {"nll-loss", "--input", p(x), "--target", p(link)}, "--target", "link\\.npy",
                    "not a regular file");
        } finally {
            new RandomAccessFile(fifo.toFile(), "rw").close();
        }
    }

    @Test
    void aFolderAsInputIsRefused() throws IOException {
        Path folder = Files.createDirectory(dir.resolve("folder.npy"));
        fails(new String[] {"cross-entropy", "--input", p(folder), "--target", p(t)}, "--input", "folder\\.npy",
                "is a directory");
        fails(ce("--weight", p(dir)), "--weight", "is a directory");
    }
}
