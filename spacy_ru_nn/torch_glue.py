"""thinc glue shared by every torch model of the plugin.

thinc's `PyTorchWrapper` moves data in and out of a torch module, but four things are left to
the caller, and each component would otherwise solve them on its own:

* **Install**: a module built in `init` (its size comes from the data) is not moved to the
  current device by the shim, which only does that in its constructor.
* **Serialize**: `init` is not run when a pipeline is loaded, so the bytes must say how to
  rebuild the module (spaCy #8319, thinc #796). Modules that are built in `init` expose their
  constructor arguments as `config()`; `serialize_module` writes them next to the weights and
  `module_deserializer(cls)` rebuilds `cls(**config)` before loading the weights.
* **Dropout**: thinc's `set_dropout_rate` only reaches thinc layers; `set_torch_dropout_rate`
  sets `p` of every `torch.nn.Dropout` inside the model's shims.
* **Inference**: `PyTorchShim.predict` switches the module to `eval()` and back to `train()`
  around every call, and each switch walks every submodule; for a batch of short texts that
  costs more than the forward pass. `torch_predict` leaves the module in eval mode between
  predictions (the shim's `begin_update` switches it back for training).
* **Averages**: thinc's optimizer keeps the averages of torch weights under `(shim.id, name)`,
  while `PyTorchShim.use_params` looks for `"pytorch_{shim.id}_{name}"`, so without
  `with_torch_averages` a component's `use_params` silently keeps the current weights.
"""
import io
from typing import Any, Callable, Dict, Iterator, Optional, Protocol, Tuple, Type, TypeVar, cast

import srsly
import torch
from thinc.api import Model, torch2xp
from thinc.shims import PyTorchShim
from thinc.util import get_torch_default_device

from .compat import set_shim_module, shim_module


class ConfigurableModule(Protocol):
    """A torch module that can say how it was built: `type(m)(**m.config())` rebuilds it."""

    def config(self) -> Dict[str, Any]:
        ...


ModuleT = TypeVar("ModuleT", bound=torch.nn.Module)


def torch_shims(model: Model) -> Iterator[PyTorchShim]:
    """Every PyTorch shim in the model's tree."""
    for node in model.walk():
        for shim in node.shims:
            if isinstance(shim, PyTorchShim):
                yield shim


def built_modules(model: Model) -> Iterator[Tuple[PyTorchShim, torch.nn.Module]]:
    """Every PyTorch shim in the model's tree whose module is built, with its module."""
    for shim in torch_shims(model):
        module = shim_module(shim)
        if module is not None:
            yield shim, module


def torch_module(wrapper: Model) -> Optional[torch.nn.Module]:
    """The module of a PyTorchWrapper layer, or None while `init` has not built it."""
    return shim_module(wrapper.shims[0])


def is_built(model: Model) -> bool:
    """Whether every torch module of the model exists, i.e. the model can predict."""
    return all(shim_module(shim) is not None for shim in torch_shims(model))


def install_module(wrapper: Model, module: ModuleT) -> ModuleT:
    """Put a module built after the wrapper into its shim, on thinc's current device."""
    module = module.to(get_torch_default_device())
    set_shim_module(wrapper.shims[0], module)
    return module


def serialize_module(module: Optional[ConfigurableModule]) -> bytes:
    """The module's constructor arguments and its state_dict (None: not built yet)."""
    if module is None:
        return srsly.msgpack_dumps({"config": None, "state": b""})
    buffer = io.BytesIO()
    torch.save(cast(torch.nn.Module, module).state_dict(), buffer)
    return srsly.msgpack_dumps({"config": module.config(), "state": buffer.getvalue()})


def module_deserializer(
    module_class: Type[ModuleT],
) -> Callable[[Optional[ModuleT], bytes, torch.device], Optional[ModuleT]]:
    """A `deserialize_model` for PyTorchWrapper.v3 that rebuilds `module_class` from the
    config `serialize_module` wrote and loads the weights into it."""

    def deserialize(module: Optional[ModuleT], data: bytes, device: torch.device) -> Optional[ModuleT]:
        msg = srsly.msgpack_loads(data)
        if msg["config"] is None:
            return None
        rebuilt = module_class(**msg["config"])
        state = torch.load(io.BytesIO(msg["state"]), map_location=device, weights_only=True)
        rebuilt.load_state_dict(state)
        return rebuilt.to(device)

    return deserialize


def torch_predict(wrapper: Model, X: Any) -> Any:
    """The output of a PyTorchWrapper layer for X at inference: the wrapper's own input and
    output conversions around the module in eval mode under `torch.no_grad()`, without
    switching modes on every call (see the module docstring)."""
    module = cast(torch.nn.Module, torch_module(wrapper))
    inputs, _ = wrapper.attrs["convert_inputs"](wrapper, X, False)
    if module.training:
        module.eval()
    with torch.no_grad():
        outputs = module(*inputs.args, **inputs.kwargs)
    Y, _ = wrapper.attrs["convert_outputs"](wrapper, (X, outputs), False)
    return Y


def set_torch_dropout_rate(model: Model, drop: Optional[float]) -> None:
    """Set `p` of every torch Dropout in the model: thinc's set_dropout_rate stops at thinc
    layers, so without this training would keep the rate the module was built with."""
    if drop is None:
        return
    for _, module in built_modules(model):
        for layer in module.modules():
            if isinstance(layer, torch.nn.Dropout):
                layer.p = drop


def with_torch_averages(model: Model, params: Dict) -> Dict:
    """Add the optimizer's averages of torch weights under the keys `PyTorchShim.use_params`
    reads, so that `use_params` (evaluation and model-best with `use_averages = true`) swaps
    in the averaged torch weights too.

    The shim loads its state strictly, buffers included (thinc 8.3): every entry of the
    module's state_dict is given, averaged where the optimizer has an average.
    """
    translated = dict(params)
    for shim, module in built_modules(model):
        averaged = {
            name: params[(shim.id, name)] for name, _ in module.named_parameters() if (shim.id, name) in params
        }
        if not averaged:
            continue
        state = {name: torch2xp(value) for name, value in module.state_dict().items()}
        state.update(averaged)
        translated.update({f"pytorch_{shim.id}_{name}": value for name, value in state.items()})
    return translated


class UsesTorchAverages:
    """Mixin for pipes whose model holds torch weights: `use_params` swaps in the optimizer's
    averages of the torch weights too, not only of the thinc layers."""

    model: Model

    def use_params(self, params: Dict) -> Iterator[None]:
        """A generator, not a context manager, as `Language.use_params` drives it with `next`."""
        with self.model.use_params(with_torch_averages(self.model, params)):
            yield


__all__ = [
    "ConfigurableModule",
    "UsesTorchAverages",
    "install_module",
    "is_built",
    "module_deserializer",
    "serialize_module",
    "set_torch_dropout_rate",
    "torch_module",
    "torch_predict",
    "torch_shims",
    "with_torch_averages",
]
