/* deliberate run: raw completion of a prompt (no chat template). */
#include <stdlib.h>
#include <string.h>

#include "../model/model.h"
#include "../sample/sample.h"
#include "cli.h"

static const char RUN_HELP[] =
    "usage: deliberate run -m FILE -p PROMPT [options]\n"
    "\n"
    "Completes PROMPT with the model in FILE and prints the generated text\n"
    "(not the prompt) as it is produced. BOS is added when the vocabulary asks\n"
    "for it and special-token text in PROMPT is parsed. Generation stops after\n"
    "N tokens or at an end-of-generation token.\n"
    "\n"
    "  -m, --model FILE       GGUF model (llama, qwen2, qwen3)\n"
    "  -p, --prompt PROMPT    prompt text\n"
    "  -n, --n-predict N      tokens to generate (default 128)\n"
    "  -c, --ctx-size N       context length (default: min(model's, 4096))\n"
    "  -t, --threads N        threads (default: number of cores)\n"
    "  --kv-type T            KV cache element type: f32 (default) or f16 (half the memory)\n"
    "  --temp T               temperature; 0 = greedy (default 0.8)\n"
    "  --top-k K              keep the K most likely tokens; 0 = off (default 40)\n"
    "  --top-p P              nucleus sampling; 1 = off (default 0.95)\n"
    "  --min-p P              drop tokens below P x the top probability; 0 = off (default 0.05)\n"
    "  --repeat-penalty R     repetition penalty; 1 = off (default 1)\n"
    "  --frequency-penalty F  (default 0)\n"
    "  --presence-penalty F   (default 0)\n"
    "  --repeat-last-n N      tokens the penalties look back over (default 64)\n"
    "  --seed S               RNG seed (default 0); the same seed gives the same tokens\n"
    "  --echo                 print the prompt before the completion\n"
    "  --isa NAME             force the kernels' instruction set (scalar, avx2, avx512)\n"
    "  --json                 print one JSON object: prompt_ids, generated_ids, text, timings\n"
    "  --top-logits K         with --json: last_top, the K highest [id, logit] pairs at the\n"
    "                         last prompt position\n";

typedef struct run_opts {
    const char *model, *prompt, *isa;
    long n_predict, top_logits;
    bool json, echo;
    cli_engine_opts e;
} run_opts;

static int parse(int argc, char **argv, run_opts *o) {
    o->n_predict = 128;
    o->e.sp = dl_sampler_default_params();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                                \
    do {                                                                            \
        if (!v) return cli_usage_error("run", "option %s needs a value", a);       \
        i++;                                                                        \
    } while (0)
#define BAD(what) return cli_usage_error("run", "%s: '%s' is not " what, a, v)
        int eo = cli_parse_engine_opt("run", argc, argv, &i, &o->e);
        if (eo == 2) return 2;
        if (eo == 1) continue;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(RUN_HELP, stdout);
            return 1;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            NEED_VALUE();
            o->model = v;
        } else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) {
            NEED_VALUE();
            o->prompt = v;
        } else if (!strcmp(a, "-n") || !strcmp(a, "--n-predict")) {
            NEED_VALUE();
            if (!cli_parse_long(v, 0, 1000000, &o->n_predict)) BAD("a count from 0 to 1000000");
        } else if (!strcmp(a, "--top-logits")) {
            NEED_VALUE();
            if (!cli_parse_long(v, 1, 1 << 24, &o->top_logits)) BAD("a count >= 1");
        } else if (!strcmp(a, "--isa")) {
            NEED_VALUE();
            o->isa = v;
        } else if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (!strcmp(a, "--echo")) {
            o->echo = true;
        } else {
            return cli_usage_error("run", "unknown argument '%s'", a);
        }
#undef NEED_VALUE
#undef BAD
    }
    if (!o->model) return cli_usage_error("run", "missing -m FILE");
    if (!o->prompt) return cli_usage_error("run", "missing -p PROMPT");
    if (o->top_logits && !o->json) return cli_usage_error("run", "--top-logits needs --json");
    return 0;
}

static void print_ids(const char *name, const int32_t *ids, size_t n) {
    printf("\"%s\": [", name);
    for (size_t i = 0; i < n; i++) printf("%s%d", i ? ", " : "", ids[i]);
    fputs("]", stdout);
}

int cli_run(int argc, char **argv) {
    run_opts o = {0};
    int prc = parse(argc, argv, &o);
    if (prc == 1) return 0; /* --help */
    if (prc) return prc;
    if (o.isa && dl_kernels_set_isa(o.isa) != 0)
        return cli_usage_error("run", "--isa: '%s' is unknown or not supported by this CPU", o.isa);

    int rc = 1;
    dl_error err = {0};
    dl_model *m = NULL;
    dl_context *c = NULL;
    dl_sampler *s = NULL;
    int32_t *prompt_ids = NULL, *gen = NULL;
    int32_t *top = NULL;
    float *top_val = NULL;
    size_t n_prompt = 0, n_gen = 0;
    dl_buf text = {0};

    double t0 = dl_time_ms();
    m = dl_model_load(o.model, o.json ? NULL : cli_progress, (void *)"loading", &err);
    if (!m) {
        cli_fail("%s", err.msg);
        goto out;
    }
    double load_ms = dl_time_ms() - t0;
    const dl_hparams *hp = dl_model_hparams(m);
    const dl_tokenizer *tok = dl_model_tokenizer(m);
    dl_context_params cp = {.n_ctx = (int32_t)o.e.n_ctx, .n_threads = (int)o.e.n_threads, .kv_type = o.e.kv_type};
    c = dl_context_create(m, &cp, &err);
    if (!c) {
        cli_fail("%s", err.msg);
        goto out;
    }
    if (dl_tokenize(tok, o.prompt, strlen(o.prompt), true, true, &prompt_ids, &n_prompt, &err) != 0) {
        cli_fail("prompt: %s", err.msg);
        goto out;
    }
    if (n_prompt == 0) {
        cli_fail("prompt: the prompt is empty and the vocabulary adds no BOS token; nothing to complete");
        goto out;
    }
    if ((int64_t)n_prompt > dl_context_n_ctx(c)) {
        cli_fail("prompt: %zu tokens exceed the context of %d tokens (use -c to enlarge it)", n_prompt,
                 dl_context_n_ctx(c));
        goto out;
    }
    s = dl_sampler_new(&o.e.sp, hp->n_vocab);
    for (size_t i = 0; i < n_prompt; i++) dl_sampler_accept(s, prompt_ids[i]);

    double tp = dl_time_ms();
    if (dl_context_decode(c, prompt_ids, (int32_t)n_prompt, false, &err) != 0) {
        cli_fail("%s", err.msg);
        goto out;
    }
    double prompt_ms = dl_time_ms() - tp;
    if (o.top_logits) {
        int32_t k = (int32_t)DL_MIN(o.top_logits, hp->n_vocab);
        top = dl_xmalloc((size_t)k * sizeof(int32_t));
        top_val = dl_xmalloc((size_t)k * sizeof(float));
        dl_top_k_indices(dl_context_logits(c, 0), hp->n_vocab, k, top);
        for (int32_t i = 0; i < k; i++) top_val[i] = dl_context_logits(c, 0)[top[i]];
        o.top_logits = k;
    }
    if (o.echo && !o.json) {
        fputs(o.prompt, stdout);
        fflush(stdout);
    }
    dl_detok dt;
    dl_detok_init(&dt, tok, false);
    dt.first = false; /* the text continues the prompt: keep its leading space */
    gen = dl_xmalloc((size_t)(o.n_predict + 1) * sizeof(int32_t));
    double tg = dl_time_ms();
    const char *stop = "length";
    for (long i = 0; i < o.n_predict; i++) {
        int32_t id = dl_sampler_sample(s, dl_context_logits(c, 0));
        gen[n_gen++] = id;
        dl_sampler_accept(s, id);
        if (dl_tokenizer_is_eog(tok, id)) {
            stop = "eog";
            break;
        }
        size_t before = text.len;
        dl_detok_push(&dt, id, &text);
        if (!o.json && text.len > before) {
            fwrite(text.data + before, 1, text.len - before, stdout);
            fflush(stdout);
        }
        if (i + 1 == o.n_predict) break;
        if (dl_context_n_past(c) >= dl_context_n_ctx(c)) {
            stop = "context";
            dl_log(DL_LOG_WARN, "stopping: the context of %d tokens is full", dl_context_n_ctx(c));
            break;
        }
        if (dl_context_decode(c, &id, 1, false, &err) != 0) {
            cli_fail("%s", err.msg);
            goto out;
        }
    }
    double gen_ms = dl_time_ms() - tg;
    size_t before = text.len;
    dl_detok_flush(&dt, &text);
    if (!o.json) {
        if (text.len > before) fwrite(text.data + before, 1, text.len - before, stdout);
        fputc('\n', stdout);
        fflush(stdout);
        fprintf(stderr, "prompt: %zu tokens, %.1f tokens/s | generated: %zu tokens, %.1f tokens/s | load %.0f ms\n",
                n_prompt, prompt_ms > 0 ? 1000.0 * (double)n_prompt / prompt_ms : 0.0, n_gen,
                gen_ms > 0 ? 1000.0 * (double)n_gen / gen_ms : 0.0, load_ms);
    } else {
        fputc('{', stdout);
        print_ids("prompt_ids", prompt_ids, n_prompt);
        fputs(", ", stdout);
        print_ids("generated_ids", gen, n_gen);
        fputs(", \"text\": \"", stdout);
        cli_json_escape(stdout, text.data ? text.data : "", text.len);
        printf("\", \"stop\": \"%s\", \"timings\": {\"load_ms\": %.3f, \"prompt_ms\": %.3f, "
               "\"prompt_tokens_per_s\": %.3f, \"gen_ms\": %.3f, \"gen_tokens_per_s\": %.3f}",
               stop, load_ms, prompt_ms, prompt_ms > 0 ? 1000.0 * (double)n_prompt / prompt_ms : 0.0, gen_ms,
               gen_ms > 0 ? 1000.0 * (double)n_gen / gen_ms : 0.0);
        if (top) {
            fputs(", \"last_top\": [", stdout);
            for (long i = 0; i < o.top_logits; i++)
                printf("%s[%d, %.9g]", i ? ", " : "", top[i], (double)top_val[i]);
            fputc(']', stdout);
        }
        fputs("}\n", stdout);
    }
    rc = 0;
out:
    dl_buf_free(&text);
    free(top);
    free(top_val);
    free(gen);
    free(prompt_ids);
    dl_sampler_free(s);
    dl_context_free(c);
    dl_model_free(m);
    return rc;
}
