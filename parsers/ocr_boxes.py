"""OCR boxes carried from the levelled page Tesseract read back to the page as received.

`parsers.ocr` squares a page's pixels and turns it level before Tesseract reads it, and its word
boxes are fractions of that levelled page: the line grouping needs the words of a line on one
baseline, and a second reading (`ocr_reread.value_crop`) finds its crop from them. The review page,
however, shows the page as it came in, skewed; a value's box outlined there from levelled
coordinates misses the value by a line or more at the page's edges. So once a page's candidates
are final, their boxes are turned back by the skew that was taken off (`Levelled.shown`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from parsers import ocr
from parsers.types import Box, Candidate


@dataclass(frozen=True)
class Levelled:
    """How a page was levelled: the skew taken off (degrees) and the squared page's size (pixels)."""

    angle: float
    width: float
    height: float

    def shown(self, box: Box) -> Box:
        """`box` (fractions of the levelled page) as fractions of the page as received.

        The levelled page has the squared page's size and centre, and squaring only scales, so
        fractions of the squared page are fractions of the received one. The four corners are
        turned back about the centre; the result is their axis-aligned bounding box.
        """
        if abs(self.angle) < 0.1:  # `ocr.prepare_page` does not turn a page skewed less than this
            return box
        w, h = self.width, self.height
        back = cv2.getRotationMatrix2D((w / 2, h / 2), self.angle, 1.0)
        xs, ys = (box.x0 * w, box.x1 * w), (box.y0 * h, box.y1 * h)
        corners = back @ np.array([[x for x in xs for _ in ys], [y for _ in xs for y in ys], [1.0] * 4])
        return Box(x0=max(0.0, float(corners[0].min()) / w), y0=max(0.0, float(corners[1].min()) / h),
                   x1=min(1.0, float(corners[0].max()) / w), y1=min(1.0, float(corners[1].max()) / h))

    def candidates(self, cands: list[Candidate]) -> list[Candidate]:
        """The candidates with their boxes on the page as received (the rest kept as they are)."""
        if abs(self.angle) < 0.1:
            return cands
        out = []
        for c in cands:
            box = c.provenance.box
            out.append(c if box is None else
                       c.model_copy(update={"provenance": c.provenance.model_copy(update={"box": self.shown(box)})}))
        return out


def levelled(image: Image.Image) -> Levelled:
    """How `ocr.ocr_page` levelled this page image (call after it; no skew if it has not run)."""
    fx, fy = ocr._scale_factors(image)
    return Levelled(float(image.info.get(ocr._SKEW_KEY, 0.0)), image.width * fx, image.height * fy)
