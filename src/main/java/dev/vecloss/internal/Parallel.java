package dev.vecloss.internal;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Deterministic parallel sums. The range {@code [0, total)} is cut into chunks of
 * {@code grain} items, a size chosen from the problem's shape only; each chunk is reduced by a
 * kernel in its own fixed order, and the chunk sums are combined by a fixed balanced binary
 * tree. Which thread computes which chunk does not matter, so the result has the same bits for
 * 1, 2 or 16 threads.
 *
 * <p>Threads come from one shared pool of daemon threads, as many as the machine has cores;
 * the calling thread works too. A call that fits in one chunk, or runs on one thread, creates
 * nothing and touches no other thread.
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

    /** Work units of about this many input elements make one chunk (also the parallel grain). */
    public static final long CHUNK_ELEMENTS = 1L << 16;

    /** Below this many input elements, the default thread count is 1: a hand-off costs more. */
    public static final long PARALLEL_THRESHOLD = 1L << 18;

    private Parallel() {}

    /** The number of cores, the default parallelism. */
    public static int cores() {
        return Runtime.getRuntime().availableProcessors();
    }

    /**
     * The number of items per chunk when each item costs {@code elementsPerItem} elements: a
     * function of the shape alone.
     */
    public static long grain(long elementsPerItem) {
        return Math.max(1, CHUNK_ELEMENTS / Math.max(1, elementsPerItem));
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
     * Whether worker threads may read and write all of {@code segments} (nulls are skipped): false
     * when one belongs to a confined arena, whose memory only its owner thread may touch.
     */
    public static boolean shareable(MemorySegment... segments) {
        for (MemorySegment s : segments) {
            if (s != null && !s.isAccessibleBy(STRANGER)) {
                return false;
            }
        }
        return true;
    }

    /** The deterministic sum of {@code fn} over {@code [0, total)} in chunks of {@code grain}. */
    public static <P> double sum(long total, long grain, int threads, RangeSum<P> fn, P problem) {
        if (total <= 0) {
            return 0;
        }
        long chunks = (total + grain - 1) / grain;
        if (threads <= 1 || chunks == 1) {
            return tree(fn, problem, total, grain, 0, chunks);
        }
        if (chunks > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("too many chunks: " + chunks);
        }
        double[] partial = new double[(int) chunks];
        RuntimeException[] errors = new RuntimeException[(int) chunks];
        AtomicInteger next = new AtomicInteger();
        int helpers = (int) Math.min(threads, chunks) - 1;
        AtomicInteger running = new AtomicInteger(helpers);
        Thread caller = Thread.currentThread();
        Runnable work = () -> {
            for (int i; (i = next.getAndIncrement()) < chunks; ) {
                long from = i * grain;
                try {
                    partial[i] = fn.apply(problem, from, Math.min(total, from + grain));
                } catch (RuntimeException | Error e) {
                    errors[i] = e instanceof RuntimeException re ? re : new IllegalStateException(e);
                }
            }
        };
        for (int h = 0; h < helpers; h++) {
            Pool.EXECUTOR.execute(() -> {
                try {
                    work.run();
                } finally {
                    if (running.decrementAndGet() == 0) {
                        LockSupport.unpark(caller);
                    }
                }
            });
        }
        work.run();
        while (running.get() > 0) {
            LockSupport.park(Parallel.class);
        }
        for (RuntimeException e : errors) {
            if (e != null) {
                throw e; // the error of the lowest chunk: the same whatever the thread count
            }
        }
        return tree(partial, 0, partial.length);
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
