"""Write model.onnx beside this file: n2d2c's bundled LeNet (seeded random weights)."""

from pathlib import Path

import onnx

from n2d2c.examples.lenet import lenet

if __name__ == "__main__":
    onnx.save(lenet(), Path(__file__).with_name("model.onnx"))
