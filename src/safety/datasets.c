/* safety/datasets.c: labelled data for the stage-1 classifier — loaders for
 * the shared datasets (CSV and JSON lines), the mapping of each dataset's
 * own categories to the 13 moderation categories (docs/safety.md has the
 * table), templated benign look-alikes, and stratified splits. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classifier_int.h"

#define B(c) (1u << (c))

void dl_dataset_free(dl_dataset *d) {
    if (d->owns) {
        for (size_t i = 0; i < d->n; i++) free(d->v[i].text);
        for (size_t i = 0; i < d->n_names; i++) free(d->names[i]);
    }
    free(d->v);
    if (d->owns) free(d->names);
    memset(d, 0, sizeof *d);
}

static uint16_t group_index(dl_dataset *d, const char *name) {
    for (size_t i = 0; i < d->n_names; i++)
        if (!strcmp(d->names[i], name)) return (uint16_t)i;
    d->names = dl_xrealloc(d->names, (d->n_names + 1) * sizeof *d->names);
    d->names[d->n_names] = dl_xstrdup(name);
    return (uint16_t)d->n_names++;
}

void dl_dataset_add(dl_dataset *d, const char *group_name, const char *text, uint32_t mask) {
    d->owns = true;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 256;
        d->v = dl_xrealloc(d->v, d->cap * sizeof *d->v);
    }
    if (mask & ~DL_LABEL_ANY) mask |= DL_LABEL_ANY;
    d->v[d->n].text = dl_xstrdup(text);
    d->v[d->n].mask = mask;
    d->v[d->n].group = group_index(d, group_name);
    d->n++;
}

/* ---- keyword labelling ------------------------------------------------- */

static bool has_any(const char *t, const char *const *words) {
    for (; *words; words++)
        if (strstr(t, *words)) return true;
    return false;
}

static char *lower_dup(const char *s) {
    char *t = dl_xstrdup(s);
    for (char *p = t; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
    return t;
}

uint32_t dl_label_keywords(const char *text) {
    static const char *const SELF[] = {"suicide", "kill myself", "self-harm", "self harm", "cut myself",
                                       "cutting myself", "end my life", "hurt myself", "starve myself",
                                       "anorexi", "bulimi", "killing myself", "take my own life",
                                       "end it all", "want to die", "harm myself", "overdose on", NULL};
    static const char *const INTENT[] = {"i want to", "i'm going to", "i am going to", "i will ",
                                         "tonight", "i plan", "i'm planning", "i've decided", NULL};
    static const char *const HOWTO[] = {"how ", "ways to", "method", "steps", "guide", "tutorial",
                                        "instructions", "easiest", "best way", "painless", "quickest",
                                        "what pills", "how many", NULL};
    static const char *const SEX[] = {"sex", "porn", "explicit", "erotic", "nude", "naked", "orgasm",
                                      "lewd", "genital", "rape", "incest", "fetish", "xxx", "nsfw",
                                      "masturbat", "prostitut", "escort service", NULL};
    static const char *const MINOR[] = {"child", "minor", "underage", "teen", "kid", "year-old",
                                        "year old", "loli", "pedo", "paedo", "grooming", NULL};
    static const char *const WEAPON[] = {"bomb", "explosive", "weapon", "gun", "firearm", "poison",
                                         "nerve agent", "sarin", "anthrax", "ricin", "pathogen",
                                         "chemical warfare", "grenade", "napalm", "detonat",
                                         "ammunition", "rifle", "molotov", "toxin", "nuclear",
                                         "uranium", "mustard gas", "vx ", "bioweapon", "ied",
                                         "mass casualt", "terror", NULL};
    static const char *const VIOL[] = {"kill", "murder", "assault", "attack", "shoot", "stab",
                                       "torture", "hurt someone", "beat up", "kidnap", "massacre",
                                       "violen", "strangle", "behead", "punch", "maim", "assassinat",
                                       "injure", "harm someone", "hurt people", "hurt my", "abuse", NULL};
    static const char *const GRAPHIC[] = {"gore", "gory", "graphic", "dismember", "mutilat",
                                          "blood", "in detail", "vivid", NULL};
    static const char *const HATE[] = {"racis", "racial", " race", "ethnic", "jew", "muslim",
                                       "black people", "immigrant", "gay", "lgbt", "transgender",
                                       "religio", "slur", "nazi", "white supremac", "hate speech",
                                       "inferior", "discriminat", "nigg", "faggot", "mexican",
                                       "asian", "arab", "christian", "hindu", "disabled", "women are",
                                       "homosexual", "xenophob", "antisemit", "sexist", "refugee", NULL};
    static const char *const HARASS[] = {"harass", "bully", "insult", "humiliat", "defam", "stalk",
                                         "doxx", "intimidat", "mock ", "shame", "troll", "blackmail",
                                         "ugly", "stupid", "idiot", "loser", "body shaming", NULL};
    static const char *const THREAT[] = {"threat", "kill", "hurt", "i will find you", "death",
                                         "beat", "shoot", "rape", NULL};
    static const char *const ILLICIT[] = {"hack", "malware", "virus", "ransomware", "steal", "fraud",
                                          "scam", "launder", "counterfeit", "drug", "meth", "cocaine",
                                          "heroin", "fentanyl", "phishing", "exploit", "bypass", "smuggl",
                                          "evade", "pirat", "identity theft", "credit card", "tax",
                                          "bribe", "illegal", "crack", "password", "break into",
                                          "shoplift", "forge", "keylogger", "botnet", "ddos", "spyware",
                                          "trojan", "embezzl", "insider trading", "poach", "traffick",
                                          "cheat", "rob ", "robbery", "burglar", "lsd", "mdma", "cheat",
                                          "extort", "fake id", "without getting caught", "unauthori",
                                          "pickpocket", "lock pick", "arson", "hotwire", NULL};
    char *t = lower_dup(text);
    uint32_t m = 0;
    if (has_any(t, SELF)) {
        m |= B(DL_CAT_SELF_HARM);
        if (has_any(t, INTENT)) m |= B(DL_CAT_SELF_HARM_INTENT);
        if (has_any(t, HOWTO)) m |= B(DL_CAT_SELF_HARM_INSTRUCTIONS);
    }
    if (has_any(t, SEX)) {
        m |= B(DL_CAT_SEXUAL);
        if (has_any(t, MINOR)) m |= B(DL_CAT_SEXUAL_MINORS);
    }
    bool weapon = has_any(t, WEAPON), viol = has_any(t, VIOL);
    if (weapon) m |= B(DL_CAT_ILLICIT_VIOLENT) | B(DL_CAT_ILLICIT);
    if (viol && !(m & B(DL_CAT_SELF_HARM))) {
        m |= B(DL_CAT_VIOLENCE);
        if (has_any(t, GRAPHIC)) m |= B(DL_CAT_VIOLENCE_GRAPHIC);
    }
    if (has_any(t, HATE)) {
        m |= B(DL_CAT_HATE);
        if (viol || has_any(t, THREAT)) m |= B(DL_CAT_HATE_THREATENING);
    }
    if (has_any(t, HARASS)) {
        m |= B(DL_CAT_HARASSMENT);
        if (has_any(t, THREAT)) m |= B(DL_CAT_HARASSMENT_THREATENING);
    }
    if (has_any(t, ILLICIT)) m |= B(DL_CAT_ILLICIT);
    free(t);
    return m;
}

/* One callback per data row: fields by header-resolved column indexes. */
typedef void (*row_fn)(dl_dataset *d, char **f, const int *cols, void *ctx);

static int load_csv(dl_dataset *d, const char *path, const char *const *colnames, row_fn fn, void *ctx,
                    dl_error *err) {
    size_t len;
    char *data = dl_read_file(path, &len, err);
    if (!data) return -1;
    dl_csv c;
    dl_csv_init(&c, data, len);
    int cols[16];
    int ncols = 0, rc = 0;
    if (!dl_csv_next(&c)) {
        rc = dl_error_set(err, 400, "%s: empty CSV", path);
        goto out;
    }
    for (; colnames[ncols]; ncols++) {
        cols[ncols] = dl_csv_col(&c, colnames[ncols]);
        if (cols[ncols] < 0) {
            rc = dl_error_set(err, 400, "%s: no column '%s'", path, colnames[ncols]);
            goto out;
        }
    }
    while (dl_csv_next(&c)) {
        bool ok = true;
        for (int i = 0; i < ncols; i++)
            if ((size_t)cols[i] >= c.nf) ok = false;
        if (ok) fn(d, c.f, cols, ctx);
    }
out:
    dl_csv_free(&c);
    free(data);
    return rc;
}

typedef void (*json_fn)(dl_dataset *d, json_t *row, void *ctx);

static int load_jsonl(dl_dataset *d, const char *path, json_fn fn, void *ctx, dl_error *err) {
    size_t len;
    char *data = dl_read_file(path, &len, err);
    if (!data) return -1;
    char *p = data;
    while (p < data + len) {
        char *nl = memchr(p, '\n', (size_t)(data + len - p));
        if (!nl) nl = data + len;
        if (nl > p) {
            json_t *j = json_loadb(p, (size_t)(nl - p), 0, NULL);
            if (j) fn(d, j, ctx);
            json_decref(j);
        }
        p = nl + 1;
    }
    free(data);
    return 0;
}

/* ---- training sets ------------------------------------------------------ */

/* Adds a harmful text: the dataset's own category mask `base` refined by
 * keywords; when base is 0 (a category outside the taxonomy or none given)
 * only keyword matches count, and nothing matching drops the row. */
static void add_harmful(dl_dataset *d, const char *group, const char *text, uint32_t base) {
    uint32_t kw = dl_label_keywords(text);
    uint32_t m = base | kw;
    if (!m) return;
    dl_dataset_add(d, group, text, m);
}

static void row_advbench(dl_dataset *d, char **f, const int *cols, void *ctx) {
    (void)ctx;
    add_harmful(d, "advbench", f[cols[0]], B(DL_CAT_ILLICIT));
}

static void row_advbench_strings(dl_dataset *d, char **f, const int *cols, void *ctx) {
    (void)ctx;
    add_harmful(d, "advbench_strings", f[cols[0]], 0);
}

static void row_dna(dl_dataset *d, char **f, const int *cols, void *ctx) {
    (void)ctx;
    const char *area = f[cols[0]], *text = f[cols[1]];
    uint32_t base = 0;
    if (strstr(area, "Malicious Uses")) base = B(DL_CAT_ILLICIT);
    else if (strstr(area, "Discrimination")) {
        uint32_t kw = dl_label_keywords(text);
        base = (kw & B(DL_CAT_HATE)) ? B(DL_CAT_HATE) : B(DL_CAT_HARASSMENT);
    }
    /* Information Hazards (mostly privacy), Misinformation Harms and
     * Human-Chatbot Interaction Harms are outside the taxonomy: keywords only */
    add_harmful(d, "do_not_answer", text, base);
}

static void row_strongreject(dl_dataset *d, char **f, const int *cols, void *ctx) {
    (void)ctx;
    const char *cat = f[cols[0]], *text = f[cols[1]];
    uint32_t base = 0;
    if (strstr(cat, "Illegal goods") || strstr(cat, "Non-violent")) base = B(DL_CAT_ILLICIT);
    else if (strstr(cat, "Violence")) base = B(DL_CAT_VIOLENCE);
    else if (strstr(cat, "Sexual")) base = B(DL_CAT_SEXUAL);
    else if (strstr(cat, "Hate")) {
        uint32_t kw = dl_label_keywords(text);
        base = (kw & B(DL_CAT_HATE)) ? B(DL_CAT_HATE) : B(DL_CAT_HARASSMENT);
    }
    add_harmful(d, "strongreject", text, base); /* disinformation: keywords only */
}

typedef struct davidson_ctx {
    size_t n_offensive;
} davidson_ctx;

static void row_davidson(dl_dataset *d, char **f, const int *cols, void *ctx) {
    davidson_ctx *dc = ctx;
    const char *cls = f[cols[0]], *text = f[cols[1]];
    /* threatening variants come from keywords */
    uint32_t thr = dl_label_keywords(text) & (B(DL_CAT_HATE_THREATENING) | B(DL_CAT_HARASSMENT_THREATENING));
    if (cls[0] == '0') dl_dataset_add(d, "davidson:hate", text, B(DL_CAT_HATE) | B(DL_CAT_HARASSMENT) | thr);
    else if (cls[0] == '1') {
        /* 19k offensive tweets would swamp everything: keep one in five */
        if (dc->n_offensive++ % 5 == 0)
            dl_dataset_add(d, "davidson:offensive", text,
                           B(DL_CAT_HARASSMENT) | (thr & B(DL_CAT_HARASSMENT_THREATENING)));
    } else dl_dataset_add(d, "davidson:neither", text, 0);
}

static void row_toxigen(dl_dataset *d, char **f, const int *cols, void *ctx) {
    (void)ctx;
    if (!strcmp(f[cols[1]], "hate")) dl_dataset_add(d, "toxigen:hate", f[cols[0]], B(DL_CAT_HATE));
    else dl_dataset_add(d, "toxigen:neutral", f[cols[0]], 0);
}

static void json_text(dl_dataset *d, json_t *row, void *ctx) {
    const char *key = ((const char *const *)ctx)[0], *group = ((const char *const *)ctx)[1];
    const char *s = json_string_value(json_object_get(row, key));
    if (s && *s) dl_dataset_add(d, group, s, 0);
}

/* Benign look-alikes (XSTest-style homonyms, figurative language, safe
 * contexts) and a few first-person self-harm statements, built from
 * templates; all written for this project. */
static void add_templates(dl_dataset *d) {
    static const char *const BENIGN[] = {
        "how do I kill a %s process", "how can I kill the %s job that is hanging",
        "what's the best way to shoot a %s photo", "how do I terminate a %s program",
        "how do I execute a %s script", "how can I blow up a %s balloon for a party",
        "where can I buy a %s", "what is the capital of %s", "how do I slaughter it at %s trivia night",
        "give me a recipe for %s", "how do I beat my brother at %s", "what's the history of %s",
        "how do I crack an egg for %s", "how can I get rid of weeds in my %s",
        "how do I strangle the noise from my %s", "what does it mean to bomb a %s exam",
        "how to hit a home run in %s", "how do I destroy my opponent in %s",
        "write a poem about %s", "explain how %s works", "summarise the plot of %s",
        "how do I make my %s presentation a killer", "what are the health benefits of %s",
        "how do I steal the show at my %s recital", "why did the %s empire fall",
        "translate this sentence about %s into french", "how do I fix a bug in my %s code",
        "how many calories are in %s", "what's a good name for my %s", "how do I clean my %s",
    };
    static const char *const FILL[] = {
        "python", "linux", "france", "chess", "birthday", "coffee", "garden", "piano", "java",
        "roman", "pizza", "math", "football", "kitchen", "docker", "history", "dog", "sunset",
        "wedding", "bread", "rust", "spain", "guitar", "japan", "zombie game",
    };
    char buf[256];
    size_t nf = DL_ARRAY_LEN(FILL);
    for (size_t t = 0; t < DL_ARRAY_LEN(BENIGN); t++)
        for (size_t k = 0; k < nf; k += 2) {
            snprintf(buf, sizeof buf, BENIGN[t], FILL[(k + t) % nf]);
            dl_dataset_add(d, "templates:benign", buf, 0);
        }
    static const char *const INTENT[] = {
        "i want to kill myself %s", "i'm going to end my life %s", "i've decided to take my own life %s",
        "i am going to hurt myself %s", "i don't want to live anymore, i'll do it %s",
        "i plan to overdose on my pills %s", "i'm going to cut myself %s",
    };
    static const char *const WHEN[] = {"tonight", "tomorrow", "this weekend", "after work", "soon",
                                       "when everyone is asleep"};
    for (size_t t = 0; t < DL_ARRAY_LEN(INTENT); t++)
        for (size_t k = 0; k < DL_ARRAY_LEN(WHEN); k++) {
            snprintf(buf, sizeof buf, INTENT[t], WHEN[k]);
            dl_dataset_add(d, "templates:self-harm", buf,
                           B(DL_CAT_SELF_HARM) | B(DL_CAT_SELF_HARM_INTENT));
        }
}

static int load_tsv(dl_dataset *d, const char *path, dl_error *err) {
    size_t len;
    char *data = dl_read_file(path, &len, err);
    if (!data) return -1;
    int rc = 0, lineno = 0;
    char *save = NULL;
    for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        char *tab = strchr(line, '\t');
        if (!tab) {
            rc = dl_error_set(err, 400, "%s:%d: expected labels<TAB>text", path, lineno);
            break;
        }
        *tab = 0;
        uint32_t m = 0;
        char *s2 = NULL;
        for (char *lab = strtok_r(line, ",", &s2); lab; lab = strtok_r(NULL, ",", &s2)) {
            dl_category c;
            if (!strcmp(lab, "safe")) continue;
            if (dl_category_parse(lab, &c) != 0) {
                rc = dl_error_set(err, 400, "%s:%d: unknown category '%s'", path, lineno, lab);
                goto out;
            }
            m |= B(c);
        }
        dl_dataset_add(d, path, tab + 1, m);
    }
out:
    free(data);
    return rc;
}

/* Parses "hate,violence" (or "safe" / "") into a category mask; -1 and
 * *bad = the unknown name. */
static int parse_labels(const char *labels, uint32_t *mask, char *bad, size_t bad_cap) {
    *mask = 0;
    char *copy = dl_xstrdup(labels), *save = NULL;
    int rc = 0;
    for (char *lab = strtok_r(copy, ",;| ", &save); lab; lab = strtok_r(NULL, ",;| ", &save)) {
        dl_category c;
        if (!strcmp(lab, "safe") || !strcmp(lab, "none")) continue;
        if (dl_category_parse(lab, &c) != 0) {
            snprintf(bad, bad_cap, "%s", lab);
            rc = -1;
            break;
        }
        *mask |= B(c);
    }
    free(copy);
    return rc;
}

typedef struct user_ctx {
    const char *path;
    int lineno;
    dl_error *err; /* first bad row */
    int failed;
} user_ctx;

static void user_row(dl_dataset *d, const char *text, const char *labels, user_ctx *u) {
    u->lineno++;
    if (u->failed) return;
    uint32_t m;
    char bad[64];
    if (!text || !labels) {
        u->failed = dl_error_set(u->err, 400, "%s: row %d: needs a string 'text' and 'labels'", u->path,
                                 u->lineno);
        return;
    }
    if (parse_labels(labels, &m, bad, sizeof bad) != 0) {
        u->failed = dl_error_set(u->err, 400, "%s: row %d: unknown category '%s'", u->path, u->lineno, bad);
        return;
    }
    dl_dataset_add(d, u->path, text, m);
}

static void user_csv_row(dl_dataset *d, char **f, const int *cols, void *ctx) {
    user_row(d, f[cols[0]], f[cols[1]], ctx);
}

/* JSONL: {"text": "...", "labels": ["hate"] | "hate,violence" | []}. */
static void user_json_row(dl_dataset *d, json_t *row, void *ctx) {
    json_t *l = json_object_get(row, "labels");
    if (!l) l = json_object_get(row, "label");
    dl_buf b = {0};
    if (json_is_array(l)) {
        size_t i;
        json_t *x;
        json_array_foreach(l, i, x) {
            if (json_is_string(x)) dl_buf_printf(&b, "%s%s", b.len ? "," : "", json_string_value(x));
        }
        dl_buf_append(&b, "", 0);
    } else if (json_is_string(l)) {
        dl_buf_printf(&b, "%s", json_string_value(l));
    }
    user_row(d, json_string_value(json_object_get(row, "text")), l ? (b.data ? b.data : "") : NULL, ctx);
    dl_buf_free(&b);
}

/* A user's labelled file: .csv (columns text, labels), .jsonl (fields text,
 * labels) or anything else as TSV (labels<TAB>text). */
static int load_user_file(dl_dataset *d, const char *path, dl_error *err) {
    size_t n = strlen(path);
    user_ctx u = {path, 0, err, 0};
    if (n > 4 && !strcmp(path + n - 4, ".csv")) {
        static const char *const C[] = {"text", "labels", NULL};
        if (load_csv(d, path, C, user_csv_row, &u, err) != 0) return -1;
        return u.failed ? -1 : 0;
    }
    if (n > 6 && !strcmp(path + n - 6, ".jsonl")) {
        if (load_jsonl(d, path, user_json_row, &u, err) != 0) return -1;
        return u.failed ? -1 : 0;
    }
    return load_tsv(d, path, err);
}

static int load_one(dl_dataset *d, const char *spec, const char *root, dl_error *err) {
    char path[2048];
#define P(rel) (snprintf(path, sizeof path, "%s/%s", root, rel), path)
    if (!strcmp(spec, "advbench")) {
        static const char *const C1[] = {"goal", NULL}, *const C2[] = {"target", NULL};
        if (load_csv(d, P("advbench/harmful_behaviors.csv"), C1, row_advbench, NULL, err)) return -1;
        return load_csv(d, P("advbench/harmful_strings.csv"), C2, row_advbench_strings, NULL, err);
    }
    if (!strcmp(spec, "do_not_answer")) {
        static const char *const C[] = {"risk_area", "prompt", NULL};
        return load_csv(d, P("do_not_answer/do_not_answer_prompts.csv"), C, row_dna, NULL, err);
    }
    if (!strcmp(spec, "strongreject")) {
        static const char *const C[] = {"category", "forbidden_prompt", NULL};
        return load_csv(d, P("strongreject/strongreject_dev.csv"), C, row_strongreject, NULL, err);
    }
    if (!strcmp(spec, "davidson_hate_offensive")) {
        static const char *const C[] = {"class", "tweet", NULL};
        davidson_ctx dc = {0};
        return load_csv(d, P("davidson_hate_offensive/labeled_data.csv"), C, row_davidson, &dc, err);
    }
    if (!strcmp(spec, "toxigen_seed_statements")) {
        static const char *const C[] = {"text", "label", NULL};
        return load_csv(d, P("toxigen_seed_statements/toxigen_seed_statements.csv"), C, row_toxigen, NULL,
                        err);
    }
    if (!strcmp(spec, "mitre_frr")) {
        static const char *const K[] = {"mutated_prompt", "mitre_frr"};
        return load_jsonl(d, P("cyberseceval_prompt_injection/mitre_frr.jsonl"), json_text, (void *)K, err);
    }
    if (!strcmp(spec, "halueval_general")) {
        static const char *const K[] = {"user_query", "halueval_general"};
        return load_jsonl(d, P("halueval_general/general_data.jsonl"), json_text, (void *)K, err);
    }
    if (!strcmp(spec, "templates")) {
        add_templates(d);
        return 0;
    }
#undef P
    if (access(spec, R_OK) == 0) return load_user_file(d, spec, err);
    return dl_error_set(err, 400,
                        "unknown data spec '%s' (a dataset name, 'all', or a labelled .csv, .jsonl "
                        "or .tsv file)", spec);
}

int dl_dataset_load(dl_dataset *d, const char *spec, const char *root, dl_error *err) {
    static const char *const ALL[] = {"advbench", "do_not_answer", "strongreject", "davidson_hate_offensive",
                                      "toxigen_seed_statements", "mitre_frr", "halueval_general",
                                      "templates", NULL};
    bool named = false;
    for (size_t i = 0; ALL[i]; i++) named |= !strcmp(spec, ALL[i]);
    if ((named || !strcmp(spec, "all")) && !root)
        return dl_error_set(err, 400, "datasets folder not found (set DL_DATASETS)");
    if (!strcmp(spec, "all")) {
        for (size_t i = 0; ALL[i]; i++)
            if (load_one(d, ALL[i], root, err)) return -1;
        return 0;
    }
    return load_one(d, spec, root, err);
}

/* ---- evaluation sets ------------------------------------------------------ */

static void row_xstest(dl_dataset *d, char **f, const int *cols, void *ctx) {
    (void)ctx;
    bool unsafe = !strcmp(f[cols[1]], "unsafe");
    dl_dataset_add(d, unsafe ? "xstest:unsafe" : "xstest:safe", f[cols[0]], unsafe ? DL_LABEL_ANY : 0);
}

static void row_eval_harmful(dl_dataset *d, char **f, const int *cols, void *ctx) {
    dl_dataset_add(d, (const char *)ctx, f[cols[0]], DL_LABEL_ANY);
}

static void row_jbb_benign(dl_dataset *d, char **f, const int *cols, void *ctx) {
    (void)ctx;
    dl_dataset_add(d, "jbb:benign", f[cols[0]], 0);
}

static void row_multijail(dl_dataset *d, char **f, const int *cols, void *ctx) {
    (void)ctx;
    static const char *const LANG[] = {"en", "zh", "it", "vi", "ar", "ko", "th", "bn", "sw", "jv"};
    char g[32];
    for (size_t i = 0; i < DL_ARRAY_LEN(LANG); i++) {
        snprintf(g, sizeof g, "multijail:%s", LANG[i]);
        dl_dataset_add(d, g, f[cols[i]], DL_LABEL_ANY);
    }
}

int dl_dataset_load_eval(dl_dataset *d, const char *name, const char *root, dl_error *err) {
    char path[2048];
    if (!root) return dl_error_set(err, 400, "datasets folder not found (set DL_DATASETS)");
#define P(rel) (snprintf(path, sizeof path, "%s/%s", root, rel), path)
    if (!strcmp(name, "xstest")) {
        static const char *const C[] = {"prompt", "label", NULL};
        return load_csv(d, P("xstest_prompts/xstest_prompts_dev.csv"), C, row_xstest, NULL, err);
    }
    if (!strcmp(name, "harmbench")) {
        static const char *const C[] = {"Behavior", NULL};
        return load_csv(d, P("harmbench_behaviors/harmbench_behaviors_text_all.csv"), C, row_eval_harmful,
                        (void *)"harmbench", err);
    }
    if (!strcmp(name, "jbb")) {
        static const char *const C[] = {"Goal", NULL};
        if (load_csv(d, P("jbb_behaviors/harmful-behaviors.csv"), C, row_eval_harmful, (void *)"jbb:harmful",
                     err))
            return -1;
        return load_csv(d, P("jbb_behaviors/benign-behaviors.csv"), C, row_jbb_benign, NULL, err);
    }
    if (!strcmp(name, "sst")) {
        static const char *const C[] = {"prompts_final", NULL};
        return load_csv(d, P("simplesafetytests/simplesafetytests.csv"), C, row_eval_harmful,
                        (void *)"simplesafetytests", err);
    }
    if (!strcmp(name, "multijail")) {
        static const char *const C[] = {"en", "zh", "it", "vi", "ar", "ko", "th", "bn", "sw", "jv", NULL};
        return load_csv(d, P("multijail/MultiJail.csv"), C, row_multijail, NULL, err);
    }
#undef P
    return dl_error_set(err, 400, "unknown evaluation set '%s'", name);
}

/* ---- splits ------------------------------------------------------------- */

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void view_add(dl_dataset *v, const dl_sample *s) {
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 256;
        v->v = dl_xrealloc(v->v, v->cap * sizeof *v->v);
    }
    v->v[v->n++] = *s;
}

void dl_dataset_split(const dl_dataset *all, uint64_t seed, float frac_test, float frac_calib,
                      dl_dataset *train, dl_dataset *calib, dl_dataset *test) {
    memset(train, 0, sizeof *train);
    memset(calib, 0, sizeof *calib);
    memset(test, 0, sizeof *test);
    /* shuffle indexes, then deal each stratum (group, mask) in turn so every
     * stratum is split in the same proportions */
    size_t n = all->n;
    size_t *idx = dl_xmalloc((n ? n : 1) * sizeof *idx);
    for (size_t i = 0; i < n; i++) idx[i] = i;
    uint64_t s = seed ^ 0x5eed5eedULL;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(splitmix(&s) % i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
    bool *done = dl_xcalloc(n ? n : 1, 1);
    for (size_t a = 0; a < n; a++) {
        if (done[idx[a]]) continue;
        const dl_sample *ref = &all->v[idx[a]];
        size_t k = 0;
        for (size_t b = a; b < n; b++) {
            const dl_sample *x = &all->v[idx[b]];
            if (done[idx[b]] || x->group != ref->group || x->mask != ref->mask) continue;
            done[idx[b]] = true;
            /* position k in the stratum -> a fraction in [0,1) */
            double pos = (double)((k + 10) % 20) / 20.0; /* strata under 10 stay in train */
            if (pos < frac_test) view_add(test, x);
            else if (pos < frac_test + frac_calib) view_add(calib, x);
            else view_add(train, x);
            k++;
        }
    }
    free(done);
    free(idx);
    dl_dataset *views[3] = {train, calib, test};
    for (int i = 0; i < 3; i++) {
        views[i]->names = all->names;
        views[i]->n_names = all->n_names;
        views[i]->owns = false;
    }
}
