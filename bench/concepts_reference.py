"""Reference concept measures with OpenCV and scikit-image, timed.

Usage: concepts_reference.py FOLDER

Computes the 17 concept measures the way the study's Python code does
(OpenCV HSV and colour masks, numpy colourfulness, scikit-image grey levels
and GLCM statistics) for every JPEG and PNG under FOLDER, in one process.
Prints the same two `key=value` lines as bench-concepts: `measure` times the
measures on already-decoded pixels, `end_to_end` decoding (cv2.imread) plus
measuring.
"""

import os
import sys
import time

import cv2
import numpy as np
from skimage.color import rgb2gray
from skimage.feature import graycomatrix, graycoprops
from skimage.util import img_as_ubyte

HUE_RANGES = {
    "red": [(0, 10), (165, 180)],
    "orange": [(10, 25)],
    "yellow": [(25, 40)],
    "green": [(40, 75)],
    "cyan": [(75, 100)],
    "blue": [(100, 125)],
    "purple": [(125, 145)],
    "magenta": [(145, 165)],
}
TEXTURE = ["contrast", "dissimilarity", "homogeneity", "ASM", "energy", "correlation"]


def concepts(rgb):
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    pixels = rgb.shape[0] * rgb.shape[1]
    values = {}
    for name, ranges in HUE_RANGES.items():
        mask = np.zeros(rgb.shape[:2], dtype=np.uint8)
        for low, high in ranges:
            mask |= cv2.inRange(hsv, (low, 50, 77), (high, 255, 255))
        values[name] = np.count_nonzero(mask) / pixels
    values["black"] = np.count_nonzero(cv2.inRange(hsv, (0, 0, 0), (180, 100, 100))) / pixels
    values["white"] = np.count_nonzero(cv2.inRange(hsv, (0, 0, 190), (180, 50, 255))) / pixels

    r, g, b = (rgb[..., i].astype(float) for i in range(3))
    rg = np.abs(r - g)
    yb = np.abs(0.5 * (r + g) - b)
    values["colorfulness"] = np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(
        rg.mean() ** 2 + yb.mean() ** 2
    )

    grey = img_as_ubyte(rgb2gray(rgb))
    glcm = graycomatrix(grey, [1], [0], levels=256, symmetric=True, normed=True)
    for prop in TEXTURE:
        values[prop] = graycoprops(glcm, prop)[0, 0]
    return values


def list_images(folder):
    found = []
    for root, _, names in os.walk(folder):
        for name in names:
            if name.lower().endswith((".jpg", ".jpeg", ".png")):
                found.append(os.path.join(root, name))
    return sorted(found)


def load(path):
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"{path}: cannot decode")
    return np.ascontiguousarray(bgr[..., ::-1])


def report(name, images, pixels, seconds):
    print(f"{name} images={images} mpixels={pixels / 1e6:.3f} seconds={seconds:.4f} threads=1")


def main():
    files = list_images(sys.argv[1])
    pixels = 0
    measure_seconds = 0.0
    end_to_end_seconds = 0.0
    for path in files:
        start = time.perf_counter()
        rgb = load(path)
        decoded = time.perf_counter()
        concepts(rgb)
        done = time.perf_counter()
        pixels += rgb.shape[0] * rgb.shape[1]
        measure_seconds += done - decoded
        end_to_end_seconds += done - start
    report("measure", len(files), pixels, measure_seconds)
    report("end_to_end", len(files), pixels, end_to_end_seconds)


if __name__ == "__main__":
    main()
