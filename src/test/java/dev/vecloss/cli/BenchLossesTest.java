package dev.vecloss.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.Kernels;
import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * {@code bench} on the losses besides cross-entropy: {@code --loss NAME} times each, and the
 * tour covers each and runs every one of its cases (checked untimed on small copies: a case the
 * library refuses would end the tour with an internal error, as the probability-target case
 * did when the library began to require targets of the input's dtype).
 */
class BenchLossesTest extends CliTestBase {
    static final List<String> NEW_LOSSES = List.of("binary-cross-entropy", "binary-cross-entropy-with-logits",
            "sigmoid-focal-loss", "softmax-focal-loss", "hinge", "squared-hinge", "multi-margin-loss", "kl-div");

    @Test
    void benchTimesEachLossOnATinyCase() {
        String selected = Kernels.selected().name().toLowerCase(Locale.ROOT);
        for (String loss : NEW_LOSSES) {
            Run r = run("bench", "--loss", loss, "--n", "3", "--c", "4", "--format", "csv", "--threads", "1");
            assertEquals(0, r.status, loss + ": " + r.err);
            assertEquals(successErr(), r.errLines(), r.err);
            String[] lines = r.out.split("\n");
            assertEquals(3, lines.length, r.out);
            assertEquals(Bench.CSV_HEADER, lines[0]);
            assertTrue(lines[1].startsWith(loss + ",3,4,row,scalar,1,"), lines[1]);
            assertTrue(lines[2].startsWith(loss + ",3,4,row," + selected + ",1,"), lines[2]);
            for (int i = 1; i < 3; i++) {
                String[] f = lines[i].split(",");
                assertEquals(10, f.length, lines[i]);
                assertTrue(Double.parseDouble(f[6]) > 0, lines[i]);
                assertTrue(Double.parseDouble(f[7]) <= 1e-6, lines[i]);
            }
        }
    }

    @Test
    void theStridedLayoutIsForLossesWithAClassAxis() throws IOException {
        fails(new String[] {"bench", "--loss", "hinge", "--layout", "nchw"}, "--layout nchw", "hinge",
                "cross-entropy, nll-loss, softmax-focal-loss");
        fails(new String[] {"bench", "--loss", "multi-margin-loss", "--layout", "nchw", "--n", "4"}, "--layout nchw");
        Run r = run("bench", "--loss", "softmax-focal-loss", "--layout", "nchw", "--n", "6", "--c", "3");
        assertEquals(0, r.status, r.err);
        String[] lines = r.out.split("\n");
        assertEquals(3, lines.length, r.out);
        assertTrue(lines[2].startsWith("softmax-focal-loss (nchw)"), lines[2]);
        assertTrue(lines[2].contains("(2, 3, 3)"), lines[2]);
    }

    @Test
    void shapeTimesOneCaseOfThatShape() throws IOException {
        String selected = Kernels.selected().name().toLowerCase(Locale.ROOT);
        for (String loss : List.of("dice-loss", "jaccard-loss", "tversky-loss", "cross-entropy")) {
            Run r = run("bench", "--loss", loss, "--shape", "2,3,5,7", "--format", "csv", "--threads", "1");
            assertEquals(0, r.status, loss + ": " + r.err);
            String[] lines = r.out.split("\n");
            assertEquals(3, lines.length, r.out);
            assertTrue(lines[1].startsWith(loss + ",70,3,nchw,scalar,1,"), lines[1]);
            assertTrue(lines[2].startsWith(loss + ",70,3,nchw," + selected + ",1,"), lines[2]);
            assertTrue(Double.parseDouble(lines[2].split(",")[7]) <= 1e-6, lines[2]);
        }
        Run rows = run("bench", "--loss", "dice-loss", "--shape", "5, 4", "--format", "csv");
        assertEquals(0, rows.status, rows.err);
        assertTrue(rows.out.split("\n")[1].startsWith("dice-loss,5,4,row,"), rows.out);
        fails(new String[] {"bench", "--loss", "dice-loss", "--shape", "8"}, "--shape", "'8'");
        fails(new String[] {"bench", "--loss", "dice-loss", "--shape", "8,0,4"}, "--shape");
        fails(new String[] {"bench", "--loss", "dice-loss", "--shape", "8,x"}, "--shape");
        fails(new String[] {"bench", "--loss", "dice-loss", "--shape", "65536,65536,65536"}, "--shape", "2\\^34");
        fails(new String[] {"bench", "--loss", "dice-loss", "--shape", "2,3,4", "--n", "4"}, "--shape", "--n");
        fails(new String[] {"bench", "--loss", "hinge", "--shape", "2,3,4"}, "hinge", "strided");
    }

    @Test
    void theTourCoversEveryLossAndEachOfItsCasesRuns() {
        Set<String> covered = new HashSet<>();
        for (Bench.Case cs : Bench.tour()) {
            covered.add(cs.loss());
            Bench.Case small = cs.scaled(3000);
            for (Kernels.Implementation k : List.of(Kernels.Implementation.SCALAR, Kernels.selected())) {
                double[] r = Bench.check(small, k, 2);
                assertTrue(Double.isFinite(r[1]), cs.label() + ": " + r[1]);
                assertTrue(Bench.error(r[0], r[1]) <= 1e-6, cs.label() + " " + k + ": " + r[0] + " vs " + r[1]);
            }
        }
        assertEquals(new HashSet<>(Bench.LOSSES), covered);
    }
}
