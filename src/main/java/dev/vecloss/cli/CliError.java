package dev.vecloss.cli;

/**
 * A problem the user can fix: an unknown option, a missing file, a bad label... {@link Main}
 * prints its message as the single {@code vecloss: } line on stderr and exits with status 2.
 * The message names the problem and where it is (option, file, index); it has no prefix.
 */
final class CliError extends Exception {
    private static final long serialVersionUID = 1L;

    CliError(String message) {
        super(message, null, false, false);
    }
}
