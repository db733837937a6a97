package dev.vecloss.npy;

import static dev.vecloss.npy.NpyFiles.dict;
import static dev.vecloss.npy.NpyFiles.floats;
import static dev.vecloss.npy.NpyFiles.npy;
import static dev.vecloss.npy.NpyFiles.raw;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.DType;
import dev.vecloss.Tensor;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Files laid out byte for byte as NumPy writes them, and every way a file can be wrong. */
class NpyReadTest {
    @TempDir
    Path dir;

    private Path file(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    /** The problem part of the message of reading {@code bytes}, after checking the file prefix. */
    private String problem(byte[] bytes) throws IOException {
        Path f = file("bad.npy", bytes);
        NpyFormatException e = assertThrows(NpyFormatException.class, () -> Npy.read(f).close());
        String prefix = f + ": ";
        assertTrue(e.getMessage().startsWith(prefix), e.getMessage());
        return e.getMessage().substring(prefix.length());
    }

    private static void assertContains(String expected, String actual) {
        assertTrue(actual.contains(expected), () -> "expected \"" + expected + "\" in: " + actual);
    }

    @Test
    void readsNumpyVersion1File() throws IOException {
        Path f = file("a.npy", npy(1, dict("<f4", "(2, 3)"), floats(6)));
        assertEquals(128 + 24, Files.size(f));
        try (NpyArray a = Npy.read(f)) {
            Tensor t = a.tensor();
            assertEquals(DType.FLOAT32, t.dtype());
            assertArrayEquals(new long[] {2, 3}, t.shape());
            assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, t.toFloatArray());
            assertTrue(t.segment().isReadOnly());
            assertTrue(t.segment().isMapped());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {2, 3})
    void readsVersions2And3(int major) throws IOException {
        Path f = file("v.npy", npy(major, dict("<f4", "(3,)"), floats(3)));
        assertEquals(major, Files.readAllBytes(f)[6]);
        try (NpyArray a = Npy.read(f)) {
            assertArrayEquals(new float[] {0, 1, 2}, a.tensor().toFloatArray());
        }
    }

    @Test
    void version3HeaderIsUtf8AndEarlierOnesLatin1() throws IOException {
        // U+00A0 (no-break space) is not whitespace to the parser, so both are rejected; what
        // matters is which decoding the message shows and that invalid UTF-8 is caught.
        byte[] bad = {'{', (byte) 0xC3, '}', '\n'};
        assertContains("not valid UTF-8", problem(raw(3, 0, bad.length, bad, new byte[0])));
        assertContains("\"{\u00c3}\"", problem(raw(1, 0, bad.length, bad, new byte[0])));
        String withUnicode = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'é': 1}";
        assertContains("unexpected key 'é'", problem(npy(3, withUnicode, floats(1))));
    }

    @Test
    void readsEveryDtypeAndNumpySpellings() throws IOException {
        String[][] cases = {{"<f8", "FLOAT64", "8"}, {"<i8", "INT64", "8"}, {"<i4", "INT32", "4"},
            {"|u1", "UINT8", "1"}, {"<u1", "UINT8", "1"}, {"|b1", "BOOL", "1"}, {"<f4", "FLOAT32", "4"}};
        for (String[] c : cases) {
            Path f = file("d.npy", npy(1, dict(c[0], "(2,)"), new byte[2 * Integer.parseInt(c[2])]));
            try (NpyArray a = Npy.read(f)) {
                assertEquals(DType.valueOf(c[1]), a.tensor().dtype(), c[0]);
            }
        }
    }

    @Test
    void bool0dAndEmptyArrays() throws IOException {
        try (NpyArray a = Npy.read(file("b.npy", npy(1, dict("|b1", "()"), new byte[] {1})))) {
            assertEquals(0, a.tensor().rank());
            assertEquals(1, a.tensor().getLong(0));
        }
        for (String shape : new String[] {"(0,)", "(3, 0)", "(0, 1000000000000)"}) {
            Path f = file("e.npy", npy(1, dict("<f8", shape), new byte[0]));
            try (NpyArray a = Npy.read(f)) {
                assertEquals(0, a.tensor().numel(), shape);
                assertEquals(0, a.tensor().segment().byteSize());
            }
        }
    }

    @Test
    void headerSyntaxNumpyAndPythonAccept() throws IOException {
        String[] dicts = {
            "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}", // any key order
            "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 3)}", // double quotes
            "{'descr':'<f4','fortran_order':False,'shape':(2,3,),}", // no spaces, trailing commas
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", // Python 2 writers
            "{ 'descr' : '<f4' ,\n 'fortran_order' : False ,\t'shape' : ( 2 , 3 ) }",
        };
        for (String d : dicts) {
            try (NpyArray a = Npy.read(file("s.npy", npy(1, d, floats(6))))) {
                assertArrayEquals(new long[] {2, 3}, a.tensor().shape(), d);
            }
        }
    }

    @Test
    void closeUnmapsAndIsIdempotent() throws IOException {
        NpyArray a = Npy.read(file("c.npy", npy(1, dict("<f4", "(3,)"), floats(3))));
        Tensor t = a.tensor();
        a.close();
        a.close();
        assertThrows(IllegalStateException.class, () -> t.segment().get(ValueLayout.JAVA_BYTE, 0));
        NpyArray empty = Npy.read(file("e.npy", npy(1, dict("<f4", "(0,)"), new byte[0])));
        empty.close();
        empty.close();
    }

    @Test
    void mappedTensorIsReadableFromOtherThreads() throws Exception {
        try (NpyArray a = Npy.read(file("m.npy", npy(1, dict("<f4", "(3,)"), floats(3))))) {
            float[][] out = new float[1][];
            Thread th = new Thread(() -> out[0] = a.tensor().toFloatArray());
            th.start();
            th.join();
            assertArrayEquals(new float[] {0, 1, 2}, out[0]);
        }
    }

    // ---- errors ----

    @Test
    void missingFileNamesTheFile() {
        Path f = dir.resolve("missing.npy");
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> Npy.read(f));
        assertContains("missing.npy", e.getMessage());
    }

    @Test
    void directoryIsNotAFile() {
        IOException e = assertThrows(IOException.class, () -> Npy.read(dir));
        assertContains(dir.toString(), e.getMessage());
        assertFalse(e instanceof NpyFormatException);
    }

    @Test
    void badMagicAndShortFiles() throws IOException {
        assertContains("empty file", problem(new byte[0]));
        assertContains("not a .npy file", problem("PK\3\4 a zip file".getBytes(StandardCharsets.ISO_8859_1)));
        assertContains("not a .npy file", problem(new byte[] {(byte) 0x93, 'N', 'U', 'M'}));
        byte[] valid = npy(1, dict("<f4", "(1,)"), floats(1));
        assertContains("too short for a .npy preamble", problem(Arrays.copyOf(valid, 9)));
        byte[] v2 = npy(2, dict("<f4", "(1,)"), floats(1));
        assertContains("too short for a version 2.0 preamble", problem(Arrays.copyOf(v2, 11)));
    }

    @ParameterizedTest
    @CsvSource({"0, 0", "4, 0", "1, 1", "2, 1", "3, 5", "255, 0"})
    void unsupportedVersions(int major, int minor) throws IOException {
        byte[] b = npy(1, dict("<f4", "(1,)"), floats(1));
        b[6] = (byte) major;
        b[7] = (byte) minor;
        assertEquals("unsupported .npy format version " + major + "." + minor + " (supported: 1.0, 2.0, 3.0)",
                problem(b));
    }

    @Test
    void headerLengthBeyondTheFileOrOverTheLimit() throws IOException {
        byte[] header = dict("<f4", "(1,)").getBytes(StandardCharsets.ISO_8859_1);
        assertContains("truncated: header length 200 but the file has " + (header.length + 4)
                + " bytes after the preamble", problem(raw(1, 0, 200, header, floats(1))));
        assertContains("header length 4294967295 is over the limit of 1048576 bytes",
                problem(raw(2, 0, 0xFFFF_FFFFL, header, floats(1))));
        assertContains("header length 2097152 is over the limit",
                problem(raw(3, 0, 2 << 20, header, floats(1))));
        // A header length that cuts the dict short.
        assertContains("malformed header", problem(raw(1, 0, header.length - 3, header, new byte[3])));
    }

    @Test
    void fortranOrder() throws IOException {
        String d = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }";
        assertEquals("Fortran order is not supported: write the array with np.ascontiguousarray",
                problem(npy(1, d, floats(6))));
    }

    @Test
    void unsupportedDtypes() throws IOException {
        for (String descr : new String[] {">f4", "<f2", "<c8", "|O", "<U3", "f4", "", "<i2", "|i1", "|S10"}) {
            assertEquals("unsupported dtype '" + descr + "' (supported: <f4, <f8, <i8, <i4, |u1, |b1)",
                    problem(npy(1, dict(descr, "(1,)"), floats(1))), descr);
        }
        String structured = "{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (1,), }";
        assertContains("structured dtypes are not supported", problem(npy(1, structured, floats(1))));
        assertContains("unsupported dtype '\\x01'", problem(npy(1, dict("\1", "(1,)"), floats(1))));
    }

    @Test
    void badShapes() throws IOException {
        assertContains("negative dimension -2 in 'shape'", problem(npy(1, dict("<f4", "(-2, 3)"), floats(6))));
        assertContains("dimension 9223372036854775808 in 'shape' is too large",
                problem(npy(1, dict("<f4", "(9223372036854775808,)"), floats(1))));
        assertContains("dimension 123456789012345678901234567890 in 'shape' is too large",
                problem(npy(1, dict("<f4", "(123456789012345678901234567890,)"), floats(1))));
        assertEquals("shape (4294967296, 4294967296) of <f4 is too large (over 2^63 bytes)",
                problem(npy(1, dict("<f4", "(4294967296, 4294967296)"), floats(1))));
        assertEquals("shape (2305843009213693952,) of <f4 is too large (over 2^63 bytes)",
                problem(npy(1, dict("<f4", "(2305843009213693952,)"), floats(1))));
        assertContains("'shape' (3) is not a tuple: a 1-d shape is written (3,)",
                problem(npy(1, dict("<f4", "(3)"), floats(3))));
        assertContains("'shape' has more than 64 dimensions",
                problem(npy(1, dict("<f4", "(" + "1, ".repeat(65) + ")"), floats(1))));
        for (String shape : new String[] {"[2, 3]", "(2 3)", "(2,, 3)", "(,)", "(2.0,)", "(0x10,)", "(01,)",
            "(2, 3", "3", "None", "(True,)"}) {
            assertContains("malformed header", problem(npy(1, dict("<f4", shape), floats(6))));
        }
    }

    @Test
    void dataSizeMustMatchTheShape() throws IOException {
        assertEquals("truncated: shape (2, 3) of <f4 needs 24 bytes, file has 20 after the header",
                problem(npy(1, dict("<f4", "(2, 3)"), floats(5))));
        assertEquals("truncated: shape (1000000000000, 1000000) of <f8 needs 8000000000000000000 bytes,"
                + " file has 0 after the header", problem(npy(1, dict("<f8", "(1000000000000, 1000000)"), new byte[0])));
        assertEquals("truncated: shape () of <i8 needs 8 bytes, file has 4 after the header",
                problem(npy(1, dict("<i8", "()"), new byte[4])));
        assertEquals("4 trailing bytes: shape (1,) of <f4 needs 4 bytes, file has 8 after the header",
                problem(npy(1, dict("<f4", "(1,)"), floats(2))));
    }

    @Test
    void malformedDicts() throws IOException {
        String[][] cases = {
            {"", "the header is not a Python dict"},
            {"   \n", "the header is not a Python dict"},
            {"{'descr': '<f4', 'fortran_order': False}", "header lacks key 'shape'"},
            {"{'fortran_order': False, 'shape': (1,)}", "header lacks key 'descr'"},
            {"{'descr': '<f4', 'shape': (1,)}", "header lacks key 'fortran_order'"},
            {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", "key 'descr' twice"},
            {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", "unexpected key 'x'"},
            {"{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", "'fortran_order' must be True or False"},
            {"{'descr': '<f4', 'fortran_order': false, 'shape': (1,)}", "'fortran_order' must be True or False"},
            {"{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", "expected ',' or '}'"},
            {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", "unexpected text after the dict"},
            {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", "expected ',' or '}' at the end of"},
            {"{'descr: '<f4', 'fortran_order': False, 'shape': (1,)}", "expected ':'"},
            {"{'descr': '<f\\x34', 'fortran_order': False, 'shape': (1,)}", "unsupported character"},
            {"{descr: '<f4', 'fortran_order': False, 'shape': (1,)}", "expected a quoted key"},
            {"{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", "expected ',' or '}'"},
            {"{'descr': '<f4\0", "unsupported character in a string"},
        };
        for (String[] c : cases) {
            String p = problem(npy(1, c[0], floats(1)));
            assertContains(c[1], p);
        }
        // The message shows where, and control characters escaped.
        assertContains("unexpected text after the dict at character 56 of \"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x\"",
                problem(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", floats(1))));
        assertContains("\\x00", problem(npy(1, "{\0}", floats(1))));
    }
}
