"""`make sim`: assemble a kernel, run it on the golden model and on the RTL, compare.

    python -m tools.sim --kernel default --seed 123 --sim verilator --waves 0

Prints a short table and, last, exactly one line
``kernel=NAME seed=S cycles_model=N cycles_rtl=N memory=match`` (or
``memory=MISMATCH``, exit status 1).  Exit status 2: the kernel, simulator or
build is not available (the message says what to install or fix).

Your own kernel instead (tools/sim_user.py): ``--program prog.json [--mem
mem.json]`` or ``--takehome path/to/perf_takehome.py``; ``--trace`` writes
Perfetto traces of the model and of the RTL's retire port.
"""

from __future__ import annotations

import argparse
import sys
import time

from cocotb_tests.job import RunMode
from cocotb_tests.simbuild import SIMULATORS, SimBuildError, SimulatorUnavailable, build_simulator, check_simulator
from cocotb_tests.simrun import SimRunError
from cocotb_tests.xcheck import XCheckReport, cross_check
from kernels.registry import UnknownKernel, resolve
from pymodel.benchmark import Problem, reference_run, values_region
from cocotb_tests.model_side import ModelEngine
from pymodel.configs import UnknownConfig, get_config
from pymodel.isa import MachineParams

ICARUS_CYCLES_PER_S = 1  # measured: dense kernel bundles on the 2-core machine (simple ones ~3)
ICARUS_MAX_MINUTES = 60


EXAMPLES = """examples:
  vliwsim sim                                   # the default kernel, model vs RTL (make sim)
  vliwsim sim --kernel baseline --seed 7
  vliwsim sim --program prog.json --mem mem.json
  vliwsim sim --program prog.json --height 10 --rounds 16 --batch 256 --seed 5
  vliwsim sim --takehome tests/fixtures/takehome/perf_takehome_vector.py --debug
  vliwsim sim --trace                           # + Perfetto traces of model and RTL under build/traces/
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not the usage block
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = _Parser(prog="python -m tools.sim", description=__doc__.splitlines()[0], epilog=EXAMPLES,
                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--kernel", default="default", help="default, baseline, vector, or kernel[:variant]")
    ap.add_argument("--seed", type=int, default=123, help="problem seed (default 123)")
    ap.add_argument("--sim", default="verilator", choices=SIMULATORS)
    ap.add_argument("--waves", type=int, default=0, choices=(0, 1), help="1: write an FST (Verilator) or VCD (Icarus)")
    ap.add_argument("--force", action="store_true", help=f"run on Icarus even past {ICARUS_MAX_MINUTES} minutes")
    ap.add_argument("--lockstep", action="store_true", help="compare every retired bundle (slow: per-cycle Python)")
    ap.add_argument("--config", default="default", help="machine config (pymodel.configs): default, vgather, ...")
    from tools.sim_user import add_arguments

    add_arguments(ap)
    return ap.parse_args(argv)


def _table(rows: list[tuple[str, str, str]]) -> str:
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    return "\n".join(f"  {a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows)


def _utilization(report: XCheckReport) -> str | None:
    try:
        from pymodel.utilization import Utilization
    except ImportError:
        return None
    if report.image is None or report.model.visits is None:
        return None
    return Utilization.from_visits(report.image.program, report.model.visits, report.image.encoding.params).format_report()


def _rtl_times(report: XCheckReport) -> str:
    r = report.rtl
    phases = f"load {r.load_seconds:.2f}, run {r.run_seconds:.2f}, read-back {r.readback_seconds:.2f}"
    return f"{report.rtl_seconds:.2f} s ({phases})"


def _model_cycles(program: object, mem: list[int], params: MachineParams) -> int:
    from pymodel.machine import run_program

    return run_program(program, mem, params, model_engine_for(program, mem, params), enable_debug=False).cycle  # type: ignore[arg-type]


def model_engine_for(program: object, mem: list[int], params: MachineParams, quiet: bool = False) -> ModelEngine:
    """The fast engine, unless it cannot load this program (an extension op it has no
    form for yet): then the reference interpreter, with a note saying so."""
    if not params.extensions:
        return "fast"
    from pymodel.fast import FastMachine

    try:
        FastMachine(program, mem, params, enable_debug=False).run_to_end(1 << 24)  # type: ignore[arg-type]
    except Exception as e:  # noqa: BLE001 -- any refusal: the reference runs it instead
        if not quiet:
            print(f"note: the fast engine cannot run this program ({type(e).__name__}: {e}); "
                  "the model side runs on the reference interpreter")  # fmt: skip
        return "reference"
    return "fast"


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.program or args.takehome or args.mem:
        from tools.sim_user import main_user

        return main_user(args)
    try:
        config = get_config(args.config)
        check_simulator(args.sim)  # before minutes of assembling and estimating
        # "default" on another machine: that config's best kernel
        kernel, variant = resolve(config.kernel if args.kernel == "default" else args.kernel)
    except (UnknownKernel, SimulatorUnavailable, UnknownConfig) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    params = config.params
    t0 = time.perf_counter()
    try:
        built = kernel.build(variant, params=params)
    except ValueError as e:  # a kernel that cannot be built for this machine: one line
        print(f"error: kernel {kernel.name}:{variant} on config {config.name}: {e}", file=sys.stderr)
        return 2
    assemble_s = time.perf_counter() - t0
    mem = Problem.generate(built.shape, args.seed).memory_image()
    print(
        f"kernel {kernel.name}:{variant}, config {config.name}, seed {args.seed}, shape {built.shape}, "
        f"simulator {args.sim}",
        flush=True,
    )
    if args.sim == "icarus":
        cycles = _model_cycles(built.program, mem, params)
        minutes = cycles / ICARUS_CYCLES_PER_S / 60
        estimate = f"Icarus simulates this core at about {ICARUS_CYCLES_PER_S} cycles/s: {cycles} cycles take ~{minutes:.0f} min"
        if minutes > ICARUS_MAX_MINUTES and not args.force:
            print(f"error: {estimate}; use --sim verilator (or --force)", file=sys.stderr)
            return 2
        print(f"note: {estimate}", flush=True)
    try:
        t1 = time.perf_counter()
        build = build_simulator(args.sim, params, waves=bool(args.waves))
        build_s = time.perf_counter() - t1
        mode = RunMode.LOCKSTEP if args.lockstep else RunMode.FAST
        report = cross_check(
            build, built.program, mem, name=f"{kernel.name}-{variant}", mode=mode, keep=bool(args.waves),
            model_engine=model_engine_for(built.program, mem, params),
        )  # fmt: skip
    except (SimulatorUnavailable, SimBuildError, SimRunError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    # a kernel other than the tree hash says what its values region must hold
    want = kernel.reference(mem, built.shape) if kernel.reference else values_region(reference_run(mem), built.shape)
    values_ok = (
        values_region(report.rtl.mem, built.shape) == want and values_region(report.model.mem, built.shape) == want
    )
    n_slots = sum(len(s) for b in built.program for _, s in b.groups)
    verilog_note = f"Verilog {build.rtl.seconds:.1f} s" if build.rtl.seconds else "Verilog cached"
    build_note = f"{verilog_note}, " + ("compile cached" if build.cached else f"compile {build.seconds:.1f} s")
    print(
        _table(
            [
                ("", "model", f"RTL ({args.sim})"),
                ("cycles", str(report.model.cycle), str(report.rtl.cycle)),
                ("final state", report.model.state.name, report.rtl_state_name),
                ("bundles / slots", f"{len(built.program)} / {n_slots}", f"{report.hw_bundles} in the image"),
                ("build", f"{assemble_s:.2f} s assemble", f"{build_s:.1f} s ({build_note})"),
                (
                    "run",
                    f"{report.model.seconds:.2f} s ({report.model.engine} engine)",
                    _rtl_times(report),
                ),
                ("values vs reference_run", "match" if values_ok else "MISMATCH", ""),
            ]
        )
    )
    util = _utilization(report)
    if util:
        print("slot utilization (model):\n" + "\n".join("  " + line for line in util.splitlines()))
    if not report.ok:
        print(report.summary())
    if report.waves is not None:
        if args.sim == "verilator" and report.waves.suffix == ".vcd":
            print("note: FST needs the lz4 headers (Debian package liblz4-dev); wrote VCD instead")
        print(f"waves: {report.waves}")
    ok = report.ok and values_ok
    if args.trace:  # Perfetto traces of the model run and of the RTL's retire port
        from tools.sim_user import write_traces

        ok = write_traces(args, build, built.program, mem, f"{kernel.name}-{variant}", built.symbols) and ok
    verdict = "match" if ok else "MISMATCH"
    cycles = f"cycles_model={report.model.cycle} cycles_rtl={report.rtl.cycle}"
    on = "" if config.name == "default" else f" config={config.name}"
    print(f"kernel={built.name}/{built.variant}{on} seed={args.seed} {cycles} memory={verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
