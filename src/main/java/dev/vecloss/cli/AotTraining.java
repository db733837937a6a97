package dev.vecloss.cli;

import dev.vecloss.Tensor;
import dev.vecloss.npy.Npy;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * The training run of the AOT cache that {@code ./mvnw package} builds beside the jar
 * ({@code target/vecloss.aot}, JDK 25's {@code -XX:AOTCacheOutput}, JEP 483/514/515): a few
 * short command lines of the kind people run, so that the classes they load (the command line,
 * the {@code .npy} reader and writer, the kernels and the Vector API) are in the cache, parsed
 * and verified, and {@code bin/vecloss} starts with them at hand. (JDK 25 also stores their
 * linking and method profiles, but not while an incubator module is in the boot layer: it
 * cannot archive that module graph, and says so while it builds the cache.)
 *
 * <p>The build runs {@code java -XX:AOTCacheOutput=target/vecloss.aot -XX:+UseSerialGC --add-modules
 * jdk.incubator.vector -cp target/vecloss-VERSION.jar dev.vecloss.cli.AotTraining
 * target/vecloss.aot.jdk}, then again without the module (and with
 * {@code -Dvecloss.launcher.scalarOnly=true}, as bin/vecloss runs an input that takes the scalar
 * kernels for its size) into {@code target/vecloss-scalar.aot}, which JDK 25 can fill with the
 * linked classes and method profiles as well: the files are made in a temporary folder, deleted at the end, and the
 * last argument receives this JVM's {@code java.home} and {@code java.runtime.version}, which
 * the launcher compares with the JDK it runs (a cache is only valid for the JDK that made it).
 * Each command line must succeed: a failure is a bug, and fails the build.
 */
public final class AotTraining {
    private AotTraining() {}

    /**
     * Runs the training command lines, then writes the JDK's identity to {@code args[0]}.
     *
     * @param args the file that receives this JVM's {@code java.home} and {@code java.runtime.version}
     * @throws IOException if the files cannot be written
     */
    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: AotTraining JDK-ID-FILE");
        }
        Path dir = Files.createTempDirectory("vecloss-aot-training");
        try {
            train(dir);
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
        Files.writeString(Path.of(args[0]), System.getProperty("java.home") + "\n"
                + System.getProperty("java.runtime.version") + "\n", StandardCharsets.UTF_8);
    }

    private static void train(Path dir) throws IOException {
        SplittableRandom random = new SplittableRandom(42);
        List<String[]> runs = new ArrayList<>();
        // (N, C) logits of a small and a large file (the sizes of the README's whole-process
        // times): their kernels, the mapping of the inputs, the printing of the value.
        for (int[] nc : new int[][] {{1000, 1000}, {4096, 1000}}) {
            String x = npyF32(dir, "x" + nc[0], random, nc[0], nc[1]);
            String y = npyLabels(dir, "y" + nc[0], random, nc[0], nc[1]);
            runs.add(new String[] {"cross-entropy", "--input", x, "--target", y});
            runs.add(new String[] {"cross-entropy", "--input", x, "--target", y, "--label-smoothing", "0.1"});
        }
        String x = npyF32(dir, "xs", random, 256, 100);
        String y = npyLabels(dir, "ys", random, 256, 100);
        String out = dir.resolve("losses.npy").toString();
        String grad = dir.resolve("grad.npy").toString();
        runs.add(new String[] {"cross-entropy", "--input", x, "--target", y, "--output", out, "--grad", grad});
        runs.add(new String[] {"nll-loss", "--input", x, "--target", y});
        runs.add(new String[] {"binary-cross-entropy-with-logits", "--input", x, "--target", x});
        runs.add(new String[] {"--help"});
        runs.add(new String[] {"cross-entropy", "--help"});
        PrintStream sink = new PrintStream(OutputStream.nullOutputStream(), false, StandardCharsets.UTF_8);
        for (String[] run : runs) {
            int status = Main.run(run, sink, System.err);
            if (status != 0) {
                throw new IllegalStateException("training run failed (" + status + "): " + String.join(" ", run));
            }
        }
        // and one error line, the other common way out
        Main.run(new String[] {"cross-entropy", "--input", x}, sink, sink);
    }

    private static String npyF32(Path dir, String name, SplittableRandom random, int n, int c) throws IOException {
        float[] v = new float[n * c];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (4 * random.nextDouble() - 2);
        }
        Path p = dir.resolve(name + ".npy");
        Npy.write(p, Tensor.of(v, n, c));
        return p.toString();
    }

    private static String npyLabels(Path dir, String name, SplittableRandom random, int n, int c) throws IOException {
        long[] v = new long[n];
        for (int i = 0; i < n; i++) {
            v[i] = random.nextInt(c);
        }
        Path p = dir.resolve(name + ".npy");
        Npy.write(p, Tensor.of(v, n));
        return p.toString();
    }
}
