# deliberate — build.  `make` builds the program, tools and benchmarks;
# `make test` builds and runs the test suite; `make BUILD=asan test` does the
# same under AddressSanitizer + UBSan; `make CC=clang` builds with clang.
# Every src/<module>/ folder becomes build/<cfg>/lib<module>.a.

ifeq ($(origin CC),default)
  CC := gcc
endif
BUILD   ?= release
O       := build/$(BUILD)-$(notdir $(CC))

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-unused-parameter
CSTD    := -std=c17 -D_GNU_SOURCE
PKGS_USED  := jansson oniguruma libutf8proc sqlite3 libsodium libcurl libmicrohttpd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS_USED) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS_USED) 2>/dev/null)
# Line editing for `deliberate chat` (BSD libedit), only the CLI links it.
EDIT_CFLAGS := $(shell pkg-config --cflags libedit 2>/dev/null)
EDIT_LIBS   := $(shell pkg-config --libs libedit 2>/dev/null)

ifeq ($(BUILD),release)
  OPT := -O2 -g -fno-math-errno
else ifeq ($(BUILD),asan)
  OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
  LDSAN := -fsanitize=address,undefined
else ifeq ($(BUILD),debug)
  OPT := -O0 -g
else
  $(error BUILD must be release, asan or debug)
endif

CFLAGS  += $(CSTD) $(WARN) $(OPT) $(PKG_CFLAGS) -pthread
LDLIBS  += $(PKG_LIBS) -lcmocka -lm -pthread
LDFLAGS += $(LDSAN)

# Per-file instruction sets, chosen by file name; runtime dispatch lives in kernels/.
AVX2_FLAGS   := -mavx2 -mfma -mf16c
AVX512_FLAGS := -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512dq \
                -mavx512vnni -mavx512bf16

# Modules in dependency order, highest first (a module may use those after it).
.DEFAULT_GOAL := all
MODULES := server eval train safety store reason backend chat sample model kernels tokenizer gguf base
LIBS    := $(foreach m,$(MODULES),$(O)/lib$(m).a)

define module_rules
$(1)_SRC := $$(wildcard src/$(1)/*.c)
$(1)_OBJ := $$(patsubst src/%.c,$(O)/obj/%.o,$$($(1)_SRC))
$(O)/lib$(1).a: $$($(1)_OBJ)
	@mkdir -p $$(dir $$@)
	@rm -f $$@
	$$(AR) rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call module_rules,$(m))))

# Test binaries: tests/<m>/*.c + tests/common/*.c, linked against <m> and below.
TEST_DEPS_base      := base
TEST_DEPS_gguf      := gguf base
TEST_DEPS_tokenizer := tokenizer gguf base
TEST_DEPS_kernels   := kernels gguf base
TEST_DEPS_model     := model kernels tokenizer gguf base
TEST_DEPS_sample    := sample base
TEST_DEPS_chat      := chat base
TEST_DEPS_backend   := backend chat sample model kernels tokenizer gguf base
TEST_DEPS_reason    := reason backend chat sample model kernels tokenizer gguf base
TEST_DEPS_store     := store base
TEST_DEPS_safety    := safety reason backend chat sample model kernels tokenizer gguf base
TEST_DEPS_eval      := eval safety store reason backend chat sample model kernels tokenizer gguf base
TEST_DEPS_train     := train safety store reason backend chat sample model kernels tokenizer gguf base
TEST_DEPS_server    := server safety store reason backend chat sample model kernels tokenizer gguf base
TEST_DEPS_cli       := $(MODULES)
TEST_MODULES := $(foreach m,base gguf tokenizer kernels model sample chat backend reason store safety eval train server cli,$(if $(wildcard tests/$(m)/test_*.c),$(m)))
COMMON_TEST_OBJ := $(patsubst %.c,$(O)/obj/%.o,$(wildcard tests/common/*.c))

# Every tests/<m>/test_*.c is one binary, linked with tests/common and the
# libraries of <m> and those below it.
define test_rules
$(O)/tests/$(1)/%: $(O)/obj/tests/$(1)/%.o $(COMMON_TEST_OBJ) $$(foreach d,$$(TEST_DEPS_$(1)),$(O)/lib$$(d).a)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach m,$(TEST_MODULES),$(eval $(call test_rules,$(m))))
TEST_BINS := $(foreach m,$(TEST_MODULES),$(patsubst tests/$(m)/%.c,$(O)/tests/$(m)/%,$(wildcard tests/$(m)/test_*.c)))

CLI_OBJ   := $(patsubst src/%.c,$(O)/obj/%.o,$(wildcard src/cli/*.c))
TOOL_BINS := $(patsubst tools/%.c,$(O)/%,$(wildcard tools/*.c))
BENCH_BINS:= $(patsubst bench/%.c,$(O)/%,$(wildcard bench/*.c))

.PHONY: all test bins fuzz clean
all: $(O)/deliberate $(TOOL_BINS) $(BENCH_BINS)
	@ln -sf $(O)/deliberate deliberate

$(O)/deliberate: $(CLI_OBJ) $(LIBS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(EDIT_LIBS)

$(O)/%: $(O)/obj/tools/%.o $(LIBS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(O)/%: $(O)/obj/bench/%.o $(LIBS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/obj/%_avx2.o: src/%_avx2.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AVX2_FLAGS) -MMD -MP -c -o $@ $<
$(O)/obj/%_avx512.o: src/%_avx512.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(AVX512_FLAGS) -MMD -MP -c -o $@ $<
$(O)/obj/cli/%.o: src/cli/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(EDIT_CFLAGS) -MMD -MP -c -o $@ $<
$(O)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<
$(O)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -MMD -MP -c -o $@ $<
$(O)/obj/tools/%.o: tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -MMD -MP -c -o $@ $<
$(O)/obj/bench/%.o: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -MMD -MP -c -o $@ $<

# Builds everything the tests need (the program too: CLI tests run it).
bins: all $(TEST_BINS)

# The test command of the README: runs every module's tests, then prints the
# closing line "N passed, N failed, N skipped".
# Test scripts (tests/<m>/test_*.sh) run after the binaries and report in
# the same form.
TEST_SCRIPTS := $(wildcard tests/*/test_*.sh)
test: bins
	@DELIBERATE=$(O)/deliberate BUILD_DIR=$(O) bash tests/run.sh $(TEST_BINS) $(TEST_SCRIPTS)

# libFuzzer target for the GGUF reader (clang only).
FUZZ_O := build/fuzz
fuzz:
	@mkdir -p $(FUZZ_O)
	clang $(CSTD) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Isrc \
	    tests/fuzz/fuzz_gguf.c $(wildcard src/gguf/*.c) $(wildcard src/base/*.c) \
	    -o $(FUZZ_O)/fuzz_gguf -lm -pthread

clean:
	rm -rf build deliberate

-include $(shell find build -name '*.d' 2>/dev/null)
.SECONDARY:

# The built-in model's recipe (scripts/train-model.sh, ~55 min on 2 cores):
# trains, measures and installs models/deliberate-mini.gguf + its card.
.PHONY: model
model: all
	bash scripts/train-model.sh

# The main job on built-in defaults: ask the built-in reasoning model (trained
# by deliberate itself, models/deliberate-mini.gguf) a question at effort
# high; it thinks, answers and shows a summary of its reasoning.
# Override DEMO_MODEL=... DEMO_PROMPT=... DEMO_EFFORT=...
DEMO_MODEL  ?= models/deliberate-mini.gguf
DEMO_PROMPT ?= What is 48 + 76?
DEMO_EFFORT ?= high
.PHONY: demo
demo: all
	@if [ ! -f "$(DEMO_MODEL)" ]; then \
	    echo "demo: $(DEMO_MODEL) not found; run 'make demo DEMO_MODEL=path/to/model.gguf' or 'make model'" >&2; exit 1; fi
	./deliberate chat -m "$(DEMO_MODEL)" -p "$(DEMO_PROMPT)" --effort $(DEMO_EFFORT)
