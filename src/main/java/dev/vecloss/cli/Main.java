package dev.vecloss.cli;

import dev.vecloss.Kernels;
import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.function.Supplier;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * The {@code vecloss} command line (shared/spec/CLI.md): {@code vecloss LOSS [OPTIONS]}.
 *
 * <p>Stdout carries the reduced loss and nothing else; stderr carries only {@code vecloss: }
 * lines. Every failure is one such line and exit status 2, never a stack trace; 0 means
 * success, which includes the result having reached stdout. {@link #run} does the work and
 * returns the status, so tests call it in-process; only {@link #main} exits the JVM. The
 * commands themselves are in {@link Commands}.
 */
public final class Main {
    static final String ABSENT_NOTICE = "jdk.incubator.vector is absent; using the scalar kernels";
    static final String SCALAR_ONLY_NOTE = "scalar kernels: bin/vecloss started the JVM without the Vector API module,"
            + " as this input runs on the scalar kernels for its size";

    /**
     * The library logs through System.Logger, which defaults to java.util.logging; held strongly
     * so that the level set here is not lost to garbage collection of the logger.
     */
    private static final Logger LIBRARY_LOG = Logger.getLogger("dev.vecloss");

    private Main() {}

    /**
     * Runs one command line on the process's streams and exits with its status.
     *
     * @param args the command line
     */
    public static void main(String[] args) {
        // Stdout through a stream that keeps the reason of a failed write (PrintStream keeps only
        // a flag), so "no space left on device" or "broken pipe" can be said.
        ReasonKeepingStream stdout = new ReasonKeepingStream(new FileOutputStream(FileDescriptor.out));
        PrintStream out = new PrintStream(new BufferedOutputStream(stdout, 1 << 16), false, System.out.charset());
        int status = run(args, out, System.err, stdout::reason);
        out.flush();
        System.err.flush();
        // The JDK logs Runtime.exit with a stack trace at FINE: keep it out even when a user's
        // logging.properties turns everything on.
        Logger exitLog = Logger.getLogger("java.lang.Runtime");
        exitLog.setLevel(Level.OFF);
        System.exit(status);
    }

    /**
     * Runs one command line.
     *
     * @param argv the command line
     * @param out where the result goes; a write error on it is an error of the command
     * @param err where the {@code vecloss: } lines go
     * @return the exit status: 0 on success, 2 on any error (reported as one line on {@code err})
     */
    public static int run(String[] argv, PrintStream out, PrintStream err) {
        return run(argv, out, err, () -> null);
    }

    /** {@link #run(String[], PrintStream, PrintStream)}, told why {@code out} failed, when it did. */
    static int run(String[] argv, PrintStream out, PrintStream err, Supplier<String> stdoutProblem) {
        return run(argv, out, err, stdoutProblem, null);
    }

    /**
     * {@link #run(String[], PrintStream, PrintStream, Supplier)} with stderr taken to be a terminal
     * or not as {@code terminal} says (tests of the progress line), or as
     * {@link Progress.Terminal#detect()} finds it when null.
     */
    static int run(String[] argv, PrintStream out, PrintStream err, Supplier<String> stdoutProblem,
            Progress.Terminal terminal) {
        Level level = LIBRARY_LOG.getLevel();
        boolean parents = LIBRARY_LOG.getUseParentHandlers();
        Handler verboseHandler = null;
        try {
            Args args = Args.parse(argv, Commands.flagNames());
            if (args.verbose) {
                verboseHandler = new PrefixHandler(err);
                LIBRARY_LOG.addHandler(verboseHandler);
                LIBRARY_LOG.setLevel(Level.ALL);
            } else {
                LIBRARY_LOG.setLevel(Level.OFF);
            }
            LIBRARY_LOG.setUseParentHandlers(false);
            return dispatch(args, out, err, stdoutProblem, terminal);
        } catch (CliError e) {
            err.println("vecloss: " + oneLine(e.getMessage()));
            return 2;
        } catch (RuntimeException | Error e) {
            // A bug or a resource limit (out of memory, ...): still one line, no stack trace.
            err.println("vecloss: internal error: " + oneLine(String.valueOf(e)));
            return 2;
        } finally {
            if (verboseHandler != null) {
                LIBRARY_LOG.removeHandler(verboseHandler);
            }
            LIBRARY_LOG.setLevel(level);
            LIBRARY_LOG.setUseParentHandlers(parents);
            out.flush();
            err.flush();
        }
    }

    private static int dispatch(Args args, PrintStream out, PrintStream err, Supplier<String> stdoutProblem,
            Progress.Terminal terminal) throws CliError {
        if (args.command == null) {
            if (args.help) {
                out.print(Commands.mainHelp());
                Command.Call.flush(out, stdoutProblem);
                return 0;
            }
            throw new CliError("no loss given: vecloss LOSS [OPTIONS] (see vecloss --help)");
        }
        Command cmd = Commands.find(args.command);
        Command.Call call = new Command.Call(cmd, args, out, err, stdoutProblem, terminal);
        if (args.help) {
            out.print(cmd.help());
            call.flushOut();
            return 0;
        }
        args.requireOnly(cmd.optionNames());
        args.requirePresent(cmd);
        // A bad -Dvecloss.impl or -Dvecloss.vectorBits makes every library call throw: one clean
        // line first. Checked without selecting the kernels, which would load the Panama ones
        // that a small input does not use (KernelChoice).
        KernelChoice.checkProperties();
        boolean scalarOnly = KernelChoice.launcherScalarOnly();
        if (args.verbose) {
            err.println("vecloss: " + (scalarOnly ? SCALAR_ONLY_NOTE : oneLine(Kernels.description())));
        }
        cmd.runner().run(call);
        call.flushOut();
        // Said once, and only on success: an error is exactly one line. Not when the launcher
        // left the module out for an input that runs on the scalar kernels anyway.
        if (Kernels.vectorModuleAbsent() && !scalarOnly) {
            err.println("vecloss: " + ABSENT_NOTICE);
        }
        return 0;
    }

    static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
    }

    /** With {@code -v}: the library's log records as {@code vecloss: } lines on stderr. */
    private static final class PrefixHandler extends Handler {
        private final PrintStream err;

        PrefixHandler(PrintStream err) {
            this.err = err;
            setLevel(Level.ALL);
        }

        @Override
        public void publish(LogRecord r) {
            String msg = r.getMessage();
            if (msg != null && !msg.equals(Kernels.description())) { // that one -v prints itself
                err.println("vecloss: " + oneLine(msg));
            }
        }

        @Override
        public void flush() {
            err.flush();
        }

        @Override
        public void close() {}
    }

    /** An output stream that remembers the message of its first failed write. */
    static final class ReasonKeepingStream extends FilterOutputStream {
        private volatile String reason;

        ReasonKeepingStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            try {
                out.write(b);
            } catch (IOException e) {
                keep(e);
                throw e;
            }
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            try {
                out.write(b, off, len);
            } catch (IOException e) {
                keep(e);
                throw e;
            }
        }

        @Override
        public void flush() throws IOException {
            try {
                out.flush();
            } catch (IOException e) {
                keep(e);
                throw e;
            }
        }

        private void keep(IOException e) {
            if (reason == null) {
                reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            }
        }

        /** The first failure's message, or null. */
        String reason() {
            return reason;
        }
    }
}
