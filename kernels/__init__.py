"""The assembler and the kernels.

``kernels.builder.KernelBuilder`` (typed builder: scratch, constants, labels)
-> ``kernels.scheduler`` (list scheduler into VLIW bundles) ->
``kernels.validate`` (static checks); kernels live in ``kernels.tree_hash`` and
are listed in ``kernels.registry``.  Command line: ``python -m kernels``.
"""

from .builder import BuiltKernel, KernelBuilder

__all__ = ["BuiltKernel", "KernelBuilder"]
