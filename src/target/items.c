/* The /items REST resource: JSON objects in a store shared by all threads. */
#include "items.h"

#include "routes.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS (1u << 22) /* ids issued before the store answers 507 */
#define JSON      "application/json"

/* Items are kept serialised, indexed by id; a deleted one leaves a NULL. Not a hot path,
 * so one mutex guards everything. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char **items;
static size_t cap, next_id = 1;

static void error(tgt_conn_t *c, int status, const char *msg)
{
    tgt_buf_t *b = tgt_conn_scratch(c);
    tgt_buf_printf(b, "{\"error\": \"%s\"}\n", msg);
    tgt_reply(c, status, JSON, NULL, b->data, b->len);
}

/* Parses body as a JSON object and serialises it with "id" set to id, first. Returns a
 * malloc'd string the caller owns, or NULL when the body is no JSON object. */
static char *with_id(tgt_str_t body, size_t id)
{
    json_t *in = json_loadb(body.p, body.len, 0, NULL);
    json_t *out = json_object();
    char *s = NULL;
    if (json_is_object(in) && out) {
        json_object_set_new(out, "id", json_integer((json_int_t)id));
        json_object_update(out, in);
        json_object_set_new(out, "id", json_integer((json_int_t)id));
        s = json_dumps(out, 0);
    }
    json_decref(in);
    json_decref(out);
    return s;
}

static int grow(void)
{
    size_t ncap = cap ? cap * 2 : 1024;
    char **p = realloc(items, ncap * sizeof *p);
    if (!p)
        return -1;
    memset(p + cap, 0, (ncap - cap) * sizeof *p);
    items = p;
    cap = ncap;
    return 0;
}

static void create(tgt_conn_t *c, const tgt_request_t *req)
{
    char head[64];
    char *s = NULL;
    pthread_mutex_lock(&lock);
    size_t id = next_id;
    int full = id >= MAX_ITEMS || (id >= cap && grow() < 0);
    if (!full && (s = with_id(req->body, id))) {
        items[next_id++] = s;
        snprintf(head, sizeof head, "Location: /items/%zu\r\n", id);
        tgt_reply(c, 201, JSON, head, s, strlen(s));
    }
    pthread_mutex_unlock(&lock);
    if (full)
        error(c, 507, "item store full");
    else if (!s)
        error(c, 400, "body must be a JSON object");
}

static void list(tgt_conn_t *c)
{
    tgt_buf_t *b = tgt_conn_scratch(c);
    tgt_buf_puts(b, "[");
    pthread_mutex_lock(&lock);
    const char *sep = "";
    for (size_t i = 1; i < next_id && i < cap; i++) {
        if (!items[i])
            continue;
        tgt_buf_puts(b, sep);
        tgt_buf_puts(b, items[i]);
        sep = ", ";
    }
    pthread_mutex_unlock(&lock);
    tgt_buf_puts(b, "]\n");
    tgt_reply(c, 200, JSON, NULL, b->data, b->len);
}

static void get_one(tgt_conn_t *c, size_t id)
{
    pthread_mutex_lock(&lock);
    if (id < cap && items[id])
        tgt_reply(c, 200, JSON, NULL, items[id], strlen(items[id]));
    else
        error(c, 404, "no such item");
    pthread_mutex_unlock(&lock);
}

static void put_one(tgt_conn_t *c, const tgt_request_t *req, size_t id)
{
    char *s = with_id(req->body, id);
    if (!s) {
        error(c, 400, "body must be a JSON object");
        return;
    }
    pthread_mutex_lock(&lock);
    if (id < cap && items[id]) {
        free(items[id]);
        items[id] = s;
        tgt_reply(c, 200, JSON, NULL, s, strlen(s));
    } else {
        free(s);
        error(c, 404, "no such item");
    }
    pthread_mutex_unlock(&lock);
}

static void delete_one(tgt_conn_t *c, size_t id)
{
    pthread_mutex_lock(&lock);
    int found = id < cap && items[id];
    if (found) {
        free(items[id]);
        items[id] = NULL;
    }
    pthread_mutex_unlock(&lock);
    if (found)
        tgt_reply(c, 204, NULL, NULL, NULL, 0);
    else
        error(c, 404, "no such item");
}

static void one(tgt_conn_t *c, const tgt_request_t *req, size_t id)
{
    if (tgt_str_ieq(req->method, "GET") || req->head)
        get_one(c, id);
    else if (tgt_str_ieq(req->method, "PUT"))
        put_one(c, req, id);
    else if (tgt_str_ieq(req->method, "DELETE"))
        delete_one(c, id);
    else
        tgt_reply(c, 405, "text/plain", "Allow: GET, HEAD, PUT, DELETE\r\n", "Method Not Allowed\n",
                  19);
}

void tgt_items(tgt_conn_t *c, const tgt_request_t *req, tgt_str_t rest)
{
    uint64_t id;
    if (rest.len == 0 || (rest.len == 1 && rest.p[0] == '/')) {
        if (tgt_str_ieq(req->method, "POST"))
            create(c, req);
        else if (tgt_str_ieq(req->method, "GET") || req->head)
            list(c);
        else
            tgt_reply(c, 405, "text/plain", "Allow: GET, HEAD, POST\r\n", "Method Not Allowed\n",
                      19);
    } else if (tgt_route_number(rest, MAX_ITEMS, &id) == 0) {
        one(c, req, (size_t)id);
    } else {
        error(c, 404, "no such item");
    }
}

void tgt_items_free(void)
{
    for (size_t i = 0; i < cap; i++)
        free(items[i]);
    free(items);
    items = NULL;
    cap = 0;
    next_id = 1;
}
