package dev.vecloss.cli;

import dev.vecloss.CrossEntropy;
import dev.vecloss.DType;
import dev.vecloss.Reduction;
import dev.vecloss.Tensor;
import dev.vecloss.npy.Npy;
import dev.vecloss.npy.NpyArray;
import dev.vecloss.npy.NpyFormatException;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@code cross-entropy} and {@code nll-loss}: reads the {@code .npy} operands (memory-mapped),
 * evaluates through the public {@link CrossEntropy} API, and only then writes the requested
 * outputs and prints the reduced loss. Every check runs before the first byte is written, and
 * the library itself validates all labels before it writes into the output tensors, so an
 * error leaves no file behind.
 */
final class LossCommand {
    static final Set<String> CROSS_ENTROPY_OPTIONS = Set.of("--input", "--target", "--weight", "--ignore-index",
            "--reduction", "--label-smoothing", "--output", "--grad", "--threads");
    static final Set<String> NLL_OPTIONS = Set.of("--input", "--target", "--weight", "--ignore-index",
            "--reduction", "--output", "--grad", "--threads");

    private final boolean nll;

    LossCommand(boolean nll) {
        this.nll = nll;
    }

    /** Runs the command; prints the loss on {@code out} (nothing for {@code none}). */
    void run(Args args, PrintStream out) throws CliError {
        args.requireOnly(nll ? NLL_OPTIONS : CROSS_ENTROPY_OPTIONS);
        Path inputPath = path("--input", args.required("--input", "IN.npy (the " + (nll ? "log-probabilities" : "logits") + ")"));
        Path targetPath = path("--target", args.required("--target", "T.npy (the labels or class probabilities)"));
        Path weightPath = args.has("--weight") ? path("--weight", args.required("--weight", "")) : null;
        Path outputPath = args.has("--output") ? path("--output", args.required("--output", "")) : null;
        Path gradPath = args.has("--grad") ? path("--grad", args.required("--grad", "")) : null;
        long ignoreIndex = args.longValue("--ignore-index", -100);
        double eps = args.doubleValue("--label-smoothing", 0.0);
        int threads = args.intValue("--threads", 0, 0);
        Reduction reduction = Reduction.parse(args.choice("--reduction", "mean", "mean", "sum", "none"));
        if (reduction == Reduction.NONE && outputPath == null) {
            throw new CliError("--reduction none gives one loss per position: it needs --output FILE.npy");
        }
        if (outputPath != null && gradPath != null
                && outputPath.toAbsolutePath().normalize().equals(gradPath.toAbsolutePath().normalize())) {
            throw new CliError("--output and --grad name the same file " + outputPath);
        }
        checkWritable("--output", outputPath);
        checkWritable("--grad", gradPath);

        CrossEntropy.Options options;
        try {
            options = CrossEntropy.Options.defaults().withIgnoreIndex(ignoreIndex).withLabelSmoothing(eps)
                    .withReduction(reduction).withThreads(threads);
        } catch (IllegalArgumentException e) {
            throw new CliError("--label-smoothing: " + e.getMessage());
        }

        try (NpyArray input = read("--input", inputPath);
                NpyArray target = read("--target", targetPath);
                NpyArray weight = weightPath == null ? null : read("--weight", weightPath);
                Arena arena = Arena.ofShared()) {
            Tensor x = input.tensor();
            if (weight != null) {
                options = options.withWeight(weightLike(weight.tensor(), x, weightPath, arena));
            }
            // Outputs are float32 (CLI.md), in PyTorch's shapes; the library checks them too.
            Tensor losses = outputPath == null ? null : Tensor.allocate(arena, DType.FLOAT32, positionShape(x.shape()));
            Tensor grad = gradPath == null ? null : Tensor.allocate(arena, DType.FLOAT32, x.shape());
            double value;
            try {
                value = nll ? CrossEntropy.nllLoss(x, target.tensor(), options, losses, grad)
                        : CrossEntropy.crossEntropy(x, target.tensor(), options, losses, grad);
            } catch (IllegalArgumentException e) {
                throw new CliError(e.getMessage() + " (--input " + inputPath + ", --target " + targetPath
                        + (weightPath == null ? "" : ", --weight " + weightPath) + ")");
            }
            writeAll(outputPath, losses, gradPath, grad);
            if (reduction != Reduction.NONE) {
                out.println(Double.toString(value));
            }
        }
    }

    /** Writes the outputs; if the second fails, the first written by this run is deleted. */
    private static void writeAll(Path outputPath, Tensor losses, Path gradPath, Tensor grad) throws CliError {
        List<Path> written = new ArrayList<>(2);
        try {
            write("--output", outputPath, losses, written);
            write("--grad", gradPath, grad, written);
        } catch (CliError e) {
            for (Path p : written) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // the error already reported is the one that matters
                }
            }
            throw e;
        }
    }

    private static void write(String option, Path file, Tensor t, List<Path> written) throws CliError {
        if (file == null) {
            return;
        }
        try {
            Npy.write(file, t);
            written.add(file);
        } catch (IOException e) {
            throw new CliError(option + " " + file + ": cannot write: " + describe(e));
        }
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

    /** A short reason for an I/O error: the exception's message alone is often just the path. */
    static String describe(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof java.nio.file.FileSystemException fse && fse.getReason() != null) {
            return fse.getReason();
        }
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m;
    }

    private static Path path(String option, String value) throws CliError {
        try {
            return Path.of(value);
        } catch (InvalidPathException e) {
            throw new CliError(option + ": '" + value + "' is not a valid path");
        }
    }

    /** Fails early, before any computation, when an output cannot possibly be written. */
    private static void checkWritable(String option, Path file) throws CliError {
        if (file == null) {
            return;
        }
        Path dir = file.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new CliError(option + " " + file + ": the folder " + dir + " does not exist");
        }
    }

    /**
     * The weight in the input's dtype: a float32 weight file serves a float64 input and vice
     * versa (C values, copied); anything but a 1-D floating array is refused here or by the library.
     */
    private static Tensor weightLike(Tensor w, Tensor x, Path file, Arena arena) throws CliError {
        if (!w.dtype().isFloating()) {
            throw new CliError("--weight " + file + ": weight must be float32 or float64, got " + w.dtype());
        }
        if (w.dtype() == x.dtype() || !x.dtype().isFloating()) {
            return w;
        }
        Tensor copy = Tensor.allocate(arena, x.dtype(), w.shape());
        boolean f64 = x.dtype() == DType.FLOAT64;
        for (long i = 0; i < w.numel(); i++) {
            if (f64) {
                copy.segment().setAtIndex(dev.vecloss.internal.Mem.F64, i, w.getDouble(i));
            } else {
                copy.segment().setAtIndex(dev.vecloss.internal.Mem.F32, i, (float) w.getDouble(i));
            }
        }
        return copy;
    }

    /** The input's shape without the class axis: the shape of PyTorch's {@code none} result. */
    static long[] positionShape(long[] in) {
        if (in.length <= 1) {
            return new long[0];
        }
        long[] t = new long[in.length - 1];
        t[0] = in[0];
        System.arraycopy(in, 2, t, 1, in.length - 2);
        return t;
    }
}
