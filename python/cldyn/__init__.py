"""cldyn - training dynamics of nonlinear contrastive learning, from Python.

Each function runs one command of the ``cldyn`` CLI through libcldyn_py
(the C entry point in app/cldyn_capi.h) and returns a :class:`Result`:
NumPy columns by name, the metadata of the JSON sidecar, and the extra
tables asked for (summary, histograms, densities, basin map)::

    import cldyn
    r = cldyn.ode(T=5, rho=0.5)
    r["t"], r["cos_1_1"], r.meta["parameters"]["rho"]

Keyword arguments are the CLI's options with ``_`` for ``-`` (``dt_out``
for ``--dt-out``; ``lambda_`` for the Python keyword ``lambda``).  A list
repeats an option (``c=["rademacher:3", "gauss"]``), ``True`` gives a flag.
Bad input raises :class:`Error` (a ValueError) with the CLI's message; a
run that fails raises :class:`RunError`.  See docs/python.md.
"""

import os
import re
import signal
import tempfile
import time

import numpy as np

__all__ = ["Error", "RunError", "Result", "Table", "simulate", "reduced", "ode", "pde", "fixed",
           "basin", "sweep", "run", "command_line", "help", "print_config", "library_path"]

__version__ = "0.1.0"


class Error(ValueError):
    """Bad input: the CLI's one-line message (it would have exited with 2)."""


class RunError(RuntimeError):
    """A run that failed (divergence, I/O error): the CLI's exit status 1."""


def library_path():
    """The path of libcldyn_py.so: $CLDYN_LIB, beside this package
    (installed), or build/ of the source tree (after `make`)."""
    env = os.environ.get("CLDYN_LIB")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    for cand in (os.path.join(here, "libcldyn_py.so"),
                 os.path.join(here, os.pardir, os.pardir, "build", "libcldyn_py.so")):
        if os.path.exists(cand):
            return os.path.normpath(cand)
    raise ImportError("cldyn: libcldyn_py.so not found beside the package nor in build/; "
                      "run `make` in the source tree or set CLDYN_LIB")


_LIB = library_path()  # checked at import; loaded only in the worker process


class Table:
    """Named columns read from one CSV output of the CLI.

    ``t[name]`` is a column (a NumPy array), ``t.columns`` the names in file
    order, ``t.data`` a structured array of the rows, ``len(t)`` the rows."""

    def __init__(self, columns, arrays):
        self.columns = list(columns)
        self._cols = dict(zip(self.columns, arrays))
        dtype = [(c, a.dtype) for c, a in zip(self.columns, arrays)]
        n = len(arrays[0]) if arrays else 0
        self.data = np.empty(n, dtype=dtype)
        for c, a in zip(self.columns, arrays):
            self.data[c] = a

    def __getitem__(self, key):
        if isinstance(key, str):
            if key not in self._cols:
                raise KeyError(f"{key!r}: no such column; columns: {', '.join(self.columns)}")
            return self._cols[key]
        return self.data[key]

    def __contains__(self, key):
        return key in self._cols

    def __len__(self):
        return len(self.data)

    def to_dict(self):
        """{column: array}, in file order."""
        return {c: self._cols[c] for c in self.columns}

    def __repr__(self):
        return f"<cldyn.Table {len(self)} rows: {', '.join(self.columns)}>"


class Result(Table):
    """The main table of a command, with

    - ``meta``: the JSON sidecar as a dict (command, argv, every effective
      parameter, seed, version, wall time, ...);
    - ``summary``, ``hist``, ``density``, ``map``: the extra tables asked for
      with ``summary=True``, ``hist_out=True``, ``density_out=True``,
      ``map=True`` (None otherwise);
    - ``messages``: notes the CLI printed on stderr (e.g. an error estimate).
    """

    def __init__(self, table, command, meta=None, messages=(), **extra):
        super().__init__(table.columns, [table[c] for c in table.columns])
        self.command = command
        self.meta = meta or {}
        self.messages = list(messages)
        self.summary = extra.get("summary")
        self.hist = extra.get("hist")
        self.density = extra.get("density")
        self.map = extra.get("map")

    def __repr__(self):
        return f"<cldyn.Result {self.command}: {len(self)} rows: {', '.join(self.columns)}>"


_INT_COLUMNS = {"run", "point", "id", "feature", "fixed_point"}


def _column(name, values):
    if name in _INT_COLUMNS:
        try:
            return np.array([int(v) for v in values], dtype=np.int64)
        except ValueError:
            pass
    try:
        # float() is correctly rounded: the CLI's 17 significant digits read
        # back to the very doubles it computed
        return np.array([float(v) for v in values], dtype=np.float64)
    except ValueError:
        return np.array(values, dtype=str)


def read_csv(path, add_run=False):
    """Read a CSV written by the CLI into a :class:`Table`.  add_run: give a
    table without a ``run`` column one (all 1), so that trajectories of one
    run and of many have the same layout."""
    with open(path) as f:
        lines = [ln for ln in f.read().splitlines() if ln]
    if not lines:
        return Table([], [])
    header = lines[0].split(",")
    # repeated names (possible in old sweeps) get a suffix
    seen, names = {}, []
    for h in header:
        seen[h] = seen.get(h, 0) + 1
        names.append(h if seen[h] == 1 else f"{h}_{seen[h]}")
    rows = [ln.split(",") for ln in lines[1:]]
    cols = [[r[i] for r in rows] for i in range(len(names))]
    arrays = [_column(n, c) for n, c in zip(names, cols)]
    if add_run and "run" not in names:
        names.insert(0, "run")
        arrays.insert(0, np.ones(len(rows), dtype=np.int64))
    return Table(names, arrays)


def _opt_name(key):
    name = key[:-1] if key.endswith("_") else key
    return name.replace("_", "-")


def _opt_value(v):
    if isinstance(v, (float, np.floating)):
        return repr(float(v))  # the shortest text that reads back to v
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return str(v)


def command_line(**options):
    """The CLI options for keyword arguments, e.g.
    command_line(N=100, dt_out=0.5, c=["a", "b"]) ->
    ['--N', '100', '--dt-out', '0.5', '--c', 'a', '--c', 'b']."""
    args = []
    for key, v in options.items():
        if v is None or v is False:
            continue
        name = "--" + _opt_name(key)
        if v is True:
            args.append(name)
        elif isinstance(v, (list, tuple)):
            for x in v:
                args += [name, _opt_value(x)]
        else:
            args += [name, _opt_value(v)]
    return args


_PERCENT = re.compile(r"(\d+(?:\.\d*)?)\s*%")


def _progress_of(path, last):
    """The last percentage in the CLI's progress lines ("\\rcldyn:  42.0%"),
    as a fraction; `last` if there is none yet."""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 512))
            tail = f.read().decode(errors="replace")
    except OSError:
        return last
    found = _PERCENT.findall(tail)
    return min(float(found[-1]) / 100, 1.0) if found else last


def _exec(argv, workdir, progress=None):
    """Run the CLI's main() on argv in a forked child (so that Ctrl-C, or a
    crash, can never take the interpreter down with it, and the parent holds
    no GIL while it waits).  Returns (status, stdout text, stderr lines)."""
    so = os.path.join(workdir, "stdout")
    se = os.path.join(workdir, "stderr")
    argv = ["cldyn"] + [str(a) for a in argv]
    pid = os.fork()
    if pid == 0:  # the worker
        rc = 3
        try:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            import ctypes
            lib = ctypes.CDLL(_LIB)
            lib.cldyn_capi_run.restype = ctypes.c_int
            lib.cldyn_capi_run.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p),
                                           ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
            arr = (ctypes.c_char_p * (len(argv) + 1))(*[a.encode() for a in argv], None)
            rc = lib.cldyn_capi_run(len(argv), arr, so.encode(), se.encode(),
                                    1 if progress else 0)
            if rc < 0:
                rc = 3
        finally:
            os._exit(rc)
    last, nap = -1.0, 0.0005
    try:
        while True:
            if not progress:  # a blocking wait; Ctrl-C interrupts it
                _, status = os.waitpid(pid, 0)
                break
            wpid, status = os.waitpid(pid, os.WNOHANG)
            if wpid:
                break
            frac = _progress_of(se, last)
            if frac != last and frac >= 0:
                last = frac
                progress(frac)
            time.sleep(nap)  # short calls return soon, long ones are polled every 50 ms
            nap = min(2 * nap, 0.05)
    except BaseException:  # Ctrl-C (KeyboardInterrupt) or any other: stop the worker
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    if os.WIFSIGNALED(status):
        raise RunError(f"cldyn: the worker process died of signal {os.WTERMSIG(status)}")
    rc = os.WEXITSTATUS(status)
    out = open(so).read() if os.path.exists(so) else ""
    err = open(se).read() if os.path.exists(se) else ""
    # progress lines are written with \r and end with \n at 100%
    lines = []
    for ln in err.replace("\r", "\n").splitlines():
        ln = ln.strip()
        if not ln or (ln.startswith("cldyn:") and _PERCENT.search(ln)):  # progress
            continue
        lines.append(ln[len("cldyn: "):] if ln.startswith("cldyn: ") else ln)
    if rc == 0 and progress and last < 1:
        progress(1.0)
    return rc, out, lines


def _check(rc, lines):
    msg = "; ".join(lines) or f"exit status {rc}"
    if rc == 2:
        raise Error(msg)
    if rc != 0:
        raise RunError(msg)


_EXTRAS = {  # option -> (Result attribute, add a run column)
    "summary": ("summary", False),
    "hist_out": ("hist", True),
    "density_out": ("density", False),
    "map": ("map", False),
}


def run(command, args=(), progress=None, **options):
    """Run `command` with `options` (keywords as in the module's functions)
    and extra CLI arguments `args` placed before them; return a Result."""
    import json
    with tempfile.TemporaryDirectory(prefix="cldyn-") as wd:
        files = {}
        opts = dict(options)
        for flag in ("help", "print_config"):
            if opts.get(flag):
                raise Error(f"--{_opt_name(flag)}: use cldyn.{flag}(command, ...), which returns the text")
        out = opts.pop("out", None)
        keep = isinstance(out, (str, os.PathLike)) and os.fspath(out) != "-"
        files["out"] = out if keep else os.path.join(wd, "out.csv")
        for key in _EXTRAS:
            v = opts.pop(key, None)
            if v is None or v is False:
                continue
            keep = isinstance(v, (str, os.PathLike)) and os.fspath(v) != "-"
            files[key] = v if keep else os.path.join(wd, key + ".csv")
        # options of the command go after it (a sweep's own before)
        argv = [command] + list(args) + command_line(**opts)
        for key, path in files.items():
            argv += ["--" + _opt_name(key), os.fspath(path)]
        rc, _, lines = _exec(argv, wd, progress)
        _check(rc, lines)
        runs = command in ("simulate", "reduced")
        # a sweep of simulate or reduced: the same layout for any --runs
        swept_runs = (command == "sweep" and bool(args) and args[-1] in ("simulate", "reduced")
                      and "--summary" not in args)
        table = read_csv(files["out"], add_run=runs or swept_runs)
        meta = {}
        if os.path.exists(os.fspath(files["out"]) + ".json"):
            with open(os.fspath(files["out"]) + ".json") as f:
                meta = json.load(f)
        extra = {attr: read_csv(files[key], add_run=add and runs)
                 for key, (attr, add) in _EXTRAS.items() if key in files}
        name = args[-1] if command == "sweep" and args else command
        return Result(table, "sweep " + name if command == "sweep" else command, meta, lines,
                      **extra)


def simulate(progress=None, **options):
    """Online SGD of the N-dimensional model (CLI `simulate`): order
    parameters R, Q and cos over time, a `run` column always present.
    summary=True adds .summary (mean, sd over runs); hist_out=True adds .hist
    (histograms of w per value of xi, M = 1)."""
    return run("simulate", progress=progress, **options)


def reduced(progress=None, **options):
    """The exact finite-N order-parameter chain (CLI `reduced`)."""
    return run("reduced", progress=progress, **options)


def ode(progress=None, **options):
    """The limiting ODEs for R and Q (CLI `ode`)."""
    return run("ode", progress=progress, **options)


def pde(progress=None, **options):
    """The McKean-Vlasov PDE (CLI `pde`); density_out=True adds .density."""
    return run("pde", progress=progress, **options)


def fixed(progress=None, **options):
    """Fixed points, eigenvalues, stability (CLI `fixed`): columns eig_re_k,
    eig_im_k and eig_err_k (each eigenvalue's estimated error, engine's own
    included; docs/fixed-points.md s.2); threshold=True for the critical
    second moments, vary="NAME=A:B:STEP" for a continuation."""
    return run("fixed", progress=progress, **options)


def basin(progress=None, **options):
    """Feature-selection probabilities (CLI `basin`); map=True adds .map."""
    return run("basin", progress=progress, **options)


def _vary_spec(v):
    if isinstance(v, str):
        return [v]
    if isinstance(v, dict):
        return [f"{k}={_opt_value(a)}:{_opt_value(b)}:{_opt_value(h)}" for k, (a, b, h) in v.items()]
    return [x for item in v for x in _vary_spec(item)]


def sweep(command, vary, progress=None, shard=None, threads=None, summary=False, final=False,
          streams=None, **options):
    """`command` (simulate, reduced, ode, pde, fixed, basin) at every point
    of a grid (CLI `sweep`).  vary: "NAME=A:B:STEP", a list of them, or a
    dict {NAME: (A, B, STEP)}.  shard="I/N", threads, summary (each point's
    mean and sd over runs), final (only t = T) and streams ("common" or
    "independent") are the sweep's own options; the others are the
    command's.  A sweep of simulate or reduced always has a `run` column."""
    pre = []
    for v in _vary_spec(vary):
        pre += ["--vary", v]
    if summary:
        pre += ["--summary"]
    if final:
        pre += ["--final"]
    if streams is not None:
        pre += ["--streams", str(streams)]
    if shard is not None:
        pre += ["--shard", str(shard)]
    if threads is not None:
        pre += ["--threads", _opt_value(threads)]
    return run("sweep", args=pre + [command], progress=progress, **options)


def _text(argv):
    with tempfile.TemporaryDirectory(prefix="cldyn-") as wd:
        rc, out, lines = _exec(argv, wd)
        _check(rc, lines)
        return out


def help(command=None):
    """The CLI's help text (of `command`, or the list of commands)."""
    return _text([command, "--help"] if command else ["--help"])


def print_config(command, **options):
    """The effective configuration (`name = value` lines) of `command` with
    `options`: a config file that `config=PATH` reads back."""
    return _text([command] + command_line(**options) + ["--print-config"])
