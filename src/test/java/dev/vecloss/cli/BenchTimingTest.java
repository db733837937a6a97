package dev.vecloss.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.cli.BenchTiming.Runs;
import dev.vecloss.cli.BenchTiming.WarmUp;
import dev.vecloss.cli.BenchTiming.Window;
import org.junit.jupiter.api.Test;

/**
 * {@link BenchTiming}'s rules over made-up observations (no clock: what the bench would decide
 * for a given sequence of windows and runs). The sequences follow what {@code bench} recorded
 * with {@code -Dvecloss.bench.trace=true} on a two-core machine with two busy loops (issue 10):
 * the kernel's C1 code ran at a steady rate for seconds while C2 compiled it with a share of a
 * core, and no compilation finished meanwhile.
 */
class BenchTimingTest {
    private static final long WINDOW = 50_000_000L;

    /** A window of 50 ms at {@code rate} in which the JVM's own threads used {@code backgroundMillis}. */
    private static Window window(double rate, long backgroundMillis, long compiledMillis) {
        return new Window(rate, WINDOW, backgroundMillis * 1_000_000L, compiledMillis);
    }

    /** Adds {@code count} copies of {@code w}; whether the warm-up said it was done at the last. */
    private static boolean add(WarmUp warmUp, Window w, int count) {
        boolean done = false;
        for (int i = 0; i < count; i++) {
            done = warmUp.add(w);
        }
        return done;
    }

    @Test
    void aSteadyRateIsNotWarmWhileTheCompilerThreadsAreBusy() {
        WarmUp warmUp = new WarmUp();
        // C1 code at a steady 0.3 while C2 compiles the kernel: 15 ms of 50 on the compiler
        // thread, and no compilation finishes (the compilation time stays put)
        assertFalse(add(warmUp, window(0.3, 15, 0), 40)); // 2 s: the old rule settled after 0.5 s
        assertFalse(warmUp.settled());
        // C2's code arrives: a record, then six quiet windows without one
        assertFalse(add(warmUp, window(1.1, 2, 40), 1));
        assertFalse(add(warmUp, window(1.12, 1, 0), 5));
        assertTrue(add(warmUp, window(1.11, 0, 0), 1));
        assertTrue(warmUp.settled());
    }

    @Test
    void theSameWindowsWithoutTheBackgroundCpuSettleOnTheRateAlone() {
        // what the rate and the finished compilations alone decide: warm at C1's rate (the bug)
        WarmUp warmUp = new WarmUp();
        assertTrue(add(warmUp, new Window(0.3, WINDOW, BenchTiming.UNKNOWN, 0), 11));
        assertTrue(warmUp.settled());
    }

    @Test
    void aRateStillImprovingIsNotWarm() {
        WarmUp warmUp = new WarmUp();
        double rate = 0.5;
        for (int i = 0; i < 40; i++) {
            rate *= 1.06; // a record by more than 5% every window
            assertFalse(warmUp.add(window(rate, 0, 0)), "window " + i);
        }
        // improvements within 5% of the best do not count as records
        assertFalse(add(warmUp, window(rate * 1.04, 0, 0), 5));
        assertTrue(add(warmUp, window(rate * 1.04, 0, 0), 1));
    }

    @Test
    void finishedCompilationsOverATenthOfTheSpanAreNotQuiet() {
        WarmUp warmUp = new WarmUp();
        add(warmUp, window(1, 0, 0), 10);
        assertTrue(warmUp.settled());
        add(warmUp, window(1, 0, 31), 1); // 31 ms of compilation in the last 300 ms
        assertFalse(warmUp.settled());
        add(warmUp, window(1, 0, 0), 5);
        assertFalse(warmUp.settled());
        add(warmUp, window(1, 0, 0), 1);
        assertTrue(warmUp.settled());
    }

    @Test
    void backgroundCpuCountsOverTheSpanNotPerWindow() {
        // the process CPU time moves in 10 ms ticks: a window of +9 ms next to ones of -1 ms is
        // no compilation; six windows of 8 ms (16%) are one
        WarmUp quiet = new WarmUp();
        add(quiet, window(1, 0, 0), 5);
        add(quiet, window(1, 9, 0), 1);
        add(quiet, window(1, -1, 0), 5);
        assertTrue(quiet.settled());
        WarmUp busy = new WarmUp();
        assertFalse(add(busy, window(1, 8, 0), 100));
    }

    @Test
    void theWarmUpTakesItsMinimumAndStopsAtItsLimit() {
        WarmUp warmUp = new WarmUp();
        Window quiet = new Window(1, 10_000_000L, 0, 0); // 10 ms windows: 50 of them for the minimum
        assertFalse(add(warmUp, quiet, 49));
        assertTrue(add(warmUp, quiet, 1));

        WarmUp never = new WarmUp();
        int windows = (int) (BenchTiming.MAX_WARMUP_NANOS / WINDOW);
        assertFalse(add(never, window(0.3, 20, 0), windows - 1));
        assertTrue(never.add(window(0.3, 20, 0))); // out of time
        assertFalse(never.settled()); // and flagged so
        assertEquals(BenchTiming.MAX_WARMUP_NANOS, never.elapsedNanos());
    }

    @Test
    void aCaseOfLongCallsSettlesOnItsLastWindowAlone() {
        // 2 s per call on a busy machine: the first call interpreted until C2's OSR code arrives,
        // the second compiled while the compiler threads still finish (20%), the third quiet
        WarmUp warmUp = new WarmUp();
        assertFalse(warmUp.add(new Window(0.01, 2_000_000_000L, 600_000_000L, 900)));
        assertFalse(warmUp.add(new Window(0.5, 2_000_000_000L, 400_000_000L, 300)));
        assertTrue(warmUp.add(new Window(0.51, 2_000_000_000L, 10_000_000L, 0)));
        assertTrue(warmUp.settled());
    }

    @Test
    void runsRepeatUntilTheBestHasNotMovedForFourRuns() {
        Runs runs = new Runs();
        double[] rates = {0.85, 0.82, 0.89, 0.83, 1.13, 1.07, 1.14, 1.14, 1.11};
        for (int i = 0; i < rates.length - 1; i++) {
            assertFalse(runs.add(rates[i]), "run " + (i + 1));
        }
        assertTrue(runs.add(rates[rates.length - 1]));
        assertEquals(1.14, runs.best());
        assertEquals((1.14 - 0.82) / 1.14, runs.spread(), 1e-12);
        assertEquals(9, runs.count());
    }

    @Test
    void runsTakeAtLeastFiveAndAtMostForty() {
        Runs steady = new Runs();
        for (int i = 0; i < 4; i++) {
            assertFalse(steady.add(1.0));
        }
        assertTrue(steady.add(1.0));
        assertEquals(0.0, steady.spread());

        Runs climbing = new Runs();
        double rate = 1;
        for (int i = 0; i < 39; i++) {
            rate *= 1.02; // a record every run
            assertFalse(climbing.add(rate));
        }
        assertTrue(climbing.add(rate * 1.02));
        assertEquals(BenchTiming.MAX_RUNS, climbing.count());
    }

    @Test
    void theTableShowsTheSpreadInPercentAndMarksAnUnsettledWarmUp() {
        Bench.Case cs = Bench.Case.plain("cross-entropy", 256, 1000);
        assertEquals("3.1%", new Bench.Row(cs, "panama", 1.1, 0, 0.0312, true).spreadText());
        assertEquals("100.0%*", new Bench.Row(cs, "panama", 1.1, 0, 0.99996, false).spreadText());
    }

    @Test
    void theUpperDecileIgnoresTheSamplesTheSchedulerInterrupted() {
        double[] samples = {1.1, 0.4, 1.1, 0.5, 0.3, 1.12, 0.6, 0.45, 1.09, 0.5, 5.0, 0};
        assertEquals(1.1, BenchTiming.upperDecile(samples, 10)); // rank 9 of 10: one below the best
        assertEquals(1.12, BenchTiming.upperDecile(samples, 11)); // rank 10 of 11: not the lucky 5.0
        assertEquals(1.1, BenchTiming.upperDecile(samples, 1));
        assertEquals(1.1, BenchTiming.upperDecile(samples, 3));
        assertThrows(IllegalArgumentException.class, () -> BenchTiming.upperDecile(samples, 0));
        assertEquals(1.1, samples[0]); // the samples are left as they were
    }
}
