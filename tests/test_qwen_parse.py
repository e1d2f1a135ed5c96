"""Qwen-VL bbox_2d answers -> pixel boxes of the original image, for both coordinate conventions."""
import pytest
from eolens.inference.models.qwen_parse import parse_boxes
from eolens.inference.results import PixelBox

ORIGINAL = (1000, 1500)   # (h, w) of the captured image
RESIZED_25 = (1008, 1512)  # what Qwen2.5-VL's smart_resize makes of it (multiples of 28)

# Answers in the exact shape the models print them (fenced JSON list, tab-indented).
QWEN25_ANSWER = """```json
[
\t{"bbox_2d": [756, 504, 1512, 1008], "label": "airplane"},
\t{"bbox_2d": [0, 0, 378, 252], "label": "airplane"}
]
```"""
QWEN3_ANSWER = """```json
[
\t{"bbox_2d": [100, 200, 500, 800], "label": "storage tank"}
]
```"""


def _xyxy(box: PixelBox):
    return [box.x0, box.y0, box.x1, box.y1]


def test_qwen25_absolute_pixels_of_resized_input_are_rescaled():
    boxes, warnings = parse_boxes(QWEN25_ANSWER, version="2.5", input_hw=RESIZED_25,
                                  original_hw=ORIGINAL)
    assert warnings == []
    assert [_xyxy(b) for b in boxes] == [[750, 500, 1500, 1000], [0, 0, 375, 250]]
    assert [b.label for b in boxes] == ["airplane", "airplane"]


def test_qwen3_relative_0_1000():
    boxes, warnings = parse_boxes(QWEN3_ANSWER, version="3", input_hw=(1024, 1536),
                                  original_hw=ORIGINAL)
    assert warnings == []
    assert [_xyxy(b) for b in boxes] == [[150, 200, 750, 800]]
    assert boxes[0].label == "storage tank"


def test_same_answer_means_different_boxes_per_version():
    text = '[{"bbox_2d": [500, 500, 1000, 1000]}]'
    (b25,), _ = parse_boxes(text, version="2.5", input_hw=(1000, 1000), original_hw=(500, 500))
    (b3,), _ = parse_boxes(text, version="3", input_hw=(1000, 1000), original_hw=(500, 500))
    assert _xyxy(b25) == [250, 250, 500, 500]
    assert _xyxy(b3) == [250, 250, 500, 500]
    (b25,), _ = parse_boxes(text, version="2.5", input_hw=(2000, 2000), original_hw=(500, 500))
    assert _xyxy(b25) == [125, 125, 250, 250]


def test_unfenced_json_with_prose_and_a_single_object():
    text = ('Sure. {"bbox_2d": [10, 20, 110, 220], "label": "ship"} is the only ship; '
            "the rest of the harbour is empty.")
    boxes, warnings = parse_boxes(text, version="2.5", input_hw=(500, 500), original_hw=(500, 500))
    assert [_xyxy(b) for b in boxes] == [[10, 20, 110, 220]] and warnings == []


def test_clamped_to_image_and_corners_sorted():
    text = '[{"bbox_2d": [1100, 1050, 900, 900], "label": "road"}]'
    (box,), _ = parse_boxes(text, version="3", input_hw=(0, 0), original_hw=ORIGINAL)
    assert _xyxy(box) == [1350, 900, 1500, 1000]


def test_malformed_json_gives_no_boxes_and_a_warning():
    text = '```json\n[{"bbox_2d": [10, 20, 30}, {"label": "car"]\n```'
    boxes, warnings = parse_boxes(text, version="3", input_hw=(10, 10), original_hw=(10, 10))
    assert boxes == [] and len(warnings) == 1


def test_truncated_answer_keeps_complete_boxes_and_warns():
    text = '```json\n[\n\t{"bbox_2d": [0, 0, 500, 500], "label": "car"},\n\t{"bbox_2d": [600, 6'
    boxes, warnings = parse_boxes(text, version="3", input_hw=(10, 10), original_hw=(100, 100))
    assert [_xyxy(b) for b in boxes] == [[0, 0, 50, 50]]
    assert len(warnings) == 1 and "1 box" in warnings[0]


def test_unusable_boxes_are_skipped_with_warnings():
    text = ('[{"bbox_2d": [1, 2, 3]}, {"bbox_2d": ["a", 0, 1, 1]}, {"bbox_2d": [5, 5, 5, 9]},'
            ' {"bbox_2d": [0, 0, 4, 4]}]')
    boxes, warnings = parse_boxes(text, version="2.5", input_hw=(10, 10), original_hw=(10, 10))
    assert [_xyxy(b) for b in boxes] == [[0, 0, 4, 4]] and len(warnings) == 3


def test_plain_text_answer_has_no_boxes_and_no_warning():
    assert parse_boxes("There are no airplanes in this image.", version="3",
                       input_hw=(10, 10), original_hw=(10, 10)) == ([], [])


def test_unknown_version_is_a_programming_error():
    with pytest.raises(ValueError):
        parse_boxes("[]", version="2", input_hw=(1, 1), original_hw=(1, 1))
