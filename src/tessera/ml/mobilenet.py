"""MobileNetV2 (torchvision's layout) as an ONNX graph built from its ImageNet weights, batch-norm folded
into the convolutions. Its outputs are the 1280-d pooled embedding (the model truncated before its last
layer) and the ImageNet logits (to check the weights load right). Built once and cached by the caller."""

from __future__ import annotations

from typing import Any

import numpy as np

# (expansion, output channels, repeats, first stride): the inverted-residual stages of MobileNetV2.
STAGES = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
BN_EPS = 1e-5
EMBEDDING = "embedding"
LOGITS = "logits"
INPUT = "pixels"


class _Graph:
    def __init__(self, weights: dict[str, np.ndarray[Any, Any]]) -> None:
        from onnx import helper, numpy_helper

        self._helper, self._numpy_helper = helper, numpy_helper
        self.weights = weights
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def _name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def constant(self, stem: str, value: np.ndarray[Any, Any]) -> str:
        name = self._name(stem)
        self.initializers.append(self._numpy_helper.from_array(value.astype(np.float32), name))
        return name

    def conv_bn(self, source: str, conv: str, bn: str, *, stride: int, groups: int, relu6: bool) -> str:
        """A convolution and its batch norm folded into one Conv (and ReLU6 as Clip 0..6)."""
        kernel = self.weights[f"{conv}.weight"]
        scale = self.weights[f"{bn}.weight"] / np.sqrt(self.weights[f"{bn}.running_var"] + BN_EPS)
        bias = self.weights[f"{bn}.bias"] - self.weights[f"{bn}.running_mean"] * scale
        w = self.constant("w", kernel * scale[:, None, None, None])
        b = self.constant("b", bias)
        pad = kernel.shape[-1] // 2
        out = self._name("conv")
        self.nodes.append(
            self._helper.make_node(
                "Conv",
                [source, w, b],
                [out],
                strides=[stride, stride],
                pads=[pad] * 4,
                group=groups,
                kernel_shape=list(kernel.shape[-2:]),
            )
        )
        if not relu6:
            return out
        low, high = self.constant("zero", np.array(0.0)), self.constant("six", np.array(6.0))
        clipped = self._name("relu6")
        self.nodes.append(self._helper.make_node("Clip", [out, low, high], [clipped]))
        return clipped

    def add(self, left: str, right: str) -> str:
        out = self._name("add")
        self.nodes.append(self._helper.make_node("Add", [left, right], [out]))
        return out


def build_mobilenet_v2(weights: dict[str, np.ndarray[Any, Any]]) -> bytes:
    """The serialized ONNX model (opset 17) with a dynamic batch of 224×224 RGB inputs, normalized."""
    from onnx import TensorProto, checker, helper

    graph = _Graph(weights)
    x = graph.conv_bn(INPUT, "features.0.0", "features.0.1", stride=2, groups=1, relu6=True)
    channels, index = 32, 1
    for expansion, out_channels, repeats, first_stride in STAGES:
        for repeat in range(repeats):
            stride = first_stride if repeat == 0 else 1
            prefix, source, part = f"features.{index}.conv", x, 0
            hidden = channels * expansion
            if expansion != 1:
                x = graph.conv_bn(x, f"{prefix}.0.0", f"{prefix}.0.1", stride=1, groups=1, relu6=True)
                part = 1
            x = graph.conv_bn(
                x, f"{prefix}.{part}.0", f"{prefix}.{part}.1", stride=stride, groups=hidden, relu6=True
            )
            x = graph.conv_bn(
                x, f"{prefix}.{part + 1}", f"{prefix}.{part + 2}", stride=1, groups=1, relu6=False
            )
            if stride == 1 and channels == out_channels:
                x = graph.add(source, x)
            channels, index = out_channels, index + 1
    x = graph.conv_bn(x, f"features.{index}.0", f"features.{index}.1", stride=1, groups=1, relu6=True)
    graph.nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"]))
    graph.nodes.append(helper.make_node("Flatten", ["pooled"], [EMBEDDING], axis=1))
    classifier_w = graph.constant("fc_w", weights["classifier.1.weight"])
    classifier_b = graph.constant("fc_b", weights["classifier.1.bias"])
    graph.nodes.append(helper.make_node("Gemm", [EMBEDDING, classifier_w, classifier_b], [LOGITS], transB=1))
    model = helper.make_model(
        helper.make_graph(
            graph.nodes,
            "mobilenet_v2",
            [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", 3, 224, 224])],
            [
                helper.make_tensor_value_info(EMBEDDING, TensorProto.FLOAT, ["batch", 1280]),
                helper.make_tensor_value_info(LOGITS, TensorProto.FLOAT, ["batch", 1000]),
            ],
            graph.initializers,
        ),
        opset_imports=[helper.make_opsetid("", 17)],
        producer_name="tessera",
    )
    model.ir_version = 8
    checker.check_model(model)
    return bytes(model.SerializeToString())
