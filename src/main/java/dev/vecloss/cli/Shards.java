package dev.vecloss.cli;

import dev.vecloss.DType;
import dev.vecloss.Kernels;
import dev.vecloss.LossAccumulator;
import dev.vecloss.Reduction;
import dev.vecloss.Tensor;
import dev.vecloss.npy.Npy;
import dev.vecloss.npy.NpyArray;
import dev.vecloss.npy.NpyFormatException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A dataset given as several {@code .npy} files, "shards": the values of {@code --input} and
 * {@code --target} expanded into lists of files, paired in order, and streamed through one
 * {@link LossAccumulator}, whose result has the bits of the one call over the arrays concatenated
 * along their first axis.
 *
 * <p><b>Expansion.</b> Each value of the option, in the order given, is
 * <ul>
 *   <li>an existing folder: its {@code *.npy} regular files (not those whose name starts with a
 *       dot), in natural order;
 *   <li>an existing file: that file, whatever characters its name holds;
 *   <li>a pattern with one of {@code *}, {@code ?}, {@code [} or <code>&#123;</code>: expanded by
 *       vecloss itself (so it works quoted), with
 *       Java's glob syntax ({@code **} crosses folders), to the regular files it matches (not
 *       dot files unless the pattern's last part starts with a dot), in natural order;
 *   <li>anything else: a file, reported missing when read.
 * </ul>
 * Natural order compares the paths as text, with runs of digits compared as numbers
 * ({@code shard-2} before {@code shard-10}). The i-th input file is paired with the i-th target
 * file; both lists must have the same length, and no file may come twice or be both an input and
 * a target shard.
 *
 * <p><b>Checks before any computing.</b> Every file's header is read first: a missing, truncated
 * or malformed shard is reported, named, before anything is computed. The input shards must have
 * one dtype and the same shape past their first axis (the shape their concatenation would have),
 * and so must the target shards. Then each pair is memory-mapped, accepted by the accumulator
 * (checked as one call checks it: an error names the pair's files) and unmapped before the next,
 * so memory stays bounded whatever the number of shards.
 *
 * <p>The kernels (scalar or SIMD, {@link KernelChoice}) are chosen for the total element count, as
 * for one file holding the concatenation, so the printed result is that file's, to the last bit.
 */
final class Shards {
    private static final String GLOB_CHARS = "*?[{";

    /** Makes the accumulator of a loss command for its options and the shards' input (dtype, shape past N). */
    @FunctionalInterface
    interface Accumulating {
        /**
         * @param files the other input files (weights), read once for the whole run
         * @param input the first input shard's header, read once with the others: the dtype (a
         *        weight is used in it) and the shape past the first axis, which every shard shares
         * @param shards the shards, for a pass over them when the loss needs one (hinge's labels)
         */
        LossAccumulator make(LossFiles files, Header input, Shards shards) throws CliError;
    }

    private final List<Path> inputs;
    private final List<Path> targets;

    private Shards(List<Path> inputs, List<Path> targets) {
        this.inputs = inputs;
        this.targets = targets;
    }

    /**
     * The expanded {@code --input} and {@code --target} of {@code call}, paired: the same number
     * of each.
     */
    static Shards of(Command.Call call) throws CliError {
        List<Path> in = expand("--input", call.args().values("--input"));
        List<Path> tg = expand("--target", call.args().values("--target"));
        if (in.size() != tg.size()) {
            throw new CliError(in.size() + " --input file" + (in.size() == 1 ? "" : "s") + " but " + tg.size()
                    + " --target file" + (tg.size() == 1 ? "" : "s") + ": shards are paired in order, one target"
                    + " file for each input file");
        }
        if (in.size() > 1) {
            Map<Object, Path> seen = new HashMap<>();
            distinct("--input", in, seen);
            Map<Object, Path> inputKeys = new HashMap<>(seen);
            for (Path p : tg) {
                Path same = inputKeys.get(key(p));
                if (same != null) {
                    throw new CliError("--target " + p + " is also an --input shard (" + same + "): a folder or "
                            + "pattern matching both the predictions and the labels?");
                }
            }
            distinct("--target", tg, new HashMap<>());
        }
        return new Shards(in, tg);
    }

    /** Whether there is one file of each: the one-call path, with every option. */
    boolean single() {
        return inputs.size() == 1;
    }

    int size() {
        return inputs.size();
    }

    Path input(int i) {
        return inputs.get(i);
    }

    Path target(int i) {
        return targets.get(i);
    }

    /** Fails on a file that comes twice in {@code files} (by any path or hard link). */
    static void distinct(String option, List<Path> files) throws CliError {
        distinct(option, files, new HashMap<>());
    }

    private static void distinct(String option, List<Path> files, Map<Object, Path> seen) throws CliError {
        for (Path p : files) {
            Path before = seen.putIfAbsent(key(p), p);
            if (before != null) {
                throw new CliError(option + " " + p + (before.equals(p) ? " comes twice" : " is the same file as " + before)
                        + " in the list of shards: each shard is counted once");
            }
        }
    }

    /**
     * What identifies a file: its file key (device and inode: hard links too) or real path; a
     * path that cannot be read is its own key (reported missing later).
     */
    private static Object key(Path p) {
        try {
            Object k = Files.readAttributes(p, BasicFileAttributes.class).fileKey();
            return k != null ? k : p.toRealPath();
        } catch (IOException | SecurityException e) {
            return p.toAbsolutePath().normalize();
        }
    }

    /** Every value of {@code option} expanded (see the class comment), in order. */
    static List<Path> expand(String option, List<String> values) throws CliError {
        List<Path> out = new ArrayList<>();
        for (String v : values) {
            out.addAll(expand(option, v));
        }
        return out;
    }

    /** One value expanded (see the class comment). */
    static List<Path> expand(String option, String value) throws CliError {
        Path literal;
        try {
            literal = Path.of(value);
        } catch (InvalidPathException e) {
            throw new CliError(option + ": '" + value + "' is not a valid path");
        }
        if (Files.isDirectory(literal)) {
            List<Path> files = new ArrayList<>();
            try (Stream<Path> s = Files.list(literal)) {
                for (Path p : (Iterable<Path>) s::iterator) {
                    String name = p.getFileName().toString();
                    if (name.endsWith(".npy") && !name.startsWith(".") && Files.isRegularFile(p)) {
                        files.add(p);
                    }
                }
            } catch (IOException | UncheckedIOException e) {
                throw new CliError(option + " " + value + ": cannot list the folder: " + reason(e));
            }
            if (files.isEmpty()) {
                throw new CliError(option + " " + value
                        + ": is a directory without .npy files (a folder of shards holds *.npy files)");
            }
            files.sort(NATURAL);
            return files;
        }
        if (Files.exists(literal, LinkOption.NOFOLLOW_LINKS) || !hasGlob(value)) {
            return List.of(literal);
        }
        return glob(option, value, literal);
    }

    private static boolean hasGlob(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (GLOB_CHARS.indexOf(s.charAt(i)) >= 0) {
                return true;
            }
        }
        return false;
    }

    /** The regular files matching {@code pattern}, in natural order; none is an error. */
    private static List<Path> glob(String option, String value, Path pattern) throws CliError {
        // The folder to search from: the pattern's leading parts without a glob character.
        Path base = pattern.getRoot();
        int first = 0;
        while (first < pattern.getNameCount() && !hasGlob(pattern.getName(first).toString())) {
            base = base == null ? pattern.getName(first) : base.resolve(pattern.getName(first));
            first++;
        }
        Path rest = pattern.subpath(first, pattern.getNameCount());
        boolean dotFiles = rest.getFileName().toString().startsWith(".");
        int depth = rest.toString().contains("**") ? Integer.MAX_VALUE : rest.getNameCount();
        PathMatcher matcher;
        try {
            matcher = FileSystems.getDefault().getPathMatcher("glob:" + rest);
        } catch (IllegalArgumentException e) {
            throw new CliError(option + " '" + value + "': not a valid pattern: " + Main.oneLine(e.getMessage()));
        }
        Path start = base == null ? Path.of(".") : base;
        List<Path> files = new ArrayList<>();
        if (Files.isDirectory(start)) {
            try (Stream<Path> s = Files.walk(start, depth)) {
                for (Path p : (Iterable<Path>) s::iterator) {
                    Path rel = start.relativize(p);
                    if (rel.toString().isEmpty() || !matcher.matches(rel)) {
                        continue;
                    }
                    if (!dotFiles && rel.getFileName().toString().startsWith(".")) {
                        continue;
                    }
                    if (Files.isRegularFile(p)) {
                        files.add(base == null ? rel : p);
                    }
                }
            } catch (IOException | UncheckedIOException e) {
                throw new CliError(option + " '" + value + "': cannot search " + start + ": " + reason(e));
            }
        }
        if (files.isEmpty()) {
            throw new CliError(option + " '" + value + "': no file matches this pattern");
        }
        files.sort(NATURAL);
        return files;
    }

    private static String reason(Exception e) {
        IOException io = e instanceof UncheckedIOException u ? u.getCause() : (IOException) e;
        return LossFiles.describe(io);
    }

    /**
     * Paths as text with runs of ASCII digits compared as numbers ({@code shard-2} before
     * {@code shard-10}); equal numbers with more leading zeros after fewer; then the plain text,
     * so that the order is total.
     */
    static final Comparator<Path> NATURAL = (a, b) -> natural(a.toString(), b.toString());

    static int natural(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            char ca = a.charAt(i);
            char cb = b.charAt(j);
            if (isDigit(ca) && isDigit(cb)) {
                int ei = i;
                while (ei < a.length() && isDigit(a.charAt(ei))) {
                    ei++;
                }
                int ej = j;
                while (ej < b.length() && isDigit(b.charAt(ej))) {
                    ej++;
                }
                int si = i;
                while (si < ei - 1 && a.charAt(si) == '0') {
                    si++;
                }
                int sj = j;
                while (sj < ej - 1 && b.charAt(sj) == '0') {
                    sj++;
                }
                int c = Integer.compare(ei - si, ej - sj); // more significant digits: larger
                if (c == 0) {
                    c = a.substring(si, ei).compareTo(b.substring(sj, ej));
                }
                if (c == 0) {
                    c = Integer.compare(ei - i, ej - j); // 2 before 02
                }
                if (c != 0) {
                    return c;
                }
                i = ei;
                j = ej;
            } else {
                if (ca != cb) {
                    return Character.compare(ca, cb);
                }
                i++;
                j++;
            }
        }
        int c = Integer.compare(a.length() - i, b.length() - j);
        return c != 0 ? c : a.compareTo(b);
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    /** A shard's header: what the checks before computing need. */
    record Header(Path path, DType dtype, long[] shape, long numel) {}

    /**
     * Maps and unmaps every file of {@code files} to read its header (a missing, truncated or
     * malformed file fails here, before anything is computed), and checks that they can be
     * concatenated along their first axis: one dtype, the same shape past the first axis.
     */
    static List<Header> headers(String option, List<Path> files) throws CliError {
        List<Header> out = new ArrayList<>(files.size());
        for (int i = 0; i < files.size(); i++) {
            Path p = files.get(i);
            try (NpyArray a = read(option, p, i, files.size())) {
                Tensor t = a.tensor();
                out.add(new Header(p, t.dtype(), t.shape(), t.numel()));
            }
        }
        Header first = out.get(0);
        for (Header h : out) {
            if (h.shape().length == 0) {
                throw new CliError(option + " " + h.path() + ": a 0-d array cannot be a shard (shards are"
                        + " concatenated along their first axis)");
            }
        }
        for (Header h : out.subList(1, out.size())) {
            if (h.dtype() != first.dtype()) {
                throw new CliError(option + " shards differ in dtype: " + first.path() + " is " + name(first.dtype())
                        + ", " + h.path() + " is " + name(h.dtype()) + " (give every shard one dtype)");
            }
            long[] a = first.shape();
            long[] b = h.shape();
            if (a.length != b.length || !Arrays.equals(a, 1, a.length, b, 1, b.length)) {
                throw new CliError(option + " shards differ in shape past the first axis: " + first.path() + " is "
                        + Arrays.toString(a) + ", " + h.path() + " is " + Arrays.toString(b)
                        + " (shards are concatenated along their first axis)");
            }
        }
        return out;
    }

    private static String name(DType d) {
        return d.name().toLowerCase(Locale.ROOT);
    }

    /** Reads shard {@code i} of {@code n}; an error names it. */
    static NpyArray read(String option, Path file, int i, int n) throws CliError {
        String which = option + " shard " + (i + 1) + "/" + n + " ";
        try {
            return Npy.read(file);
        } catch (NpyFormatException e) {
            throw new CliError(which + e.getMessage());
        } catch (IOException e) {
            throw new CliError(which + file + ": " + LossFiles.describe(e));
        }
    }

    /**
     * Whether every element of every target shard is 0 or 1 (hinge's automatic label rule, taken
     * over the whole dataset as the one call takes it over its one target): a pass over the
     * targets, stopping at the first other value. A target that is not floating is left to the
     * loss's own check.
     */
    boolean targetsAllZeroOne() throws CliError {
        for (int i = 0; i < targets.size(); i++) {
            try (NpyArray a = read("--target", targets.get(i), i, targets.size())) {
                Tensor t = a.tensor();
                if (!t.dtype().isFloating()) {
                    return false;
                }
                MemorySegment s = t.segment();
                long n = t.numel();
                if (t.dtype() == DType.FLOAT64) {
                    ValueLayout.OfDouble l = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
                    for (long k = 0; k < n; k++) {
                        double v = s.getAtIndex(l, k);
                        if (v != 0 && v != 1) {
                            return false;
                        }
                    }
                } else {
                    ValueLayout.OfFloat l = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
                    for (long k = 0; k < n; k++) {
                        float v = s.getAtIndex(l, k);
                        if (v != 0 && v != 1) {
                            return false;
                        }
                    }
                }
            }
        }
        return true;
    }

    /**
     * Refuses what cannot apply across shards: {@code --reduction none} and the per-element
     * outputs ({@code --output}, {@code --grad}), which are one array's.
     */
    static void refusePerElement(Command.Call call, Reduction reduction, int n) throws CliError {
        Args args = call.args();
        if (reduction == Reduction.NONE) {
            String none = args.has("--reduction") ? "--reduction none"
                    : "--reduction none (" + call.command().name() + "'s default)";
            throw new CliError(none + " gives per-element losses, one array's: not with " + n
                    + " --input shards; give --reduction mean or sum, or one --input file");
        }
        for (String o : List.of("--output", "--grad")) {
            if (args.has(o)) {
                throw new CliError(o + " writes one array's per-element values: not with " + n
                        + " --input shards (give one --input file, or leave " + o + " out)");
            }
        }
    }

    /**
     * The run of a loss command over several shards: the checks above, then every pair through
     * one accumulator, with the progress line, and the value printed as the one call's.
     */
    void evaluate(Command.Call call, Reduction reduction, Accumulating accumulating) throws CliError {
        int n = size();
        refusePerElement(call, reduction, n);
        List<Header> in = headers("--input", inputs);
        headers("--target", targets);
        long total = 0;
        for (Header h : in) {
            total += h.numel();
        }
        try (LossFiles files = LossFiles.open(call, Set.of("--input", "--target"))) {
            LossAccumulator acc;
            try {
                acc = accumulating.make(files, in.get(0), this);
            } catch (IllegalArgumentException e) {
                throw new CliError(e.getMessage());
            }
            // Chosen for the total, as for one file holding the concatenation: the same kernels,
            // so the same bits.
            Kernels.Implementation impl = KernelChoice.forShape(new long[] {total});
            if (impl != null && call.args().verbose) {
                call.err().println("vecloss: " + impl.name().toLowerCase(Locale.ROOT) + " kernels for these "
                        + "shards (fewer than " + KernelChoice.SCALAR_BELOW + " elements in all, see vecloss --help)");
            }
            long done = 0;
            try (Progress progress = new Progress(call.err(), Progress.Terminal.of(call), n, total)) {
                for (int i = 0; i < n; i++) {
                    try (NpyArray x = read("--input", inputs.get(i), i, n);
                            NpyArray y = read("--target", targets.get(i), i, n)) {
                        Tensor xt = x.tensor();
                        Tensor yt = y.tensor();
                        if (impl == null) {
                            acc.accept(xt, yt);
                        } else {
                            Kernels.callWith(impl, () -> acc.accept(xt, yt));
                        }
                    } catch (IllegalArgumentException e) {
                        throw new CliError(e.getMessage() + " (shard " + (i + 1) + "/" + n + ": --input "
                                + inputs.get(i) + ", --target " + targets.get(i) + ")");
                    }
                    done += in.get(i).numel();
                    progress.update(i + 1, done);
                }
            }
            double value;
            try {
                value = acc.getAsDouble();
            } catch (IllegalStateException | IllegalArgumentException e) {
                throw new CliError(e.getMessage() + " (over " + n + " shards)");
            }
            files.finish(value);
        }
    }
}
