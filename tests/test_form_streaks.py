"""A scanner's streak down a faxed page through a box of our form (parsers.form_crops).

Generated crops only: a box's crop (0 ink, 255 paper) with typed-like strokes and a streak.
"""

from __future__ import annotations

import numpy as np

from parsers.form_crops import _drop_streaks


def _crop_with_streak() -> np.ndarray:
    crop = np.full((40, 120), 255, dtype=np.uint8)
    crop[10:30, 20:50] = 0  # a letter's body, paper above and below it
    crop[12:28, 22:48] = 255
    crop[19:21, 20:50] = 0  # its middle bar, crossing where the streak runs
    crop[:, 34] = 0  # the streak: every row, through the letter
    crop[5:35, 35] = 0  # half of it two pixels wide
    return crop


def test_a_streak_through_a_letter_is_taken_off_around_it_and_kept_across_its_strokes() -> None:
    out = _drop_streaks(_crop_with_streak())
    assert (out[:10, 33:37] == 255).all() and (out[30:, 33:37] == 255).all()  # above and below the letter
    assert (out[19:21, 20:50] == 0).all()  # the bar it crossed is whole
    assert (out[10, 20:50] == 0).all()  # and the letter's top


def test_a_letter_that_is_no_streak_is_left_alone() -> None:
    crop = np.full((40, 120), 255, dtype=np.uint8)
    crop[6:34, 60:63] = 0  # a tall thin letter (an l) with paper above and below
    assert (_drop_streaks(crop.copy()) == crop).all()
