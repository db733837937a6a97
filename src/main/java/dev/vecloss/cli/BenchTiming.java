package dev.vecloss.cli;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The rules by which {@code vecloss bench} decides that a kernel is warm and that its timed runs
 * have settled, apart from the clock so that tests can feed them made-up observations.
 *
 * <p>Why these rules (issue 10): on a machine whose cores other processes keep busy, the JIT's
 * compiler threads get only a share of a core, so C2 takes seconds to compile a large kernel;
 * meanwhile the kernel runs as C1 code at a steady rate, and the JIT's total compilation time
 * ({@link CompilationMXBean}) only grows when a compilation <em>ends</em>. A warm-up that waits
 * for "no faster window and no finished compilation" therefore stops in the middle of the
 * kernel's C2 compilation and times C1 code (0.18 to 0.88 G/s where the compiled kernel runs
 * 1.2). And the other processes preempt the timing thread: a window of 50 ms ran at 0.3 to 1.0
 * of the kernel's speed while its undisturbed calls ran at full speed every time.
 *
 * <ul>
 *   <li>A kernel is <em>warm</em> when, over its last windows, those of the last
 *       {@link #SETTLE_NANOS} (the last window alone if it is longer: one call of a large case can
 *       take seconds on a busy machine), no window
 *       ran more than {@value #RECORD_FACTOR}x faster than every window before it (the rate has
 *       stopped improving), the JVM's own threads (the JIT's compiler threads, GC, the VM thread:
 *       the CPU time of the process minus that of its Java threads) used at most
 *       {@value #MAX_BACKGROUND_SHARE} of those windows' time (no compilation is running, even
 *       one that has not finished yet), and compilations that finished then took at most as
 *       much; after at least {@link #MIN_WARMUP_NANOS}, at most {@link #MAX_WARMUP_NANOS} (then
 *       the figure is flagged as not settled).</li>
 *   <li>A window's or a timed run's <em>rate</em> is the upper decile of the rates of its samples,
 *       each some calls for at least {@link #SAMPLE_NANOS} (one call at least): a sample that the
 *       scheduler interrupted runs slower, and at least one in ten runs undisturbed unless the
 *       machine gives this process less than a tenth of a core.</li>
 *   <li>Timed runs are repeated until the best has not improved by more than
 *       {@value #RUN_RECORD_FACTOR}x for {@value #STABLE_RUNS} runs (at least
 *       {@value #MIN_RUNS} runs, at most {@value #MAX_RUNS}); the best counts, and the spread
 *       of all the runs ((max - min) / max) is printed next to it.</li>
 * </ul>
 */
final class BenchTiming {
    /** A sample: calls for at least this long, short enough to fall between two preemptions. */
    static final long SAMPLE_NANOS = 1_000_000L;
    /** A warm-up window or a timed run: samples for at least this long. */
    static final long RUN_NANOS = 50_000_000L;
    static final long MIN_WARMUP_NANOS = 500_000_000L;
    /** Long enough for C2 to compile a large kernel with a fifth of a core. */
    static final long MAX_WARMUP_NANOS = 20_000_000_000L;
    /** The span over which the rate and the JIT must have been quiet: six windows of 50 ms. */
    static final long SETTLE_NANOS = 300_000_000L;
    static final double RECORD_FACTOR = 1.05;
    /**
     * The JVM's own threads' share of the settling windows' time above which the JIT is taken to
     * be busy: a compiler thread that competes with two busy processes for two cores gets about a
     * third of one, and the process CPU time has a granularity of 10 ms on Linux (3% of
     * {@link #SETTLE_NANOS}).
     */
    static final double MAX_BACKGROUND_SHARE = 0.10;
    static final int MIN_RUNS = 5;
    static final int STABLE_RUNS = 4;
    static final int MAX_RUNS = 40;
    static final double RUN_RECORD_FACTOR = 1.01;

    private BenchTiming() {}

    /** A CPU time the JVM does not tell. */
    static final long UNKNOWN = Long.MIN_VALUE;

    /**
     * One warm-up window: its rate (any unit), its length, the CPU time the JVM's own threads used
     * during it ({@link #UNKNOWN} if the JVM does not tell; slightly negative at times, the process
     * CPU time being counted in clock ticks) and the compilation time that finished during it.
     */
    record Window(double rate, long nanos, long backgroundCpuNanos, long compiledMillis) {}

    /** The warm-up's rule over a sequence of windows. */
    static final class WarmUp {
        private final List<Window> windows = new ArrayList<>();
        private long elapsed;

        /** Adds a window; true once the kernel is warm or the warm-up has run out of time. */
        boolean add(Window w) {
            windows.add(w);
            elapsed += w.nanos();
            return settled() || elapsed >= MAX_WARMUP_NANOS;
        }

        /** Whether the windows so far satisfy the rule (not just the time limit). */
        boolean settled() {
            int n = windows.size();
            int tail = n; // the first window of the settling span
            for (long span = 0; tail > 0 && span < SETTLE_NANOS; ) {
                span += windows.get(--tail).nanos();
            }
            if (elapsed < MIN_WARMUP_NANOS || tail < 1) {
                return false; // no window before the span to compare its rates with
            }
            double best = 0;
            for (Window w : windows.subList(0, tail)) {
                best = Math.max(best, w.rate());
            }
            long span = 0, background = 0, compiledMillis = 0;
            boolean backgroundKnown = true;
            for (Window w : windows.subList(tail, n)) {
                if (w.rate() > best * RECORD_FACTOR) {
                    return false; // still getting faster: C2 code has just arrived, or tiered code before it
                }
                best = Math.max(best, w.rate());
                span += w.nanos();
                backgroundKnown &= w.backgroundCpuNanos() != UNKNOWN;
                background += w.backgroundCpuNanos() == UNKNOWN ? 0 : w.backgroundCpuNanos();
                compiledMillis += w.compiledMillis();
            }
            double limit = MAX_BACKGROUND_SHARE * span;
            return (!backgroundKnown || background <= limit) && compiledMillis * 1e6 <= limit;
        }

        long elapsedNanos() {
            return elapsed;
        }
    }

    /** The timed runs' rule: repeat until the best has settled; the best and the spread. */
    static final class Runs {
        private final List<Double> rates = new ArrayList<>();
        private int lastRecord;

        /** Adds a run's rate; true once enough runs were timed. */
        boolean add(double rate) {
            if (rates.isEmpty() || rate > best() * RUN_RECORD_FACTOR) {
                lastRecord = rates.size();
            }
            rates.add(rate);
            int n = rates.size();
            return n >= MAX_RUNS || (n >= MIN_RUNS && n - 1 - lastRecord >= STABLE_RUNS);
        }

        double best() {
            return rates.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
        }

        /** (max - min) / max over the runs: 0 when every run agreed. */
        double spread() {
            double min = rates.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
            return (best() - min) / best();
        }

        int count() {
            return rates.size();
        }
    }

    /**
     * The upper decile of {@code rates[0..n)} by nearest rank (the largest of fewer than ten): the
     * rate of the samples the other processes left alone.
     */
    static double upperDecile(double[] rates, int n) {
        if (n < 1) {
            throw new IllegalArgumentException("no samples");
        }
        double[] sorted = Arrays.copyOf(rates, n);
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(0.9 * n); // 1-based
        return sorted[rank - 1];
    }

    /**
     * The CPU time the JVM's own threads have used so far, in ns: the process's minus its live
     * Java threads' (HotSpot hides its compiler threads from {@link ThreadMXBean}, and GC threads
     * are no Java threads); {@link #UNKNOWN} where the JVM does not tell.
     */
    static long backgroundCpuNanos() {
        try {
            OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            if (!(os instanceof com.sun.management.OperatingSystemMXBean hotspot) || !threads.isThreadCpuTimeSupported()
                    || !threads.isThreadCpuTimeEnabled()) {
                return UNKNOWN;
            }
            long javaThreads = 0;
            for (long id : threads.getAllThreadIds()) {
                javaThreads += Math.max(0, threads.getThreadCpuTime(id)); // -1 for a thread that has ended
            }
            long process = hotspot.getProcessCpuTime();
            return process < 0 ? UNKNOWN : process - javaThreads;
        } catch (LinkageError | UnsupportedOperationException | SecurityException e) {
            return UNKNOWN; // no jdk.management module: the compilation time and the rate decide
        }
    }

    /** The JIT's total compilation time so far, in ms; 0 where the JVM does not tell. */
    static long compilationMillis() {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : 0;
    }
}
