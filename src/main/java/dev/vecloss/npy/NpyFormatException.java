package dev.vecloss.npy;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A {@code .npy} file whose content cannot be read: bad magic or version, a malformed
 * header, an unsupported dtype, Fortran order, or a data section that does not match the
 * shape. The message is {@code "<file>: <problem>"}, ready to show to a user.
 */
public final class NpyFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    NpyFormatException(Path file, String problem) {
        super(file + ": " + problem);
    }

    NpyFormatException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
    }
}
