"""A layered, left-to-right layout of a directed acyclic graph, computed in plain Python.

The computational graph of a trace is drawn the way the tutorials draw it: inputs in the first
column, each value one column to the right of its rightmost argument, edges pointing right. An
edge that skips columns gets a waypoint in each column it crosses, so it bends around the nodes
there instead of running through them. Within a column, nodes are ordered by the mean position of
their neighbours (the barycenter heuristic of Sugiyama-style layouts), which keeps crossings few.

>>> columns, routes = layered([-1, 0, 1, 2, 3, 4, 5],
...                           [(-1, 1), (-1, 2), (0, 2), (1, 3), (2, 3), (0, 4), (3, 5), (4, 5)])
>>> columns
[[-1, 0], [1, 2, 4], [3, ('edge', 7, 2)], [5]]
>>> routes[7]                          # v₄ → v₅ skips column 2: one waypoint there
[('edge', 7, 2)]
"""

from __future__ import annotations

from typing import Dict, Hashable, List, Sequence, Tuple

__all__ = ["layered"]

#: A waypoint of edge number ``i`` in column ``c`` is the item ``("edge", i, c)``.
Item = Hashable


def layered(nodes: Sequence[Hashable], edges: Sequence[Tuple[Hashable, Hashable]],
            sweeps: int = 4, max_waypoints: int = 5000
            ) -> Tuple[List[List[Item]], Dict[int, List[Item]]]:
    """Columns of items (nodes and edge waypoints), top to bottom, and each edge's waypoints.

    ``nodes`` must be in an order where every edge points forward (a recorded tape's order);
    a node's column is one more than the largest column among its sources (0 without any).
    A graph whose long edges would need more than ``max_waypoints`` waypoints gets none (its
    edges are then drawn straight across), so a long trace still lays out in linear time.
    """
    column: Dict[Hashable, int] = {}
    sources: Dict[Hashable, List[Hashable]] = {v: [] for v in nodes}
    for a, b in edges:
        sources[b].append(a)
    for v in nodes:
        column[v] = 1 + max((column[a] for a in sources[v]), default=-1)
    columns: List[List[Item]] = [[] for _ in range(1 + max(column.values(), default=-1))]
    for v in nodes:
        columns[column[v]].append(v)

    spans = sum(max(0, column[b] - column[a] - 1) for a, b in edges)
    with_waypoints = spans <= max_waypoints
    # Chains of items: each edge is a → waypoints → b, one step per column.
    before: Dict[Item, List[Item]] = {v: [] for v in nodes}
    after: Dict[Item, List[Item]] = {v: [] for v in nodes}
    routes: Dict[int, List[Item]] = {}
    for i, (a, b) in enumerate(edges):
        prev: Item = a
        route: List[Item] = []
        for c in range(column[a] + 1, column[b] if with_waypoints else column[a] + 1):
            w = ("edge", i, c)
            columns[c].append(w)
            before[w], after[w] = [prev], []
            after[prev].append(w)
            route.append(w)
            prev = w
        after[prev].append(b)
        before[b].append(prev)
        routes[i] = route

    def reorder(col: List[Item], neighbours: Dict[Item, List[Item]], pos: Dict[Item, float]) -> None:
        def key(item: Item) -> float:
            ns = [pos[n] for n in neighbours[item] if n in pos]
            return sum(ns) / len(ns) if ns else pos.get(item, 0.0)
        col.sort(key=key)  # stable: ties keep the recorded order

    # Relative positions, so columns of different heights compare (0 top, 1 bottom).
    pos: Dict[Item, float] = {}

    def place(col: List[Item]) -> None:
        pos.update((item, (k + 0.5) / len(col)) for k, item in enumerate(col))

    for col in columns:
        place(col)
    for s in range(sweeps):
        down = s % 2 == 0
        for c in (range(1, len(columns)) if down else range(len(columns) - 2, -1, -1)):
            reorder(columns[c], before if down else after, pos)
            place(columns[c])
    return columns, routes
