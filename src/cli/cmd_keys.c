/* deliberate keys create|list|revoke: manages the API keys the server
 * accepts, in the SQLite store. The secret of a new key is printed once, on
 * stdout alone (so `KEY=$(deliberate keys create ...)` works); everything
 * said around it goes to stderr. */
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../store/store.h"
#include "cli.h"

static const char KEYS_HELP[] =
    "usage: deliberate keys create --project NAME [--name LABEL] [--db FILE] [--json]\n"
    "       deliberate keys list [--db FILE] [--json]\n"
    "       deliberate keys revoke ID [--db FILE]\n"
    "\n"
    "Manages the API keys the server accepts. Keys live in an SQLite database\n"
    "beside its secret file (FILE.secret); the database keeps only a keyed hash\n"
    "of each key, so a key is shown once, when it is created.\n"
    "\n"
    "  create       creates a key in project NAME (the project is created if\n"
    "               needed) and prints the key on stdout\n"
    "  list         every key: id, project, prefix, name, created, last used,\n"
    "               revoked (never the key itself)\n"
    "  revoke ID    revokes key ID: requests using it are refused from then on\n"
    "\n"
    "  --project NAME  project of the new key: 1-64 characters of A-Z a-z 0-9 _ . -\n"
    "  --name LABEL    a label for the new key (at most 64 bytes)\n"
    "  --db FILE       the database (default: $DELIBERATE_DB, else ./deliberate.db)\n"
    "  --json          JSON output\n"
    "\n"
    "'deliberate keys <command> --help' describes one command.\n";

static const char CREATE_HELP[] =
    "usage: deliberate keys create --project NAME [--name LABEL] [--db FILE] [--json]\n"
    "\n"
    "Creates an API key in project NAME (created if needed) and prints the key\n"
    "(\"dlk-\" + 40 characters) on stdout. It is shown only this once: the\n"
    "database keeps a keyed hash of it. The database and its secret file are\n"
    "created if missing.\n"
    "\n"
    "  --project NAME  1-64 characters of A-Z a-z 0-9 _ . -\n"
    "  --name LABEL    a label to recognise the key by (at most 64 bytes)\n"
    "  --db FILE       the database (default: $DELIBERATE_DB, else ./deliberate.db)\n"
    "  --json          one JSON object: id, project, prefix, name, created_at, key\n";

static const char LIST_HELP[] =
    "usage: deliberate keys list [--db FILE] [--json]\n"
    "\n"
    "Lists every API key, oldest first: id, project, prefix (the key's first 8\n"
    "characters), name, when it was created, last used (to the minute) and\n"
    "revoked. Times are UTC.\n"
    "\n"
    "  --db FILE   the database (default: $DELIBERATE_DB, else ./deliberate.db)\n"
    "  --json      a JSON array; times as unix seconds, null when never\n";

static const char REVOKE_HELP[] =
    "usage: deliberate keys revoke ID [--db FILE]\n"
    "\n"
    "Revokes key ID (see 'deliberate keys list'): the server refuses it from\n"
    "then on. Revoking a revoked key is not an error; an unknown ID is.\n"
    "\n"
    "  --db FILE   the database (default: $DELIBERATE_DB, else ./deliberate.db)\n";

typedef struct keys_args {
    const char *sub, *project, *name, *db, *id;
    bool json, help;
    long key_id; /* revoke: the parsed ID */
} keys_args;

/* Parses argv into *a; returns 0, or 2 after a usage error. */
static int parse_args(int argc, char **argv, keys_args *a) {
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            a->help = true;
        } else if (!strcmp(s, "--json")) {
            a->json = true;
        } else if (!strcmp(s, "--project") || !strcmp(s, "--name") || !strcmp(s, "--db")) {
            if (i + 1 >= argc) return cli_usage_error("keys", "option %s needs a value", s);
            const char *v = argv[++i];
            if (!strcmp(s, "--project")) a->project = v;
            else if (!strcmp(s, "--name")) a->name = v;
            else a->db = v;
        } else if (s[0] == '-' && s[1]) {
            return cli_usage_error("keys", "unknown option '%s'", s);
        } else if (!a->sub) {
            a->sub = s;
        } else if (!a->id) {
            a->id = s;
        } else {
            return cli_usage_error("keys", "unexpected argument '%s'", s);
        }
    }
    return 0;
}

/* The subcommand's help, or the general one. */
static const char *help_for(const char *sub) {
    if (sub && !strcmp(sub, "create")) return CREATE_HELP;
    if (sub && !strcmp(sub, "list")) return LIST_HELP;
    if (sub && !strcmp(sub, "revoke")) return REVOKE_HELP;
    return KEYS_HELP;
}

/* Checks the options fit the subcommand; 0 or 2 after a usage error. */
static int check_args(keys_args *a) {
    if (!a->sub) return cli_usage_error("keys", "missing command: create, list or revoke");
    bool create = !strcmp(a->sub, "create"), list = !strcmp(a->sub, "list"), revoke = !strcmp(a->sub, "revoke");
    if (!create && !list && !revoke)
        return cli_usage_error("keys", "unknown command '%s' (create, list or revoke)", a->sub);
    if (!create && a->project) return cli_usage_error("keys", "--project is an option of 'keys create' only");
    if (!create && a->name) return cli_usage_error("keys", "--name is an option of 'keys create' only");
    if (revoke && a->json) return cli_usage_error("keys", "--json is not an option of 'keys revoke'");
    if (create && !a->project) return cli_usage_error("keys", "create: missing --project NAME");
    if (revoke && !a->id) return cli_usage_error("keys", "revoke: missing ID");
    if (revoke && !cli_parse_long(a->id, 1, LONG_MAX, &a->key_id))
        return cli_usage_error("keys", "revoke: '%s' is not a key id (see 'deliberate keys list')", a->id);
    if (!revoke && a->id) return cli_usage_error("keys", "%s: unexpected argument '%s'", a->sub, a->id);
    if (a->db && !*a->db) return cli_usage_error("keys", "--db needs a file name");
    return 0;
}

static void format_time(int64_t t, char *buf, size_t cap) {
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%d %H:%M:%SZ", &tm)) snprintf(buf, cap, "%lld", (long long)t);
}

static json_t *time_or_null(int64_t t) { return t ? json_integer((json_int_t)t) : json_null(); }

static json_t *key_json(const dl_key_info *k) {
    return json_pack("{s:I, s:s, s:s, s:s, s:I, s:o, s:o, s:b}", "id", (json_int_t)k->id, "project", k->project,
                     "prefix", k->prefix, "name", k->name, "created_at", (json_int_t)k->created_at, "last_used_at",
                     time_or_null(k->last_used_at), "revoked_at", time_or_null(k->revoked_at), "revoked",
                     k->revoked_at != 0);
}

static void print_json(json_t *j) {
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(j);
}

static int do_create(dl_store *s, const keys_args *a) {
    dl_error err = {0};
    char *secret = NULL;
    dl_key_info k;
    if (dl_store_key_create(s, a->project, a->name, &secret, &k, &err) < 0)
        return err.status == 400 ? cli_usage_error("keys", "%s", err.msg) : cli_fail("%s", err.msg);
    if (a->json) {
        json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:I, s:s}", "id", (json_int_t)k.id, "project", k.project, "prefix",
                              k.prefix, "name", k.name, "created_at", (json_int_t)k.created_at, "key", secret);
        print_json(j);
    } else {
        printf("%s\n", secret);
    }
    fflush(stdout);
    fprintf(stderr, "Created API key %lld in project '%s'%s%s%s.\n", (long long)k.id, k.project,
            k.name[0] ? " (name '" : "", k.name, k.name[0] ? "')" : "");
    fputs("This key will not be shown again: store it now.\n", stderr);
    size_t n = strlen(secret);
    memset(secret, 0, n);
    free(secret);
    return 0;
}

static int do_list(dl_store *s, const keys_args *a) {
    dl_error err = {0};
    dl_key_info *keys = NULL;
    size_t n = 0;
    if (dl_store_key_list(s, &keys, &n, &err) < 0) return cli_fail("%s", err.msg);
    if (a->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) json_array_append_new(arr, key_json(&keys[i]));
        print_json(arr);
        free(keys);
        return 0;
    }
    if (n == 0) {
        printf("No API keys (create one with 'deliberate keys create --project NAME').\n");
        free(keys);
        return 0;
    }
    int wp = (int)strlen("PROJECT"), wn = (int)strlen("NAME");
    for (size_t i = 0; i < n; i++) {
        wp = DL_MAX(wp, (int)strlen(keys[i].project));
        wn = DL_MAX(wn, (int)strlen(keys[i].name));
    }
    printf("%-6s %-*s %-8s  %-*s %-20s %-20s %s\n", "ID", wp, "PROJECT", "PREFIX", wn, "NAME", "CREATED", "LAST USED",
           "REVOKED");
    for (size_t i = 0; i < n; i++) {
        const dl_key_info *k = &keys[i];
        char created[40], used[40], revoked[40];
        format_time(k->created_at, created, sizeof created);
        if (k->last_used_at) format_time(k->last_used_at, used, sizeof used);
        else snprintf(used, sizeof used, "never");
        if (k->revoked_at) format_time(k->revoked_at, revoked, sizeof revoked);
        else snprintf(revoked, sizeof revoked, "-");
        printf("%-6lld %-*s %-8s  %-*s %-20s %-20s %s\n", (long long)k->id, wp, k->project, k->prefix, wn, k->name,
               created, used, revoked);
    }
    free(keys);
    return 0;
}

static int do_revoke(dl_store *s, const keys_args *a) {
    dl_error err = {0};
    if (dl_store_key_revoke(s, (int64_t)a->key_id, &err) < 0) return cli_fail("%s", err.msg);
    printf("Revoked API key %ld.\n", a->key_id);
    return 0;
}

int cli_keys(int argc, char **argv) {
    keys_args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc;
    if (a.help) {
        fputs(help_for(a.sub), stdout);
        return 0;
    }
    if ((rc = check_args(&a))) return rc;
    if (!a.db) {
        const char *env = getenv("DELIBERATE_DB");
        a.db = env && *env ? env : "deliberate.db";
    }
    bool create = !strcmp(a.sub, "create");
    /* only create makes a new database: a mistyped --db should not */
    if (!create && access(a.db, F_OK) != 0)
        return cli_fail("%s: no such database (create a key first, or give --db FILE)", a.db);
    dl_error err = {0};
    dl_store *s = dl_store_open(a.db, &err);
    if (!s) return cli_fail("%s", err.msg);
    if (create) rc = do_create(s, &a);
    else if (!strcmp(a.sub, "list")) rc = do_list(s, &a);
    else rc = do_revoke(s, &a);
    dl_store_close(s);
    return rc;
}
