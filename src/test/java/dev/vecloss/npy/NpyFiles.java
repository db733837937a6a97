package dev.vecloss.npy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Builds {@code .npy} bytes by hand, the way NumPy lays them out, for the tests. */
final class NpyFiles {
    private NpyFiles() {}

    /**
     * A file of format {@code major}.0 whose header is {@code dict} padded with spaces and a
     * final newline so that the preamble and header take a multiple of 64 bytes, as NumPy
     * writes it, followed by {@code data}.
     */
    static byte[] npy(int major, String dict, byte[] data) {
        byte[] text = dict.getBytes(major >= 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        int preamble = major == 1 ? 10 : 12;
        int total = (preamble + text.length + 1 + 63) / 64 * 64;
        byte[] header = new byte[total - preamble];
        System.arraycopy(text, 0, header, 0, text.length);
        for (int i = text.length; i < header.length - 1; i++) {
            header[i] = ' ';
        }
        header[header.length - 1] = '\n';
        return raw(major, 0, header.length, header, data);
    }

    /** A file with the given version bytes and header length field, whatever the header is. */
    static byte[] raw(int major, int minor, long headerLength, byte[] header, byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0x93);
        out.writeBytes("NUMPY".getBytes(StandardCharsets.US_ASCII));
        out.write(major);
        out.write(minor);
        int lengthBytes = major == 1 ? 2 : 4;
        for (int i = 0; i < lengthBytes; i++) {
            out.write((int) (headerLength >>> (8 * i)) & 0xFF);
        }
        out.writeBytes(header);
        out.writeBytes(data);
        return out.toByteArray();
    }

    /** The dict NumPy writes for a C-order array. */
    static String dict(String descr, String shape) {
        return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    }

    /** {@code n} little-endian float32 values 0, 1, 2, ... */
    static byte[] floats(int n) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * n).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            b.putFloat(i);
        }
        return b.array();
    }
}
