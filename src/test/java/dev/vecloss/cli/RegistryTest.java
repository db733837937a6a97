package dev.vecloss.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The registry of commands against the contract, shared/spec/CLI.md: the losses it lists, the
 * ones not implemented yet, bench's losses, and the flags the parser must know before it knows
 * the command.
 */
class RegistryTest {
    /** The contract, beside the worktree as the README says; absent in a plain clone. */
    private static final Path CLI_MD = Path.of("../shared/spec/CLI.md");

    /** The first column of CLI.md's table of losses, bench excluded. */
    static List<String> contractLosses() throws IOException {
        List<String> names = new ArrayList<>();
        Matcher m = Pattern.compile("(?m)^\\| `([a-z-]+)` \\|").matcher(Files.readString(CLI_MD));
        while (m.find()) {
            names.add(m.group(1));
        }
        names.remove("bench");
        return names;
    }

    @Test
    void theContractListIsCliMdsTable() throws IOException {
        assumeTrue(Files.isRegularFile(CLI_MD), "no " + CLI_MD);
        assertEquals(contractLosses(), Commands.CONTRACT);
    }

    @Test
    void notYetIsWhatTheRegistryLacks() {
        assertEquals(List.of(), Commands.notYet());
        List<String> registered = Commands.ALL.stream().map(Command::name).toList();
        for (String name : registered) {
            assertTrue(name.equals("bench") || Commands.CONTRACT.contains(name), name + " is not in CLI.md");
        }
        String help = Commands.mainHelp();
        assertFalse(help.contains("not implemented yet"), help); // every loss of CLI.md is there
        for (String name : registered) {
            assertTrue(help.contains("\n  " + name + " "), name);
        }
    }

    @Test
    void benchTimesEveryLossCommand() {
        List<String> losses = Commands.ALL.stream().map(Command::name).filter(n -> !n.equals("bench")).toList();
        assertEquals(losses, Bench.LOSSES);
        assertEquals(Bench.LOSSES, Bench.LOSS.choices());
        for (String loss : Bench.ELEMENTWISE) {
            assertTrue(Bench.LOSSES.contains(loss), loss);
        }
        for (String loss : Bench.SPATIAL) {
            assertFalse(Bench.ELEMENTWISE.contains(loss), loss);
        }
    }

    @Test
    void aFlagIsAFlagInEveryCommandThatHasIt() {
        Map<String, Command.Kind> kinds = new HashMap<>();
        for (Command c : Commands.ALL) {
            for (Command.Option o : c.options()) {
                boolean flag = o.kind() == Command.Kind.FLAG;
                Command.Kind before = kinds.putIfAbsent(o.name(), o.kind());
                if (before != null) {
                    assertEquals(before == Command.Kind.FLAG, flag, c.name() + " " + o.name());
                }
            }
        }
        assertEquals(Set.of("--log-loss", "--log-target", "--per-image"), Commands.flagNames());
    }

    @Test
    void aFlagTakesOnlyTrueOrFalseAfterIt() throws CliError {
        Set<String> flags = Set.of("--log-target");
        Command.Option flag = KlDivCommand.LOG_TARGET;
        assertTrue(Args.parse(new String[] {"kl-div", "--log-target"}, flags).flag(flag));
        Args beforeOption = Args.parse(new String[] {"kl-div", "--log-target", "--input", "a.npy"}, flags);
        assertTrue(beforeOption.flag(flag));
        assertEquals("a.npy", beforeOption.fileName("--input"));
        Args beforeCommand = Args.parse(new String[] {"--log-target", "kl-div"}, flags);
        assertEquals("kl-div", beforeCommand.command);
        assertTrue(beforeCommand.flag(flag));
        assertFalse(Args.parse(new String[] {"kl-div", "--log-target", "false"}, flags).flag(flag));
        assertFalse(Args.parse(new String[] {"kl-div", "--log-target=false"}, flags).flag(flag));
        assertFalse(Args.parse(new String[] {"kl-div"}, flags).flag(flag));
        // not a flag: the next word is its value, as before
        assertEquals("--x", Args.parse(new String[] {"kl-div", "--input", "--x"}, flags).fileName("--input"));
        CliError e = assertThrows(CliError.class,
                () -> Args.parse(new String[] {"kl-div", "--log-target", "--log-target"}, flags));
        assertTrue(e.getMessage().contains("given twice"), e.getMessage());
    }
}
