/* deliberate — entry point: dispatches to the subcommands. */
#include <string.h>

#include "cli.h"

static void usage(FILE *f) {
    fputs("usage: deliberate <command> [options]\n"
          "\n"
          "Runs GGUF reasoning models on the CPU and serves them over the OpenAI API.\n"
          "\n"
          "commands:\n"
          "  info FILE [--json]            metadata, architecture, sizes and tensor types of a GGUF file\n"
          "  tokenize -m FILE [--json] [--special] TEXT\n"
          "                                token ids (and pieces) of TEXT\n"
          "  run -m FILE -p PROMPT [...]   raw completion of PROMPT\n"
          "  chat [-m FILE] [-p PROMPT] [...]\n"
          "                                chat with a reasoning model: hidden thinking, effort,\n"
          "                                n-sample voting, reasoning summaries (default model:\n"
          "                                the built-in models/deliberate-mini.gguf)\n"
          "  serve [-m NAME=PATH] [...]    the OpenAI-compatible API server\n"
          "  moderate [--json] TEXT|-      the safety stack's verdict on a text\n"
          "  keys create|list|revoke [...] API keys for the server (kept in an SQLite database)\n"
          "  safety train|eval [...]       train and evaluate the stage-1 safety classifier\n"
          "  eval run|list|runs|show|grade|report|compare|gate [...]\n"
          "                                the evaluation hub: safety and reasoning evals against\n"
          "                                any model, stored runs, reports, the deployment gate\n"
          "  train sft|sample|eval [...]   train the built-in reasoning model on generated problems\n"
          "\n"
          "'deliberate <command> --help' describes each command.\n",
          f);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "info")) return cli_info(argc - 1, argv + 1);
    if (!strcmp(cmd, "tokenize")) return cli_tokenize(argc - 1, argv + 1);
    if (!strcmp(cmd, "run")) return cli_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "chat")) return cli_chat(argc - 1, argv + 1);
    if (!strcmp(cmd, "safety")) return cli_safety(argc - 1, argv + 1);
    if (!strcmp(cmd, "serve")) return cli_serve(argc - 1, argv + 1);
    if (!strcmp(cmd, "moderate")) return cli_moderate(argc - 1, argv + 1);
    if (!strcmp(cmd, "keys")) return cli_keys(argc - 1, argv + 1);
    if (!strcmp(cmd, "eval")) return cli_eval(argc - 1, argv + 1);
    if (!strcmp(cmd, "train")) return cli_train(argc - 1, argv + 1);
    fprintf(stderr, "deliberate: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
