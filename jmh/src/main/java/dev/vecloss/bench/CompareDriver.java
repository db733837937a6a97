package dev.vecloss.bench;

import dev.vecloss.CrossEntropy.Options;
import dev.vecloss.CrossEntropy;
import dev.vecloss.Kernels;
import dev.vecloss.Tensor;
import dev.vecloss.npy.Npy;
import dev.vecloss.npy.NpyArray;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Properties;

/**
 * The vecloss side of {@code jmh/compare_pytorch.py}: times {@code CrossEntropy.crossEntropy}
 * on the workloads the script wrote as {@code .npy} files, all in this one JVM.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp jmh/target/benchmarks.jar \
 *     dev.vecloss.bench.CompareDriver DIR [--threads 1,2] [--warmup 2] [--reps 5] [--min-rep 0.1]</pre>
 *
 * DIR holds {@code workloads.txt} (one name per line, in order) and for each name
 * {@code NAME.input.npy}, {@code NAME.target.npy}, optionally {@code NAME.weight.npy}, and
 * {@code NAME.opts} (a properties file: {@code ignore_index}, {@code label_smoothing},
 * {@code grad=true} for forward + gradient into a preallocated float32 tensor).
 *
 * <p>Per workload and thread count: warm-up for {@code --warmup} seconds (default 2), then
 * {@code --reps} (default 5) timed runs, each of as many calls as fill {@code --min-rep}
 * seconds (at least one); a run's time is its mean per call, the result the median of runs.
 * Prints CSV {@code workload,threads,seconds} (seconds per call) on stdout; the kernel line and
 * each workload's loss ({@code loss,NAME,VALUE}) on stderr, for the script to check.
 */
public final class CompareDriver {
    private CompareDriver() {}

    public static void main(String[] args) throws IOException {
        if (args.length < 1) {
            System.err.println("usage: CompareDriver DIR [--threads 1,2] [--warmup SECONDS] [--reps N] [--min-rep SECONDS]");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        int[] threads = {1, 2};
        double warmup = 2.0;
        int reps = 5;
        double minRep = 0.1;
        for (int i = 1; i < args.length; i += 2) {
            String v = args[i + 1];
            switch (args[i]) {
                case "--threads" -> threads = Arrays.stream(v.split(",")).mapToInt(Integer::parseInt).toArray();
                case "--warmup" -> warmup = Double.parseDouble(v);
                case "--reps" -> reps = Integer.parseInt(v);
                case "--min-rep" -> minRep = Double.parseDouble(v);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        System.err.println("kernels: " + Kernels.description());
        System.out.println("workload,threads,seconds");
        for (String name : Files.readAllLines(dir.resolve("workloads.txt"))) {
            name = name.strip();
            if (name.isEmpty()) {
                continue;
            }
            Properties opts = new Properties();
            Path optsFile = dir.resolve(name + ".opts");
            if (Files.exists(optsFile)) {
                try (var r = Files.newBufferedReader(optsFile)) {
                    opts.load(r);
                }
            }
            Path weightFile = dir.resolve(name + ".weight.npy");
            try (NpyArray in = Npy.read(dir.resolve(name + ".input.npy"));
                    NpyArray tg = Npy.read(dir.resolve(name + ".target.npy"));
                    NpyArray wt = Files.exists(weightFile) ? Npy.read(weightFile) : null;
                    var arena = java.lang.foreign.Arena.ofShared()) {
                Tensor input = in.tensor();
                Tensor target = tg.tensor();
                Tensor grad = Boolean.parseBoolean(opts.getProperty("grad", "false"))
                        ? Tensor.allocate(arena, input.dtype(), input.shape()) : null;
                Options base = Options.defaults().withWeight(wt == null ? null : wt.tensor())
                        .withIgnoreIndex(Long.parseLong(opts.getProperty("ignore_index", "-100")))
                        .withLabelSmoothing(Double.parseDouble(opts.getProperty("label_smoothing", "0")));
                for (int t : threads) {
                    Options o = base.withThreads(t);
                    double loss = call(input, target, o, grad);
                    if (t == threads[0]) {
                        System.err.printf(Locale.ROOT, "loss,%s,%.17g%n", name, loss);
                    }
                    long end = System.nanoTime() + (long) (warmup * 1e9);
                    int calls = 0;
                    long t0 = System.nanoTime();
                    do {
                        call(input, target, o, grad);
                        calls++;
                    } while (System.nanoTime() < end);
                    double perCall = (System.nanoTime() - t0) / 1e9 / calls;
                    int batch = (int) Math.max(1, Math.ceil(minRep / perCall));
                    List<Double> runs = new ArrayList<>(reps);
                    for (int r = 0; r < reps; r++) {
                        long s = System.nanoTime();
                        for (int k = 0; k < batch; k++) {
                            call(input, target, o, grad);
                        }
                        runs.add((System.nanoTime() - s) / 1e9 / batch);
                    }
                    runs.sort(null);
                    double median = reps % 2 == 1 ? runs.get(reps / 2)
                            : (runs.get(reps / 2 - 1) + runs.get(reps / 2)) / 2;
                    System.out.printf(Locale.ROOT, "%s,%d,%.9g%n", name, t, median);
                    System.out.flush();
                }
            }
        }
    }

    private static double call(Tensor input, Tensor target, Options o, Tensor grad) {
        return grad == null ? CrossEntropy.crossEntropy(input, target, o)
                : CrossEntropy.crossEntropy(input, target, o, null, grad);
    }
}
