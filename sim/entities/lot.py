"""A lot: a bundle of kits or masks that moves and is worked on as one entity."""

from __future__ import annotations


class Lot:
    """`masks` counts the masks (or kits) in the lot; `defects` how many of them are defective (unknown to
    the network until inspected); `cut_time` when its kits were cut (for end-to-end lead time)."""

    __slots__ = ("cut_time", "defects", "masks", "origin", "rework")

    def __init__(self, masks: int, cut_time: float, origin: int, defects: int = 0, rework: bool = False) -> None:
        self.masks = masks
        self.cut_time = cut_time
        self.origin = origin  # index of the site that sewed it (for certification holds), -1 before sewing
        self.defects = defects
        self.rework = rework

    def __repr__(self) -> str:
        flag = " rework" if self.rework else ""
        return f"Lot({self.masks} masks, {self.defects} defective, cut at {self.cut_time:.1f} h{flag})"
