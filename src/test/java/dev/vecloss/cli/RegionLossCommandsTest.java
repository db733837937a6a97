package dev.vecloss.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vecloss.Kernels;
import dev.vecloss.RegionLoss;
import dev.vecloss.SegmentationMode;
import dev.vecloss.Tensor;
import dev.vecloss.npy.Npy;
import dev.vecloss.npy.NpyArray;
import dev.vecloss.npy.NpyFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code dice-loss}, {@code jaccard-loss}, {@code tversky-loss}: the printed value and
 * {@code --grad} are the public API's on the same files to the last bit, every option reaches the
 * library, and every bad input is one {@code vecloss:} line, status 2, no file written.
 */
class RegionLossCommandsTest extends CliTestBase {
    /** (2, 3, 4, 5) logits, (2, 4, 5) labels with some 255, (2, 1, 4, 5) logits and (2, 4, 5) 0/1 targets. */
    Path mcX, mcY, binX, binY, badY;

    @BeforeEach
    void segData() throws IOException {
        Random rnd = new Random(3);
        float[] xm = new float[2 * 3 * 20];
        for (int i = 0; i < xm.length; i++) {
            xm[i] = (float) rnd.nextGaussian() * 2;
        }
        long[] ym = new long[40];
        for (int i = 0; i < ym.length; i++) {
            ym[i] = i % 7 == 3 ? 255 : rnd.nextInt(3);
        }
        float[] xb = new float[40];
        float[] yb = new float[40];
        for (int i = 0; i < 40; i++) {
            xb[i] = (float) rnd.nextGaussian() * 2;
            yb[i] = rnd.nextInt(2);
        }
        long[] bad = ym.clone();
        bad[11] = 3;
        mcX = NpyFiles.f32(dir.resolve("mcx.npy"), xm, 2, 3, 4, 5);
        mcY = NpyFiles.i64(dir.resolve("mcy.npy"), ym, 2, 4, 5);
        badY = NpyFiles.i64(dir.resolve("bad.npy"), bad, 2, 4, 5);
        binX = NpyFiles.f32(dir.resolve("binx.npy"), xb, 2, 1, 4, 5);
        binY = NpyFiles.f32(dir.resolve("biny.npy"), yb, 2, 4, 5);
    }

    private static String[] args(String loss, Path x, Path y, String... more) {
        List<String> a = new ArrayList<>(List.of(loss, "--input", p(x), "--target", p(y)));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    private interface Call {
        double apply(Tensor x, Tensor y, RegionLoss.Options o, Tensor g);
    }

    private double library(Path x, Path y, Call call, RegionLoss.Options o, Tensor g) throws IOException {
        try (NpyArray a = Npy.read(x); NpyArray b = Npy.read(y)) {
            // the scalar kernels: the CLI runs inputs as small as these on them (KernelChoice)
            return Kernels.callWith(Kernels.Implementation.SCALAR, () -> call.apply(a.tensor(), b.tensor(), o, g));
        }
    }

    @Test
    void valuesAndGradientsAreTheLibrarys() throws IOException {
        RegionLoss.Options mc = RegionLoss.Options.defaults(SegmentationMode.MULTICLASS);
        assertSuccess(run(args("dice-loss", mcX, mcY, "--mode", "multiclass", "--ignore-index", "255")),
                library(mcX, mcY, RegionLoss::dice, mc.withIgnoreIndex(255L), null) + "\n");
        assertSuccess(run(args("jaccard-loss", mcX, mcY, "--mode", "multiclass", "--ignore-index", "255", "--smooth",
                "0.5", "--eps", "1e-5", "--log-loss", "--threads", "2")),
                library(mcX, mcY, RegionLoss::jaccard, mc.withIgnoreIndex(255L).withSmooth(0.5).withEps(1e-5)
                        .withLogLoss(true), null) + "\n");
        RegionLoss.Options tv = mc.withIgnoreIndex(255L).withTversky(0.3, 0.7, 2);
        Tensor g = Tensor.of(new float[120], 2, 3, 4, 5);
        double want = library(mcX, mcY, RegionLoss::tversky, tv, g);
        assertSuccess(run(args("tversky-loss", mcX, mcY, "--mode", "multiclass", "--ignore-index", "255", "--alpha",
                "0.3", "--beta", "0.7", "--gamma", "2", "--grad", grad())), want + "\n");
        try (NpyArray written = Npy.read(Path.of(grad()))) {
            assertArrayEquals(g.toFloatArray(), written.tensor().toFloatArray());
            assertArrayEquals(new long[] {2, 3, 4, 5}, written.tensor().shape());
        }
        RegionLoss.Options bin = RegionLoss.Options.defaults(SegmentationMode.BINARY);
        assertSuccess(run(args("dice-loss", binX, binY, "--mode", "binary")),
                library(binX, binY, RegionLoss::dice, bin, null) + "\n");
        assertSuccess(run(args("dice-loss", binX, binY, "--mode", "binary", "--from-logits", "false")),
                library(binX, binY, RegionLoss::dice, bin.withFromLogits(false), null) + "\n");
    }

    @Test
    void errors() throws IOException {
        // mode and shape mismatches, both shapes named
        fails(args("dice-loss", mcX, mcY, "--mode", "binary", "--grad", grad()), "binary", "\\[2, 3, 4, 5\\]",
                "\\[2, 4, 5\\]", "mcx\\.npy");
        fails(args("jaccard-loss", mcX, mcY, "--mode", "multilabel"), "multilabel", "\\[2, 4, 5\\]", "\\[2, 3, 4, 5\\]");
        fails(args("dice-loss", binX, binY, "--mode", "multiclass", "--grad", grad()), "multiclass", "FLOAT32");
        // a label out of range: its value and flat index; without ignore_index, 255 is out of range too
        fails(args("dice-loss", mcX, badY, "--mode", "multiclass", "--ignore-index", "255", "--grad", grad()),
                "target 3", "flat index 11", "bad\\.npy");
        fails(args("tversky-loss", mcX, mcY, "--mode", "multiclass", "--grad", grad()), "target 255", "flat index 3");
        // options
        fails(args("dice-loss", mcX, mcY), "--mode");
        fails(args("dice-loss", mcX, mcY, "--mode", "multi"), "--mode", "binary, multiclass, multilabel");
        fails(args("dice-loss", mcX, mcY, "--mode", "multiclass", "--eps", "0"), "--eps", "above 0");
        fails(args("dice-loss", mcX, mcY, "--mode", "multiclass", "--smooth", "-1"), "--smooth");
        fails(args("dice-loss", mcX, mcY, "--mode", "multiclass", "--from-logits", "maybe"), "--from-logits");
        fails(args("tversky-loss", mcX, mcY, "--mode", "multiclass", "--gamma", "-2"), "--gamma");
        fails(args("dice-loss", mcX, mcY, "--mode", "multiclass", "--alpha", "0.3"), "--alpha");
        fails(args("dice-loss", mcX, mcY, "--mode", "multiclass", "--ignore-index", "x"), "--ignore-index");
        fails(args("dice-loss", mcX, mcY, "--mode", "multiclass", "--threads", "-1"), "--threads");
        fails(args("dice-loss", mcX, mcY, "--mode", "multiclass", "--grad", p(mcX)), "--grad");
        assertEquals(2, run(args("dice-loss", mcX, dir.resolve("missing.npy"), "--mode", "multiclass")).status);
    }
}
