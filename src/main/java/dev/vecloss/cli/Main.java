package dev.vecloss.cli;

import dev.vecloss.internal.KernelProvider;
import java.io.PrintStream;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * The {@code vecloss} command line (shared/spec/CLI.md): {@code vecloss LOSS [OPTIONS]}.
 *
 * <p>Stdout carries the reduced loss and nothing else; stderr carries only {@code vecloss: }
 * lines. Every failure is one such line and exit status 2, never a stack trace; 0 means
 * success. {@link #run} does the work and returns the status, so tests call it in-process;
 * only {@link #main} exits the JVM.
 */
public final class Main {
    /** Losses of CLI.md's table that this version does not evaluate yet. */
    static final List<String> NOT_YET = List.of("binary-cross-entropy", "binary-cross-entropy-with-logits",
            "sigmoid-focal-loss", "softmax-focal-loss", "hinge", "squared-hinge", "multi-margin-loss", "kl-div",
            "dice-loss", "jaccard-loss", "tversky-loss", "lovasz-loss", "class-weights");

    static final String ABSENT_NOTICE = "jdk.incubator.vector is absent; using the scalar kernels";

    /**
     * The library logs through System.Logger, which defaults to java.util.logging; held strongly
     * so that the level set here is not lost to garbage collection of the logger.
     */
    private static final Logger LIBRARY_LOG = Logger.getLogger("dev.vecloss");

    private Main() {}

    public static void main(String[] args) {
        int status = run(args, System.out, System.err);
        System.out.flush();
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
     * @return the exit status: 0 on success, 2 on any error (reported as one line on {@code err})
     */
    public static int run(String[] argv, PrintStream out, PrintStream err) {
        Level level = LIBRARY_LOG.getLevel();
        boolean parents = LIBRARY_LOG.getUseParentHandlers();
        Handler verboseHandler = null;
        try {
            Args args = Args.parse(argv);
            if (args.verbose) {
                verboseHandler = new PrefixHandler(err);
                LIBRARY_LOG.addHandler(verboseHandler);
                LIBRARY_LOG.setLevel(Level.ALL);
            } else {
                LIBRARY_LOG.setLevel(Level.OFF);
            }
            LIBRARY_LOG.setUseParentHandlers(false);
            return dispatch(args, out, err);
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

    private static int dispatch(Args args, PrintStream out, PrintStream err) throws CliError {
        if (args.command == null) {
            if (args.help) {
                out.print(Usage.MAIN);
                return 0;
            }
            throw new CliError("no loss given: vecloss LOSS [OPTIONS] (see vecloss --help)");
        }
        String cmd = args.command;
        if (NOT_YET.contains(cmd)) {
            throw new CliError(cmd + " is not implemented yet");
        }
        if (!cmd.equals("cross-entropy") && !cmd.equals("nll-loss") && !cmd.equals("bench")) {
            throw new CliError("unknown loss '" + cmd + "' (see vecloss --help)");
        }
        if (args.help) {
            out.print(switch (cmd) {
                case "cross-entropy" -> Usage.CROSS_ENTROPY;
                case "nll-loss" -> Usage.NLL;
                default -> Usage.BENCH;
            });
            return 0;
        }
        if (args.verbose) {
            err.println("vecloss: " + oneLine(KernelProvider.description()));
        }
        switch (cmd) {
            case "bench" -> new Bench(out, err).run(args);
            case "nll-loss" -> new LossCommand(true).run(args, out);
            default -> new LossCommand(false).run(args, out);
        }
        // Said once, and only on success: an error is exactly one line.
        if (KernelProvider.vectorModuleAbsent()) {
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
            if (msg != null && !msg.equals(KernelProvider.description())) { // that one -v prints itself
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
}
