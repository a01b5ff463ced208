/* The allocator nghttp2 uses for cicada's connections: each thread keeps the blocks its streams
 * freed, by size class, for the next streams, so that a stream costs no malloc and free of its
 * own in the steady state (nghttp2 allocates several blocks per stream). */
#ifndef CCD_H2_MEM_H
#define CCD_H2_MEM_H

#include <nghttp2/nghttp2.h>

/* The allocator, for nghttp2_session_client_new3(). Blocks may be freed on any thread; each
 * thread's cache is released when the thread exits. */
nghttp2_mem *ccd_h2_mem(void);

#endif
