package dev.vecloss.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.npy.NpyFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * {@code --input} and {@code --target} over several files ({@link Shards}): the list, folder and
 * pattern forms, the pairing order, the printed result against one file holding the concatenated
 * arrays (the same text, so the same bits), every error of a run over shards, and the progress
 * line (present when stderr is a terminal, absent otherwise).
 */
class ShardsTest extends CliTestBase {
    /** Rows per shard, numbered 1, 2, 10 and 11 so that natural order differs from text order. */
    private static final int[] ROWS = {3, 5, 0, 4};
    private static final int[] NUMBERS = {1, 2, 10, 11};
    private static final int K = 7;

    private final Random rnd = new Random(11);

    /** A (rows, K) float32 array of the given kind: logits, log-probabilities, probabilities, 0/1. */
    private float[] floats(int rows, String kind) {
        float[] v = new float[rows * K];
        for (int r = 0; r < rows; r++) {
            double[] e = new double[K];
            double s = 0;
            for (int c = 0; c < K; c++) {
                e[c] = Math.exp(rnd.nextGaussian());
                s += e[c];
            }
            for (int c = 0; c < K; c++) {
                float x = (float) (rnd.nextGaussian() * 3);
                v[r * K + c] = switch (kind) {
                    case "logits" -> x;
                    case "logprob" -> (float) Math.log(e[c] / s);
                    case "prob" -> (float) (e[c] / s);
                    case "binary" -> rnd.nextBoolean() ? 1f : 0f;
                    case "pm1" -> rnd.nextBoolean() ? 1f : -1f;
                    default -> throw new IllegalArgumentException(kind);
                };
            }
        }
        return v;
    }

    /** Shards of one dataset: the per-shard arrays and their concatenation. */
    private record Dataset(List<Path> inputs, List<Path> targets, Path input, Path target) {}

    /**
     * Writes {@code in/p-<n>.npy} and {@code tg/t-<n>.npy} for the shards of {@link #ROWS}, and
     * {@code all-x.npy}, {@code all-t.npy}: the same arrays concatenated along the first axis.
     */
    private Dataset dataset(String inputKind, String targetKind) throws IOException {
        Path in = Files.createDirectories(dir.resolve("in"));
        Path tg = Files.createDirectories(dir.resolve("tg"));
        List<Path> inputs = new ArrayList<>();
        List<Path> targets = new ArrayList<>();
        List<float[]> xs = new ArrayList<>();
        List<Object> ts = new ArrayList<>();
        for (int s = 0; s < ROWS.length; s++) {
            int rows = ROWS[s];
            float[] x = floats(rows, inputKind);
            xs.add(x);
            inputs.add(NpyFiles.f32(in.resolve("p-" + NUMBERS[s] + ".npy"), x, rows, K));
            Path t = tg.resolve("t-" + NUMBERS[s] + ".npy");
            if (!targetKind.equals("index") && !targetKind.equals("class")) {
                float[] y = floats(rows, targetKind);
                ts.add(y);
                targets.add(NpyFiles.f32(t, y, rows, K));
            } else {
                long[] y = new long[rows];
                for (int r = 0; r < rows; r++) {
                    // "class": every label a class (multi-margin-loss has no ignore index)
                    y[r] = targetKind.equals("index") && rnd.nextInt(8) == 0 ? -100 : rnd.nextInt(K);
                }
                ts.add(y);
                targets.add(NpyFiles.i64(t, y, rows));
            }
        }
        int n = Arrays.stream(ROWS).sum();
        float[] x = new float[n * K];
        int at = 0;
        for (float[] a : xs) {
            System.arraycopy(a, 0, x, at, a.length);
            at += a.length;
        }
        Path allX = NpyFiles.f32(dir.resolve("all-x.npy"), x, n, K);
        Path allT;
        if (ts.get(0) instanceof long[]) {
            long[] y = new long[n];
            at = 0;
            for (Object a : ts) {
                long[] b = (long[]) a;
                System.arraycopy(b, 0, y, at, b.length);
                at += b.length;
            }
            allT = NpyFiles.i64(dir.resolve("all-t.npy"), y, n);
        } else {
            float[] y = new float[n * K];
            at = 0;
            for (Object a : ts) {
                float[] b = (float[]) a;
                System.arraycopy(b, 0, y, at, b.length);
                at += b.length;
            }
            allT = NpyFiles.f32(dir.resolve("all-t.npy"), y, n, K);
        }
        return new Dataset(inputs, targets, allX, allT);
    }

    private static String[] args(String loss, List<String> input, List<String> target, String... more) {
        List<String> a = new ArrayList<>(List.of(loss, "--input"));
        a.addAll(input);
        a.add("--target");
        a.addAll(target);
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    private static List<String> strings(List<Path> files) {
        return files.stream().map(Path::toString).toList();
    }

    /** The one-file run's stdout, checked successful and a single number. */
    private static String oneFile(String loss, Dataset d, String... more) {
        Run r = run(args(loss, List.of(p(d.input())), List.of(p(d.target())), more));
        assertEquals(0, r.status, r.err);
        assertTrue(r.out.matches("-?[0-9.E-]+\n|NaN\n|-?Infinity\n"), r.out);
        return r.out;
    }

    /** The folder, pattern and list forms all print the one file's text. */
    private void sameAsConcatenation(String loss, Dataset d, String... more) {
        String expected = oneFile(loss, d, more);
        String in = p(dir.resolve("in"));
        String tg = p(dir.resolve("tg"));
        assertSuccess(run(args(loss, List.of(in), List.of(tg), more)), expected);
        assertSuccess(run(args(loss, List.of(in + "/p-*.npy"), List.of(tg + "/t-*.npy"), more)), expected);
        assertSuccess(run(args(loss, strings(d.inputs()), strings(d.targets()), more)), expected);
        // The shards in another order, given explicitly: paired as given, the same bits.
        List<String> ri = new ArrayList<>(strings(d.inputs()));
        List<String> rt = new ArrayList<>(strings(d.targets()));
        java.util.Collections.reverse(ri);
        java.util.Collections.reverse(rt);
        assertSuccess(run(args(loss, ri, rt, more)), expected);
    }

    @Test
    void crossEntropyIsTheConcatenation() throws IOException {
        Dataset d = dataset("logits", "index");
        Path w = NpyFiles.f32(dir.resolve("w.npy"), new float[] {1, 2, 0.5f, 1, 3, 0.25f, 1}, K);
        sameAsConcatenation("cross-entropy", d);
        sameAsConcatenation("cross-entropy", d, "--weight", p(w), "--label-smoothing", "0.1");
        sameAsConcatenation("cross-entropy", d, "--reduction", "sum", "--threads", "2");
        sameAsConcatenation("nll-loss", d, "--weight", p(w));
        sameAsConcatenation("softmax-focal-loss", d, "--gamma", "1.5");
        sameAsConcatenation("multi-margin-loss", dataset("logits", "class"), "--p", "2");
    }

    @Test
    void bceWithLogitsIsTheConcatenation() throws IOException {
        Dataset d = dataset("logits", "prob");
        Path pw = NpyFiles.f32(dir.resolve("pw.npy"), new float[] {1, 2, 3, 0.5f, 1, 1, 4}, K);
        sameAsConcatenation("binary-cross-entropy-with-logits", d);
        sameAsConcatenation("binary-cross-entropy-with-logits", d, "--pos-weight", p(pw), "--reduction", "sum");
        sameAsConcatenation("sigmoid-focal-loss", d, "--reduction", "mean");
    }

    @Test
    void bceOnProbabilitiesIsTheConcatenation() throws IOException {
        sameAsConcatenation("binary-cross-entropy", dataset("prob", "binary"));
    }

    @Test
    void klDivBatchmeanIsTheConcatenation() throws IOException {
        Dataset d = dataset("logprob", "prob");
        sameAsConcatenation("kl-div", d, "--reduction", "batchmean");
        sameAsConcatenation("kl-div", d);
    }

    /**
     * With the kernels of this pass forced (the SIMD ones in the Panama passes: the tests' inputs
     * are small enough for the command line to choose the scalar ones otherwise), where a row or
     * element falls in a vector block of one shard and in the tail of another.
     */
    @Test
    void theSelectedKernelsToo() throws IOException {
        String before = System.getProperty("vecloss.impl");
        System.setProperty("vecloss.impl", dev.vecloss.Kernels.selected().name().toLowerCase(java.util.Locale.ROOT));
        try {
            sameAsConcatenation("cross-entropy", dataset("logits", "index"), "--label-smoothing", "0.05");
            sameAsConcatenation("binary-cross-entropy-with-logits", dataset("logits", "prob"));
            sameAsConcatenation("kl-div", dataset("logprob", "prob"), "--reduction", "batchmean");
            sameAsConcatenation("hinge", dataset("logits", "binary"));
        } finally {
            if (before == null) {
                System.clearProperty("vecloss.impl");
            } else {
                System.setProperty("vecloss.impl", before);
            }
        }
    }

    @Test
    void hingeDecidesItsLabelRuleOverEveryTarget() throws IOException {
        // Every target 0 or 1: read as -1 and 1 over the whole dataset, as the one call reads them.
        sameAsConcatenation("hinge", dataset("logits", "binary"));
        sameAsConcatenation("squared-hinge", dataset("logits", "binary"), "--margin", "0.5");
    }

    @Test
    void hingeWithOneShardOfOtherLabelsReadsEveryLabelAsGiven() throws IOException {
        Dataset d = dataset("logits", "binary");
        // One shard with a -1: the whole dataset's labels are then used as given, also in the
        // shards holding only 0 and 1 (which one call on them alone would read as -1 and 1).
        float[] y = floats(ROWS[1], "pm1");
        y[0] = -1;
        NpyFiles.f32(d.targets().get(1), y, ROWS[1], K);
        rewriteConcatenatedTarget(d);
        sameAsConcatenation("hinge", d);
    }

    /** all-t.npy from the target shards as they now are. */
    private void rewriteConcatenatedTarget(Dataset d) throws IOException {
        int n = Arrays.stream(ROWS).sum();
        float[] all = new float[n * K];
        int at = 0;
        for (Path t : d.targets()) {
            try (dev.vecloss.npy.NpyArray a = dev.vecloss.npy.Npy.read(t)) {
                for (long i = 0; i < a.tensor().numel(); i++) {
                    all[at++] = (float) a.tensor().getDouble(i);
                }
            }
        }
        NpyFiles.f32(d.target(), all, n, K);
    }

    @Test
    void aMeanOverNothingAsTheOneFile() throws IOException {
        Dataset d = dataset("logits", "index");
        for (Path t : Stream.concat(d.targets().stream(), Stream.of(d.target())).toList()) {
            long n;
            try (dev.vecloss.npy.NpyArray a = dev.vecloss.npy.Npy.read(t)) {
                n = a.tensor().numel();
            }
            long[] ignored = new long[(int) n];
            Arrays.fill(ignored, -100);
            NpyFiles.i64(t, ignored, n);
        }
        assertEquals("NaN\n", oneFile("cross-entropy", d));
        sameAsConcatenation("cross-entropy", d);
        assertEquals("0.0\n", oneFile("cross-entropy", d, "--empty-mean", "zero"));
        sameAsConcatenation("cross-entropy", d, "--empty-mean", "zero");
        fails(args("cross-entropy", List.of(p(dir.resolve("in"))), List.of(p(dir.resolve("tg"))), "--empty-mean",
                "error"), "no active element.*over 4 shards");
    }

    @Test
    void naturalOrder() {
        List<String> names = new ArrayList<>(List.of("s-10.npy", "s-2.npy", "s-1.npy", "s-02.npy", "s-b.npy", "s-a10.npy",
                "s-a9.npy", "s.npy", "s-100.npy"));
        names.sort(Shards::natural);
        assertEquals(List.of("s-1.npy", "s-2.npy", "s-02.npy", "s-10.npy", "s-100.npy", "s-a9.npy", "s-a10.npy",
                "s-b.npy", "s.npy"), names);
    }

    @Test
    void foldersAndPatternsPairInNaturalOrder() throws IOException, CliError {
        // The shards have 3, 5, 0 and 4 rows: a pairing in text order (p-1, p-10, p-11, p-2)
        // with the targets in natural order would fail on the shapes; the folders pair them.
        Dataset d = dataset("logits", "index");
        assertEquals(d.inputs(), Shards.expand("--input", p(dir.resolve("in"))));
        assertEquals(d.inputs(), Shards.expand("--input", p(dir.resolve("in")) + "/p-*.npy"));
        assertEquals(d.inputs(), Shards.expand("--input", p(dir.resolve("in")) + "/p-{1,2,10,11}.npy"));
        assertEquals(List.of(d.inputs().get(2), d.inputs().get(3)),
                Shards.expand("--input", p(dir.resolve("in")) + "/p-1?.npy"));
        // A pattern across folders, relative to the working directory's parent-less form.
        Path nested = Files.createDirectories(dir.resolve("deep/a/b"));
        Files.copy(d.inputs().get(0), nested.resolve("p-1.npy"));
        assertEquals(List.of(nested.resolve("p-1.npy")), Shards.expand("--input", p(dir.resolve("deep")) + "/**/p-*.npy"));
        // Dot files and other extensions are no shards of a folder.
        Files.writeString(dir.resolve("in/.p-0.npy"), "x");
        Files.writeString(dir.resolve("in/notes.txt"), "x");
        assertEquals(d.inputs(), Shards.expand("--input", p(dir.resolve("in"))));
        assertEquals(d.inputs(), Shards.expand("--input", p(dir.resolve("in")) + "/*.npy"));
        sameAsConcatenation("cross-entropy", d);
    }

    @Test
    void aPatternMatchingOneFileIsTheOneFileRun() throws IOException {
        Dataset d = dataset("logits", "index");
        String expected = oneFile("cross-entropy", d, "--reduction", "sum");
        assertSuccess(run("cross-entropy", "--input", p(dir) + "/all-x.np?", "--target", p(dir) + "/all-t.*",
                "--reduction", "sum"), expected);
        // ... with everything one file allows, as --output.
        assertSuccess(run("cross-entropy", "--input", p(dir) + "/all-x.np?", "--target", p(dir) + "/all-t.*",
                "--output", out()), oneFile("cross-entropy", d));
        assertTrue(Files.isRegularFile(dir.resolve("out.npy")));
    }

    @Test
    void anExistingFileIsTakenLiterallyEvenWithPatternCharacters() throws IOException, CliError {
        Path odd = Files.copy(x, dir.resolve("x[1].npy"));
        assertEquals(List.of(odd), Shards.expand("--input", p(odd)));
    }

    @Test
    void classWeightsSumTheCountsOfEveryShard() throws IOException {
        Path lab = Files.createDirectories(dir.resolve("lab"));
        long[][] parts = {{0, 1, 1, 2, 2, 2, 5, 5}, {3, 3, 3, 3, 0, 255, 1, 1}, {4, 4, 4, 4, 4, 4, 1, 2}};
        long[] all = new long[24];
        for (int i = 0; i < parts.length; i++) {
            NpyFiles.u8(lab.resolve("m-" + (i + 1) + ".npy"), parts[i], 2, 4); // two images of 4 pixels
            System.arraycopy(parts[i], 0, all, 8 * i, 8);
        }
        Path one = NpyFiles.u8(dir.resolve("all.npy"), all, 6, 4);
        for (String[] more : List.of(new String[] {"--scheme", "balanced"},
                new String[] {"--scheme", "median-frequency", "--per-image"},
                new String[] {"--scheme", "effective-number", "--zero-count", "clamp-one"})) {
            List<String> base = new ArrayList<>(List.of("class-weights", "--num-classes", "6", "--ignore-index", "255"));
            base.addAll(List.of(more));
            List<String> a = new ArrayList<>(base);
            a.addAll(List.of("--target", p(one)));
            Run expected = run(a.toArray(String[]::new));
            assertEquals(0, expected.status, expected.err);
            List<String> b = new ArrayList<>(base);
            b.addAll(List.of("--target", p(lab)));
            assertSuccess(run(b.toArray(String[]::new)), expected.out);
            List<String> c = new ArrayList<>(base);
            c.addAll(List.of("--target", p(lab) + "/m-*.npy", "--output", out()));
            assertSuccess(run(c.toArray(String[]::new)), expected.out);
            Files.delete(dir.resolve("out.npy"));
        }
    }

    @Test
    void classWeightsRefuseAnOutputThatIsAShard() throws IOException {
        Path lab = Files.createDirectories(dir.resolve("lab"));
        NpyFiles.u8(lab.resolve("m-1.npy"), new long[] {0, 1}, 2);
        Path second = NpyFiles.u8(lab.resolve("m-2.npy"), new long[] {1, 1}, 2);
        fails(new String[] {"class-weights", "--num-classes", "2", "--target", p(lab), "--output", p(second)},
                "--output .*m-2.npy is the same file as --target shard");
    }

    // ---- errors ----

    @Test
    void aPatternMatchingNothing() throws IOException {
        dataset("logits", "index");
        fails(args("cross-entropy", List.of(p(dir) + "/in/q-*.npy"), List.of(p(dir) + "/tg")),
                "--input '.*q-\\*.npy': no file matches");
        fails(args("cross-entropy", List.of(p(dir) + "/nowhere/*.npy"), List.of(p(dir) + "/tg")), "no file matches");
    }

    @Test
    void aFolderWithoutNpyFiles() throws IOException {
        dataset("logits", "index");
        Path empty = Files.createDirectories(dir.resolve("empty"));
        Files.writeString(empty.resolve("readme.txt"), "x");
        fails(args("cross-entropy", List.of(p(dir.resolve("in"))), List.of(p(empty))),
                "--target .*empty: is a directory without .npy files");
    }

    @Test
    void countsMustMatch() throws IOException {
        Dataset d = dataset("logits", "index");
        fails(args("cross-entropy", List.of(p(dir.resolve("in"))), strings(d.targets().subList(0, 3))),
                "4 --input files but 3 --target files");
        fails(args("cross-entropy", strings(d.inputs().subList(0, 2)), List.of(p(t))), "2 --input files but 1 --target file");
    }

    @Test
    void theSameFileAsInputAndTarget() throws IOException {
        Dataset d = dataset("logits", "prob");
        // A folder of predictions and labels both: each file would be paired with itself.
        fails(args("binary-cross-entropy-with-logits", List.of(p(dir.resolve("in"))), List.of(p(dir.resolve("in")))),
                "--target .*p-1.npy is also an --input shard");
        fails(args("binary-cross-entropy-with-logits", strings(List.of(d.inputs().get(0), d.inputs().get(1))),
                strings(List.of(d.targets().get(0), d.inputs().get(0)))), "is also an --input shard");
    }

    @Test
    void aShardGivenTwice() throws IOException {
        Dataset d = dataset("logits", "index");
        Path link = Files.createLink(dir.resolve("link.npy"), d.inputs().get(0));
        fails(args("cross-entropy", List.of(p(d.inputs().get(0)), p(d.inputs().get(0))),
                strings(d.targets().subList(0, 2))), "--input .*p-1.npy comes twice");
        fails(args("cross-entropy", List.of(p(d.inputs().get(0)), p(link)), strings(d.targets().subList(0, 2))),
                "--input .*link.npy is the same file as .*p-1.npy");
    }

    @Test
    void perElementOutputsAndNoneAreOneArrays() throws IOException {
        dataset("logits", "prob");
        List<String> in = List.of(p(dir.resolve("in")));
        List<String> tg = List.of(p(dir.resolve("tg")));
        fails(args("binary-cross-entropy-with-logits", in, tg, "--output", out()),
                "--output writes one array's per-element values: not with 4 --input shards");
        fails(args("binary-cross-entropy-with-logits", in, tg, "--grad", grad()), "--grad .*not with 4 --input shards");
        fails(args("binary-cross-entropy-with-logits", in, tg, "--reduction", "none", "--output", out()),
                "--reduction none gives per-element losses.*mean or sum");
        fails(args("sigmoid-focal-loss", in, tg), "--reduction none \\(sigmoid-focal-loss's default\\)");
    }

    @Test
    void anInputShardThatIsAlsoAnOutput() throws IOException {
        Dataset d = dataset("logits", "index");
        // --output is refused with shards whatever the path; with one shard matched by a pattern,
        // the one-file check sees the resolved path.
        fails(args("cross-entropy", List.of(p(dir.resolve("in"))), List.of(p(dir.resolve("tg"))), "--output",
                p(d.inputs().get(1))), "--output");
        fails(args("cross-entropy", List.of(p(dir) + "/all-x.*"), List.of(p(d.target())), "--output", p(d.input())),
                "--output .*all-x.npy is the same file as --input");
    }

    @Test
    void aTruncatedShardInTheMiddleIsNamedBeforeAnythingIsComputed() throws IOException {
        Dataset d = dataset("logits", "index");
        Path bad = d.inputs().get(1);
        byte[] b = Files.readAllBytes(bad);
        Files.write(bad, Arrays.copyOf(b, b.length - 5));
        fails(args("cross-entropy", List.of(p(dir.resolve("in"))), List.of(p(dir.resolve("tg")))),
                "--input shard 2/4 .*p-2.npy");
        Path badT = d.targets().get(3);
        Files.write(badT, Arrays.copyOf(Files.readAllBytes(badT), 100));
        fails(new String[] {"class-weights", "--target", p(dir.resolve("tg")), "--num-classes", "7"},
                "--target shard 4/4 .*t-11.npy");
    }

    @Test
    void shardsOfDifferentDtypesOrClassCounts() throws IOException {
        Dataset d = dataset("logits", "index");
        NpyFiles.f64(d.inputs().get(2), new double[ROWS[2] * K], ROWS[2], K);
        fails(args("cross-entropy", List.of(p(dir.resolve("in"))), List.of(p(dir.resolve("tg")))),
                "--input shards differ in dtype: .*p-1.npy is float32, .*p-10.npy is float64");
        NpyFiles.f32(d.inputs().get(2), new float[3 * (K + 1)], 3, K + 1);
        fails(args("cross-entropy", List.of(p(dir.resolve("in"))), List.of(p(dir.resolve("tg")))),
                "--input shards differ in shape past the first axis: .*\\[3, 7\\].*p-10.npy is \\[3, 8\\]");
        NpyFiles.f32(d.inputs().get(2), new float[0], 0, K);
        NpyFiles.i32(d.targets().get(3), new long[ROWS[3]], ROWS[3]);
        fails(args("cross-entropy", List.of(p(dir.resolve("in"))), List.of(p(dir.resolve("tg")))),
                "--target shards differ in dtype");
    }

    @Test
    void aBadPairIsNamedAndNothingIsPrinted() throws IOException {
        Dataset d = dataset("logits", "index");
        NpyFiles.i64(d.targets().get(3), new long[] {0, 1, 9, 2}, ROWS[3]); // label 9 of 7 classes
        fails(args("cross-entropy", List.of(p(dir.resolve("in"))), List.of(p(dir.resolve("tg")))),
                "9", "shard 4/4: --input .*p-11.npy, --target .*t-11.npy");
        NpyFiles.i64(d.targets().get(3), new long[] {0, 1, 2}, 3); // 3 labels for 4 rows
        fails(args("cross-entropy", List.of(p(dir.resolve("in"))), List.of(p(dir.resolve("tg")))),
                "shard 4/4: --input .*p-11.npy, --target .*t-11.npy");
    }

    @Test
    void regionLossesAreTheConcatenation() throws IOException {
        Dataset d = dataset("logits", "index");
        sameAsConcatenation("dice-loss", d, "--mode", "multiclass", "--ignore-index", "-100");
        sameAsConcatenation("jaccard-loss", d, "--mode", "multiclass", "--ignore-index", "-100", "--log-loss");
        sameAsConcatenation("tversky-loss", d, "--mode", "multiclass", "--ignore-index", "-100", "--alpha", "0.3",
                "--beta", "0.7", "--gamma", "1.5");
        sameAsConcatenation("lovasz-loss", d, "--mode", "multiclass", "--per-image", "--ignore-index", "-100");
        sameAsConcatenation("dice-loss", dataset("logits", "binary"), "--mode", "multilabel");
    }

    @Test
    void lovaszOverShardsNeedsPerImage() throws IOException {
        dataset("logits", "index");
        fails(new String[] {"lovasz-loss", "--mode", "multiclass", "--input", p(dir.resolve("in")), "--target",
                p(dir.resolve("tg"))}, "an accumulator needs per_image");
    }

    @Test
    void listFormTakesValuesUpToTheNextOption() throws CliError {
        Args a = Args.parse(new String[] {"cross-entropy", "--input", "a.npy", "b.npy", "--target", "c.npy", "-v"});
        assertEquals(List.of("a.npy", "b.npy"), a.values("--input"));
        assertEquals(List.of("c.npy"), a.values("--target"));
        assertTrue(a.verbose);
        // Before the command, one value: the next word is the command.
        Args b = Args.parse(new String[] {"--input", "a.npy", "cross-entropy", "--target", "c.npy"});
        assertEquals("cross-entropy", b.command);
        assertEquals(List.of("a.npy"), b.values("--input"));
    }

    // ---- progress ----

    private static Run runWith(Progress.Terminal terminal, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), () -> null, terminal);
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** A clock that moves 300 ms at each reading: every update is due. */
    private static Progress.Terminal ticking(boolean terminal) {
        AtomicLong now = new AtomicLong();
        return new Progress.Terminal(terminal, () -> now.addAndGet(300_000_000L));
    }

    @Test
    void progressOnATerminal() throws IOException {
        Dataset d = dataset("logits", "index");
        String expected = oneFile("cross-entropy", d);
        Run r = runWith(ticking(true), args("cross-entropy", List.of(p(dir.resolve("in"))),
                List.of(p(dir.resolve("tg")))));
        assertEquals(0, r.status, r.err);
        assertEquals(expected, r.out);
        String progress = r.err.replace("vecloss: " + Main.ABSENT_NOTICE + "\n", "");
        assertTrue(progress.startsWith("vecloss: 1/4 files, "), progress); // no \r first: see Progress.draw
        assertTrue(progress.contains("\rvecloss: 3/4 files, "), progress);
        assertTrue(progress.contains(" elements/s, 0:0"), progress);
        assertTrue(progress.contains(" left"), progress);
        assertTrue(progress.contains("\rvecloss: 4/4 files, "), progress);
        assertFalse(progress.contains("\n"), progress); // redrawn in place, never a new line
        assertTrue(progress.matches("(?s).*\r +\r"), "erased at the end: " + progress);
    }

    @Test
    void noProgressWhenStderrIsNotATerminal() throws IOException {
        Dataset d = dataset("logits", "index");
        String expected = oneFile("cross-entropy", d);
        assertSuccess(runWith(ticking(false), args("cross-entropy", List.of(p(dir.resolve("in"))),
                List.of(p(dir.resolve("tg"))))), expected);
    }

    @Test
    void progressErasedBeforeAnError() throws IOException {
        Dataset d = dataset("logits", "index");
        NpyFiles.i64(d.targets().get(3), new long[] {0, 1, 9, 2}, ROWS[3]);
        Run r = runWith(ticking(true), args("cross-entropy", List.of(p(dir.resolve("in"))),
                List.of(p(dir.resolve("tg")))));
        assertEquals(2, r.status);
        assertEquals("", r.out);
        assertTrue(r.err.matches("(?s)vecloss: 1/4 files.*\r +\rvecloss: [^\r]*shard 4/4[^\r]*\n"), r.err);
    }

    @Test
    void progressIsRateLimited() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        AtomicLong now = new AtomicLong();
        Progress p = new Progress(new PrintStream(err, true, StandardCharsets.UTF_8),
                new Progress.Terminal(true, now::get), 100, 1000);
        for (int i = 1; i <= 100; i++) {
            now.addAndGet(10_000_000L); // 10 ms a file: a draw every 25 files at most
            p.update(i, i * 10L);
        }
        p.close();
        long draws = err.toString(StandardCharsets.UTF_8).split("vecloss: ", -1).length - 1;
        assertEquals(4, draws, err.toString(StandardCharsets.UTF_8));
        assertEquals("vecloss: 25/100 files, 1.00 k elements/s, 0:01 left", p.line(25, 250, 250_000_000L));
        assertEquals("vecloss: 100/100 files, 310 M elements/s", p.line(100, 310_000_000L, 1_000_000_000L));
        assertEquals("1:01:01", Progress.duration(3661));
    }
}
