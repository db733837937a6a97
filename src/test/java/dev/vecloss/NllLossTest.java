package dev.vecloss;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vecloss.internal.RowOp;
import dev.vecloss.oracle.DfpOracle;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code nll_loss} on log-probabilities (LOSSES.md 2): the input is read only at the target. */
class NllLossTest extends RowLossTestBase {

    /*
     * -w_y * x_y is one float32 product, rounded once: 0.5 ulp (the double product of two floats
     * is exact). The gradient -w_y * sigma is exact for none/sum and one division for mean. The
     * regimes only change the values read, but cover tails and signs all the same.
     */
    @Override
    protected boolean softmaxBackward() {
        return false;
    }

    @Override
    protected List<Regime> regimes() {
        return List.of(
                new Regime(UNIFORM, 1, 1, new Budget(0.5, 0.3), new Budget(1, 0.5)),
                new Regime(WIDE, 1, 1, new Budget(0.5, 0.3), new Budget(1, 0.5)),
                new Regime(CONFIDENT, 1, 1, new Budget(0.5, 0.3), new Budget(1, 0.5)),
                new Regime(NEAR_TIE, 1, 1, new Budget(0.5, 0.3), new Budget(1, 0.5)));
    }

    @Override
    protected List<Config> configs() {
        return List.of(
                new Config("plain", false, false, 0),
                new Config("weight", true, false, 0),
                new Config("ignore_index inside [0,C)", false, true, 0),
                new Config("weight + ignore_index", true, true, 0));
    }

    @Override
    protected boolean probTargets() {
        return false;
    }

    @Override
    protected double call(Tensor input, Tensor target, CrossEntropy.Options o, Tensor losses, Tensor grad) {
        return CrossEntropy.nllLoss(input, target, o, losses, grad);
    }

    @Override
    protected DfpOracle.Result oracle(Case k) {
        return DfpOracle.nllLoss(k.x(), k.n(), k.c(), k.s(), k.target(), k.weight(), k.ignoreIndex());
    }

    @Override
    protected RowOp op() {
        return RowOp.NLL;
    }

    @Test
    void noLabelSmoothing() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CrossEntropy.nllLoss(
                Tensor.of(new float[6], 2, 3), Tensor.of(new long[2], 2), CrossEntropy.Options.defaults().withLabelSmoothing(0.1)));
        assertTrue(e.getMessage().contains("label_smoothing"), e.getMessage());
    }

    @Test
    void labelOutOfRange() {
        long[] t = {0, 1, 3};
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CrossEntropy.nllLoss(
                Tensor.of(new float[9], 3, 3), Tensor.of(t, 3)));
        assertTrue(e.getMessage().contains("3") && e.getMessage().contains("2"), e.getMessage());
    }
}
