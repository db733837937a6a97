package dev.vecloss.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vecloss.DType;
import dev.vecloss.Kernels;
import dev.vecloss.Lovasz;
import dev.vecloss.SegmentationMode;
import dev.vecloss.Tensor;
import dev.vecloss.npy.Npy;
import dev.vecloss.npy.NpyArray;
import dev.vecloss.npy.NpyFiles;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code lovasz-loss} end to end, in-process: the printed value and the {@code --grad} file are
 * the public API's on the same files, to the bit; bad inputs fail with status 2, one
 * {@code vecloss: } line and no file left behind.
 */
class LovaszCommandTest extends CliTestBase {
    /** Logits (2, 3, 4, 5), class labels (2, 4, 5) with some 255, a binary input (2, 1, 4, 5) and its 0/1 mask. */
    Path mcInput;
    Path mcTarget;
    Path binInput;
    Path binTarget;

    @BeforeEach
    void lovaszData() throws IOException {
        Random rnd = new Random(29);
        float[] x = new float[2 * 3 * 20];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (2 * rnd.nextGaussian());
        }
        long[] y = new long[40];
        for (int i = 0; i < y.length; i++) {
            y[i] = i % 7 == 0 ? 255 : rnd.nextInt(3);
        }
        float[] b = new float[40];
        float[] m = new float[40];
        for (int i = 0; i < b.length; i++) {
            b[i] = (float) rnd.nextGaussian();
            m[i] = rnd.nextInt(2);
        }
        mcInput = NpyFiles.f32(dir.resolve("mc.npy"), x, 2, 3, 4, 5);
        mcTarget = NpyFiles.i64(dir.resolve("mct.npy"), y, 2, 4, 5);
        binInput = NpyFiles.f32(dir.resolve("bin.npy"), b, 2, 1, 4, 5);
        binTarget = NpyFiles.f32(dir.resolve("bint.npy"), m, 2, 1, 4, 5);
    }

    private void runAndCompare(Path input, Path target, Lovasz.Options o, String... options) throws IOException {
        double value;
        float[] grad;
        try (Arena arena = Arena.ofShared(); NpyArray a = Npy.read(input); NpyArray b = Npy.read(target)) {
            Tensor g = Tensor.allocate(arena, DType.FLOAT32, a.tensor().shape());
            // the scalar kernels: the CLI runs inputs as small as these on them (KernelChoice)
            value = Kernels.callWith(Kernels.Implementation.SCALAR, () -> Lovasz.lovaszLoss(a.tensor(), b.tensor(), o, g));
            grad = g.toFloatArray();
        }
        String[] args = new String[options.length + 6];
        args[0] = "lovasz-loss";
        args[1] = "--input";
        args[2] = p(input);
        args[3] = "--target";
        args[4] = p(target);
        System.arraycopy(options, 0, args, 5, options.length);
        args[args.length - 1] = "--grad=" + grad();
        assertSuccess(run(args), value + "\n");
        try (NpyArray gr = Npy.read(dir.resolve("grad.npy"))) {
            assertEquals(DType.FLOAT32, gr.tensor().dtype());
            assertArrayEquals(grad, gr.tensor().toFloatArray());
        }
    }

    @Test
    void multiclassAsTheApi() throws IOException {
        Lovasz.Options o = Lovasz.Options.defaults(SegmentationMode.MULTICLASS).withIgnoreIndex(255L);
        runAndCompare(mcInput, mcTarget, o, "--mode", "multiclass", "--ignore-index", "255");
        runAndCompare(mcInput, mcTarget, o.withPerImage(true), "--mode", "multiclass", "--ignore-index", "255",
                "--per-image");
        runAndCompare(mcInput, mcTarget, o.withPerImage(true).withThreads(1), "--mode", "multiclass", "--per-image",
                "--ignore-index", "255", "--threads", "1", "--from-logits", "false");
    }

    @Test
    void binaryAndMultilabelAsTheApi() throws IOException {
        runAndCompare(binInput, binTarget, Lovasz.Options.defaults(SegmentationMode.BINARY), "--mode", "binary");
        runAndCompare(binInput, binTarget, Lovasz.Options.defaults(SegmentationMode.MULTILABEL).withPerImage(true),
                "--mode", "multilabel", "--per-image");
    }

    @Test
    void errors() throws IOException {
        String[] base = {"lovasz-loss", "--input", p(mcInput), "--target", p(mcTarget), "--grad", grad()};
        // no --mode, an unknown mode
        fails(base, "--mode");
        fails(with(base, "--mode", "softmax"), "--mode", "'softmax'", "binary, multiclass, multilabel");
        // a label out of range without ignore_index: its value and flat index
        fails(with(base, "--mode", "multiclass"), "target 255", "flat index 0", "classes 0\\.\\.2", "mct\\.npy");
        // mode and shape mismatches name both shapes
        fails(with(base, "--mode", "binary"), "\\[2, 3, 4, 5\\]", "C = 3", "binary");
        fails(with(base, "--mode", "multilabel", "--ignore-index", "255"), "target shape \\[2, 4, 5\\]",
                "input shape \\[2, 3, 4, 5\\]");
        fails(new String[] {"lovasz-loss", "--input", p(binInput), "--target", p(binTarget), "--mode", "multiclass",
                "--grad", grad()}, "C = 1", "at least 2");
        fails(new String[] {"lovasz-loss", "--input", p(binInput), "--target", p(mcTarget), "--mode", "binary",
                "--grad", grad()}, "target 255", "flat index 0", "not 0 or 1");
        fails(with(base, "--mode", "multiclass", "--ignore-index", "x"), "--ignore-index", "'x'", "not an integer");
        fails(with(base, "--mode", "multiclass", "--from-logits", "maybe"), "--from-logits", "'maybe'");
        fails(with(base, "--mode", "multiclass", "--reduction", "sum"), "--reduction");
    }

    @Test
    void benchTimesLovaszOnAShape() throws IOException {
        for (String shape : new String[] {"2,3,5,7", "3,1,4,9"}) { // multiclass, and binary for C = 1
            Run r = run("bench", "--loss", "lovasz-loss", "--shape", shape, "--format", "csv", "--threads", "1");
            assertEquals(0, r.status, r.err);
            String[] lines = r.out.split("\n");
            assertEquals(3, lines.length, r.out);
            for (int i = 1; i < 3; i++) {
                String[] f = lines[i].split(",");
                org.junit.jupiter.api.Assertions.assertTrue(f[3].equals("nchw") && Double.parseDouble(f[7]) <= 1e-6,
                        lines[i]);
            }
        }
        fails(new String[] {"bench", "--loss", "lovasz-loss", "--shape", "2,x"}, "--shape", "'2,x'");
        fails(new String[] {"bench", "--loss", "lovasz-loss", "--shape", "2"}, "--shape", "N,C");
        fails(new String[] {"bench", "--loss", "hinge", "--shape", "2,3,4"}, "--shape", "hinge");
    }

    private static String[] with(String[] base, String... more) {
        String[] a = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, a, base.length, more.length);
        return a;
    }
}
