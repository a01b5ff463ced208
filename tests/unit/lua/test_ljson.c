/* Tests of the JSON decoder: the fuzzer's checked-in corpus, replayed through its driver. */
#include <criterion/criterion.h>

#include "../corpus.h"
#include "../../fuzz/fuzz_json.c"

Test(ljson_fuzz, corpus_replays)
{
    cr_assert_gt(replay_corpus("json", LLVMFuzzerTestOneInput), 10);
}

Test(ljson_fuzz, driver_checks_a_round_trip)
{
    static const char text[] = "{\"a\":[1,2.5,\"x\\u00e9\",null,{}],\"b\":true}";
    cr_assert_eq(LLVMFuzzerTestOneInput((const uint8_t *)text, sizeof(text) - 1), 0);
}
