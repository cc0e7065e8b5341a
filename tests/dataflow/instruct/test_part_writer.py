"""Regression: ``PartWriter.append`` across a part boundary (found by the 100k-example instruct benchmark)."""

from __future__ import annotations

import pyarrow.parquet as pq

from dataflow.snapshots.files import BUFFER_ROWS, PartWriter
from schemas.instruct import REVIEWS


def test_appends_that_fill_a_part_roll_over_without_recursion(tmp_path):
    w = PartWriter(REVIEWS, tmp_path.as_uri(), rows_per_file=2 * BUFFER_ROWS)
    n = 5 * BUFFER_ROWS + 7
    for i in range(n):
        w.append(dict(id=str(i), run_id="r", reviewer="", judge_label="keep", human_label="drop", note=None))
    paths = w.close()
    counts = [pq.read_metadata(p.removeprefix("file://")).num_rows for p in paths]
    assert counts == [2 * BUFFER_ROWS, 2 * BUFFER_ROWS, BUFFER_ROWS + 7]
