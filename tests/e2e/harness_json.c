/* Lookups in cicada's --json report: entries by (method, name), numbers, errors, exceptions. */
#include "harness.h"

#include <math.h>
#include <string.h>
#include <strings.h>

bool h_contains(const char *haystack, const char *needle)
{
    return haystack && needle && strcasestr(haystack, needle) != NULL;
}

static bool str_is(json_t *obj, const char *key, const char *want)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v && want && strcmp(v, want) == 0;
}

json_t *h_entry(json_t *doc, const char *method, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(doc, "stats"), i, e)
    {
        if (str_is(e, "method", method) && str_is(e, "name", name))
            return e;
    }
    return NULL;
}

double h_num(json_t *entry, const char *field)
{
    json_t *v = entry ? json_object_get(entry, field) : NULL;
    return json_is_number(v) ? json_number_value(v) : NAN;
}

double h_pct(json_t *entry, const char *key)
{
    return h_num(entry ? json_object_get(entry, "response_time_percentiles") : NULL, key);
}

static long count_of(json_t *entry, const char *field)
{
    double v = h_num(entry, field);
    return isnan(v) ? -1 : (long)v;
}

long h_requests(json_t *doc, const char *method, const char *name)
{
    return count_of(h_entry(doc, method, name), "num_requests");
}

long h_failures(json_t *doc, const char *method, const char *name)
{
    return count_of(h_entry(doc, method, name), "num_failures");
}

long h_total_requests(json_t *doc)
{
    return count_of(json_object_get(doc, "total"), "num_requests");
}

long h_total_failures(json_t *doc)
{
    return count_of(json_object_get(doc, "total"), "num_failures");
}

json_t *h_error(json_t *doc, const char *method, const char *name, const char *prefix)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(doc, "errors"), i, e)
    {
        const char *text = json_string_value(json_object_get(e, "error"));
        if ((method && !str_is(e, "method", method)) || !str_is(e, "name", name) || !text)
            continue;
        if (!prefix || strncasecmp(text, prefix, strlen(prefix)) == 0)
            return e;
    }
    return NULL;
}

long h_generator_errors(json_t *doc, const char *method, const char *name, const char *prefix)
{
    json_t *g = json_object_get(doc, "generator_errors"), *e;
    if (!json_is_object(g))
        return -1;
    size_t i;
    long sum = 0;
    json_array_foreach(json_object_get(g, "errors"), i, e)
    {
        const char *text = json_string_value(json_object_get(e, "error"));
        if (!str_is(e, "method", method) || !str_is(e, "name", name) || !text)
            continue;
        if (!prefix || strncasecmp(text, prefix, strlen(prefix)) == 0)
            sum += (long)json_integer_value(json_object_get(e, "occurrences"));
    }
    return sum;
}

long h_in_flight_total(json_t *doc)
{
    json_t *t = json_object_get(json_object_get(doc, "in_flight_at_stop"), "total");
    return json_is_integer(t) ? (long)json_integer_value(t) : -1;
}

long h_error_occurrences(json_t *doc, const char *name)
{
    size_t i;
    json_t *e;
    long sum = 0;
    json_array_foreach(json_object_get(doc, "errors"), i, e)
    {
        if (str_is(e, "name", name))
            sum += (long)json_integer_value(json_object_get(e, "occurrences"));
    }
    return sum;
}

json_t *h_exception(json_t *doc, const char *needle)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(doc, "exceptions"), i, e)
    {
        if (h_contains(json_string_value(json_object_get(e, "message")), needle))
            return e;
    }
    return NULL;
}

long h_exception_count(json_t *doc, const char *needle)
{
    json_t *list = json_object_get(doc, "exceptions"), *e;
    size_t i;
    long sum = 0;
    if (!json_is_array(list))
        return -1;
    json_array_foreach(list, i, e)
    {
        if (h_contains(json_string_value(json_object_get(e, "message")), needle))
            sum += (long)json_integer_value(json_object_get(e, "count"));
    }
    return sum;
}
