package dev.vecloss.npy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The temporary files of the writes in progress, deleted by a shutdown hook when the JVM stops
 * before they are renamed into place or deleted: on SIGINT, SIGTERM or SIGHUP, or a call to
 * {@code System.exit} from another thread. (SIGKILL and a crash of the JVM run no hook: nothing
 * can clean up then.)
 *
 * <p>One lock orders the three things that touch the file system: creating a temporary file
 * (which registers it in the same step), renaming a batch of them into place (which deregisters
 * them in the same step), and the hook. Once the hook has run, no temporary file is created or
 * renamed any more. So a signal leaves every destination of a batch either as it was or as
 * written, never a mix, and never a temporary file; and the hook never deletes a file that has
 * been renamed, since the temporary name is gone from the registry by then. Writing the data
 * happens outside the lock: a hook that runs meanwhile deletes the file under the writer, whose
 * later rename then fails.
 */
final class Temporaries {
    private static final Object LOCK = new Object();
    /** Created and neither renamed nor deleted yet. Guarded by {@link #LOCK}. */
    private static final Set<Path> LIVE = new LinkedHashSet<>();
    /** Guarded by {@link #LOCK}. */
    private static boolean hookAdded;
    /** Set by the hook; guarded by {@link #LOCK}. */
    private static boolean shutDown;

    /** Longest name part taken from the destination, in UTF-8 bytes (a file name has at most 255). */
    private static final int MAX_NAME_BYTES = 200;

    private Temporaries() {}

    /**
     * Creates a new, empty, hidden file {@code .NAME.<16 hex digits>.tmp} in {@code dir}, with
     * {@code attrs}, and registers it for deletion at shutdown. The name is new (the creation
     * fails rather than open an existing file or follow a link planted there).
     *
     * @throws IOException if it cannot be created, or the JVM is shutting down
     */
    static Path create(Path dir, String name, FileAttribute<?>... attrs) throws IOException {
        String base = shorten(name);
        synchronized (LOCK) {
            refuseAfterShutdown();
            addHook();
            for (int attempt = 0; ; attempt++) {
                String random = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
                Path tmp = dir.resolve("." + base + "." + random + ".tmp");
                try {
                    Files.createFile(tmp, attrs);
                } catch (FileAlreadyExistsException e) {
                    if (attempt == 8) {
                        throw e;
                    }
                    continue;
                }
                LIVE.add(tmp);
                return tmp;
            }
        }
    }

    /**
     * Renames {@code temporaries[i]} over {@code destinations[i]}, in order, atomically each,
     * as one step with respect to the shutdown hook. If a rename fails, the ones before it
     * stand (they cannot be undone) and the exception says which failed; the rest stay
     * registered, for the caller to delete.
     *
     * @return how many were renamed (all of them, unless an exception is thrown)
     * @throws IOException from the first failed rename, or if the JVM is shutting down (then
     *         none was renamed)
     */
    static int rename(List<Path> temporaries, List<Path> destinations) throws IOException {
        synchronized (LOCK) {
            refuseAfterShutdown();
            for (int i = 0; i < temporaries.size(); i++) {
                Files.move(temporaries.get(i), destinations.get(i), StandardCopyOption.ATOMIC_MOVE,
                        StandardCopyOption.REPLACE_EXISTING);
                LIVE.remove(temporaries.get(i));
            }
            return temporaries.size();
        }
    }

    /** Deletes a temporary file (if it is still there) and forgets it; the hook retries a failure. */
    static void delete(Path tmp) throws IOException {
        synchronized (LOCK) {
            Files.deleteIfExists(tmp);
            LIVE.remove(tmp);
        }
    }

    /** The temporary files not yet renamed or deleted, for tests. */
    static List<Path> live() {
        synchronized (LOCK) {
            return new ArrayList<>(LIVE);
        }
    }

    private static void refuseAfterShutdown() throws IOException {
        if (shutDown) {
            throw new IOException("the JVM is shutting down");
        }
    }

    private static void addHook() throws IOException {
        if (hookAdded) {
            return;
        }
        try {
            Runtime.getRuntime().addShutdownHook(new Thread(Temporaries::deleteAll, "vecloss-npy-cleanup"));
        } catch (IllegalStateException e) {
            throw new IOException("the JVM is shutting down", e);
        }
        hookAdded = true;
    }

    /** The shutdown hook: deletes every registered file; from now on none is created or renamed. */
    private static void deleteAll() {
        synchronized (LOCK) {
            shutDown = true;
            for (Path tmp : LIVE) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException | RuntimeException e) {
                    // Nothing to report to at shutdown; the next one is still worth trying.
                }
            }
            LIVE.clear();
        }
    }

    /** {@code name} cut, at a character boundary, to {@link #MAX_NAME_BYTES} bytes of UTF-8. */
    private static String shorten(String name) {
        if (name.getBytes(StandardCharsets.UTF_8).length <= MAX_NAME_BYTES) {
            return name;
        }
        int bytes = 0;
        int end = 0;
        while (end < name.length()) {
            int cp = name.codePointAt(end);
            int len = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8).length;
            if (bytes + len > MAX_NAME_BYTES) {
                break;
            }
            bytes += len;
            end += Character.charCount(cp);
        }
        return name.substring(0, end);
    }
}
