#!/usr/bin/env python3
"""Checks a rendered report: every charts/*.svg and every <svg> inlined in index.html parses as XML,
and the screenshot is not blank (pixel standard deviation). Prints JSON.
usage: ref_analysis_report_check.py REPORT_DIR SCREENSHOT.png|-"""
import glob, json, re, sys
import xml.etree.ElementTree as ET
import numpy as np

out_dir, shot = sys.argv[1], sys.argv[2]
errors, parsed = [], 0
for path in sorted(glob.glob(out_dir + "/charts/*.svg")):
    try:
        ET.parse(path); parsed += 1
    except ET.ParseError as e:
        errors.append(f"{path}: {e}")
html = open(out_dir + "/index.html", encoding="utf-8").read()
inline = re.findall(r"<svg.*?</svg>", html, flags=re.S)
for i, svg in enumerate(inline):
    try:
        ET.fromstring(svg); parsed += 1
    except ET.ParseError as e:
        errors.append(f"inline svg {i}: {e}")
result = {"parsed": parsed, "inline": len(inline), "errors": errors}
if shot != "-":   # "-": no screenshot, check the SVGs only
    from PIL import Image
    img = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    result.update(pixel_std=float(img.std()), non_white_fraction=float((img < 250).mean()))
print(json.dumps(result))
