"""thinc glue for torch layers that read and write flat token rows: `Ragged` in, `Ragged` out."""
from typing import Callable, Dict, Optional, Tuple

import torch
from thinc.api import ArgsKwargs, Model, PyTorchWrapper_v3, torch2xp, xp2torch
from thinc.types import Ragged

from ..torch_glue import torch_predict


def ragged_torch_layer(name: str, wrapper: Model, *, dims: Dict[str, Optional[int]], **kwargs) -> Model[Ragged, Ragged]:
    """A layer around a PyTorchWrapper whose module maps (rows, lengths) to rows: the lengths
    (the sequences) pass through unchanged. Extra keyword arguments go to `Model`."""
    return Model(name, ragged_forward, layers=[wrapper], refs={"torch_layer": wrapper}, dims=dims, **kwargs)


def ragged_wrapper(
    module: Optional[torch.nn.Module],
    *,
    serialize_model: Optional[Callable] = None,
    deserialize_model: Optional[Callable] = None,
) -> Model:
    """PyTorchWrapper with the Ragged conversions (and, for a module built at initialize, the
    functions that save and rebuild it)."""
    return PyTorchWrapper_v3(
        module,
        convert_inputs=convert_ragged_inputs,
        convert_outputs=convert_ragged_outputs,
        serialize_model=serialize_model,
        deserialize_model=deserialize_model,
    )


def ragged_forward(model: Model[Ragged, Ragged], X: Ragged, is_train: bool) -> Tuple[Ragged, Callable]:
    """Run the wrapper; at inference through `torch_predict`, which keeps the module in eval
    mode between batches. A batch without tokens never reaches torch."""
    wrapper = model.layers[0]
    if X.dataXd.shape[0] == 0:
        empty = Ragged(model.ops.alloc2f(0, model.get_dim("nO")), X.lengths)
        return empty, lambda dY: Ragged(model.ops.alloc2f(0, X.dataXd.shape[1]), X.lengths)
    if not is_train:
        return torch_predict(wrapper, X), lambda dY: ...
    return wrapper(X, is_train)


def convert_ragged_inputs(model: Model, X: Ragged, is_train: bool) -> Tuple[ArgsKwargs, Callable]:
    """(rows, lengths) for the module; the gradient of the rows goes back as a Ragged."""
    device = model.shims[0].device
    rows = xp2torch(model.ops.xp.ascontiguousarray(X.dataXd), requires_grad=is_train, device=device)
    # Lengths stay on the CPU: the module groups the sequences by length in Python.
    lengths = torch.as_tensor(model.ops.to_numpy(X.lengths), dtype=torch.int64)

    def convert_from_torch_backward(d_inputs: ArgsKwargs) -> Ragged:
        return Ragged(torch2xp(d_inputs.args[0], ops=model.ops), X.lengths)

    return ArgsKwargs(args=(rows, lengths), kwargs={}), convert_from_torch_backward


def convert_ragged_outputs(
    model: Model, inputs_outputs: Tuple[Ragged, torch.Tensor], is_train: bool
) -> Tuple[Ragged, Callable]:
    X, output = inputs_outputs

    def convert_for_torch_backward(dY: Ragged) -> ArgsKwargs:
        d_output = xp2torch(model.ops.xp.ascontiguousarray(dY.dataXd), device=output.device)
        return ArgsKwargs(args=(output,), kwargs={"grad_tensors": d_output})

    return Ragged(torch2xp(output, ops=model.ops), X.lengths), convert_for_torch_backward


__all__ = ["convert_ragged_inputs", "convert_ragged_outputs", "ragged_forward", "ragged_torch_layer", "ragged_wrapper"]
