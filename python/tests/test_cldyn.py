"""pytest suite of the Python package: every binding function, its errors,
and its agreement with the CLI to the last bit (run from the repository
root: PYTHONPATH=python CLDYN_BIN=build/cldyn python3 -m pytest python/tests)."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import cldyn

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
BIN = os.path.abspath(os.environ.get("CLDYN_BIN", os.path.join(ROOT, "build", "cldyn")))


def cli(args, cwd):
    """Run the CLI binary; return (status, stderr text)."""
    p = subprocess.run([BIN] + args, cwd=cwd, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stderr


def same_bits(a, b):
    """Two tables hold the same columns with bit-identical values."""
    assert a.columns == b.columns
    for c in a.columns:
        x, y = a[c], b[c]
        assert x.dtype == y.dtype, c
        if x.dtype == np.float64:
            assert np.array_equal(x.view(np.uint64), y.view(np.uint64)), c
        else:
            assert np.array_equal(x, y), c


def agree(tmp_path, fn, command, cli_pre=(), **opts):
    """fn(**opts) against `cldyn [cli_pre] command OPTIONS`: the same bytes in
    the CSV files, and the same doubles in the arrays."""
    py_out = tmp_path / "py.csv"
    r = fn(out=str(py_out), **opts)
    cli_out = tmp_path / "cli.csv"
    rc, err = cli(list(cli_pre) + [command] + cldyn.command_line(**opts) + ["--out", str(cli_out)],
                  tmp_path)
    assert rc == 0, err
    assert py_out.read_bytes() == cli_out.read_bytes()
    runs = command in ("simulate", "reduced")
    same_bits(r, cldyn.read_csv(str(cli_out), add_run=runs))
    meta = json.loads((tmp_path / "cli.csv.json").read_text())
    assert {k: v for k, v in r.meta["parameters"].items() if k != "out"} == \
           {k: v for k, v in meta["parameters"].items() if k != "out"}
    return r


# ---- agreement with the CLI, one test per function ----

def test_simulate_agrees_with_cli(tmp_path):
    r = agree(tmp_path, cldyn.simulate, "simulate", N=200, T=2, runs=3, seed=7, rho=0.3,
              c=["rademacher:3", "gauss"])
    assert r.columns[:2] == ["run", "t"] and set(r["run"]) == {1, 2, 3}
    assert "cos_2_1" in r and r.meta["command"] == "simulate"


def test_simulate_threads_do_not_change_bits(tmp_path):
    a = cldyn.simulate(N=150, T=1, runs=4, threads=1)
    b = cldyn.simulate(N=150, T=1, runs=4, threads=2)
    same_bits(a, b)


def test_reduced_agrees_with_cli(tmp_path):
    r = agree(tmp_path, cldyn.reduced, "reduced", N=500, T=3, runs=2, seed=3, tau=0.3)
    assert len(r) == 2 * 7


def test_ode_agrees_with_cli(tmp_path):
    r = agree(tmp_path, cldyn.ode, "ode", T=3, rho=0.5, lambda_=0.1, dt_out=0.25)
    assert np.allclose(np.diff(r["t"]), 0.25)
    assert r.meta["parameters"]["lambda"] == 0.1


def test_pde_agrees_with_cli_with_densities(tmp_path):
    r = agree(tmp_path, cldyn.pde, "pde", T=0.5, cells=200, dt=0.05)
    d = cldyn.pde(T=0.5, cells=200, dt=0.05, density_out=True).density
    assert d.columns == ["t", "xi", "w", "p"]
    # each density integrates to about one (rectangle rule on the cells)
    sel = (d["t"] == 0.5) & (d["xi"] == d["xi"][0])
    w, p = d["w"][sel], d["p"][sel]
    assert abs(np.sum(p) * (w[1] - w[0]) - 1) < 1e-2


def test_fixed_agrees_with_cli(tmp_path):
    r = agree(tmp_path, cldyn.fixed, "fixed", rho=0.2)
    assert set(r["stability"]) <= {"stable", "saddle", "unstable"}
    assert r["id"].dtype == np.int64
    t = agree(tmp_path, cldyn.fixed, "fixed", threshold=True, c=["rademacher:3", "rademacher:4"])
    assert t.columns == ["feature", "critical_m2"] and len(t) == 2
    v = agree(tmp_path, cldyn.fixed, "fixed", vary="rho=0:0.5:0.25")
    assert "rho" in v and set(v["rho"]) == {0, 0.25, 0.5}


def test_basin_agrees_with_cli_with_map(tmp_path):
    opts = dict(c=["rademacher:3", "rademacher:4"], directions=20, seed=5, tmax=60, quad_gauss=16)
    r = agree(tmp_path, cldyn.basin, "basin", **opts)
    p = r["probability"]
    assert np.all((p >= 0) & (p <= 1)) and abs(np.sum(p) - 1) < 1e-12
    m = cldyn.basin(map=True, map_points=5, **opts).map
    assert m.columns == ["R_1_1", "R_2_1", "fixed_point"] and 0 < len(m) <= 25


def test_sweep_agrees_with_cli(tmp_path):
    py_out = tmp_path / "py.csv"
    r = cldyn.sweep("ode", {"rho": (0, 1, 0.5)}, T=1, out=str(py_out))
    rc, err = cli(["sweep", "--vary", "rho=0:1:0.5", "ode", "--T", "1", "--out", "cli.csv"], tmp_path)
    assert rc == 0, err
    assert py_out.read_bytes() == (tmp_path / "cli.csv").read_bytes()
    same_bits(r, cldyn.read_csv(str(tmp_path / "cli.csv")))
    assert r.columns[:3] == ["point", "rho", "t"] and list(np.unique(r["point"])) == [1, 2, 3]
    s = cldyn.sweep("simulate", ["rho=0:0.5:0.5", "tau=0.2:0.4:0.2"], N=100, T=1, shard="1/2",
                    threads=1)
    assert set(s["point"]) == {1, 3}


def test_sweep_ode_matches_single_runs():
    s = cldyn.sweep("ode", "rho=0:0.5:0.5", T=1)
    for k, rho in enumerate((0.0, 0.5)):
        one = cldyn.ode(T=1, rho=rho)
        sel = s["point"] == k + 1
        assert np.array_equal(s["cos_1_1"][sel], one["cos_1_1"])


# ---- extras, layout, metadata ----

def test_summary_and_hist(tmp_path):
    r = cldyn.simulate(N=200, T=1, runs=3, summary=True, hist_out=True, hist_width=0.1)
    s = r.summary
    for k, t in enumerate(s["t"]):
        x = r["cos_1_1"][r["t"] == t]
        assert abs(s["cos_1_1_mean"][k] - np.mean(x)) < 1e-12
        assert abs(s["cos_1_1_sd"][k] - np.std(x, ddof=1)) < 1e-12
    h = r.hist
    assert h.columns == ["run", "t", "xi", "w", "p"]
    one = cldyn.simulate(N=200, T=1, hist_out=True).hist
    assert one.columns == h.columns and set(one["run"]) == {1}


def test_run_column_for_one_run():
    r = cldyn.simulate(N=100, T=1)
    assert r.columns[0] == "run" and np.all(r["run"] == 1)
    assert r.data.dtype.names == tuple(r.columns)


def test_extra_file_paths_are_kept(tmp_path):
    summ = tmp_path / "s.csv"
    r = cldyn.reduced(N=100, T=1, runs=2, summary=str(summ))
    assert summ.exists() and (tmp_path / "s.csv.json").exists()
    assert r.summary.columns[0] == "t"


def test_config_round_trip(tmp_path):
    text = cldyn.print_config("ode", rho=0.25, T=2, lambda_=0.05)
    assert "rho = 0.25" in text
    cfg = tmp_path / "m.cfg"
    cfg.write_text(text.replace("out = -\n", ""))
    same_bits(cldyn.ode(config=str(cfg)), cldyn.ode(rho=0.25, T=2, lambda_=0.05))


def test_help():
    assert "simulate" in cldyn.help() and "--rho" in cldyn.help("ode")


def test_command_line():
    assert cldyn.command_line(N=10, dt_out=0.1, c=["a", "b"], threshold=True, runs=None,
                              lambda_=0.5) == \
        ["--N", "10", "--dt-out", "0.1", "--c", "a", "--c", "b", "--threshold", "--lambda", "0.5"]
    # a float is passed in its shortest round-trip form
    assert cldyn.command_line(x=0.1 + 0.2) == ["--x", repr(0.1 + 0.2)]


# ---- errors: cldyn.Error with the CLI's message; nothing exits ----

@pytest.mark.parametrize("command,opts,cli_args", [
    ("ode", dict(rho=2), ["--rho", "2"]),
    ("simulate", dict(rhoo=0.1), ["--rhoo", "0.1"]),
    ("simulate", dict(N=2), ["--N", "2"]),
    ("simulate", dict(c="nolaw"), ["--c", "nolaw"]),
    ("ode", dict(summary="x.csv"), ["--summary", "x.csv"]),
    ("basin", dict(directions=1), ["--directions", "1"]),
    ("pde", dict(M=2), ["--M", "2"]),
    ("fixed", dict(vary="nothing=0:1:1"), ["--vary", "nothing=0:1:1"]),
    ("reduced", dict(reg="l1:0.1"), ["--reg", "l1:0.1"]),
])
def test_errors_carry_the_cli_message(tmp_path, command, opts, cli_args):
    with pytest.raises(cldyn.Error) as e:
        getattr(cldyn, command)(**opts)
    assert isinstance(e.value, ValueError)
    rc, err = cli([command] + cli_args + ["--out", "o.csv"], tmp_path)
    assert rc == 2
    assert str(e.value) == err.strip().removeprefix("cldyn: ")
    assert not (tmp_path / "o.csv").exists()


def test_sweep_errors(tmp_path):
    with pytest.raises(cldyn.Error, match="cannot be swept"):
        cldyn.sweep("reproduce", "rho=0:1:1")
    with pytest.raises(cldyn.Error, match="basin: --c: needs K >= 2"):  # basin is sweepable, checked per point
        cldyn.sweep("basin", "rho=0:1:1")
    with pytest.raises(cldyn.Error, match="vary"):
        cldyn.sweep("ode", "rho=1:0:1")
    with pytest.raises(cldyn.Error, match="--rho"):
        cldyn.sweep("ode", "rho=0:2:1")


def test_failed_run_raises_run_error():
    with pytest.raises(cldyn.RunError, match="diverged"):
        cldyn.simulate(N=100, T=50, tau=40, act="cubic")
    with pytest.raises(cldyn.RunError, match="integration failed"):
        cldyn.ode(T=50, tau=40, act="cubic")
    assert not issubclass(cldyn.RunError, ValueError)


# ---- progress, GIL, Ctrl-C ----

def test_progress_callback():
    seen = []
    cldyn.simulate(N=1000, T=40, runs=2, progress=seen.append)
    assert seen and seen[-1] == 1.0
    assert all(0 <= f <= 1 for f in seen) and seen == sorted(seen)
    # a short command reports completion (and, if a poll catches one of its
    # progress lines first, earlier fractions)
    done = []
    cldyn.ode(T=1, progress=done.append)
    assert done and done[-1] == 1.0 and done == sorted(done) and all(0 <= f <= 1 for f in done)


def test_long_call_lets_other_threads_run():
    count = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            count[0] += 1
            time.sleep(0.001)

    th = threading.Thread(target=spin)
    th.start()
    try:
        before = count[0]
        cldyn.simulate(N=1000, T=20)
        during = count[0] - before
    finally:
        stop.set()
        th.join()
    assert during > 10


def test_ctrl_c_interrupts_a_long_call():
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    t0 = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        cldyn.simulate(N=4000, T=100000)
    assert time.monotonic() - t0 < 10
    # the interpreter is fine, and the library still works
    assert len(cldyn.ode(T=1)) == 3


def test_import_from_the_source_tree():
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    env.pop("CLDYN_LIB", None)
    p = subprocess.run([sys.executable, "-c", "import cldyn; print(cldyn.ode(T=0.5)['t'][-1])"],
                       env=env, cwd="/", capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "0.5"


def test_help_and_print_config_flags_point_to_their_functions():
    with pytest.raises(cldyn.Error, match="cldyn.help"):
        cldyn.ode(help=True)
    with pytest.raises(cldyn.Error, match="cldyn.print_config"):
        cldyn.simulate(print_config=True)
    r = cldyn.ode(T=0.5, out="-")  # stdout: the result is still returned
    assert len(r) == 2


def test_make_install_puts_the_module_where_python_finds_it(tmp_path):
    build = os.path.dirname(BIN)
    prefix = tmp_path / "prefix"
    p = subprocess.run(["make", "-s", "-C", ROOT, "install", f"PREFIX={prefix}",
                        f"BUILD={os.path.relpath(build, ROOT)}"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    ver = "%d.%d" % sys.version_info[:2]
    site = prefix / "lib" / f"python{ver}" / "dist-packages"
    assert (site / "cldyn" / "libcldyn_py.so").exists()
    env = dict(os.environ, PYTHONPATH=str(site))
    env.pop("CLDYN_LIB", None)
    code = "import cldyn; print(cldyn.library_path()); print(len(cldyn.fixed()))"
    q = subprocess.run([sys.executable, "-c", code], env=env, cwd="/", capture_output=True,
                       text=True, timeout=60)
    assert q.returncode == 0, q.stderr
    lib, n = q.stdout.split()
    assert lib.startswith(str(site)) and int(n) >= 1


def test_concurrent_calls_from_threads():
    """Each call has its own worker process and files: calls from several
    threads at once give the results of calls made one by one."""
    rhos = [-0.5, 0.0, 0.5, 0.9]
    alone = [cldyn.ode(T=2, rho=r) for r in rhos]
    got = [None] * len(rhos)

    def work(k):
        got[k] = cldyn.ode(T=2, rho=rhos[k])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(rhos))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for a, b in zip(alone, got):
        same_bits(a, b)


# ---- issue 15 parts 2-5: sweep layouts, streams, basin, the run column ----

def test_sweep_summary_final_streams_basin():
    s = cldyn.sweep("simulate", "rho=0:0.5:0.5", summary=True, final=True, N=100, T=1, runs=3, seed=4)
    assert s.columns[:3] == ["point", "rho", "t"] and len(s["t"]) == 2 and set(s["t"]) == {1.0}
    full = cldyn.sweep("simulate", "rho=0:0.5:0.5", final=True, N=100, T=1, runs=3, seed=4)
    for p in (1, 2):
        x = full["cos_1_1"][full["point"] == p]
        assert abs(s["cos_1_1_mean"][p - 1] - np.mean(x)) < 1e-14
        assert abs(s["cos_1_1_sd"][p - 1] - np.std(x, ddof=1)) < 1e-13
    assert s.meta["grid"] == {"rho": "0:0.5:0.5"} and s.meta["command"] == "sweep simulate"
    ind = cldyn.sweep("simulate", "rho=0:0.5:0.5", final=True, streams="independent", N=100, T=1, runs=3,
                      seed=4)
    assert not np.array_equal(ind["cos_1_1"], full["cos_1_1"])
    b = cldyn.sweep("basin", "s=0.3:0.5:0.2", c=["rademacher:3", "rademacher:2"], directions=8, tmax=30)
    assert "probability" in b.columns and set(b["point"]) == {1, 2}
    with pytest.raises(cldyn.Error):
        cldyn.sweep("ode", "rho=0:1:1", summary=True)


def test_run_column_for_one_run_and_many():
    one = cldyn.sweep("simulate", "rho=0:0.5:0.5", N=100, T=1, runs=1)
    many = cldyn.sweep("simulate", "rho=0:0.5:0.5", N=100, T=1, runs=2)
    assert "run" in one.columns and "run" in many.columns
    assert set(one["run"]) == {1} and set(many["run"]) == {1, 2}
    assert "run" in cldyn.simulate(N=100, T=1).columns
