# Build entry points. CPU selects the instruction set the Swift kernels are compiled for
# (`native` = this machine; use e.g. CPU=x86-64 for a portable binary, CPU=haswell for AVX2 only).
CPU ?= native
SWIFTFLAGS := -Xswiftc -target-cpu -Xswiftc $(CPU) -Xcc -march=$(CPU)
RELEASE := swift build -c release $(SWIFTFLAGS)
BIN := .build/release

.PHONY: deps deps-data build demo test soak bench clean

deps:
	@scripts/install-deps.sh

deps-data:
	@scripts/install-deps.sh --with-data

build: deps
	$(RELEASE) --product ddpm

demo: build
	$(BIN)/ddpm demo --output out/demo

test: deps
	swift test -c release --no-parallel $(SWIFTFLAGS)

# The crash-resume soak with 20 SIGKILLs (the tests run it with 5).
soak: deps
	DDPM_SOAK_KILLS=20 swift test -c release --no-parallel $(SWIFTFLAGS) --filter SoakTests

bench: deps
	$(RELEASE) --product TensorBenchmarks
	$(BIN)/TensorBenchmarks

clean:
	rm -rf .build out
