# Thin wrapper over meson: `make run` and `make test` do all set-up.
PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
# How long `make fuzz` runs each fuzzer (make test runs each for 60 s).
FUZZ_SECONDS ?= 3600

.PHONY: all deps build build-asan build-fuzz run test fuzz bench install clean

all: build

# Debian packages the build and the tests need, installed when missing.
deps:
	@tools/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) --prefix=$(PREFIX)

$(BUILD_ASAN)/build.ninja:
	meson setup $(BUILD_ASAN) -Db_sanitize=address,undefined -Db_lundef=false \
		-Dbuildtype=debug

# The fuzzers: clang, libFuzzer, ASan+UBSan; only their targets are built.
$(BUILD_FUZZ)/build.ninja:
	CC=clang-14 meson setup $(BUILD_FUZZ) -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dbuildtype=debugoptimized

build-fuzz: deps $(BUILD_FUZZ)/build.ninja
	ninja -C $(BUILD_FUZZ) fuzz/fuzz-dispatch fuzz/fuzz-wire

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

build-asan: deps $(BUILD_ASAN)/build.ninja
	ninja -C $(BUILD_ASAN)

run: build
	$(BUILD)/ioasid-run -- $(BUILD)/examples/dma-demo

test: build build-asan build-fuzz
	tests/run-all.sh $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)

# The longer fuzzing run: FUZZ_SECONDS per fuzzer.
fuzz: build build-fuzz
	IOASID_FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(BUILD_FUZZ) $(BUILD)

# Benchmarks: ratios against baselines measured in the same run.
bench: build
	@for b in $(BUILD)/bench/bench-translate $(BUILD)/bench/bench-dma \
		  $(BUILD)/bench/bench-map $(BUILD)/bench/bench-pin \
		  $(BUILD)/bench/bench-dirty $(BUILD)/bench/bench-copy \
		  $(BUILD)/bench/bench-roundtrip $(BUILD)/bench/bench-batch \
		  $(BUILD)/bench/bench-contention; do \
		echo "== $$b"; \
		case $$b in \
		*roundtrip) $(BUILD)/ioasid-run -- $$b || exit 1 ;; \
		*batch) $(BUILD)/ioasid-run --selftest -- $$b || exit 1 ;; \
		*contention) IOASID_MEMORY_CALLBACK=always \
			$(BUILD)/ioasid-run -- $$b || exit 1 ;; \
		*) $$b || exit 1 ;; \
		esac; \
	done

install: build
	DESTDIR=$(DESTDIR) meson install -C $(BUILD) --no-rebuild

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
