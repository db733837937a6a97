package dev.vecloss.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.npy.Npy;
import dev.vecloss.npy.NpyArray;
import dev.vecloss.npy.NpyFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code --empty-mean nan|zero|error} on every loss command with a mean: a mean over no active
 * element prints NaN by default (PyTorch), 0.0 with a zero {@code --grad} for {@code zero}, and is
 * the error contract (status 2, one line naming the loss, no file) for {@code error}.
 */
class EmptyMeanCommandTest extends CliTestBase {

    /** Each command with its arguments on an empty case (every target ignored, or an empty input). */
    List<String[]> emptyCases() throws IOException {
        Path allIgnored = NpyFiles.i64(dir.resolve("ignored.npy"), new long[] {-100, -100, -100, -100, -100, -100}, N);
        Path empty = NpyFiles.f32(dir.resolve("empty.npy"), new float[0], 0, C);
        Path emptyTarget = NpyFiles.f32(dir.resolve("empty_t.npy"), new float[0], 0, C);
        Path emptyLabels = NpyFiles.i64(dir.resolve("empty_l.npy"), new long[0], 0);
        List<String[]> cases = new ArrayList<>();
        for (String loss : new String[] {"cross-entropy", "nll-loss", "softmax-focal-loss"}) {
            cases.add(new String[] {loss, "--input", p(x), "--target", p(allIgnored)});
        }
        for (String loss : new String[] {"binary-cross-entropy", "binary-cross-entropy-with-logits", "hinge",
                "squared-hinge", "kl-div"}) {
            cases.add(new String[] {loss, "--input", p(empty), "--target", p(emptyTarget)});
        }
        cases.add(new String[] {"kl-div", "--input", p(empty), "--target", p(emptyTarget), "--reduction", "batchmean"});
        cases.add(new String[] {"sigmoid-focal-loss", "--input", p(empty), "--target", p(emptyTarget), "--reduction",
                "mean"});
        cases.add(new String[] {"multi-margin-loss", "--input", p(empty), "--target", p(emptyLabels)});
        return cases;
    }

    static String[] with(String[] args, String... more) {
        String[] all = new String[args.length + more.length];
        System.arraycopy(args, 0, all, 0, args.length);
        System.arraycopy(more, 0, all, args.length, more.length);
        return all;
    }

    @Test
    void nanByDefaultZeroOnRequestErrorOnRequest() throws IOException {
        for (String[] c : emptyCases()) {
            assertSuccess(run(c), "NaN\n");
            assertSuccess(run(with(c, "--empty-mean", "nan")), "NaN\n");
            Path g = dir.resolve("g.npy");
            assertSuccess(run(with(c, "--empty-mean", "zero", "--grad", p(g))), "0.0\n");
            try (NpyArray a = Npy.read(g)) {
                for (float v : a.tensor().toFloatArray()) {
                    assertEquals(0, Float.floatToRawIntBits(v), c[0]);
                }
            }
            java.nio.file.Files.delete(g);
            Run r = fails(with(c, "--empty-mean", "error", "--grad", p(g)), "no active element");
            String name = c[0].replace('-', '_');
            assertTrue(r.err.contains(name + ": "), r.err);
        }
    }

    @Test
    void aBadValueNamesTheOption() throws IOException {
        fails(new String[] {"cross-entropy", "--input", p(x), "--target", p(t), "--empty-mean", "keras"},
                "--empty-mean");
    }

    @Test
    void everyCommandWithAMeanTakesIt() {
        for (Command c : Commands.ALL) {
            boolean mean = c.options().stream().anyMatch(o -> o.name().equals("--reduction")
                    && o.choices().contains("mean"));
            boolean flag = c.options().stream().anyMatch(o -> o.name().equals("--empty-mean"));
            assertEquals(mean, flag, c.name());
        }
    }
}
