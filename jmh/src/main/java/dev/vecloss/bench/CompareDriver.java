package dev.vecloss.bench;

import dev.vecloss.BinaryCrossEntropy;
import dev.vecloss.ClassWeights;
import dev.vecloss.CrossEntropy;
import dev.vecloss.Focal;
import dev.vecloss.Hinge;
import dev.vecloss.Kernels;
import dev.vecloss.KlDiv;
import dev.vecloss.Lovasz;
import dev.vecloss.Reduction;
import dev.vecloss.RegionLoss;
import dev.vecloss.SegmentationMode;
import dev.vecloss.Tensor;
import dev.vecloss.npy.Npy;
import dev.vecloss.npy.NpyArray;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Properties;

/**
 * The vecloss side of {@code jmh/compare_pytorch.py}: times the loss calls on the workloads the
 * script wrote as {@code .npy} files, all in this one JVM.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp jmh/target/benchmarks.jar \
 *     dev.vecloss.bench.CompareDriver DIR [--threads 1,2] [--warmup 2] [--reps 5] [--min-rep 0.1]</pre>
 *
 * DIR holds {@code workloads.txt} (one name per line, in order) and for each name
 * {@code NAME.input.npy}, {@code NAME.target.npy}, optionally {@code NAME.weight.npy} and
 * {@code NAME.pos_weight.npy}, and {@code NAME.opts}, a properties file:
 * <ul>
 *   <li>{@code loss}: {@code cross_entropy} (the default), {@code bce_with_logits}, {@code bce},
 *       {@code sigmoid_focal}, {@code hinge}, {@code multi_margin}, {@code softmax_focal},
 *       {@code kl_div}, or {@code class_weights} (the counts of the labels in the input, with
 *       {@code num_classes} and {@code ignore_index}; the value is {@code sum_j (j + 1) n_j});</li>
 *   <li>{@code reduction}: PyTorch's spelling (default {@code mean});</li>
 *   <li>{@code grad=true}: forward + gradient into a preallocated tensor of the input's dtype,
 *       which is also written to {@code NAME.grad.out.npy} after the first call, for the script
 *       to check;</li>
 *   <li>the loss's own options: {@code ignore_index} and {@code label_smoothing} (cross-entropy),
 *       {@code ignore_index}, {@code gamma} (softmax focal), {@code alpha}, {@code gamma} (sigmoid
 *       focal), {@code margin}, {@code p} (multi_margin, hinge); {@code weight} is the
 *       cross-entropy class weight or BCE's elementwise weight, {@code pos_weight} BCE with
 *       logits' (both from their {@code .npy} files).</li>
 * </ul>
 * Absent options take the library's defaults, except the sigmoid focal loss's reduction, which is
 * {@code mean} here too (torchvision's default is {@code none}, which has no single value to
 * compare).
 *
 * <p>Per workload: warm-up of every thread count for {@code --warmup} seconds each (default 2),
 * then more calls, every thread count in turn, until the JIT is idle (at most 20 s: on a busy
 * machine C2 compiling the kernels on the second core took more than the warm-up, and the
 * first workload's two threads ran 1.0x to 1.8x one); then per thread count 0.2 s of calls,
 * then {@code --reps} (default 5) timed runs, each of as many calls as fill {@code --min-rep}
 * seconds (at least one); a run's time is its mean per call, the result the median of runs.
 * Prints CSV {@code workload,threads,seconds} (seconds per call) on stdout; the kernel line and
 * each workload's loss ({@code loss,NAME,VALUE}) on stderr, for the script to check.
 */
public final class CompareDriver {
    private CompareDriver() {}

    /** One loss call on a workload's operands with a given thread count. */
    @FunctionalInterface
    interface Call {
        double run(int threads);
    }

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
            Path posWeightFile = dir.resolve(name + ".pos_weight.npy");
            try (NpyArray in = Npy.read(dir.resolve(name + ".input.npy"));
                    NpyArray tg = Npy.read(dir.resolve(name + ".target.npy"));
                    NpyArray wt = Files.exists(weightFile) ? Npy.read(weightFile) : null;
                    NpyArray pw = Files.exists(posWeightFile) ? Npy.read(posWeightFile) : null;
                    Arena arena = Arena.ofShared()) {
                Tensor input = in.tensor();
                Tensor grad = Boolean.parseBoolean(opts.getProperty("grad", "false"))
                        ? Tensor.allocate(arena, input.dtype(), input.shape()) : null;
                Call call = call(name, opts, input, tg.tensor(), wt == null ? null : wt.tensor(),
                        pw == null ? null : pw.tensor(), grad);
                double loss = call.run(threads[0]);
                System.err.printf(Locale.ROOT, "loss,%s,%.17g%n", name, loss);
                if (grad != null) {
                    Npy.write(dir.resolve(name + ".grad.out.npy"), grad);
                }
                for (int t : threads) {
                    warm(call, t, warmup);
                }
                untilJitIdle(call, threads);
                for (int t : threads) {
                    System.out.printf(Locale.ROOT, "%s,%d,%.9g%n", name, t, time(call, t, Math.min(warmup, 0.2), reps, minRep));
                    System.out.flush();
                }
            }
        }
    }

    /** Calls with {@code t} threads for {@code seconds} (one call at least); the mean seconds per call. */
    private static double warm(Call call, int t, double seconds) {
        long end = System.nanoTime() + (long) (seconds * 1e9);
        int calls = 0;
        long t0 = System.nanoTime();
        do {
            call.run(t);
            calls++;
        } while (System.nanoTime() < end);
        return (System.nanoTime() - t0) / 1e9 / calls;
    }

    /**
     * Calls with every thread count in turn, 0.1 s each, until over the last 0.3 s (three rounds at
     * least) the JIT finished at most 30 ms of compilation and the JVM's own threads (the
     * compiler threads, GC: the process's CPU time minus its Java threads') used at most a tenth
     * of the time; at most 20 s. A compilation in progress is seen only in the CPU time: the
     * JIT's total compilation time grows when one ends.
     */
    private static void untilJitIdle(Call call, int[] threads) {
        long start = System.nanoTime();
        long[] background = new long[4];
        long[] compiled = new long[4];
        long[] when = new long[4];
        for (int round = 0; System.nanoTime() - start < 20_000_000_000L; round++) {
            int i = round % 4;
            background[i] = backgroundCpuNanos();
            compiled[i] = ManagementFactory.getCompilationMXBean().getTotalCompilationTime();
            when[i] = System.nanoTime();
            if (round >= 3) {
                int first = (round - 3) % 4;
                long span = when[i] - when[first];
                boolean cpuQuiet = background[i] < 0 || background[first] < 0
                        || background[i] - background[first] <= span / 10;
                if (cpuQuiet && compiled[i] - compiled[first] <= 30) {
                    return;
                }
            }
            for (int t : threads) {
                warm(call, t, 0.1 / threads.length);
            }
        }
        System.err.println("warning: the JIT was still busy after 20 s of warm-up");
    }

    /** The CPU time the JVM's own threads have used so far, in ns, or -1 where the JVM does not tell. */
    private static long backgroundCpuNanos() {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        if (!(ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os)
                || !threads.isThreadCpuTimeEnabled()) {
            return -1;
        }
        long javaThreads = 0;
        for (long id : threads.getAllThreadIds()) {
            javaThreads += Math.max(0, threads.getThreadCpuTime(id));
        }
        return os.getProcessCpuTime() - javaThreads;
    }

    /** Median seconds per call: {@code warmup} seconds of calls, then {@code reps} runs of calls filling {@code minRep}. */
    private static double time(Call call, int t, double warmup, int reps, double minRep) {
        double perCall = warm(call, t, warmup);
        int batch = (int) Math.max(1, Math.ceil(minRep / perCall));
        List<Double> runs = new ArrayList<>(reps);
        for (int r = 0; r < reps; r++) {
            long s = System.nanoTime();
            for (int k = 0; k < batch; k++) {
                call.run(t);
            }
            runs.add((System.nanoTime() - s) / 1e9 / batch);
        }
        runs.sort(null);
        return reps % 2 == 1 ? runs.get(reps / 2) : (runs.get(reps / 2 - 1) + runs.get(reps / 2)) / 2;
    }

    /**
     * The call that {@code opts} names on these operands: the reduced loss, with the gradient
     * written into {@code grad} when it is not null.
     */
    static Call call(String name, Properties opts, Tensor x, Tensor y, Tensor weight, Tensor posWeight, Tensor grad) {
        String loss = opts.getProperty("loss", "cross_entropy");
        Reduction reduction = Reduction.parse(opts.getProperty("reduction", "mean"));
        if (posWeight != null && !loss.equals("bce_with_logits")) {
            throw new IllegalArgumentException(name + ": pos_weight is for bce_with_logits only");
        }
        if (weight != null && !loss.equals("cross_entropy") && !loss.startsWith("bce")) {
            throw new IllegalArgumentException(name + ": weight is for cross_entropy and the BCE losses here");
        }
        return switch (loss) {
            case "cross_entropy" -> {
                CrossEntropy.Options o = CrossEntropy.Options.defaults().withWeight(weight).withReduction(reduction)
                        .withIgnoreIndex(Long.parseLong(opts.getProperty("ignore_index", "-100")))
                        .withLabelSmoothing(Double.parseDouble(opts.getProperty("label_smoothing", "0")));
                yield t -> CrossEntropy.crossEntropy(x, y, o.withThreads(t), null, grad);
            }
            case "bce_with_logits", "bce" -> {
                BinaryCrossEntropy.Options o = BinaryCrossEntropy.Options.defaults().withWeight(weight)
                        .withPosWeight(posWeight).withReduction(reduction);
                yield loss.equals("bce")
                        ? t -> BinaryCrossEntropy.binaryCrossEntropy(x, y, o.withThreads(t), null, grad)
                        : t -> BinaryCrossEntropy.binaryCrossEntropyWithLogits(x, y, o.withThreads(t), null, grad);
            }
            case "sigmoid_focal" -> {
                Focal.SigmoidOptions o = Focal.SigmoidOptions.defaults().withReduction(reduction)
                        .withAlpha(Double.parseDouble(opts.getProperty("alpha", "0.25")))
                        .withGamma(Double.parseDouble(opts.getProperty("gamma", "2")));
                yield t -> Focal.sigmoidFocalLoss(x, y, o.withThreads(t), null, grad);
            }
            case "softmax_focal" -> {
                Focal.SoftmaxOptions o = Focal.SoftmaxOptions.defaults().withReduction(reduction)
                        .withIgnoreIndex(Long.parseLong(opts.getProperty("ignore_index", "-100")))
                        .withGamma(Double.parseDouble(opts.getProperty("gamma", "2")));
                yield t -> Focal.softmaxFocalLoss(x, y, o.withThreads(t), null, grad);
            }
            case "hinge", "multi_margin" -> {
                Hinge.Options o = Hinge.Options.defaults().withReduction(reduction)
                        .withMargin(Double.parseDouble(opts.getProperty("margin", "1")))
                        .withP(Integer.parseInt(opts.getProperty("p", "1")));
                yield loss.equals("hinge")
                        ? t -> Hinge.hinge(x, y, o.withThreads(t), null, grad)
                        : t -> Hinge.multiMarginLoss(x, y, o.withThreads(t), null, grad);
            }
            case "kl_div" -> {
                KlDiv.Options o = KlDiv.Options.defaults().withReduction(reduction);
                yield t -> KlDiv.klDiv(x, y, o.withThreads(t), null, grad);
            }
            case "dice", "jaccard", "tversky" -> {
                // smp's losses, multiclass from logits; Dice and Jaccard are Tversky's pipeline
                RegionLoss.Options o = RegionLoss.Options.defaults(SegmentationMode.MULTICLASS).withTversky(
                        Double.parseDouble(opts.getProperty("alpha", "0.5")),
                        Double.parseDouble(opts.getProperty("beta", "0.5")), 1);
                yield t -> RegionLoss.tversky(x, y, o.withThreads(t), grad);
            }
            case "class_weights" -> {
                // the input holds the labels; the value is the checksum sum_j (j + 1) n_j of the counts
                int c = Integer.parseInt(opts.getProperty("num_classes"));
                long[] counts = new long[c];
                ClassWeights.Options o = ClassWeights.Options.defaults()
                        .withIgnoreIndex(Long.parseLong(opts.getProperty("ignore_index", "-100")));
                yield t -> {
                    ClassWeights.counts(x, c, o.withThreads(t), counts);
                    double checksum = 0;
                    for (int j = 0; j < c; j++) {
                        checksum += (j + 1.0) * counts[j];
                    }
                    return checksum;
                };
            }
            case "lovasz" -> {
                Lovasz.Options o = Lovasz.Options.defaults(SegmentationMode.valueOf(opts.getProperty("mode").toUpperCase(Locale.ROOT)))
                        .withPerImage(Boolean.parseBoolean(opts.getProperty("per_image", "false")));
                yield t -> Lovasz.lovaszLoss(x, y, o.withThreads(t), grad);
            }
            default -> throw new IllegalArgumentException(name + ": unknown loss '" + loss + "'");
        };
    }
}
