"""The four warning colours of 分色预警 (plus "none"), in ascending severity, with their Chinese labels."""
from __future__ import annotations

LEVELS = ("none", "blue", "yellow", "orange", "red")  # ascending severity
LABELS = {"red": "红色预警", "orange": "橙色预警", "yellow": "黄色预警", "blue": "蓝色预警", "none": "正常"}
RANK = {level: i for i, level in enumerate(LEVELS)}
