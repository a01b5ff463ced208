/* Base64 against RFC 4648's test vectors. */
#include <criterion/criterion.h>
#include <string.h>

#include "base/base64.h"

static void check(const char *in, const char *want)
{
    char out[64] = {0};
    size_t n = strlen(in);
    cr_assert_eq(ccd_base64_len(n), strlen(want));
    ccd_base64_encode((const unsigned char *)in, n, out);
    cr_assert_str_eq(out, want, "base64(%s)", in);
}

Test(base64, rfc4648_vectors)
{
    check("", "");
    check("f", "Zg==");
    check("fo", "Zm8=");
    check("foo", "Zm9v");
    check("foob", "Zm9vYg==");
    check("fooba", "Zm9vYmE=");
    check("foobar", "Zm9vYmFy");
    check("Aladdin:open sesame", "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}
