"""nearortho.dask over row blocks equals nearortho.interference on the whole frame."""
import socket
import sys

import numpy as np
import pytest

import nearortho

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
from nearortho import dask as nd  # noqa: E402

# blocks and the whole frame compared bit for bit: on one backend whose Gram entries do not
# depend on the block shapes (cuBLAS picks kernels by shape)
pytestmark = pytest.mark.usefixtures("cpu_backend")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address="127.0.0.1:0") as cluster, distributed.Client(cluster) as c:
        yield c


def assert_same(blocked, whole, *, per_row=True, topk=False):
    assert blocked.pairs == whole.pairs
    assert blocked.coherence == whole.coherence and blocked.pair == whole.pair
    assert np.array_equal(blocked.hist, whole.hist)
    assert blocked.count_above == whole.count_above
    assert blocked.sum_sq == pytest.approx(whole.sum_sq, rel=1e-12)
    assert blocked.sum == pytest.approx(whole.sum, rel=1e-9, abs=1e-9)
    sides = ("row",) if whole.m2 is None else ("row", "col")
    for side in sides:
        if per_row:
            for name in ("max", "argmax", "signed_max", "signed_argmax"):
                assert np.array_equal(getattr(blocked, f"{side}_{name}"), getattr(whole, f"{side}_{name}"))
            np.testing.assert_allclose(getattr(blocked, f"{side}_sumsq"), getattr(whole, f"{side}_sumsq"), rtol=1e-12)
        if topk:
            prefix = "" if side == "row" else "col_"
            assert np.array_equal(getattr(blocked, f"{prefix}topk_index"), getattr(whole, f"{prefix}topk_index"))
            assert np.array_equal(getattr(blocked, f"{prefix}topk_value"), getattr(whole, f"{prefix}topk_value"))


@pytest.mark.parametrize("chunk", [17, 40, 103])
def test_symmetric_blocks_equal_the_whole(client, chunk):
    W = nearortho.frame(16, 103, seed=1)
    blocked = nd.interference(da.from_array(W, chunks=(chunk, 16)), client=client, topk=2, thresholds=(0.4,))
    assert_same(blocked, nearortho.interference(W, topk=2, thresholds=(0.4,)), topk=True)
    assert blocked.m == 103 and blocked.m2 is None



@pytest.mark.parametrize("chunk,topk", [(100, 0), (50, 0), (99, 3)])
def test_a_last_chunk_too_small_for_pairs_joins_the_one_before(client, chunk, topk):
    # 101 rows in chunks of 100 leave a last chunk of one row (of two with topk=3): it
    # was merged by an assignment that popped the list it indexed (IndexError)
    W = nearortho.frame(16, 101, seed=5)
    blocked = nd.interference(da.from_array(W, chunks=(chunk, 16)), client=client, topk=topk)
    assert_same(blocked, nearortho.interference(W, topk=topk), topk=bool(topk))
    X = W.astype(np.float64) / np.linalg.norm(W.astype(np.float64), axis=1, keepdims=True)
    assert blocked.coherence == pytest.approx(np.abs(np.triu(X @ X.T, 1)).max(), abs=1e-5)

def test_symmetric_scalars_only(client):
    W = nearortho.frame(9, 64, "sign", seed=2, dtype=np.float64)
    blocked = nd.interference(da.from_array(W, chunks=(20, 9)), client=client, per_row=False)
    assert_same(blocked, nearortho.interference(W, per_row=False), per_row=False)
    assert blocked.row_max is None


def test_cross_blocks_equal_the_whole_and_give_mmcs(client):
    W, B = nearortho.frame(16, 70, seed=3), nearortho.frame(16, 50, "sparse", seed=4)
    blocked = nd.interference(da.from_array(W, chunks=(25, 8)), da.from_array(B, chunks=(20, 16)), client=client,
                              topk=2)
    whole = nearortho.interference(W, B, topk=2)
    assert_same(blocked, whole, topk=True)
    assert blocked.mmcs == whole.mmcs


def test_default_local_cluster():
    W = nearortho.frame(8, 30, seed=5)
    assert_same(nd.interference(da.from_array(W, chunks=(10, 8))), nearortho.interference(W))


def test_default_local_cluster_works_beside_a_dashboard_on_8787():
    # 8787 busy (held here, or by another process): no "Port 8787 is already in use" warning,
    # which this suite turns into an error
    with socket.socket() as held:
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            held.bind(("0.0.0.0", 8787))
            held.listen(1)
        except OSError:
            pass  # already taken
        W = nearortho.frame(8, 30, seed=6)
        assert_same(nd.interference(da.from_array(W, chunks=(10, 8))), nearortho.interference(W))


def test_rejects_numpy_input():
    with pytest.raises(TypeError, match="must be dask arrays"):
        nd.interference(np.ones((3, 2)))


@pytest.mark.parametrize("bad, message", [
    (lambda W: W.__setitem__((17, 2), np.nan), r"^W contains NaN or Inf \(row 17\)"),
    (lambda W: W.__setitem__(38, 0.0), r"^W has a zero row \(row 38\)"),
    (lambda W: W.__setitem__(3, 0.0), r"^W has a zero row \(row 3\)"),
])
def test_bad_rows_are_named_by_their_row_of_the_frame(client, bad, message):
    # each task's pass named a row of its block, W's second block as "B":
    # "B contains NaN or Inf (row 3)" for row 17 of W
    W = nearortho.frame(16, 40, seed=1)
    bad(W)
    with pytest.raises(ValueError, match=message):
        nearortho.dask.interference(da.from_array(W, chunks=(7, 16)), client=client)


def test_bad_rows_of_b_are_named_by_their_row_of_b(client):
    W, B = nearortho.frame(16, 40, seed=1), nearortho.frame(16, 20, seed=2)
    B[12] = np.inf
    with pytest.raises(ValueError, match=r"^B contains NaN or Inf \(row 12\)"):
        nearortho.dask.interference(da.from_array(W, chunks=(7, 16)), da.from_array(B, chunks=(5, 16)), client=client)


@pytest.mark.parametrize("kwargs, error, name", [
    ({"bins": 0}, ValueError, "bins"), ({"thresholds": [float("nan")]}, ValueError, "thresholds"),
    ({"per_row": "yes"}, TypeError, "per_row"), ({"client": "tcp://x"}, TypeError, "client"),
])
def test_arguments_are_checked_before_any_task(kwargs, error, name):
    W = da.from_array(nearortho.frame(16, 40, seed=1), chunks=(7, 16))
    with pytest.raises(error, match=f"^{name}"):
        nearortho.dask.interference(W, **kwargs)


def test_frames_every_block_would_refuse_are_refused_up_front():
    W = nearortho.frame(16, 40, seed=1)
    with pytest.raises(TypeError, match="^W must have a float16, float32 or float64 dtype"):
        nearortho.dask.interference(da.from_array(W.astype(int), chunks=(7, 16)))
    with pytest.raises(ValueError, match="^B must have n = 16 columns"):
        nearortho.dask.interference(da.from_array(W, chunks=(7, 16)), da.from_array(W[:, :5], chunks=(7, 5)))
    with pytest.raises(ValueError, match="^W needs at least 2 rows"):
        nearortho.dask.interference(da.from_array(W[:1], chunks=(1, 16)))


def _per_row_bytes(stats):
    return sum(getattr(stats, name).nbytes for name in nd.PER_ROW_FIELDS if getattr(stats, name) is not None)


@pytest.mark.parametrize("with_b", [False, True])
def test_the_client_receives_one_result_per_row_block(client, monkeypatch, with_b):
    # every block pair's per-row arrays were gathered on the client: (m / chunk) times the
    # per-row values of the whole result (2.3 GB for a 40000 x 32 frame in chunks of 1000)
    W, B = nearortho.frame(16, 200, seed=6), nearortho.frame(16, 120, seed=7)
    received = []
    compute = client.compute
    monkeypatch.setattr(client, "compute", lambda tasks, **kw: received.append(compute(tasks, **kw)) or received[-1])
    other = da.from_array(B, chunks=(12, 16)) if with_b else None
    blocked = nd.interference(da.from_array(W, chunks=(10, 16)), other, client=client, topk=3)
    assert_same(blocked, nearortho.interference(W, B if with_b else None, topk=3), topk=True)
    results = [r for group in received[0] for r in group]
    assert len(results) == 2 * 20 + (10 if with_b else 0)  # per block of W: scalars and rows; per block of B
    assert sum(_per_row_bytes(r) for r in results) == _per_row_bytes(blocked)


@pytest.mark.parametrize("name", ["W", "B"])
def test_unknown_chunk_sizes_are_named(client, name):
    # they failed in the planning with "cannot convert float NaN to integer"
    X = da.from_array(nearortho.frame(16, 40, seed=1), chunks=(7, 16))
    unknown = X[X[:, 0] > -2]  # every row, in chunks of unknown size
    W, B = (unknown, None) if name == "W" else (X, unknown)
    with pytest.raises(ValueError, match=rf"^{name} has unknown chunk sizes .* {name}.compute_chunk_sizes\(\)"):
        nearortho.dask.interference(W, B, client=client)
    W, B = (W.compute_chunk_sizes(), B) if name == "W" else (W, B.compute_chunk_sizes())
    assert nearortho.dask.interference(W, B, client=client).pairs == (40 * 39 // 2 if name == "W" else 40 * 40)


def test_results_are_merged_two_at_a_time(client, monkeypatch):
    # a merge of a whole row block's results kept every block pair's per-row arrays alive
    # until the last one was done: 786 MB in process for a 60000 x 32 frame in chunks of 1000
    # with topk=8 (the whole pass: 124 MB), merged two at a time 286 MB
    import dask

    inputs = []
    compute = client.compute
    monkeypatch.setattr(client, "compute", lambda tasks, **kw: inputs.append(tasks) or compute(tasks, **kw))
    W = nearortho.frame(16, 200, seed=6)
    assert_same(nd.interference(da.from_array(W, chunks=(10, 16)), client=client, topk=2),
                nearortho.interference(W, topk=2), topk=True)
    graph = {}
    for task in (t for group in inputs[0] for t in group):
        graph.update(task.__dask_graph__())
    widest = max(len(dask.core.get_dependencies(graph, key)) for key in graph)
    assert widest == 2  # a block pair's two blocks, or a running total and one more result


def test_without_distributed_the_message_says_what_to_install(monkeypatch):
    # it failed when the tasks were about to run, with "No module named 'distributed'"
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r'needs dask and distributed: pip install "nearortho\[dask\]"'):
        nd.interference(da.from_array(nearortho.frame(8, 30, seed=5), chunks=(10, 8)))
