# Build entry points. CPU selects the instruction set the Swift kernels are compiled for
# (`native` = this machine; use e.g. CPU=x86-64 for a portable binary, CPU=haswell for AVX2 only).
CPU ?= native
SWIFTFLAGS := -Xswiftc -target-cpu -Xswiftc $(CPU) -Xcc -march=$(CPU)
RELEASE := swift build -c release $(SWIFTFLAGS)
BIN := .build/release
# Seconds of fuzzing per parser for `make fuzz` (scripts/fuzz.sh; FUZZ_SKIP_KNOWN=1 skips targets with
# recorded, unfixed findings).
FUZZ_SECONDS ?= 60
FUZZ_SKIP_KNOWN ?= 0

.PHONY: deps deps-data deps-mpi build demo test soak fuzz lint format docs install bench clean

deps:
	@scripts/install-deps.sh

deps-data:
	@scripts/install-deps.sh --with-data

# The build's packages and Open MPI's runtime (mpirun, libmpi.so.40) for the data-parallel tests.
deps-mpi:
	@scripts/install-deps.sh --with-mpi

build: deps
	$(RELEASE) --product ddpm

demo: build
	$(BIN)/ddpm demo --output out/demo

# DDPM_REQUIRE_MPI=1: the data-parallel tests (ddpmTests/MPITrainTests, 2 ranks under mpirun) fail
# instead of being skipped when mpirun is missing; deps-mpi installs openmpi-bin and libopenmpi3.
test: deps-mpi
	DDPM_REQUIRE_MPI=1 swift test -c release --no-parallel $(SWIFTFLAGS)

# The crash-resume soak with 20 SIGKILLs (the tests run it with 5).
soak: deps
	DDPM_SOAK_KILLS=20 swift test -c release --no-parallel $(SWIFTFLAGS) --filter SoakTests

fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_SKIP_KNOWN=$(FUZZ_SKIP_KNOWN) scripts/fuzz.sh

# Style: swift format (configuration in .swift-format) and a doc comment on every public declaration.
FORMATTED := Package.swift Sources Tests Examples Fuzz Benchmarks/TensorBenchmarks Benchmarks/SamplerStudy Plugins
lint:
	swift format lint --strict --recursive $(FORMATTED)
	scripts/check-doc-comments.sh

format:
	swift format format --in-place --recursive $(FORMATTED)

# The DocC catalogs of the libraries, warnings treated as errors, into .build/plugins/Swift-DocC/outputs/.
LIBRARIES := DDPMTensors DDPMDiffusion DDPMNeuralNetworks DDPMModels DDPMDatasets DDPMImaging DDPMTraining DDPMDistributed DDPMMetrics
docs: deps
	swift package --disable-sandbox generate-documentation $(addprefix --target ,$(LIBRARIES)) --warnings-as-errors

# The binary, its man page (swift-argument-parser's generate-manual plugin) and shell completions
# (bash, zsh, fish) under $(DESTDIR)$(PREFIX).
PREFIX ?= /usr/local
install: build
	swift package generate-manual
	install -Dm755 $(BIN)/ddpm $(DESTDIR)$(PREFIX)/bin/ddpm
	install -Dm644 .build/plugins/GenerateManual/outputs/ddpm/ddpm.1 $(DESTDIR)$(PREFIX)/share/man/man1/ddpm.1
	mkdir -p $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	$(BIN)/ddpm --generate-completion-script bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/ddpm
	$(BIN)/ddpm --generate-completion-script zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_ddpm
	$(BIN)/ddpm --generate-completion-script fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/ddpm.fish

bench: deps
	$(RELEASE) --product TensorBenchmarks
	$(BIN)/TensorBenchmarks

clean:
	rm -rf .build .build-fuzz out
