package dev.vecloss.npy;

import dev.vecloss.DType;
import java.util.ArrayList;
import java.util.List;

/**
 * The dictionary of a {@code .npy} header, parsed strictly as the Python literal NumPy
 * writes: {@code {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }}. Keys may come
 * in any order, each exactly once, with no others; strings are quoted with {@code '} or
 * {@code "} and have no escapes; the shape is a tuple of non-negative integers (a trailing
 * comma is optional, and required for one element as in Python; an {@code L} suffix from
 * Python 2 writers is accepted). Spaces, tabs and newlines may separate tokens.
 *
 * <p>Errors are reported as {@link Problem}s with a message for the user; the caller adds the
 * file name.
 */
record NpyHeader(String descr, boolean fortranOrder, long[] shape) {

    /** The most dimensions accepted, as in NumPy 2 ({@code NPY_MAXDIMS}). */
    static final int MAX_RANK = 64;

    /** A malformed header; the message is the problem without the file name. */
    static final class Problem extends Exception {
        private static final long serialVersionUID = 1L;

        Problem(String message) {
            super(message, null, false, false);
        }
    }

    static NpyHeader parse(String text) throws Problem {
        return new Parser(text).header();
    }

    /** The shape as Python writes a tuple: {@code ()}, {@code (3,)}, {@code (2, 3)}. */
    static String shapeRepr(long[] shape) {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(shape[i]);
        }
        return sb.append(shape.length == 1 ? ",)" : ")").toString();
    }

    /** The header NumPy writes for a C-order array, without padding. */
    static String format(DType dtype, long[] shape) {
        return "{'descr': '" + dtype.npyDescr() + "', 'fortran_order': False, 'shape': " + shapeRepr(shape) + ", }";
    }

    /** {@code text} quoted, with control characters escaped and cut to 120 characters. */
    static String printable(String text) {
        String t = text.length() > 120 ? text.substring(0, 117) + "..." : text;
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)) {
                sb.append(String.format("\\x%02x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.append('"').toString();
    }

    private static final class Parser {
        private final String s;
        private int pos;

        Parser(String s) {
            this.s = s;
        }

        NpyHeader header() throws Problem {
            String descr = null;
            Boolean fortran = null;
            long[] shape = null;
            skipSpace();
            expect('{', "the header is not a Python dict");
            skipSpace();
            while (peek() != '}') {
                int keyAt = pos;
                String key = string("a quoted key");
                skipSpace();
                expect(':', "expected ':' after key '" + key + "'");
                skipSpace();
                switch (key) {
                    case "descr" -> {
                        if (descr != null) {
                            throw duplicate(key);
                        }
                        if (peek() != '\'' && peek() != '"') {
                            throw new Problem("unsupported dtype: 'descr' is not a simple type string"
                                    + " (structured dtypes are not supported)");
                        }
                        descr = string("a quoted dtype");
                    }
                    case "fortran_order" -> {
                        if (fortran != null) {
                            throw duplicate(key);
                        }
                        fortran = bool();
                    }
                    case "shape" -> {
                        if (shape != null) {
                            throw duplicate(key);
                        }
                        shape = tuple();
                    }
                    default -> {
                        pos = keyAt;
                        throw problem("unexpected key '" + key + "' (expected 'descr', 'fortran_order', 'shape')");
                    }
                }
                skipSpace();
                if (peek() == ',') {
                    pos++;
                    skipSpace();
                } else if (peek() != '}') {
                    throw problem("expected ',' or '}'");
                }
            }
            pos++;
            skipSpace();
            if (pos != s.length()) {
                throw problem("unexpected text after the dict");
            }
            if (descr == null || fortran == null || shape == null) {
                throw new Problem("header lacks key '"
                        + (descr == null ? "descr" : fortran == null ? "fortran_order" : "shape") + "'");
            }
            return new NpyHeader(descr, fortran, shape);
        }

        private Problem duplicate(String key) {
            return new Problem("header has key '" + key + "' twice");
        }

        private String string(String what) throws Problem {
            char q = peek();
            if (q != '\'' && q != '"') {
                throw problem("expected " + what);
            }
            int start = ++pos;
            while (pos < s.length() && s.charAt(pos) != q) {
                char c = s.charAt(pos);
                if (c == '\\' || c == '\n' || c == '\r') {
                    throw problem("unsupported character in a string");
                }
                pos++;
            }
            if (pos >= s.length()) {
                throw problem("unterminated string");
            }
            return s.substring(start, pos++);
        }

        private boolean bool() throws Problem {
            if (s.startsWith("True", pos)) {
                pos += 4;
                return true;
            }
            if (s.startsWith("False", pos)) {
                pos += 5;
                return false;
            }
            throw problem("'fortran_order' must be True or False");
        }

        private long[] tuple() throws Problem {
            expect('(', "'shape' must be a tuple such as (2, 3), (3,) or ()");
            List<Long> dims = new ArrayList<>();
            boolean comma = false;
            skipSpace();
            while (peek() != ')') {
                if (!dims.isEmpty() && !comma) {
                    throw problem("expected ',' or ')' in 'shape'");
                }
                if (dims.size() == MAX_RANK) {
                    throw new Problem("'shape' has more than " + MAX_RANK + " dimensions");
                }
                dims.add(integer());
                skipSpace();
                comma = peek() == ',';
                if (comma) {
                    pos++;
                    skipSpace();
                }
            }
            pos++;
            if (dims.size() == 1 && !comma) {
                throw new Problem("'shape' (" + dims.get(0) + ") is not a tuple: a 1-d shape is written ("
                        + dims.get(0) + ",)");
            }
            long[] out = new long[dims.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = dims.get(i);
            }
            return out;
        }

        private long integer() throws Problem {
            int start = pos;
            boolean negative = peek() == '-';
            if (negative) {
                pos++;
                skipSpace();
            }
            int digits = pos;
            long v = 0;
            boolean overflow = false;
            while (pos < s.length() && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') {
                int d = s.charAt(pos++) - '0';
                if (v > (Long.MAX_VALUE - d) / 10) {
                    overflow = true;
                } else if (!overflow) {
                    v = v * 10 + d;
                }
            }
            if (pos == digits) {
                pos = start;
                throw problem("expected an integer in 'shape'");
            }
            if (pos - digits > 1 && s.charAt(digits) == '0') {
                pos = start;
                throw problem("integer with a leading zero in 'shape'");
            }
            if (peek() == 'L') {
                pos++; // Python 2 long literal, as old NumPy wrote it
            }
            String literal = s.substring(start, pos);
            if (negative && (v != 0 || overflow)) {
                throw new Problem("negative dimension " + literal + " in 'shape'");
            }
            if (overflow) {
                throw new Problem("dimension " + literal + " in 'shape' is too large");
            }
            return v;
        }

        private void expect(char c, String message) throws Problem {
            if (peek() != c) {
                throw problem(message);
            }
            pos++;
        }

        private char peek() {
            return pos < s.length() ? s.charAt(pos) : '\0';
        }

        private void skipSpace() {
            while (pos < s.length()) {
                char c = s.charAt(pos);
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                    return;
                }
                pos++;
            }
        }

        private Problem problem(String message) {
            String where = pos >= s.length() ? " at the end of " : " at character " + pos + " of ";
            return new Problem("malformed header: " + message + where + excerpt());
        }

        private String excerpt() {
            return printable(s.stripTrailing());
        }
    }
}
