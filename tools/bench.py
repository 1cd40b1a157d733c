"""`make bench`: speed of the model's engines and of the RTL under each simulator.

Each part is optional at import time so that a machine without a simulator
still gets the model's figures (and a line saying what is missing).
"""

from __future__ import annotations

import sys


def main() -> int:
    status = 0
    print("== golden model ==", flush=True)
    from tools import bench_model

    status |= bench_model.main() or 0
    print("\n== golden model, whole process (what a user waits for) ==", flush=True)
    from tools import bench_process

    status |= bench_process.main([]) or 0
    print("\n== RTL ==", flush=True)
    try:
        from tools import bench_rtl
    except ImportError as e:  # the RTL flow is optional for model-only work
        print(f"RTL benchmark unavailable: {e}")
        return status
    status |= bench_rtl.main() or 0
    return status


if __name__ == "__main__":
    sys.exit(main())
