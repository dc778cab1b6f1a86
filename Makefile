# Thin wrapper over meson: `make run` and `make test` do all set-up.
PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
BUILD_ASAN ?= build-asan

.PHONY: all deps build build-asan run test bench install clean

all: build

# Debian packages the build and the tests need, installed when missing.
deps:
	@tools/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) --prefix=$(PREFIX)

$(BUILD_ASAN)/build.ninja:
	meson setup $(BUILD_ASAN) -Db_sanitize=address,undefined -Db_lundef=false \
		-Dbuildtype=debug

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

build-asan: deps $(BUILD_ASAN)/build.ninja
	ninja -C $(BUILD_ASAN)

run: build
	$(BUILD)/ioasid-run -- $(BUILD)/examples/dma-demo

test: build build-asan
	tests/run-all.sh $(BUILD) $(BUILD_ASAN)

# Benchmarks: ratios against baselines measured in the same run.
bench: build
	@for b in $(BUILD)/bench/bench-translate $(BUILD)/bench/bench-dma \
		  $(BUILD)/bench/bench-map $(BUILD)/bench/bench-pin \
		  $(BUILD)/bench/bench-dirty $(BUILD)/bench/bench-roundtrip; do \
		echo "== $$b"; \
		case $$b in \
		*roundtrip) $(BUILD)/ioasid-run -- $$b || exit 1 ;; \
		*) $$b || exit 1 ;; \
		esac; \
	done

install: build
	DESTDIR=$(DESTDIR) meson install -C $(BUILD) --no-rebuild

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
