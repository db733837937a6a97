package dev.vecloss.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;

/**
 * One command of the command line, everything about it in one value: its name, its options, its
 * help text and what it does. {@link Commands#ALL} lists them; {@link Main} looks a command up by
 * name, checks the options given against {@link #options} (unknown and missing required ones),
 * prints {@link #help()} for {@code --help}, and calls {@link #runner}.
 *
 * @param name the name typed after {@code vecloss} ({@code cross-entropy})
 * @param summary one line for the main help: what it computes
 * @param options every option it takes, in the order of its help
 * @param notes paragraphs printed after the options in its help (may be empty)
 * @param runner what it does
 */
record Command(String name, String summary, List<Option> options, String notes, Runner runner) {

    Command {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(summary, "summary");
        options = List.copyOf(options);
        Objects.requireNonNull(notes, "notes");
        Objects.requireNonNull(runner, "runner");
        Set<String> seen = new LinkedHashSet<>();
        for (Option o : options) {
            if (!seen.add(o.name())) {
                throw new IllegalArgumentException(name + ": option " + o.name() + " declared twice");
            }
        }
    }

    /** What a command does with one run's arguments. */
    @FunctionalInterface
    interface Runner {
        void run(Call call) throws CliError;
    }

    /**
     * What a value stands for: a plain value, a {@code .npy} file to read, or one to write; or a
     * flag, an option that needs no value ({@code --log-target} alone is true, see
     * {@link Args#parse(String[], Set)}).
     */
    enum Kind {
        VALUE,
        INPUT_FILE,
        OUTPUT_FILE,
        FLAG
    }

    /**
     * One option, {@code --name PLACEHOLDER}.
     *
     * @param name with its dashes: {@code --ignore-index}
     * @param placeholder the value's name in the help: {@code I}; empty for a flag
     * @param kind a value, or a file read or written (loss commands open and check files by kind)
     * @param required whether the command refuses to run without it (it is then in the usage line)
     * @param help one or more lines ({@code \n} separated) for the help
     * @param defaultValue the value when the option is not given, as typed, or null for none;
     *        the help shows it
     * @param choices the only values accepted, or empty for any
     */
    record Option(String name, String placeholder, Kind kind, boolean required, String help, String defaultValue,
            List<String> choices) {
        Option {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(placeholder, "placeholder");
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(help, "help");
            choices = List.copyOf(choices);
            if (!name.startsWith("--")) {
                throw new IllegalArgumentException("option " + name + " must start with --");
            }
            if (defaultValue != null && !choices.isEmpty() && !choices.contains(defaultValue)) {
                throw new IllegalArgumentException(name + ": default " + defaultValue + " is not a choice");
            }
        }

        static Option value(String name, String placeholder, String help, String defaultValue) {
            return new Option(name, placeholder, Kind.VALUE, false, help, defaultValue, List.of());
        }

        static Option choice(String name, String placeholder, String help, String defaultValue, String... choices) {
            return new Option(name, placeholder, Kind.VALUE, false, help, defaultValue, List.of(choices));
        }

        static Option input(String name, String placeholder, String help, boolean required) {
            return new Option(name, placeholder, Kind.INPUT_FILE, required, help, null, List.of());
        }

        static Option output(String name, String placeholder, String help) {
            return new Option(name, placeholder, Kind.OUTPUT_FILE, false, help, null, List.of());
        }

        /** A flag: off unless given; {@code --name}, {@code --name true|false} or {@code --name=true|false}. */
        static Option flag(String name, String help) {
            return new Option(name, "", Kind.FLAG, false, help, null, List.of());
        }

        /** This option with other help lines (the same option means other things in other commands). */
        Option withHelp(String otherHelp) {
            return new Option(name, placeholder, kind, required, otherHelp, defaultValue, choices);
        }
    }

    /**
     * One run of a command: its arguments and streams.
     *
     * @param command the command run
     * @param args the parsed command line, already checked against the command's options
     * @param out standard output: results only
     * @param err standard error: {@code vecloss: } lines only
     * @param stdoutProblem why standard output failed, when known (else null)
     * @param terminal whether stderr is a terminal, and the clock, for {@link Progress}; null:
     *        found out when needed ({@link Progress.Terminal#detect()})
     */
    record Call(Command command, Args args, PrintStream out, PrintStream err, Supplier<String> stdoutProblem,
            Progress.Terminal terminal) {
        /** A call whose stderr is a terminal as {@link Progress.Terminal#detect()} finds it, if asked. */
        Call(Command command, Args args, PrintStream out, PrintStream err, Supplier<String> stdoutProblem) {
            this(command, args, out, err, stdoutProblem, null);
        }

        /**
         * Flushes standard output and fails if anything written to it was lost (a full disk, a
         * closed pipe): PrintStream swallows write errors, so a result that never arrived would
         * otherwise end in exit status 0.
         */
        void flushOut() throws CliError {
            flush(out, stdoutProblem);
        }

        /** {@link #flushOut()} for a stream outside a command's run (the main help). */
        static void flush(PrintStream out, Supplier<String> stdoutProblem) throws CliError {
            out.flush();
            if (out.checkError()) {
                String why = stdoutProblem.get();
                throw new CliError("cannot write the result to standard output" + (why == null ? "" : ": " + why));
            }
        }
    }

    /** The names of all options, for {@link Args#requireOnly}. */
    Set<String> optionNames() {
        Set<String> names = new LinkedHashSet<>();
        for (Option o : options) {
            names.add(o.name());
        }
        return names;
    }

    /** The option called {@code name}; a name not declared is a bug in the command. */
    Option option(String name) {
        for (Option o : options) {
            if (o.name().equals(name)) {
                return o;
            }
        }
        throw new IllegalArgumentException(this.name + " has no option " + name);
    }

    /** {@code vecloss NAME --required VALUE ... [OPTIONS]}. */
    String usage() {
        StringBuilder sb = new StringBuilder("usage: vecloss ").append(name);
        for (Option o : options) {
            if (o.required()) {
                sb.append(' ').append(o.name()).append(' ').append(o.placeholder());
            }
        }
        if (options.stream().anyMatch(o -> !o.required())) {
            sb.append(" [OPTIONS]");
        }
        return sb.toString();
    }

    /** Width of the option column of the help. */
    private static final int COLUMN = 25;

    /** The {@code --help} text: usage, summary, one entry per option, the notes. */
    String help() {
        StringBuilder sb = new StringBuilder(usage()).append("\n\n").append(summary).append("\n\n");
        for (Option o : options) {
            String head = "  " + o.name() + (o.placeholder().isEmpty() ? "" : " " + o.placeholder());
            List<String> lines = new ArrayList<>(List.of(o.help().split("\n")));
            if (!o.choices().isEmpty() && !o.help().contains(o.choices().get(0))) {
                lines.set(0, String.join(", ", o.choices()) + "; " + lines.get(0));
            }
            if (o.required()) {
                lines.set(lines.size() - 1, lines.getLast() + "  (required)");
            } else if (o.defaultValue() != null) {
                lines.set(lines.size() - 1, lines.getLast() + "  (default: " + o.defaultValue() + ")");
            }
            sb.append(head.length() < COLUMN ? head + " ".repeat(COLUMN - head.length()) : head + "\n" + " ".repeat(COLUMN));
            sb.append(lines.get(0)).append('\n');
            for (String more : lines.subList(1, lines.size())) {
                sb.append(" ".repeat(COLUMN)).append(more).append('\n');
            }
        }
        if (!notes.isEmpty()) {
            sb.append('\n').append(notes.strip()).append('\n');
        }
        return sb.toString();
    }
}
