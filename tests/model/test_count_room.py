"""A group's per-instance task counts grow at each registration as views of a buffer kept
with room to spare (model/instances.py's ``InstanceState._counts_grown``). Over random
histories of new groups, counts changed in place or replaced, registrations, copies and pickles, every
group's counts must equal the reference: the old counts followed by zeros, copied afresh.
"""

from __future__ import annotations

import pickle

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from quaymaster import Cluster

operations = st.lists(st.one_of(
    st.tuples(st.just("group"), st.integers(0, 4)),
    st.tuples(st.just("add"), st.integers(0, 4), st.integers(0, 10_000), st.integers(1, 5)),
    st.tuples(st.just("register"), st.integers(1, 40)),
    st.tuples(st.just("replace"), st.integers(0, 4)),   # counts no longer a view of the kept room
    st.tuples(st.just("copy")),
    st.tuples(st.just("pickle")),
), min_size=1, max_size=30)


def register(cluster: Cluster, count: int) -> None:
    n = cluster.state.n
    cluster.register_instances([{"ec2_instance_id": f"i-{n + k}", "cpu_registered": 1024,
                                 "memory_registered": 2048} for k in range(count)])


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 20), operations)
@example(10, [("group", 0), ("register", 1), ("replace", 0), ("register", 1)])   # room behind replaced counts
def test_grown_group_counts_equal_fresh_copies(n, ops):
    cluster = Cluster.from_arrow({"ec2_instance_id": [f"i-{k}" for k in range(n)], "cpu_registered": [1024] * n,
                                  "memory_registered": [2048] * n})
    expected: dict = {}
    for operation in ops:
        kind, state = operation[0], cluster.state
        if kind == "group":
            state.group_count(f"g{operation[1]}")
            expected.setdefault(f"g{operation[1]}", np.zeros(state.n, np.int64))
        elif kind == "add" and f"g{operation[1]}" in expected:
            position = operation[2] % state.n
            state.group_counts[f"g{operation[1]}"][position] += operation[3]
            expected[f"g{operation[1]}"][position] += operation[3]
        elif kind == "register":
            register(cluster, operation[1])
            expected = {group: np.concatenate([counts, np.zeros(operation[1], np.int64)])
                        for group, counts in expected.items()}
        elif kind == "replace" and f"g{operation[1]}" in expected:
            state.group_counts[f"g{operation[1]}"] = state.group_counts[f"g{operation[1]}"] + 1
            expected[f"g{operation[1]}"] += 1
        elif kind == "copy":
            cluster = cluster.copy()
        elif kind == "pickle":
            cluster = pickle.loads(pickle.dumps(cluster))
        assert set(cluster.state.group_counts) == set(expected), operation
        for group, counts in expected.items():
            np.testing.assert_array_equal(cluster.state.group_counts[group], counts)
