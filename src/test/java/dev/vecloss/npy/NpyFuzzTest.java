package dev.vecloss.npy;

import static dev.vecloss.npy.NpyFiles.dict;
import static dev.vecloss.npy.NpyFiles.npy;
import static dev.vecloss.npy.NpyFiles.raw;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vecloss.Tensor;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile input, deterministically: thousands of mutated files from a fixed seed. Each read
 * must either succeed with a tensor that fits the file exactly, or throw
 * {@link NpyFormatException}; any other exception, or a crash reading the mapped bytes, fails.
 */
class NpyFuzzTest {
    private static final long SEED = 0x5EED_0F_4E50L;

    @TempDir
    Path dir;

    private int accepted;
    private int rejected;

    private static final String[] DESCRS = {"<f4", "<f8", "<i8", "<i4", "|u1", "|b1", "<u1", "=b1", ">f4", "<f2",
        "|O", "", "<", "<f4'", "<f\u00e9", "\u00ff", "<c16", "|V8"};

    private static final String[] DIMS = {"0", "1", "2", "3", "7", "-1", "-0", "00", "9223372036854775807",
        "9223372036854775808", "4294967296", "2305843009213693952", "1152921504606846976",
        "99999999999999999999999", "1L", "", " ", "1.5", "0x4", "True"};

    @Test
    void mutatedFilesNeverEscapeAsOtherExceptions() throws IOException {
        Random rnd = new Random(SEED);
        List<byte[]> bases = List.of(
                npy(1, dict("<f4", "(2, 3)"), NpyFiles.floats(6)),
                npy(1, dict("|b1", "()"), new byte[] {1}),
                npy(2, dict("<i8", "(3,)"), new byte[24]),
                npy(3, dict("<f8", "(1, 0, 2)"), new byte[0]),
                npy(1, dict("<i4", "(2,)"), new byte[8]));
        Path f = dir.resolve("fuzz.npy");
        int cases = 0;

        // Truncation at every length of every base file.
        for (byte[] base : bases) {
            for (int len = 0; len <= base.length; len++) {
                check(f, Arrays.copyOf(base, len), len == base.length);
                cases++;
            }
        }
        // Random byte flips, 1 to 4 per file, anywhere (preamble, header, data).
        for (int i = 0; i < 2500; i++) {
            byte[] b = bases.get(rnd.nextInt(bases.size())).clone();
            int flips = 1 + rnd.nextInt(4);
            for (int k = 0; k < flips; k++) {
                int at = rnd.nextInt(Math.min(b.length, rnd.nextBoolean() ? 12 : b.length));
                b[at] = (byte) (rnd.nextBoolean() ? rnd.nextInt(256) : b[at] ^ (1 << rnd.nextInt(8)));
            }
            check(f, b, null);
            cases++;
        }
        // Random descr and shape numbers (huge, negative, malformed), random data length.
        for (int i = 0; i < 1500; i++) {
            String descr = DESCRS[rnd.nextInt(DESCRS.length)];
            StringBuilder shape = new StringBuilder("(");
            int rank = rnd.nextInt(5);
            for (int k = 0; k < rank; k++) {
                String d = rnd.nextInt(3) == 0 ? DIMS[rnd.nextInt(DIMS.length)] : Integer.toString(rnd.nextInt(5));
                shape.append(d).append(k + 1 < rank || rnd.nextBoolean() ? ", " : "");
            }
            shape.append(rnd.nextInt(8) == 0 ? "" : ")");
            byte[] data = new byte[rnd.nextInt(4) == 0 ? rnd.nextInt(200) : 8 * rnd.nextInt(8)];
            check(f, npy(1 + rnd.nextInt(3), dict(descr, shape.toString()), data), null);
            cases++;
        }
        // Random version bytes and header length fields over a valid header.
        byte[] header = (dict("<f4", "(2,)") + " \n").getBytes(StandardCharsets.ISO_8859_1);
        for (int i = 0; i < 700; i++) {
            int major = rnd.nextInt(5);
            long length = switch (rnd.nextInt(4)) {
                case 0 -> header.length + rnd.nextInt(17) - 8;
                case 1 -> rnd.nextInt(1 << 16);
                case 2 -> rnd.nextLong() & 0xFFFF_FFFFL;
                default -> (1 << 20) + rnd.nextInt(3) - 1;
            };
            check(f, raw(major, rnd.nextInt(8) == 0 ? 1 : 0, length, header, new byte[rnd.nextInt(12)]), null);
            cases++;
        }
        // Random garbage dicts assembled from header tokens.
        String[] tokens = {"{", "}", "(", ")", ",", ":", " ", "'descr'", "'shape'", "'fortran_order'", "'<f4'",
            "True", "False", "1", "0", "-1", "'", "\"", "\n", "[", "]", "L", "\0", "\u00e9"};
        for (int i = 0; i < 800; i++) {
            StringBuilder d = new StringBuilder();
            int n = rnd.nextInt(30);
            for (int k = 0; k < n; k++) {
                d.append(tokens[rnd.nextInt(tokens.length)]);
            }
            check(f, npy(1 + rnd.nextInt(3), d.toString(), new byte[rnd.nextInt(9)]), null);
            cases++;
        }
        assertTrue(cases >= 5000, "cases " + cases);
        assertEquals(cases, accepted + rejected);
        assertTrue(accepted > 50 && rejected > 1000, "accepted " + accepted + ", rejected " + rejected);
    }

    /** Reads {@code bytes}; {@code mustAccept} true/false or null when either outcome is fine. */
    private void check(Path f, byte[] bytes, Boolean mustAccept) throws IOException {
        Files.write(f, bytes);
        try (NpyArray a = Npy.read(f)) {
            Tensor t = a.tensor();
            long size = t.segment().byteSize();
            if (size != t.numel() * t.dtype().byteSize() || size > bytes.length - 10) {
                fail("tensor " + t + " of " + size + " bytes does not fit " + describe(bytes));
            }
            if (size > 0) { // touch both ends of the mapping
                t.segment().get(ValueLayout.JAVA_BYTE, 0);
                t.segment().get(ValueLayout.JAVA_BYTE, size - 1);
            }
            if (Boolean.FALSE.equals(mustAccept)) {
                fail("accepted " + describe(bytes));
            }
            accepted++;
        } catch (NpyFormatException e) {
            if (Boolean.TRUE.equals(mustAccept)) {
                fail("rejected " + describe(bytes), e);
            }
            if (!e.getMessage().startsWith(f + ": ")) {
                fail("message does not name the file: " + e.getMessage());
            }
            rejected++;
        } catch (IOException | RuntimeException | Error e) {
            fail("unexpected " + e + " for " + describe(bytes), e);
        }
    }

    private static String describe(byte[] bytes) {
        return bytes.length + " bytes: " + HexFormat.of().formatHex(bytes, 0, Math.min(bytes.length, 200));
    }
}
