package dev.vecloss.npy;

import dev.vecloss.DType;
import dev.vecloss.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * Reads and writes NumPy {@code .npy} files (format versions 1.0, 2.0 and 3.0, C order, the
 * little-endian dtypes of {@link DType}).
 *
 * <p>{@link #read} memory-maps the file and checks it as hostile input: every length is
 * checked against the file before it is used, the header is parsed as a strict Python literal
 * (never evaluated), and any malformed content is reported as an {@link NpyFormatException}
 * whose message names the file and the problem; a path that is not a regular file (a FIFO,
 * a device, a directory) is refused before it is opened.
 *
 * <p>{@link #write} replaces the target file atomically, so a reader sees either the old file
 * or the whole new one, and {@link #prepare} with {@link #commitAll} does the same for several
 * files at once: each is written whole to a temporary file first, and they are renamed into
 * place only when all are complete. Temporary files are deleted on failure, and by a shutdown
 * hook when the JVM is stopped by a signal while they are written. Only regular files are
 * replaced, and a symbolic link is neither followed nor replaced ({@link #destination}).
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};

    /** Headers longer than this are refused: NumPy writes under 100 bytes for any real shape. */
    static final int MAX_HEADER_BYTES = 1 << 20;

    /** NumPy pads the preamble and header to a multiple of this, so the data is aligned. */
    private static final int ALIGN = 64;

    private static final String SUPPORTED = Arrays.stream(DType.values())
            .map(DType::npyDescr)
            .collect(Collectors.joining(", "));

    private Npy() {}

    /**
     * Memory-maps {@code file} read-only and returns a view of its array without copying. The
     * mapping lives in a shared arena owned by the result: the tensor can be read from any
     * thread until {@link NpyArray#close()}. An array with no elements maps nothing.
     *
     * <p>Accepted: format versions 1.0, 2.0 and 3.0; {@code fortran_order} False; the dtypes
     * of {@link DType#fromNpyDescr}; a data section of exactly {@code product(shape) * itemsize}
     * bytes after the header (trailing bytes are refused, as they mean the header does not
     * describe the file). Truncating the file while it is mapped is not guarded against (it is
     * a property of memory mapping, not of the format).
     *
     * @throws NpyFormatException if the content is not such a file, with a message
     *         {@code "<file>: <problem>"}
     * @throws IOException if the file cannot be opened or read (for a missing file, a
     *         {@link java.nio.file.NoSuchFileException} whose message is the file name)
     */
    public static NpyArray read(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        // Before the open: opening a FIFO to read blocks until a writer comes, a device may be
        // endless or have side effects, and neither can be mapped anyway.
        BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
        if (!attributes.isRegularFile()) {
            throw new FileSystemException(file.toString(), null, notRegular(file, attributes) + ", not a .npy file");
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Layout layout;
            try {
                layout = layout(file, ch);
            } catch (RuntimeException e) {
                // A bug of ours met by strange input must still read as "bad file", not a crash.
                throw new NpyFormatException(file, "unreadable header (" + e + ")", e);
            }
            Arena arena = Arena.ofShared();
            try {
                MemorySegment data = layout.dataBytes == 0
                        ? arena.allocate(0).asReadOnly()
                        : ch.map(FileChannel.MapMode.READ_ONLY, layout.dataOffset, layout.dataBytes, arena);
                Tensor tensor;
                try {
                    tensor = Tensor.of(data, layout.dtype, layout.shape);
                } catch (RuntimeException e) {
                    throw new NpyFormatException(file, "cannot view the data (" + e.getMessage() + ")", e);
                }
                return new NpyArray(file, tensor, arena);
            } catch (Throwable e) {
                arena.close();
                throw e;
            }
        }
    }

    /** Where the data of a checked file is and what it holds. */
    private record Layout(DType dtype, long[] shape, long dataOffset, long dataBytes) {}

    private static Layout layout(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        ByteBuffer pre = ByteBuffer.allocate((int) Math.min(size, 12)).order(ByteOrder.LITTLE_ENDIAN);
        readFully(file, ch, pre, 0);
        for (int i = 0; i < MAGIC.length; i++) {
            if (i >= pre.limit() || pre.get(i) != MAGIC[i]) {
                throw new NpyFormatException(file, size == 0 ? "empty file, not a .npy file"
                        : "not a .npy file (it does not start with \\x93NUMPY)");
            }
        }
        if (size < 10) {
            throw new NpyFormatException(file, "truncated: " + size + " bytes, too short for a .npy preamble");
        }
        int major = Byte.toUnsignedInt(pre.get(6));
        int minor = Byte.toUnsignedInt(pre.get(7));
        if ((major < 1 || major > 3) || minor != 0) {
            throw new NpyFormatException(file, "unsupported .npy format version " + major + "." + minor
                    + " (supported: 1.0, 2.0, 3.0)");
        }
        int preamble = major == 1 ? 10 : 12;
        if (size < preamble) {
            throw new NpyFormatException(file, "truncated: " + size + " bytes, too short for a version "
                    + major + ".0 preamble");
        }
        long headerBytes = major == 1 ? Short.toUnsignedInt(pre.getShort(8)) : Integer.toUnsignedLong(pre.getInt(8));
        if (headerBytes > MAX_HEADER_BYTES) {
            throw new NpyFormatException(file, "header length " + headerBytes + " is over the limit of "
                    + MAX_HEADER_BYTES + " bytes");
        }
        if (headerBytes > size - preamble) {
            throw new NpyFormatException(file, "truncated: header length " + headerBytes + " but the file has "
                    + (size - preamble) + " bytes after the preamble");
        }
        ByteBuffer raw = ByteBuffer.allocate((int) headerBytes);
        readFully(file, ch, raw, preamble);
        String text = decode(file, raw.flip(), major);

        NpyHeader header;
        try {
            header = NpyHeader.parse(text);
        } catch (NpyHeader.Problem p) {
            throw new NpyFormatException(file, p.getMessage());
        }
        DType dtype = DType.fromNpyDescr(header.descr());
        if (dtype == null) {
            throw new NpyFormatException(file, "unsupported dtype '" + printableDescr(header.descr())
                    + "' (supported: " + SUPPORTED + ")");
        }
        if (header.fortranOrder()) {
            throw new NpyFormatException(file,
                    "Fortran order is not supported: write the array with np.ascontiguousarray");
        }
        long[] shape = header.shape();
        String what = "shape " + NpyHeader.shapeRepr(shape) + " of " + dtype.npyDescr();
        long dataBytes = dtype.byteSize();
        try {
            for (long d : shape) {
                dataBytes = Math.multiplyExact(dataBytes, d);
            }
        } catch (ArithmeticException e) {
            // An array with a 0 dimension is empty whatever the others, as in NumPy.
            if (Arrays.stream(shape).noneMatch(d -> d == 0)) {
                throw new NpyFormatException(file, what + " is too large (over 2^63 bytes)");
            }
            dataBytes = 0;
        }
        long dataOffset = preamble + headerBytes;
        long available = size - dataOffset;
        if (dataBytes > available) {
            throw new NpyFormatException(file, "truncated: " + what + " needs " + dataBytes + " bytes, file has "
                    + available + " after the header");
        }
        if (dataBytes < available) {
            throw new NpyFormatException(file, (available - dataBytes) + " trailing bytes: " + what + " needs "
                    + dataBytes + " bytes, file has " + available + " after the header");
        }
        return new Layout(dtype, shape, dataOffset, dataBytes);
    }

    private static String printableDescr(String descr) {
        String p = NpyHeader.printable(descr);
        return p.substring(1, p.length() - 1);
    }

    /** The header text: latin-1 before version 3.0, strict UTF-8 from it. */
    private static String decode(Path file, ByteBuffer raw, int major) throws NpyFormatException {
        if (major < 3) {
            return StandardCharsets.ISO_8859_1.decode(raw).toString();
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(raw)
                    .toString();
        } catch (CharacterCodingException e) {
            throw new NpyFormatException(file, "header is not valid UTF-8");
        }
    }

    private static void readFully(Path file, FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long at = position;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, at);
            if (n < 0) {
                throw new NpyFormatException(file, "truncated: the file ended while reading its header");
            }
            at += n;
        }
    }

    /**
     * Writes {@code t} (any {@link DType}, its shape, C order) as a {@code .npy} file of version
     * 1.0, or 2.0 if the header does not fit 1.0, with the header padded as NumPy pads it (the
     * data starts at a multiple of 64 bytes).
     *
     * <p>The file is written whole or not at all: {@link #prepare} then {@link Prepared#commit}.
     * On any failure, and if the JVM is stopped by a signal meanwhile, the temporary file is
     * deleted and the destination is left as it was. Which paths are refused (anything but a
     * regular file, a symbolic link too) is said at {@link #destination}.
     *
     * @throws IOException if the file cannot be written (for example, a missing directory
     *         ({@link java.nio.file.NoSuchFileException}), or {@code file} names a directory, a
     *         FIFO, a device or a symbolic link)
     */
    public static void write(Path file, Tensor t) throws IOException {
        try (Prepared p = prepare(file, t)) {
            p.commit();
        }
    }

    /**
     * The first phase of a write: {@code t} is written in full to a new temporary file beside
     * the destination ({@code .NAME.<hex>.tmp}, in the destination's folder, so that the rename
     * is atomic) and forced to the device; the destination itself is not touched. Then
     * {@link #commitAll} (or {@link Prepared#commit}) renames it into place, or
     * {@link Prepared#close()} deletes it. This is how several outputs are replaced only once
     * all of them are complete.
     *
     * <p>When the destination exists, the new file gets its permission bits (and, where the
     * process may, its owner and group), so replacing a private file does not publish it.
     *
     * @throws IOException if {@code file} is refused (see {@link #destination}) or the temporary
     *         file cannot be created or written (a full disk, a file size limit); nothing is
     *         left behind then
     */
    public static Prepared prepare(Path file, Tensor t) throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(t, "t");
        Path destination = destination(file);
        byte[] header = header(t.dtype(), t.shape());
        PosixFileAttributes old = existingAttributes(destination);
        FileAttribute<?>[] attrs = old == null ? new FileAttribute<?>[0]
                : new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(old.permissions())};
        Path tmp = Temporaries.create(destination.getParent(), destination.getFileName().toString(), attrs);
        try {
            if (old != null) {
                copyOwnership(tmp, old);
            }
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                writeFully(ch, ByteBuffer.wrap(header));
                writeData(ch, t.segment());
                ch.force(true);
            }
            return new Prepared(file, destination, tmp);
        } catch (Throwable e) {
            try {
                Temporaries.delete(tmp);
            } catch (IOException | RuntimeException d) {
                e.addSuppressed(d);
            }
            throw e;
        }
    }

    /**
     * Renames every prepared file over its destination, in order, each atomically, and together
     * with respect to a shutdown (a signal lets all of them through or none). Renames fail only
     * in unusual cases (the destination was turned into a folder meanwhile, the file system
     * broke): then the ones before stand, and the exception names the failed destination; close
     * the rest to delete their temporary files.
     *
     * @throws IOException if a rename fails, or a destination is no longer a regular file
     *         (checked again just before, so a FIFO or device put there meanwhile is not replaced)
     * @throws IllegalStateException if one of them was already committed or closed
     */
    public static void commitAll(List<Prepared> files) throws IOException {
        List<Path> temporaries = new ArrayList<>(files.size());
        List<Path> destinations = new ArrayList<>(files.size());
        for (Prepared p : files) {
            if (p.state != Prepared.PENDING) {
                throw new IllegalStateException(p.file + " was already " + (p.state == Prepared.COMMITTED
                        ? "committed" : "closed"));
            }
            requireReplaceable(p.file, p.destination);
            temporaries.add(p.temporary);
            destinations.add(p.destination);
        }
        try {
            Temporaries.rename(temporaries, destinations);
            for (Prepared p : files) {
                p.state = Prepared.COMMITTED;
            }
        } catch (IOException e) {
            for (Prepared p : files) {
                if (!Temporaries.live().contains(p.temporary)) {
                    p.state = Prepared.COMMITTED;
                }
            }
            throw e;
        }
        destinations.stream().map(Path::getParent).distinct().forEach(Npy::syncDirectory);
    }

    /**
     * A {@code .npy} file written whole to a temporary file by {@link #prepare}, not yet in
     * place. Not thread-safe: one thread prepares, commits and closes it.
     */
    public static final class Prepared implements AutoCloseable {
        private static final int PENDING = 0;
        private static final int COMMITTED = 1;
        private static final int CLOSED = 2;

        private final Path file;
        private final Path destination;
        private final Path temporary;
        private int state = PENDING;

        private Prepared(Path file, Path destination, Path temporary) {
            this.file = file;
            this.destination = destination;
            this.temporary = temporary;
        }

        /** The path given to {@link #prepare}. */
        public Path file() {
            return file;
        }

        /** The file {@link #commit} replaces: see {@link Npy#destination}. */
        public Path destination() {
            return destination;
        }

        /**
         * Renames the temporary file over the destination, atomically.
         *
         * @throws IOException if the rename fails (the destination is then as it was)
         */
        public void commit() throws IOException {
            commitAll(List.of(this));
        }

        /** Deletes the temporary file unless it was committed; the destination is untouched. Idempotent. */
        @Override
        public void close() throws IOException {
            if (state == PENDING) {
                state = CLOSED;
                Temporaries.delete(temporary);
            }
        }

        @Override
        public String toString() {
            return "Npy.Prepared[" + destination + (state == PENDING ? ", pending]" : state == COMMITTED
                    ? ", committed]" : ", closed]");
        }
    }

    /**
     * The file that {@link #write} and {@link #prepare} replace for {@code file}, made absolute,
     * once checked that it may be replaced. Callers use it to check, before computing anything,
     * that an output can be written and does not alias another file they use.
     *
     * <p>Only a regular file is ever replaced, or a new one created. Refused, and left as they
     * are:
     * <ul>
     *   <li>a directory, a FIFO, a device (such as {@code /dev/null}) or a socket: the new
     *       content could not arrive whole or not at all there, a FIFO without a reader would
     *       block, and a device is not a file to lose (as root, a rename would have replaced
     *       {@code /dev/null} itself with a regular file);</li>
     *   <li>a symbolic link: following it would write wherever a link planted there points (the
     *       classic attack on a shared folder such as /tmp, which the kernel's protection of
     *       links does not stop once the path has been resolved by the program), and replacing
     *       it would silently break it. The path of the file itself is the answer. (Links among
     *       the folders of the path are followed, by the kernel, as for any file.)</li>
     * </ul>
     *
     * @throws java.nio.file.NoSuchFileException if the folder does not exist
     * @throws java.nio.file.AccessDeniedException if the folder is not writable
     * @throws FileSystemException (with a reason) if {@code file} is refused: not a regular file,
     *         a symbolic link, in something that is not a folder, or no file name at all
     * @throws IOException if the attributes cannot be read
     */
    public static Path destination(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        Path destination = file.toAbsolutePath();
        if (destination.getFileName() == null) {
            throw new FileSystemException(file.toString(), null, "not a file name");
        }
        Path dir = destination.getParent();
        BasicFileAttributes folder;
        try {
            folder = Files.readAttributes(dir, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file.toString(), null, "the folder " + dir + " does not exist");
        }
        if (!folder.isDirectory()) {
            throw new FileSystemException(file.toString(), null, dir + " is not a directory");
        }
        if (Files.isSymbolicLink(destination)) {
            throw new FileSystemException(file.toString(), null, "is a symbolic link (to "
                    + Files.readSymbolicLink(destination) + "): a link is neither followed nor replaced;"
                    + " give the path of the file itself");
        }
        requireReplaceable(file, destination);
        if (!Files.isWritable(dir)) {
            throw new AccessDeniedException(file.toString(), null, "the folder " + dir + " is not writable");
        }
        return destination;
    }

    /** Refuses a destination that exists and is neither a regular file nor a link (which is not followed). */
    private static void requireReplaceable(Path file, Path destination) throws IOException {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(destination, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return;
        }
        if (a.isSymbolicLink()) {
            // Put there since destination() checked the path: the rename replaces the link
            // itself, never what it points to, so it is safe to replace.
            return;
        }
        if (!a.isRegularFile()) {
            throw new FileSystemException(file.toString(), null,
                    notRegular(destination, a) + ": only a regular file is replaced");
        }
    }

    /** What a path that is not a regular file is, for a message: "is a directory", "not a regular file (a FIFO)". */
    static String notRegular(Path file, BasicFileAttributes a) {
        if (a.isDirectory()) {
            return "is a directory";
        }
        String kind = "a FIFO, socket or device";
        try {
            int mode = (Integer) Files.getAttribute(file, "unix:mode");
            kind = switch (mode & 0170000) {
                case 0010000 -> "a FIFO";
                case 0020000 -> "a character device";
                case 0060000 -> "a block device";
                case 0140000 -> "a socket";
                default -> kind;
            };
        } catch (IOException | RuntimeException e) {
            // The "unix" attribute view is not everywhere; the generic words stay.
        }
        return "not a regular file (" + kind + ")";
    }

    /** The POSIX attributes of an existing destination, or null (absent, or no POSIX view). */
    private static PosixFileAttributes existingAttributes(Path destination) throws IOException {
        try {
            return Files.readAttributes(destination, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException | UnsupportedOperationException e) {
            return null;
        }
    }

    /**
     * The replaced file's permission bits exactly (the creation mode was cut by the umask), and
     * its owner and group where this process may set them (root may; others keep their own).
     */
    private static void copyOwnership(Path tmp, PosixFileAttributes old) throws IOException {
        Files.setPosixFilePermissions(tmp, old.permissions());
        PosixFileAttributeView view = Files.getFileAttributeView(tmp, PosixFileAttributeView.class);
        PosixFileAttributes now = view.readAttributes();
        try {
            if (!now.group().equals(old.group())) {
                view.setGroup(old.group());
            }
            if (!now.owner().equals(old.owner())) {
                view.setOwner(old.owner());
            }
        } catch (IOException e) {
            // Not permitted: the new file belongs to whoever wrote it, as any new file does.
        }
    }

    /** Makes the renames durable where the platform allows it (Linux); elsewhere a no-op. */
    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | RuntimeException e) {
            // Not supported on every platform; the files themselves have been forced.
        }
    }

    /** Preamble, header dict, padding and newline, as NumPy writes them. */
    static byte[] header(DType dtype, long[] shape) {
        byte[] dict = NpyHeader.format(dtype, shape).getBytes(StandardCharsets.ISO_8859_1);
        int major = 1;
        int preamble = 10;
        int total = pad(preamble + dict.length + 1);
        if (total - preamble > 0xFFFF) {
            major = 2;
            preamble = 12;
            total = pad(preamble + dict.length + 1);
        }
        ByteBuffer b = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).put((byte) major).put((byte) 0);
        if (major == 1) {
            b.putShort((short) (total - preamble));
        } else {
            b.putInt(total - preamble);
        }
        b.put(dict);
        while (b.position() < total - 1) {
            b.put((byte) ' ');
        }
        b.put((byte) '\n');
        return b.array();
    }

    private static int pad(int n) {
        return (n + ALIGN - 1) / ALIGN * ALIGN;
    }

    private static void writeData(FileChannel ch, MemorySegment data) throws IOException {
        long n = data.byteSize();
        if (n == 0) {
            return;
        }
        // Copied through a native buffer: a heap segment over a float[] has no ByteBuffer view.
        try (Arena arena = Arena.ofConfined()) {
            int chunk = (int) Math.min(n, 1 << 20);
            MemorySegment buf = arena.allocate(chunk);
            ByteBuffer bb = buf.asByteBuffer();
            for (long off = 0; off < n; off += chunk) {
                int len = (int) Math.min(chunk, n - off);
                MemorySegment.copy(data, off, buf, 0, len);
                writeFully(ch, bb.clear().limit(len));
            }
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }
}
