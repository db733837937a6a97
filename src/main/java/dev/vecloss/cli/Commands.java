package dev.vecloss.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The registry of commands: a new loss is its {@link Command} definition (one file) and one line
 * in {@link #ALL}; the main help, the lookup by name and the list of losses not implemented yet
 * follow from it.
 */
final class Commands {
    private Commands() {}

    /** Every command, in the order of the main help. */
    static final List<Command> ALL = List.of(
            CrossEntropyCommands.CROSS_ENTROPY,
            CrossEntropyCommands.NLL_LOSS,
            BinaryCrossEntropyCommands.BINARY_CROSS_ENTROPY,
            BinaryCrossEntropyCommands.WITH_LOGITS,
            FocalCommands.SIGMOID_FOCAL_LOSS,
            FocalCommands.SOFTMAX_FOCAL_LOSS,
            MarginCommands.HINGE,
            MarginCommands.SQUARED_HINGE,
            MarginCommands.MULTI_MARGIN_LOSS,
            KlDivCommand.KL_DIV,
            RegionLossCommands.DICE_LOSS,
            RegionLossCommands.JACCARD_LOSS,
            RegionLossCommands.TVERSKY_LOSS,
            ClassWeightsCommand.CLASS_WEIGHTS,
            LovaszCommand.LOVASZ_LOSS,
            Bench.COMMAND);

    /** Every loss of shared/spec/CLI.md, in its table's order, whether implemented or not. */
    static final List<String> CONTRACT = List.of("cross-entropy", "nll-loss", "binary-cross-entropy",
            "binary-cross-entropy-with-logits", "sigmoid-focal-loss", "softmax-focal-loss", "hinge", "squared-hinge",
            "multi-margin-loss", "kl-div", "dice-loss", "jaccard-loss", "tversky-loss", "lovasz-loss",
            "class-weights");

    /** The losses of the contract that no command implements yet. */
    static List<String> notYet() {
        List<String> names = new ArrayList<>(CONTRACT);
        names.removeIf(n -> ALL.stream().anyMatch(c -> c.name().equals(n)));
        return names;
    }

    /**
     * The names of the flags ({@link Command.Kind#FLAG}) of every command, for
     * {@link Args#parse(String[], Set)}: it splits the command line before the command is known,
     * so a name is a flag in every command or in none.
     */
    static Set<String> flagNames() {
        Set<String> flags = new TreeSet<>();
        for (Command c : ALL) {
            for (Command.Option o : c.options()) {
                if (o.kind() == Command.Kind.FLAG) {
                    flags.add(o.name());
                }
            }
        }
        return flags;
    }

    /** The command called {@code name}. */
    static Command find(String name) throws CliError {
        for (Command c : ALL) {
            if (c.name().equals(name)) {
                return c;
            }
        }
        if (notYet().contains(name)) {
            throw new CliError(name + " is not implemented yet");
        }
        throw new CliError("unknown loss '" + name + "' (see vecloss --help)");
    }

    /** The text of {@code vecloss --help}. */
    static String mainHelp() {
        StringBuilder sb = new StringBuilder("""
                usage: vecloss LOSS [OPTIONS]      (options as --name value or --name=value)

                Evaluates a PyTorch loss on .npy files and prints the reduced loss on stdout.

                commands:
                """);
        int width = ALL.stream().mapToInt(c -> c.name().length()).max().orElse(0) + 3;
        for (Command c : ALL) {
            sb.append("  ").append(c.name()).append(" ".repeat(width - c.name().length())).append(c.summary())
                    .append('\n');
        }
        List<String> missing = notYet();
        if (!missing.isEmpty()) {
            sb.append(wrap("not implemented yet: " + String.join(", ", missing), "  ", 96));
        }
        sb.append("""

                several files: the losses with a mean or a sum, and class-weights, take a list, a
                folder or a pattern as --input and --target ('preds/*.npy'), with the result of
                the arrays concatenated, to the last bit (see vecloss LOSS --help).

                global flags:
                  -v, --verbose   say on stderr which kernels run and why
                  -h, --help      this text; vecloss LOSS --help for a loss's options and files

                environment (read by bin/vecloss):
                  VECLOSS_OPTS    options for the JVM, split into words as JAVA_OPTS is (no globbing), e.g.
                                  VECLOSS_OPTS="-Dvecloss.impl=scalar -Xmx8g" bin/vecloss ...
                                  -Dvecloss.impl=panama|scalar forces the kernels,
                                  -Dvecloss.vectorBits=128|256|512 narrows the SIMD ones

                kernels: an input of fewer than 2^28 elements (1 GB of float32) runs on the scalar
                kernels, which finish it sooner in one short run than the SIMD ones, whose start
                (the Vector API's classes, then its code running interpreted until compiled) costs
                a second or more; larger inputs run on the SIMD ones. A pure function of the
                input's shape: the result stays deterministic. -Dvecloss.impl forces either kind.

                Errors: one line on stderr starting 'vecloss: ', exit status 2, and no file
                changed; a result that cannot be written to stdout is an error too.
                """);
        return sb.toString();
    }

    /** {@code text} broken at spaces into lines of at most {@code width}, continuation lines indented. */
    static String wrap(String text, String indent, int width) {
        StringBuilder sb = new StringBuilder();
        StringBuilder line = new StringBuilder();
        for (String word : text.split(" ")) {
            if (line.length() > 0 && line.length() + 1 + word.length() > width) {
                sb.append(line).append('\n');
                line.setLength(0);
                line.append(indent);
            }
            if (line.length() > 0 && !line.toString().equals(indent)) {
                line.append(' ');
            }
            line.append(word);
        }
        return sb.append(line).append('\n').toString();
    }
}
