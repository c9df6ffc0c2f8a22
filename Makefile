# Thin wrapper over CMake.  `make demo` and `make test` set up a fresh
# Debian 12 machine themselves (see scripts/deps.sh).

BUILD   ?= build
SANBUILD ?= build-san
FUZZBUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
HERALD  = $(BUILD)/herald
PREFIX  ?= /usr/local

.PHONY: all deps build install uninstall demo test test-fast bench fuzz clean

all: build

deps:
	./scripts/deps.sh

$(BUILD)/Makefile:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

# herald into $(PREFIX)/bin and herald.1 into $(PREFIX)/share/man/man1;
# DESTDIR=/tmp/stage make install stages a package.
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/herald $(DESTDIR)$(PREFIX)/share/man/man1/herald.1

demo: deps build
	$(HERALD) preview doc/examples/2027-11-22-async-office-hours.md --list lists/example.csv --out out
	@echo "Open out/index.html in a browser, or out/*.eml in mutt."

# Every test, twice: a normal build and an ASan/UBSan build.
test: deps build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	cmake -S . -B $(SANBUILD) -DCMAKE_BUILD_TYPE=Sanitize
	cmake --build $(SANBUILD) -j $(JOBS)
	cd $(SANBUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --output-on-failure -j $(JOBS)
	FUZZ_SEED=1 $(MAKE) fuzz FUZZ_SECONDS=5

# libFuzzer harnesses (tests/fuzz/) under ASan + UBSan, FUZZ_SECONDS each
# (make test runs them 5 s each).  Crashes land in tests/fuzz/crashes/.
fuzz: deps
	cmake -S . -B $(FUZZBUILD) -DCMAKE_C_COMPILER=clang -DHERALD_FUZZ=ON \
		-DCMAKE_BUILD_TYPE=Debug
	cmake --build $(FUZZBUILD) -j $(JOBS) --target fuzzers
	./tests/fuzz/run.sh $(FUZZBUILD) $(FUZZ_SECONDS)

test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: deps build
	./bench/run.sh $(HERALD)
	/usr/bin/python3 bench/dkim.py $(HERALD)

clean:
	rm -rf $(BUILD) $(SANBUILD) $(FUZZBUILD) out
