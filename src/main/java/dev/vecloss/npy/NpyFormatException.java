package dev.vecloss.npy;

import java.io.IOException;

/**
 * TEMPORARY stand-in written by the cli branch so it compiles; replaced by the npy branch's
 * class at merge. Malformed {@code .npy} content; the message is {@code "<file>: <problem>"}.
 */
public final class NpyFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    public NpyFormatException(String message) {
        super(message);
    }
}
