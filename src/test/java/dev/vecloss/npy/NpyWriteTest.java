package dev.vecloss.npy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vecloss.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Npy#write} and {@link Npy#prepare} leave the whole new file or nothing, and never a
 * temporary file; only regular files are replaced; {@link Npy#read} refuses what is not a
 * regular file before opening it.
 */
class NpyWriteTest {
    @TempDir
    Path dir;

    private List<Path> filesIn(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.toList();
        }
    }

    @Test
    void missingDirectoryLeavesNothing() throws IOException {
        Path f = dir.resolve("no/such/dir/out.npy");
        IOException e = assertThrows(IOException.class, () -> Npy.write(f, Tensor.of(new float[] {1})));
        assertTrue(e instanceof NoSuchFileException, e.toString());
        assertEquals(List.of(), filesIn(dir));
    }

    @Test
    void targetThatIsADirectoryIsKeptAndNoTempRemains() throws IOException {
        Path target = Files.createDirectory(dir.resolve("out.npy"));
        Files.writeString(target.resolve("inside.txt"), "keep");
        assertThrows(IOException.class, () -> Npy.write(target, Tensor.of(new float[] {1, 2})));
        assertEquals(List.of(target), filesIn(dir));
        assertTrue(Files.isDirectory(target));
        assertEquals(List.of(target.resolve("inside.txt")), filesIn(target));

        Path empty = Files.createDirectory(dir.resolve("empty.npy"));
        assertThrows(IOException.class, () -> Npy.write(empty, Tensor.of(new float[] {1, 2})));
        assertTrue(Files.isDirectory(empty));
        assertEquals(2, filesIn(dir).size());
    }

    @Test
    void failureWhileWritingDataKeepsTheOldFile() throws IOException {
        Path f = dir.resolve("out.npy");
        Npy.write(f, Tensor.of(new float[] {1, 2, 3}));
        byte[] before = Files.readAllBytes(f);
        Tensor dead;
        try (Arena arena = Arena.ofConfined()) {
            dead = Tensor.allocate(arena, dev.vecloss.DType.FLOAT32, 4);
        }
        // The tensor's memory is gone: the copy fails after the temporary file was created.
        assertThrows(IllegalStateException.class, () -> Npy.write(f, dead));
        assertArrayEquals(before, Files.readAllBytes(f));
        assertEquals(List.of(f), filesIn(dir));
    }

    @Test
    void relativePathAndEmptyTensor() throws IOException {
        Path f = dir.resolve("e.npy");
        Npy.write(f, Tensor.of(MemorySegment.ofArray(new float[0]), dev.vecloss.DType.FLOAT32, 0, 5));
        try (NpyArray a = Npy.read(f)) {
            assertArrayEquals(new long[] {0, 5}, a.tensor().shape());
        }
        Path cwd = Path.of("").toAbsolutePath();
        Path rel = cwd.relativize(dir.resolve("rel.npy"));
        assertFalse(rel.isAbsolute());
        Npy.write(rel, Tensor.of(new int[] {4, 5}));
        try (NpyArray a = Npy.read(rel)) {
            assertArrayEquals(new long[] {4, 5}, a.tensor().toLongArray());
            assertEquals(rel, a.path());
        }
    }

    // ---- two phases: prepare, then commit or close ------------------------------------------

    /** The temporary files of this test still registered for deletion at shutdown. */
    private List<Path> registered() {
        return Temporaries.live().stream().filter(p -> p.startsWith(dir)).toList();
    }

    private static byte[] npyBytes(Path dir, float... v) throws IOException {
        Path f = dir.resolve("expected-" + v.length + ".bin");
        Npy.write(f, Tensor.of(v));
        byte[] b = Files.readAllBytes(f);
        Files.delete(f);
        return b;
    }

    @Test
    void preparedFilesReplaceTheirDestinationsOnlyWhenCommitted() throws IOException {
        Path a = Files.writeString(dir.resolve("a.npy"), "old a");
        Path b = dir.resolve("b.npy");
        Npy.Prepared pa = Npy.prepare(a, Tensor.of(new float[] {1, 2}));
        Npy.Prepared pb = Npy.prepare(b, Tensor.of(new float[] {3}));
        assertEquals("old a", Files.readString(a), "a prepared file is not in place yet");
        assertFalse(Files.exists(b));
        assertEquals(3, filesIn(dir).size(), "a.npy and two temporary files beside it: " + filesIn(dir));
        Npy.commitAll(List.of(pa, pb));
        assertArrayEquals(npyBytes(dir, 1, 2), Files.readAllBytes(a));
        assertArrayEquals(npyBytes(dir, 3), Files.readAllBytes(b));
        assertEquals(List.of(a, b), filesIn(dir).stream().sorted().toList());
        pa.close(); // after a commit: nothing to delete
        assertTrue(Files.exists(a));
        assertThrows(IllegalStateException.class, pb::commit);
        assertEquals(List.of(), registered());
    }

    @Test
    void closingAPreparedFileDeletesItAndKeepsTheOldOne() throws IOException {
        Path a = Files.writeString(dir.resolve("a.npy"), "old a");
        Npy.Prepared p = Npy.prepare(a, Tensor.of(new float[] {1, 2}));
        p.close();
        p.close();
        assertEquals("old a", Files.readString(a));
        assertEquals(List.of(a), filesIn(dir));
        assertThrows(IllegalStateException.class, p::commit);
        assertEquals(List.of(), registered());
    }

    @Test
    void theReplacedFilesPermissionsAreKept() throws IOException {
        Path a = Files.writeString(dir.resolve("private.npy"), "secret");
        Set<PosixFilePermission> owner = PosixFilePermissions.fromString("rw-------");
        try {
            Files.setPosixFilePermissions(a, owner);
        } catch (UnsupportedOperationException e) {
            return; // no POSIX permissions here
        }
        Npy.write(a, Tensor.of(new float[] {1}));
        assertEquals(owner, Files.getPosixFilePermissions(a));
        Path open = Files.writeString(dir.resolve("open.npy"), "x");
        Set<PosixFilePermission> all = PosixFilePermissions.fromString("rw-rw-rw-");
        Files.setPosixFilePermissions(open, all);
        Npy.write(open, Tensor.of(new float[] {1}));
        assertEquals(all, Files.getPosixFilePermissions(open), "not cut by the umask either");
    }

    @Test
    void aLongUnicodeNameStillGetsATemporaryFile() throws IOException {
        Path f = dir.resolve("é".repeat(120) + ".npy"); // 244 bytes of UTF-8, near the 255 limit
        Npy.write(f, Tensor.of(new float[] {1}));
        assertEquals(List.of(f), filesIn(dir));
    }

    // ---- what is replaced ---------------------------------------------------------------------

    static Path mkfifo(Path p) throws IOException, InterruptedException {
        Process proc = new ProcessBuilder("mkfifo", p.toString()).redirectErrorStream(true).start();
        assumeTrue(proc.waitFor(10, TimeUnit.SECONDS) && proc.exitValue() == 0, "mkfifo is not available");
        return p;
    }

    @Test
    void aFifoIsNeitherReplacedNorWrittenThrough() throws Exception {
        Path fifo = mkfifo(dir.resolve("fifo.npy"));
        FileSystemException e = assertThrows(FileSystemException.class,
                () -> Npy.write(fifo, Tensor.of(new float[] {1})));
        assertEquals("not a regular file (a FIFO): only a regular file is replaced", e.getReason());
        assertEquals(fifo.toString(), e.getFile());
        assertTrue(Files.exists(fifo) && !Files.isRegularFile(fifo));
        Path link = Files.createSymbolicLink(dir.resolve("link.npy"), fifo);
        assertThrows(FileSystemException.class, () -> Npy.prepare(link, Tensor.of(new float[] {1})));
        assertEquals(2, filesIn(dir).size());
    }

    @Test
    void aDeviceIsNotReplaced() throws Exception {
        Path dev = dir.resolve("null"); // the null device's numbers, made here: never /dev/null itself
        Process proc = new ProcessBuilder("mknod", dev.toString(), "c", "1", "3").redirectErrorStream(true).start();
        assumeTrue(proc.waitFor(10, TimeUnit.SECONDS) && proc.exitValue() == 0, "cannot make a device node here");
        FileSystemException e = assertThrows(FileSystemException.class,
                () -> Npy.write(dev, Tensor.of(new float[] {1})));
        assertTrue(e.getReason().contains("a character device"), e.getReason());
        assertTrue(Files.exists(dev) && !Files.isRegularFile(dev));
    }

    @Test
    void aSymbolicLinkIsNeitherFollowedNorReplaced() throws IOException {
        Path sub = Files.createDirectory(dir.resolve("sub"));
        Path real = Files.writeString(sub.resolve("real.npy"), "old");
        Path link = Files.createSymbolicLink(dir.resolve("link.npy"), Path.of("sub/real.npy"));
        FileSystemException e = assertThrows(FileSystemException.class,
                () -> Npy.write(link, Tensor.of(new float[] {5})));
        assertTrue(e.getReason().startsWith("is a symbolic link (to sub/real.npy)"), e.getReason());
        assertTrue(Files.isSymbolicLink(link));
        assertEquals("old", Files.readString(real));
        Path dangling = Files.createSymbolicLink(dir.resolve("dangling.npy"), dir.resolve("nowhere.npy"));
        assertThrows(FileSystemException.class, () -> Npy.write(dangling, Tensor.of(new float[] {1})));
        assertFalse(Files.exists(dir.resolve("nowhere.npy")));
        assertEquals(3, filesIn(dir).size());
        assertEquals(List.of(real), filesIn(sub));
        // a link among the folders is the kernel's to follow
        Path alias = Files.createSymbolicLink(dir.resolve("alias"), sub);
        Npy.write(alias.resolve("new.npy"), Tensor.of(new float[] {5}));
        assertArrayEquals(npyBytes(dir, 5), Files.readAllBytes(sub.resolve("new.npy")));
    }

    @Test
    void aPathInsideAFileIsRefused() throws IOException {
        Path file = Files.writeString(dir.resolve("plain"), "x");
        FileSystemException e = assertThrows(FileSystemException.class,
                () -> Npy.destination(file.resolve("o.npy")));
        assertTrue(e.getReason().contains("is not a directory"), e.getReason());
    }

    // ---- reading what is not a regular file -----------------------------------------------------

    /** Opening a FIFO to read blocks until a writer comes: it must be refused before the open. */
    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void readingAFifoIsRefusedWithoutBlocking() throws Exception {
        Path fifo = mkfifo(dir.resolve("in.npy"));
        try {
            FileSystemException e = assertThrows(FileSystemException.class, () -> Npy.read(fifo));
            assertEquals("not a regular file (a FIFO), not a .npy file", e.getReason());
        } finally {
            new java.io.RandomAccessFile(fifo.toFile(), "rw").close(); // releases a blocked open, if any
        }
    }

    @Test
    void readingAFolderIsRefused() {
        FileSystemException e = assertThrows(FileSystemException.class, () -> Npy.read(dir));
        assertEquals("is a directory, not a .npy file", e.getReason());
    }
}
