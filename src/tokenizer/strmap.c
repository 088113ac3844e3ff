/* String -> int32 hash map with open addressing (linear probing). Keys are
 * borrowed: the caller keeps the bytes alive (the tokenizer's text pools). */
#include <stdlib.h>
#include <string.h>

#include "tok_int.h"

static uint32_t hash_bytes(const char *s, size_t n) {
    /* FNV-1a, 32 bit */
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

void dl_strmap_init(dl_strmap *m, size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    m->slots = dl_xcalloc(cap, sizeof *m->slots);
    m->cap = cap;
    m->n = 0;
}

void dl_strmap_free(dl_strmap *m) {
    free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}

static void grow(dl_strmap *m) {
    dl_strmap bigger = {dl_xcalloc(m->cap * 2, sizeof(dl_strmap_slot)), m->cap * 2, m->n};
    for (size_t i = 0; i < m->cap; i++) {
        const dl_strmap_slot *s = &m->slots[i];
        if (!s->key) continue;
        size_t j = s->hash & (bigger.cap - 1);
        while (bigger.slots[j].key) j = (j + 1) & (bigger.cap - 1);
        bigger.slots[j] = *s;
    }
    free(m->slots);
    *m = bigger;
}

void dl_strmap_put(dl_strmap *m, const char *key, size_t len, int32_t value, bool overwrite) {
    if ((m->n + 1) * 2 > m->cap) grow(m);
    uint32_t h = hash_bytes(key, len);
    size_t j = h & (m->cap - 1);
    for (;;) {
        dl_strmap_slot *s = &m->slots[j];
        if (!s->key) {
            s->key = key;
            s->len = (uint32_t)len;
            s->hash = h;
            s->value = value;
            m->n++;
            return;
        }
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) {
            if (overwrite) s->value = value;
            return;
        }
        j = (j + 1) & (m->cap - 1);
    }
}

int32_t dl_strmap_get(const dl_strmap *m, const char *key, size_t len) {
    if (!m->cap) return -1;
    uint32_t h = hash_bytes(key, len);
    size_t j = h & (m->cap - 1);
    for (;;) {
        const dl_strmap_slot *s = &m->slots[j];
        if (!s->key) return -1;
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) return s->value;
        j = (j + 1) & (m->cap - 1);
    }
}
