"""TensorBoard event files (``events.out.tfevents.*``): a file, a folder of them (one run: a
restart's files are merged), or a folder of run folders (one run each).

Read with TensorBoard's own record reader (``pip install "scalefit[tensorboard]"``), every record
in turn: every scalar is kept (TensorBoard's ``EventAccumulator`` keeps a sample of 10,000 per tag
by default). A scalar is a ``simple_value`` (PyTorch's and tensorboardX's writers) or a 0-d float
tensor (TensorFlow 2's). The reader stops quietly at a damaged record, for files still being
written; here the bytes read are counted, and a file not read to its end is refused.
"""

from __future__ import annotations

from array import array
from pathlib import Path

import numpy as np

from scalefit.io._errors import fail
from scalefit.io._source import Cells, Rows, Source

__all__ = ["EVENT_GLOB", "event_folders", "is_event_file", "tensorboard_sources"]

EVENT_GLOB = "events.out.tfevents.*"
_FLOAT_TYPES = (1, 2, 19)  # DT_FLOAT, DT_DOUBLE, DT_HALF
_RECORD_FRAME = 16  # a record's length (8 bytes), its CRC (4), then the data's CRC (4)


def is_event_file(path: Path) -> bool:
    return path.name.startswith("events.out.tfevents.") and path.is_file()


def event_folders(path: Path) -> list[Path]:
    """``path`` and the folders under it that hold event files, in order."""
    return sorted({p.parent for p in path.rglob(EVENT_GLOB) if p.is_file()})


def _reader(path: Path):
    try:
        from google.protobuf.message import DecodeError
        from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.util.tensor_util import make_ndarray
    except ImportError:
        raise fail(
            path,
            "reading TensorBoard event files needs the tensorboard package "
            '(pip install "scalefit[tensorboard]")',
        ) from None
    return RawEventFileLoader, Event, make_ndarray, DecodeError


def _scalar(value, make_ndarray) -> float | None:
    kind = value.WhichOneof("value")
    if kind == "simple_value":
        return value.simple_value
    if (
        kind == "tensor"
        and value.tensor.dtype in _FLOAT_TYPES
        and not value.tensor.tensor_shape.dim
    ):
        return float(make_ndarray(value.tensor))
    return None


def _read_scalars(path: Path, files: list[Path]) -> dict[str, tuple[array, array]]:
    """Every scalar of ``files``, by tag: (steps, values) in the files' order."""
    loader, event_type, make_ndarray, decode_error = _reader(path)
    series: dict[str, tuple[array, array]] = {}
    for file in files:
        try:
            size, read = file.stat().st_size, 0
            for record in loader(str(file)).Load():
                read += len(record) + _RECORD_FRAME
                try:
                    event = event_type.FromString(record)
                except decode_error:
                    problem = f"corrupt event file (a record ending at byte {read} is unreadable)"
                    raise fail(file, problem) from None
                for value in event.summary.value:
                    x = _scalar(value, make_ndarray)
                    if x is not None:
                        steps, values = series.setdefault(value.tag, (array("q"), array("d")))
                        steps.append(event.step)
                        values.append(x)
        except OSError as exc:
            raise fail(file, f"cannot read the file ({exc.strerror or exc})") from None
        if read != size:
            problem = f"truncated or corrupt event file (readable up to byte {read} of {size})"
            raise fail(file, problem)
    return series


def _source(path: Path, files: list[Path], run: str | None) -> Source:
    series = _read_scalars(path, files)

    def load(step_col: str, lr_col: str, loss_col: str) -> Rows:
        del step_col  # the step of each value
        tags = list(dict.fromkeys((loss_col, lr_col)))
        steps = [np.frombuffer(series[t][0], dtype=np.int64) for t in tags]
        values = [np.frombuffer(series[t][1], dtype=np.float64) for t in tags]
        owner = np.repeat(np.arange(len(tags)), [s.size for s in steps])
        step = np.concatenate(steps).astype(np.float64)
        value = np.concatenate(values)

        def cells(tag: str) -> Cells:
            mine = owner == tags.index(tag)
            return Cells(np.where(mine, value, np.nan), mine)

        def locate(i: int) -> str:
            return f"tag {tags[owner[i]]!r} at step {int(step[i])}"

        return Rows(Cells.numbers(step), cells(lr_col), cells(loss_col), locate)

    return Source(path, "tensorboard", run, tuple(series), load, what="tag", step_column="step")


def tensorboard_sources(path: Path) -> list[Source]:
    """One :class:`Source` per run: the event file ``path``, or each folder holding event files
    at or under the folder ``path``."""
    if path.is_file():
        return [_source(path, [path], None)]
    folders = event_folders(path)
    if not folders:
        raise fail(path, f"no TensorBoard event file ({EVENT_GLOB}) in this folder or under it")
    sources = []
    for folder in folders:
        files = sorted(p for p in folder.glob(EVENT_GLOB) if p.is_file())
        run = None if folder == path else folder.relative_to(path).as_posix()
        sources.append(_source(folder if run else path, files, run))
    return sources
