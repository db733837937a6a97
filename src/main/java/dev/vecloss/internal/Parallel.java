package dev.vecloss.internal;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Deterministic parallel reductions. The range {@code [0, total)} is cut into chunks of
 * {@code grain} items, a size chosen from the problem's shape only; each chunk is reduced by a
 * kernel in its own fixed order, and the chunk results are combined by a fixed balanced binary
 * tree. Which thread computes which chunk does not matter, so the result has the same bits for
 * 1, 2 or 16 threads. Three reductions share that scheme:
 * <ul>
 *   <li>{@link #sum}: one double per chunk (a reduced loss);</li>
 *   <li>{@link #sums}: a vector of doubles per chunk (per-class sums), combined lane by lane by
 *       the same tree;</li>
 *   <li>{@link #counts}: a vector of exact 64-bit counts per chunk (histograms), whose sum does
 *       not depend on any order.</li>
 * </ul>
 *
 * <p>Threads come from one shared pool of daemon threads, as many as the machine has cores; the
 * calling thread works too, and returns as soon as every chunk is done (a helper still queued
 * then finds nothing to do). A call that fits in one chunk, or runs on one thread, creates nothing
 * and touches no other thread. An error in a kernel is rethrown on the calling thread: the one of
 * the lowest chunk, the same whatever the thread count.
 */
public final class Parallel {

    /**
     * A kernel over a range of items of a problem, returning its sum. Pass a non-capturing
     * lambda or a static method reference (a constant, so the call allocates nothing) and the
     * problem separately.
     */
    @FunctionalInterface
    public interface RangeSum<P> {
        double apply(P problem, long from, long to);
    }

    /**
     * A kernel over a range of items that adds its items' values (the losses) to {@code acc},
     * exactly. Pass a non-capturing lambda or a static method reference.
     */
    @FunctionalInterface
    public interface RangeExact<P> {
        void apply(P problem, long from, long to, ExactSum acc);
    }

    /** A kernel over a range of items that adds its per-lane results into {@code out[off, off + width)}. */
    @FunctionalInterface
    public interface RangeSums<P> {
        void apply(P problem, long from, long to, double[] out, int off);
    }

    /** A kernel over a range of items that adds its per-lane counts into {@code out[off, off + width)}. */
    @FunctionalInterface
    public interface RangeCounts<P> {
        void apply(P problem, long from, long to, long[] out, int off);
    }

    /** Work units of about this many input elements make one chunk (also the parallel grain). */
    public static final long CHUNK_ELEMENTS = 1L << 16;

    /**
     * Chunks of at least this many items are a multiple of it: a multiple of every vector's lane
     * count (up to 64 bytes of 8-bit lanes), so that no chunk ends inside a vector block of a
     * kernel that runs across positions.
     */
    public static final long ALIGN = 64;

    /** Below this many input elements, the default thread count is 1: a hand-off costs more. */
    public static final long PARALLEL_THRESHOLD = 1L << 18;

    private Parallel() {}

    /** The number of cores, the default parallelism. */
    public static int cores() {
        return Runtime.getRuntime().availableProcessors();
    }

    /**
     * The number of items per chunk when each item costs {@code elementsPerItem} elements: a
     * function of the shape alone, a multiple of {@link #ALIGN} when it is at least that.
     */
    public static long grain(long elementsPerItem) {
        long g = Math.max(1, CHUNK_ELEMENTS / Math.max(1, elementsPerItem));
        return g >= ALIGN ? g / ALIGN * ALIGN : g;
    }

    /**
     * Threads to use: {@code requested} if positive, else all cores for inputs of at least
     * {@link #PARALLEL_THRESHOLD} elements and one thread below.
     */
    public static int threadsFor(int requested, long elements) {
        if (requested > 0) {
            return requested;
        }
        return elements >= PARALLEL_THRESHOLD ? cores() : 1;
    }

    /** A thread that is no segment's owner: segments it may access are shared (global, auto, shared, heap). */
    private static final Thread STRANGER = new Thread(() -> { });

    /**
     * Whether worker threads may read and write {@code segment} (null is fine): false when it
     * belongs to a confined arena, whose memory only its owner thread may touch.
     */
    public static boolean shareable(MemorySegment segment) {
        return segment == null || segment.isAccessibleBy(STRANGER);
    }

    /** The deterministic sum of {@code fn} over {@code [0, total)} in chunks of {@code grain}. */
    public static <P> double sum(long total, long grain, int threads, RangeSum<P> fn, P problem) {
        if (total <= 0) {
            return 0;
        }
        long chunks = chunks(total, grain);
        if (threads <= 1 || chunks == 1) {
            return tree(fn, problem, total, grain, 0, chunks);
        }
        double[] partial = new double[(int) chunks];
        run(chunks, threads, (i, worker) -> {
            long from = i * grain;
            partial[i] = fn.apply(problem, from, Math.min(total, from + grain));
        });
        return tree(partial, 0, partial.length);
    }

    /**
     * Adds the values of {@code fn} over {@code [0, total)}, in chunks of {@code grain}, to
     * {@code out}, exactly: each worker thread adds its chunks to an accumulator of its own, and
     * these are added to {@code out}. An exact sum does not depend on the order of its terms, so
     * the result has the same bits at any thread count and for any chunking: the chunks only
     * share the work (and align the vector blocks of the kernels across positions). On one
     * thread the chunks add straight to {@code out}, and nothing is allocated.
     */
    public static <P> void exactSum(long total, long grain, int threads, RangeExact<P> fn, P problem, ExactSum out) {
        if (total <= 0) {
            return;
        }
        long chunks = chunks(total, grain);
        if (threads <= 1 || chunks == 1) {
            for (long i = 0; i < chunks; i++) { // no lambda: nothing to allocate
                long from = i * grain;
                fn.apply(problem, from, Math.min(total, from + grain), out);
            }
            return;
        }
        int workers = (int) Math.min(Math.max(1, threads), chunks);
        ExactSum[] partial = new ExactSum[workers];
        for (int w = 0; w < workers; w++) {
            partial[w] = new ExactSum();
        }
        run(chunks, workers, (i, worker) -> {
            long from = i * grain;
            fn.apply(problem, from, Math.min(total, from + grain), partial[worker]);
        });
        for (ExactSum s : partial) {
            out.add(s);
        }
    }

    /**
     * The deterministic lane-wise sums of {@code fn} over {@code [0, total)}: {@code width} doubles
     * per chunk, combined lane by lane by the fixed tree, into {@code out[0, width)} (overwritten).
     * It allocates {@code chunks * width} doubles.
     */
    public static <P> void sums(long total, long grain, int threads, int width, RangeSums<P> fn, P problem,
            double[] out) {
        java.util.Arrays.fill(out, 0, width, 0.0);
        if (total <= 0) {
            return;
        }
        long chunks = chunks(total, grain);
        if (chunks * width > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("too many partial sums: " + chunks + " chunks of " + width);
        }
        double[] partial = new double[(int) chunks * width];
        run(chunks, threads, (i, worker) -> {
            long from = i * grain;
            fn.apply(problem, from, Math.min(total, from + grain), partial, i * width);
        });
        combine(partial, width, 0, (int) chunks);
        System.arraycopy(partial, 0, out, 0, width);
    }

    /**
     * {@link #sums} with the partial sums in {@code scratch} (at least {@link #sumsLength} doubles,
     * kept by the caller), so that a call on one thread allocates nothing: the same chunks and the
     * same tree, so the same bits.
     */
    public static <P> void sums(long total, long grain, int threads, int width, RangeSums<P> fn, P problem,
            double[] out, double[] scratch) {
        java.util.Arrays.fill(out, 0, width, 0.0);
        if (total <= 0) {
            return;
        }
        long chunks = chunks(total, grain);
        int length = sumsLength(total, grain, width);
        java.util.Arrays.fill(scratch, 0, length, 0.0);
        if (threads <= 1 || chunks == 1) {
            for (int i = 0; i < chunks; i++) { // no lambda: nothing to allocate
                long from = i * grain;
                fn.apply(problem, from, Math.min(total, from + grain), scratch, i * width);
            }
        } else {
            run(chunks, threads, (i, worker) -> {
                long from = i * grain;
                fn.apply(problem, from, Math.min(total, from + grain), scratch, i * width);
            });
        }
        combine(scratch, width, 0, (int) chunks);
        System.arraycopy(scratch, 0, out, 0, width);
    }

    /** The number of doubles {@link #sums(long, long, int, int, RangeSums, Object, double[], double[])} needs. */
    public static int sumsLength(long total, long grain, int width) {
        long chunks = total <= 0 ? 0 : chunks(total, grain);
        if (chunks * width > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("too many partial sums: " + chunks + " chunks of " + width);
        }
        return (int) chunks * width;
    }

    /** Adds the lanes of chunks {@code [lo, hi)} into chunk {@code lo} by the tree of {@link #tree(double[], int, int)}. */
    private static void combine(double[] partial, int width, int lo, int hi) {
        if (hi - lo == 1) {
            return;
        }
        int mid = (lo + hi) >>> 1;
        combine(partial, width, lo, mid);
        combine(partial, width, mid, hi);
        for (int l = 0; l < width; l++) {
            partial[lo * width + l] += partial[mid * width + l];
        }
    }

    /**
     * The exact lane-wise counts of {@code fn} over {@code [0, total)} into {@code out[0, width)}
     * (overwritten): each thread counts into its own array, and 64-bit integer sums do not depend
     * on their order.
     *
     * @throws ArithmeticException if a count overflows a long
     */
    public static <P> void counts(long total, long grain, int threads, int width, RangeCounts<P> fn, P problem,
            long[] out) {
        java.util.Arrays.fill(out, 0, width, 0L);
        if (total <= 0) {
            return;
        }
        long chunks = chunks(total, grain);
        if (threads <= 1 || chunks == 1) {
            // one thread: straight into out, in chunk order (the lowest bad chunk throws first);
            // nothing allocated, so a single-threaded count allocates nothing
            for (long i = 0; i < chunks; i++) {
                long from = i * grain;
                fn.apply(problem, from, Math.min(total, from + grain), out, 0);
            }
            return;
        }
        int workers = (int) Math.min(Math.max(1, threads), chunks);
        long[] partial = new long[workers * width]; // one row per worker thread
        run(chunks, workers, (i, worker) -> {
            long from = i * grain;
            fn.apply(problem, from, Math.min(total, from + grain), partial, worker * width);
        });
        for (int w = 0; w < workers; w++) {
            for (int l = 0; l < width; l++) {
                out[l] = Math.addExact(out[l], partial[w * width + l]);
            }
        }
    }

    /** A kernel over a range of items that adds its per-lane values exactly into {@code out[0, width)}. */
    @FunctionalInterface
    public interface RangeExactSums<P> {
        void apply(P problem, long from, long to, ExactSum[] out);
    }

    /**
     * The exact lane-wise sums of {@code fn} over {@code [0, total)}, into {@code perWorker[0]}:
     * each worker thread adds its chunks into its own row of {@code perWorker} (at least
     * {@code min(threads, chunks)} rows of {@code width} sums, kept by the caller; cleared here),
     * then the rows are added into the first. Exact sums do not depend on the order of their
     * additions, so the result is the same at any thread count and for any chunking: only the
     * kernel's per-item values matter. On one thread nothing is allocated. The error of the lowest
     * failing chunk is thrown, as by {@link #sum}.
     */
    public static <P> void exactSums(long total, long grain, int threads, int width, RangeExactSums<P> fn, P problem,
            ExactSum[][] perWorker) {
        long chunks = total <= 0 ? 0 : chunks(total, grain);
        int workers = (int) Math.max(1, Math.min(Math.max(1, threads), chunks));
        for (int w = 0; w < workers; w++) {
            for (int l = 0; l < width; l++) {
                perWorker[w][l].clear();
            }
        }
        if (chunks == 0) {
            return;
        }
        if (workers == 1) {
            for (long i = 0; i < chunks; i++) { // no lambda: nothing to allocate
                long from = i * grain;
                fn.apply(problem, from, Math.min(total, from + grain), perWorker[0]);
            }
            return;
        }
        run(chunks, workers, (i, worker) -> {
            long from = i * grain;
            fn.apply(problem, from, Math.min(total, from + grain), perWorker[worker]);
        });
        for (int w = 1; w < workers; w++) {
            for (int l = 0; l < width; l++) {
                perWorker[0][l].add(perWorker[w][l]);
            }
        }
    }

    private static long chunks(long total, long grain) {
        long chunks = (total + grain - 1) / grain;
        if (chunks > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("too many chunks: " + chunks);
        }
        return chunks;
    }

    /** The work of one chunk, done by worker {@code worker} (0 is the caller, then the helpers). */
    @FunctionalInterface
    private interface Chunk {
        void run(int index, int worker);
    }

    /**
     * Runs chunks {@code [0, chunks)} on up to {@code threads} threads, the caller among them, and
     * rethrows the error of the lowest failing chunk. Returns when every chunk has run; helpers
     * that start later find no chunk left and return at once.
     */
    private static void run(long chunks, int threads, Chunk chunk) {
        int n = (int) chunks;
        if (threads <= 1 || n == 1) {
            for (int i = 0; i < n; i++) {
                chunk.run(i, 0);
            }
            return;
        }
        Throwable[] errors = new Throwable[n];
        AtomicInteger next = new AtomicInteger();
        AtomicInteger done = new AtomicInteger();
        Thread caller = Thread.currentThread();
        IntConsumerWork work = worker -> {
            for (int i; (i = next.getAndIncrement()) < n; ) {
                try {
                    chunk.run(i, worker);
                } catch (RuntimeException | Error e) {
                    errors[i] = e;
                }
                if (done.incrementAndGet() == n && Thread.currentThread() != caller) {
                    LockSupport.unpark(caller);
                }
            }
        };
        int helpers = Math.min(threads, n) - 1;
        for (int h = 1; h <= helpers; h++) {
            int worker = h;
            Pool.EXECUTOR.execute(() -> work.run(worker));
        }
        work.run(0);
        // park returns at once while the interrupt flag is set: clear it while waiting (the
        // remaining chunks are short) and restore it after, rather than spin
        boolean interrupted = false;
        while (done.get() < n) {
            LockSupport.park(Parallel.class);
            interrupted |= Thread.interrupted();
        }
        if (interrupted) {
            caller.interrupt();
        }
        for (Throwable e : errors) {
            if (e instanceof RuntimeException re) {
                throw re; // the error of the lowest chunk: the same whatever the thread count
            }
            if (e instanceof Error err) {
                throw err;
            }
        }
    }

    /** A worker's loop over the chunks left. */
    @FunctionalInterface
    private interface IntConsumerWork {
        void run(int worker);
    }

    private static <P> double tree(RangeSum<P> fn, P problem, long total, long grain, long lo, long hi) {
        if (hi - lo == 1) {
            long from = lo * grain;
            return fn.apply(problem, from, Math.min(total, from + grain));
        }
        long mid = (lo + hi) >>> 1;
        return tree(fn, problem, total, grain, lo, mid) + tree(fn, problem, total, grain, mid, hi);
    }

    private static double tree(double[] v, int lo, int hi) {
        if (hi - lo == 1) {
            return v[lo];
        }
        int mid = (lo + hi) >>> 1;
        return tree(v, lo, mid) + tree(v, mid, hi);
    }

    /** The shared pool, created on first parallel use. */
    private static final class Pool {
        static final ExecutorService EXECUTOR = Executors.newFixedThreadPool(cores(), r -> {
            Thread t = new Thread(r, "vecloss-worker");
            t.setDaemon(true);
            return t;
        });
    }
}
