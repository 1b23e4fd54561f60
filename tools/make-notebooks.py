# Writes examples/findings.ipynb and examples/finite_n.ipynb (without outputs) from the cells
# below: edit here, run `python3 tools/make-notebooks.py` from the repository root, commit both.
import nbformat as nbf
def nb(cells, path):
    n = nbf.v4.new_notebook()
    n.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    n.metadata["language_info"] = {"name": "python"}
    n.cells = [nbf.v4.new_markdown_cell(c[1]) if c[0] == "md" else nbf.v4.new_code_cell(c[1]) for c in cells]
    for i, cell in enumerate(n.cells):
        cell["id"] = f"cell-{i}"  # stable ids: regenerating changes only what was edited
    nbf.write(n, path)

setup = """%matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
import cldyn  # PYTHONPATH=python after `make`, or installed by `make install`"""

nb([
("md", """# The paper's three findings, theory against simulation

Meng & Wang (arXiv:2406.06909) study online SGD of a one-layer nonlinear contrastive model in the
high-dimensional limit.  This notebook checks, with the `cldyn` Python package, that the limiting
ODEs describe the simulated dynamics, and then their three findings:

1. only the second moment of a feature decides whether it can be learned from R = 0;
2. higher moments (here the kurtosis) decide which of two equally strong features is selected;
3. negatively correlated augmentation noise (rho < 0) helps.

The sizes are small so that the notebook runs in seconds (`make test` executes it); raise `N`,
`runs` and `directions` for publication-quality figures.  The CLI's `cldyn reproduce` runs the
full study."""),
("code", setup),
("md", """## Theory against simulation

The default model (tanh, one `rademacher:3` feature, L2 regularizer): the mean of a few SGD runs
at N = 1000 against the ODE solution, with the run-to-run standard deviation."""),
("code", """T = 12
sim = cldyn.simulate(N=1000, T=T, runs=6, seed=1, summary=True)
ode = cldyn.ode(T=T)
s = sim.summary
gap = np.max(np.abs(s["cos_1_1_mean"] - ode["cos_1_1"]))
print(f"max |mean cos - ODE cos| = {gap:.3f} over t in [0, {T}] ({sim.meta['parameters']['runs']} runs)")
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.fill_between(s["t"], s["cos_1_1_mean"] - s["cos_1_1_sd"], s["cos_1_1_mean"] + s["cos_1_1_sd"],
                alpha=0.3, label="simulation mean ± sd")
ax.plot(s["t"], s["cos_1_1_mean"], label="simulation mean")
ax.plot(ode["t"], ode["cos_1_1"], "k--", label="ODE")
ax.set_xlabel("t"); ax.set_ylabel("cos"); ax.legend()
assert gap < 0.2"""),
("md", """## Finding (i): only the second moment decides learnability

`fixed(threshold=True)` gives the critical second moment <c²> at which R = 0 loses stability.
Laws with very different kurtosis share it."""),
("code", """laws = ["gauss", "rademacher", "uniform", "laplace"]
crit = {law: cldyn.fixed(c=law, threshold=True)["critical_m2"][0] for law in laws}
for law, m2 in crit.items():
    print(f"{law:12s} critical <c^2> = {m2:.10f}")
spread = max(crit.values()) - min(crit.values())
print(f"spread across laws: {spread:.2e}")
assert spread < 1e-6"""),
("md", """The bifurcation diagram: the fixed points against the second moment of a `rademacher` feature,
continued with `vary` (`m2_1` is the second moment of feature 1)."""),
("code", """bif = cldyn.fixed(vary="m2_1=0.5:4:0.25")
stable = bif["stability"] == "stable"
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(bif["m2_1"][stable], bif["cos_1_1"][stable], "o", label="stable")
ax.plot(bif["m2_1"][~stable], bif["cos_1_1"][~stable], "o", mfc="none", label="unstable or saddle")
ax.axvline(crit["rademacher"], color="gray", ls=":", label="critical <c²>")
ax.set_xlabel("<c²>"); ax.set_ylabel("cos at the fixed point"); ax.legend()"""),
("md", """## Finding (ii): higher moments decide which feature is selected

Two features with the same second moment (3), so the same growth rate at R = 0.  Feature 2 is
`rademacher:3`; feature 1 is sparser (larger kurtosis) from left to right.  `basin` starts the ODEs
from random uninformative states and reports the probability of each stable fixed point; feature 1
is selected at the points where |cos_1| > |cos_2|."""),
("code", """rows = []
for law in ["rademacher:3", "sparse:3:0.5", "sparse:3:0.2"]:
    b = cldyn.basin(c=[law, "rademacher:3"], directions=40, seed=2, tmax=80)
    sel = np.abs(b["cos_1_1"]) > np.abs(b["cos_2_1"])
    p = float(np.sum(b["probability"][sel]))
    se = np.sqrt(p * (1 - p) / 40)
    rows.append((law, p, se))
    print(f"feature 1 = {law:14s} P(feature 1 selected) = {p:.2f} ± {se:.2f}")
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.errorbar(range(3), [r[1] for r in rows], yerr=[r[2] for r in rows], fmt="o", capsize=4)
ax.set_xticks(range(3), [r[0] for r in rows]); ax.set_ylabel("P(feature 1 selected)")
ax.axhline(0.5, color="gray", ls=":")"""),
("md", """## Finding (iii): negatively correlated noise helps

The stable fixed point of the ODEs against the correlation rho of the two views' noise
(`fixed` continued in rho), and the ODE at t = 30 from R(0) = 0.3 at each rho (a `sweep`),
against the mean of a few SGD runs."""),
("code", """fp = cldyn.fixed(vary="rho=-1:1:0.25")
st = (fp["stability"] == "stable") & (fp["cos_1_1"] > 0)
sw = cldyn.sweep("ode", {"rho": (-1, 1, 0.5)}, T=30, dt_out=30, R0=0.3)
last = sw["t"] == 30
sims = {rho: cldyn.simulate(N=500, T=30, dt_out=30, R0=0.3, rho=rho, runs=4, seed=3)
        for rho in (-1.0, 0.0, 1.0)}
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(fp["rho"][st], fp["cos_1_1"][st], "k-", label="stable fixed point")
ax.plot(sw["rho"][last], sw["cos_1_1"][last], "s", label="ODE at t = 30")
for rho, r in sims.items():
    c = r["cos_1_1"][r["t"] == 30]
    ax.errorbar(rho, c.mean(), yerr=c.std(ddof=1) / np.sqrt(len(c)), fmt="o", color="C3", capsize=4,
                label="simulate N = 500" if rho == -1 else None)
ax.set_xlabel("rho"); ax.set_ylabel("cos"); ax.legend()
best = fp["rho"][st][np.argmax(fp["cos_1_1"][st])]
print(f"the best stable cos is at rho = {best}")
assert best < 0"""),
], "examples/findings.ipynb")

nb([
("md", """# A study: finite-N fluctuations around the ODE

The ODEs are the N → ∞ limit.  At finite N the order parameters fluctuate around them, with a
spread that should shrink like N^(-1/2).  The exact finite-N order-parameter chain (`reduced`,
O(1) per step, the same law as the full SGD for the L2 regularizer) makes this cheap to measure
with many runs.  We measure the standard deviation of cos over runs at a fixed time (t = 3, while R grows) for several
N, and fit the exponent."""),
("code", setup),
("code", """T, runs = 3, 40  # t = 3: R is growing, far from both R = 0 and the fixed point
Ns = [250, 500, 1000, 2000, 4000]
ode = cldyn.ode(T=T, dt_out=T)
cos_inf = ode["cos_1_1"][-1]
sd, bias = [], []
for N in Ns:
    r = cldyn.reduced(N=N, T=T, dt_out=T, runs=runs, seed=11)
    c = r["cos_1_1"][r["t"] == T]
    sd.append(c.std(ddof=1))
    bias.append(c.mean() - cos_inf)
    print(f"N = {N:5d}: mean cos - ODE = {bias[-1]:+.4f}, sd over {runs} runs = {sd[-1]:.4f}")"""),
("code", """slope, icpt = np.polyfit(np.log(Ns), np.log(sd), 1)
print(f"fitted sd ~ N^{slope:.2f} (theory: N^-0.5)")
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.loglog(Ns, sd, "o", label="sd of cos over runs (reduced chain)")
ax.loglog(Ns, np.exp(icpt) * np.array(Ns, float) ** slope, "--", label=f"fit: N^{slope:.2f}")
ax.set_xlabel("N"); ax.set_ylabel(f"sd of cos at t = {T}"); ax.legend()
assert -0.8 < slope < -0.2"""),
("md", """The same comparison with the full SGD (`simulate`) at one N: its spread agrees with the
chain's (the chain is exact in law for the L2 regularizer), within the sampling error of a
standard deviation estimated from `runs` samples (relative error about 1/sqrt(2 runs))."""),
("code", """N = 1000
full = cldyn.simulate(N=N, T=T, dt_out=T, runs=runs, seed=12, threads=2)
cf = full["cos_1_1"][full["t"] == T]
k = Ns.index(N)
print(f"N = {N}: sd simulate = {cf.std(ddof=1):.4f}, sd reduced = {sd[k]:.4f}")
ratio = cf.std(ddof=1) / sd[k]
assert abs(np.log(ratio)) < 4 / np.sqrt(2 * runs)"""),
], "examples/finite_n.ipynb")
