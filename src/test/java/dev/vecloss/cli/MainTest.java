package dev.vecloss.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.CrossEntropy;
import dev.vecloss.DType;
import dev.vecloss.Kernels;
import dev.vecloss.Reduction;
import dev.vecloss.Tensor;
import dev.vecloss.npy.Npy;
import dev.vecloss.npy.NpyArray;
import dev.vecloss.npy.NpyFiles;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The command line run in-process through {@link Main#run}: results equal the public API's to
 * the last bit, outputs have PyTorch's shapes, and every error is exit 2 with exactly one
 * {@code vecloss: } line on stderr, nothing on stdout and no file left behind.
 */
class MainTest extends CliTestBase {
    @Test
    void crossEntropyPrintsTheLibraryValueExactly() throws IOException {
        double expected = library(false, x, t, CrossEntropy.Options.defaults(), null, null);
        assertSuccess(run("cross-entropy", "--input", p(x), "--target", p(t)), expected + "\n");
        assertEquals(Double.toString(expected) + "\n", run("cross-entropy", "--input=" + x, "--target=" + t).out);
    }

    @Test
    void weightSmoothingIgnoreAndSum() throws IOException {
        Path w = NpyFiles.f32(dir.resolve("w.npy"), new float[] {0.5f, 1, 2, 1.5f, 0.25f}, C);
        Tensor wt = Tensor.of(new float[] {0.5f, 1, 2, 1.5f, 0.25f});
        CrossEntropy.Options o = CrossEntropy.Options.defaults().withWeight(wt).withIgnoreIndex(2)
                .withLabelSmoothing(0.1).withReduction(Reduction.SUM);
        // with ignore_index 2, the -100 of the default labels would be active: use valid labels
        Path t2 = NpyFiles.i64(dir.resolve("t2.npy"), new long[] {0, 4, 2, 2, 3, 1}, N);
        double expected = library(false, x, t2, o, null, null);
        assertSuccess(run("cross-entropy", "--input", p(x), "--target", p(t2), "--weight", p(w),
                "--ignore-index", "2", "--label-smoothing=0.1", "--reduction", "sum"), expected + "\n");
    }

    @Test
    void negativeOptionValuesAreValuesNotOptions() throws IOException {
        Path t2 = NpyFiles.i64(dir.resolve("t2.npy"), new long[] {0, -1, 2, -1, 3, 1}, N);
        double expected = library(false, x, t2, CrossEntropy.Options.defaults().withIgnoreIndex(-1), null, null);
        assertSuccess(run("cross-entropy", "--input", p(x), "--target", p(t2), "--ignore-index", "-1"),
                expected + "\n");
    }

    @Test
    void reductionNoneWritesLossesAndGradientInPyTorchShapes() throws IOException {
        Path out = dir.resolve("losses.npy");
        Path grad = dir.resolve("grad.npy");
        Run r = run("cross-entropy", "--input", p(x), "--target", p(t), "--reduction", "none",
                "--output", p(out), "--grad", p(grad));
        assertSuccess(r, "");
        try (Arena arena = Arena.ofShared(); NpyArray lo = Npy.read(out); NpyArray gr = Npy.read(grad)) {
            Tensor el = Tensor.allocate(arena, DType.FLOAT32, N);
            Tensor eg = Tensor.allocate(arena, DType.FLOAT32, N, C);
            library(false, x, t, CrossEntropy.Options.defaults().withReduction(Reduction.NONE), el, eg);
            assertEquals(DType.FLOAT32, lo.tensor().dtype());
            assertArrayEquals(new long[] {N}, lo.tensor().shape());
            assertArrayEquals(el.toFloatArray(), lo.tensor().toFloatArray());
            assertEquals(0f, lo.tensor().toFloatArray()[3]); // the ignored position
            assertEquals(DType.FLOAT32, gr.tensor().dtype());
            assertArrayEquals(new long[] {N, C}, gr.tensor().shape());
            assertArrayEquals(eg.toFloatArray(), gr.tensor().toFloatArray());
        }
    }

    @Test
    void spatialInputMeanWithGradient() throws IOException {
        // (N=2, C=3, H=2, W=3) logits, (2, 2, 3) uint8 labels
        float[] v = new float[2 * 3 * 2 * 3];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) Math.sin(i * 0.7) * 3;
        }
        Path xs = NpyFiles.f32(dir.resolve("xs.npy"), v, 2, 3, 2, 3);
        Path ts = NpyFiles.u8(dir.resolve("ts.npy"), new long[] {0, 1, 2, 2, 1, 0, 1, 1, 0, 2, 255, 0}, 2, 2, 3);
        Path out = dir.resolve("o.npy");
        Path grad = dir.resolve("g.npy");
        Run r = run("cross-entropy", "--input", p(xs), "--target", p(ts), "--ignore-index", "255",
                "--output", p(out), "--grad", p(grad));
        try (Arena arena = Arena.ofShared(); NpyArray lo = Npy.read(out); NpyArray gr = Npy.read(grad)) {
            Tensor el = Tensor.allocate(arena, DType.FLOAT32, 2, 2, 3);
            Tensor eg = Tensor.allocate(arena, DType.FLOAT32, 2, 3, 2, 3);
            double expected = library(false, xs, ts, CrossEntropy.Options.defaults().withIgnoreIndex(255), el, eg);
            assertSuccess(r, expected + "\n");
            assertArrayEquals(new long[] {2, 2, 3}, lo.tensor().shape());
            assertArrayEquals(el.toFloatArray(), lo.tensor().toFloatArray());
            assertArrayEquals(new long[] {2, 3, 2, 3}, gr.tensor().shape());
            assertArrayEquals(eg.toFloatArray(), gr.tensor().toFloatArray());
        }
    }

    @Test
    void probabilityTargetsWriteOneLossPerPosition() throws IOException {
        float[] q = new float[N * C];
        for (int i = 0; i < q.length; i++) {
            q[i] = (i % C == i / C % C) ? 0.6f : 0.1f;
        }
        Path tp = NpyFiles.f32(dir.resolve("q.npy"), q, N, C);
        Path out = dir.resolve("o.npy");
        Run r = run("cross-entropy", "--input", p(x), "--target", p(tp), "--output", p(out));
        try (Arena arena = Arena.ofShared(); NpyArray lo = Npy.read(out)) {
            Tensor el = Tensor.allocate(arena, DType.FLOAT32, N);
            assertSuccess(r, library(false, x, tp, CrossEntropy.Options.defaults(), el, null) + "\n");
            assertArrayEquals(new long[] {N}, lo.tensor().shape());
            assertArrayEquals(el.toFloatArray(), lo.tensor().toFloatArray());
        }
    }

    @Test
    void nllLossMatchesTheLibrary() throws IOException {
        CrossEntropy.Options o = CrossEntropy.Options.defaults().withReduction(Reduction.SUM);
        assertSuccess(run("nll-loss", "--input", p(x), "--target", p(t), "--reduction", "sum"),
                library(true, x, t, o, null, null) + "\n");
    }

    @Test
    void float64InputIsComputedInDoubleAndOutputsStayFloat32() throws IOException {
        double[] d = new double[logits.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = logits[i] + 1e-9 * i; // not representable in float32
        }
        Path x64 = NpyFiles.f64(dir.resolve("x64.npy"), d, N, C);
        Path w = NpyFiles.f32(dir.resolve("w.npy"), new float[] {1, 2, 3, 4, 5}, C); // float32 weight, widened
        Path grad = dir.resolve("g.npy");
        CrossEntropy.Options o = CrossEntropy.Options.defaults().withWeight(Tensor.of(new double[] {1, 2, 3, 4, 5}));
        Run r = run("cross-entropy", "--input", p(x64), "--target", p(t), "--weight", p(w), "--grad", p(grad));
        try (Arena arena = Arena.ofShared(); NpyArray gr = Npy.read(grad)) {
            Tensor eg = Tensor.allocate(arena, DType.FLOAT32, N, C);
            double expected = library(false, x64, t, o, null, eg);
            assertSuccess(r, expected + "\n");
            assertEquals(DType.FLOAT32, gr.tensor().dtype());
            assertArrayEquals(eg.toFloatArray(), gr.tensor().toFloatArray());
        }
        double fromFloat32 = library(false, x, t, o.withWeight(Tensor.of(new float[] {1, 2, 3, 4, 5})), null, null);
        assertFalse(r.out.equals(fromFloat32 + "\n"), "the float64 input was rounded to float32");
    }

    @Test
    void int32AndUint8TargetsMeanTheSameAsInt64() throws IOException {
        long[] valid = {0, 4, 2, 1, 3, 1};
        Path t64 = NpyFiles.i64(dir.resolve("t64.npy"), valid, N);
        Path t32 = NpyFiles.i32(dir.resolve("t32.npy"), valid, N);
        Path tu8 = NpyFiles.u8(dir.resolve("tu8.npy"), valid, N);
        String expected = run("cross-entropy", "--input", p(x), "--target", p(t64)).out;
        assertEquals(library(false, x, t64, CrossEntropy.Options.defaults(), null, null) + "\n", expected);
        assertSuccess(run("cross-entropy", "--input", p(x), "--target", p(t32)), expected);
        assertSuccess(run("cross-entropy", "--input", p(x), "--target", p(tu8)), expected);
    }

    @Test
    void threadCountDoesNotChangeTheText() throws IOException {
        // 40000 positions of 8 classes: several chunks of Parallel's fixed grain
        int n = 40_000, c = 8;
        float[] v = new float[n * c];
        long[] y = new long[n];
        Random rnd = new Random(11);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (rnd.nextGaussian() * 3);
        }
        for (int i = 0; i < n; i++) {
            y[i] = rnd.nextInt(c);
        }
        Path xb = NpyFiles.f32(dir.resolve("xb.npy"), v, n, c);
        Path tb = NpyFiles.i64(dir.resolve("tb.npy"), y, n);
        Run one = run("cross-entropy", "--input", p(xb), "--target", p(tb), "--threads", "1",
                "--output", p(dir.resolve("o1.npy")));
        Run two = run("cross-entropy", "--input", p(xb), "--target", p(tb), "--threads", "2",
                "--output", p(dir.resolve("o2.npy")));
        assertSuccess(one, two.out);
        assertEquals(one.err, two.err);
        assertArrayEquals(Files.readAllBytes(dir.resolve("o1.npy")), Files.readAllBytes(dir.resolve("o2.npy")));
    }

    @Test
    void verboseSaysWhichKernelsRun() {
        Run r = run("-v", "cross-entropy", "--input", p(x), "--target", p(t));
        assertEquals(0, r.status, r.err);
        assertEquals("vecloss: " + Kernels.description(), r.errLines().get(0));
        assertTrue(r.errLines().stream().allMatch(l -> l.startsWith("vecloss: ")), r.err);
    }

    @Test
    void helpGoesToStdoutWithStatusZero() {
        Run r = run("--help");
        assertEquals(0, r.status);
        assertTrue(r.out.contains("cross-entropy"));
        assertEquals("", r.err);
        Run ce = run("cross-entropy", "--help");
        assertEquals(0, ce.status);
        assertTrue(ce.out.contains("--label-smoothing"));
    }

    // ---- errors ------------------------------------------------------------------------

    @Test
    void unknownLossAndOption() throws IOException {
        fails(new String[] {"frobnicate", "--input", p(x)}, "unknown loss", "frobnicate");
        fails(ce("--frob", "1", "--output", out()), "unknown option", "--frob");
        fails(ce("-x"), "unknown option -x");
        fails(new String[] {"nll-loss", "--input", p(x), "--target", p(t), "--label-smoothing", "0.1"},
                "unknown option --label-smoothing");
        fails(new String[] {}, "no loss");
        fails(ce("--output"), "--output needs a value");
        fails(ce("--input", p(x)), "--input is given twice");
    }

    @Test
    void missingRequiredOptionAndBadNumbers() throws IOException {
        fails(new String[] {"cross-entropy", "--input", p(x), "--output", out()}, "needs --target");
        fails(new String[] {"nll-loss", "--target", p(t)}, "needs --input");
        fails(ce("--ignore-index", "abc", "--output", out()), "--ignore-index", "'abc' is not an integer");
        fails(ce("--label-smoothing", "0.1x"), "--label-smoothing", "not a number");
        fails(ce("--label-smoothing", "1.5"), "--label-smoothing", "1.5");
        fails(ce("--threads", "-1"), "--threads", "-1");
        fails(ce("--threads", "2.5"), "--threads", "not an integer");
        fails(ce("--reduction", "avg"), "--reduction", "'avg'");
        fails(ce("--reduction", "none"), "--reduction none", "--output");
        fails(ce("--reduction", "none", "--grad", grad()), "--output");
        fails(ce("--output", p(dir.resolve("no/such/folder/o.npy"))), "--output", "does not exist");
        fails(ce("--output", out(), "--grad", out()), "same file");
    }

    @Test
    void fileProblemsNameTheFile() throws IOException {
        fails(new String[] {"cross-entropy", "--input", p(dir.resolve("nope.npy")), "--target", p(t),
                "--output", out()}, "--input", "nope\\.npy", "no such file");
        byte[] good = Files.readAllBytes(x);
        Path truncated = dir.resolve("truncated.npy");
        Files.write(truncated, java.util.Arrays.copyOf(good, good.length - 7));
        fails(new String[] {"cross-entropy", "--input", p(truncated), "--target", p(t), "--output", out()},
                "truncated\\.npy", "truncat|short|size|bytes");
        Path header = dir.resolve("header.npy");
        Files.write(header, java.util.Arrays.copyOf(good, 20));
        fails(new String[] {"cross-entropy", "--input", p(header), "--target", p(t)}, "header\\.npy");
        Path garbage = dir.resolve("garbage.npy");
        Files.writeString(garbage, "this is not a numpy file at all, sorry");
        fails(new String[] {"cross-entropy", "--input", p(garbage), "--target", p(t)}, "garbage\\.npy");
        Path f16 = NpyFiles.write(dir.resolve("half.npy"), "<f2", false, new long[] {N, C}, new byte[N * C * 2]);
        fails(new String[] {"cross-entropy", "--input", p(f16), "--target", p(t)}, "half\\.npy", "dtype|type|<f2");
        Path big = NpyFiles.write(dir.resolve("bigendian.npy"), ">f4", false, new long[] {N, C}, new byte[N * C * 4]);
        fails(new String[] {"cross-entropy", "--input", p(big), "--target", p(t)}, "bigendian\\.npy");
        Path fortran = NpyFiles.write(dir.resolve("fortran.npy"), "<f4", true, new long[] {N, C}, new byte[N * C * 4]);
        fails(new String[] {"cross-entropy", "--input", p(fortran), "--target", p(t), "--output", out()},
                "fortran\\.npy", "fortran|order");
        Path ints = NpyFiles.i64(dir.resolve("ints.npy"), new long[N * C], N, C);
        fails(new String[] {"cross-entropy", "--input", p(ints), "--target", p(t)}, "input must be float32",
                "int64", "ints\\.npy");
        Path wint = NpyFiles.i64(dir.resolve("wint.npy"), new long[C], C);
        fails(ce("--weight", p(wint)), "--weight", "wint\\.npy", "float32 or float64");
        Path wshort = NpyFiles.f32(dir.resolve("wshort.npy"), new float[C - 1], C - 1);
        fails(ce("--weight", p(wshort)), "weight", "length", "wshort\\.npy");
    }

    @Test
    void labelOutOfRangeLeavesNoOutputBehind() throws IOException {
        Path bad = NpyFiles.i64(dir.resolve("bad.npy"), new long[] {0, 1, 2, 7, 3, 1}, N);
        fails(new String[] {"cross-entropy", "--input", p(x), "--target", p(bad), "--reduction", "none",
                "--output", out(), "--grad", grad()}, "target 7", "flat index 3", "bad\\.npy");
        Path neg = NpyFiles.i64(dir.resolve("neg.npy"), new long[] {0, 1, 2, 3, -1, 1}, N);
        fails(new String[] {"nll-loss", "--input", p(x), "--target", p(neg), "--output", out()},
                "target -1", "flat index 4");
    }

    @Test
    void shapeMismatchNamesBothShapes() throws IOException {
        Path longer = NpyFiles.i64(dir.resolve("longer.npy"), new long[N + 1], N + 1);
        fails(new String[] {"cross-entropy", "--input", p(x), "--target", p(longer), "--output", out(),
                "--grad", grad()}, "\\[7\\]", "\\[6, 5\\]", "longer\\.npy");
        Path probs = NpyFiles.f32(dir.resolve("probs.npy"), new float[N * C], N, C);
        fails(new String[] {"nll-loss", "--input", p(x), "--target", p(probs)}, "nll_loss", "\\[6, 5\\]");
    }

    // ---- bench -------------------------------------------------------------------------

    @Test
    void benchCsvHasTheHeaderAndOneRowPerKernel() {
        Run r = run("bench", "--n", "7", "--c", "3", "--format", "csv", "--threads", "1");
        assertEquals(0, r.status, r.err);
        assertEquals(successErr(), r.errLines());
        String[] lines = r.out.split("\n");
        assertEquals("loss,n,c,layout,kernel,threads,gelem_per_s,rel_error,spread,settled", lines[0]);
        assertEquals(3, lines.length, r.out);
        assertTrue(lines[1].startsWith("cross-entropy,7,3,row,scalar,1,"), lines[1]);
        assertTrue(lines[2].startsWith("cross-entropy,7,3,row," + Kernels.selected().name().toLowerCase(java.util.Locale.ROOT) + ",1,"), lines[2]);
        for (int i = 1; i < 3; i++) {
            String[] f = lines[i].split(",");
            assertEquals(10, f.length, lines[i]);
            assertTrue(Double.parseDouble(f[6]) > 0, lines[i]);
            assertTrue(Double.parseDouble(f[7]) <= 1e-6, lines[i]);
            double spread = Double.parseDouble(f[8]); // (max - min) / max of the timed runs
            assertTrue(spread >= 0 && spread <= 1, lines[i]);
            assertTrue(f[9].equals("true") || f[9].equals("false"), lines[i]);
        }
    }

    @Test
    void benchNllOnTheStridedLayoutAsATable() {
        Run r = run("bench", "--loss=nll-loss", "--n", "6", "--c", "4", "--layout", "nchw");
        assertEquals(0, r.status, r.err);
        String[] lines = r.out.split("\n");
        assertEquals(3, lines.length, r.out); // title, column heads, one row
        assertTrue(lines[2].startsWith("nll-loss (nchw)"), lines[2]);
        assertTrue(lines[2].contains("(2, 4, 3)"), lines[2]);
    }

    @Test
    void benchRejectsBadOptions() throws IOException {
        fails(new String[] {"bench", "--loss", "no-such-loss"}, "--loss", "'no-such-loss'");
        fails(new String[] {"bench", "--n", "0"}, "--n");
        fails(new String[] {"bench", "--format", "json"}, "--format");
        fails(new String[] {"bench", "--input", p(x)}, "unknown option --input for bench");
    }

    // ---- item 8: bench's options read as the losses' ------------------------------------------

    @Test
    void benchTakesZeroThreadsAsAllCores() {
        Run r = run("bench", "--n", "7", "--c", "3", "--format", "csv", "--threads", "0");
        assertEquals(0, r.status, r.err);
        String[] lines = r.out.split("\n");
        int cores = Runtime.getRuntime().availableProcessors();
        assertTrue(lines[1].startsWith("cross-entropy,7,3,row,scalar," + cores + ","), lines[1]);
    }

    @Test
    void aValueTooLargeIsOutOfItsRealRange() throws IOException {
        Run r = fails(new String[] {"bench", "--c", "99999999999"}, "--c", "99999999999", "2147483647");
        assertFalse(r.err.contains("at least"), r.err);
        fails(new String[] {"bench", "--threads", "99999999999"}, "--threads", "0", "2147483647");
        fails(ce("--threads", "99999999999"), "--threads", "0", "2147483647");
        fails(ce("--ignore-index", "99999999999999999999"), "--ignore-index", "out of range");
        fails(new String[] {"bench", "--n", "99999999999999999999"}, "--n", "out of range \\(1 to 9223372036854775807\\)");
        fails(new String[] {"bench", "--c", "0"}, "--c", "out of range \\(1 to 2147483647\\)");
    }

    @Test
    void benchOnALossOfExactlyZero() {
        // one class: log_softmax is exactly 0, so is the loss; the relative error 0/0 must read as 0
        Run r = run("bench", "--n", "1", "--c", "1", "--format", "csv", "--threads", "1");
        assertEquals(0, r.status, r.err);
        String[] lines = r.out.split("\n");
        assertEquals(3, lines.length, r.out);
        for (int i = 1; i < 3; i++) {
            assertEquals(0.0, Double.parseDouble(lines[i].split(",")[7]), lines[i]);
        }
    }
}
