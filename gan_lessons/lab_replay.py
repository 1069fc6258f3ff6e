"""The live lab's memory of a run: the frames it showed, thinned so that memory stays bounded however long it trains.

`FrameHistory` keeps up to `max_frames` frames. When it is full, every other one of the older frames is dropped
(the first and the newest are always kept), so a long run is remembered evenly from step 0 at a coarser spacing.
A kept frame holds only what differs from frame to frame (samples, D's grid, arrows, manifold, coverage): the
curves are cut from the live ones when the frame is shown again, and arrays that every frame shares (the real
samples, the mode centres) are stored once. `python -m pytest tests/test_lab_replay.py` measures the bound.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .i18n import tr
from .lab_frames import Frame

MAX_FRAMES = 200  # at 6 frames a second: the last 33 s in full, or a whole run of any length at a coarser spacing


class FrameHistory:
    """The frames of a run, oldest first, at most `max_frames` of them (at least 3).

    Of the frames offered, every `stride`-th is kept (the stride starts at 1); when more than max_frames - 1 are
    kept, every other one goes and the stride doubles, so the kept frames stay evenly spread over the whole run.
    The newest frame offered is always kept as well: replay reaches back from where the run is now.
    """

    def __init__(self, max_frames: int = MAX_FRAMES) -> None:
        if not isinstance(max_frames, int) or isinstance(max_frames, bool) or max_frames < 3:
            raise ValueError(tr("max_frames={value} is not allowed; give an integer of at least 3",
                                value=repr(max_frames)))
        self.max_frames = max_frames
        self.clear()

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int) -> Frame:
        return self.frames[index]

    @property
    def frames(self) -> list[Frame]:
        """The kept frames, oldest first, the newest offered last."""
        return self._kept + ([self._newest] if self._newest is not None else [])

    @property
    def steps(self) -> list[int]:
        """The step of each kept frame, oldest first."""
        return [frame.step for frame in self.frames]

    def clear(self) -> None:
        """Forget every frame (a new run)."""
        self._kept: list[Frame] = []
        self._newest: Frame | None = None  # the newest frame offered, when it is not one of _kept
        self._offered, self.stride = 0, 1

    def add(self, frame: Frame) -> None:
        """Offer `frame`: a frame of the newest kept step replaces it; an earlier step means a new run: start over."""
        frames = self.frames
        if frames and frame.step < frames[-1].step:
            self.clear()
        elif frames and frame.step == frames[-1].step:
            if self._newest is not None:
                self._newest = self._compact(frame)
            else:
                self._kept[-1] = self._compact(frame)
            return
        kept = self._compact(frame)
        if self._offered % self.stride == 0:
            self._kept.append(kept)
            self._newest = None
            if len(self._kept) > self.max_frames - 1:
                if len(self._kept) % 2 == 0:  # the frame just kept is one of those that go: keep it as the newest
                    self._newest = kept
                self._kept, self.stride = self._kept[::2], 2 * self.stride
        else:
            self._newest = kept
        self._offered += 1

    def _compact(self, frame: Frame) -> Frame:
        """The frame without its curves, its shared arrays taken from the last kept frame when they are equal, and
        every other array copied out of whatever larger array it views (so that it holds only its own bytes)."""
        previous = self.frames[-1] if self.frames else None
        arrays = {}
        for name, value in vars(frame).items():
            if not isinstance(value, np.ndarray):
                continue
            if name in ("real", "centres") and previous is not None and np.array_equal(getattr(previous, name), value):
                arrays[name] = getattr(previous, name)
            elif value.base is not None:
                arrays[name] = value.copy()
        return dataclasses.replace(frame, curves={}, **arrays)

    def nbytes(self) -> int:
        """Bytes held by the kept frames' arrays, a shared array counted once."""
        seen: dict[int, int] = {}
        for frame in self.frames:
            for value in vars(frame).values():
                if isinstance(value, np.ndarray):
                    seen[id(value)] = value.nbytes
        return sum(seen.values())


def with_curves(frame: Frame, curves: dict[str, np.ndarray]) -> Frame:
    """A kept frame to show again, with the live curves cut at its step."""
    steps = curves.get("step", np.zeros(0))
    keep = steps <= frame.step
    return dataclasses.replace(frame, curves={key: value[keep] for key, value in curves.items()})
