package dev.vecloss;

import dev.vecloss.internal.RowOp;
import dev.vecloss.oracle.DfpOracle;
import java.util.List;

/** {@code cross_entropy} with class-probability targets (LOSSES.md 1.2): mean divides by M, not the weights. */
class CrossEntropyProbTest extends RowLossTestBase {

    /*
     * As for index targets (see CrossEntropyTest): l = log S * sum(w q) + sum w q (m - x) has
     * only non-negative terms, so a float32 kernel stays within a few ulps. The gradient
     * p_k * sum(w q) - w_k q_k cancels where p_k ~ q_k, hence the gradient's scale floor.
     */
    @Override
    protected List<Regime> regimes() {
        return List.of(
                new Regime(UNIFORM, 8, 8, new Budget(6, 1.5), new Budget(8, 2)),
                new Regime(WIDE, 8, 8, new Budget(6, 1.5), new Budget(8, 2)),
                new Regime(CONFIDENT, 8, 8, new Budget(6, 1.5), new Budget(8, 2)),
                new Regime(NEAR_TIE, 8, 8, new Budget(6, 1.5), new Budget(8, 2)),
                // Issue 7 item 11. One-hot targets: l = log1p(sum_{k != y} exp(x_k - x_y)), down to
                // 1e-21, which log(S) * sum(w q) + ... only keeps with log S = log1p(S - 1) (the terms
                // other than the maximum): log(1 + 1e-13) keeps 3 digits in double, none in float32.
                // Near-one-hot targets add delta-weighted terms of order 1e-3 * lead. The budgets of
                // index targets' confident regime (CrossEntropyTest): 24 ulps per loss (under 3e-6
                // relative, within the 1e-5), the reduced value 16 ulps (under 2e-6 relative).
                new Regime(CONFIDENT_SHARP, 24, 8, 16, new Budget(24, 6), new Budget(8, 2)));
    }

    @Override
    protected List<Config> configs() {
        return List.of(
                new Config("plain", false, false, 0),
                new Config("weight", true, false, 0),
                new Config("label_smoothing 0.1", false, false, 0.1),
                new Config("weight + label_smoothing 0.1", true, false, 0.1));
    }

    @Override
    protected boolean probTargets() {
        return true;
    }

    @Override
    protected double call(Tensor input, Tensor target, CrossEntropy.Options o, Tensor losses, Tensor grad) {
        return CrossEntropy.crossEntropy(input, target, o, losses, grad);
    }

    @Override
    protected DfpOracle.Result oracle(Case k) {
        return DfpOracle.crossEntropyProb(logSoftmax(k), k.prob(), k.weight(), k.eps());
    }

    @Override
    protected RowOp op() {
        return RowOp.CROSS_ENTROPY_PROB;
    }
}
