#!/usr/bin/env python3
"""Tiny ONNX models that break the CorrGAN generator contract, for tests/corrgan.rs.

  fixtures/models/nonsquare_output.onnx : noise f32 [N,100] -> Reshape -> corr f32 [N,4,25]
  fixtures/models/rank2_output.onnx     : noise f32 [N,100] -> Identity -> corr f32 [N,100]

Needs the `onnx` package (pip install onnx). Run from the repository root.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "models")


def save(graph, name):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="corrmc-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, name))


def main():
    os.makedirs(OUT, exist_ok=True)
    noise = helper.make_tensor_value_info("noise", TensorProto.FLOAT, ["N", 100])
    shape = numpy_helper.from_array(np.array([-1, 4, 25], dtype=np.int64), name="shape")
    out = helper.make_tensor_value_info("corr", TensorProto.FLOAT, ["N", 4, 25])
    g = helper.make_graph([helper.make_node("Reshape", ["noise", "shape"], ["corr"])], "nonsquare", [noise], [out], [shape])
    save(g, "nonsquare_output.onnx")
    out2 = helper.make_tensor_value_info("corr", TensorProto.FLOAT, ["N", 100])
    g2 = helper.make_graph([helper.make_node("Identity", ["noise"], ["corr"])], "rank2", [noise], [out2])
    save(g2, "rank2_output.onnx")


if __name__ == "__main__":
    main()
