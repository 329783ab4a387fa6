"""ONNX export of gatelab's layers, in both reset conventions and for every variant — what torch's exporter does not do.

- ``gru`` (sigmoid/tanh) becomes ONNX's ``GRU`` operator: gate order z, r, h as ONNX's, z flipped exactly (ONNX's z
  keeps the old state, as PyTorch's; σ(−a) = 1 − σ(a)), ``linear_before_reset = 0`` for the seed's reset-before
  and ``1`` for reset-after (with b_hh as ONNX's R_bh). The LSTM (sigmoid/tanh) becomes ``LSTM`` (gates i, o, f, c).
- Every other variant (and other activations) becomes a ``Scan`` whose body is the variant's step, written with
  ONNX ops from its registry spec — the same equations as :func:`gatelab.cells.gru_gates`.
- Lengths (``sequence_lens``): the operators take them; a Scan freezes the state past a row's length and writes
  zeros there (as gatelab does), and the backward direction runs on ``ReverseSequence`` within each length.

The graph's inputs are ``input`` (batch-first if the layer is), ``h0`` (and ``c0`` for the LSTM) and, with
``lengths=True``, ``lengths`` (int64, (B,)); its outputs ``output``, ``h_n`` (and ``c_n``). ``onnx`` is imported
here only (the ``onnx`` extra).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .._errors import InputError

OPSET = 17


class _Graph:
    """A small builder over ``onnx.helper``: unique names, initializers from arrays."""

    def __init__(self, helper, numpy_helper, dtype: np.dtype) -> None:
        self.h, self.np, self.dtype = helper, numpy_helper, dtype
        self.nodes: list = []
        self.inits: list = []
        self.count = 0

    def name(self, base: str) -> str:
        self.count += 1
        return f"{base}_{self.count}"

    def const(self, array, base: str = "c") -> str:
        name = self.name(base)
        value = np.asarray(array)
        if value.dtype.kind == "f":
            value = value.astype(self.dtype)
        self.inits.append(self.np.from_array(value, name))
        return name

    def op(self, kind: str, inputs: list[str], base: str | None = None, outputs: int = 1, **attrs) -> str | list:
        names = [self.name(base or kind.lower()) for _ in range(outputs)]
        self.nodes.append(self.h.make_node(kind, inputs, names, **attrs))
        return names[0] if outputs == 1 else names


def _array(t: torch.Tensor | None) -> np.ndarray | None:
    return None if t is None else t.detach().cpu().numpy()


def export_onnx(layer, path: str | Path, lengths: bool = False, opset: int = OPSET) -> Path:
    """Write ``layer`` (a :class:`gatelab.GRU` or :class:`gatelab.LSTM`) as an ONNX model to ``path``."""
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        raise InputError("onnx: expected the onnx extra to be installed, got no module 'onnx' "
                         "(pip install 'gatelab[onnx]')", "onnx") from None
    dtype = layer.cell_params(0, 0).weight_ih.dtype
    if dtype not in (torch.float32, torch.float64):
        raise InputError(f"dtype: expected float32 or float64 for ONNX export, got {dtype}", "dtype")
    np_dtype = np.float32 if dtype == torch.float32 else np.float64
    elem = TensorProto.FLOAT if dtype == torch.float32 else TensorProto.DOUBLE
    g = _Graph(helper, numpy_helper, np_dtype)
    lstm = layer.options.variant == "lstm"
    rows = layer.num_layers * layer.num_directions
    H = layer.hidden_size

    x = "input"
    if layer.batch_first:
        x = g.op("Transpose", ["input"], perm=[1, 0, 2])                     # (T, B, I)
    seq = None
    if lengths:
        seq = g.op("Cast", ["lengths"], to=TensorProto.INT32)
    states = ["h0"] + (["c0"] if lstm else [])
    finals: list[list[str]] = [[] for _ in states]
    for k in range(layer.num_layers):
        init = [g.op("Slice", [s, g.const([k * layer.num_directions]), g.const([(k + 1) * layer.num_directions]),
                                g.const([0])]) for s in states]        # (D, B, H)
        if lstm and _standard(layer):
            y, outs = _lstm_op(g, layer, k, x, init, seq)
        elif not lstm and layer.options.variant == "gru" and _standard(layer):
            y, outs = _gru_op(g, layer, k, x, init[0], seq)
        else:
            y, outs = _scan_layer(g, layer, k, x, init, seq, lengths, elem)
        for i, o in enumerate(outs):
            finals[i].append(o)
        x = y                                                                # (T, B, D·H)
    output = g.op("Transpose", [x], perm=[1, 0, 2]) if layer.batch_first else x
    g.nodes.append(helper.make_node("Identity", [output], ["output"]))
    out_names = ["h_n"] + (["c_n"] if lstm else [])
    for name, parts in zip(out_names, finals):
        joined = parts[0] if len(parts) == 1 else g.op("Concat", parts, axis=0)
        g.nodes.append(helper.make_node("Identity", [joined], [name]))

    shape_x = ["B", "T", layer.input_size] if layer.batch_first else ["T", "B", layer.input_size]
    inputs = [helper.make_tensor_value_info("input", elem, shape_x)]
    inputs += [helper.make_tensor_value_info(s, elem, [rows, "B", H]) for s in states]
    if lengths:
        inputs.append(helper.make_tensor_value_info("lengths", TensorProto.INT64, ["B"]))
    shape_y = ["B", "T", layer.num_directions * H] if layer.batch_first else ["T", "B", layer.num_directions * H]
    outputs = [helper.make_tensor_value_info("output", elem, shape_y)]
    outputs += [helper.make_tensor_value_info(n, elem, [rows, "B", H]) for n in out_names]
    graph = helper.make_graph(g.nodes, f"gatelab_{layer.options.variant}", inputs, outputs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="gatelab")
    onnx.checker.check_model(model)
    path = Path(path)
    onnx.save(model, path)
    return path


def _standard(layer) -> bool:
    o = layer.options
    return (o.gate_activation, o.candidate_activation) == ("sigmoid", "tanh")


def _seed(layer, k: int, d: int) -> dict[str, np.ndarray]:
    return {name: _array(v) for name, v in layer.seed_params(k, d).items()}


def _gru_op(g: _Graph, layer, k: int, x: str, h0: str, seq: str | None) -> tuple[str, list[str]]:
    """The plain gru as ONNX's GRU: W, R in order z, r, h; ONNX's z = 1 − ours, so z's rows are negated."""
    H, D = layer.hidden_size, layer.num_directions
    Ws, Rs, Bs = [], [], []
    for d in range(D):
        p = _seed(layer, k, d)
        Ws.append(np.concatenate([-p["W_z"], p["W_r"], p["W_h"]]))
        Rs.append(np.concatenate([-p["U_z"], p["U_r"], p["U_h"]]))
        zero = np.zeros(H, dtype=Ws[-1].dtype)
        wb = np.concatenate([-p.get("b_z", zero), p.get("b_r", zero), p.get("b_h", zero)])
        rb = np.concatenate([zero, zero, p.get("b_hh", zero)])
        Bs.append(np.concatenate([wb, rb]))
    inputs = [x, g.const(np.stack(Ws)), g.const(np.stack(Rs)), g.const(np.stack(Bs)), seq or "", h0]
    y, y_h = g.op("GRU", inputs, outputs=2, hidden_size=H,
                  direction="bidirectional" if D == 2 else "forward",
                  linear_before_reset=1 if layer.options.reset == "after" else 0)
    return _merge_directions(g, y, D, H), [y_h]


def _lstm_op(g: _Graph, layer, k: int, x: str, init: list[str], seq: str | None) -> tuple[str, list[str]]:
    """The LSTM as ONNX's LSTM: gate order i, o, f, c (gatelab: i, f, g, o); one bias (ONNX's R_b = 0)."""
    H, D = layer.hidden_size, layer.num_directions
    Ws, Rs, Bs = [], [], []
    for d in range(D):
        p = _seed(layer, k, d)
        order = ("i", "o", "f", "g")
        Ws.append(np.concatenate([p[f"W_{b}"] for b in order]))
        Rs.append(np.concatenate([p[f"U_{b}"] for b in order]))
        zero = np.zeros(H, dtype=Ws[-1].dtype)
        biases = np.concatenate([p.get(f"b_{b}", zero) for b in order])
        Bs.append(np.concatenate([biases, np.zeros(4 * H, Ws[-1].dtype)]))
    y, y_h, y_c = g.op("LSTM", [x, g.const(np.stack(Ws)), g.const(np.stack(Rs)), g.const(np.stack(Bs)), seq or "",
                                init[0], init[1]], outputs=3, hidden_size=H,
                       direction="bidirectional" if D == 2 else "forward")
    return _merge_directions(g, y, D, H), [y_h, y_c]


def _merge_directions(g: _Graph, y: str, D: int, H: int) -> str:
    """ONNX's Y (T, D, B, H) → (T, B, D·H), directions side by side as gatelab (and torch) lay them."""
    t = g.op("Transpose", [y], perm=[0, 2, 1, 3])
    return g.op("Reshape", [t, g.const(np.array([0, 0, D * H], dtype=np.int64))])


# ---- any variant: a Scan over the variant's step ---------------------------------------------------------------
def _scan_layer(g: _Graph, layer, k: int, x: str, init: list[str], seq: str | None, lengths: bool,
                elem: int) -> tuple[str, list[str]]:
    D = layer.num_directions
    mask = _mask(g, x, seq) if lengths else None
    ys, finals = [], [[] for _ in init]
    for d in range(D):
        states0 = [g.op("Gather", [s, g.const(np.array(d, dtype=np.int64))], axis=0) for s in init]   # (B, H)
        xd = x
        if d == 1 and lengths:
            xd = g.op("ReverseSequence", [x, g.op("Cast", [seq], to=7)], batch_axis=1, time_axis=0)
        body = _body(layer, k, d, elem, masked=lengths)
        scan_inputs = [xd] + ([mask] if lengths else [])
        directions = [1 if (d == 1 and not lengths) else 0] * len(scan_inputs)
        outs = g.op("Scan", states0 + scan_inputs, outputs=len(states0) + 1, body=body,
                    num_scan_inputs=len(scan_inputs), scan_input_directions=directions,
                    scan_output_directions=[1 if (d == 1 and not lengths) else 0])
        y = outs[-1]
        if d == 1 and lengths:
            y = g.op("ReverseSequence", [y, g.op("Cast", [seq], to=7)], batch_axis=1, time_axis=0)
        ys.append(y)
        for i, final in enumerate(outs[:-1]):
            finals[i].append(g.op("Unsqueeze", [final, g.const(np.array([0], dtype=np.int64))]))
    y = ys[0] if D == 1 else g.op("Concat", ys, axis=2)
    merged = [f[0] if D == 1 else g.op("Concat", f, axis=0) for f in finals]
    return y, merged


def _mask(g: _Graph, x: str, seq: str) -> str:
    """(T, B, 1): 1 where step t is within the row's length."""
    from onnx import TensorProto

    shape = g.op("Shape", [x])
    steps = g.op("Gather", [shape, g.const(np.array(0, dtype=np.int64))], axis=0)
    t = g.op("Range", [g.const(np.array(0, dtype=np.int64)), steps, g.const(np.array(1, dtype=np.int64))])
    within = g.op("Less", [g.op("Unsqueeze", [t, g.const(np.array([1], dtype=np.int64))]),
                           g.op("Unsqueeze", [g.op("Cast", [seq], to=TensorProto.INT64),
                                              g.const(np.array([0], dtype=np.int64))])])   # (T, B)
    as_float = g.op("Cast", [within], to=TensorProto.FLOAT if g.dtype == np.float32 else TensorProto.DOUBLE)
    return g.op("Unsqueeze", [as_float, g.const(np.array([2], dtype=np.int64))])


def _body(layer, k: int, d: int, elem: int, masked: bool):
    """The Scan body of one step of this layer's variant: (state…, x_t[, m_t]) → (state…, y_t)."""
    from onnx import helper, numpy_helper

    spec, o = layer.options.spec, layer.options
    b = _Graph(helper, numpy_helper, np.float32 if elem == 1 else np.float64)
    p = _seed(layer, k, d)
    lstm = o.variant == "lstm"

    def linear(block: str, value: str, weight: str) -> str | None:
        return b.op("MatMul", [value, b.const(p[f"{weight}_{block}"].T)]) if f"{weight}_{block}" in p else None

    def total(*parts: str | None, bias: str | None = None) -> str:
        terms = [t for t in parts if t is not None] + ([b.const(p[bias])] if bias in p else [])
        if not terms:
            return b.op("Mul", ["h", b.const(np.zeros(layer.hidden_size))])     # (B, H) zeros
        out = terms[0]
        for t in terms[1:]:
            out = b.op("Add", [out, t])
        return out

    sigma = (lambda a: b.op("Sigmoid", [a])) if o.gate_activation == "sigmoid" else \
        (lambda a: b.op("HardSigmoid", [a], alpha=1.0 / 6.0, beta=0.5))
    phi = {"tanh": lambda a: b.op("Tanh", [a]), "relu": lambda a: b.op("Relu", [a]),
           "identity": lambda a: a}[o.candidate_activation]
    states_in = ["h"] + (["c"] if lstm else [])
    if lstm:
        gate = {n: total(linear(n, "x", "W"), linear(n, "h", "U"), bias=f"b_{n}") for n in ("i", "f", "g", "o")}
        i, f, o_gate = sigma(gate["i"]), sigma(gate["f"]), sigma(gate["o"])
        c_new = b.op("Add", [b.op("Mul", [f, "c"]), b.op("Mul", [i, phi(gate["g"])])])
        h_new = b.op("Mul", [o_gate, phi(c_new)])
        new = [h_new, c_new]
    else:
        gx, gh = "x" in spec.gate_inputs, "h" in spec.gate_inputs

        def gate(name: str) -> str:
            return sigma(total(linear(name, "x", "W") if gx else None, linear(name, "h", "U") if gh else None,
                               bias=f"b_{name}"))

        z = gate("z") if "z" in spec.gates else None
        r = gate("r") if "r" in spec.gates else (z if spec.reset == "update" else None)
        wx = linear("h", "x", "W")
        if spec.reset == "zero":
            a = total(wx, bias="b_h")
        elif spec.reset == "one":
            a = total(wx, linear("h", "h", "U"), bias="b_h")
        elif o.reset == "after":
            uh = total(linear("h", "h", "U"), bias="b_hh")
            a = b.op("Add", [total(wx, bias="b_h"), b.op("Mul", [r, uh])])
        else:
            a = total(wx, linear("h", b.op("Mul", [r, "h"]), "U"), bias="b_h")
        cand = phi(a)
        if z is None:
            h_new = cand
        elif not spec.carry:
            h_new = b.op("Mul", [z, cand])
        else:
            h_new = b.op("Add", ["h", b.op("Mul", [z, b.op("Sub", [cand, "h"])])])
        new = [h_new]
    if masked:                      # past a row's length: the state stays, the output is 0
        new = [b.op("Add", [s, b.op("Mul", ["m", b.op("Sub", [n, s])])]) for s, n in zip(states_in, new)]
        y = b.op("Mul", ["m", new[0]])
    else:
        y = b.op("Identity", [new[0]])
    names_out = [f"{s}_out" for s in states_in] + ["y_out"]
    for src, dst in zip(new + [y], names_out):
        b.nodes.append(helper.make_node("Identity", [src], [dst]))
    def value(name: str):                                       # shapes flow in from the outer graph
        return helper.make_tensor_value_info(name, elem, None)

    inputs = [value(s) for s in states_in] + [value("x")] + ([value("m")] if masked else [])
    return helper.make_graph(b.nodes, b.name("step"), inputs, [value(n) for n in names_out], b.inits)
