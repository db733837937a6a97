package dev.vecloss.cli;

import dev.vecloss.DType;
import dev.vecloss.Kernels;
import dev.vecloss.Reduction;
import dev.vecloss.Tensor;
import dev.vecloss.npy.Npy;
import dev.vecloss.npy.NpyArray;
import dev.vecloss.npy.NpyFormatException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.function.UnaryOperator;

/**
 * The files of one run of a loss command, from the command's declaration: every
 * {@link Command.Kind#INPUT_FILE} option given is read (memory-mapped), every
 * {@link Command.Kind#OUTPUT_FILE} option given is written at the end, all or none.
 *
 * <p>{@link #open} checks everything about the paths before anything is read or computed: each
 * output can be written ({@link Npy#destination}: its folder exists, it is not a directory, a
 * FIFO or a device), no output is the same file as an input or as another output (compared as
 * files, {@link Files#isSameFile}, so another spelling of the path, a symbolic link or a hard link
 * is seen), and each input is a regular file before it is opened (a FIFO would block the open).
 * Then {@link #finish} writes every output to its temporary file, prints the value, and only
 * then renames them into place: an error at any point leaves every existing file as it was.
 */
final class LossFiles implements AutoCloseable {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Command.Call call;
    /** Input options read from these paths rather than their values (an expanded pattern). */
    private final Map<String, Path> resolved;
    /** Input options not read here (the shards, read one pair at a time by {@link Shards}). */
    private final Set<String> skipped;
    /** Input option to its path, as given; in the command's order. */
    private final Map<String, Path> inputPaths = new LinkedHashMap<>();
    private final Map<String, NpyArray> inputs = new LinkedHashMap<>();
    /** Output option to its path, as given. */
    private final Map<String, Path> outputPaths = new LinkedHashMap<>();
    private final Map<String, Tensor> outputs = new LinkedHashMap<>();
    /** Output option to the file it will replace ({@link Npy#destination}). */
    private final Map<String, Path> destinations = new LinkedHashMap<>();
    /** The outputs' buffers and converted copies of inputs. */
    private final Arena arena = Arena.ofShared();

    private LossFiles(Command.Call call, Map<String, Path> resolved, Set<String> skipped) {
        this.call = call;
        this.resolved = resolved;
        this.skipped = skipped;
    }

    /**
     * A loss's public API call on one run's operands: {@code input} and {@code target} as read,
     * the other inputs (weights) from {@code files}, and the output buffers, null when their
     * option is not given.
     */
    @FunctionalInterface
    interface Evaluation {
        double apply(LossFiles files, Tensor input, Tensor target, Tensor losses, Tensor grad) throws CliError;
    }

    /**
     * The run of a loss command once its options are read: checks that {@code none} has an
     * {@code --output}, opens the files ({@link #open}), makes the float32 buffers of
     * {@code --output} (shape {@code lossShape} of the input's) and {@code --grad} (the input's
     * shape), calls {@code evaluation} (with the scalar kernels for a small input,
     * {@link KernelChoice}), whose library errors become errors naming the files, and
     * writes the outputs and prints the value unless the reduction is {@code none}
     * ({@link #finish}). The library checks everything before it writes into the buffers.
     */
    static void evaluate(Command.Call call, Reduction reduction, UnaryOperator<long[]> lossShape, Evaluation evaluation)
            throws CliError {
        evaluate(call, reduction, lossShape, evaluation, null);
    }

    /**
     * {@link #evaluate(Command.Call, Reduction, UnaryOperator, Evaluation)}, or, when
     * {@code --input} and {@code --target} name several files ({@link Shards}), their run
     * through the loss's accumulator made by {@code accumulating} (null for a command that takes
     * one file of each).
     */
    static void evaluate(Command.Call call, Reduction reduction, UnaryOperator<long[]> lossShape, Evaluation evaluation,
            Shards.Accumulating accumulating) throws CliError {
        Shards shards = Shards.of(call);
        if (!shards.single()) {
            if (accumulating == null) {
                throw oneFileOnly(call, shards.size());
            }
            shards.evaluate(call, reduction, accumulating);
            return;
        }
        LossOptions.requireOutputForNone(call.command(), reduction, call.args());
        try (LossFiles files = open(call, Map.of("--input", shards.input(0), "--target", shards.target(0)), Set.of())) {
            Tensor x = files.input("--input");
            Tensor target = files.input("--target");
            // Outputs are float32 (CLI.md), in PyTorch's shapes; the library checks them too.
            Tensor losses = files.output("--output", DType.FLOAT32, lossShape.apply(x.shape()));
            Tensor grad = files.output("--grad", DType.FLOAT32, x.shape());
            double value;
            Kernels.Implementation impl = KernelChoice.forShape(x.shape());
            if (impl != null && call.args().verbose) {
                call.err().println("vecloss: " + impl.name().toLowerCase(Locale.ROOT) + " kernels for this input ("
                        + "fewer than " + KernelChoice.SCALAR_BELOW + " elements, see vecloss --help)");
            }
            try {
                value = impl == null ? evaluation.apply(files, x, target, losses, grad)
                        : Kernels.callWith(impl, () -> evaluation.apply(files, x, target, losses, grad));
            } catch (IllegalArgumentException e) {
                throw files.failure(e);
            }
            files.finish(reduction == Reduction.NONE ? null : value);
        }
    }

    /**
     * Checks the file options of {@code call} (see the class comment) and reads the inputs.
     *
     * @throws CliError naming the option and the path for the first problem found
     */
    static LossFiles open(Command.Call call) throws CliError {
        Map<String, Path> resolved = new LinkedHashMap<>();
        for (String option : Args.LISTS) {
            if (call.command().optionNames().contains(option) && call.args().has(option)) {
                List<Path> files = Shards.expand(option, call.args().values(option));
                if (files.size() != 1) {
                    throw oneFileOnly(call, files.size());
                }
                resolved.put(option, files.get(0));
            }
        }
        return open(call, resolved, Set.of());
    }

    /** {@link #open(Command.Call)} without reading the input options in {@code skipped}. */
    static LossFiles open(Command.Call call, Set<String> skipped) throws CliError {
        return open(call, Map.of(), skipped);
    }

    private static CliError oneFileOnly(Command.Call call, int n) {
        return new CliError(call.command().name() + " takes one --input and one --target file, not " + n
                + " (several shards: the losses with a mean or a sum, see vecloss --help)");
    }

    private static LossFiles open(Command.Call call, Map<String, Path> resolved, Set<String> skipped) throws CliError {
        LossFiles files = new LossFiles(call, resolved, skipped);
        try {
            files.checkAndRead();
            return files;
        } catch (CliError | RuntimeException | Error e) {
            files.close();
            throw e;
        }
    }

    private void checkAndRead() throws CliError {
        Args args = call.args();
        for (Command.Option o : call.command().options()) {
            String value = args.fileName(o.name());
            if (value == null || skipped.contains(o.name())) {
                continue;
            }
            Path path = resolved.containsKey(o.name()) ? resolved.get(o.name()) : path(o.name(), value);
            if (o.kind() == Command.Kind.INPUT_FILE) {
                inputPaths.put(o.name(), path);
            } else if (o.kind() == Command.Kind.OUTPUT_FILE) {
                outputPaths.put(o.name(), path);
                try {
                    destinations.put(o.name(), Npy.destination(path));
                } catch (IOException e) {
                    throw new CliError(o.name() + " " + path + ": " + describe(e));
                }
            }
        }
        List<String> outs = new ArrayList<>(destinations.keySet());
        for (int i = 0; i < outs.size(); i++) {
            String out = outs.get(i);
            Path dest = destinations.get(out);
            for (Map.Entry<String, Path> in : inputPaths.entrySet()) {
                if (sameFile(dest, in.getValue())) {
                    throw new CliError(out + " " + outputPaths.get(out) + " is the same file as " + in.getKey() + " "
                            + in.getValue() + ": an output may not replace an input");
                }
            }
            for (String other : outs.subList(0, i)) {
                if (sameDestination(destinations.get(other), dest)) {
                    throw new CliError(other + " " + outputPaths.get(other) + " and " + out + " " + outputPaths.get(out)
                            + " name the same file");
                }
            }
        }
        for (Map.Entry<String, Path> in : inputPaths.entrySet()) {
            inputs.put(in.getKey(), read(in.getKey(), in.getValue()));
        }
    }

    /**
     * Fails if an output would replace one of {@code shards}, files of input {@code option} that
     * are read later, one at a time ({@link Shards}), and so not among the inputs checked by
     * {@link #open}.
     */
    void refuseReplacing(String option, List<Path> shards) throws CliError {
        for (Map.Entry<String, Path> d : destinations.entrySet()) {
            for (Path p : shards) {
                if (sameFile(d.getValue(), p)) {
                    throw new CliError(d.getKey() + " " + outputPaths.get(d.getKey()) + " is the same file as " + option
                            + " shard " + p + ": an output may not replace an input");
                }
            }
        }
    }

    /** Whether two existing paths are one file; a path that does not exist is no input's file. */
    private static boolean sameFile(Path a, Path b) {
        try {
            return Files.isSameFile(a, b);
        } catch (IOException | SecurityException e) {
            return false;
        }
    }

    /**
     * Whether two output destinations are one file: the same existing file, or, where neither
     * exists yet, the same name in the same folder.
     */
    private static boolean sameDestination(Path a, Path b) {
        if (sameFile(a, b)) {
            return true;
        }
        return Files.notExists(a, LinkOption.NOFOLLOW_LINKS) && Files.notExists(b, LinkOption.NOFOLLOW_LINKS)
                && a.getFileName().equals(b.getFileName()) && sameFile(a.getParent(), b.getParent());
    }

    private static NpyArray read(String option, Path file) throws CliError {
        try {
            return Npy.read(file);
        } catch (NpyFormatException e) {
            throw new CliError(option + " " + e.getMessage());
        } catch (IOException e) {
            throw new CliError(option + " " + file + ": " + describe(e));
        }
    }

    private static Path path(String option, String value) throws CliError {
        try {
            return Path.of(value);
        } catch (InvalidPathException e) {
            throw new CliError(option + ": '" + value + "' is not a valid path");
        }
    }

    /** A short reason for an I/O error: the exception's message alone is often just the path. */
    static String describe(IOException e) {
        if (e instanceof FileSystemException fse && fse.getReason() != null) {
            return fse.getReason();
        }
        if (e instanceof NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m;
    }

    /** The tensor read from input {@code option}, or null if the option was not given. */
    Tensor input(String option) {
        NpyArray a = inputs.get(option);
        return a == null ? null : a.tensor();
    }

    /**
     * The floating input {@code option} (a weight) in the dtype of the floating tensor {@code x}:
     * a float32 file serves a float64 input and vice versa, converted into a copy; null if the
     * option was not given.
     *
     * @throws CliError if the file is not float32 or float64
     */
    Tensor floatingLike(String option, Tensor x) throws CliError {
        return floatingLike(option, x.dtype());
    }

    /** {@link #floatingLike(String, Tensor)} for an input of {@code dtype}. */
    Tensor floatingLike(String option, DType dtype) throws CliError {
        Tensor w = input(option);
        if (w == null) {
            return null;
        }
        if (!w.dtype().isFloating()) {
            throw new CliError(option + " " + inputPaths.get(option) + ": must be float32 or float64, got " + w.dtype());
        }
        if (w.dtype() == dtype || !dtype.isFloating()) {
            return w;
        }
        Tensor copy = Tensor.allocate(arena, dtype, w.shape());
        for (long i = 0; i < w.numel(); i++) {
            if (dtype == DType.FLOAT64) {
                copy.segment().setAtIndex(F64, i, w.getDouble(i));
            } else {
                copy.segment().setAtIndex(F32, i, (float) w.getDouble(i));
            }
        }
        return copy;
    }

    /**
     * A zero-filled buffer for output {@code option}, written by {@link #finish}; null (and no
     * memory taken) if the option was not given.
     */
    Tensor output(String option, DType dtype, long... shape) {
        if (!outputPaths.containsKey(option)) {
            return null;
        }
        Tensor t = Tensor.allocate(arena, dtype, shape);
        outputs.put(option, t);
        return t;
    }

    /** An error of the library on these inputs, with the files named after its message. */
    CliError failure(IllegalArgumentException e) {
        StringJoiner files = new StringJoiner(", ", " (", ")");
        inputPaths.forEach((option, path) -> files.add(option + " " + path));
        return new CliError(e.getMessage() + files);
    }

    /**
     * Writes every output to its temporary file, prints {@code value} (unless null) as the one
     * line of stdout and checks it arrived, then renames the outputs into place. Any failure
     * before the renames leaves every file as it was: the user's old outputs stay intact.
     */
    void finish(Double value) throws CliError {
        finishWith(value == null ? null : Double.toString(value));
    }

    /**
     * {@link #finish(Double)} with {@code text} (lines, each ending in a newline; or null for
     * nothing) as what stdout gets: for commands that print more than one value
     * ({@code class-weights}).
     */
    void finishWith(String text) throws CliError {
        List<Npy.Prepared> prepared = new ArrayList<>(outputs.size());
        try {
            for (Map.Entry<String, Tensor> o : outputs.entrySet()) {
                Path file = outputPaths.get(o.getKey());
                try {
                    prepared.add(Npy.prepare(file, o.getValue()));
                } catch (IOException e) {
                    throw new CliError(o.getKey() + " " + file + ": cannot write: " + describe(e));
                }
            }
            if (text != null) {
                call.out().print(text.endsWith("\n") ? text : text + "\n");
            }
            call.flushOut();
            try {
                Npy.commitAll(prepared);
            } catch (IOException e) {
                throw new CliError("cannot move the outputs into place: " + e.getMessage());
            }
        } finally {
            for (Npy.Prepared p : prepared) {
                try {
                    p.close(); // deletes the temporary file of an output not committed; else nothing
                } catch (IOException e) {
                    // the shutdown hook tries again; the error already reported is the one that matters
                }
            }
        }
    }

    @Override
    public void close() {
        for (NpyArray a : inputs.values()) {
            a.close();
        }
        arena.close();
    }
}
