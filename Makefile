# The README's commands. Everything builds in build/ with CMake + Ninja.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: deps build test demo clean python fuzz-build fuzz-smoke fuzz
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 600
FUZZ_TARGETS = fuzz_safetensors fuzz_pickle fuzz_torch_zip fuzz_config fuzz_tokenizer fuzz_tokenizer_json fuzz_dataset fuzz_masking fuzz_serve
# Each target's seeds are in fuzz/<area>/corpus/<target>/.

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The Python extension in place: PYTHONPATH=python /usr/bin/python3 -c "import ernie" (docs/PYTHON.md).
python: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DERNIE_PYTHON=ON >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target _ernie
	@cp $(BUILD)/python/ernie/_ernie*.so python/ernie/

demo: build
	@bash scripts/demo.sh $(BUILD)/bin/ernie

clean:
	rm -rf $(BUILD)

# libFuzzer targets for the readers of untrusted input (clang-14, ASan + UBSan); see fuzz/README.md.
fuzz-build:
	@bash scripts/install-deps.sh fuzz
	@CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_BUILD) -G Ninja -DERNIE_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)

# Each target once over the inputs that broke it before (fuzz/<area>/regressions/<target>/), then a
# short run on its seed corpus (new inputs go to a scratch folder).
fuzz-smoke: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  work=$$(mktemp -d); \
	  regressions=$$(find fuzz/*/regressions/$$t -type f 2>/dev/null); \
	  if [ -n "$$regressions" ] && ! $(FUZZ_BUILD)/bin/$$t -timeout=10 $$regressions >$$work.log 2>&1; then \
	    cat $$work.log; rm -rf $$work $$work.log; exit 1; \
	  fi; \
	  if ! $(FUZZ_BUILD)/bin/$$t -max_total_time=15 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
	      $$work fuzz/*/corpus/$$t >$$work.log 2>&1; then \
	    cat $$work.log; rm -rf $$work $$work.log; exit 1; \
	  fi; \
	  echo "$$t: $$(grep -o "Done [0-9]* runs in [0-9]* second(s)" $$work.log)"; rm -rf $$work $$work.log; \
	done

# The long run: FUZZ_SECONDS (default 600) per target.
fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
	  $(FUZZ_BUILD)/bin/$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
	    $(FUZZ_BUILD)/corpus/$$t fuzz/*/corpus/$$t || exit 1; \
	done
