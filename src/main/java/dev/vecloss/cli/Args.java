package dev.vecloss.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The parsed command line: the command (a loss name or {@code bench}), its options as
 * {@code --name value} or {@code --name=value}, the commands' flags (options without a value,
 * such as {@code --log-target}), and the global flags {@code -v}/{@code --verbose} and
 * {@code -h}/{@code --help}, which may stand anywhere. Which options a command accepts is
 * checked by {@link #requireOnly} and {@link #requirePresent} against the command's declaration;
 * values are converted by the typed getters, which take the option's default from its
 * declaration and whose errors name the option and, for a number out of range, the range.
 *
 * <p>{@link #LISTS} ({@code --input}, {@code --target}) take several values once the command is
 * known: {@code --input a.npy b.npy c.npy} (what the shell makes of an unquoted glob) gives three,
 * up to the next argument that starts with {@code -}; {@link #values} returns them, the other
 * getters the first.
 */
final class Args {
    /** The options that take a list of values (the shards of {@link Shards}). */
    static final Set<String> LISTS = Set.of("--input", "--target");

    final String command;
    final boolean verbose;
    final boolean help;
    private final Map<String, String> options;
    /** Every value of the {@link #LISTS} options given, in order. */
    private final Map<String, List<String>> lists;

    private Args(String command, boolean verbose, boolean help, Map<String, String> options,
            Map<String, List<String>> lists) {
        this.command = command;
        this.verbose = verbose;
        this.help = help;
        this.options = options;
        this.lists = lists;
    }

    /** {@link #parse(String[], Set)} for a command line without flags. */
    static Args parse(String[] argv) throws CliError {
        return parse(argv, Set.of());
    }

    /**
     * Parses a command line.
     *
     * @param flags the options that take no value ({@link Command.Kind#FLAG}, named alike in
     *        every command that has them): {@code --flag} alone means true, and it may be set
     *        explicitly as {@code --flag=true|false} or {@code --flag true|false} (the word
     *        {@code true} or {@code false} right after it is its value, anything else is not)
     */
    static Args parse(String[] argv, Set<String> flags) throws CliError {
        String command = null;
        boolean verbose = false;
        boolean help = false;
        Map<String, String> options = new LinkedHashMap<>();
        Map<String, List<String>> lists = new LinkedHashMap<>();
        for (int i = 0; i < argv.length; i++) {
            String a = argv[i];
            switch (a) {
                case "-v", "--verbose" -> verbose = true;
                case "-h", "--help" -> help = true;
                default -> {
                    if (a.startsWith("--") && a.length() > 2) {
                        int eq = a.indexOf('=');
                        String name = eq < 0 ? a : a.substring(0, eq);
                        String value;
                        if (eq >= 0) {
                            value = a.substring(eq + 1);
                        } else if (flags.contains(name)) {
                            boolean explicit = i + 1 < argv.length
                                    && (argv[i + 1].equals("true") || argv[i + 1].equals("false"));
                            value = explicit ? argv[++i] : "true";
                        } else if (i + 1 < argv.length) {
                            value = argv[++i];
                        } else {
                            throw new CliError(name + " needs a value");
                        }
                        if (options.putIfAbsent(name, value) != null) {
                            throw new CliError(name + " is given twice");
                        }
                        if (LISTS.contains(name)) {
                            // More values up to the next option; only after the command, so that
                            // `vecloss --input x.npy cross-entropy` still reads as it did.
                            List<String> values = new ArrayList<>(List.of(value));
                            while (command != null && i + 1 < argv.length && !argv[i + 1].startsWith("-")) {
                                values.add(argv[++i]);
                            }
                            lists.put(name, values);
                        }
                    } else if (a.startsWith("-") && a.length() > 1) {
                        throw new CliError("unknown option " + a);
                    } else if (command == null) {
                        command = a;
                    } else {
                        throw new CliError("unexpected argument '" + a + "' (options start with --)");
                    }
                }
            }
        }
        return new Args(command, verbose, help, options, lists);
    }

    /**
     * Every value of a {@link #LISTS} option, in the order given (one for another option), or an
     * empty list when it is not given; an empty value is an error.
     */
    List<String> values(String name) throws CliError {
        List<String> v = lists.get(name);
        if (v == null) {
            String one = fileName(name);
            return one == null ? List.of() : List.of(one);
        }
        for (String s : v) {
            if (s.isEmpty()) {
                throw new CliError(name + " is empty");
            }
        }
        return List.copyOf(v);
    }

    /** Fails on the first option not in {@code allowed}. */
    void requireOnly(Set<String> allowed) throws CliError {
        for (String name : options.keySet()) {
            if (!allowed.contains(name)) {
                throw new CliError("unknown option " + name + " for " + command
                        + " (it takes " + String.join(", ", allowed.stream().sorted().toList()) + ")");
            }
        }
    }

    /** Fails on the first required option of {@code command} that is not given, or given empty. */
    void requirePresent(Command cmd) throws CliError {
        for (Command.Option o : cmd.options()) {
            if (o.required() && !options.containsKey(o.name())) {
                throw new CliError(command + " needs " + o.name() + " " + o.placeholder() + " (see vecloss " + command
                        + " --help)");
            }
        }
    }

    boolean has(String name) {
        return options.containsKey(name);
    }

    /** The value of a file option, or null when it is not given; an empty value is an error. */
    String fileName(String name) throws CliError {
        String v = options.get(name);
        if (v != null && v.isEmpty()) {
            throw new CliError(name + " is empty");
        }
        return v;
    }

    /** The value of {@code name}, or its default ({@code null} if none). */
    String string(Command.Option o) {
        return options.getOrDefault(o.name(), o.defaultValue());
    }

    /** A 64-bit integer: the option's value or default. */
    long longValue(Command.Option o) throws CliError {
        return longValue(o.name(), Long.parseLong(o.defaultValue()));
    }

    long longValue(String name, long fallback) throws CliError {
        return longValue(name, fallback, Long.MIN_VALUE, Long.MAX_VALUE);
    }

    /** An int in {@code [min, max]}: the option's value or default. */
    int intValue(Command.Option o, int min, int max) throws CliError {
        return intValue(o.name(), Integer.parseInt(o.defaultValue()), min, max);
    }

    /** An int in {@code [min, max]}; out of it, the error says the range. */
    int intValue(String name, int fallback, int min, int max) throws CliError {
        return (int) longValue(name, fallback, min, max);
    }

    /** A long in {@code [min, max]}; out of it (also beyond a long), the error says the range. */
    long longValue(String name, long fallback, long min, long max) throws CliError {
        String v = options.get(name);
        if (v == null) {
            return fallback;
        }
        String s = v.strip();
        long n;
        try {
            n = Long.parseLong(s);
        } catch (NumberFormatException e) {
            if (s.matches("[+-]?[0-9]+")) { // an integer beyond a long: out of any range
                throw outOfRange(name, s, min, max);
            }
            throw new CliError(name + ": '" + v + "' is not an integer");
        }
        if (n < min || n > max) {
            throw outOfRange(name, s, min, max);
        }
        return n;
    }

    private static CliError outOfRange(String name, String value, long min, long max) {
        return new CliError(name + ": " + value + " is out of range (" + min + " to " + max + ")");
    }

    /** A number: the option's value or default. */
    double doubleValue(Command.Option o) throws CliError {
        return doubleValue(o.name(), Double.parseDouble(o.defaultValue()));
    }

    double doubleValue(String name, double fallback) throws CliError {
        String v = options.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            // Java also accepts hex floats and a trailing d/f; a plain decimal is what users write.
            if (v.isBlank() || v.strip().matches(".*[dDfFxX].*") && !v.strip().matches("[+-]?(NaN|Infinity)")) {
                throw new NumberFormatException();
            }
            return Double.parseDouble(v.strip());
        } catch (NumberFormatException e) {
            throw new CliError(name + ": '" + v + "' is not a number");
        }
    }

    /** A flag's value: false when not given, true when given alone, else its {@code true} or {@code false}. */
    boolean flag(Command.Option o) throws CliError {
        String v = options.get(o.name());
        if (v == null) {
            return false;
        }
        return switch (v.strip()) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new CliError(o.name() + ": '" + v + "' is not true or false (" + o.name()
                    + " alone means true)");
        };
    }

    /** One of the option's choices: its value or default. */
    String choice(Command.Option o) throws CliError {
        String v = string(o);
        if (o.choices().contains(v)) {
            return v;
        }
        throw new CliError(o.name() + ": '" + v + "' is not one of " + String.join(", ", o.choices()));
    }
}
