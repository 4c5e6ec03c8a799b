"""``nnstudio export MODEL OUT [--format onnx|safetensors|pytorch]``: a model for PyTorch or an ONNX runtime.

The format comes from OUT's extension unless ``--format`` says otherwise: ``.onnx`` (needs
``pip install "nnstudio[interop]"``), ``.safetensors`` (the weights under PyTorch ``nn.Sequential``
names) or ``.py`` (PyTorch code that builds the network, beside its ``.safetensors``). MODEL may be
any file nnstudio opens, an ONNX file included.
"""

from __future__ import annotations

import json

from nnstudio.core.interop import FORMATS, MissingPackageError, export_model, format_for_path

from .args import CLIError, load_model


def register(sub) -> None:
    p = sub.add_parser("export", help="write a model as ONNX, safetensors or PyTorch code")
    p.add_argument("model", help="the model to export (.npz or .onnx)")
    p.add_argument("out", help="where to write it (.onnx, .safetensors or .py)")
    p.add_argument("--format", choices=list(FORMATS), default=None, help="default: from OUT's extension")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    fmt = args.format or format_for_path(args.out)  # a bad name fails before the model is read
    net = load_model(args.model)
    try:
        written = export_model(net, args.out, fmt)
    except MissingPackageError as exc:  # ONNX without the onnx package: say how to install it
        raise CLIError(str(exc)) from None
    if args.json:
        print(json.dumps({"format": fmt, "files": [str(p) for p in written], "parameters": net.num_parameters()}))
    else:
        for path in written:
            print(f"wrote {path}")
    return 0
