package dev.vecloss.cli;

/** The {@code --help} texts (stdout, exit 0). */
final class Usage {
    private Usage() {}

    static final String MAIN = """
            usage: vecloss LOSS [OPTIONS]      (options as --name value or --name=value)

            Evaluates a PyTorch loss on .npy files and prints the reduced loss on stdout.

            losses:
              cross-entropy   torch.nn.functional.cross_entropy (index or probability targets)
              nll-loss        torch.nn.functional.nll_loss
              bench           built-in benchmark of the SIMD and scalar kernels (no files needed)
            not implemented yet: binary-cross-entropy, binary-cross-entropy-with-logits,
              sigmoid-focal-loss, softmax-focal-loss, hinge, squared-hinge, multi-margin-loss,
              kl-div, dice-loss, jaccard-loss, tversky-loss, lovasz-loss, class-weights

            global flags:
              -v, --verbose   say on stderr which kernels run and why
              -h, --help      this text; vecloss LOSS --help for a loss's options

            Errors: one line on stderr starting 'vecloss: ', exit status 2.
            """;

    static final String CROSS_ENTROPY = """
            usage: vecloss cross-entropy --input X.npy --target T.npy [OPTIONS]

              --input X.npy          logits, (C), (N, C) or (N, C, d1, ..., dk); float32 or float64
              --target T.npy         class indices (N, d1, ..., dk), int64/int32/uint8/bool,
                                     or class probabilities of the input's shape and dtype
              --weight W.npy         per-class weights (C)                   default: none
              --ignore-index I       targets equal to I are skipped          default: -100
              --reduction R          mean, sum or none                       default: mean
              --label-smoothing E    in [0, 1]                               default: 0
              --output FILE.npy      per-position losses, float32 (required with --reduction none)
              --grad FILE.npy        gradient with respect to --input, float32, the input's shape
              --threads T            threads (the result does not depend on it)  default: all cores
            """;

    static final String NLL = """
            usage: vecloss nll-loss --input X.npy --target T.npy [OPTIONS]

              --input X.npy          log-probabilities, (C), (N, C) or (N, C, d1, ..., dk)
              --target T.npy         class indices (N, d1, ..., dk), int64/int32/uint8/bool
              --weight W.npy         per-class weights (C)                   default: none
              --ignore-index I       targets equal to I are skipped          default: -100
              --reduction R          mean, sum or none                       default: mean
              --output FILE.npy      per-position losses, float32 (required with --reduction none)
              --grad FILE.npy        gradient with respect to --input, float32, the input's shape
              --threads T            threads (the result does not depend on it)  default: all cores
            """;

    static final String BENCH = """
            usage: vecloss bench [--loss cross-entropy|nll-loss] [--n N] [--c C] [--threads T]
                                 [--layout row|nchw] [--format table|csv]

            Without --loss, --n, --c or --layout: a short tour of cross-entropy and nll-loss
            cases. Reports the throughput of the scalar and the selected (Panama) kernels in
            G elements (logits) per second, their ratio, and each result's relative error
            against the same formula evaluated in float64.

              --loss NAME    cross-entropy (default) or nll-loss
              --n N          positions (rows, or pixels with --layout nchw)
              --c C          classes                                       default: 1000
              --threads T    threads                                       default: all cores
              --layout L     row: (N, C); nchw: (B, C, N/B), class axis strided default: row
              --format F     table or csv (loss,n,c,layout,kernel,threads,gelem_per_s,rel_error)
            """;
}
