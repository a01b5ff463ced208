/* Tests of the option parser: the fuzzer's checked-in corpus, replayed through its driver. */
#include <criterion/criterion.h>

#include "../corpus.h"
#include "../../fuzz/fuzz_cli.c"

Test(cli_fuzz, corpus_replays)
{
    cr_assert_gt(replay_corpus("cli", LLVMFuzzerTestOneInput), 10);
}

/* Parsing twice in one process starts afresh: a refused short-option cluster ("-xl") must not
 * leave getopt in the middle of the previous argv, where it would find "-l". */
Test(cli_fuzz, parses_twice_after_a_refused_cluster)
{
    char a0[] = "cicada", a1[] = "-xl", b1[] = "-f", b2[] = "s.lua", err[256];
    char *first[] = {a0, a1, NULL}, *second[] = {a0, b1, b2, NULL}, *envp[] = {NULL};
    ccd_options_t o;
    cr_assert_eq(ccd_cli_parse(2, first, envp, &o, err, sizeof(err)), CCD_EINVAL);
    ccd_cli_free(&o);
    cr_assert_eq(ccd_cli_parse(3, second, envp, &o, err, sizeof(err)), 0, "%s", err);
    cr_assert_not(o.list);
    ccd_cli_free(&o);
}
