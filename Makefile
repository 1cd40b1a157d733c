# The project's front door.  Every target creates the venv on first use.
#   make sim     assemble the default kernel, run it on the model and the RTL, compare
#   make test    every test (model, assembler, RTL cross-check)
#   make bench   speed of the model engines and the RTL simulators
#   make rtl     write the core's Verilog under build/
#   make fuzz    a long constrained-random campaign, model vs RTL (N=programs, CONFIG=machine)
#   make mutate  netlist mutation campaign (JOBS= in parallel; resumes; writes build/mutation.md)
#   make coverage  RTL line/toggle coverage (Verilator --coverage) per unit
#   make dse     every machine config: kernel cycles (model, RTL), Verilog size, build time, Yosys cost
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

KERNEL ?= default
SEED ?= 123
SIM ?= verilator
WAVES ?= 0
N ?= 200
JOBS ?= 2
COVERAGE_FUZZ ?= 50
CONFIG ?= default

.PHONY: all sim test bench rtl docs fuzz mutate coverage dse clean venv

all: test

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing the project and its pinned dependencies into $(VENV) (log: $(VENV)/install.log)"
	@$(PY) -m pip install -q -e '.[dev]' > $(VENV)/install.log 2>&1 || { cat $(VENV)/install.log; exit 1; }
	@touch $(STAMP)

venv: $(STAMP)

# Your own kernel: PROGRAM=prog.json [MEM=mem.json], or TAKEHOME=path/to/perf_takehome.py [SEEDS=n];
# HEIGHT/ROUNDS/BATCH pick the problem shape, TRACE=1 writes Perfetto traces, DEBUG=1 checks compare slots.
SIM_ARGS = $(if $(PROGRAM),--program $(PROGRAM)) $(if $(MEM),--mem $(MEM)) $(if $(TAKEHOME),--takehome $(TAKEHOME)) \
	$(if $(SEEDS),--seeds $(SEEDS)) $(if $(HEIGHT),--height $(HEIGHT)) $(if $(ROUNDS),--rounds $(ROUNDS)) \
	$(if $(BATCH),--batch $(BATCH)) $(if $(TRACE),--trace $(TRACE)) $(if $(DEBUG),--debug $(DEBUG)) \
	$(if $(MAX_CYCLES),--max-cycles $(MAX_CYCLES))

sim: $(STAMP)
	$(PY) -m tools.sim --kernel $(KERNEL) --seed $(SEED) --sim $(SIM) --waves $(WAVES) --config $(CONFIG) $(strip $(SIM_ARGS))

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m tools.bench

rtl: $(STAMP)
	$(PY) -m rtl.generate --out build/rtl

docs: $(STAMP)
	$(PY) -m pymodel.docgen --write docs/ISA.md

fuzz: $(STAMP)
	$(PY) -m tools.fuzz --n $(N) --jobs $(JOBS) --config $(CONFIG)

mutate: $(STAMP)
	$(PY) -m tools.mutate --jobs $(JOBS)

coverage: $(STAMP)
	$(PY) -m tools.rtl_coverage --fuzz $(COVERAGE_FUZZ)

dse: $(STAMP)
	$(PY) -m tools.dse $(DSE_ARGS)

clean:
	rm -rf build .pytest_cache
