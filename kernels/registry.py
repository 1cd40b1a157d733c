"""Which kernels exist, and the short names ``make sim KERNEL=...`` takes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from pymodel.benchmark import Shape

from . import hash_values, tree_hash
from .builder import BuiltKernel


class UnknownKernel(LookupError):
    def __str__(self) -> str:  # KeyError-style quoting would garble the message
        return str(self.args[0])


@dataclass(frozen=True)
class KernelInfo:
    name: str
    summary: str
    variants: tuple[str, ...]
    default_variant: str
    variant_summaries: dict[str, str]
    # build(variant, shape, params, *, debug_problem=None) -> BuiltKernel
    build: Callable[..., BuiltKernel]
    # reference(mem, shape) -> the values region the kernel must leave (None: the tree hash's)
    reference: Callable[[list[int], Shape], list[int]] | None = None


KERNELS: dict[str, KernelInfo] = {
    tree_hash.NAME: KernelInfo(
        name=tree_hash.NAME,
        summary="the benchmark: R rounds of tree walk + hash over a batch of B items (MACHINE-SPEC.md)",
        variants=tuple(tree_hash.VARIANTS),
        default_variant=tree_hash.DEFAULT_VARIANT,
        variant_summaries={name: v.summary for name, v in tree_hash.VARIANTS.items()},
        build=tree_hash.build,
    ),
    hash_values.NAME: KernelInfo(
        name=hash_values.NAME,
        summary="the benchmark hash applied R times to each of the B values (no tree); kernels/hash_values.py",
        variants=tuple(hash_values.VARIANTS),
        default_variant=hash_values.DEFAULT_VARIANT,
        variant_summaries=dict(hash_values.VARIANTS),
        build=hash_values.build,
        reference=hash_values.reference,
    ),
}

# make-sim names -> (kernel, variant); "default" is the best variant of tree_hash.
ALIASES: dict[str, tuple[str, str]] = {
    "default": (tree_hash.NAME, tree_hash.DEFAULT_VARIANT),
    "baseline": (tree_hash.NAME, "baseline"),
    "vector": (tree_hash.NAME, "vector"),
    "optimized": (tree_hash.NAME, "optimized"),
    "vgather": (tree_hash.NAME, "vgather"),  # needs CONFIG=vgather
    "valu8": (tree_hash.NAME, "valu8"),
}


def get_kernel(name: str) -> KernelInfo:
    try:
        return KERNELS[name]
    except KeyError:
        raise UnknownKernel(f"unknown kernel {name!r} (kernels: {', '.join(KERNELS)})") from None


def resolve(name: str) -> tuple[KernelInfo, str]:
    """A make-sim name ("default", "baseline", "vector", "optimized"), a kernel name (its
    default variant) or "kernel:variant" -> (kernel, variant)."""
    if name in ALIASES:
        kernel, variant = ALIASES[name]
        return KERNELS[kernel], variant
    kernel_name, _, variant = name.partition(":")
    if kernel_name not in KERNELS:
        known = ", ".join([*ALIASES, *KERNELS])
        raise UnknownKernel(f"unknown kernel {name!r} (names: {known}, or kernel:variant)")
    kernel = KERNELS[kernel_name]
    variant = variant or kernel.default_variant
    if variant not in kernel.variants:
        raise UnknownKernel(f"kernel {kernel.name} has no variant {variant!r} (variants: {', '.join(kernel.variants)})")
    return kernel, variant
