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
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;

/**
 * Reads and writes NumPy {@code .npy} files (format versions 1.0, 2.0 and 3.0, C order, the
 * little-endian dtypes of {@link DType}).
 *
 * <p>{@link #read} memory-maps the file and checks it as hostile input: every length is
 * checked against the file before it is used, the header is parsed as a strict Python literal
 * (never evaluated), and any malformed content is reported as an {@link NpyFormatException}
 * whose message names the file and the problem. {@link #write} replaces the target file
 * atomically, so a reader sees either the old file or the whole new one.
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
        if (Files.isDirectory(file)) {
            throw new FileSystemException(file.toString(), null, "is a directory, not a .npy file");
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
     * <p>The file is written whole or not at all: the bytes go to a new temporary file in the
     * same directory, are forced to the device, and the temporary file is then renamed over
     * {@code file} atomically. On any failure the temporary file is deleted and {@code file}
     * is left as it was.
     *
     * @throws IOException if the file cannot be written (for example, a missing directory, or
     *         {@code file} names a directory)
     */
    public static void write(Path file, Tensor t) throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(t, "t");
        Path target = file.toAbsolutePath();
        Path name = target.getFileName();
        if (name == null) {
            throw new FileSystemException(file.toString(), null, "not a file name");
        }
        Path dir = target.getParent();
        byte[] header = header(t.dtype(), t.shape());
        Path tmp = null;
        try {
            tmp = createTemp(dir, name.toString());
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                writeFully(ch, ByteBuffer.wrap(header));
                writeData(ch, t.segment());
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            tmp = null;
        } catch (Throwable e) {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException | RuntimeException d) {
                    e.addSuppressed(d);
                }
            }
            throw e;
        }
        syncDirectory(dir);
    }

    /**
     * Creates a new, empty, hidden file next to the target, with the default permissions a
     * new file gets (so the result is not left owner-only as with {@code createTempFile}).
     */
    private static Path createTemp(Path dir, String name) throws IOException {
        String base = name.length() > 100 ? name.substring(0, 100) : name;
        for (int attempt = 0; ; attempt++) {
            String random = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
            try {
                return Files.createFile(dir.resolve("." + base + "." + random + ".tmp"));
            } catch (FileAlreadyExistsException e) {
                if (attempt == 8) {
                    throw e;
                }
            }
        }
    }

    /** Makes the rename durable where the platform allows it (Linux); elsewhere a no-op. */
    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | RuntimeException e) {
            // Not supported on every platform; the file itself has been forced.
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
