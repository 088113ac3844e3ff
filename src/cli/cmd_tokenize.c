/* deliberate tokenize -m FILE [--json] [--special] TEXT */
#include <stdlib.h>
#include <string.h>

#include "../gguf/gguf.h"
#include "../tokenizer/tokenizer.h"
#include "cli.h"

static const char TOKENIZE_HELP[] =
    "usage: deliberate tokenize -m FILE [--json] [--special] TEXT\n"
    "\n"
    "Tokenizes TEXT with the vocabulary of the GGUF file FILE (a full model or\n"
    "a vocabulary-only file) and prints one token per line: id and piece.\n"
    "\n"
    "  -m, --model FILE  GGUF file whose tokenizer.* metadata to use\n"
    "  --special         add BOS/EOS as the vocabulary's metadata asks and turn\n"
    "                    special-token text (e.g. <|im_start|>) into its id;\n"
    "                    without it nothing is added and special text is plain text\n"
    "  --json            print one JSON object: {\"ids\": [...], \"pieces\": [...]}\n"
    "  --stdin           read TEXT from standard input instead of the argument\n";

int cli_tokenize(int argc, char **argv) {
    const char *model = NULL, *text = NULL;
    bool as_json = false, special = false, from_stdin = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(TOKENIZE_HELP, stdout);
            return 0;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (++i >= argc) return cli_usage_error("tokenize", "%s needs a FILE", a);
            model = argv[i];
        } else if (!strcmp(a, "--json")) {
            as_json = true;
        } else if (!strcmp(a, "--special")) {
            special = true;
        } else if (!strcmp(a, "--stdin")) {
            from_stdin = true;
        } else if (!strcmp(a, "--")) {
            if (++i < argc) text = argv[i];
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("tokenize", "unknown option '%s'", a);
        } else if (!text) {
            text = a;
        } else {
            return cli_usage_error("tokenize", "give TEXT as one argument (quote it)");
        }
    }
    if (!model) return cli_usage_error("tokenize", "missing -m FILE");
    char *owned = NULL;
    size_t len;
    dl_error err = {0};
    if (from_stdin) {
        owned = dl_read_file("/dev/stdin", &len, &err);
        if (!owned) return cli_fail("%s", err.msg);
        text = owned;
    } else {
        if (!text) return cli_usage_error("tokenize", "missing TEXT");
        len = strlen(text);
    }
    int rc = 1;
    dl_gguf *g = dl_gguf_open(model, &err);
    dl_tokenizer *t = g ? dl_tokenizer_load(g, &err) : NULL;
    int32_t *ids = NULL;
    size_t n = 0;
    if (!t || dl_tokenize(t, text, len, special, special, &ids, &n, &err) != 0) {
        cli_fail("%s", err.msg);
        goto out;
    }
    char piece[256];
    if (as_json) {
        fputs("{\"ids\": [", stdout);
        for (size_t i = 0; i < n; i++) printf("%s%d", i ? ", " : "", ids[i]);
        fputs("], \"pieces\": [", stdout);
        for (size_t i = 0; i < n; i++) {
            size_t pl = dl_token_to_piece(t, ids[i], true, piece, sizeof piece);
            fputs(i ? ", \"" : "\"", stdout);
            cli_json_escape(stdout, piece, pl < sizeof piece ? pl : sizeof piece);
            fputc('"', stdout);
        }
        fputs("]}\n", stdout);
    } else {
        for (size_t i = 0; i < n; i++) {
            size_t pl = dl_token_to_piece(t, ids[i], true, piece, sizeof piece);
            printf("%6d  '", ids[i]);
            cli_json_escape(stdout, piece, pl < sizeof piece ? pl : sizeof piece);
            fputs("'\n", stdout);
        }
    }
    rc = 0;
out:
    free(ids);
    dl_tokenizer_free(t);
    dl_gguf_close(g);
    free(owned);
    return rc;
}
