package dev.vecloss.npy;

import dev.vecloss.DType;
import dev.vecloss.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * TEMPORARY minimal stand-in written by the cli branch so it compiles and its tests run;
 * replaced by the npy branch's implementation at merge (same signatures).
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {}

    public static NpyArray read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer pre = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
            while (pre.hasRemaining() && ch.read(pre) >= 0) {
                // fill
            }
            pre.flip();
            if (pre.remaining() < 10) {
                throw bad(file, "truncated header");
            }
            for (byte b : MAGIC) {
                if (pre.get() != b) {
                    throw bad(file, "not a .npy file (bad magic)");
                }
            }
            int major = pre.get() & 0xff;
            pre.get();
            long headerLen;
            int prefix;
            if (major == 1) {
                headerLen = pre.getShort() & 0xffff;
                prefix = 10;
            } else if (major == 2 || major == 3) {
                if (pre.remaining() < 4) {
                    throw bad(file, "truncated header");
                }
                headerLen = pre.getInt() & 0xffffffffL;
                prefix = 12;
            } else {
                throw bad(file, "unsupported format version " + major);
            }
            if (prefix + headerLen > size) {
                throw bad(file, "truncated header");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            ch.position(prefix);
            while (hb.hasRemaining() && ch.read(hb) >= 0) {
                // fill
            }
            String header = new String(hb.array(), StandardCharsets.ISO_8859_1);
            Matcher d = DESCR.matcher(header);
            Matcher f = FORTRAN.matcher(header);
            Matcher s = SHAPE.matcher(header);
            if (!d.find() || !f.find() || !s.find()) {
                throw bad(file, "malformed header " + header.strip());
            }
            DType dtype = DType.fromNpyDescr(d.group(1));
            if (dtype == null) {
                throw bad(file, "unsupported dtype '" + d.group(1) + "'");
            }
            if (f.group(1).equals("True")) {
                throw bad(file, "Fortran-order arrays are not supported (C order only)");
            }
            List<Long> dims = new ArrayList<>();
            for (String part : s.group(1).split(",")) {
                if (!part.isBlank()) {
                    dims.add(Long.parseLong(part.strip()));
                }
            }
            long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
            long numel = 1;
            for (long x : shape) {
                numel = Math.multiplyExact(numel, x);
            }
            long bytes = numel * dtype.byteSize();
            long offset = prefix + headerLen;
            if (offset + bytes > size) {
                throw bad(file, "truncated data: " + (size - offset) + " bytes, expected " + bytes);
            }
            Arena arena = Arena.ofShared();
            try {
                MemorySegment seg = bytes == 0 ? arena.allocate(0)
                        : ch.map(FileChannel.MapMode.READ_ONLY, offset, bytes, arena);
                return new NpyArray(file, Tensor.of(seg, dtype, shape), arena);
            } catch (IOException | RuntimeException e) {
                arena.close();
                throw e;
            }
        } catch (NumberFormatException | ArithmeticException e) {
            throw bad(file, "malformed shape");
        }
    }

    public static void write(Path file, Tensor t) throws IOException {
        StringBuilder shape = new StringBuilder("(");
        for (long d : t.shape()) {
            shape.append(d).append(", ");
        }
        if (t.rank() == 1) {
            shape.setLength(shape.length() - 1);
        } else if (t.rank() > 1) {
            shape.setLength(shape.length() - 2);
        }
        shape.append(')');
        String dict = "{'descr': '" + t.dtype().npyDescr() + "', 'fortran_order': False, 'shape': " + shape + ", }";
        int total = 10 + dict.length() + 1;
        int pad = (64 - total % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        ByteBuffer pre = ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN);
        pre.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length()).flip();
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.write(pre);
                ch.write(ByteBuffer.wrap(header.getBytes(StandardCharsets.ISO_8859_1)));
                byte[] data = t.segment().toArray(ValueLayout.JAVA_BYTE);
                ByteBuffer b = ByteBuffer.wrap(data);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static NpyFormatException bad(Path file, String problem) {
        return new NpyFormatException(file + ": " + problem);
    }
}
