package dev.vecloss.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The deterministic reductions of {@link Parallel}: the same bits at any thread count, the vector
 * sums lane by lane equal to the scalar sum's tree, exact counts, errors from the lowest chunk,
 * and the waiting caller (issue 6, defects 2 and 4).
 */
class ParallelTest {

    /** Values of very different magnitudes, so that any change of summation order changes bits. */
    private static final double[] DATA = new SplittableRandom(5).doubles(100_003)
            .map(u -> (u - 0.5) * Math.pow(10, 16 * u - 8)).toArray();

    private static double rangeSum(double[] d, long from, long to) {
        double s = 0;
        for (long i = from; i < to; i++) {
            s += d[(int) i];
        }
        return s;
    }

    @Test
    void grainIsAMultipleOfEveryLaneCountAndAFunctionOfTheShapeOnly() {
        // at C = 100 the chunk was 655 rows: its last 15 rows ran on the scalar kernel
        assertEquals(640, Parallel.grain(100));
        for (long c = 1; c <= 1024; c++) {
            long g = Parallel.grain(c);
            assertTrue(g >= 1 && (g < Parallel.ALIGN || g % Parallel.ALIGN == 0), "C = " + c + ": " + g);
            assertTrue(g * c <= Parallel.CHUNK_ELEMENTS || g == 1, "C = " + c + ": " + g);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 7})
    void sumHasTheSameBitsAtAnyThreadCount(int threads) {
        double one = Parallel.sum(DATA.length, 1000, 1, ParallelTest::rangeSum, DATA);
        assertEquals(Double.doubleToRawLongBits(one),
                Double.doubleToRawLongBits(Parallel.sum(DATA.length, 1000, threads, ParallelTest::rangeSum, DATA)));
    }

    /** Lane l of the vector sums is exactly the scalar sum of lane l: the same chunks, the same tree. */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 7})
    void vectorSumsAreTheScalarTreeLaneByLane(int threads) {
        int width = 5;
        double[] out = new double[width + 1];
        out[width] = 42; // past width: untouched
        Parallel.sums(DATA.length, 999, threads, width, (double[] d, long from, long to, double[] o, int off) -> {
            for (long i = from; i < to; i++) {
                o[off + (int) (i % width)] += d[(int) i];
            }
        }, DATA, out);
        for (int l = 0; l < width; l++) {
            int lane = l;
            double want = Parallel.sum(DATA.length, 999, 1, (double[] d, long from, long to) -> {
                double s = 0;
                for (long i = from; i < to; i++) {
                    if (i % width == lane) {
                        s += d[(int) i];
                    }
                }
                return s;
            }, DATA);
            assertEquals(Double.doubleToRawLongBits(want), Double.doubleToRawLongBits(out[l]), "lane " + l);
        }
        assertEquals(42, out[width]);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 7})
    void countsAreExact(int threads) {
        int width = 13;
        long[] out = new long[width];
        Parallel.counts(DATA.length, 777, threads, width, (double[] d, long from, long to, long[] o, int off) -> {
            for (long i = from; i < to; i++) {
                o[off + (int) (i % width)]++;
            }
        }, DATA, out);
        long[] want = new long[width];
        for (int i = 0; i < DATA.length; i++) {
            want[i % width]++;
        }
        assertArrayEquals(want, out);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 7})
    void theErrorOfTheLowestChunkIsRethrown(int threads) {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Parallel.sum(10_000, 100, threads, (Object p, long from, long to) -> {
                    if (from >= 3000) {
                        throw new IllegalStateException("chunk at " + from);
                    }
                    return 0;
                }, null));
        assertEquals("chunk at 3000", e.getMessage());
    }

    /**
     * An interrupted caller waiting for a helper's chunk: it used to spin (park returns at once
     * while the interrupt flag is set), burning a core; it must sleep, and keep the flag.
     */
    @Test
    @Timeout(20)
    void anInterruptedCallerWaitsWithoutSpinningAndKeepsItsFlag() {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        CountDownLatch helperStarted = new CountDownLatch(1);
        Thread caller = Thread.currentThread();
        caller.interrupt();
        long cpu0 = mx.getCurrentThreadCpuTime();
        long t0 = System.nanoTime();
        Parallel.sum(2, 1, 2, (Object p, long from, long to) -> {
            if (Thread.currentThread() != caller) {
                helperStarted.countDown();
                sleepQuietly(400);
            } else {
                awaitQuietly(helperStarted); // the other chunk is the helper's: the caller must wait for it
            }
            return 1;
        }, null);
        long wall = System.nanoTime() - t0;
        long cpu = mx.getCurrentThreadCpuTime() - cpu0;
        assertTrue(Thread.interrupted(), "the interrupt flag was lost");
        assertTrue(wall >= TimeUnit.MILLISECONDS.toNanos(300), "did not wait for the helper: " + wall + " ns");
        assertTrue(cpu < wall / 3, "the caller spun while waiting: " + cpu / 1e6 + " ms of CPU in " + wall / 1e6 + " ms");
    }

    /**
     * With every pool thread busy, a call's helper tasks stay queued; the caller does every chunk
     * itself and must return then, not wait for helpers that have not started.
     */
    @Test
    @Timeout(120)
    void theCallerDoesNotWaitForQueuedHelpers() throws Exception {
        int cores = Parallel.cores();
        CountDownLatch blocked = new CountDownLatch(cores);
        CountDownLatch release = new CountDownLatch(1);
        Thread background = Thread.ofPlatform().daemon().start(() -> Parallel.sum(10_000, 1, cores + 1,
                (Object p, long from, long to) -> {
                    if (Thread.currentThread().getName().equals("vecloss-worker") && release.getCount() > 0) {
                        blocked.countDown();
                        awaitQuietly(release);
                    } else {
                        // the background caller waits for the workers: else it could take every
                        // chunk before they start, and they would never block
                        awaitQuietly(blocked);
                    }
                    return 0;
                }, null));
        try {
            assertTrue(blocked.await(60, TimeUnit.SECONDS), "the pool's threads did not all start");
            long t0 = System.nanoTime();
            double s = Parallel.sum(1000, 10, 2, (Object p, long from, long to) -> to - from, null);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertEquals(1000, s);
            assertTrue(ms < 5000, "the caller waited " + ms + " ms for queued helpers");
        } finally {
            release.countDown();
            background.join(10_000);
        }
    }

    @Test
    void confinedSegmentsAreNotShareable() {
        try (java.lang.foreign.Arena confined = java.lang.foreign.Arena.ofConfined();
                java.lang.foreign.Arena shared = java.lang.foreign.Arena.ofShared()) {
            assertTrue(!Parallel.shareable(confined.allocate(8)));
            assertTrue(Parallel.shareable(shared.allocate(8)));
            assertTrue(Parallel.shareable(null));
        }
        assertSame(1, Parallel.threadsFor(0, 10));
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        boolean interrupted = false;
        while (true) {
            try {
                latch.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the caller's flag is set on purpose: keep waiting, restore it
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
