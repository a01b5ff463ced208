/* The wire fuzzer's driver, replayed over its checked-in corpus (a failure aborts). */
#include "../corpus.h"
#include "../../fuzz/fuzz_wire.c"

Test(wire_fuzz, corpus_replays)
{
    cr_assert_gt(replay_corpus("wire", LLVMFuzzerTestOneInput), 5);
}
