"""fast_native: the ahead-of-time module, and the JIT when it cannot be built."""

from pymodel import fast_native


def test_a_failed_build_falls_back_to_the_jit_once(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VLIWSIM_NATIVE_DIR", str(tmp_path))
    monkeypatch.setattr(fast_native, "_KERNELS", None)

    def no_compiler(*a):
        raise RuntimeError("no C compiler")

    monkeypatch.setattr(fast_native, "build", no_compiler)
    assert fast_native.kernels().kind == "jit"
    assert "no C compiler" in capsys.readouterr().err
    assert [p.suffix for p in tmp_path.iterdir()] == [".failed"]
    monkeypatch.setattr(fast_native, "_KERNELS", None)
    assert fast_native.kernels().kind == "jit"  # not retried, no second note
    assert capsys.readouterr().err == ""


def test_the_key_follows_the_kernel_sources(monkeypatch, tmp_path):
    key = fast_native.build_key()
    assert key == fast_native.build_key()
    src = tmp_path / "fast_kernel.py"
    src.write_text((fast_native.HERE / "fast_kernel.py").read_text() + "\n# changed\n")
    (tmp_path / "fast_decode.py").write_text((fast_native.HERE / "fast_decode.py").read_text())
    monkeypatch.setattr(fast_native, "HERE", tmp_path)
    assert fast_native.build_key() != key
