# cicada — build entry points. `make` builds, `make demo` runs the demo, `make check` runs every test.
BUILD    ?= build
SANITIZE ?=
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
CHECK_TESTS  ?=
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 15
comma    := ,

ifneq ($(SANITIZE),)
BUILD := build-$(subst $(comma),-,$(SANITIZE))
BUILD_TYPE := Debug
else
BUILD_TYPE := RelWithDebInfo
endif

.PHONY: all deps configure demo check fuzz bench install clean format format-check

all: configure
	cmake --build $(BUILD) -j$(JOBS)

configure:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DSANITIZE="$(SANITIZE)" >/dev/null

deps:
	@scripts/install-deps

demo: deps all
	@scripts/demo $(BUILD)

# CHECK_TESTS: a ctest -R regular expression to run only some tests. Under SANITIZE=thread a
# report (a tsan.<pid> file from any process) fails the check.
check: deps all
	@rm -f $(BUILD)/tsan.*
	cd $(BUILD) && ctest --output-on-failure --timeout 300 $(if $(CHECK_TESTS),-R '$(CHECK_TESTS)')
	@if ls $(BUILD)/tsan.* >/dev/null 2>&1; then cat $(BUILD)/tsan.*; \
	    echo "ThreadSanitizer reported races (above)" >&2; exit 1; fi

# Every libFuzzer driver (clang, ASan and UBSan), each run FUZZ_SECONDS from its corpus.
fuzz: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DFUZZ=ON >/dev/null
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target fuzzers
	@scripts/fuzz $(FUZZ_BUILD) $(FUZZ_SECONDS)

bench: deps all
	@bench/compare $(BUILD)

install: all
	cmake --install $(BUILD) --prefix $(or $(PREFIX),/usr/local)

format:
	clang-format -i src/*.[ch] src/*/*.[ch] tests/*/*.[ch] tests/*/*/*.[ch]

format-check:
	clang-format --dry-run -Werror src/*.[ch] src/*/*.[ch] tests/*/*.[ch] tests/*/*/*.[ch]

clean:
	rm -rf build build-*
