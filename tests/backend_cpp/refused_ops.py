"""Ops the C backends do not lower: compiling them fails with an UnsupportedError
that names the op (and the node), before anything is written."""

from __future__ import annotations


#: op name -> why the C backends refuse it (the "every op" tests skip these)
REFUSED = {
    "anchor_boxes": "Faster R-CNN: simulator only (test_network_detection.py checks the refusal)",
    "region_proposal": "Faster R-CNN: simulator only",
    "roi_pool": "Faster R-CNN: simulator only",
}
