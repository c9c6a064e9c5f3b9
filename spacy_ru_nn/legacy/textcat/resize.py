"""Growing the output of a legacy text classifier for new labels, keeping the trained ones."""
import torch
from thinc.api import Model

from ...torch_glue import torch_module


def resize_classifier_output(model: Model, n_labels: int) -> Model:
    """`resize_output` of the legacy text classifiers (spaCy's `TextCategorizer.add_label`
    calls it): grow the torch module's output from its labels to n_labels, new labels last.

    The output is the `output` Linear, or, in a model without hidden layers (logistic
    regression), the bag-of-words tables and their bias, one column per logit. Two labels
    share one logit under a sigmoid (p = sigmoid(z) for the second label); as a softmax over
    [0, z] gives the same probabilities, growing from two labels puts a zero row first and the
    trained row second. A model that is not built yet is left for `initialize`.
    """
    wrapper = model.get_ref("output_layer")
    module = torch_module(wrapper)
    if module is None:
        return model
    n_old = wrapper.get_dim("nO")
    if n_labels < n_old:
        raise ValueError(f"Cannot shrink {model.name} from {n_old} to {n_labels} labels")
    if n_labels == n_old:
        return model
    if getattr(module, "output", None) is not None:
        old: torch.nn.Linear = module.output
        larger = torch.nn.Linear(old.in_features, n_labels).to(old.weight.device)
        with torch.no_grad():
            larger.weight.copy_(_grown(old.weight, n_labels, axis=0))
            larger.bias.copy_(_grown(old.bias, n_labels, axis=0))
        module.output = larger
    else:
        module.grow_logits(lambda weight, axis: _grown(weight, n_labels, axis))
    if hasattr(module, "n_logits"):
        # A module whose config() reports n_logits must rebuild at the new size when loaded.
        module.n_logits = n_labels
    wrapper.set_dim("nO", n_labels, force=True)
    model.set_dim("nO", n_labels, force=True)
    return model


def _grown(weight: torch.Tensor, n_labels: int, axis: int) -> torch.Tensor:
    """`weight` with its label axis grown to n_labels: the trained entries kept (a single
    sigmoid logit becomes the second of two), the new ones zero."""
    shape = list(weight.shape)
    n_old, shape[axis] = shape[axis], n_labels
    larger = weight.detach().new_zeros(shape)
    first = 1 if n_old == 1 else 0
    larger.narrow(axis, first, n_old).copy_(weight.detach())
    return larger


__all__ = ["resize_classifier_output"]
