"""Run under the real pypet (in its own environment): write the test files.

Usage: python write_files.py OUTDIR

Writes ``kinds.hdf5`` (every kind of data that loads without unpickling),
``pickled.hdf5`` (pickled leaves, and annotations PyTables pickled: a list,
which is plain data, and, in a second trajectory, a date, which is not) and
``two.hdf5`` (two trajectories in one file).
"""

import datetime
import os
import sys

import numpy as np
import pandas as pd
import scipy.sparse as sparse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import old_numpy_names  # noqa: E402,F401  (before pypet)
from pypet import (  # noqa: E402
    ArrayParameter,
    Environment,
    PickleParameter,
    PickleResult,
    SparseParameter,
    SparseResult,
    cartesian_product,
)


def simulate(traj):
    """One run: results and derived parameters of each kind, computed from the point."""
    product = traj.x * traj.y
    result = traj.f_add_result("product", product, comment="x times y")
    result.v_annotations.sign = int(np.sign(product))
    traj.f_add_result("measures.series", np.linspace(0.0, traj.y, 4))
    traj.f_add_result(
        "measures.mixed",
        count=int(traj.x),
        label="run %d" % traj.v_idx,
        pair=(traj.x, traj.x + 1),
        flags=[True, False],
        comment="several items",
    )
    traj.f_add_result("frames.table", pd.DataFrame({"a": [traj.x, 2 * traj.x], "b": [0.5, traj.y]}))
    traj.f_add_derived_parameter("doubled", 2 * traj.x, comment="per-run derived")
    traj.f_add_result("runs.$set.$.grouped", traj.v_idx, comment="in a run set group")
    return product


def write_kinds(path):
    env = Environment(
        trajectory="kinds",
        filename=path,
        comment="every kind of data",
        log_config=None,
        overwrite_file=True,
        add_time=False,
        report_progress=False,
    )
    traj = env.trajectory
    traj.f_add_config("seed", 1234, comment="random seed")
    traj.f_add_parameter_group("model", comment="the model's parameters")
    traj.f_add_parameter("model.x", 1, comment="an explored integer")
    traj.f_add_parameter("model.y", 0.5, comment="an explored float")
    traj.f_add_parameter("model.name", "leaky", comment="a string")
    traj.f_add_parameter("model.on", True)
    traj.f_add_parameter("model.z", 1.5 + 2j)
    traj.f_add_parameter("model.small", np.int16(-7))
    traj.f_add_parameter("model.precise", np.float64(0.125))
    traj.f_add_parameter(ArrayParameter, "model.weights", np.array([[1.0, 2.0], [3.0, 4.0]]))
    traj.f_add_parameter(ArrayParameter, "model.shape", (3, 4, 5))
    traj.f_add_parameter(SparseParameter, "model.connect", sparse.csr_matrix(np.eye(3) * 2.0))
    traj.f_add_parameter("model.word", b"raw")
    traj.f_get("model.x").v_annotations.unit = "mV"
    traj.f_get("model.x").v_annotations.rank = 3
    traj.parameters.model.v_annotations.author = "tester"
    space = cartesian_product({"model.x": [1, 2, 3], "model.y": [0.5, 1.5]})
    space["model.weights"] = [np.full((2, 2), float(i)) for i in range(6)]
    space["model.connect"] = [sparse.csr_matrix(np.eye(3) * i) for i in range(6)]
    traj.f_explore(space)
    traj.f_add_derived_parameter("setup.total", 6, comment="derived before the runs")
    traj.f_add_link("x_link", traj.f_get("model.x"))
    traj.parameters.f_add_link("alias", traj.f_get("model.y"))
    env.run(simulate)
    xs, ys = traj.f_get("model.x").f_get_range(), traj.f_get("model.y").f_get_range()
    traj.f_add_result("summary.products", np.array([x * y for x, y in zip(xs, ys)]))
    traj.f_add_result(SparseResult, "summary.matrix", sparse.lil_matrix((4, 5)).tocsc(), note="an empty sparse matrix")
    traj.f_add_result("summary.series", pd.Series([1.0, 2.0, 3.0], index=[10, 20, 30], name="s"))
    traj.f_add_result("summary.nested", info={"alpha": 1, "beta": 2.5})
    traj.f_add_result("summary.words", ["a", "bc", "def"])
    traj.results.summary.v_comment = "after the runs"
    traj.f_store()
    env.disable_logging()


def write_pickled(path):
    env = Environment(
        trajectory="pickled",
        filename=path,
        log_config=None,
        overwrite_file=True,
        add_time=False,
        report_progress=False,
    )
    traj = env.trajectory
    traj.f_add_parameter(PickleParameter, "obj", {"k": [1, 2]}, comment="pickled dict")
    traj.f_add_parameter("plain", 3)
    traj.f_explore({"obj": [{"k": [i]} for i in range(3)]})
    traj.f_add_result(PickleResult, "blob", thing={"set": {1, 2}}, other=[1, "two"])
    traj.f_add_result("frame", pd.DataFrame({"word": ["x", "yy"], "n": [1, 2]}))
    traj.f_get("plain").v_annotations.tags = ["a", "b"]
    traj.f_store()
    env.disable_logging()
    env = Environment(trajectory="dated", filename=path, log_config=None, add_time=False, report_progress=False)
    env.trajectory.f_add_parameter("day", 2)
    env.trajectory.f_get("day").v_annotations.when = datetime.date(2020, 1, 2)
    env.trajectory.f_store()
    env.disable_logging()


def write_two(path):
    for name, value in (("first", 1), ("second", 2)):
        env = Environment(
            trajectory=name,
            filename=path,
            log_config=None,
            add_time=False,
            report_progress=False,
            comment="trajectory %s" % name,
        )
        env.trajectory.f_add_parameter("value", value)
        env.trajectory.f_explore({"value": [value, value + 10]})
        env.run(lambda traj: traj.f_add_result("out", traj.value * 2))
        env.disable_logging()


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    write_kinds(os.path.join(outdir, "kinds.hdf5"))
    write_pickled(os.path.join(outdir, "pickled.hdf5"))
    write_two(os.path.join(outdir, "two.hdf5"))


if __name__ == "__main__":
    main(sys.argv[1])
