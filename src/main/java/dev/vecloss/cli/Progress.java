package dev.vecloss.cli;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * The progress line of a run over several files ({@link Shards}): on stderr, only when stderr is
 * a terminal, redrawn in place with {@code \r}: files done out of the total, elements per second
 * and the time left, for example {@code vecloss: 12/40 files, 310 M elements/s, 0:07 left}. It
 * is drawn at most {@link #INTERVAL_NANOS} apart (the first time once that much has passed, so a
 * quick run draws nothing), and erased by {@link #close()}, so the result on stdout and an error
 * line on stderr start on a clean line. When stderr is not a terminal (a file, a pipe, a test) it
 * writes nothing at all: stderr then carries only the {@code vecloss: } lines of the contract.
 */
final class Progress implements AutoCloseable {
    /** At most four redraws a second. */
    static final long INTERVAL_NANOS = 250_000_000L;

    /** The environment variable in which {@code bin/vecloss} says whether its stderr is a terminal. */
    static final String TERMINAL_ENV = "VECLOSS_STDERR_TERMINAL";

    /**
     * Whether stderr is a terminal, and the clock: injectable so that tests can see the progress
     * line and its absence.
     *
     * @param isTerminal whether to draw at all
     * @param nanoTime the clock, {@link System#nanoTime} but in tests
     */
    record Terminal(boolean isTerminal, LongSupplier nanoTime, boolean pauseAfterErase) {
        /** A terminal (or not) without the pause of {@link Progress#close()}: for tests. */
        Terminal(boolean isTerminal, LongSupplier nanoTime) {
            this(isTerminal, nanoTime, false);
        }

        /**
         * This process's: what {@code bin/vecloss} says in {@value #TERMINAL_ENV} ({@code 1} or
         * {@code 0}; the launcher sends stderr through a filter, a pipe, so the JVM cannot tell
         * by itself), else {@code System.console()}'s {@code isTerminal()} (JDK 22 and later;
         * it looks at stdin and stdout, the closest the JDK offers for stderr).
         */
        static Terminal detect() {
            String env = System.getenv(TERMINAL_ENV);
            boolean tty;
            if ("1".equals(env)) {
                tty = true;
            } else if ("0".equals(env)) {
                tty = false;
            } else {
                java.io.Console c = System.console();
                tty = c != null && c.isTerminal();
            }
            return new Terminal(tty, System::nanoTime, "1".equals(env));
        }

        /** The terminal of {@code call}: its own when set (tests), else {@link #detect()}. */
        static Terminal of(Command.Call call) {
            return call.terminal() != null ? call.terminal() : detect();
        }
    }

    private final PrintStream err;
    private final boolean enabled;
    private final LongSupplier clock;
    private final boolean pauseAfterErase;
    private final int files;
    private final long elements;
    private final long start;
    private long lastDraw;
    /** The length of the line on screen, 0 when none: what a redraw or {@link #close()} blanks out. */
    private int shown;
    /** Whether anything was drawn: every line but the first starts with {@code \r}. */
    private boolean drawn;

    /**
     * @param files the number of files (or pairs of files) of the run
     * @param elements their elements in all, for the rate and the time left
     */
    Progress(PrintStream err, Terminal terminal, int files, long elements) {
        this.err = err;
        this.enabled = terminal.isTerminal();
        this.clock = terminal.nanoTime();
        this.pauseAfterErase = terminal.pauseAfterErase();
        this.files = files;
        this.elements = elements;
        this.start = enabled ? clock.getAsLong() : 0;
        this.lastDraw = start;
    }

    /** {@code filesDone} files and {@code elementsDone} elements are done: redraws if it is time. */
    void update(int filesDone, long elementsDone) {
        if (!enabled) {
            return;
        }
        long now = clock.getAsLong();
        if (now - lastDraw < INTERVAL_NANOS) {
            return;
        }
        lastDraw = now;
        draw(line(filesDone, elementsDone, now - start));
    }

    /** The text of the line after {@code elapsed} nanoseconds. */
    String line(int filesDone, long elementsDone, long elapsed) {
        double seconds = elapsed / 1e9;
        double rate = seconds > 0 ? elementsDone / seconds : 0;
        StringBuilder sb = new StringBuilder("vecloss: ").append(filesDone).append('/').append(files).append(" files, ")
                .append(si(rate)).append(" elements/s");
        if (rate > 0 && filesDone < files) {
            sb.append(", ").append(duration(Math.max(0, elements - elementsDone) / rate)).append(" left");
        }
        return sb.toString();
    }

    private void draw(String text) {
        // Pad over the longer previous line; \r goes back to its start without a new line. The
        // first line starts with its text, so that bin/vecloss's filter sees "vecloss: " at once.
        int pad = Math.max(0, shown - text.length());
        err.print((drawn ? "\r" : "") + text + " ".repeat(pad));
        drawn = true;
        err.flush();
        shown = text.length();
    }

    /**
     * Erases the line, if one was drawn, so that what follows starts on a clean line. Through
     * {@code bin/vecloss} stderr reaches the terminal through a filter process, stdout directly:
     * a short pause after the erase lets it arrive before the result is printed (the line was
     * drawn, so the run has taken a quarter of a second at least).
     */
    @Override
    public void close() {
        if (enabled && shown > 0) {
            err.print("\r" + " ".repeat(shown) + "\r");
            err.flush();
            shown = 0;
            if (pauseAfterErase) {
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /** {@code 310 M}, {@code 4.2 G}: three significant digits at most. */
    static String si(double v) {
        String[] units = {"", " k", " M", " G", " T"};
        int u = 0;
        while (v >= 999.5 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        String num = v >= 99.5 || u == 0 ? String.format(Locale.ROOT, "%.0f", v)
                : v >= 9.95 ? String.format(Locale.ROOT, "%.1f", v) : String.format(Locale.ROOT, "%.2f", v);
        return num + (u == 0 ? "" : units[u]);
    }

    /** {@code m:ss}, or {@code h:mm:ss} from an hour. */
    static String duration(double seconds) {
        long s = (long) Math.ceil(Math.min(seconds, 1e9));
        long h = s / 3600;
        long m = s / 60 % 60;
        long r = s % 60;
        return h > 0 ? String.format(Locale.ROOT, "%d:%02d:%02d", h, m, r) : String.format(Locale.ROOT, "%d:%02d", m, r);
    }
}
