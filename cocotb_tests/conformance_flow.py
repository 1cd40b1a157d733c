"""Conformance programs for the load/store and flow engines, jumps and the
end of a program; expected results from the spec (see ``conformance``)."""

from __future__ import annotations

from pymodel.isa import DEFAULT_PARAMS, MachineParams

from .conformance import BINOPS, DIVIDING, H, M, Builder, Conformance, Raw, spec_binop


def data_image(n: int) -> list[int]:
    return [(0x9E3779B9 * (i + 1)) & M for i in range(n)]


def memory_ops(params: MachineParams = DEFAULT_PARAMS) -> Conformance:
    """load, load_offset (every k), vload, const in both load positions; store,
    vstore in both store positions; first and last memory words; read-back."""
    vl = params.vlen
    n = 64
    mem = data_image(n)
    b = Builder(params)
    addrs = [0, n - 1, n - vl, 1, 10, 20, 30, n - 2]
    A = 1400  # A+i holds addrs[i]
    b.consts(A, addrs)
    b.bundles += [
        {"load": [("load", 500, A), ("load_offset", 510, A, 1)]},
        {"load": [("load_offset", 510, A, 7), ("load", 501, A + 1)]},
        {"load": [("load_offset", 510, A, 0), ("load_offset", 510, A, 2)]},
        {"load": [("load_offset", 510, A, 3), ("load_offset", 510, A, 4)]},
        {"load": [("load_offset", 510, A, 5), ("load_offset", 510, A, 6)]},
        {"load": [("vload", 520, A + 2), ("const", 530, H)]},
        {"load": [("const", 531, -1), ("vload", 540, A)]},
        {"load": [("const", 532, 0), ("const", 533, M)]},
    ]
    b.want(500, mem[0])
    b.want(501, mem[n - 1])
    for k in range(vl):
        b.want(510 + k, mem[addrs[k]])  # S[d+k] = M[S[a+k]]
    for i in range(vl):
        b.want(520 + i, mem[n - vl + i])
        b.want(540 + i, mem[i])
    for addr, v in ((530, H), (531, M), (532, 0), (533, M)):
        b.want(addr, v)
    after = list(mem)
    b.bundles += [
        {"store": [("store", A, 530), ("vstore", A + 4, 520)]},  # M[0] = 2^31; M[10..17] = old M[56..63]
        {"store": [("vstore", A + 2, 540), ("store", A + 5, 531)]},  # M[56..63] = old M[0..7]; M[20] = 2^32-1
        {"store": [("store", A + 7, 532), ("store", A + 1, 530)]},  # M[62] = 0; M[63] = 2^31
        {"store": [("vstore", A, 540)]},  # M[0..7] = their old values again
        {"load": [("load", 502, A + 1), ("vload", 550, A + 4)]},  # read back what landed
        {"flow": [("halt",)]},
    ]
    after[0] = H
    after[10 : 10 + vl] = mem[n - vl :]
    after[n - vl :] = mem[:vl]
    after[20] = M
    after[n - 2], after[n - 1] = 0, H
    after[:vl] = mem[:vl]
    b.expect.mem = dict(enumerate(after))
    b.want(502, H)
    for i in range(vl):
        b.want(550 + i, mem[n - vl + i])
    return b.done("conf-memory", mem)


def flow_ops(params: MachineParams = DEFAULT_PARAMS) -> Conformance:
    """select, vselect, add_imm, coreid, trace_write; every jump kind taken
    forward and backward and not taken; halt in a full bundle ends it."""
    vl = params.vlen
    Z, ONE, HI, MX, X, Y, CNT, CNT2, DONE, DONE2, TGT = range(1400, 1411)
    VA, VB, VCOND, ADDR = 1420, 1428, 1436, 1444
    cond = [0, 1, 0, H, M, 0, 2, 0]
    mem = [10 + i for i in range(vl)] + [20 + i for i in range(vl)] + cond
    b = Builder(params)
    b.consts(Z, [0, 1, H, M, 11, 22, 3, 2])
    b.consts(ADDR, [0, vl, 2 * vl, 0])
    b.bundles += [{"load": [("vload", VA, ADDR), ("vload", VB, ADDR + 1)]}, {"load": [("vload", VCOND, ADDR + 2)]}]
    b.bundles += [
        {"flow": [("select", 500, Z, X, Y)]},
        {"flow": [("select", 501, ONE, X, Y)]},
        {"flow": [("select", 502, HI, X, Y)]},
        {"flow": [("vselect", 510, VCOND, VA, VB)]},
        {"flow": [("add_imm", 503, HI, H)]},
        {"flow": [("add_imm", 504, X, -12)]},
        {"flow": [("coreid", 505)]},
        {"flow": [("trace_write", MX)]},
        {"flow": [("trace_write", Z)]},
    ]
    for addr, v in ((500, 22), (501, 11), (502, 11), (503, 0), (504, M), (505, 0)):
        b.want(addr, v)
    for i in range(vl):
        b.want(510 + i, mem[i] if cond[i] else mem[vl + i])
    straight = len(b.bundles)
    trace = [M, 0]
    p = len(b.bundles)
    b.bundles += [
        {"alu": [("-", CNT, CNT, ONE)], "flow": [("trace_write", CNT)]},  # p: 3 passes
        {"flow": [("cond_jump_rel", CNT, -2)]},  # p+1: backward to p while CNT != 0
        {"flow": [("cond_jump_rel", Z, 5)]},  # not taken
        {"flow": [("cond_jump", Z, 0)]},  # not taken
        {"flow": [("cond_jump_rel", ONE, 1)]},  # p+4: forward over p+5
        {"flow": [("trace_write", X)]},
        {"flow": [("cond_jump", ONE, p + 8)]},  # p+6: forward over p+7
        {"flow": [("trace_write", Y)]},
        {"flow": [("jump", p + 10)]},  # p+8: forward over p+9
        {"flow": [("trace_write", Y)]},
        {"flow": [("cond_jump", DONE, p + 13)]},  # p+10: second time taken
        {"alu": [("+", DONE, ONE, Z)], "flow": [("trace_write", ONE)]},
        {"flow": [("jump", p + 10)]},  # p+12: backward jump
        {"alu": [("-", CNT2, CNT2, ONE)], "flow": [("trace_write", CNT2)]},  # p+13: 2 passes
        {"flow": [("cond_jump", CNT2, p + 13)]},  # p+14: backward cond_jump
        {"load": [("const", TGT, p + 18)]},
        {"flow": [("jump_indirect", TGT)]},  # p+16: forward over p+17
        {"flow": [("trace_write", Y)]},
        {"flow": [("cond_jump", DONE2, p + 22)]},  # p+18: second time taken
        {"alu": [("+", DONE2, ONE, Z)], "load": [("const", TGT, p + 18)]},
        {"flow": [("trace_write", X)]},
        {"flow": [("jump_indirect", TGT)]},  # p+21: backward to p+18
        full_bundle_with_halt(b, params),  # p+22
        {"flow": [("trace_write", Y)]},  # never reached
    ]
    trace += [3, 2, 1] + [1] + [2, 1] + [11]  # trace_write reads the counter before the same bundle's decrement
    b.expect.trace = trace
    b.want(CNT, 0)
    b.want(CNT2, 0)
    # straight-line part, then: loop 6, not-taken 2, three forward skips 3, backward jump 4,
    # backward cond_jump 4, const + jump_indirect 2, backward jump_indirect 5, halt bundle 1
    return b.done("conf-flow", mem, cycle=straight + 6 + 2 + 3 + 4 + 4 + 2 + 5 + 1)


def full_bundle_with_halt(b: Builder, params: MachineParams) -> Raw:
    """Every slot position at once, flow's being halt: all other slots still commit."""
    vl = params.vlen
    x, y = 1404, 1405  # X = 11, Y = 22
    ops = [op for op in BINOPS if op not in DIVIDING] + ["//", "%"]
    alu = []
    for i in range(params.alu_slots):
        op = ops[i % len(ops)]
        alu.append((op, 600 + i, x, y))
        b.want(600 + i, spec_binop(op, 11, 22))
    valu = [("vbroadcast", 640 + vl * i, x + i % 2) for i in range(params.valu_slots)]
    for i in range(params.valu_slots):
        for lane in range(vl):
            b.want(640 + vl * i + lane, 11 if i % 2 == 0 else 22)
    load = [("const", 700 + i, 1000 + i) for i in range(params.load_slots)]
    for i in range(params.load_slots):
        b.want(700 + i, 1000 + i)
    store = [("store", 1400 + i, y) for i in range(params.store_slots)]  # M[0], M[1] = 22
    b.expect.mem.update({i: 22 for i in range(params.store_slots)})
    return {"alu": alu, "valu": valu, "load": load, "store": store, "flow": [("halt",)]}


def jump_end_programs(params: MachineParams = DEFAULT_PARAMS) -> list[Conformance]:
    """A jump to the end or past it is a normal stop (HALTED), one per jump kind;
    a relative jump back to exactly bundle 0 is legal."""
    out = []
    ends = {
        "jump": ("jump", 3),
        "cond_jump": ("cond_jump", 1, 3),
        "cond_jump_rel": ("cond_jump_rel", 1, 100),
        "jump_indirect": ("jump_indirect", 2),
    }
    for name, slot in ends.items():
        b = Builder(params)
        b.bundles += [
            {"load": [("const", 1, 1), ("const", 2, M)]},
            {"alu": [("+", 3, 1, 1)], "flow": [slot]},
            {"flow": [("trace_write", 1)]},  # never reached
        ]
        b.want(1, 1)
        b.want(3, 2)
        b.expect.trace = []
        out.append(b.done(f"conf-end-{name}", [0], cycle=2))
    b = Builder(params)
    b.bundles += [
        {"load": [("const", 1, 1)], "alu": [("+", 2, 2, 1)]},  # S2 = 0, then 1 (reads the old S1)
        {"alu": [("==", 3, 2, 0)]},
        {"flow": [("cond_jump_rel", 3, -3)]},  # to bundle 0 while S2 == 0
    ]
    b.want(2, 1)
    b.want(3, 0)
    out.append(b.done("conf-rel-to-bundle-0", [0], cycle=6))
    return out
