package dev.vecloss.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The parsed command line: the command (a loss name or {@code bench}), its options as
 * {@code --name value} or {@code --name=value}, and the global flags {@code -v}/{@code --verbose}
 * and {@code -h}/{@code --help}, which may stand anywhere. Which options a command accepts is
 * checked by {@link #requireOnly}; values are converted by the typed getters, whose errors name
 * the option.
 */
final class Args {
    final String command;
    final boolean verbose;
    final boolean help;
    private final Map<String, String> options;

    private Args(String command, boolean verbose, boolean help, Map<String, String> options) {
        this.command = command;
        this.verbose = verbose;
        this.help = help;
        this.options = options;
    }

    static Args parse(String[] argv) throws CliError {
        String command = null;
        boolean verbose = false;
        boolean help = false;
        Map<String, String> options = new LinkedHashMap<>();
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
                        } else if (i + 1 < argv.length) {
                            value = argv[++i];
                        } else {
                            throw new CliError(name + " needs a value");
                        }
                        if (options.putIfAbsent(name, value) != null) {
                            throw new CliError(name + " is given twice");
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
        return new Args(command, verbose, help, options);
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

    boolean has(String name) {
        return options.containsKey(name);
    }

    String string(String name, String fallback) {
        return options.getOrDefault(name, fallback);
    }

    String required(String name, String what) throws CliError {
        String v = options.get(name);
        if (v == null) {
            throw new CliError(command + " needs " + name + " " + what);
        }
        if (v.isEmpty()) {
            throw new CliError(name + " is empty");
        }
        return v;
    }

    long longValue(String name, long fallback) throws CliError {
        String v = options.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            return Long.parseLong(v.strip());
        } catch (NumberFormatException e) {
            throw new CliError(name + ": '" + v + "' is not an integer");
        }
    }

    /** An int at least {@code min}. */
    int intValue(String name, int fallback, int min) throws CliError {
        long v = longValue(name, fallback);
        if (v < min || v > Integer.MAX_VALUE) {
            throw new CliError(name + ": " + v + " is out of range (at least " + min + ")");
        }
        return (int) v;
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

    /** One of {@code choices}. */
    String choice(String name, String fallback, String... choices) throws CliError {
        String v = options.getOrDefault(name, fallback);
        for (String c : choices) {
            if (c.equals(v)) {
                return v;
            }
        }
        throw new CliError(name + ": '" + v + "' is not one of " + String.join(", ", choices));
    }
}
